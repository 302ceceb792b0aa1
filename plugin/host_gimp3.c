/* host_gimp3.c: the plug-in on GIMP 3: a GimpPlugIn whose procedures are
 * made from the procedure table; arguments come from and go back to the
 * GimpProcedureConfig (which keeps last values), drawables are objects
 * turned into IDs for the host-neutral code. */
#include "config.h"

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "host.h"
#include "plugin.h"
#include "procedures.h"

#define CONVNET_TYPE_PLUG_IN (convnet_plug_in_get_type ())
G_DECLARE_FINAL_TYPE (ConvnetPlugIn, convnet_plug_in, CONVNET, PLUG_IN,
                      GimpPlugIn)

struct _ConvnetPlugIn
{
  GimpPlugIn parent_instance;
};

G_DEFINE_TYPE (ConvnetPlugIn, convnet_plug_in, GIMP_TYPE_PLUG_IN)

GIMP_MAIN (CONVNET_TYPE_PLUG_IN)

static GList *
query_procedures (GimpPlugIn *plug_in G_GNUC_UNUSED)
{
  GList *names = NULL;

  for (int i = 0; i < plugin_n_procedures; i++)
    names = g_list_append (names, g_strdup (plugin_procedures[i].name));
  return names;
}

static gboolean
set_i18n (GimpPlugIn *plug_in G_GNUC_UNUSED,
          const gchar *procedure_name G_GNUC_UNUSED,
          gchar **gettext_domain, gchar **catalog_dir)
{
  /* GIMP 3 takes the catalogues' folder relative to the plug-in's own,
   * where meson installs them */
  plugin_init_i18n_and_data ();
  *gettext_domain = g_strdup (GETTEXT_PACKAGE);
  *catalog_dir = g_strdup ("locale");
  return TRUE;
}

static void
add_arguments (GimpProcedure *procedure, const PluginProcedure *proc)
{
  for (int i = 0; i < proc->n_args; i++)
    {
      const PluginArg *a = &proc->args[i];

      if (a->aux)
        {
          /* only strings are remembered without being arguments */
          g_return_if_fail (a->type == PLUGIN_ARG_STRING);
          gimp_procedure_add_string_aux_argument (procedure, a->name,
                                                  a->name, a->blurb,
                                                  a->default_string,
                                                  G_PARAM_READWRITE);
          continue;
        }
      switch (a->type)
        {
        case PLUGIN_ARG_STRING:
          gimp_procedure_add_string_argument (procedure, a->name, a->name,
                                              a->blurb, a->default_string,
                                              G_PARAM_READWRITE);
          break;
        case PLUGIN_ARG_INT:
          gimp_procedure_add_int_argument (procedure, a->name, a->name,
                                           a->blurb, (int) a->min,
                                           (int) a->max,
                                           (int) a->default_value,
                                           G_PARAM_READWRITE);
          break;
        case PLUGIN_ARG_DOUBLE:
          gimp_procedure_add_double_argument (procedure, a->name, a->name,
                                              a->blurb, a->min, a->max,
                                              a->default_value,
                                              G_PARAM_READWRITE);
          break;
        case PLUGIN_ARG_BOOLEAN:
          gimp_procedure_add_boolean_argument (procedure, a->name, a->name,
                                               a->blurb,
                                               a->default_value != 0.0,
                                               G_PARAM_READWRITE);
          break;
        }
    }
  for (int i = 0; i < proc->n_returns; i++)
    {
      const PluginReturn *r = &proc->returns[i];

      switch (r->type)
        {
        case PLUGIN_RETURN_STRING:
          gimp_procedure_add_string_return_value (procedure, r->name,
                                                  r->name, r->blurb, NULL,
                                                  G_PARAM_READWRITE);
          break;
        case PLUGIN_RETURN_DOUBLE:
          gimp_procedure_add_double_return_value (procedure, r->name,
                                                  r->name, r->blurb,
                                                  -G_MAXDOUBLE, G_MAXDOUBLE,
                                                  0.0, G_PARAM_READWRITE);
          break;
        case PLUGIN_RETURN_INT:
          gimp_procedure_add_int_return_value (procedure, r->name, r->name,
                                               r->blurb, G_MININT, G_MAXINT,
                                               0, G_PARAM_READWRITE);
          break;
        case PLUGIN_RETURN_STRINGS:
          gimp_procedure_add_string_array_return_value (procedure, r->name,
                                                        r->name, r->blurb,
                                                        G_PARAM_READWRITE);
          break;
        case PLUGIN_RETURN_DOUBLES:
          gimp_procedure_add_double_array_return_value (procedure, r->name,
                                                        r->name, r->blurb,
                                                        G_PARAM_READWRITE);
          break;
        case PLUGIN_RETURN_LAYER:
          gimp_procedure_add_layer_return_value (procedure, r->name,
                                                 r->name, r->blurb, TRUE,
                                                 G_PARAM_READWRITE);
          break;
        }
    }
}

static GimpValueArray *
finish (GimpProcedure *procedure, PluginCall *call, gboolean ok,
        GError *error, GimpProcedureConfig *config)
{
  const PluginProcedure *proc = call->procedure;
  GimpValueArray *values;

  if (!ok)
    {
      plugin_call_free (call);
      return gimp_procedure_new_return_values (procedure,
                                               error ? GIMP_PDB_EXECUTION_ERROR
                                                     : GIMP_PDB_CANCEL,
                                               error);
    }
  /* what the dialog chose becomes the last values GIMP keeps */
  for (int i = 0; i < proc->n_args; i++)
    g_object_set_property (G_OBJECT (config), proc->args[i].name,
                           &call->args[i]);
  values = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS,
                                             NULL);
  for (int i = 0; i < proc->n_returns; i++)
    {
      const GValue *v = &call->returns[i];

      switch (proc->returns[i].type)
        {
        case PLUGIN_RETURN_STRING:
          GIMP_VALUES_SET_STRING (values, i + 1, g_value_get_string (v));
          break;
        case PLUGIN_RETURN_DOUBLE:
          GIMP_VALUES_SET_DOUBLE (values, i + 1, g_value_get_double (v));
          break;
        case PLUGIN_RETURN_INT:
          GIMP_VALUES_SET_INT (values, i + 1, g_value_get_int (v));
          break;
        case PLUGIN_RETURN_STRINGS:
          GIMP_VALUES_SET_STRV (values, i + 1,
                                (const gchar **) g_value_get_boxed (v));
          break;
        case PLUGIN_RETURN_DOUBLES:
          {
            const PluginDoubles *d = g_value_get_boxed (v);

            GIMP_VALUES_SET_DOUBLE_ARRAY (values, i + 1, d ? d->data : NULL,
                                          d ? d->n : 0);
            break;
          }
        case PLUGIN_RETURN_LAYER:
          GIMP_VALUES_SET_LAYER (values, i + 1,
                                 gimp_layer_get_by_id (g_value_get_int (v)));
          break;
        }
    }
  plugin_call_free (call);
  return values;
}

static PluginCall *
start (const PluginProcedure *proc, GimpRunMode run_mode,
       GimpProcedureConfig *config)
{
  PluginCall *call = plugin_call_new (proc);

  plugin_init_i18n_and_data ();
  call->interactive = run_mode == GIMP_RUN_INTERACTIVE && proc->menu_label;
  for (int i = 0; i < proc->n_args; i++)
    g_object_get_property (G_OBJECT (config), proc->args[i].name,
                           &call->args[i]);
  return call;
}

static GimpValueArray *
run_image (GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
           GimpDrawable **drawables, GimpProcedureConfig *config,
           gpointer run_data)
{
  PluginCall *call = start (run_data, run_mode, config);
  GError *error = NULL;
  gint32 *ids;
  int n = 0;
  gboolean ok;

  while (drawables && drawables[n])
    n++;
  if (n == 0)
    {
      g_set_error (&error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   _("Select a layer first: %s works on the selected "
                     "layers"), call->procedure->name);
      return finish (procedure, call, FALSE, error, config);
    }
  ids = g_new (gint32, n);
  for (int i = 0; i < n; i++)
    ids[i] = gimp_item_get_id (GIMP_ITEM (drawables[i]));
  call->image = gimp_image_get_id (image);
  call->drawables = ids;
  call->n_drawables = n;
  ok = call->procedure->run (call, &error);
  call->drawables = NULL;
  g_free (ids);
  return finish (procedure, call, ok, error, config);
}

static GimpValueArray *
run_plain (GimpProcedure *procedure, GimpProcedureConfig *config,
           gpointer run_data)
{
  GimpRunMode run_mode = GIMP_RUN_NONINTERACTIVE;
  PluginCall *call;
  GError *error = NULL;
  gboolean ok;

  g_object_get (config, "run-mode", &run_mode, NULL);
  call = start (run_data, run_mode, config);
  ok = call->procedure->run (call, &error);
  return finish (procedure, call, ok, error, config);
}

static GimpProcedure *
create_procedure (GimpPlugIn *plug_in, const gchar *name)
{
  const PluginProcedure *proc = plugin_procedure_find (name);
  GimpProcedure *procedure;

  if (!proc)
    return NULL;
  if (proc->on_image)
    {
      procedure = gimp_image_procedure_new (plug_in, name,
                                            GIMP_PDB_PROC_TYPE_PLUGIN,
                                            run_image, (gpointer) proc, NULL);
      gimp_procedure_set_image_types (procedure, "*");
      gimp_procedure_set_sensitivity_mask (procedure,
                                           GIMP_PROCEDURE_SENSITIVE_DRAWABLE
                                           | GIMP_PROCEDURE_SENSITIVE_DRAWABLES);
    }
  else
    {
      procedure = gimp_procedure_new (plug_in, name,
                                      GIMP_PDB_PROC_TYPE_PLUGIN, run_plain,
                                      (gpointer) proc, NULL);
      gimp_procedure_add_enum_argument (procedure, "run-mode", "Run mode",
                                        "The run mode", GIMP_TYPE_RUN_MODE,
                                        GIMP_RUN_NONINTERACTIVE,
                                        G_PARAM_READWRITE);
      gimp_procedure_set_sensitivity_mask (procedure,
                                           GIMP_PROCEDURE_SENSITIVE_ALWAYS);
    }
  if (proc->menu_label)
    {
      gimp_procedure_set_menu_label (procedure, _(proc->menu_label));
      gimp_procedure_add_menu_path (procedure, "<Image>/Filters/ConvNet");
    }
  gimp_procedure_set_documentation (procedure, _(proc->blurb),
                                    _(proc->help), name);
  gimp_procedure_set_attribution (procedure, "gimp-convnet developers",
                                  "GPL-3.0-or-later", "2026");
  add_arguments (procedure, proc);
  return procedure;
}

static void
convnet_plug_in_class_init (ConvnetPlugInClass *klass)
{
  GimpPlugInClass *plug_in_class = GIMP_PLUG_IN_CLASS (klass);

  plug_in_class->query_procedures = query_procedures;
  plug_in_class->create_procedure = create_procedure;
  plug_in_class->set_i18n = set_i18n;
}

static void
convnet_plug_in_init (ConvnetPlugIn *plug_in G_GNUC_UNUSED)
{
}

/* ------------------------------------------------------------ primitives */

#define DRAWABLE(id) gimp_drawable_get_by_id (id)
#define IMAGE(id) gimp_image_get_by_id (id)
#define ITEM(id) gimp_item_get_by_id (id)

const char *
plugin_host_version (void)
{
  return "3.0";
}

char *
plugin_host_previous_profile (void)
{
  /* ~/.config/GIMP/3.0 -> ~/.config/GIMP/2.10 */
  char *parent = g_path_get_dirname (gimp_directory ());
  char *previous = g_build_filename (parent, "2.10", NULL);

  g_free (parent);
  return previous;
}

void
plugin_host_ui_init (void)
{
  gimp_ui_init (PLUG_IN_BINARY);
}

int
plugin_host_drawable_width (gint32 drawable)
{
  return gimp_drawable_get_width (DRAWABLE (drawable));
}

int
plugin_host_drawable_height (gint32 drawable)
{
  return gimp_drawable_get_height (DRAWABLE (drawable));
}

void
plugin_host_drawable_offsets (gint32 drawable, int *x, int *y)
{
  gimp_drawable_get_offsets (DRAWABLE (drawable), x, y);
}

gboolean
plugin_host_drawable_mask (gint32 drawable, int *x, int *y, int *width,
                           int *height)
{
  return gimp_drawable_mask_intersect (DRAWABLE (drawable), x, y, width,
                                       height);
}

GeglBuffer *
plugin_host_drawable_buffer (gint32 drawable)
{
  return gimp_drawable_get_buffer (DRAWABLE (drawable));
}

gint32
plugin_host_image_drawable (gint32 image)
{
  GimpDrawable **selected = gimp_image_get_selected_drawables (IMAGE (image));
  gint32 id = selected && selected[0]
              ? gimp_item_get_id (GIMP_ITEM (selected[0])) : -1;

  g_free (selected);
  return id;
}

GimpImageBaseType
plugin_host_image_base_type (gint32 image)
{
  return gimp_image_get_base_type (IMAGE (image));
}

gint32
plugin_host_layer_new (gint32 image, const char *name, int width, int height,
                       GimpImageType type, double opacity, GimpLayerMode mode)
{
  GimpLayer *layer = gimp_layer_new (IMAGE (image), name, width, height, type,
                                     opacity, mode);

  return layer ? gimp_item_get_id (GIMP_ITEM (layer)) : -1;
}

gint32
plugin_host_layer_group_new (gint32 image)
{
  GimpGroupLayer *group = gimp_group_layer_new (IMAGE (image), NULL);

  return group ? gimp_item_get_id (GIMP_ITEM (group)) : -1;
}

void
plugin_host_insert_layer (gint32 image, gint32 layer, gint32 parent,
                          int position)
{
  gimp_image_insert_layer (IMAGE (image), gimp_layer_get_by_id (layer),
                           parent > 0 ? gimp_layer_get_by_id (parent) : NULL,
                           position);
}

gint32
plugin_host_item_parent (gint32 item)
{
  GimpItem *parent = gimp_item_get_parent (ITEM (item));

  return parent ? gimp_item_get_id (parent) : -1;
}

int
plugin_host_item_position (gint32 image, gint32 item)
{
  return gimp_image_get_item_position (IMAGE (image), ITEM (item));
}

void
plugin_host_item_set_name (gint32 item, const char *name)
{
  gimp_item_set_name (ITEM (item), name);
}

char *
plugin_host_item_name (gint32 item)
{
  return gimp_item_get_name (ITEM (item));
}

void
plugin_host_layer_set_offsets (gint32 layer, int x, int y)
{
  gimp_layer_set_offsets (gimp_layer_get_by_id (layer), x, y);
}

void
plugin_host_undo_group_start (gint32 image)
{
  gimp_image_undo_group_start (IMAGE (image));
}

void
plugin_host_undo_group_end (gint32 image)
{
  gimp_image_undo_group_end (IMAGE (image));
}

/* The PDB's last error, or WHAT when it gave none */
static void
set_pdb_error (GError **error, const char *what, const char *path)
{
  const char *why = gimp_pdb_get_last_error (gimp_get_pdb ());
  char *name = g_filename_display_name (path);

  g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO, "%s “%s”: %s", what,
               name, why && *why ? why : _("GIMP gave no reason"));
  g_free (name);
}

gint32
plugin_host_image_load (const char *path, GError **error)
{
  GFile *file = g_file_new_for_path (path);
  GimpImage *image = gimp_file_load (GIMP_RUN_NONINTERACTIVE, file);

  g_object_unref (file);
  if (image)
    return gimp_image_get_id (image);
  set_pdb_error (error, _("GIMP cannot open"), path);
  return -1;
}

gint32
plugin_host_image_new (int width, int height, GimpImageBaseType type)
{
  GimpImage *image = gimp_image_new (width, height, type);

  if (!image)
    return -1;
  gimp_image_undo_disable (image);
  return gimp_image_get_id (image);
}

gint32
plugin_host_image_flatten (gint32 image)
{
  GimpLayer *layer = gimp_image_flatten (IMAGE (image));

  return layer ? gimp_item_get_id (GIMP_ITEM (layer)) : -1;
}

gboolean
plugin_host_image_save (gint32 image, const char *path, GError **error)
{
  GFile *file = g_file_new_for_path (path);
  gboolean ok = gimp_file_save (GIMP_RUN_NONINTERACTIVE, IMAGE (image), file,
                                NULL);

  g_object_unref (file);
  if (!ok)
    set_pdb_error (error, _("GIMP cannot save"), path);
  return ok;
}

void
plugin_host_image_delete (gint32 image)
{
  gimp_image_delete (IMAGE (image));
}
