/*
 * version.c — what the library promises across releases: its version
 * (rg_version) and the rule the growable public structs follow.
 *
 * Growable structs (rg_config_t, rg_stats_t).  A struct that crosses
 * the API by pointer opens with `uint32_t size`, which the caller sets
 * to sizeof the struct it was compiled with.  A release may append
 * fields, never move or remove one, so every older layout is a prefix
 * of the newer.  Then, as Linux's extensible syscalls (openat2,
 * clone3, sched_setattr: copy_struct_from_user) do:
 *
 *   - the caller's struct is older (size < ours): the fields it does
 *     not have take their defaults (input) or are not written (output);
 *   - the caller's struct is newer (size > ours): its extra input bytes
 *     must be zero, else -E2BIG (it asks for something this library
 *     cannot do); extra output bytes are zeroed;
 *   - size smaller than the size field itself (0: the caller forgot to
 *     set it) is -EINVAL.
 * A field counts as present only when it lies wholly within size.
 *
 * Rejected designs:
 *   - Reserved padding at the end (`int64_t reserved[8]`): growth is
 *     bounded, and an old binary that left garbage in it cannot be told
 *     from a new one asking for something.
 *   - A size argument (rg_stats(out, sizeof *out)): it changes every
 *     signature, and an input struct handed on (a config kept in a
 *     program's own settings) would have to carry its size beside it.
 *   - A version number field: the size says the same with nothing to
 *     keep in step.
 *   - Size 0 read as "the first layout" (perf_event_attr's rule): it
 *     lets a caller that forgot to set size work until the day a field
 *     it set is silently ignored.
 */
#include "rt.h"

#include <errno.h>
#include <string.h>

int rg_version(void)
{
	return RINGO_VERSION_NUMBER;
}

int rg__abi_check_in(const void *user, size_t own_size)
{
	uint32_t size;

	memcpy(&size, user, sizeof(size));
	if (size < sizeof(size))
		return -EINVAL;
	for (size_t i = own_size; i < size; i++)
		if (((const unsigned char *)user)[i])
			return -E2BIG;
	return 0;
}

int rg__abi_copy_out(void *user, const void *own, size_t own_size)
{
	uint32_t size;

	memcpy(&size, user, sizeof(size));
	if (size < sizeof(size))
		return -EINVAL;
	size_t n = size < own_size ? size : own_size;
	/* The caller's size field stays as it set it. */
	memcpy((char *)user + sizeof(size), (const char *)own + sizeof(size), n - sizeof(size));
	if (size > own_size)
		memset((char *)user + own_size, 0, size - own_size);
	return 0;
}
