// SPDX-License-Identifier: MIT
/*
 * files.c — GET /v1/files/PATH: a file under --root, streamed.
 *
 * The promise: no request reads anything outside the root, whatever it
 * is made of.  Three layers, each enough on its own for what it covers:
 *
 *   1. The path is percent-decoded once; a bad escape or an encoded NUL
 *      is a 404.  Decoding happens once only: "%252e" stays "%2e", a
 *      name that is then looked up literally.
 *   2. The decoded path is split on '/'; any "." or ".." component, an
 *      empty path, or a path that names a directory is a 404.  Nothing
 *      is resolved lexically: a ".." never reaches the kernel.
 *   3. The kernel resolves the rest relative to the root's fd:
 *      openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) refuses any
 *      resolution step that leaves the root, symlinks included (EXDEV),
 *      while symlinks that stay inside work.  Where openat2 is missing
 *      (Linux < 5.6, seccomp filters that return ENOSYS) or
 *      RINGO_POOL_NO_OPENAT2=1 forces it, each component is opened with
 *      openat(O_NOFOLLOW) from the previous one's fd: no symlink is
 *      followed at all (stricter: a symlink inside the root is a 404
 *      too).
 *   Every failure answers 404 with the same body, so a client cannot
 *   tell "escapes the root" from "does not exist".
 *
 * Only regular files are served (a FIFO would block, a device could be
 * anything); the open itself is O_NONBLOCK so that a FIFO cannot hold
 * it.  The open is a syscall made directly (with the P released
 * around it): the public API has rg_open (openat from AT_FDCWD) but no
 * openat2 and no dirfd-relative open, so the resolution rules above
 * cannot go through it; the reads do go through ringo (rg_pread),
 * CHUNK bytes at a time, each chunk written before the next is read, so
 * a large file streams in constant memory and a slow client slows only
 * its own goroutine.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CHUNK (128 * 1024)
#define PATH_MAX_REQ 4096

int files_init(void)
{
	srv.root_fd = -1;
	if (!cfg.root)
		return 0;
	srv.root_fd = open(cfg.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (srv.root_fd < 0) {
		fprintf(stderr, "ringo-pool: --root %s: %s\n", cfg.root, strerror(errno));
		return -errno;
	}
	const char *force = getenv("RINGO_POOL_NO_OPENAT2");
	srv.openat2 = !(force && *force && strcmp(force, "0") != 0);
	if (srv.openat2) {
		struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_BENEATH};
		int fd = (int)syscall(SYS_openat2, srv.root_fd, ".", &how, sizeof(how));
		if (fd >= 0)
			close(fd);
		else
			srv.openat2 = false; /* ENOSYS, EPERM from a filter, ... */
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

ssize_t url_decode(const char *src, size_t len, char *dst, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = src[i];
		if (ch == '%') {
			if (i + 2 >= len)
				return -1;
			int hi = hexval(src[i + 1]), lo = hexval(src[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			ch = (char)(hi * 16 + lo);
			i += 2;
		}
		if (ch == 0 || o + 1 >= n)
			return -1;
		dst[o++] = ch;
	}
	dst[o] = 0;
	return (ssize_t)o;
}

/* Layer 2: components that are "", "." or ".." (other than empty ones
 * from doubled slashes, which we also refuse) make the path invalid. */
static bool path_ok(const char *p)
{
	if (!*p)
		return false;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

/* The fallback walk: each component with O_NOFOLLOW from its parent. */
static int walk_open(const char *rel)
{
	char buf[PATH_MAX_REQ];
	snprintf(buf, sizeof(buf), "%s", rel);
	int dir = srv.root_fd;
	char *save = NULL;
	char *comp = strtok_r(buf, "/", &save);
	while (comp) {
		char *next = strtok_r(NULL, "/", &save);
		int flags = O_NOFOLLOW | O_CLOEXEC |
			    (next ? O_PATH | O_DIRECTORY : O_RDONLY | O_NONBLOCK | O_NOCTTY);
		int fd = openat(dir, comp, flags);
		int e = errno;
		if (dir != srv.root_fd)
			close(dir);
		if (fd < 0)
			return -e;
		dir = fd;
		comp = next;
	}
	return dir == srv.root_fd ? -EISDIR : dir;
}

int files_open_beneath(const char *rel)
{
	if (srv.root_fd < 0 || !path_ok(rel))
		return -ENOENT;
	int fd;
	rg_syscall_enter();
	if (srv.openat2) {
		struct open_how how = {
			.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
		};
		fd = (int)syscall(SYS_openat2, srv.root_fd, rel, &how, sizeof(how));
		if (fd < 0)
			fd = -errno;
	} else {
		fd = walk_open(rel);
	}
	rg_syscall_exit();
	if (fd < 0)
		return -ENOENT; /* EXDEV (escapes), ELOOP, ENOENT: all the same */
	/* O_NONBLOCK kept the open of a FIFO from waiting for a writer;
	 * a regular file's reads must not see it (io_uring would answer
	 * EAGAIN for pages not in the cache). */
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || fcntl(fd, F_SETFL, 0) != 0) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

static const char *content_type(const char *name)
{
	const char *dot = strrchr(name, '.');
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".html", "text/html; charset=utf-8"}, {".txt", "text/plain; charset=utf-8"},
		{".md", "text/plain; charset=utf-8"},  {".c", "text/plain; charset=utf-8"},
		{".h", "text/plain; charset=utf-8"},   {".json", "application/json"},
		{".css", "text/css; charset=utf-8"},   {".js", "text/javascript; charset=utf-8"},
		{".png", "image/png"},                 {".svg", "image/svg+xml"},
	};
	if (dot)
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcmp(dot, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

void handle_files(req_t *r, const char *rest, size_t rest_len)
{
	char rel[PATH_MAX_REQ];

	if (r->method != HTTP_GET && r->method != HTTP_HEAD) {
		resp_error(r, 405, "Allow: GET, HEAD\r\n", NULL);
		return;
	}
	if (url_decode(rest, rest_len, rel, sizeof(rel)) < 0) {
		resp_error(r, 404, NULL, "not found");
		return;
	}
	int fd = files_open_beneath(rel);
	if (fd < 0) {
		resp_error(r, 404, NULL, "not found");
		return;
	}
	struct stat st;
	fstat(fd, &st);
	size_t size = (size_t)st.st_size;
	if (resp_head(r, 200, content_type(rel), NULL, size) < 0 || r->method == HTTP_HEAD) {
		rg_close(fd);
		return;
	}
	char *buf = malloc(size < CHUNK ? (size ? size : 1) : CHUNK);
	off_t off = 0;
	while (buf && (size_t)off < size) {
		size_t want = size - (size_t)off < CHUNK ? size - (size_t)off : CHUNK;
		ssize_t n = rg_pread(fd, buf, want, off, srv.kill_ctx);
		if (n <= 0)
			break; /* truncated under us: the client sees a short body */
		if (resp_body(r, buf, (size_t)n) < 0)
			break;
		off += n;
	}
	if (!buf || (size_t)off < size)
		resp_close_after(r); /* the promised length was not sent */
	free(buf);
	rg_close(fd);
}
