/* cpu.c: which kernels this CPU runs.  The instruction sets are read from
 * CPUID and from XCR0, which says whether the operating system saves the
 * wide registers: a CPU with AVX-512 under a kernel that does not save ZMM
 * state must not run AVX-512 code. */
#include "kernels.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static guint64
read_xcr0 (void)
{
  guint32 eax, edx;

  __asm__ volatile ("xgetbv" : "=a" (eax), "=d" (edx) : "c" (0));
  return ((guint64) edx << 32) | eax;
}

static void
detect (gboolean *avx2, gboolean *avx512)
{
  unsigned int eax, ebx, ecx, edx;
  gboolean os_avx, os_avx512, fma;
  guint64 xcr0;

  *avx2 = *avx512 = FALSE;
  if (!__get_cpuid (1, &eax, &ebx, &ecx, &edx))
    return;
  fma = (ecx & bit_FMA) != 0;
  if (!(ecx & bit_OSXSAVE) || !(ecx & bit_AVX) || !(ecx & bit_F16C))
    return;
  xcr0 = read_xcr0 ();
  os_avx = (xcr0 & 0x6) == 0x6;                  /* SSE and AVX state */
  os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;   /* opmask, ZMM0-31 */
  if (!os_avx || !__get_cpuid_count (7, 0, &eax, &ebx, &ecx, &edx))
    return;
  *avx2 = fma && (ebx & bit_AVX2) != 0;
  *avx512 = *avx2 && os_avx512
            && (ebx & bit_AVX512F) && (ebx & bit_AVX512BW)
            && (ebx & bit_AVX512DQ) && (ebx & bit_AVX512VL)
            && (ebx & bit_BMI2);   /* pdep, in the strided unfolding */
}
#else
static void
detect (gboolean *avx2, gboolean *avx512)
{
  *avx2 = *avx512 = FALSE;
}
#endif

gboolean
convnet_cpu_supports (const char *isa)
{
  static gsize once = 0;
  static gboolean has_avx2, has_avx512;

  if (g_once_init_enter (&once))
    {
      detect (&has_avx2, &has_avx512);
      g_once_init_leave (&once, 1);
    }
  if (g_strcmp0 (isa, "generic") == 0)
    return TRUE;
  if (g_strcmp0 (isa, "avx2") == 0)
    return has_avx2;
  if (g_strcmp0 (isa, "avx512") == 0)
    return has_avx512;
  return FALSE;
}

const ConvnetKernels *
convnet_kernels_for (const char *isa)
{
  if (!convnet_cpu_supports (isa))
    return NULL;
#ifdef CONVNET_HAVE_X86_KERNELS
  if (strcmp (isa, "avx512") == 0)
    return &convnet_kernels_avx512;
  if (strcmp (isa, "avx2") == 0)
    return &convnet_kernels_avx2;
#endif
  if (strcmp (isa, "generic") == 0)
    return &convnet_kernels_generic;
  return NULL;
}

static const ConvnetKernels *
choose (void)
{
  static const char *const best_first[] = { "avx512", "avx2", "generic" };
  const char *forced = g_getenv ("CONVNET_ISA");

  if (forced && *forced)
    {
      const ConvnetKernels *k = convnet_kernels_for (forced);
      if (k)
        return k;
      g_warning ("CONVNET_ISA=%s: not an instruction set this CPU and build "
                 "run (generic, avx2, avx512); using the best one found",
                 forced);
    }
  for (guint i = 0; i < G_N_ELEMENTS (best_first); i++)
    {
      const ConvnetKernels *k = convnet_kernels_for (best_first[i]);
      if (k)
        return k;
    }
  return &convnet_kernels_generic;
}

const ConvnetKernels *
convnet_kernels (void)
{
  static const ConvnetKernels *chosen;
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      chosen = choose ();
      g_once_init_leave (&once, 1);
    }
  return chosen;
}

gboolean
convnet_kernels_exact (void)
{
  const char *exact = g_getenv ("CONVNET_EXACT");

  return exact && *exact && strcmp (exact, "0") != 0;
}
