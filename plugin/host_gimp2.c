/* host_gimp2.c: the plug-in on GIMP 2.10: registers the procedure table
 * with the PDB, turns GimpParams into a PluginCall and back, keeps last
 * values with gimp_set_data, and names drawables and layers by ID. */
#include "config.h"

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <string.h>

#include "host.h"
#include "plugin.h"
#include "procedures.h"

static void query (void);
static void run   (const gchar      *name,
                   gint              nparams,
                   const GimpParam  *param,
                   gint             *nreturn_vals,
                   GimpParam       **return_vals);

const GimpPlugInInfo PLUG_IN_INFO = { NULL, NULL, query, run };

MAIN ()

/* run-mode, and image and drawable for an image procedure */
static int
leading_params (const PluginProcedure *proc)
{
  return proc->on_image ? 3 : 1;
}

static GimpPDBArgType
arg_pdb_type (PluginArgType type)
{
  switch (type)
    {
    case PLUGIN_ARG_STRING:
      return GIMP_PDB_STRING;
    case PLUGIN_ARG_DOUBLE:
      return GIMP_PDB_FLOAT;
    case PLUGIN_ARG_INT:
    case PLUGIN_ARG_BOOLEAN:
      break;
    }
  return GIMP_PDB_INT32;
}

static void
install (const PluginProcedure *proc)
{
  GimpParamDef *args = g_new0 (GimpParamDef, proc->n_args + 3);
  GimpParamDef *values = g_new0 (GimpParamDef, 2 * proc->n_returns + 1);
  int n_args = 0, n_values = 0;

  args[n_args++] = (GimpParamDef) {
    GIMP_PDB_INT32, "run-mode",
    "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1) }" };
  if (proc->on_image)
    {
      args[n_args++] = (GimpParamDef) { GIMP_PDB_IMAGE, "image",
                                        "Input image" };
      args[n_args++] = (GimpParamDef) {
        GIMP_PDB_DRAWABLE, "drawable",
        "Input drawable (its selection is used)" };
    }
  for (int i = 0; i < proc->n_args; i++)
    if (!proc->args[i].aux)
      args[n_args++] = (GimpParamDef) { arg_pdb_type (proc->args[i].type),
                                        (char *) proc->args[i].name,
                                        (char *) proc->args[i].blurb };
  for (int i = 0; i < proc->n_returns; i++)
    {
      const PluginReturn *r = &proc->returns[i];
      GimpPDBArgType type = GIMP_PDB_STRING;

      switch (r->type)
        {
        case PLUGIN_RETURN_STRINGS:
        case PLUGIN_RETURN_DOUBLES:
          /* GIMP 2.10's arrays come after their length */
          values[n_values++] = (GimpParamDef) {
            GIMP_PDB_INT32,
            r->type == PLUGIN_RETURN_STRINGS ? "num-labels"
                                             : "num-probabilities",
            "Number of values" };
          type = r->type == PLUGIN_RETURN_STRINGS ? GIMP_PDB_STRINGARRAY
                                                  : GIMP_PDB_FLOATARRAY;
          break;
        case PLUGIN_RETURN_STRING:
          type = GIMP_PDB_STRING;
          break;
        case PLUGIN_RETURN_DOUBLE:
          type = GIMP_PDB_FLOAT;
          break;
        case PLUGIN_RETURN_INT:
          type = GIMP_PDB_INT32;
          break;
        case PLUGIN_RETURN_LAYER:
          type = GIMP_PDB_LAYER;
          break;
        }
      values[n_values++] = (GimpParamDef) { type, (char *) r->name,
                                            (char *) r->blurb };
    }
  gimp_install_procedure (proc->name, proc->blurb, proc->help,
                          "gimp-convnet developers", "GPL-3.0-or-later",
                          "2026", proc->menu_label,
                          proc->on_image ? "*" : NULL, GIMP_PLUGIN,
                          n_args, n_values, args, values);
  if (proc->menu_label)
    gimp_plugin_menu_register (proc->name, "<Image>/Filters/ConvNet");
  g_free (args);
  g_free (values);
}

static void
query (void)
{
  gimp_plugin_domain_register (GETTEXT_PACKAGE, plugin_init_i18n_and_data ());
  for (int i = 0; i < plugin_n_procedures; i++)
    install (&plugin_procedures[i]);
}

/* The PDB arguments into CALL; FALSE when they do not fit the table */
static gboolean
read_params (PluginCall *call, gint nparams, const GimpParam *param)
{
  const PluginProcedure *proc = call->procedure;
  int p = leading_params (proc);

  for (int i = 0; i < proc->n_args; i++)
    {
      const PluginArg *a = &proc->args[i];

      if (a->aux)
        continue;
      if (p >= nparams)
        return FALSE;
      switch (a->type)
        {
        case PLUGIN_ARG_STRING:
          if (!param[p].data.d_string)
            return FALSE;
          plugin_call_set_string (call, a->name, param[p].data.d_string);
          break;
        case PLUGIN_ARG_INT:
          plugin_call_set_int (call, a->name, param[p].data.d_int32);
          break;
        case PLUGIN_ARG_DOUBLE:
          g_value_set_double (&call->args[i], param[p].data.d_float);
          break;
        case PLUGIN_ARG_BOOLEAN:
          plugin_call_set_boolean (call, a->name, param[p].data.d_int32 != 0);
          break;
        }
      p++;
    }
  return TRUE;
}

/* CALL's return values as GimpParams after the status; they stay valid
 * until the next call, as GIMP 2.10 wants */
static gint
write_values (const PluginCall *call, GimpParam *values)
{
  static char **strings[4];
  static double *doubles[4];
  static char *texts[4];
  const PluginProcedure *proc = call->procedure;
  gint n = 1;

  for (int i = 0; i < 4; i++)
    {
      g_clear_pointer (&strings[i], g_strfreev);
      g_clear_pointer (&doubles[i], g_free);
      g_clear_pointer (&texts[i], g_free);
    }
  for (int i = 0; i < proc->n_returns && i < 4; i++)
    {
      const GValue *v = &call->returns[i];

      switch (proc->returns[i].type)
        {
        case PLUGIN_RETURN_STRINGS:
          strings[i] = g_value_dup_boxed (v);
          values[n].type = GIMP_PDB_INT32;
          values[n++].data.d_int32 = strings[i] ? g_strv_length (strings[i])
                                                : 0;
          values[n].type = GIMP_PDB_STRINGARRAY;
          values[n++].data.d_stringarray = strings[i];
          break;
        case PLUGIN_RETURN_DOUBLES:
          {
            const PluginDoubles *d = g_value_get_boxed (v);

            doubles[i] = d ? g_memdup2 (d->data, sizeof (double) * d->n)
                           : NULL;
            values[n].type = GIMP_PDB_INT32;
            values[n++].data.d_int32 = d ? d->n : 0;
            values[n].type = GIMP_PDB_FLOATARRAY;
            values[n++].data.d_floatarray = doubles[i];
            break;
          }
        case PLUGIN_RETURN_STRING:
          texts[i] = g_value_dup_string (v);
          values[n].type = GIMP_PDB_STRING;
          values[n++].data.d_string = texts[i] ? texts[i] : (char *) "";
          break;
        case PLUGIN_RETURN_DOUBLE:
          values[n].type = GIMP_PDB_FLOAT;
          values[n++].data.d_float = g_value_get_double (v);
          break;
        case PLUGIN_RETURN_INT:
          values[n].type = GIMP_PDB_INT32;
          values[n++].data.d_int32 = g_value_get_int (v);
          break;
        case PLUGIN_RETURN_LAYER:
          values[n].type = GIMP_PDB_LAYER;
          values[n++].data.d_layer = g_value_get_int (v);
          break;
        }
    }
  return n;
}

static void
load_last_values (PluginCall *call)
{
  gint size = gimp_get_data_size (call->procedure->name);
  char *saved;

  if (size <= 0)
    return;
  saved = g_malloc0 (size + 1);
  gimp_get_data (call->procedure->name, saved);
  plugin_call_load_args (call, saved);
  g_free (saved);
}

static void
save_last_values (const PluginCall *call)
{
  char *saved = plugin_call_save_args (call);

  gimp_set_data (call->procedure->name, saved, strlen (saved) + 1);
  g_free (saved);
}

static void
run (const gchar *name, gint nparams, const GimpParam *param,
     gint *nreturn_vals, GimpParam **return_vals)
{
  static GimpParam values[12];
  static char *message;
  const PluginProcedure *proc = plugin_procedure_find (name);
  GimpRunMode run_mode = nparams > 0 ? param[0].data.d_int32
                                     : GIMP_RUN_NONINTERACTIVE;
  PluginCall *call;
  gint32 drawable;
  GError *error = NULL;

  plugin_init_i18n_and_data ();
  *nreturn_vals = 1;
  *return_vals = values;
  values[0].type = GIMP_PDB_STATUS;
  values[0].data.d_status = GIMP_PDB_CALLING_ERROR;
  if (!proc || nparams < leading_params (proc))
    return;

  call = plugin_call_new (proc);
  /* a procedure in the menu has a dialog; the others take their
   * arguments in every run mode */
  call->interactive = run_mode == GIMP_RUN_INTERACTIVE && proc->menu_label;
  if (proc->on_image)
    {
      call->image = param[1].data.d_image;
      drawable = param[2].data.d_drawable;
      call->drawables = &drawable;
      call->n_drawables = 1;
    }
  if (run_mode != GIMP_RUN_NONINTERACTIVE && proc->menu_label)
    load_last_values (call);
  else if (!read_params (call, nparams, param))
    {
      plugin_call_free (call);
      return;
    }

  if (proc->run (call, &error))
    {
      values[0].data.d_status = GIMP_PDB_SUCCESS;
      *nreturn_vals = write_values (call, values);
      save_last_values (call);
    }
  else if (!error)
    values[0].data.d_status = GIMP_PDB_CANCEL;
  else
    {
      g_free (message);
      message = g_strdup (error->message);
      values[0].data.d_status = GIMP_PDB_EXECUTION_ERROR;
      if (proc->n_returns && proc->returns[0].type == PLUGIN_RETURN_STRINGS)
        /* GIMP 2.10 crashes on an error string in place of a
         * STRINGARRAY's count, so such a procedure reports through a
         * message */
        gimp_message (message);
      else
        {
          *nreturn_vals = 2;
          values[1].type = GIMP_PDB_STRING;
          values[1].data.d_string = message;
        }
      g_clear_error (&error);
    }
  plugin_call_free (call);
}

/* ------------------------------------------------------------ primitives */

const char *
plugin_host_version (void)
{
  return "2.10";
}

char *
plugin_host_previous_profile (void)
{
  return NULL;
}

/* GEGL starts only for a procedure that reads or writes pixels or shows a
 * dialog.  babl reading the fish cache GIMP 2.10 keeps in ~/.cache/babl
 * took 1.2 of the 1.8 s each call of a filter cost here; the plug-in needs
 * two or three conversions, which babl finds as fast without it. */
static void
ensure_gegl (void)
{
  static gboolean ready = FALSE;

  if (!ready)
    {
      g_setenv ("BABL_INHIBIT_CACHE", "1", FALSE);
      gegl_init (NULL, NULL);
    }
  ready = TRUE;
}

void
plugin_host_ui_init (void)
{
  ensure_gegl ();
  gimp_ui_init (PLUG_IN_BINARY, FALSE);
}

int
plugin_host_drawable_width (gint32 drawable)
{
  return gimp_drawable_width (drawable);
}

int
plugin_host_drawable_height (gint32 drawable)
{
  return gimp_drawable_height (drawable);
}

void
plugin_host_drawable_offsets (gint32 drawable, int *x, int *y)
{
  gimp_drawable_offsets (drawable, x, y);
}

gboolean
plugin_host_drawable_mask (gint32 drawable, int *x, int *y, int *width,
                           int *height)
{
  return gimp_drawable_mask_intersect (drawable, x, y, width, height);
}

GeglBuffer *
plugin_host_drawable_buffer (gint32 drawable)
{
  ensure_gegl ();
  return gimp_drawable_get_buffer (drawable);
}

gint32
plugin_host_image_drawable (gint32 image)
{
  const gint32 drawable = gimp_image_get_active_drawable (image);

  return drawable > 0 ? drawable : -1;
}

GimpImageBaseType
plugin_host_image_base_type (gint32 image)
{
  return gimp_image_base_type (image);
}

gint32
plugin_host_layer_new (gint32 image, const char *name, int width, int height,
                       GimpImageType type, double opacity, GimpLayerMode mode)
{
  return gimp_layer_new (image, name, width, height, type, opacity, mode);
}

gint32
plugin_host_layer_group_new (gint32 image)
{
  return gimp_layer_group_new (image);
}

void
plugin_host_insert_layer (gint32 image, gint32 layer, gint32 parent,
                          int position)
{
  gimp_image_insert_layer (image, layer, parent > 0 ? parent : 0, position);
}

gint32
plugin_host_item_parent (gint32 item)
{
  const gint32 parent = gimp_item_get_parent (item);

  return parent > 0 ? parent : -1;
}

int
plugin_host_item_position (gint32 image, gint32 item)
{
  return gimp_image_get_item_position (image, item);
}

void
plugin_host_item_set_name (gint32 item, const char *name)
{
  gimp_item_set_name (item, name);
}

char *
plugin_host_item_name (gint32 item)
{
  return gimp_item_get_name (item);
}

void
plugin_host_layer_set_offsets (gint32 layer, int x, int y)
{
  gimp_layer_set_offsets (layer, x, y);
}

void
plugin_host_undo_group_start (gint32 image)
{
  gimp_image_undo_group_start (image);
}

void
plugin_host_undo_group_end (gint32 image)
{
  gimp_image_undo_group_end (image);
}

/* The PDB's last error, or WHAT when it gave none */
static void
set_pdb_error (GError **error, const char *what, const char *path)
{
  const char *why = gimp_get_pdb_error ();
  char *name = g_filename_display_name (path);

  g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO, "%s “%s”: %s", what,
               name, why && *why ? why : _("GIMP gave no reason"));
  g_free (name);
}

gint32
plugin_host_image_load (const char *path, GError **error)
{
  const gint32 image = gimp_file_load (GIMP_RUN_NONINTERACTIVE, path, path);

  if (image > 0)
    return image;
  set_pdb_error (error, _("GIMP cannot open"), path);
  return -1;
}

gint32
plugin_host_image_new (int width, int height, GimpImageBaseType type)
{
  const gint32 image = gimp_image_new (width, height, type);

  if (image > 0)
    gimp_image_undo_disable (image);
  return image > 0 ? image : -1;
}

gint32
plugin_host_image_flatten (gint32 image)
{
  const gint32 layer = gimp_image_flatten (image);

  return layer > 0 ? layer : -1;
}

gboolean
plugin_host_image_save (gint32 image, const char *path, GError **error)
{
  if (gimp_file_save (GIMP_RUN_NONINTERACTIVE, image,
                      plugin_host_image_drawable (image), path, path))
    return TRUE;
  set_pdb_error (error, _("GIMP cannot save"), path);
  return FALSE;
}

void
plugin_host_image_delete (gint32 image)
{
  gimp_image_delete (image);
}
