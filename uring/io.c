/*
 * io.c — choosing the I/O backend, and the scheduler's entry points.
 */
#include "io.h"

#include <stdlib.h>
#include <string.h>

static int backend;

int rg__io_backend(void)
{
	return backend;
}

int rg__io_start(void)
{
	const char *env = getenv("RINGO_BACKEND");
	bool want_epoll = env && strcmp(env, "epoll") == 0;

	backend = RG_IO_NONE;
	if (!want_epoll && rg__ring_start() == 0) {
		backend = RG_IO_URING;
		return 0;
	}
	/* io_uring refused (disabled by sysctl or seccomp, too old) or
	 * not wanted: sockets wait for readiness in epoll instead. */
	int r = rg__epoll_start();
	if (r < 0)
		return r;
	backend = RG_IO_EPOLL;
	return 0;
}

void rg__io_stop(void)
{
	if (backend == RG_IO_URING)
		rg__ring_stop();
	else if (backend == RG_IO_EPOLL)
		rg__epoll_stop();
	backend = RG_IO_NONE;
}

bool rg__io_poll(rg_p *p)
{
	if (backend == RG_IO_URING)
		return rg__ring_poll(p);
	if (backend == RG_IO_EPOLL)
		return rg__epoll_poll(p);
	return false;
}

bool rg__io_idle_wait(rg_p *p, int64_t until)
{
	if (backend == RG_IO_URING)
		return rg__ring_idle_wait(p, until);
	if (backend == RG_IO_EPOLL)
		return rg__epoll_idle_wait(p, until);
	return false;
}

bool rg__io_poke_any(void)
{
	if (backend == RG_IO_URING)
		return rg__ring_poke_any();
	if (backend == RG_IO_EPOLL)
		return rg__epoll_poke_any();
	return false;
}

void rg__io_poke_before(int64_t when)
{
	if (backend == RG_IO_URING)
		rg__ring_poke_before(when);
	else if (backend == RG_IO_EPOLL)
		rg__epoll_poke_before(when);
}
