// SPDX-License-Identifier: MIT
/*
 * sorting — Go's sort package: sort.Ints, sort.Strings, sort.Float64s,
 * sort.Reverse, sort.Slice with a less function, sort.Stable and
 * sort.SearchInts; then a merge sort that sorts its halves in parallel
 * goroutines.
 *
 *     sort.Slice(students, func(i, j int) bool {
 *         return students[i].Age < students[j].Age
 *     })
 *
 * In C these are the C library's qsort(3) and bsearch(3) with a
 * comparison function (Go's Less returns a bool, a C comparison the
 * sign).  qsort is not stable: a stable sort compares the original
 * positions last.  The parallel sort splits the slice, sorts one half
 * in a new goroutine and the other in the caller, waits with a
 * WaitGroup and merges; below a cutoff it calls qsort.
 */
#include <ringo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static int cmp_int_desc(const void *a, const void *b)
{
	return cmp_int(b, a); /* sort.Reverse: swap the arguments */
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

typedef struct {
	const char *name;
	int age;
	int pos; /* original position, for the stable sort */
} student_t;

static int by_age(const void *a, const void *b) /* type ByAge []Student */
{
	const student_t *x = a, *y = b;
	return (x->age > y->age) - (x->age < y->age);
}

static int by_age_then_name(const void *a, const void *b)
{
	const student_t *x = a, *y = b;
	int c = by_age(a, b);
	return c ? c : strcmp(x->name, y->name);
}

static int by_age_stable(const void *a, const void *b)
{
	const student_t *x = a, *y = b;
	int c = by_age(a, b);
	return c ? c : x->pos - y->pos;
}

static void print_ints(const int *v, size_t n)
{
	printf("[");
	for (size_t i = 0; i < n; i++)
		printf(i ? " %d" : "%d", v[i]);
	printf("]\n");
}

static void print_students(const student_t *s, size_t n)
{
	printf("[");
	for (size_t i = 0; i < n; i++)
		printf(i ? " {%s %d}" : "{%s %d}", s[i].name, s[i].age);
	printf("]\n");
}

/* ---- parallel merge sort ------------------------------------------ */

#define CUTOFF 4096 /* below this, one goroutine and qsort */

struct msort {
	int *a, *tmp;
	size_t n;
	rg_waitgroup_t *wg; /* Done when this part is sorted (NULL: none) */
};

static void merge_sort(void *arg)
{
	struct msort *m = arg;

	if (m->n <= CUTOFF) {
		qsort(m->a, m->n, sizeof(int), cmp_int);
	} else {
		size_t half = m->n / 2;
		rg_waitgroup_t wg = {0};
		struct msort left = {m->a, m->tmp, half, &wg};
		struct msort right = {m->a + half, m->tmp + half, m->n - half, NULL};

		rg_wg_add(&wg, 1);
		rg_go(merge_sort, &left); /* go sort(left) */
		merge_sort(&right);       /* sort(right) here */
		rg_wg_wait(&wg);

		size_t i = 0, j = half, k = 0;
		while (i < half && j < m->n)
			m->tmp[k++] = m->a[j] < m->a[i] ? m->a[j++] : m->a[i++];
		while (i < half)
			m->tmp[k++] = m->a[i++];
		while (j < m->n)
			m->tmp[k++] = m->a[j++];
		memcpy(m->a, m->tmp, m->n * sizeof(int));
	}
	if (m->wg)
		rg_wg_done(m->wg);
}

static int run(void *arg)
{
	(void)arg;

	int nums[] = {5, 3, 8, 1, 4};
	qsort(nums, 5, sizeof(int), cmp_int); /* sort.Ints */
	print_ints(nums, 5);
	bool sorted = true;
	for (int i = 1; i < 5; i++)
		sorted = sorted && nums[i - 1] <= nums[i];
	printf("%s\n", sorted ? "true" : "false"); /* sort.IntsAreSorted */

	const char *words[] = {"banana", "apple", "cherry"};
	qsort(words, 3, sizeof(words[0]), cmp_str); /* sort.Strings */
	printf("[%s %s %s]\n", words[0], words[1], words[2]);

	double prices[] = {2.5, 0.99, 1.2};
	qsort(prices, 3, sizeof(double), cmp_double); /* sort.Float64s */
	printf("[%g %g %g]\n", prices[0], prices[1], prices[2]);

	qsort(nums, 5, sizeof(int), cmp_int_desc); /* sort.Sort(sort.Reverse(...)) */
	print_ints(nums, 5);

	student_t students[] = {{"Alice", 22, 0}, {"Bob", 19, 1}, {"Charlie", 25, 2}};
	qsort(students, 3, sizeof(student_t), by_age); /* sort.Sort(ByAge(students)) */
	print_students(students, 3);

	student_t more[] = {{"Dave", 22, 0}, {"Alice", 22, 1}, {"Eve", 19, 2}, {"Bob", 19, 3}};
	qsort(more, 4, sizeof(student_t), by_age_then_name); /* by age, then name */
	print_students(more, 4);
	student_t again[] = {{"Dave", 22, 0}, {"Alice", 22, 1}, {"Eve", 19, 2}, {"Bob", 19, 3}};
	qsort(again, 4, sizeof(student_t), by_age_stable); /* sort.Stable: equal ages keep their order */
	print_students(again, 4);

	int odd[] = {1, 3, 5, 7, 9}, key = 7;
	int *hit = bsearch(&key, odd, 5, sizeof(int), cmp_int); /* sort.SearchInts */
	printf("%td\n", hit ? hit - odd : -1);

	/* The parallel merge sort against qsort, on the same numbers. */
	size_t n = 200000;
	int *a = malloc(n * sizeof(int)), *b = malloc(n * sizeof(int));
	int *tmp = malloc(n * sizeof(int));
	if (!a || !b || !tmp) {
		perror("malloc");
		return 1;
	}
	uint32_t x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u; /* a fixed sequence, the same every run */
		a[i] = b[i] = (int)(x >> 8) % 1000000;
	}
	struct msort all = {a, tmp, n, NULL};
	merge_sort(&all);
	qsort(b, n, sizeof(int), cmp_int);
	printf("parallel merge sort of %zu ints equals qsort's: %s\n", n,
	       memcmp(a, b, n * sizeof(int)) == 0 ? "yes" : "no");
	printf("smallest %d, largest %d\n", a[0], a[n - 1]);
	free(a);
	free(b);
	free(tmp);
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
