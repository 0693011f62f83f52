// SPDX-License-Identifier: MIT
/*
 * fileio: concurrent file reads.  64 goroutines each read all of 32 files
 * of 256 KiB (page-cached after the first pass) with rg_read_file, in a
 * different order each; -n passes.  ns per file read.  Mirrors
 * go/fileio.go.
 */
#include <ringo.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"

#define NFILES 32
#define FILE_SIZE (256 << 10)
#define WORKERS 64

static char names[NFILES][64];
static long passes;
static atomic_long bad;
static rg_waitgroup_t wg;

static void reader(void *arg)
{
	long w = (long)arg;
	for (long p = 0; p < passes; p++)
		for (int i = 0; i < NFILES; i++) {
			void *buf;
			size_t len;
			int r = rg_read_file(names[(i + w) % NFILES], &buf, &len, NULL);
			if (r < 0 || len != FILE_SIZE)
				atomic_fetch_add(&bad, 1);
			if (r >= 0)
				free(buf);
		}
	rg_wg_done(&wg);
}

static int bench_main(void *arg)
{
	(void)arg;
	char dir[] = "/tmp/ringo-fileio-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	static char data[FILE_SIZE];
	for (int i = 0; i < FILE_SIZE; i++)
		data[i] = (char)(i * 7);
	for (int i = 0; i < NFILES; i++) {
		snprintf(names[i], sizeof(names[i]), "%s/f%02d", dir, i);
		if (rg_write_file(names[i], data, FILE_SIZE, 0600, NULL) < 0)
			return 1;
	}
	int64_t t0 = rg_now();
	rg_wg_add(&wg, WORKERS);
	for (long w = 0; w < WORKERS; w++)
		rg_go(reader, (void *)w);
	rg_wg_wait(&wg);
	int64_t d = rg_now() - t0;
	for (int i = 0; i < NFILES; i++)
		unlink(names[i]);
	rmdir(dir);
	if (atomic_load(&bad)) {
		fprintf(stderr, "bench_fileio: %ld bad reads\n", atomic_load(&bad));
		return 1;
	}
	long reads = (long)WORKERS * NFILES * passes;
	printf("fileio: %ld reads of %d KiB in %.1f ms (%s backend)\n", reads, FILE_SIZE >> 10,
	       (double)d / 1e6, rg_io_backend());
	bench_result("fileio", (double)d / (double)reads, 1, "ns/op");
	return 0;
}

int main(int argc, char **argv)
{
	passes = 4;
	const struct bench_opt opts[] = {{"n", &passes, "passes over the files per goroutine"},
					 {NULL, NULL, NULL}};
	bench_parse(argc, argv, opts);
	return rg_main(bench_main, NULL);
}
