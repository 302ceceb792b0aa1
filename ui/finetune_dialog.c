/* finetune_dialog.c: Filters > ConvNet > Fine-tune: classes of the user's
 * images, training with live curves on a worker thread, the results as a
 * confusion matrix, and saving the model under a name. */
#include "config.h"

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "convnet.h"
#include "gtk-compat.h"
#include "train/train.h"
#include "ui.h"

#include "finetune_dialog.h"

/* ------------------------------------------------------------ classes */

int
tune_selected_class (Tune *t)
{
  GtkTreeSelection *sel = gtk_tree_view_get_selection (GTK_TREE_VIEW (t->class_view));
  GtkTreeModel *model;
  GtkTreeIter iter;
  GtkTreePath *path;
  int index;

  if (!gtk_tree_selection_get_selected (sel, &model, &iter))
    return -1;
  path = gtk_tree_model_get_path (model, &iter);
  index = gtk_tree_path_get_indices (path)[0];
  gtk_tree_path_free (path);
  return index;
}

GPtrArray *
tune_class_files (Tune *t, int c)
{
  return g_ptr_array_index (t->project->class_files, c);
}

void
tune_refresh_counts (Tune *t)
{
  GtkTreeIter iter;
  gboolean more = gtk_tree_model_get_iter_first (GTK_TREE_MODEL (t->classes), &iter);

  for (int c = 0; more; c++)
    {
      gtk_list_store_set (t->classes, &iter, CLASS_COUNT, tune_class_files (t, c)->len,
                          -1);
      more = gtk_tree_model_iter_next (GTK_TREE_MODEL (t->classes), &iter);
    }
}

void
tune_show_thumbnails (Tune *t)
{
  const int c = tune_selected_class (t);

  gtk_list_store_clear (t->thumbs);
  for (guint i = 0; c >= 0 && i < tune_class_files (t, c)->len; i++)
    {
      const char *path = g_ptr_array_index (tune_class_files (t, c), i);
      GdkPixbuf *pixbuf = gdk_pixbuf_new_from_file_at_size (path, THUMB, THUMB,
                                                            NULL);
      GtkTreeIter iter;

      gtk_list_store_append (t->thumbs, &iter);
      gtk_list_store_set (t->thumbs, &iter, THUMB_PIXBUF, pixbuf,
                          THUMB_PATH, path, -1);
      if (pixbuf)
        g_object_unref (pixbuf);
    }
}

void
tune_add_class_row (Tune *t, const char *name)
{
  GtkTreeIter iter;

  gtk_list_store_append (t->classes, &iter);
  gtk_list_store_set (t->classes, &iter, CLASS_NAME, name, CLASS_COUNT, 0, -1);
}

static void
on_add_class (GtkWidget *button, Tune *t)
{
  char *name = g_strdup_printf (_("class %u"), t->project->class_names->len + 1);
  GtkTreePath *path;

  (void) button;
  convnet_ui_project_add_class (t->project, name);
  tune_add_class_row (t, name);
  path = gtk_tree_path_new_from_indices (t->project->class_names->len - 1, -1);
  gtk_tree_view_set_cursor (GTK_TREE_VIEW (t->class_view), path,
                            gtk_tree_view_get_column (GTK_TREE_VIEW (t->class_view), 0),
                            TRUE);
  gtk_tree_path_free (path);
  g_free (name);
}

static void
on_remove_class (GtkWidget *button, Tune *t)
{
  const int c = tune_selected_class (t);
  GtkTreeIter iter;

  (void) button;
  if (c < 0)
    return;
  g_ptr_array_unref (tune_class_files (t, c));
  g_ptr_array_remove_index (t->project->class_files, c);
  g_ptr_array_remove_index (t->project->class_names, c);
  gtk_tree_model_iter_nth_child (GTK_TREE_MODEL (t->classes), &iter, NULL, c);
  gtk_list_store_remove (t->classes, &iter);
  tune_show_thumbnails (t);
}

static void
on_class_renamed (GtkCellRendererText *cell, char *path, char *text, Tune *t)
{
  const int c = atoi (path);
  GtkTreeIter iter;

  (void) cell;
  if (!*g_strstrip (text) || strchr (text, '/'))
    return;
  g_free (g_ptr_array_index (t->project->class_names, c));
  g_ptr_array_index (t->project->class_names, c) = g_strdup (text);
  gtk_tree_model_iter_nth_child (GTK_TREE_MODEL (t->classes), &iter, NULL, c);
  gtk_list_store_set (t->classes, &iter, CLASS_NAME, text, -1);
}

/* ------------------------------------------------------------- images */



static void
add_path (Tune *t, int c, const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      GDir *dir = g_dir_open (path, 0, NULL);
      const char *name;
      GPtrArray *names = g_ptr_array_new_with_free_func (g_free);

      while (dir && (name = g_dir_read_name (dir)))
        if (name[0] != '.')
          g_ptr_array_add (names, g_build_filename (path, name, NULL));
      if (dir)
        g_dir_close (dir);
      g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
      for (guint i = 0; i < names->len; i++)
        add_path (t, c, g_ptr_array_index (names, i));
      g_ptr_array_unref (names);
      return;
    }
  /* only what gdk-pixbuf recognises; the rest is reported at training */
  if (gdk_pixbuf_get_file_info (path, NULL, NULL))
    g_ptr_array_add (tune_class_files (t, c), g_strdup (path));
}

static void
added (Tune *t)
{
  tune_refresh_counts (t);
  tune_show_thumbnails (t);
  tune_preview_augmentations (t);
}

static int
need_class (Tune *t)
{
  int c = tune_selected_class (t);

  if (c < 0)
    gtk_label_set_text (GTK_LABEL (t->status),
                        _("Add a class and select it first."));
  return c;
}

static void
choose_files (Tune *t, GtkFileChooserAction action)
{
  const int c = need_class (t);
  GtkWidget *chooser;

  if (c < 0)
    return;
  chooser = gtk_file_chooser_dialog_new (action == GTK_FILE_CHOOSER_ACTION_OPEN
                                         ? _("Add Images") : _("Add Folders"),
                                         GTK_WINDOW (t->dialog), action,
                                         _("_Cancel"), GTK_RESPONSE_CANCEL,
                                         _("_Add"), GTK_RESPONSE_ACCEPT, NULL);
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (chooser), TRUE);
  if (gtk_dialog_run (GTK_DIALOG (chooser)) == GTK_RESPONSE_ACCEPT)
    {
      GSList *files = gtk_file_chooser_get_filenames (GTK_FILE_CHOOSER (chooser));
      for (GSList *l = files; l; l = l->next)
        add_path (t, c, l->data);
      g_slist_free_full (files, g_free);
      added (t);
    }
  gtk_widget_destroy (chooser);
}

static void
on_add_files (GtkWidget *button, Tune *t)
{
  (void) button;
  choose_files (t, GTK_FILE_CHOOSER_ACTION_OPEN);
}

static void
on_add_folders (GtkWidget *button, Tune *t)
{
  (void) button;
  choose_files (t, GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER);
}

static void
on_drop (GtkWidget *widget, GdkDragContext *context, int x, int y,
         GtkSelectionData *data, guint info, guint time, Tune *t)
{
  char **uris = gtk_selection_data_get_uris (data);
  const int c = need_class (t);

  (void) widget; (void) x; (void) y; (void) info;
  for (int i = 0; c >= 0 && uris && uris[i]; i++)
    {
      char *path = g_filename_from_uri (uris[i], NULL, NULL);
      if (path)
        add_path (t, c, path);
      g_free (path);
    }
  g_strfreev (uris);
  added (t);
  gtk_drag_finish (context, TRUE, FALSE, time);
}

/* From an image open in GIMP: the whole image, or its selection. */
static void
add_from_gimp (Tune *t, gboolean selection)
{
  const int c = need_class (t);
  int image;
  GError *error = NULL;
  char *path;

  if (c < 0 || !t->source)
    return;
  if (!gimp_int_combo_box_get_active (GIMP_INT_COMBO_BOX (t->image_combo), &image))
    return;
  path = t->source->export_image (image, selection, t->source->user_data, &error);
  if (path)
    {
      g_ptr_array_add (tune_class_files (t, c), path);
      added (t);
    }
  else
    {
      gtk_label_set_text (GTK_LABEL (t->status), error->message);
      g_error_free (error);
    }
}

static void
on_add_image (GtkWidget *button, Tune *t)
{
  (void) button;
  add_from_gimp (t, FALSE);
}

static void
on_add_selection (GtkWidget *button, Tune *t)
{
  (void) button;
  add_from_gimp (t, TRUE);
}

/* A few augmented versions of the first image of the selected class. */
void
tune_preview_augmentations (Tune *t)
{
  GList *old = gtk_container_get_children (GTK_CONTAINER (t->preview));
  const int c = tune_selected_class (t);
  ConvnetAugment aug;
  ConvnetPreprocess pre = { FALSE, 0, 96, 96, { 0, 0, 0 }, { 1, 1, 1 }, FALSE };
  ConvnetImage *image;
  ConvnetRng rng;
  guint flags = 0;

  for (GList *l = old; l; l = l->next)
    gtk_widget_destroy (l->data);
  g_list_free (old);
  if (c < 0 || tune_class_files (t, c)->len == 0)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (augmentations); i++)
    if (gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (t->augment[i])))
      flags |= augmentations[i].flag;
  image = convnet_image_load (g_ptr_array_index (tune_class_files (t, c), 0), NULL);
  if (!image)
    return;
  convnet_augment_defaults (&aug, flags);
  convnet_rng_seed (&rng, g_get_monotonic_time ());
  for (int k = 0; k < 4; k++)
    {
      float out[3 * 96 * 96];
      GdkPixbuf *pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 96, 96);
      guint8 *px = gdk_pixbuf_get_pixels (pixbuf);
      const int stride = gdk_pixbuf_get_rowstride (pixbuf);

      if (convnet_augment_sample (&aug, &pre, image, &rng, out, NULL))
        for (int y = 0; y < 96; y++)
          for (int x = 0; x < 96; x++)
            for (int ch = 0; ch < 3; ch++)
              px[y * stride + x * 3 + ch] =
                (guint8) CLAMP (out[ch * 96 * 96 + y * 96 + x] * 255.0f + 0.5f,
                                0, 255);
      gtk_box_pack_start (GTK_BOX (t->preview), gtk_image_new_from_pixbuf (pixbuf),
                          FALSE, FALSE, 0);
      g_object_unref (pixbuf);
    }
  gtk_widget_show_all (t->preview);
  convnet_image_free (image);
}

static void
on_augment_toggled (GtkWidget *button, Tune *t)
{
  (void) button;
  tune_preview_augmentations (t);
}

/* ------------------------------------------------------------ project */

static void
load_project_into_view (Tune *t)
{
  gtk_list_store_clear (t->classes);
  for (guint c = 0; c < t->project->class_names->len; c++)
    tune_add_class_row (t, g_ptr_array_index (t->project->class_names, c));
  tune_refresh_counts (t);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (t->epochs), t->project->epochs);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (t->lr), t->project->lr);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (t->share),
                             t->project->validation_share);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (t->last_block),
                                t->project->train_last_block);
  for (guint i = 0; i < G_N_ELEMENTS (augmentations); i++)
    gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (t->augment[i]),
                                  (t->project->augment & augmentations[i].flag) != 0);
  if (t->project->class_names->len)
    {
      GtkTreePath *first = gtk_tree_path_new_first ();
      gtk_tree_view_set_cursor (GTK_TREE_VIEW (t->class_view), first, NULL, FALSE);
      gtk_tree_path_free (first);
    }
  tune_show_thumbnails (t);
}

static void
on_project (GtkWidget *button, Tune *t)
{
  const gboolean save = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "save"));
  GtkWidget *chooser = gtk_file_chooser_dialog_new (save ? _("Save Project")
                                                    : _("Open Project"),
                                                    GTK_WINDOW (t->dialog),
                                                    save ? GTK_FILE_CHOOSER_ACTION_SAVE
                                                    : GTK_FILE_CHOOSER_ACTION_OPEN,
                                                    _("_Cancel"), GTK_RESPONSE_CANCEL,
                                                    save ? _("_Save") : _("_Open"),
                                                    GTK_RESPONSE_ACCEPT, NULL);
  gtk_file_chooser_set_do_overwrite_confirmation (GTK_FILE_CHOOSER (chooser), TRUE);
  if (gtk_dialog_run (GTK_DIALOG (chooser)) == GTK_RESPONSE_ACCEPT)
    {
      char *path = gtk_file_chooser_get_filename (GTK_FILE_CHOOSER (chooser));
      GError *error = NULL;

      if (save)
        {
          tune_read_settings (t);
          convnet_ui_project_save (t->project, path, &error);
        }
      else
        {
          ConvnetUiProject *p = convnet_ui_project_load (path, &error);
          /* in place: the caller holds t->project and saves it as the
           * last project when the dialog closes */
          if (p)
            {
              convnet_ui_project_take (t->project, p);
              convnet_ui_model_combo_fill (t->model, t->folders,
                                           t->project->base_model);
              load_project_into_view (t);
            }
        }
      gtk_label_set_text (GTK_LABEL (t->status), error ? error->message : "");
      g_clear_error (&error);
      g_free (path);
    }
  gtk_widget_destroy (chooser);
}

/* ------------------------------------------------------------- layout */

static GtkWidget *
button (const char *label, GCallback callback, Tune *t)
{
  GtkWidget *b = gtk_button_new_with_mnemonic (label);

  g_signal_connect (b, "clicked", callback, t);
  return b;
}

static double
luminance (const double rgb[3])
{
  return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
}

/* A colour component from 0 to 1 as Pango's 16 bits. */
static guint16
pango_component (double value)
{
  return (guint16) CLAMP (value * 65535.0 + 0.5, 0.0, 65535.0);
}

/* A selected class's name in a colour that contrasts with the selection.
 * GTK 2 draws a selected row in the theme's colours, but GIMP's dark theme
 * without the pixmap engine gives the selection light text on a light
 * background.  The renderer's own colours do not apply to a selected row;
 * Pango attributes do: the text gets the theme's selection background
 * behind it and a text colour that contrasts with it (black or white when
 * the theme's is too close). */
static void
class_cell_colours (GtkTreeViewColumn *column, GtkCellRenderer *cell,
                    GtkTreeModel *model, GtkTreeIter *iter, gpointer view)
{
  GtkTreeSelection *sel = gtk_tree_view_get_selection (GTK_TREE_VIEW (view));
  double background[3], text[3];
  PangoAttrList *attributes;

  (void) column; (void) model;
  if (!gtk_tree_selection_iter_is_selected (sel, iter))
    {
      g_object_set (cell, "attributes", NULL, NULL);
      return;
    }
  compat_widget_get_selection_colours (GTK_WIDGET (view), background, text);
  if (fabs (luminance (background) - luminance (text)) < 0.4)
    text[0] = text[1] = text[2] = luminance (background) > 0.5 ? 0.0 : 1.0;
  attributes = pango_attr_list_new ();
  pango_attr_list_insert (attributes,
                          pango_attr_foreground_new (pango_component (text[0]),
                                                     pango_component (text[1]),
                                                     pango_component (text[2])));
  pango_attr_list_insert (attributes,
                          pango_attr_background_new (pango_component (background[0]),
                                                     pango_component (background[1]),
                                                     pango_component (background[2])));
  g_object_set (cell, "attributes", attributes, NULL);
  pango_attr_list_unref (attributes);
}

static GtkWidget *
classes_pane (Tune *t)
{
  GtkWidget *vbox = compat_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *scroll, *row;
  GtkCellRenderer *cell = gtk_cell_renderer_text_new ();
  GtkCellRenderer *count = gtk_cell_renderer_text_new ();
  static const GtkTargetEntry uris[] = { { (char *) "text/uri-list", 0, 0 } };

  t->classes = gtk_list_store_new (N_CLASS_COLUMNS, G_TYPE_STRING, G_TYPE_INT);
  t->class_view = gtk_tree_view_new_with_model (GTK_TREE_MODEL (t->classes));
  g_object_set (cell, "editable", TRUE, NULL);
  g_signal_connect (cell, "edited", G_CALLBACK (on_class_renamed), t);
  gtk_tree_view_insert_column_with_attributes (GTK_TREE_VIEW (t->class_view), -1,
                                               _("Class"), cell, "text",
                                               CLASS_NAME, NULL);
  gtk_tree_view_insert_column_with_attributes (GTK_TREE_VIEW (t->class_view), -1,
                                               _("Images"), count,
                                               "text", CLASS_COUNT, NULL);
  gtk_tree_view_column_set_cell_data_func (gtk_tree_view_get_column (GTK_TREE_VIEW (t->class_view), 0),
                                           cell, class_cell_colours,
                                           t->class_view, NULL);
  gtk_tree_view_column_set_cell_data_func (gtk_tree_view_get_column (GTK_TREE_VIEW (t->class_view), 1),
                                           count, class_cell_colours,
                                           t->class_view, NULL);
  g_signal_connect_swapped (gtk_tree_view_get_selection (GTK_TREE_VIEW (t->class_view)),
                            "changed", G_CALLBACK (added), t);
  scroll = gtk_scrolled_window_new (NULL, NULL);
  /* GTK 2's default, which GTK 3 does not share */
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroll),
                                  GTK_POLICY_ALWAYS, GTK_POLICY_ALWAYS);
  gtk_widget_set_size_request (scroll, 200, 160);
  gtk_container_add (GTK_CONTAINER (scroll), t->class_view);
  gtk_box_pack_start (GTK_BOX (vbox), scroll, TRUE, TRUE, 0);
  row = compat_box_new (GTK_ORIENTATION_HORIZONTAL, 4);
  gtk_box_pack_start (GTK_BOX (row), button (_("_Add Class"), G_CALLBACK (on_add_class), t), FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (row), button (_("_Remove"), G_CALLBACK (on_remove_class), t), FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (vbox), row, FALSE, FALSE, 0);

  t->thumbs = gtk_list_store_new (N_THUMB_COLUMNS, GDK_TYPE_PIXBUF, G_TYPE_STRING);
  t->icon_view = gtk_icon_view_new_with_model (GTK_TREE_MODEL (t->thumbs));
  gtk_icon_view_set_pixbuf_column (GTK_ICON_VIEW (t->icon_view), THUMB_PIXBUF);
  gtk_icon_view_set_item_width (GTK_ICON_VIEW (t->icon_view), THUMB + 4);
  gtk_drag_dest_set (t->icon_view, GTK_DEST_DEFAULT_ALL, uris, 1,
                     GDK_ACTION_COPY);
  g_signal_connect (t->icon_view, "drag-data-received", G_CALLBACK (on_drop), t);
  gimp_help_set_help_data (t->icon_view,
                           _("Drop image files or folders here to add them "
                             "to the selected class"), NULL);
  scroll = gtk_scrolled_window_new (NULL, NULL);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroll),
                                  GTK_POLICY_ALWAYS, GTK_POLICY_ALWAYS);
  gtk_widget_set_size_request (scroll, 360, 220);
  gtk_container_add (GTK_CONTAINER (scroll), t->icon_view);
  gtk_box_pack_start (GTK_BOX (vbox), scroll, TRUE, TRUE, 0);

  row = compat_box_new (GTK_ORIENTATION_HORIZONTAL, 4);
  gtk_box_pack_start (GTK_BOX (row), button (_("Add _Images..."), G_CALLBACK (on_add_files), t), FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (row), button (_("Add _Folders..."), G_CALLBACK (on_add_folders), t), FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (vbox), row, FALSE, FALSE, 0);
  row = compat_box_new (GTK_ORIENTATION_HORIZONTAL, 4);
  t->image_combo = compat_image_combo_box_new ();
  gtk_box_pack_start (GTK_BOX (row), t->image_combo, TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (row), button (_("Add _Whole Image"), G_CALLBACK (on_add_image), t), FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (row), button (_("Add This Re_gion"), G_CALLBACK (on_add_selection), t), FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (vbox), row, FALSE, FALSE, 0);
  return vbox;
}

static GtkWidget *
settings_pane (Tune *t)
{
  GtkWidget *vbox = compat_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *grid, *aug, *row, *chooser, *label;
  GtkAdjustment *adj;

  grid = compat_grid_new (4, 6);
  gtk_box_pack_start (GTK_BOX (vbox), grid, FALSE, FALSE, 0);
  chooser = convnet_ui_model_chooser (t->folders, t->project->base_model,
                                      &t->model);
  label = compat_grid_attach_aligned (grid, 0, 0, _("_Base model:"), 0.0, 0.5,
                                      chooser, 1, FALSE);
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), t->model);
  adj = GTK_ADJUSTMENT (gtk_adjustment_new (t->project->epochs, 1, 1000, 1,
                                            10, 0));
  t->epochs = gtk_spin_button_new (adj, 1, 0);
  compat_grid_attach_aligned (grid, 0, 1, _("_Epochs:"), 0.0, 0.5, t->epochs,
                              1, TRUE);
  adj = GTK_ADJUSTMENT (gtk_adjustment_new (t->project->lr, 1e-5, 1.0, 1e-4,
                                            1e-3, 0));
  t->lr = gtk_spin_button_new (adj, 1e-4, 5);
  compat_grid_attach_aligned (grid, 0, 2, _("_Learning rate:"), 0.0, 0.5,
                              t->lr, 1, TRUE);
  adj = GTK_ADJUSTMENT (gtk_adjustment_new (t->project->validation_share,
                                            0.05, 0.5, 0.05, 0.1, 0));
  t->share = gtk_spin_button_new (adj, 0.05, 2);
  compat_grid_attach_aligned (grid, 0, 3, _("_Validation share:"), 0.0, 0.5,
                              t->share, 1, TRUE);
  t->last_block = gtk_check_button_new_with_mnemonic (_("Also train the last bloc_k"));
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (t->last_block), t->project->train_last_block);
  compat_grid_attach (grid, t->last_block, 1, 4, 1, 1, TRUE, TRUE);

  aug = gimp_frame_new (_("Augmentation"));
  gtk_box_pack_start (GTK_BOX (vbox), aug, FALSE, FALSE, 0);
  row = compat_box_new (GTK_ORIENTATION_VERTICAL, 2);
  gtk_container_add (GTK_CONTAINER (aug), row);
  for (guint i = 0; i < G_N_ELEMENTS (augmentations); i++)
    {
      t->augment[i] = gtk_check_button_new_with_label (gettext (augmentations[i].label));
      gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (t->augment[i]),
                                    (t->project->augment & augmentations[i].flag) != 0);
      g_signal_connect (t->augment[i], "toggled", G_CALLBACK (on_augment_toggled), t);
      gtk_box_pack_start (GTK_BOX (row), t->augment[i], FALSE, FALSE, 0);
    }
  t->preview = compat_box_new (GTK_ORIENTATION_HORIZONTAL, 4);
  gtk_box_pack_start (GTK_BOX (row), t->preview, FALSE, FALSE, 0);

  row = compat_box_new (GTK_ORIENTATION_HORIZONTAL, 4);
  t->train_button = button (_("_Train"), G_CALLBACK (tune_on_train), t);
  t->cancel_button = button (_("Ca_ncel Training"), G_CALLBACK (tune_on_cancel), t);
  gtk_widget_set_sensitive (t->cancel_button, FALSE);
  gtk_box_pack_start (GTK_BOX (row), t->train_button, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (row), t->cancel_button, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (vbox), row, FALSE, FALSE, 0);
  t->progress = compat_progress_bar_new ();
  gtk_box_pack_start (GTK_BOX (vbox), t->progress, FALSE, FALSE, 0);
  t->curves = tune_curves_new (t);
  gtk_box_pack_start (GTK_BOX (vbox), t->curves, TRUE, TRUE, 0);
  t->status = gtk_label_new ("");
  gtk_label_set_line_wrap (GTK_LABEL (t->status), TRUE);
  gtk_box_pack_start (GTK_BOX (vbox), t->status, FALSE, FALSE, 0);
  t->results = compat_box_new (GTK_ORIENTATION_VERTICAL, 4);
  gtk_box_pack_start (GTK_BOX (vbox), t->results, FALSE, FALSE, 0);

  row = compat_box_new (GTK_ORIENTATION_HORIZONTAL, 4);
  t->name = gtk_entry_new ();
  gtk_entry_set_text (GTK_ENTRY (t->name), _("my-classes"));
  t->save_button = button (_("_Save Model"), G_CALLBACK (tune_on_save), t);
  gtk_widget_set_sensitive (t->save_button, FALSE);
  gtk_box_pack_start (GTK_BOX (row), gtk_label_new (_("Name:")), FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (row), t->name, TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (row), t->save_button, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (vbox), row, FALSE, FALSE, 0);
  return vbox;
}

char *
convnet_ui_finetune_dialog (const char *const *folders,
                            const ConvnetUiImageSource *source,
                            ConvnetUiProject *project)
{
  Tune t = { 0 };
  GtkWidget *hbox, *open, *save;
  char *saved;

  t.folders = folders;
  t.source = source;
  t.project = project;
  t.points = g_array_new (FALSE, FALSE, sizeof (EpochPoint));
  t.dialog = gimp_dialog_new (_("Fine-tune"), PLUG_IN_ROLE, NULL, 0,
                              gimp_standard_help_func,
                              "plug-in-convnet-finetune",
                              _("_Close"), GTK_RESPONSE_CLOSE, NULL);
  open = button (_("_Open Project..."), G_CALLBACK (on_project), &t);
  save = button (_("Save _Project..."), G_CALLBACK (on_project), &t);
  g_object_set_data (G_OBJECT (save), "save", GINT_TO_POINTER (1));
  compat_dialog_pack_button (t.dialog, open);
  compat_dialog_pack_button (t.dialog, save);
  hbox = compat_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_container_set_border_width (GTK_CONTAINER (hbox), 12);
  gtk_box_pack_start (GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (t.dialog))),
                      hbox, TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (hbox), classes_pane (&t), TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (hbox), settings_pane (&t), FALSE, FALSE, 0);
  load_project_into_view (&t);
  gtk_widget_show_all (t.dialog);

  gimp_dialog_run (GIMP_DIALOG (t.dialog));
  tune_read_settings (&t);
  tune_finish (&t);
  gtk_widget_destroy (t.dialog);
  g_array_unref (t.points);
  saved = t.saved;
  return saved;
}
