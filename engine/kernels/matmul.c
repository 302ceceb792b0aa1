/* matmul.c: C = A B blocked as conv_gemm.c blocks a convolution: a KC deep
 * block of A is packed once into the micro-kernel's row panels, then one
 * KC x NR panel of B at a time (32 KB, in L1) passes under all of them. */
#include "matmul.h"

#include <string.h>

#define KC 256
#define MAX_NR 32

static int
panels (int n, int size)
{
  return (n + size - 1) / size;
}

gsize
convnet_matmul_work_floats (const ConvnetKernels *kernels, int m)
{
  return (gsize) panels (m, kernels->mr) * kernels->mr * KC
         + (gsize) KC * MAX_NR;
}

/* Rows [I0, I0 + MR) of A's columns [P0, P0 + KC) as KC groups of MR
 * (rows past M are 0), reading along A's contiguous direction. */
static void
pack_a (float *dst, int mr, ConvnetMatrixView a, int m, int i0, int p0,
        int kc)
{
  const int rows = MIN (mr, m - i0);

  if (rows < mr)
    memset (dst, 0, sizeof (float) * kc * mr);
  if (a.col == 1)
    for (int r = 0; r < rows; r++)
      {
        const float *src = a.data + (gsize) (i0 + r) * a.row + p0;
        for (int p = 0; p < kc; p++)
          dst[(gsize) p * mr + r] = src[p];
      }
  else
    for (int p = 0; p < kc; p++)
      {
        const float *src = a.data + (gsize) (p0 + p) * a.col
                           + (gsize) i0 * a.row;
        for (int r = 0; r < rows; r++)
          dst[(gsize) p * mr + r] = src[(gsize) r * a.row];
      }
}

/* Rows [P0, P0 + KC) of B's columns [J0, J0 + NR) as KC groups of NR
 * (columns past N are 0). */
static void
pack_b (float *dst, int nr, ConvnetMatrixView b, int n, int j0, int p0,
        int kc)
{
  const int cols = MIN (nr, n - j0);

  if (cols < nr)
    memset (dst, 0, sizeof (float) * kc * nr);
  if (b.col == 1)
    for (int p = 0; p < kc; p++)
      memcpy (dst + (gsize) p * nr, b.data + (gsize) (p0 + p) * b.row + j0,
              sizeof (float) * cols);
  else
    for (int j = 0; j < cols; j++)
      {
        const float *src = b.data + (gsize) (j0 + j) * b.col
                           + (gsize) p0 * b.row;
        for (int p = 0; p < kc; p++)
          dst[(gsize) p * nr + j] = src[(gsize) p * b.row];
      }
}

typedef struct
{
  float *data;
  gsize  floats;
} ThreadWork;

static void
thread_work_free (gpointer data)
{
  ThreadWork *work = data;

  g_aligned_free (work->data);
  g_free (work);
}

static GPrivate thread_work = G_PRIVATE_INIT (thread_work_free);

float *
convnet_matmul_thread_work (gsize floats)
{
  ThreadWork *work = g_private_get (&thread_work);

  if (!work)
    {
      work = g_new0 (ThreadWork, 1);
      g_private_set (&thread_work, work);
    }
  if (work->floats < floats)
    {
      g_aligned_free (work->data);
      work->data = g_aligned_alloc (floats, sizeof (float), 64);
      work->floats = floats;
    }
  return work->data;
}

void
convnet_matmul (const ConvnetKernels *kernels, int m, int n, int k,
                ConvnetMatrixView a, ConvnetMatrixView b, float *c,
                gsize ldc, gboolean accumulate, float *work)
{
  const int mr = kernels->mr, nr = kernels->nr;
  const int m_panels = panels (m, mr);
  float *a_pack = work;
  float *b_pack = work + (gsize) m_panels * mr * KC;

  g_return_if_fail (nr <= MAX_NR);
  if (m <= 0 || n <= 0)
    return;
  if (k <= 0)
    {
      if (!accumulate)
        for (int i = 0; i < m; i++)
          memset (c + (gsize) i * ldc, 0, sizeof (float) * n);
      return;
    }
  for (int p0 = 0; p0 < k; p0 += KC)
    {
      const int kc = MIN (KC, k - p0);

      for (int mp = 0; mp < m_panels; mp++)
        pack_a (a_pack + (gsize) mp * kc * mr, mr, a, m, mp * mr, p0, kc);
      for (int j0 = 0; j0 < n; j0 += nr)
        {
          pack_b (b_pack, nr, b, n, j0, p0, kc);
          for (int mp = 0; mp < m_panels; mp++)
            kernels->gemm_tile (kc, a_pack + (gsize) mp * kc * mr, b_pack,
                                c + (gsize) mp * mr * ldc + j0, ldc,
                                MIN (mr, m - mp * mr), MIN (nr, n - j0),
                                accumulate || p0 > 0, NULL);
        }
    }
}
