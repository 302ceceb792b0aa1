/* blas.c: OpenBLAS, opened at its first use.
 *
 * Only the reference paths multiply with it: CONVNET_EXACT=1, and Linear
 * beyond CONVNET_FC_MAX_BATCH samples at inference.  The engine's own
 * kernels serve everything else, so most processes never need it, and
 * linking it cost every process its start-up: 5 ms on this machine (its
 * constructor sizes its buffers and starts a worker per core), and a
 * worker that spins on sched_yield() for about 0.1 s (2^28 cycles) before
 * it sleeps, through the first forward of a fresh process.
 *
 * The same spin follows each openblas_set_num_threads(), so a thread count
 * set before OpenBLAS opens is applied as it opens, and one set after it
 * is followed by OpenBLAS's shutdown entry point, which ends the idle
 * workers (OpenBLAS starts them again at its next threaded call).  That
 * entry point is optional: OpenBLAS's OpenMP build lacks it. */
#include "blas.h"
#include "system_library.h"

#include <glib.h>

#include <dlfcn.h>

/* the soname Debian's libopenblas0 provides, by either build */
#define OPENBLAS_LIBRARY "libopenblas.so.0"

typedef void (*SgemmFunc) (enum CBLAS_ORDER, enum CBLAS_TRANSPOSE,
                           enum CBLAS_TRANSPOSE, int, int, int, float,
                           const float *, int, const float *, int, float,
                           float *, int);

typedef struct
{
  SgemmFunc sgemm;
  void    (*set_num_threads) (int);
  int     (*shutdown) (void);
} Blas;

static Blas blas;
static gsize blas_opened;
/* guard the thread count, and whether OpenBLAS has it yet */
static GMutex threads_lock;
static int threads_wanted;
static gboolean threads_applied;

static void
apply_threads (int threads)
{
  if (threads > 0 && blas.set_num_threads)
    blas.set_num_threads (threads);
  if (blas.shutdown)
    blas.shutdown ();
}

static const Blas *
blas_open (void)
{
  if (g_once_init_enter (&blas_opened))
    {
      void *library = dlopen (OPENBLAS_LIBRARY, RTLD_NOW | RTLD_LOCAL);

      if (!library
          || !convnet_library_symbol (library, "cblas_sgemm", &blas.sgemm))
        g_error ("The reference kernels need OpenBLAS (%s, from Debian's "
                 "libopenblas0): %s", OPENBLAS_LIBRARY, dlerror ());
      convnet_library_symbol (library, "openblas_set_num_threads",
                              &blas.set_num_threads);
      convnet_library_symbol (library, "blas_thread_shutdown_",
                              &blas.shutdown);
      g_mutex_lock (&threads_lock);
      apply_threads (threads_wanted);
      threads_applied = TRUE;
      g_mutex_unlock (&threads_lock);
      g_once_init_leave (&blas_opened, 1);
    }
  return &blas;
}

void
convnet_sgemm (enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE a_trans,
               enum CBLAS_TRANSPOSE b_trans, int m, int n, int k, float alpha,
               const float *a, int lda, const float *b, int ldb, float beta,
               float *c, int ldc)
{
  blas_open ()->sgemm (order, a_trans, b_trans, m, n, k, alpha, a, lda, b,
                       ldb, beta, c, ldc);
}

void
convnet_blas_set_threads (int threads)
{
  g_mutex_lock (&threads_lock);
  if (threads > 0)
    threads_wanted = threads;
  if (threads_applied)
    apply_threads (threads);
  g_mutex_unlock (&threads_lock);
}
