// SPDX-License-Identifier: MIT
/*
 * stacks.c — aggregated stacks and the files made from them.
 *
 * A view fills an rt_profile with samples (a stack read from a BPF stack
 * map, leaf first, plus one or two values and labels), then asks for any
 * of:
 *   --folded  Brendan Gregg's folded stacks: "root;...;leaf VALUE" per
 *             line, identical stacks merged; the first value named by
 *             folded_value (nanoseconds waited for block and mutex,
 *             samples for profile);
 *   --pprof   profile.proto (github.com/google/pprof/proto/profile.proto),
 *             encoded here (a few dozen lines: varints and length-
 *             delimited fields) and gzipped with zlib; one Location per
 *             address with its Function (name, file) and line, labels as
 *             string labels, so `go tool pprof -tagfocus` works;
 *   --svg     a self-contained flame graph: rectangles with <title>
 *             tooltips, no script and no external font.
 *
 * Rejected: shelling out to flamegraph.pl (not in Debian 12's default
 * install, and Perl at run time); protobuf-c with a generated
 * profile.pb-c.c (one more build step and dependency for five message
 * types that need only encoding).
 */
#include "trace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <bpf/bpf.h>

struct rt_sample *prof_add(struct rt_profile *p)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 256;
		p->s = realloc(p->s, (size_t)p->cap * sizeof(*p->s));
		if (!p->s)
			rt_die("out of memory");
	}
	struct rt_sample *s = &p->s[p->n++];
	memset(s, 0, sizeof(*s));
	return s;
}

void prof_stack(struct rt_sample *s, int fd, int stackid)
{
	s->depth = 0;
	if (stackid < 0)
		return;
	uint64_t ips[RT_MAX_DEPTH];
	memset(ips, 0, sizeof(ips));
	if (bpf_map_lookup_elem(fd, &stackid, ips) != 0)
		return;
	for (int i = 0; i < RT_MAX_DEPTH && ips[i]; i++)
		s->ips[s->depth++] = ips[i];
}

void prof_free(struct rt_profile *p)
{
	free(p->s);
	p->s = NULL;
	p->n = p->cap = 0;
}

/* Frame i of s: the leaf is the exact address, the others are return
 * addresses. */
static const char *frame(struct symbolizer *sym, const struct rt_sample *s, int i,
			 const char **src)
{
	return sym_name(sym, s->ips[i], i > 0, src);
}

const char *prof_user_site(struct rt_sample *s, struct symbolizer *sym, const char **src)
{
	/* The first frame from the leaf that is not the runtime's. */
	for (int i = 0; i < s->depth; i++)
		if (!sym_is_runtime(sym, s->ips[i], i > 0))
			return frame(sym, s, i, src);
	if (src)
		*src = NULL;
	return NULL;
}

const char *fmt_ns(double ns, char *buf, size_t len)
{
	if (ns >= 1e9)
		snprintf(buf, len, "%.2fs", ns / 1e9);
	else if (ns >= 1e6)
		snprintf(buf, len, "%.2fms", ns / 1e6);
	else if (ns >= 1e3)
		snprintf(buf, len, "%.2fus", ns / 1e3);
	else
		snprintf(buf, len, "%.0fns", ns);
	return buf;
}

void print_hist(FILE *f, const unsigned long long *slots, int n, const char *unit)
{
	unsigned long long max = 0;
	int last = -1;
	for (int i = 0; i < n; i++) {
		if (slots[i] > max)
			max = slots[i];
		if (slots[i])
			last = i;
	}
	if (last < 0) {
		fprintf(f, "     (no events)\n");
		return;
	}
	fprintf(f, "%*s%-8s : count    distribution\n", 10, "", unit);
	for (int i = 0; i <= last; i++) {
		unsigned long long lo = i ? 1ull << (i - 1) : 0, hi = (1ull << i) - 1;
		int w = max ? (int)(40 * slots[i] / max) : 0;
		char bar[41];
		memset(bar, '*', (size_t)w);
		bar[w] = 0;
		fprintf(f, "%10llu -> %-10llu : %-8llu |%-40s|\n", lo, hi, slots[i], bar);
	}
}

/* ---- top N as text ----------------------------------------------------- */

static int cmp_v0(const void *a, const void *b)
{
	const struct rt_sample *x = a, *y = b;
	return x->v[0] < y->v[0] ? 1 : x->v[0] > y->v[0] ? -1 : 0;
}
static int cmp_v1(const void *a, const void *b)
{
	const struct rt_sample *x = a, *y = b;
	return x->v[1] < y->v[1] ? 1 : x->v[1] > y->v[1] ? -1 : 0;
}

void prof_print_top(struct rt_profile *p, struct symbolizer *sym, int v, int n, FILE *f)
{
	qsort(p->s, (size_t)p->n, sizeof(*p->s), v ? cmp_v1 : cmp_v0);
	for (int k = 0; k < p->n && k < n; k++) {
		struct rt_sample *s = &p->s[k];
		char b0[32];
		fprintf(f, "\n");
		for (int j = 0; j < p->nvalues; j++) {
			if (p->vunit[j] && !strcmp(p->vunit[j], "nanoseconds"))
				fprintf(f, "%s%s %s", j ? ", " : "", p->vtype[j],
					fmt_ns((double)s->v[j], b0, sizeof(b0)));
			else
				fprintf(f, "%s%s %lld", j ? ", " : "", p->vtype[j],
					(long long)s->v[j]);
		}
		if (s->prefix[0])
			fprintf(f, "  [%s]", s->prefix);
		for (int j = 0; j < s->nlabels; j++)
			fprintf(f, "  %s=%s", s->label_key[j], s->label_val[j]);
		fprintf(f, "\n");
		for (int i = 0; i < s->depth; i++) {
			const char *src;
			const char *nm = frame(sym, s, i, &src);
			fprintf(f, "    %-40s %s\n", nm, src ? src : "");
		}
		if (!s->depth)
			fprintf(f, "    (no stack)\n");
		if (s->hdepth)
			fprintf(f, "  woken by the unlock at:\n");
		for (int i = 0; i < s->hdepth; i++) {
			const char *src;
			const char *nm = sym_name(sym, s->hips[i], i > 0, &src);
			fprintf(f, "    %-40s %s\n", nm, src ? src : "");
		}
	}
}

/* ---- folded ---------------------------------------------------------------- */

struct fline {
	char *stack;
	long long v;
};

static char *folded_stack(struct symbolizer *sym, const struct rt_sample *s)
{
	size_t cap = 256, len = 0;
	char *b = malloc(cap);
	if (!b)
		rt_die("out of memory");
	b[0] = 0;
#define APPEND(str)                                                        \
	do {                                                               \
		const char *a_ = (str);                                    \
		size_t l_ = strlen(a_);                                    \
		while (len + l_ + 2 > cap) {                               \
			cap *= 2;                                          \
			b = realloc(b, cap);                               \
			if (!b)                                            \
				rt_die("out of memory");                   \
		}                                                          \
		if (len)                                                   \
			b[len++] = ';';                                    \
		for (size_t k_ = 0; k_ < l_; k_++)                         \
			b[len++] = (a_[k_] == ';' || a_[k_] == ' ') ? '_' : a_[k_]; \
		b[len] = 0;                                                \
	} while (0)
	if (s->prefix[0])
		APPEND(s->prefix);
	for (int i = s->depth - 1; i >= 0; i--)
		APPEND(frame(sym, s, i, NULL));
	if (!s->depth && !s->prefix[0])
		APPEND("[no stack]");
#undef APPEND
	return b;
}

static int cmp_fline(const void *a, const void *b)
{
	return strcmp(((const struct fline *)a)->stack, ((const struct fline *)b)->stack);
}

/* Symbolized, merged, sorted lines. */
static struct fline *fold(struct rt_profile *p, struct symbolizer *sym, int *nout)
{
	struct fline *v = calloc((size_t)p->n + 1, sizeof(*v));
	if (!v)
		rt_die("out of memory");
	int n = 0;
	for (int i = 0; i < p->n; i++) {
		if (p->s[i].v[p->folded_value] <= 0)
			continue;
		v[n].stack = folded_stack(sym, &p->s[i]);
		v[n].v = p->s[i].v[p->folded_value];
		n++;
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_fline);
	int m = 0;
	for (int i = 0; i < n; i++) {
		if (m && !strcmp(v[m - 1].stack, v[i].stack)) {
			v[m - 1].v += v[i].v;
			free(v[i].stack);
		} else {
			v[m++] = v[i];
		}
	}
	*nout = m;
	return v;
}

static void write_folded(struct fline *v, int n, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		rt_die("%s: %s", path, strerror(errno));
	for (int i = 0; i < n; i++)
		fprintf(f, "%s %lld\n", v[i].stack, v[i].v);
	if (fclose(f) != 0)
		rt_die("%s: %s", path, strerror(errno));
}

/* ---- SVG flame graph ------------------------------------------------------ */

struct fnode {
	char *name;
	long long v;
	struct fnode *kids, *next;
};

static struct fnode *fchild(struct fnode *n, const char *name, size_t len)
{
	for (struct fnode *k = n->kids; k; k = k->next)
		if (strlen(k->name) == len && !strncmp(k->name, name, len))
			return k;
	struct fnode *k = calloc(1, sizeof(*k));
	if (!k)
		rt_die("out of memory");
	k->name = strndup(name, len);
	/* Keep children in insertion order (the input is sorted). */
	struct fnode **pp = &n->kids;
	while (*pp)
		pp = &(*pp)->next;
	*pp = k;
	return k;
}

static int fdepth(struct fnode *n)
{
	int d = 0;
	for (struct fnode *k = n->kids; k; k = k->next) {
		int x = fdepth(k);
		if (x > d)
			d = x;
	}
	return d + 1;
}

static void xml_escape(FILE *f, const char *s, size_t max)
{
	for (size_t i = 0; s[i] && i < max; i++) {
		switch (s[i]) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(s[i], f);
		}
	}
}

#define FG_W 1200.0
#define FG_H 16
#define FG_PAD 10.0

static void fdraw(FILE *f, struct fnode *n, double x, int level, int height, double scale,
		  long long total)
{
	double w = (double)n->v * scale;
	if (w < 0.1)
		return;
	double y = height - (level + 1) * FG_H - 4;
	unsigned h = 5381;
	for (const char *c = n->name; *c; c++)
		h = h * 33 + (unsigned char)*c;
	int r = 200 + (int)(h % 55), g = 80 + (int)((h >> 8) % 120), b = (int)((h >> 16) % 60);
	fprintf(f, "<g><title>");
	xml_escape(f, n->name, 4096);
	fprintf(f, " (%lld, %.2f%%)</title><rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" "
		   "height=\"%d\" fill=\"rgb(%d,%d,%d)\" rx=\"2\"/>",
		(long long)n->v, 100.0 * (double)n->v / (double)total, x, y, w, FG_H - 1, r, g, b);
	size_t fit = (size_t)((w - 6) / 7);
	if (fit >= 3) {
		fprintf(f, "<text x=\"%.1f\" y=\"%.0f\">", x + 3, y + FG_H - 4);
		size_t len = strlen(n->name);
		if (len <= fit) {
			xml_escape(f, n->name, len);
		} else {
			xml_escape(f, n->name, fit - 2);
			fputs("..", f);
		}
		fputs("</text>", f);
	}
	fputs("</g>\n", f);
	double cx = x;
	for (struct fnode *k = n->kids; k; k = k->next) {
		fdraw(f, k, cx, level + 1, height, scale, total);
		cx += (double)k->v * scale;
	}
}

static void ffree(struct fnode *n)
{
	while (n) {
		struct fnode *next = n->next;
		ffree(n->kids);
		free(n->name);
		free(n);
		n = next;
	}
}

static void write_svg(struct fline *v, int nl, const char *title, const char *path)
{
	struct fnode root = {.name = "all"};
	for (int i = 0; i < nl; i++) {
		struct fnode *n = &root;
		root.v += v[i].v;
		for (const char *s = v[i].stack; *s;) {
			size_t len = strcspn(s, ";");
			n = fchild(n, s, len);
			n->v += v[i].v;
			s += len;
			if (*s == ';')
				s++;
		}
	}
	int depth = fdepth(&root);
	int height = depth * FG_H + 50;
	FILE *f = fopen(path, "w");
	if (!f)
		rt_die("%s: %s", path, strerror(errno));
	fprintf(f, "<?xml version=\"1.0\" standalone=\"no\"?>\n"
		   "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
		   "height=\"%d\" viewBox=\"0 0 %.0f %d\">\n"
		   "<style>text { font-family: monospace; font-size: 11px; fill: #000; }"
		   " rect:hover { stroke: #000; stroke-width: 0.5; }</style>\n"
		   "<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" fill=\"#f8f8f0\"/>\n"
		   "<text x=\"%.0f\" y=\"20\" style=\"font-size: 15px\" text-anchor=\"middle\">",
		FG_W + 2 * FG_PAD, height, FG_W + 2 * FG_PAD, height, FG_W / 2 + FG_PAD);
	xml_escape(f, title ? title : "ringo-trace", 200);
	fprintf(f, "</text>\n");
	if (root.v > 0)
		fdraw(f, &root, FG_PAD, 0, height, FG_W / (double)root.v, root.v);
	fprintf(f, "</svg>\n");
	if (fclose(f) != 0)
		rt_die("%s: %s", path, strerror(errno));
	ffree(root.kids);
}

/* ---- pprof ---------------------------------------------------------------- */

struct pbuf {
	unsigned char *b;
	size_t n, cap;
};

static void pb_byte(struct pbuf *p, unsigned char c)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 1024;
		p->b = realloc(p->b, p->cap);
		if (!p->b)
			rt_die("out of memory");
	}
	p->b[p->n++] = c;
}

static void pb_varint(struct pbuf *p, uint64_t v)
{
	while (v >= 0x80) {
		pb_byte(p, (unsigned char)(v | 0x80));
		v >>= 7;
	}
	pb_byte(p, (unsigned char)v);
}

static void pb_key(struct pbuf *p, int field, int wire)
{
	pb_varint(p, (uint64_t)field << 3 | (uint64_t)wire);
}

static void pb_int(struct pbuf *p, int field, int64_t v)
{
	if (!v)
		return;
	pb_key(p, field, 0);
	pb_varint(p, (uint64_t)v);
}

static void pb_bytes(struct pbuf *p, int field, const void *d, size_t len)
{
	pb_key(p, field, 2);
	pb_varint(p, len);
	for (size_t i = 0; i < len; i++)
		pb_byte(p, ((const unsigned char *)d)[i]);
}

static void pb_msg(struct pbuf *p, int field, struct pbuf *m)
{
	pb_bytes(p, field, m->b, m->n);
	m->n = 0;
}

/* A tiny string -> index table (linear probing). */
struct strtab {
	char **s;
	size_t n, cap;   /* cap: hash slots */
	int *slots;
	char **order;
	size_t norder, caporder;
};

static int st_index(struct strtab *t, const char *s)
{
	if (!t->cap) {
		t->cap = 4096;
		t->slots = malloc(t->cap * sizeof(int));
		for (size_t i = 0; i < t->cap; i++)
			t->slots[i] = -1;
	}
	if (2 * (t->norder + 1) > t->cap) {
		size_t nc = t->cap * 2;
		int *ns = malloc(nc * sizeof(int));
		for (size_t i = 0; i < nc; i++)
			ns[i] = -1;
		for (size_t k = 0; k < t->norder; k++) {
			unsigned h = 5381;
			for (const char *c = t->order[k]; *c; c++)
				h = h * 33 + (unsigned char)*c;
			size_t i = h & (nc - 1);
			while (ns[i] >= 0)
				i = (i + 1) & (nc - 1);
			ns[i] = (int)k;
		}
		free(t->slots);
		t->slots = ns;
		t->cap = nc;
	}
	unsigned h = 5381;
	for (const char *c = s; *c; c++)
		h = h * 33 + (unsigned char)*c;
	size_t i = h & (t->cap - 1);
	while (t->slots[i] >= 0) {
		if (!strcmp(t->order[t->slots[i]], s))
			return t->slots[i];
		i = (i + 1) & (t->cap - 1);
	}
	if (t->norder == t->caporder) {
		t->caporder = t->caporder ? 2 * t->caporder : 1024;
		t->order = realloc(t->order, t->caporder * sizeof(char *));
	}
	t->order[t->norder] = strdup(s);
	t->slots[i] = (int)t->norder;
	return (int)t->norder++;
}

/* Functions and locations, numbered from 1 in order of first use. */
struct idtab {
	uint64_t *key;     /* address, or string index pair for functions */
	size_t n, cap;
};

static int id_find(struct idtab *t, uint64_t key, bool *isnew)
{
	for (size_t i = 0; i < t->n; i++)   /* profiles here have a few thousand */
		if (t->key[i] == key) {
			*isnew = false;
			return (int)i + 1;
		}
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 256;
		t->key = realloc(t->key, t->cap * sizeof(uint64_t));
	}
	t->key[t->n++] = key;
	*isnew = true;
	return (int)t->n;
}

static void write_pprof(struct rt_profile *p, struct symbolizer *sym, const char *path)
{
	struct pbuf out = {0}, m = {0}, sub = {0};
	struct strtab st = {0};
	struct idtab locs = {0}, funcs = {0};
	st_index(&st, "");

	for (int j = 0; j < p->nvalues; j++) {
		pb_int(&m, 1, st_index(&st, p->vtype[j]));
		pb_int(&m, 2, st_index(&st, p->vunit[j]));
		pb_msg(&out, 1, &m);
	}
	struct pbuf fnout = {0}, locout = {0};
	for (int k = 0; k < p->n; k++) {
		struct rt_sample *s = &p->s[k];
		struct pbuf ids = {0}, vals = {0};
		for (int i = 0; i < s->depth; i++) {
			bool isnew;
			uint64_t a = s->ips[i] - (i > 0);
			int lid = id_find(&locs, a, &isnew);
			pb_varint(&ids, (uint64_t)lid);
			if (!isnew)
				continue;
			const char *src;
			const char *name = frame(sym, s, i, &src);
			char file[4200] = "";
			long line = 0;
			if (src) {
				snprintf(file, sizeof(file), "%s", src);
				char *c = strrchr(file, ':');
				if (c) {
					*c = 0;
					line = atol(c + 1);
				}
			}
			int ni = st_index(&st, name), fi = st_index(&st, file);
			int fid = id_find(&funcs, (uint64_t)ni << 32 | (uint64_t)fi, &isnew);
			if (isnew) {
				pb_int(&m, 1, fid);
				pb_int(&m, 2, ni);
				pb_int(&m, 3, ni);
				pb_int(&m, 4, fi);
				pb_msg(&fnout, 5, &m);
			}
			pb_int(&sub, 1, fid);
			pb_int(&sub, 2, line);
			pb_int(&m, 1, lid);
			pb_int(&m, 2, 1);
			pb_int(&m, 3, (int64_t)a);
			pb_msg(&m, 4, &sub);
			pb_msg(&locout, 4, &m);
		}
		for (int j = 0; j < p->nvalues; j++)
			pb_varint(&vals, (uint64_t)s->v[j]);
		if (ids.n)
			pb_bytes(&m, 1, ids.b, ids.n);
		pb_bytes(&m, 2, vals.b, vals.n);
		for (int j = 0; j < s->nlabels; j++) {
			pb_int(&sub, 1, st_index(&st, s->label_key[j]));
			pb_int(&sub, 2, st_index(&st, s->label_val[j]));
			pb_msg(&m, 3, &sub);
		}
		if (s->prefix[0]) {
			pb_int(&sub, 1, st_index(&st, "reason"));
			pb_int(&sub, 2, st_index(&st, s->prefix));
			pb_msg(&m, 3, &sub);
		}
		pb_msg(&out, 2, &m);
		free(ids.b);
		free(vals.b);
	}
	/* One mapping, already symbolized. */
	pb_int(&m, 1, 1);
	pb_int(&m, 3, -1);
	pb_int(&m, 5, st_index(&st, "ringo-trace"));
	pb_key(&m, 7, 0), pb_varint(&m, 1);
	pb_key(&m, 8, 0), pb_varint(&m, 1);
	pb_key(&m, 9, 0), pb_varint(&m, 1);
	pb_msg(&out, 3, &m);
	for (size_t i = 0; i < locout.n; i++)
		pb_byte(&out, locout.b[i]);
	for (size_t i = 0; i < fnout.n; i++)
		pb_byte(&out, fnout.b[i]);
	for (size_t i = 0; i < st.norder; i++)
		pb_bytes(&out, 6, st.order[i], strlen(st.order[i]));
	pb_int(&out, 10, p->duration_ns);
	if (p->period) {
		pb_int(&m, 1, st_index(&st, p->vtype[p->nvalues - 1]));
		pb_int(&m, 2, st_index(&st, p->vunit[p->nvalues - 1]));
		/* st grew after the table was written only if the type was new;
		 * it is not (it names a sample type). */
		pb_msg(&out, 11, &m);
		pb_int(&out, 12, p->period);
	}

	gzFile gz = gzopen(path, "wb9");
	if (!gz)
		rt_die("%s: %s", path, strerror(errno));
	if (gzwrite(gz, out.b, (unsigned)out.n) != (int)out.n || gzclose(gz) != Z_OK)
		rt_die("%s: write failed", path);
	for (size_t i = 0; i < st.norder; i++)
		free(st.order[i]);
	free(st.order);
	free(st.slots);
	free(locs.key);
	free(funcs.key);
	free(out.b);
	free(m.b);
	free(sub.b);
	free(fnout.b);
	free(locout.b);
}

void prof_write(struct rt_profile *p, struct symbolizer *sym, const struct opts *o)
{
	if (o->folded || o->svg) {
		int n;
		struct fline *v = fold(p, sym, &n);
		if (o->folded) {
			write_folded(v, n, o->folded);
			fprintf(stderr, "wrote %s (%d stacks)\n", o->folded, n);
		}
		if (o->svg) {
			write_svg(v, n, p->title, o->svg);
			fprintf(stderr, "wrote %s\n", o->svg);
		}
		for (int i = 0; i < n; i++)
			free(v[i].stack);
		free(v);
	}
	if (o->pprof) {
		write_pprof(p, sym, o->pprof);
		fprintf(stderr, "wrote %s (%d samples)\n", o->pprof, p->n);
	}
}
