/* fast_exp.h: expf written so that the compiler vectorises the loops that
 * call it (libm's expf is an opaque call per element).  Cody-Waite range
 * reduction x = n ln2 + r, a degree-6 polynomial for e^r on |r| <= ln2/2,
 * and 2^n put straight into the exponent bits: within 2 ulp of expf over
 * the float range (3 ulp for subnormal results), NaN propagated, overflow
 * to inf and underflow to 0.  Branch-free, so loops over it vectorise
 * (with -fno-trapping-math). */
#ifndef CONVNET_FAST_EXP_H
#define CONVNET_FAST_EXP_H

#include <stdint.h>

static inline float
fast_expf (float x)
{
  const float hi = 88.72283f, lo = -103.97208f;
  union { uint32_t u; float f; } s1, s2;
  float c, n, r, p;
  int32_t e, e1;

  /* a NaN compares false and passes through the clamps */
  c = x > hi ? hi : x;
  c = c < lo ? lo : c;
  /* round to nearest by the 1.5 * 2^23 trick: plain SSE2 has no roundps */
  n = (c * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  r = c - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  p = 1.0f + r * (1.0f + r * (0.5f + r * (0.16666667f + r * (0.041666664f
        + r * (0.008333946f + r * 0.0013887316f)))));
  /* 2^n in two factors so that n down to -150 stays representable */
  e = (int32_t) n;
  e1 = e >> 1;
  s1.u = (uint32_t) (e1 + 127) << 23;
  s2.u = (uint32_t) (e - e1 + 127) << 23;
  p = p * s1.f * s2.f;
  p = x > hi ? __builtin_inff () : p;
  return x != x ? x : p;
}

#endif
