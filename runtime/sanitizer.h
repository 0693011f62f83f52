// SPDX-License-Identifier: MIT
/*
 * Fiber annotations for AddressSanitizer and ThreadSanitizer.
 *
 * ASan must be told when execution moves to another stack, or it takes
 * the goroutine's frames for a corrupted thread stack (and its fake
 * stacks for use-after-return leak).  TSan keeps a shadow "fiber" per
 * goroutine so that happens-before follows goroutines, not threads.
 * Without a sanitizer every call here compiles to nothing.
 */
#ifndef RG_SANITIZER_H
#define RG_SANITIZER_H

#include <pthread.h>
#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define RG_SAN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RG_SAN_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define RG_SAN_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RG_SAN_TSAN 1
#endif
#endif

#ifdef RG_SAN_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef RG_SAN_TSAN
#include <sanitizer/tsan_interface.h>
#endif

/* Before switching away: fake_save receives this context's fake stack
 * (NULL: the context dies); bottom/size: the stack we switch to. */
static inline void rg__san_start_switch(void **fake_save, const void *bottom, size_t size)
{
#ifdef RG_SAN_ASAN
	__sanitizer_start_switch_fiber(fake_save, bottom, size);
#else
	(void)fake_save, (void)bottom, (void)size;
#endif
}

/* First thing after a switch lands in a context. */
static inline void rg__san_finish_switch(void *fake)
{
#ifdef RG_SAN_ASAN
	__sanitizer_finish_switch_fiber(fake, NULL, NULL);
#else
	(void)fake;
#endif
}

static inline void rg__san_tsan_switch(void *fiber)
{
#ifdef RG_SAN_TSAN
	__tsan_switch_to_fiber(fiber, 0);
#else
	(void)fiber;
#endif
}

static inline void *rg__san_tsan_create(void)
{
#ifdef RG_SAN_TSAN
	return __tsan_create_fiber(0);
#else
	return NULL;
#endif
}

static inline void rg__san_tsan_destroy(void *fiber)
{
#ifdef RG_SAN_TSAN
	if (fiber)
		__tsan_destroy_fiber(fiber);
#else
	(void)fiber;
#endif
}

/* A happens-before edge TSan cannot see (a record handed on through
 * the kernel: an SQE's user_data read back from its CQE by another
 * thread): rg__san_release(addr) before, rg__san_acquire(addr) after. */
static inline void rg__san_release(void *addr)
{
#ifdef RG_SAN_TSAN
	__tsan_release(addr);
#else
	(void)addr;
#endif
}

static inline void rg__san_acquire(void *addr)
{
#ifdef RG_SAN_TSAN
	__tsan_acquire(addr);
#else
	(void)addr;
#endif
}

/* Records the calling thread's own stack (an M's g0) and TSan fiber. */
static inline void rg__san_thread_start(void **lo, size_t *size, void **fiber)
{
	*lo = NULL;
	*size = 0;
	*fiber = NULL;
#if defined(RG_SAN_ASAN) || defined(RG_SAN_TSAN)
	pthread_attr_t a;
	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		pthread_attr_getstack(&a, lo, size);
		pthread_attr_destroy(&a);
	}
#endif
#ifdef RG_SAN_TSAN
	*fiber = __tsan_get_current_fiber();
#endif
}

#endif
