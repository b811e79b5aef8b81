/* p2p-sim: coroutines on ucontext (see sim-coroutine.h).
 *
 * Why not a thread per viewer, handing a baton so that one runs at a
 * time: a switch here is a function call and a signal-mask system call,
 * there two futex wake-ups and two trips through the kernel's scheduler
 * on a machine with two shared cores, for every wait of every viewer; and
 * 10,000 viewers would be 10,000 threads.  Both run the same policy code
 * and both are deterministic.
 *
 * Each stack is mapped, not allocated: the kernel commits only the pages a
 * viewer touches (a few, against the STACK_SIZE reserved), and a guard
 * page below it turns an overflow into a crash rather than a corruption.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "sim-coroutine.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

/* The deepest a viewer goes: the policy, the feed, a session call that
 * schedules, a segment parsed, a debug line formatted. */
#define STACK_SIZE (256 * 1024)

struct _SimCoroutine {
  ucontext_t context;
  ucontext_t caller;
  void (*func) (gpointer data);
  gpointer data;
  guint8 *mapping;               /* guard page + stack */
  gsize mapping_size;
  gboolean started, done;
  guint valgrind_stack;
};

/* the coroutine running on this thread (the simulator's shards run on
 * threads of their own) */
static __thread SimCoroutine *current;

static void
trampoline (guint32 high, guint32 low)
{
  SimCoroutine *co = (SimCoroutine *) (((guintptr) high << 32) | low);

  co->func (co->data);
  co->done = TRUE;
  /* returns to co->caller through uc_link */
}

SimCoroutine *
sim_coroutine_new (void (*func) (gpointer data), gpointer data)
{
  SimCoroutine *co = g_new0 (SimCoroutine, 1);
  gsize page = (gsize) sysconf (_SC_PAGESIZE);

  co->func = func;
  co->data = data;
  co->mapping_size = STACK_SIZE + page;
  co->mapping = mmap (NULL, co->mapping_size, PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (co->mapping == MAP_FAILED)
    g_error ("p2p-sim: cannot map a coroutine stack: %s", g_strerror (errno));
  /* stacks grow down: the guard is the lowest page */
  mprotect (co->mapping, page, PROT_NONE);
  if (getcontext (&co->context) < 0)
    g_error ("p2p-sim: getcontext failed");
  co->context.uc_stack.ss_sp = co->mapping + page;
  co->context.uc_stack.ss_size = STACK_SIZE;
  co->context.uc_link = &co->caller;
#ifdef HAVE_VALGRIND_VALGRIND_H
  co->valgrind_stack = VALGRIND_STACK_REGISTER (co->mapping + page,
      co->mapping + co->mapping_size);
#endif
  makecontext (&co->context, (void (*)(void)) trampoline, 2,
      (guint32) ((guintptr) co >> 32), (guint32) (guintptr) co);
  return co;
}

void
sim_coroutine_resume (SimCoroutine * co)
{
  g_return_if_fail (current == NULL);
  if (co->done)
    return;
  co->started = TRUE;
  current = co;
  swapcontext (&co->caller, &co->context);
  current = NULL;
}

void
sim_coroutine_yield (void)
{
  SimCoroutine *co = current;

  g_return_if_fail (co != NULL);
  current = NULL;
  swapcontext (&co->context, &co->caller);
  current = co;
}

SimCoroutine *
sim_coroutine_current (void)
{
  return current;
}

gboolean
sim_coroutine_is_done (SimCoroutine * co)
{
  return co->done;
}

void
sim_coroutine_free (SimCoroutine * co)
{
  if (!co)
    return;
  /* freeing a suspended stack would leak what its frames hold */
  g_return_if_fail (co->done || !co->started);
#ifdef HAVE_VALGRIND_VALGRIND_H
  VALGRIND_STACK_DEREGISTER (co->valgrind_stack);
#endif
  munmap (co->mapping, co->mapping_size);
  g_free (co);
}
