// SPDX-License-Identifier: MIT
/*
 * Running a seed example: its main goroutine in a child process, its
 * stdout read back and compared with what the seed prints.  A test file
 * lists its examples in one table (struct example: name, example,
 * expected output or a check) and hands it to run_examples, which makes
 * a cmocka test of each row.  Header-only (static functions; a test
 * uses what it needs).
 */
#ifndef RGEXAMPLE_H
#define RGEXAMPLE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/rgtest.h"

/* ---- running an example and reading its output --------------------- */

static rgt_child_t res;

static inline int example_child(void *arg)
{
	int (*const *ex)(void *) = arg;
	return rg_main(*ex, NULL);
}

/* Runs ex as the main goroutine of a child; returns its stdout. */
static inline const char *run_example(int (*ex)(void *))
{
	rgt_env("RINGO_PROCS", "2");
	assert_int_equal(rgt_run_child(example_child, &ex, 120, &res), 0);
	if (!res.exited || res.code != 0)
		fprintf(stderr, "example failed (status %d):\n%s\n", res.status, res.out);
	assert_true(res.exited);
	assert_int_equal(res.code, 0);
	return res.out;
}

/* Index of the first line equal to `line`, -1 if none. */
static inline int line_index(const char *out, const char *line)
{
	size_t len = strlen(line);
	int i = 0;
	for (const char *p = out; *p; i++) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n == len && memcmp(p, line, len) == 0)
			return i;
		if (!nl)
			break;
		p = nl + 1;
	}
	return -1;
}

static inline int line_count(const char *out)
{
	int n = 0;
	for (const char *p = out; *p; p++)
		n += *p == '\n';
	return n;
}

/* Asserts `line` is present, and returns its index. */
static inline int expect_line(const char *out, const char *line)
{
	int i = line_index(out, line);
	if (i < 0)
		fprintf(stderr, "missing line \"%s\" in:\n%s\n", line, out);
	assert_true(i >= 0);
	return i;
}

static inline void expect_linef_before(const char *out, const char *a, const char *b)
{
	assert_true(expect_line(out, a) < expect_line(out, b));
}

static inline void expect_output(const char *out, const char *want)
{
	if (strcmp(out, want) != 0)
		fprintf(stderr, "want:\n%s\ngot:\n%s\n", want, out);
	assert_string_equal(out, want);
}

/* ---- the table ----------------------------------------------------- */

/* One row per example: the test's name, the example (run as the main
 * goroutine of a child, run_example), and what its output must be:
 * exactly `want` where the seed's output is deterministic, else what
 * `check` asserts about it. */
struct example {
	const char *name;
	int (*main)(void *);
	void (*check)(const char *out);
	const char *want;
};

static void example_run(void **state)
{
	const struct example *e = *state;
	const char *out = run_example(e->main);
	if (e->want)
		expect_output(out, e->want);
	else
		e->check(out);
}

/* Runs every row as a cmocka test, in the table's order (at most 64).
 * RGT_FILTER (a cmocka pattern, e.g. '*ctx*') runs the rows it
 * matches. */
static inline int run_examples(const struct example *rows, size_t n)
{
	struct CMUnitTest tests[64];
	if (n > sizeof(tests) / sizeof(tests[0]))
		return 1;
	for (size_t i = 0; i < n; i++)
		tests[i] = (struct CMUnitTest){rows[i].name, example_run, NULL, NULL,
					       (void *)&rows[i]};
	if (getenv("RGT_FILTER"))
		cmocka_set_test_filter(getenv("RGT_FILTER"));
	return _cmocka_run_group_tests("tests", tests, n, NULL, NULL);
}

#endif
