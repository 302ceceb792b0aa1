/* model_combo.c: the widgets the dialogs share: a chooser of the models
 * the user has, and the layout of a dialog's options. */
#include "config.h"

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "convnet.h"
#include "gtk-compat.h"
#include "ui.h"

void
convnet_ui_model_combo_fill (GtkWidget         *combo,
                             const char *const *folders,
                             const char        *selected)
{
  GPtrArray *models = convnet_model_registry_list (folders, FALSE);
  GtkTreeModel *store = gtk_combo_box_get_model (GTK_COMBO_BOX (combo));
  int active = -1;

  gtk_list_store_clear (GTK_LIST_STORE (store));
  for (guint i = 0; i < models->len; i++)
    {
      const ConvnetModelEntry *e = g_ptr_array_index (models, i);
      gtk_combo_box_text_append_text (GTK_COMBO_BOX_TEXT (combo), e->name);
      if (g_strcmp0 (e->name, selected) == 0)
        active = i;
    }
  if (active < 0 && selected && *selected)
    {
      /* remembered but gone: still shown, so the error says why */
      gtk_combo_box_text_append_text (GTK_COMBO_BOX_TEXT (combo), selected);
      active = models->len;
    }
  gtk_combo_box_set_active (GTK_COMBO_BOX (combo), MAX (active, 0));
  g_ptr_array_unref (models);
}

GtkWidget *
convnet_ui_model_combo (const char *const *folders, const char *selected)
{
  GtkWidget *combo = gtk_combo_box_text_new ();

  convnet_ui_model_combo_fill (combo, folders, selected);
  gimp_help_set_help_data (combo,
                           _("Models found in your weights folder and the "
                             "installed ones. Download... fetches "
                             "torchvision's official weights; a checkpoint "
                             "put in the weights folder by hand (for example "
                             "resnet50-0676ba61.pth) is found too."), NULL);
  return combo;
}

GtkWidget *
convnet_ui_dialog_table (GtkWidget *dialog)
{
  GtkWidget *grid = compat_grid_new (6, 6);

  gtk_container_set_border_width (GTK_CONTAINER (grid), 12);
  gtk_box_pack_start (GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (dialog))),
                      grid, TRUE, TRUE, 0);
  return grid;
}
