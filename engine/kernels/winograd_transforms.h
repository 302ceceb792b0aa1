/* winograd_transforms.h: the tile transforms of conv_winograd.c, compiled
 * once per instruction set from winograd_transforms.inc (each file with
 * that set's flags, like the micro-kernels), WINOGRAD_LANES tiles at a
 * time: the lanes are the micro-kernel's NR columns, so that a transformed
 * panel is the micro-kernel's packed B panel as it stands. */
#ifndef CONVNET_WINOGRAD_TRANSFORMS_H
#define CONVNET_WINOGRAD_TRANSFORMS_H

#include <glib.h>

/* One forward's geometry.  Tiles are numbered over the whole batch, row
 * by row within a sample. */
typedef struct
{
  int m;                       /* outputs per tile side: 2 or 4 */
  int r;                       /* the kernel's side: 3 or 5 */
  int c_in, h_in, w_in;
  int c_out, h_out, w_out;
  int ph, pw;
  int tiles_w, tiles_per_sample, tiles;
  gsize out_sample;            /* floats from one sample's output to the
                                  next */
} WinogradShape;

typedef struct
{
  int lanes;
  /* Writes V[p][c][lanes] (p < (m+r-1)^2, c in [C0, C1) of C_IN) for the
   * tiles FIRST .. FIRST+lanes-1 of IN; tiles past the last give 0. */
  void (*input) (const WinogradShape *shape, float *v, const float *in,
                 int first, int c0, int c1);
  /* From M[p][r][lanes] (r < ROWS), the products for output channels
   * OC0 .. OC0+ROWS-1, stores those channels' outputs of the tiles FIRST
   * .. FIRST+lanes-1 into OUT, clipped at the image's edges, adding
   * BIAS[oc] (may be NULL) and RESIDUAL (OUT's layout, may be NULL), then
   * clamping at 0 when RELU. */
  void (*output) (const WinogradShape *shape, float *out, const float *m,
                  int rows, int oc0, int first, const float *bias,
                  const float *residual, gboolean relu);
} WinogradTransforms;

extern const WinogradTransforms convnet_winograd_generic;
extern const WinogradTransforms convnet_winograd_avx2;
extern const WinogradTransforms convnet_winograd_avx512;

#endif
