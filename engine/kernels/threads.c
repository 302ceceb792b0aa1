/* threads.c: the kernels' thread pool.  A layer of a classic network at
 * batch 1 takes from 20 microseconds to a few milliseconds and a forward
 * runs 50 to 150 of them, so handing work to a thread must cost about a
 * microsecond: the workers spin on a generation counter for a while after
 * each job and only then sleep on a condition variable.
 *
 * A job's items are cut into one share a thread, and each thread claims
 * small chunks of its own share first, then of the others' once its own
 * is done.  So the same thread does the same part of every layer in
 * every forward, and can find in its own caches the weights it read the
 * forward before, and the pixels it wrote the layer before where two
 * layers split their work alike.  With the two ways alternating in
 * blocks of 10 forwards in one process, resnet50 went from 53.5 to 51.7
 * ms at batch 1 (faster in 30 blocks of 40) and from 354 to 343 at batch
 * 8, and googlenet at batch 8 from 122 to 115, against one shared counter
 * that handed out chunks in turn.  And on a machine busy with other work
 * a worker may not run for milliseconds: the calling thread (which
 * always takes part) then does its items instead of waiting.  Each
 * share's counter carries the job's generation, so a worker waking late
 * can never claim items of a job that has ended. */
#include "kernels.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
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
/* chunks per thread: small enough to balance when a thread is slow and
 * the others take over its share, large enough that few are claimed */
#define CHUNKS_PER_THREAD 8
/* the claim counter's next item once a job has ended: past any job */
#define CLAIM_CLOSED ((uint32_t) G_MAXINT)

/* One thread's share of a job's items: claimed from the front by that
 * thread, and by the others once theirs is done.  On its own cache line,
 * so that a thread claiming from its own share does not take the line
 * from the other cores. */
typedef struct
{
  _Alignas (64) _Atomic uint64_t claim;  /* generation << 32 | next item */
  atomic_int                     end;    /* past the share's last item */
} Share;

/* items a thread has finished in the current job, on its own line */
typedef struct
{
  _Alignas (64) atomic_int done;
} Finished;

typedef struct
{
  GMutex              lock;
  GCond               wake;
  atomic_uint         generation;
  atomic_int          sleepers;
  int                 n_workers;   /* started, besides the caller */
  int                 threads;     /* wanted, caller included; 0: all */
  /* the current job, written before its shares' claim counters are
   * published */
  ConvnetParallelFunc fn;
  gpointer            ctx;
  atomic_int          n_shares;
  atomic_int          chunk;
  Share               shares[MAX_THREADS];
  Finished            finished[MAX_THREADS];  /* 0: the caller */
} Pool;

static Pool pool;
static GMutex pool_setup_lock;
/* held by the thread whose job the pool runs; another thread calling at
 * the same time runs its job alone rather than wait */
static GMutex pool_job_lock;

/* Claims and runs chunks of share S of job GENERATION for thread SELF
 * until none is left; FALSE if the job has ended. */
static gboolean
run_share (unsigned int generation, int s, int self)
{
  Share *share = &pool.shares[s];

  for (;;)
    {
      uint64_t state = atomic_load (&share->claim);
      const int chunk = atomic_load (&pool.chunk);
      int next, end;

      if ((unsigned int) (state >> 32) != generation)
        return FALSE;
      next = (int) (state & 0xffffffffu);
      end = atomic_load (&share->end);
      if (next >= end)
        return TRUE;
      end = MIN (next + chunk, end);
      if (!atomic_compare_exchange_weak (&share->claim, &state,
                                         ((uint64_t) generation << 32)
                                         | (uint32_t) end))
        continue;
      pool.fn (pool.ctx, next, end);
      atomic_fetch_add_explicit (&pool.finished[self].done, end - next,
                                 memory_order_release);
    }
}

/* Runs thread SELF's share of job GENERATION, then what is left of the
 * others'. */
static void
run_chunks (unsigned int generation, int self)
{
  const int n_shares = atomic_load (&pool.n_shares);

  for (int i = 0; i < n_shares; i++)
    if (!run_share (generation, (self + i) % n_shares, self))
      return;
}

/* the generation each worker was started in, by its number (1 on) */
static unsigned int worker_first_seen[MAX_THREADS];

static gpointer
worker_main (gpointer data)
{
  const int self = GPOINTER_TO_INT (data);
  unsigned int seen = worker_first_seen[self];

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
      run_chunks (seen, self);
    }
  return NULL;
}

#define SCRATCH_SLOTS 5

typedef struct
{
  float *data;
  gsize  floats;
} Scratch;

static _Thread_local Scratch thread_scratch[SCRATCH_SLOTS];

/* Frees a thread's workspaces when it ends: the pool's threads live as
 * long as the process, but a caller's (a dialog's training thread) may
 * not, and its workspaces would be lost with it. */
static void
free_thread_scratch (gpointer data)
{
  Scratch *slots = data;

  for (int i = 0; i < SCRATCH_SLOTS; i++)
    {
      convnet_packed_free (slots[i].data);
      slots[i].data = NULL;
      slots[i].floats = 0;
    }
}

static GPrivate scratch_owner = G_PRIVATE_INIT (free_thread_scratch);

float *
convnet_thread_scratch (int slot, gsize floats)
{
  Scratch *s = &thread_scratch[slot];

  g_return_val_if_fail (slot >= 0 && slot < SCRATCH_SLOTS, NULL);
  if (floats > s->floats)
    {
      if (!g_private_get (&scratch_owner))
        g_private_set (&scratch_owner, thread_scratch);
      /* grown by half again, so that slowly growing requests settle, and
       * then to all its huge pages hold: each growth maps and faults in
       * fresh pages */
      const gsize bytes = MAX (floats, s->floats + s->floats / 2)
                          * sizeof (float);

      convnet_packed_free (s->data);
      s->data = convnet_workspace_alloc (bytes);
      s->floats = convnet_workspace_usable (bytes) / sizeof (float);
      if (!s->data)
        g_error ("out of memory for a %" G_GSIZE_FORMAT " MB kernel "
                 "workspace", s->floats * sizeof (float) >> 20);
    }
  return s->data;
}

int
convnet_parallel_threads (void)
{
  /* asked once: glibc answers by opening and reading a sysfs file, three
   * system calls that cost this VM about 40 microseconds, and every job
   * asks */
  static atomic_int online;
  int n;

  if (pool.threads > 0)
    return pool.threads;
  n = atomic_load (&online);
  if (n == 0)
    {
      n = CLAMP ((int) g_get_num_processors (), 1, MAX_THREADS);
      atomic_store (&online, n);
    }
  return n;
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
       * not take that job for one it has already seen */
      GThread *t;

      pool.n_workers++;
      worker_first_seen[pool.n_workers] = atomic_load (&pool.generation);
      t = g_thread_new ("convnet-kernels", worker_main,
                        GINT_TO_POINTER (pool.n_workers));
      g_thread_unref (t);
    }
  g_mutex_unlock (&pool_setup_lock);
}

void
convnet_parallel_for (int n_items, ConvnetParallelFunc fn, gpointer ctx)
{
  const int threads = MIN (convnet_parallel_threads (), n_items);
  unsigned int generation;
  int last_shares, waits = 0;

  if (threads <= 1 || !g_mutex_trylock (&pool_job_lock))
    {
      if (n_items > 0)
        fn (ctx, 0, n_items);
      return;
    }
  if (pool.n_workers < threads - 1)
    start_workers (threads - 1);

  /* Close the last job's shares before changing any of its fields: a
   * worker that read a claim counter just before it ran out may read the
   * new job's fields next, and would otherwise claim items of the old
   * generation that do not exist, run them with the new job's function,
   * and count them as done in the new job, which then ends early. */
  generation = atomic_load (&pool.generation);
  last_shares = atomic_load (&pool.n_shares);
  for (int s = 0; s < last_shares; s++)
    atomic_store (&pool.shares[s].claim,
                  ((uint64_t) generation << 32) | CLAIM_CLOSED);
  pool.fn = fn;
  pool.ctx = ctx;
  atomic_store (&pool.n_shares, threads);
  atomic_store (&pool.chunk,
                MAX (1, n_items / (threads * CHUNKS_PER_THREAD)));
  for (int r = 0; r <= pool.n_workers; r++)
    atomic_store (&pool.finished[r].done, 0);
  generation++;
  /* share S is items [n S / T, n (S + 1) / T), thread S's (see the
   * head of this file) */
  for (int s = 0; s < threads; s++)
    {
      atomic_store (&pool.shares[s].end,
                    (int) ((gint64) n_items * (s + 1) / threads));
      atomic_store (&pool.shares[s].claim,
                    ((uint64_t) generation << 32)
                    | (uint32_t) ((gint64) n_items * s / threads));
    }
  atomic_store (&pool.generation, generation);
  if (atomic_load (&pool.sleepers) > 0)
    {
      g_mutex_lock (&pool.lock);
      g_cond_broadcast (&pool.wake);
      g_mutex_unlock (&pool.lock);
    }
  run_chunks (generation, 0);
  /* only chunks a worker has claimed are left: wait for them, yielding
   * the core if that worker is not running */
  for (;;)
    {
      int done = 0;

      for (int r = 0; r <= pool.n_workers; r++)
        done += atomic_load_explicit (&pool.finished[r].done,
                                      memory_order_acquire);
      if (done >= n_items)
        break;
      if (++waits < 4096)
        cpu_relax ();
      else
        sched_yield ();
    }
  g_mutex_unlock (&pool_job_lock);
}

typedef struct
{
  ConvnetRangeFunc fn;
  gpointer         ctx;
  gsize            n;
} RangeJob;

static void
range_blocks (gpointer data, int begin, int end)
{
  const RangeJob *job = data;

  job->fn (job->ctx, (gsize) begin * CONVNET_RANGE_BLOCK,
           MIN (job->n, (gsize) end * CONVNET_RANGE_BLOCK));
}

void
convnet_parallel_range (gsize n, ConvnetRangeFunc fn, gpointer ctx)
{
  const gsize blocks = (n + CONVNET_RANGE_BLOCK - 1) / CONVNET_RANGE_BLOCK;
  RangeJob job = { fn, ctx, n };

  if (blocks < 2 || blocks > G_MAXINT)
    {
      if (n > 0)
        fn (ctx, 0, n);
      return;
    }
  convnet_parallel_for ((int) blocks, range_blocks, &job);
}
