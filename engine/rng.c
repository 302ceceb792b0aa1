/* rng.c: xoshiro256** seeded through splitmix64, so that every random
 * choice of training (shuffle, augmentation, dropout, initialisation) is
 * reproducible from one seed. */
#include "convnet.h"

#include <math.h>

static guint64
splitmix64 (guint64 *state)
{
  guint64 z = (*state += 0x9e3779b97f4a7c15ULL);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void
convnet_rng_seed (ConvnetRng *rng, guint64 seed)
{
  for (int i = 0; i < 4; i++)
    rng->s[i] = splitmix64 (&seed);
}

static inline guint64
rotl (guint64 x, int k)
{
  return (x << k) | (x >> (64 - k));
}

guint64
convnet_rng_next (ConvnetRng *rng)
{
  guint64 *s = rng->s;
  const guint64 result = rotl (s[1] * 5, 7) * 9;
  const guint64 t = s[1] << 17;

  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl (s[3], 45);
  return result;
}

double
convnet_rng_uniform (ConvnetRng *rng)
{
  return (convnet_rng_next (rng) >> 11) * (1.0 / 9007199254740992.0);
}

guint64
convnet_rng_below (ConvnetRng *rng, guint64 n)
{
  /* reject the top partial range so every value is equally likely */
  const guint64 limit = G_MAXUINT64 - G_MAXUINT64 % n;
  guint64 x;

  g_return_val_if_fail (n > 0, 0);
  do
    x = convnet_rng_next (rng);
  while (x >= limit);
  return x % n;
}

double
convnet_rng_normal (ConvnetRng *rng)
{
  /* Box-Muller; 1 - u keeps the logarithm finite */
  const double u = 1.0 - convnet_rng_uniform (rng);
  const double v = convnet_rng_uniform (rng);

  return sqrt (-2.0 * log (u)) * cos (2.0 * G_PI * v);
}
