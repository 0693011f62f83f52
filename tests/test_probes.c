// SPDX-License-Identifier: MIT
/*
 * USDT probe sites against their documentation: the notes in the built
 * library (BUILD/libringo.so) and in this statically linked test binary
 * must list exactly the probes of RG_PROBE_LIST (runtime/probes.h), each
 * with as many arguments as documented and a semaphore (is-enabled
 * probes), all sites of one probe sharing it.  The notes are read with
 * libelf, as a tracer reads them.
 *
 * In a build with -DRINGO_NO_PROBES there must be no ringo notes at all.
 */
#include "helpers/rgtest.h"

#include <fcntl.h>
#include <gelf.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probes.h"

struct doc {
	const char *name;
	int nargs;
	int sites;
	uint64_t sema;
	bool sema_mixed;
};

static int count_args(const char *list)
{
	int n = *list ? 1 : 0;
	for (const char *s = list; *s; s++)
		n += *s == ',';
	return n;
}

#define DOC_ENTRY(name, args) {#name, -1, 0, 0, false},
static struct doc docs_init[] = {RG_PROBE_LIST(DOC_ENTRY)};
#define DOC_ARGS(name, args) args,
static const char *doc_args[] = {RG_PROBE_LIST(DOC_ARGS)};
#define NDOCS (sizeof(docs_init) / sizeof(docs_init[0]))

/* Arguments in a note: "8@%rbx -4@%eax" -> 2; "" -> 0. */
static int note_args(const char *s)
{
	int n = 0;
	bool in = false;
	for (; *s; s++) {
		if (*s != ' ' && !in)
			n++;
		in = *s != ' ';
	}
	return n;
}

/* Reads the ringo notes of path into docs.  Returns the number of ringo
 * notes; an undocumented probe name fails the test. */
static int read_notes(const char *path, struct doc *docs)
{
	elf_version(EV_CURRENT);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(e);
	size_t shstrndx;
	assert_int_equal(elf_getshdrstrndx(e, &shstrndx), 0);
	int found = 0;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn));) {
		GElf_Shdr sh;
		gelf_getshdr(scn, &sh);
		const char *sname = elf_strptr(e, shstrndx, sh.sh_name);
		if (sh.sh_type != SHT_NOTE || !sname || strcmp(sname, ".note.stapsdt"))
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		GElf_Nhdr nh;
		size_t off = 0, noff, doff;
		while ((off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
			const char *desc = (const char *)d->d_buf + doff;
			if (nh.n_type != 3 || nh.n_descsz < 24)
				continue;
			uint64_t sema;
			memcpy(&sema, desc + 16, 8);
			const char *prov = desc + 24;
			const char *name = prov + strlen(prov) + 1;
			const char *args = name + strlen(name) + 1;
			if (strcmp(prov, "ringo"))
				continue;
			found++;
			struct doc *dc = NULL;
			for (size_t i = 0; i < NDOCS; i++)
				if (!strcmp(docs[i].name, name))
					dc = &docs[i];
			if (!dc)
				fail_msg("%s: probe %s is not in RG_PROBE_LIST (probes.h)", path, name);
			if (note_args(args) != dc->nargs)
				fail_msg("%s: a site of %s has %d arguments (%s), documented %d",
					 path, name, note_args(args), args, dc->nargs);
			if (dc->sites && dc->sema != sema)
				dc->sema_mixed = true;
			dc->sema = sema;
			dc->sites++;
		}
	}
	elf_end(e);
	close(fd);
	return found;
}

static void check_object(const char *path, bool need_all __attribute__((unused)))
{
	struct doc docs[NDOCS];
	memcpy(docs, docs_init, sizeof(docs));
	for (size_t i = 0; i < NDOCS; i++)
		docs[i].nargs = count_args(doc_args[i]);
	if (access(path, R_OK) != 0)
		fail_msg("%s is missing: build the library first", path);
	int n = read_notes(path, docs);
#if RG_PROBES_ENABLED
	assert_true(n > 0);
	for (size_t i = 0; i < NDOCS; i++) {
		if (docs[i].sites == 0 && need_all)
			fail_msg("%s: documented probe %s has no site", path, docs[i].name);
		if (docs[i].sites && docs[i].sema == 0)
			fail_msg("%s: probe %s has no semaphore", path, docs[i].name);
		if (docs[i].sema_mixed)
			fail_msg("%s: sites of %s use different semaphores", path, docs[i].name);
	}
#else
	assert_int_equal(n, 0);
#endif
}

/* The shared library next to the tests folder carries every probe. */
static void test_library_notes_match_docs(void **state)
{
	(void)state;
	char exe[PATH_MAX], lib[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = 0;
	snprintf(lib, sizeof(lib), "%s/../libringo.so", dirname(exe));
	check_object(lib, true);
}

/* A program linked with libringo.a carries the sites of the objects it
 * pulled in (not every object: the linker takes only what is used). */
static void test_static_binary_notes_match_docs(void **state)
{
	(void)state;
	check_object("/proc/self/exe", false);
}

/* With no tracer attached every semaphore reads zero, so no site
 * computes its arguments. */
static void test_semaphores_idle(void **state)
{
	(void)state;
#if RG_PROBES_ENABLED
#define SEM_CHECK(name, args) assert_int_equal(ringo_##name##_semaphore, 0);
	RG_PROBE_LIST(SEM_CHECK)
#else
	skip();
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_library_notes_match_docs),
		cmocka_unit_test(test_static_binary_notes_match_docs),
		cmocka_unit_test(test_semaphores_idle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
