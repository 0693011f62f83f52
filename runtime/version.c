// SPDX-License-Identifier: MIT
/*
 * version.c — what the library promises across releases: its version
 * (rg_version) and the rule the growable public structs follow.
 *
 * Growable structs (rg_config_t, rg_stats_t).  A release may append
 * fields to them, never move or remove one, so every older layout is a
 * prefix of the newer.  The size of the caller's layout travels with
 * the call: rg_init and rg_stats are inline wrappers in <ringo.h> that
 * pass sizeof(rg_config_t) / sizeof(rg_stats_t) as the caller's compiler
 * saw them to the exported rg_init_sized / rg_stats_sized.  Then, as
 * Linux's extensible syscalls (openat2, clone3: copy_struct_from_user):
 *
 *   - the caller's struct is older (size < ours): the fields it does
 *     not have take their defaults (input) or are not written (output);
 *   - the caller's struct is newer (size > ours): its extra input bytes
 *     must be zero, else -E2BIG (it asks for something this library
 *     cannot do); extra output bytes are zeroed;
 *   - a size that does not hold the first field is -EINVAL.
 * A field counts as present only when it lies wholly within size.
 *
 * Rejected designs:
 *   - A size field the caller sets (`rg_stats_t st = {.size =
 *     sizeof(st)}`): every caller must remember it, a caller that
 *     forgets gets -EINVAL (or garbage read as a size from an output
 *     struct on the stack), and the plain forms of the API contract
 *     (`rg_stats_t st; rg_stats(&st);`, `rg_config_t c = {.procs = 4};`)
 *     stop working.  The compiler knows the size; the wrapper passes it.
 *   - Reserved padding at the end (`int64_t reserved[8]`): growth is
 *     bounded, and an old binary that left garbage in it cannot be told
 *     from a new one asking for something.
 *   - A version number field: the size says the same with nothing to
 *     keep in step.
 *   - Symbol versions per layout (glibc's way, rg_stats@RINGO_0.1 and
 *     @RINGO_0.2): works for the shared library only, and needs a
 *     compatibility function per release; the size does it in one place.
 */
#include "rt.h"

#include <errno.h>
#include <string.h>

int rg_version(void)
{
	return RINGO_VERSION_NUMBER;
}

int rg__abi_check_in(const void *user, size_t size, size_t min_size, size_t own_size)
{
	if (size < min_size)
		return -EINVAL;
	for (size_t i = own_size; i < size; i++)
		if (((const unsigned char *)user)[i])
			return -E2BIG;
	return 0;
}

int rg__abi_copy_out(void *user, size_t size, size_t min_size, const void *own, size_t own_size)
{
	if (size < min_size)
		return -EINVAL;
	size_t n = size < own_size ? size : own_size;
	memcpy(user, own, n);
	if (size > own_size)
		memset((char *)user + own_size, 0, size - own_size);
	return 0;
}
