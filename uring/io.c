// SPDX-License-Identifier: MIT
/*
 * io.c — choosing the I/O backend, and the scheduler's entry points,
 * which go to the chosen backend through one table.
 */
#include "backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct backend_ops {
	int kind;
	int (*start)(void);
	bool (*stop)(void);
	bool (*poll)(rg_p *p, bool submit);
	void (*flush)(rg_p *p);  /* NULL: nothing is ever queued */
	bool (*poll_stuck)(rg_p *p);
	bool (*idle_wait)(rg_p *p, int64_t until);
	bool (*poke_any)(void);
	void (*poke_p)(rg_p *p);
	void (*poke_before)(int64_t when);
};

static const struct backend_ops uring_ops = {
	RG_IO_URING, rg__ring_start, rg__ring_stop, rg__ring_poll, rg__ring_flush,
	rg__ring_poll_stuck, rg__ring_idle_wait, rg__ring_poke_any, rg__ring_poke_p, rg__ring_poke_before,
};

/* A goroutine parked on the epoll backend holds nothing in the kernel:
 * its syscall has not started. */
static bool epoll_stop(void)
{
	rg__epoll_stop();
	return true;
}

/* Nothing waits to be submitted on the epoll backend. */
static bool epoll_poll(rg_p *p, bool submit)
{
	(void)submit;
	return rg__epoll_poll(p);
}

static const struct backend_ops epoll_ops = {
	RG_IO_EPOLL, rg__epoll_start, epoll_stop, epoll_poll, NULL, rg__epoll_poll_stuck,
	rg__epoll_idle_wait, rg__epoll_poke_any, rg__epoll_poke_p, rg__epoll_poke_before,
};

/* Set at start, cleared at stop; read by every scheduler pass. */
static const struct backend_ops *ops;

int rg__io_backend(void)
{
	return ops ? ops->kind : RG_IO_NONE;
}

int rg__io_start(void)
{
	const char *env = getenv("RINGO_BACKEND");
	bool want_epoll = env && strcmp(env, "epoll") == 0;

	ops = NULL;
	int ur = want_epoll ? 0 : uring_ops.start();
	if (!want_epoll && ur == 0) {
		ops = &uring_ops;
		return 0;
	}
	/* io_uring refused (disabled by sysctl or seccomp, too old, out of
	 * memory or locked memory, a setup that failed after some rings
	 * were made: those are closed) or not wanted: sockets wait for
	 * readiness in epoll instead.  Silent, as the kernel's refusal is
	 * routine (rg_io_backend() tells), unless RINGO_BACKEND=uring asked
	 * for io_uring by name. */
	if (!want_epoll && env && strcmp(env, "uring") == 0)
		fprintf(stderr, "ringo: RINGO_BACKEND=uring, but io_uring setup failed (%s): "
				"using epoll\n", strerror(-ur));
	int r = epoll_ops.start();
	if (r < 0)
		return r;
	ops = &epoll_ops;
	return 0;
}

bool rg__io_stop(void)
{
	bool quiet = ops ? ops->stop() : true;
	ops = NULL;
	return quiet;
}

bool rg__io_poll(rg_p *p)
{
	return ops && ops->poll(p, true);
}

bool rg__io_peek(rg_p *p)
{
	return ops && ops->poll(p, false);
}

void rg__io_flush(rg_p *p)
{
	if (ops && ops->flush)
		ops->flush(p);
}

bool rg__io_poll_stuck(rg_p *p)
{
	return ops && ops->poll_stuck(p);
}

bool rg__io_idle_wait(rg_p *p, int64_t until)
{
	return ops && ops->idle_wait(p, until);
}

bool rg__io_poke_any(void)
{
	return ops && ops->poke_any();
}

void rg__io_newfd(int fd)
{
	if (fd >= 0 && ops == &epoll_ops)
		rg__epoll_fresh(fd);
}

void rg__io_poke_p(rg_p *p)
{
	if (ops)
		ops->poke_p(p);
}

void rg__io_poke_before(int64_t when)
{
	if (ops)
		ops->poke_before(when);
}
