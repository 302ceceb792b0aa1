/* schedule.c: learning-rate schedules as closed forms of the epoch, and
 * their CLI grammar (see optimizer.h).
 *
 * Torch's schedulers mostly update the lr recursively (lr *= ratio), so
 * their values drift from these closed forms by a few ulps; the closed
 * forms are written with torch's own _get_closed_form_lr operation order
 * so that only that drift remains. */
#include "train/optimizer.h"

#include <math.h>
#include <string.h>

static double
main_lr (const ConvnetSchedule *s, int epoch)
{
  switch (s->kind)
    {
    case CONVNET_SCHEDULE_CONSTANT:
      return s->base_lr;
    case CONVNET_SCHEDULE_STEP:
      return s->base_lr * pow (s->gamma, (double) (epoch / s->step_size));
    case CONVNET_SCHEDULE_COSINE:
      return s->eta_min + (s->base_lr - s->eta_min)
             * (1.0 + cos (G_PI * epoch / s->t_max)) / 2.0;
    }
  return s->base_lr;
}

double
convnet_schedule_lr (const ConvnetSchedule *schedule,
                     int                    epoch)
{
  const ConvnetSchedule *s = schedule;

  g_return_val_if_fail (s != NULL, 0.0);

  epoch = MAX (epoch, 0);
  if (s->warmup > 0)
    {
      if (epoch < s->warmup)
        return s->base_lr * (s->warmup_factor
                             + (1.0 - s->warmup_factor) * epoch / s->warmup);
      /* SequentialLR restarts the main schedule at the milestone. */
      epoch -= s->warmup;
    }
  /* Invalid sizes (never produced by the parser) must not divide by 0. */
  if ((s->kind == CONVNET_SCHEDULE_STEP && s->step_size < 1)
      || (s->kind == CONVNET_SCHEDULE_COSINE && s->t_max < 1))
    return s->base_lr;
  return main_lr (s, epoch);
}

/* --------------------------------------------------------------- parsing */

typedef struct
{
  const char *spec;
  GError    **error;
} Parse;

static gboolean
fail (const Parse *p, const char *part, const char *why)
{
  g_set_error (p->error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
               "Bad learning-rate schedule '%s': '%s' %s (expected e.g. "
               "constant, step:30:0.1, cosine, warmup:5+cosine)",
               p->spec, part, why);
  return FALSE;
}

static gboolean
parse_int (const Parse *p, const char *text, int min, int *out)
{
  gint64 v;

  if (!g_ascii_string_to_signed (text, 10, min, G_MAXINT, &v, NULL))
    {
      char *why = g_strdup_printf ("is not a whole number of at least %d",
                                   min);
      fail (p, text, why);
      g_free (why);
      return FALSE;
    }
  *out = (int) v;
  return TRUE;
}

/* A finite number above MIN (at least MIN when MIN_CLOSED) and at most
 * MAX; RANGE says so in the error. */
static gboolean
parse_double (const Parse *p, const char *text, double min,
              gboolean min_closed, double max, const char *range,
              double *out)
{
  char *end = NULL;
  double v;

  v = *text ? g_ascii_strtod (text, &end) : NAN;
  if (!end || *end || !isfinite (v))
    return fail (p, text, "is not a number");
  if (v < min || (!min_closed && v == min) || v > max)
    return fail (p, text, range);
  *out = v;
  return TRUE;
}

static gboolean
parse_warmup (const Parse *p, const char *part, ConvnetSchedule *s)
{
  char **f = g_strsplit (part, ":", -1);
  const guint n = g_strv_length (f);
  gboolean ok;

  /* LinearLR's default start factor. */
  s->warmup_factor = 1.0 / 3.0;
  if (n < 2 || n > 3)
    ok = fail (p, part, "needs the form warmup:EPOCHS[:START_FACTOR]");
  else
    ok = parse_int (p, f[1], 1, &s->warmup)
         && (n < 3 || parse_double (p, f[2], 0.0, FALSE, 1.0,
                                    "must be above 0 and at most 1",
                                    &s->warmup_factor));
  g_strfreev (f);
  return ok;
}

static gboolean
parse_main (const Parse *p, const char *part, int total, ConvnetSchedule *s)
{
  char **f = g_strsplit (part, ":", -1);
  const guint n = g_strv_length (f);
  gboolean ok;

  if (n == 0)
    ok = fail (p, part, "is empty");
  else if (g_ascii_strcasecmp (f[0], "constant") == 0)
    {
      s->kind = CONVNET_SCHEDULE_CONSTANT;
      ok = n == 1 || fail (p, part, "takes no arguments");
    }
  else if (g_ascii_strcasecmp (f[0], "step") == 0)
    {
      s->kind = CONVNET_SCHEDULE_STEP;
      s->gamma = 0.1;
      if (n < 2 || n > 3)
        ok = fail (p, part, "needs the form step:STEP_SIZE[:GAMMA]");
      else
        ok = parse_int (p, f[1], 1, &s->step_size)
             && (n < 3 || parse_double (p, f[2], 0.0, FALSE, G_MAXDOUBLE,
                                        "must be above 0", &s->gamma));
    }
  else if (g_ascii_strcasecmp (f[0], "cosine") == 0)
    {
      s->kind = CONVNET_SCHEDULE_COSINE;
      s->t_max = total - s->warmup;
      s->eta_min = 0.0;
      if (n > 3)
        ok = fail (p, part, "needs the form cosine[:T_MAX[:ETA_MIN]]");
      else if (n >= 2)
        ok = parse_int (p, f[1], 1, &s->t_max)
             && (n < 3 || parse_double (p, f[2], 0.0, TRUE, G_MAXDOUBLE,
                                        "must not be negative",
                                        &s->eta_min));
      else if (s->t_max < 1)
        {
          char *why = g_strdup_printf ("needs a T_MAX (cosine:T_MAX) or "
                                       "more epochs than the %d of warmup "
                                       "(%d in all)", s->warmup, total);
          ok = fail (p, part, why);
          g_free (why);
        }
      else
        ok = TRUE;
    }
  else if (g_ascii_strcasecmp (f[0], "warmup") == 0)
    ok = fail (p, part, "must come first, joined to the schedule after it "
                        "by '+'");
  else
    ok = fail (p, f[0], "is not a schedule (constant, step, cosine, "
                        "warmup)");
  g_strfreev (f);
  return ok;
}

gboolean
convnet_schedule_parse (const char      *spec,
                        double           base_lr,
                        int              total,
                        ConvnetSchedule *schedule,
                        GError         **error)
{
  const Parse p = { spec ? spec : "(null)", error };
  ConvnetSchedule s = { .kind = CONVNET_SCHEDULE_CONSTANT,
                        .base_lr = base_lr, .gamma = 0.1,
                        .warmup_factor = 1.0 };
  const char *plus, *main_part;
  gboolean ok;

  g_return_val_if_fail (schedule != NULL, FALSE);

  if (!spec || !*spec)
    return fail (&p, "", "is empty");
  if (!(base_lr >= 0.0) || !isfinite (base_lr))
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "Bad learning rate %g for schedule '%s'", base_lr, spec);
      return FALSE;
    }

  plus = strchr (spec, '+');
  if (plus && strchr (plus + 1, '+'))
    return fail (&p, plus, "joins more than two schedules");
  if (plus && !plus[1])
    return fail (&p, "+", "has no schedule after it");

  if (g_ascii_strncasecmp (spec, "warmup", 6) == 0
      && (spec[6] == ':' || spec[6] == '+' || spec[6] == '\0'))
    {
      char *part = g_strndup (spec, plus ? (gsize) (plus - spec)
                                         : strlen (spec));
      ok = parse_warmup (&p, part, &s);
      g_free (part);
      if (!ok)
        return FALSE;
      /* A bare warmup holds the base lr after it, as LinearLR does. */
      main_part = plus ? plus + 1 : "constant";
    }
  else if (plus)
    return fail (&p, spec, "joins schedules, but only warmup:W may come "
                           "before a '+'");
  else
    main_part = spec;

  if (!parse_main (&p, main_part, total, &s))
    return FALSE;
  *schedule = s;
  return TRUE;
}
