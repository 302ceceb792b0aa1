/* feature_maps_dialog.c: Filters > ConvNet > Feature Maps: a model, one
 * of its nodes (listed with its output shape) and how to lay them out. */
#include "config.h"

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "convnet.h"
#include "gtk-compat.h"
#include "ui.h"

typedef struct
{
  const char *const *folders;
  GtkWidget         *model;
  GtkWidget         *node;
  char              *selected;
} NodeChooser;

/* The node list of the chosen model's architecture, built without weights. */
static void
fill_nodes (GtkComboBox *model_combo, NodeChooser *c)
{
  char *name = gtk_combo_box_text_get_active_text (GTK_COMBO_BOX_TEXT (model_combo));
  GtkListStore *store = GTK_LIST_STORE (gtk_combo_box_get_model (GTK_COMBO_BOX (c->node)));
  ConvnetWeightFile *file = NULL;
  const ConvnetArch *arch = NULL;
  ConvnetPreprocess pre;
  ConvnetGraph *g = NULL;
  const char *arch_name;
  char *path;
  int active = 0;

  gtk_list_store_clear (store);
  path = name ? convnet_model_registry_resolve (c->folders, name, &arch_name,
                                                NULL) : NULL;
  if (path)
    file = convnet_weight_file_open (path, NULL);
  if (file)
    arch = convnet_weight_file_arch (file, arch_name, &pre, NULL);
  if (arch)
    g = convnet_model_build (arch->name, convnet_weight_file_classes (file, arch),
                             pre.crop_height, pre.crop_width, NULL);
  for (guint i = 0; g && i < convnet_graph_n_names (g); i++)
    {
      const ConvnetNodeInfo *info = convnet_graph_name_info (g, i);
      char *label = g_strdup_printf ("%s  (%d x %d x %d)", info->name,
                                     info->shape.c, info->shape.h,
                                     info->shape.w);
      GtkTreeIter iter;

      gtk_list_store_append (store, &iter);
      gtk_list_store_set (store, &iter, 0, label, 1, info->name, -1);
      if (g_strcmp0 (info->name, c->selected) == 0
          || (!*c->selected && arch && g_strcmp0 (info->name, arch->cam_node) == 0))
        active = i;
      g_free (label);
    }
  gtk_combo_box_set_active (GTK_COMBO_BOX (c->node), active);
  convnet_graph_free (g);
  convnet_weight_file_free (file);
  g_free (path);
  g_free (name);
}

static GtkWidget *
node_combo (void)
{
  GtkListStore *store = gtk_list_store_new (2, G_TYPE_STRING, G_TYPE_STRING);
  GtkWidget *combo = gtk_combo_box_new_with_model (GTK_TREE_MODEL (store));
  GtkCellRenderer *cell = gtk_cell_renderer_text_new ();

  gtk_cell_layout_pack_start (GTK_CELL_LAYOUT (combo), cell, TRUE);
  gtk_cell_layout_set_attributes (GTK_CELL_LAYOUT (combo), cell, "text", 0,
                                  NULL);
  g_object_unref (store);
  return combo;
}

static void
read_node (NodeChooser *c, char *node, gsize node_size)
{
  GtkTreeIter iter;
  char *name = NULL;

  if (gtk_combo_box_get_active_iter (GTK_COMBO_BOX (c->node), &iter))
    gtk_tree_model_get (gtk_combo_box_get_model (GTK_COMBO_BOX (c->node)),
                        &iter, 1, &name, -1);
  g_strlcpy (node, name ? name : "", node_size);
  g_free (name);
}

gboolean
convnet_ui_feature_maps_dialog (const char *const *folders, char *model,
                                gsize model_size, char *node, gsize node_size,
                                int *max_channels, gboolean *as_grid)
{
  NodeChooser c = { folders, NULL, NULL, node };
  GtkWidget *dialog, *grid, *spin, *tiled, *chooser, *label;
  GtkAdjustment *adj;
  gboolean ok;

  dialog = gimp_dialog_new (_("Feature Maps"), PLUG_IN_ROLE, NULL, 0,
                            gimp_standard_help_func,
                            "plug-in-convnet-feature-maps",
                            _("_Cancel"), GTK_RESPONSE_CANCEL,
                            _("_OK"), GTK_RESPONSE_OK, NULL);
  gimp_window_set_transient (GTK_WINDOW (dialog));
  grid = convnet_ui_dialog_table (dialog);

  chooser = convnet_ui_model_chooser (folders, model, &c.model);
  c.node = node_combo ();
  label = compat_grid_attach_aligned (grid, 0, 0, _("_Model:"), 0.0, 0.5,
                                      chooser, 1, FALSE);
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), c.model);
  compat_grid_attach_aligned (grid, 0, 1, _("_Layer:"), 0.0, 0.5, c.node, 1,
                              FALSE);
  adj = GTK_ADJUSTMENT (gtk_adjustment_new (*max_channels, 0, 4096, 1, 16, 0));
  spin = gtk_spin_button_new (adj, 1, 0);
  gimp_help_set_help_data (spin, _("0 shows every channel"), NULL);
  compat_grid_attach_aligned (grid, 0, 2, _("Ma_x channels:"), 0.0, 0.5, spin,
                              1, TRUE);
  tiled = gtk_check_button_new_with_mnemonic (_("_One layer with all channels tiled"));
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (tiled), *as_grid);
  compat_grid_attach (grid, tiled, 1, 3, 1, 1, TRUE, TRUE);
  g_signal_connect (c.model, "changed", G_CALLBACK (fill_nodes), &c);
  fill_nodes (GTK_COMBO_BOX (c.model), &c);
  gtk_widget_show_all (dialog);

  ok = gimp_dialog_run (GIMP_DIALOG (dialog)) == GTK_RESPONSE_OK;
  if (ok)
    {
      char *name = gtk_combo_box_text_get_active_text (GTK_COMBO_BOX_TEXT (c.model));
      g_strlcpy (model, name ? name : "", model_size);
      g_free (name);
      read_node (&c, node, node_size);
      *max_channels = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (spin));
      *as_grid = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (tiled));
    }
  gtk_widget_destroy (dialog);
  return ok;
}
