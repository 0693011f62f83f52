// SPDX-License-Identifier: MIT
/* Part of <ringo.h>; include that instead.
 *
 * Versions.  The macros are the version of the headers a program was
 * compiled against; rg_version() is the version of the library it runs
 * with.  They differ when a program built against one release runs with
 * another's libringo.so: the soname (libringo.so.MAJOR) keeps releases
 * with another major version apart, the symbol versions in
 * runtime/ringo.map (a node per minor release, RINGO_MAJOR.MINOR) make
 * the dynamic linker refuse a library older than the calls a program
 * uses.
 *
 * This file is the one place the version is written: the Makefile reads
 * the soname, the library file name and ringo.pc's Version from it.
 */
#ifndef RINGO_VERSION_H
#define RINGO_VERSION_H

#define RINGO_VERSION_MAJOR 0
#define RINGO_VERSION_MINOR 1
#define RINGO_VERSION_PATCH 0

/* "0.1.0" */
#define RINGO_VERSION_STRING "0.1.0"

/* One number that orders releases: MAJOR * 1000000 + MINOR * 1000 + PATCH
 * (0.1.0 is 1000), as SQLite numbers its. */
#define RINGO_MAKE_VERSION(major, minor, patch) \
	((major) * 1000000 + (minor) * 1000 + (patch))
#define RINGO_VERSION_NUMBER \
	RINGO_MAKE_VERSION(RINGO_VERSION_MAJOR, RINGO_VERSION_MINOR, RINGO_VERSION_PATCH)

/* True when the headers are at least major.minor.patch:
 *     #if RINGO_VERSION_AT_LEAST(0, 2, 0) ... #endif */
#define RINGO_VERSION_AT_LEAST(major, minor, patch) \
	(RINGO_VERSION_NUMBER >= RINGO_MAKE_VERSION(major, minor, patch))

/* The running library's version, as RINGO_VERSION_NUMBER numbers it
 * (rg_version() / 1000000 is its major version, / 1000 % 1000 its minor,
 * % 1000 its patch).  Any thread, before or after the runtime runs. */
RG_API int rg_version(void);

#endif /* RINGO_VERSION_H */
