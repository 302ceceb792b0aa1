/* blas_threads.c: OpenBLAS's own worker threads, kept from spinning.
 *
 * The engine's kernels run on their own pool (threads.c); OpenBLAS serves
 * only the reference paths (CONVNET_EXACT=1, Linear beyond
 * CONVNET_FC_MAX_BATCH).  Yet OpenBLAS's pthread build starts its workers
 * when it is loaded, and again at every openblas_set_num_threads(), and
 * each one then spins on sched_yield() for 2^28 cycles (about 0.1 s here)
 * before it sleeps.  In a fresh process that spin takes a core from the
 * first forward: `convnet classify` of resnet50 took 0.17-0.18 s with it
 * on this 2-core machine, 0.10-0.12 s without.
 *
 * OpenBLAS's shutdown entry point ends those workers, and OpenBLAS starts
 * them again by itself at its next threaded call.  It is found at run
 * time because OpenBLAS's OpenMP build and other BLAS libraries lack it
 * (their threads are left as they are). */
#include "kernels.h"

#include <dlfcn.h>
#include <string.h>

void
convnet_blas_threads_stop (void)
{
  static int (*shutdown) (void);
  static gsize looked_up;

  if (g_once_init_enter (&looked_up))
    {
      /* POSIX's dlsym gives functions as object pointers */
      void *symbol = dlsym (RTLD_DEFAULT, "blas_thread_shutdown_");

      memcpy (&shutdown, &symbol, sizeof symbol);
      g_once_init_leave (&looked_up, 1);
    }
  if (shutdown)
    shutdown ();
}
