/* optimizer.c: SGD, Adam and AdamW with torch 1.13's per-element
 * arithmetic.
 *
 * Torch evaluates every update in float32, one tensor operation at a time,
 * with its scalars (lr, momentum, 1 - beta1, ...) computed in double and
 * rounded to float.  On x86-64 its AVX2 kernels fuse each add(alpha=) and
 * addcmul into a fused multiply-add, so the AVX2 path here does the same
 * operation for operation and agrees with torch bit for bit.  Elsewhere
 * the plain-C path rounds each product, as torch's non-AVX2 "default"
 * kernels do (also bit for bit), unless the target has a fast fmaf
 * (aarch64), where torch's vector kernels are assumed to fuse too; that
 * case has not been checked against torch.
 *
 * The kernels are hand-vectorised because GCC will not vectorise sqrtf
 * under the project's default -fmath-errno, and Adam's step over VGG's
 * 140 M parameters must run at memory speed. */
#include "train/optimizer.h"
#include "kernels/kernels.h"

#include <math.h>

#if defined(__GNUC__) && defined(__x86_64__)
#define HAVE_AVX2_KERNELS 1
#include <immintrin.h>
#endif

#ifdef FP_FAST_FMAF
#define PORTABLE_FUSED TRUE
#else
#define PORTABLE_FUSED FALSE
#endif

typedef struct
{
  float       *data;
  const float *grad;
  gsize        numel;
  gboolean     decay;
  gint64       steps;
  float       *buffer[2];
} OptTensor;

struct ConvnetOptimizer
{
  ConvnetOptimizerSettings settings;
  GArray                  *tensors;    /* of OptTensor */
  guint                    n_buffers;
  gboolean                 portable;
};

/* One SGD update's scalars, as torch rounds them. */
typedef struct
{
  gboolean decay;        /* weight_decay != 0 and the tensor takes it */
  gboolean momentum_on;
  gboolean first;        /* the momentum buffer starts as this gradient */
  gboolean nesterov;
  float    weight_decay;
  float    momentum;
  float    damp1;        /* 1 - dampening */
  float    neg_lr;
} SgdStep;

/* One Adam or AdamW update's scalars. */
typedef struct
{
  gboolean l2;           /* Adam: weight_decay * param joins the gradient */
  gboolean decoupled;    /* AdamW: param *= 1 - lr * weight_decay first */
  float    weight_decay;
  float    shrink;       /* 1 - lr * weight_decay */
  float    beta1, one_minus_beta1;
  float    beta2, one_minus_beta2;
  float    bc2_sqrt;     /* sqrt (1 - beta2^step) */
  float    eps;
  float    neg_step;     /* -lr / (1 - beta1^step) */
} AdamStep;

/* a * b + c, fused or with the product rounded, as torch's kernels for
 * this CPU compute add(c, b, alpha=a) (the flag is a constant wherever
 * this is inlined, so the choice costs nothing in the loops). */
static inline float
madd (float a, float b, float c, gboolean fused)
{
  return fused ? fmaf (a, b, c) : a * b + c;
}

static inline void
sgd_range (const SgdStep *s, float *restrict p, const float *restrict g,
           float *restrict buf, gsize start, gsize end, gboolean fused)
{
  for (gsize i = start; i < end; i++)
    {
      float d = g[i];

      if (s->decay)
        d = madd (p[i], s->weight_decay, d, fused);
      if (s->momentum_on)
        {
          const float b = s->first ? d
                          : madd (d, s->damp1, buf[i] * s->momentum, fused);
          buf[i] = b;
          d = s->nesterov ? madd (b, s->momentum, d, fused) : b;
        }
      p[i] = madd (d, s->neg_lr, p[i], fused);
    }
}

static inline void
adam_range (const AdamStep *s, float *restrict p, const float *restrict g,
            float *restrict m, float *restrict v, gsize start, gsize end,
            gboolean fused)
{
  for (gsize i = start; i < end; i++)
    {
      float x = p[i], d = g[i], mi, vi, denom;

      if (s->decoupled)
        x = x * s->shrink;
      if (s->l2)
        d = madd (x, s->weight_decay, d, fused);
      mi = madd (d, s->one_minus_beta1, m[i] * s->beta1, fused);
      vi = madd (s->one_minus_beta2 * d, d, v[i] * s->beta2, fused);
      m[i] = mi;
      v[i] = vi;
      denom = sqrtf (vi) / s->bc2_sqrt + s->eps;
      p[i] = x + (s->neg_step * mi) / denom;
    }
}

#ifdef HAVE_AVX2_KERNELS

__attribute__ ((target ("avx2,fma"))) static void
sgd_avx2 (const SgdStep *s, float *restrict p, const float *restrict g,
          float *restrict buf, gsize n)
{
  const __m256 wd = _mm256_set1_ps (s->weight_decay);
  const __m256 mom = _mm256_set1_ps (s->momentum);
  const __m256 damp1 = _mm256_set1_ps (s->damp1);
  const __m256 neg_lr = _mm256_set1_ps (s->neg_lr);
  gsize i = 0;

  for (; i + 8 <= n; i += 8)
    {
      const __m256 x = _mm256_loadu_ps (p + i);
      __m256 d = _mm256_loadu_ps (g + i);

      if (s->decay)
        d = _mm256_fmadd_ps (x, wd, d);
      if (s->momentum_on)
        {
          __m256 b = d;

          if (!s->first)
            b = _mm256_fmadd_ps (d, damp1,
                                 _mm256_mul_ps (_mm256_loadu_ps (buf + i),
                                                mom));
          _mm256_storeu_ps (buf + i, b);
          d = s->nesterov ? _mm256_fmadd_ps (b, mom, d) : b;
        }
      _mm256_storeu_ps (p + i, _mm256_fmadd_ps (d, neg_lr, x));
    }
  /* Torch's scalar tails are compiled with contraction on, so fused too. */
  sgd_range (s, p, g, buf, i, n, TRUE);
}

__attribute__ ((target ("avx2,fma"))) static void
adam_avx2 (const AdamStep *s, float *restrict p, const float *restrict g,
           float *restrict m, float *restrict v, gsize n)
{
  const __m256 wd = _mm256_set1_ps (s->weight_decay);
  const __m256 shrink = _mm256_set1_ps (s->shrink);
  const __m256 beta1 = _mm256_set1_ps (s->beta1);
  const __m256 omb1 = _mm256_set1_ps (s->one_minus_beta1);
  const __m256 beta2 = _mm256_set1_ps (s->beta2);
  const __m256 omb2 = _mm256_set1_ps (s->one_minus_beta2);
  const __m256 bc2 = _mm256_set1_ps (s->bc2_sqrt);
  const __m256 eps = _mm256_set1_ps (s->eps);
  const __m256 neg_step = _mm256_set1_ps (s->neg_step);
  gsize i = 0;

  for (; i + 8 <= n; i += 8)
    {
      __m256 x = _mm256_loadu_ps (p + i);
      __m256 d = _mm256_loadu_ps (g + i);
      __m256 mi, vi, denom;

      if (s->decoupled)
        x = _mm256_mul_ps (x, shrink);
      if (s->l2)
        d = _mm256_fmadd_ps (x, wd, d);
      mi = _mm256_fmadd_ps (d, omb1,
                            _mm256_mul_ps (_mm256_loadu_ps (m + i), beta1));
      vi = _mm256_fmadd_ps (_mm256_mul_ps (omb2, d), d,
                            _mm256_mul_ps (_mm256_loadu_ps (v + i), beta2));
      _mm256_storeu_ps (m + i, mi);
      _mm256_storeu_ps (v + i, vi);
      denom = _mm256_add_ps (_mm256_div_ps (_mm256_sqrt_ps (vi), bc2), eps);
      x = _mm256_add_ps (x, _mm256_div_ps (_mm256_mul_ps (neg_step, mi),
                                           denom));
      _mm256_storeu_ps (p + i, x);
    }
  adam_range (s, p, g, m, v, i, n, TRUE);
}

static gboolean
cpu_has_avx2_fma (void)
{
  static gsize answer = 0;   /* 0 unknown, 1 no, 2 yes */

  if (g_once_init_enter (&answer))
    {
      __builtin_cpu_init ();
      g_once_init_leave (&answer, __builtin_cpu_supports ("avx2")
                                  && __builtin_cpu_supports ("fma")
                                  ? 2 : 1);
    }
  return answer == 2;
}

#endif /* HAVE_AVX2_KERNELS */

/* Non-inline wrappers, so each plain loop is compiled once with its
 * fused flag constant and the compiler may vectorise it. */
static void
sgd_portable (const SgdStep *s, float *restrict p, const float *restrict g,
              float *restrict buf, gsize n)
{
  sgd_range (s, p, g, buf, 0, n, PORTABLE_FUSED);
}

static void
adam_portable (const AdamStep *s, float *restrict p, const float *restrict g,
               float *restrict m, float *restrict v, gsize n)
{
  adam_range (s, p, g, m, v, 0, n, PORTABLE_FUSED);
}

/* ------------------------------------------------------------------ API */

void
convnet_optimizer_defaults (ConvnetOptimizerSettings *settings,
                            ConvnetOptimizerKind      kind)
{
  g_return_if_fail (settings != NULL);

  *settings = (ConvnetOptimizerSettings) {
    .kind = kind,
    .lr = kind == CONVNET_OPTIMIZER_SGD ? 0.1 : 1e-3,
    .momentum = 0.0,
    .dampening = 0.0,
    .weight_decay = kind == CONVNET_OPTIMIZER_ADAMW ? 1e-2 : 0.0,
    .beta1 = 0.9,
    .beta2 = 0.999,
    .eps = 1e-8,
    .nesterov = FALSE
  };
}

const char *
convnet_optimizer_kind_name (ConvnetOptimizerKind kind)
{
  switch (kind)
    {
    case CONVNET_OPTIMIZER_SGD: return "sgd";
    case CONVNET_OPTIMIZER_ADAM: return "adam";
    case CONVNET_OPTIMIZER_ADAMW: return "adamw";
    }
  return "?";
}

gboolean
convnet_optimizer_kind_from_string (const char           *name,
                                    ConvnetOptimizerKind *kind,
                                    GError              **error)
{
  static const ConvnetOptimizerKind kinds[] = {
    CONVNET_OPTIMIZER_SGD, CONVNET_OPTIMIZER_ADAM, CONVNET_OPTIMIZER_ADAMW
  };

  g_return_val_if_fail (kind != NULL, FALSE);

  for (guint i = 0; name && i < G_N_ELEMENTS (kinds); i++)
    if (g_ascii_strcasecmp (name, convnet_optimizer_kind_name (kinds[i])) == 0)
      {
        *kind = kinds[i];
        return TRUE;
      }
  g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
               "Unknown optimizer '%s' (expected sgd, adam or adamw)",
               name ? name : "(null)");
  return FALSE;
}

static gboolean
check_setting (gboolean ok, const char *what, double value, GError **error)
{
  if (!ok)
    g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                 "Invalid optimizer setting: %s = %g", what, value);
  return ok;
}

static gboolean
settings_valid (const ConvnetOptimizerSettings *s, GError **error)
{
  /* Comparisons are written so that NaN fails them. */
  if (!check_setting (s->lr >= 0.0 && isfinite (s->lr), "lr", s->lr, error)
      || !check_setting (s->weight_decay >= 0.0 && isfinite (s->weight_decay),
                         "weight_decay", s->weight_decay, error))
    return FALSE;

  switch (s->kind)
    {
    case CONVNET_OPTIMIZER_SGD:
      if (!check_setting (s->momentum >= 0.0 && isfinite (s->momentum),
                          "momentum", s->momentum, error)
          || !check_setting (isfinite (s->dampening), "dampening",
                             s->dampening, error))
        return FALSE;
      if (s->nesterov && (s->momentum <= 0.0 || s->dampening != 0.0))
        {
          g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                       "Nesterov momentum requires a momentum and zero "
                       "dampening (momentum %g, dampening %g)",
                       s->momentum, s->dampening);
          return FALSE;
        }
      return TRUE;

    case CONVNET_OPTIMIZER_ADAM:
    case CONVNET_OPTIMIZER_ADAMW:
      return check_setting (s->beta1 >= 0.0 && s->beta1 < 1.0, "beta1",
                            s->beta1, error)
             && check_setting (s->beta2 >= 0.0 && s->beta2 < 1.0, "beta2",
                               s->beta2, error)
             && check_setting (s->eps >= 0.0 && isfinite (s->eps), "eps",
                               s->eps, error);
    }
  g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
               "Unknown optimizer kind %d", (int) s->kind);
  return FALSE;
}

ConvnetOptimizer *
convnet_optimizer_new (const ConvnetOptimizerSettings *settings,
                       GError                        **error)
{
  ConvnetOptimizer *opt;

  g_return_val_if_fail (settings != NULL, NULL);

  if (!settings_valid (settings, error))
    return NULL;

  opt = g_new0 (ConvnetOptimizer, 1);
  opt->settings = *settings;
  opt->tensors = g_array_new (FALSE, TRUE, sizeof (OptTensor));
  if (settings->kind == CONVNET_OPTIMIZER_SGD)
    opt->n_buffers = settings->momentum != 0.0 ? 1 : 0;
  else
    opt->n_buffers = 2;
  return opt;
}

void
convnet_optimizer_free (ConvnetOptimizer *opt)
{
  if (!opt)
    return;
  for (guint i = 0; i < opt->tensors->len; i++)
    {
      OptTensor *t = &g_array_index (opt->tensors, OptTensor, i);
      convnet_packed_free (t->buffer[0]);
      convnet_packed_free (t->buffer[1]);
    }
  g_array_unref (opt->tensors);
  g_free (opt);
}

const ConvnetOptimizerSettings *
convnet_optimizer_settings (const ConvnetOptimizer *opt)
{
  g_return_val_if_fail (opt != NULL, NULL);
  return &opt->settings;
}

guint
convnet_optimizer_add (ConvnetOptimizer *opt,
                       float            *data,
                       const float      *grad,
                       gsize             numel,
                       gboolean          decay)
{
  OptTensor t = { data, grad, numel, decay, 0, { NULL, NULL } };

  g_return_val_if_fail (opt != NULL, 0);
  g_return_val_if_fail (numel == 0 || (data != NULL && grad != NULL), 0);

  /* zeroed, and in huge pages like the parameters: a step streams them */
  for (guint b = 0; b < opt->n_buffers; b++)
    {
      t.buffer[b] = convnet_packed_alloc_unfaulted (MAX (numel, 1)
                                                    * sizeof (float));
      if (!t.buffer[b])
        g_error ("out of memory for an optimizer's %" G_GSIZE_FORMAT
                 " floats", numel);
    }
  g_array_append_val (opt->tensors, t);
  return opt->tensors->len - 1;
}

guint
convnet_optimizer_n_tensors (const ConvnetOptimizer *opt)
{
  g_return_val_if_fail (opt != NULL, 0);
  return opt->tensors->len;
}

void
convnet_optimizer_use_portable_kernels (ConvnetOptimizer *opt,
                                        gboolean          portable)
{
  g_return_if_fail (opt != NULL);
  opt->portable = portable;
}

gboolean
convnet_optimizer_kernels_fused (const ConvnetOptimizer *opt)
{
  g_return_val_if_fail (opt != NULL, FALSE);
#ifdef HAVE_AVX2_KERNELS
  if (!opt->portable && cpu_has_avx2_fma ())
    return TRUE;
#endif
  return PORTABLE_FUSED;
}

static void
sgd_step (const ConvnetOptimizer *opt, OptTensor *t, double lr)
{
  const ConvnetOptimizerSettings *cfg = &opt->settings;
  const SgdStep s = {
    .decay = t->decay && cfg->weight_decay != 0.0,
    .momentum_on = cfg->momentum != 0.0,
    .first = t->steps == 0,
    .nesterov = cfg->nesterov,
    .weight_decay = (float) cfg->weight_decay,
    .momentum = (float) cfg->momentum,
    .damp1 = (float) (1.0 - cfg->dampening),
    .neg_lr = (float) -lr
  };

#ifdef HAVE_AVX2_KERNELS
  if (!opt->portable && cpu_has_avx2_fma ())
    {
      sgd_avx2 (&s, t->data, t->grad, t->buffer[0], t->numel);
      return;
    }
#endif
  sgd_portable (&s, t->data, t->grad, t->buffer[0], t->numel);
}

static void
adam_step (const ConvnetOptimizer *opt, OptTensor *t, double lr)
{
  const ConvnetOptimizerSettings *cfg = &opt->settings;
  const gboolean adamw = cfg->kind == CONVNET_OPTIMIZER_ADAMW;
  /* Torch keeps the step count as a float tensor and raises the betas to
   * it in double; pow gives the same result for these integers. */
  const double step = (double) t->steps;
  const double bias_correction1 = 1.0 - pow (cfg->beta1, step);
  const double bias_correction2 = 1.0 - pow (cfg->beta2, step);
  const double wd = t->decay ? cfg->weight_decay : 0.0;
  const AdamStep s = {
    .l2 = !adamw && wd != 0.0,
    .decoupled = adamw && wd != 0.0,
    .weight_decay = (float) wd,
    .shrink = (float) (1.0 - lr * wd),
    .beta1 = (float) cfg->beta1,
    .one_minus_beta1 = (float) (1.0 - cfg->beta1),
    .beta2 = (float) cfg->beta2,
    .one_minus_beta2 = (float) (1.0 - cfg->beta2),
    .bc2_sqrt = (float) sqrt (bias_correction2),
    .eps = (float) cfg->eps,
    .neg_step = (float) -(lr / bias_correction1)
  };

#ifdef HAVE_AVX2_KERNELS
  if (!opt->portable && cpu_has_avx2_fma ())
    {
      adam_avx2 (&s, t->data, t->grad, t->buffer[0], t->buffer[1],
                 t->numel);
      return;
    }
#endif
  adam_portable (&s, t->data, t->grad, t->buffer[0], t->buffer[1],
                 t->numel);
}

void
convnet_optimizer_step (ConvnetOptimizer *opt,
                        double            lr)
{
  g_return_if_fail (opt != NULL);
  g_return_if_fail (lr >= 0.0 && isfinite (lr));

  for (guint i = 0; i < opt->tensors->len; i++)
    {
      OptTensor *t = &g_array_index (opt->tensors, OptTensor, i);

      /* Adam's bias corrections count this step; SGD's "first step"
       * test counts the steps before it. */
      if (opt->settings.kind == CONVNET_OPTIMIZER_SGD)
        {
          sgd_step (opt, t, lr);
          t->steps++;
        }
      else
        {
          t->steps++;
          adam_step (opt, t, lr);
        }
    }
}

float *
convnet_optimizer_buffer (ConvnetOptimizer *opt,
                          guint             index,
                          guint             which)
{
  g_return_val_if_fail (opt != NULL, NULL);
  g_return_val_if_fail (index < opt->tensors->len, NULL);

  if (which >= opt->n_buffers)
    return NULL;
  return g_array_index (opt->tensors, OptTensor, index).buffer[which];
}

gint64
convnet_optimizer_steps (const ConvnetOptimizer *opt,
                         guint                   index)
{
  g_return_val_if_fail (opt != NULL, 0);
  g_return_val_if_fail (index < opt->tensors->len, 0);
  return g_array_index (opt->tensors, OptTensor, index).steps;
}

void
convnet_optimizer_set_steps (ConvnetOptimizer *opt,
                             guint             index,
                             gint64            steps)
{
  g_return_if_fail (opt != NULL);
  g_return_if_fail (index < opt->tensors->len);
  g_return_if_fail (steps >= 0);
  g_array_index (opt->tensors, OptTensor, index).steps = steps;
}
