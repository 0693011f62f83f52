/* Placeholder until the epoll backend lands: io_uring only. */
#include <errno.h>
#include "io.h"
int rg__epoll_start(void) { return -ENOSYS; }
void rg__epoll_stop(void) {}
bool rg__epoll_poll(rg_p *p) { (void)p; return false; }
bool rg__epoll_idle_wait(rg_p *p, int64_t until) { (void)p, (void)until; return false; }
bool rg__epoll_poke_any(void) { return false; }
void rg__epoll_poke_before(int64_t when) { (void)when; }
int rg__epoll_wait_fd(int fd, uint32_t events, rg_ctx_t *ctx) { (void)fd, (void)events, (void)ctx; return -ENOSYS; }
void rg__epoll_forget(int fd) { (void)fd; }
