/* call.c: a procedure call's arguments and return values, host-neutral:
 * GValues in the order of the procedure table. */
#include "config.h"

#include <string.h>

#include "procedures.h"

static PluginDoubles *
doubles_copy (const PluginDoubles *d)
{
  PluginDoubles *copy = g_new (PluginDoubles, 1);

  copy->n = d->n;
  copy->data = g_memdup2 (d->data, sizeof (double) * d->n);
  return copy;
}

static void
doubles_free (PluginDoubles *d)
{
  g_free (d->data);
  g_free (d);
}

/* registered by hand: G_DEFINE_BOXED_TYPE's casts are not ISO C */
GType
plugin_doubles_get_type (void)
{
  static GType type;

  if (!type)
    type = g_boxed_type_register_static ("PluginDoubles",
                                         (GBoxedCopyFunc) doubles_copy,
                                         (GBoxedFreeFunc) doubles_free);
  return type;
}

static GType
arg_gtype (PluginArgType type)
{
  switch (type)
    {
    case PLUGIN_ARG_STRING:
      return G_TYPE_STRING;
    case PLUGIN_ARG_INT:
      return G_TYPE_INT;
    case PLUGIN_ARG_DOUBLE:
      return G_TYPE_DOUBLE;
    case PLUGIN_ARG_BOOLEAN:
      return G_TYPE_BOOLEAN;
    }
  g_return_val_if_reached (G_TYPE_INVALID);
}

static GType
return_gtype (PluginReturnType type)
{
  switch (type)
    {
    case PLUGIN_RETURN_STRING:
      return G_TYPE_STRING;
    case PLUGIN_RETURN_DOUBLE:
      return G_TYPE_DOUBLE;
    case PLUGIN_RETURN_INT:
    case PLUGIN_RETURN_LAYER:
      return G_TYPE_INT;
    case PLUGIN_RETURN_STRINGS:
      return G_TYPE_STRV;
    case PLUGIN_RETURN_DOUBLES:
      return plugin_doubles_get_type ();
    }
  g_return_val_if_reached (G_TYPE_INVALID);
}

const PluginProcedure *
plugin_procedure_find (const char *name)
{
  for (int i = 0; i < plugin_n_procedures; i++)
    if (strcmp (plugin_procedures[i].name, name) == 0)
      return &plugin_procedures[i];
  return NULL;
}

PluginCall *
plugin_call_new (const PluginProcedure *procedure)
{
  PluginCall *call = g_new0 (PluginCall, 1);

  call->procedure = procedure;
  call->image = -1;
  call->args = g_new0 (GValue, procedure->n_args);
  call->returns = g_new0 (GValue, MAX (procedure->n_returns, 1));
  for (int i = 0; i < procedure->n_args; i++)
    {
      const PluginArg *a = &procedure->args[i];

      g_value_init (&call->args[i], arg_gtype (a->type));
      switch (a->type)
        {
        case PLUGIN_ARG_STRING:
          g_value_set_string (&call->args[i],
                              a->default_string ? a->default_string : "");
          break;
        case PLUGIN_ARG_INT:
          g_value_set_int (&call->args[i], (int) a->default_value);
          break;
        case PLUGIN_ARG_DOUBLE:
          g_value_set_double (&call->args[i], a->default_value);
          break;
        case PLUGIN_ARG_BOOLEAN:
          g_value_set_boolean (&call->args[i], a->default_value != 0.0);
          break;
        }
    }
  for (int i = 0; i < procedure->n_returns; i++)
    {
      g_value_init (&call->returns[i],
                    return_gtype (procedure->returns[i].type));
      if (procedure->returns[i].type == PLUGIN_RETURN_LAYER)
        g_value_set_int (&call->returns[i], -1);
    }
  return call;
}

void
plugin_call_free (PluginCall *call)
{
  if (!call)
    return;
  for (int i = 0; i < call->procedure->n_args; i++)
    g_value_unset (&call->args[i]);
  for (int i = 0; i < call->procedure->n_returns; i++)
    g_value_unset (&call->returns[i]);
  g_free (call->args);
  g_free (call->returns);
  g_free (call);
}

int
plugin_call_arg (const PluginCall *call, const char *name)
{
  for (int i = 0; i < call->procedure->n_args; i++)
    if (strcmp (call->procedure->args[i].name, name) == 0)
      return i;
  g_error ("%s has no argument '%s'", call->procedure->name, name);
  return -1;
}

const char *
plugin_call_get_string (const PluginCall *call, const char *name)
{
  const char *s = g_value_get_string (&call->args[plugin_call_arg (call, name)]);

  return s ? s : "";
}

int
plugin_call_get_int (const PluginCall *call, const char *name)
{
  return g_value_get_int (&call->args[plugin_call_arg (call, name)]);
}

double
plugin_call_get_double (const PluginCall *call, const char *name)
{
  return g_value_get_double (&call->args[plugin_call_arg (call, name)]);
}

gboolean
plugin_call_get_boolean (const PluginCall *call, const char *name)
{
  return g_value_get_boolean (&call->args[plugin_call_arg (call, name)]);
}

void
plugin_call_set_string (PluginCall *call, const char *name, const char *value)
{
  g_value_set_string (&call->args[plugin_call_arg (call, name)], value);
}

void
plugin_call_set_int (PluginCall *call, const char *name, int value)
{
  g_value_set_int (&call->args[plugin_call_arg (call, name)], value);
}

void
plugin_call_set_boolean (PluginCall *call, const char *name, gboolean value)
{
  g_value_set_boolean (&call->args[plugin_call_arg (call, name)], value);
}

void
plugin_call_take_strings (PluginCall *call, int index, char **strv)
{
  g_value_take_boxed (&call->returns[index], strv);
}

void
plugin_call_take_doubles (PluginCall *call, int index, double *values, int n)
{
  PluginDoubles *d = g_new (PluginDoubles, 1);

  d->data = values;
  d->n = n;
  g_value_take_boxed (&call->returns[index], d);
}

void
plugin_call_set_layer (PluginCall *call, int index, gint32 layer)
{
  g_value_set_int (&call->returns[index], layer);
}

void
plugin_call_set_return_int (PluginCall *call, int index, int value)
{
  g_value_set_int (&call->returns[index], value);
}

void
plugin_call_take_string (PluginCall *call, int index, char *value)
{
  g_value_take_string (&call->returns[index], value);
}

void
plugin_call_set_double (PluginCall *call, int index, double value)
{
  g_value_set_double (&call->returns[index], value);
}

char *
plugin_call_save_args (const PluginCall *call)
{
  GKeyFile *kf = g_key_file_new ();
  char *text;

  for (int i = 0; i < call->procedure->n_args; i++)
    {
      const PluginArg *a = &call->procedure->args[i];

      switch (a->type)
        {
        case PLUGIN_ARG_STRING:
          g_key_file_set_string (kf, "last", a->name,
                                 plugin_call_get_string (call, a->name));
          break;
        case PLUGIN_ARG_INT:
          g_key_file_set_integer (kf, "last", a->name,
                                  g_value_get_int (&call->args[i]));
          break;
        case PLUGIN_ARG_DOUBLE:
          g_key_file_set_double (kf, "last", a->name,
                                 g_value_get_double (&call->args[i]));
          break;
        case PLUGIN_ARG_BOOLEAN:
          g_key_file_set_boolean (kf, "last", a->name,
                                  g_value_get_boolean (&call->args[i]));
          break;
        }
    }
  text = g_key_file_to_data (kf, NULL, NULL);
  g_key_file_free (kf);
  return text;
}

void
plugin_call_load_args (PluginCall *call, const char *saved)
{
  GKeyFile *kf = g_key_file_new ();

  if (saved && g_key_file_load_from_data (kf, saved, -1, G_KEY_FILE_NONE,
                                          NULL))
    for (int i = 0; i < call->procedure->n_args; i++)
      {
        const PluginArg *a = &call->procedure->args[i];
        GError *missing = NULL;

        if (!g_key_file_has_key (kf, "last", a->name, NULL))
          continue;
        switch (a->type)
          {
          case PLUGIN_ARG_STRING:
            {
              char *s = g_key_file_get_string (kf, "last", a->name, &missing);
              if (s)
                g_value_take_string (&call->args[i], s);
              break;
            }
          case PLUGIN_ARG_INT:
            {
              int v = g_key_file_get_integer (kf, "last", a->name, &missing);
              if (!missing)
                g_value_set_int (&call->args[i], v);
              break;
            }
          case PLUGIN_ARG_DOUBLE:
            {
              double v = g_key_file_get_double (kf, "last", a->name, &missing);
              if (!missing)
                g_value_set_double (&call->args[i], v);
              break;
            }
          case PLUGIN_ARG_BOOLEAN:
            {
              gboolean v = g_key_file_get_boolean (kf, "last", a->name,
                                                   &missing);
              if (!missing)
                g_value_set_boolean (&call->args[i], v);
              break;
            }
          }
        g_clear_error (&missing);
      }
  g_key_file_free (kf);
}
