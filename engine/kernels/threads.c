/* threads.c: the kernels' thread pool.  A layer of a classic network at
 * batch 1 takes from 20 microseconds to a few milliseconds and a forward
 * runs 50 to 150 of them, so handing work to a thread must cost about a
 * microsecond: the workers spin on a generation counter for a while after
 * each job and only then sleep on a condition variable.  The calling
 * thread always takes the first share itself. */
#include "kernels.h"

#include <stdatomic.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause ()
#else
#define cpu_relax() do { } while (0)
#endif

/* How long an idle worker spins before sleeping: long enough to bridge
 * the single-threaded ops between two convolutions. */
#define SPIN_MICROSECONDS 2000
#define MAX_THREADS 64

typedef struct
{
  GMutex              lock;
  GCond               wake;
  atomic_uint         generation;
  atomic_int          sleepers;
  atomic_int          pending;
  int                 n_workers;   /* started, besides the caller */
  int                 threads;     /* wanted, caller included */
  /* the current job */
  ConvnetParallelFunc fn;
  gpointer            ctx;
  int                 n_items;
  int                 shares;
} Pool;

static Pool pool = { .threads = 0 };
static GMutex pool_setup_lock;
/* held by the thread whose job the pool runs; another thread calling at
 * the same time runs its job alone rather than wait */
static GMutex pool_job_lock;

static void
run_share (int share)
{
  const int begin = (int) ((gint64) pool.n_items * share / pool.shares);
  const int end = (int) ((gint64) pool.n_items * (share + 1) / pool.shares);

  if (begin < end)
    pool.fn (pool.ctx, begin, end);
}

typedef struct
{
  int          share;
  unsigned int seen;   /* the last job posted before the worker started */
} WorkerStart;

static gpointer
worker_main (gpointer data)
{
  WorkerStart *start = data;
  const int share = start->share;
  unsigned int seen = start->seen;

  g_free (start);

  for (;;)
    {
      const gint64 give_up = g_get_monotonic_time () + SPIN_MICROSECONDS;
      unsigned int now;
      int spins = 0;

      while ((now = atomic_load (&pool.generation)) == seen)
        {
          cpu_relax ();
          if (++spins % 256 == 0 && g_get_monotonic_time () > give_up)
            {
              g_mutex_lock (&pool.lock);
              atomic_fetch_add (&pool.sleepers, 1);
              while ((now = atomic_load (&pool.generation)) == seen)
                g_cond_wait (&pool.wake, &pool.lock);
              atomic_fetch_sub (&pool.sleepers, 1);
              g_mutex_unlock (&pool.lock);
              break;
            }
        }
      seen = now;
      if (share < pool.shares)
        run_share (share);
      atomic_fetch_sub (&pool.pending, 1);
    }
  return NULL;
}

int
convnet_parallel_threads (void)
{
  if (pool.threads <= 0)
    return CLAMP ((int) g_get_num_processors (), 1, MAX_THREADS);
  return pool.threads;
}

void
convnet_parallel_set_threads (int threads)
{
  if (threads > 0)
    pool.threads = MIN (threads, MAX_THREADS);
}

static void
start_workers (int wanted)
{
  g_mutex_lock (&pool_setup_lock);
  while (pool.n_workers < wanted)
    {
      /* the worker may first run after the next job was posted: it must
       * not take that job's generation for one it has already seen */
      WorkerStart *start = g_new (WorkerStart, 1);
      GThread *t;

      start->share = pool.n_workers + 1;
      start->seen = atomic_load (&pool.generation);
      t = g_thread_new ("convnet-kernels", worker_main, start);
      g_thread_unref (t);
      pool.n_workers++;
    }
  g_mutex_unlock (&pool_setup_lock);
}

void
convnet_parallel_for (int n_items, ConvnetParallelFunc fn, gpointer ctx)
{
  const int threads = MIN (convnet_parallel_threads (), n_items);

  if (threads <= 1 || !g_mutex_trylock (&pool_job_lock))
    {
      if (n_items > 0)
        fn (ctx, 0, n_items);
      return;
    }
  if (pool.n_workers < threads - 1)
    start_workers (threads - 1);

  pool.fn = fn;
  pool.ctx = ctx;
  pool.n_items = n_items;
  pool.shares = threads;
  /* every started worker answers, those without a share at once */
  atomic_store (&pool.pending, pool.n_workers);
  atomic_fetch_add (&pool.generation, 1);
  if (atomic_load (&pool.sleepers) > 0)
    {
      g_mutex_lock (&pool.lock);
      g_cond_broadcast (&pool.wake);
      g_mutex_unlock (&pool.lock);
    }
  run_share (0);
  while (atomic_load (&pool.pending) > 0)
    cpu_relax ();
  g_mutex_unlock (&pool_job_lock);
}
