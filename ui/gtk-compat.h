/* gtk-compat.h: the few things the dialogs write differently for GIMP 2.10
 * (GTK 2, libgimpui-2.0) and GIMP 3 (GTK 3, libgimpui-3.0), so that the
 * dialogs themselves are one code for both.  The version tests live here
 * and nowhere else in ui/.
 *
 * What needs no helper, being the same in both when written so:
 * - an adjustment is a GtkAdjustment * in both:
 *   GTK_ADJUSTMENT (gtk_adjustment_new (...)) (GTK 2 returns a GtkObject);
 * - drag and drop (gtk_drag_dest_set, "drag-data-received",
 *   gtk_selection_data_get_uris, gtk_drag_finish), GtkComboBoxText,
 *   GtkIconView, file choosers, gtk_dialog_get_content_area,
 *   gimp_dialog_new, gimp_help_set_help_data, gimp_frame_new,
 *   gimp_int_combo_box_get_active;
 * - a drawing function reads its size with gtk_widget_get_allocation;
 * - a scrolled window's scroll bars: GTK 2 shows them always unless told,
 *   GTK 3 when needed: gtk_scrolled_window_set_policy says which in both;
 * - gimp_ui_init differs, but only the hosts (plugin/host_gimp*.c) call
 *   it. */
#ifndef CONVNET_GTK_COMPAT_H
#define CONVNET_GTK_COMPAT_H

#include <gtk/gtk.h>
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

/* ---------------------------------------------------------------- boxes */

/* A box that does not make its children the same size (gtk_hbox_new and
 * gtk_vbox_new with FALSE). */
static inline GtkWidget *
compat_box_new (GtkOrientation orientation,
                int            spacing)
{
#if GTK_CHECK_VERSION (3, 0, 0)
  return gtk_box_new (orientation, spacing);
#else
  return orientation == GTK_ORIENTATION_HORIZONTAL
         ? gtk_hbox_new (FALSE, spacing) : gtk_vbox_new (FALSE, spacing);
#endif
}

/* ---------------------------------------------------------------- grids */

/* A grid of rows and columns (a GtkTable in GTK 2, a GtkGrid in GTK 3),
 * which grows as widgets are attached. */
static inline GtkWidget *
compat_grid_new (int row_spacing,
                 int column_spacing)
{
#if GTK_CHECK_VERSION (3, 0, 0)
  GtkWidget *grid = gtk_grid_new ();

  gtk_grid_set_row_spacing (GTK_GRID (grid), row_spacing);
  gtk_grid_set_column_spacing (GTK_GRID (grid), column_spacing);
#else
  GtkWidget *grid = gtk_table_new (1, 1, FALSE);

  gtk_table_set_row_spacings (GTK_TABLE (grid), row_spacing);
  gtk_table_set_col_spacings (GTK_TABLE (grid), column_spacing);
#endif
  return grid;
}

/* WIDGET over WIDTH columns from LEFT and HEIGHT rows from TOP, filling
 * its cells; HEXPAND and VEXPAND give it a share of extra width and
 * height (gtk_table_attach_defaults is both TRUE). */
static inline void
compat_grid_attach (GtkWidget *grid,
                    GtkWidget *widget,
                    int        left,
                    int        top,
                    int        width,
                    int        height,
                    gboolean   hexpand,
                    gboolean   vexpand)
{
#if GTK_CHECK_VERSION (3, 0, 0)
  /* FALSE leaves the widget's own wish (a child's expand propagates) */
  if (hexpand)
    gtk_widget_set_hexpand (widget, TRUE);
  if (vexpand)
    gtk_widget_set_vexpand (widget, TRUE);
  gtk_grid_attach (GTK_GRID (grid), widget, left, top, width, height);
#else
  gtk_table_attach (GTK_TABLE (grid), widget, left, left + width, top,
                    top + height,
                    GTK_FILL | (hexpand ? GTK_EXPAND : 0),
                    GTK_FILL | (vexpand ? GTK_EXPAND : 0), 0, 0);
#endif
}

/* gimp_table_attach_aligned on both: a mnemonic label LABEL_TEXT at
 * column LEFT of row TOP, aligned by XALIGN and YALIGN, and WIDGET right of
 * it over COLUMNS columns, taking the extra width, or keeping its own
 * width at the left when LEFT_ALIGN.  Returns the label, whose mnemonic
 * widget is WIDGET. */
static inline GtkWidget *
compat_grid_attach_aligned (GtkWidget  *grid,
                            int         left,
                            int         top,
                            const char *label_text,
                            float       xalign,
                            float       yalign,
                            GtkWidget  *widget,
                            int         columns,
                            gboolean    left_align)
{
#if GIMP_CHECK_VERSION (2, 99, 0)
  if (left_align)
    gtk_widget_set_halign (widget, GTK_ALIGN_START);
  return gimp_grid_attach_aligned (GTK_GRID (grid), left, top, label_text,
                                   xalign, yalign, widget, columns);
#else
  return gimp_table_attach_aligned (GTK_TABLE (grid), left, top, label_text,
                                    xalign, yalign, widget, columns,
                                    left_align);
#endif
}

/* --------------------------------------------------------------- labels */

/* gtk_misc_set_alignment for a label (GtkMisc is deprecated in GTK 3). */
static inline void
compat_label_set_alignment (GtkWidget *label,
                            float      xalign,
                            float      yalign)
{
#if GTK_CHECK_VERSION (3, 0, 0)
  gtk_label_set_xalign (GTK_LABEL (label), xalign);
  gtk_label_set_yalign (GTK_LABEL (label), yalign);
#else
  gtk_misc_set_alignment (GTK_MISC (label), xalign, yalign);
#endif
}

/* -------------------------------------------------------- progress bars */

/* A progress bar that shows the text set on it, as GTK 2's always do
 * (GTK 3 shows it only when asked), and nothing before (GTK 3 would show
 * a percentage). */
static inline GtkWidget *
compat_progress_bar_new (void)
{
  GtkWidget *bar = gtk_progress_bar_new ();

#if GTK_CHECK_VERSION (3, 0, 0)
  gtk_progress_bar_set_show_text (GTK_PROGRESS_BAR (bar), TRUE);
  gtk_progress_bar_set_text (GTK_PROGRESS_BAR (bar), "");
#endif
  return bar;
}

/* -------------------------------------------------------------- drawing */

/* Draws WIDGET with CR, whose origin is the widget's top left corner;
 * returns TRUE when it drew everything (GTK 3's "draw" handler). */
typedef gboolean (* CompatDrawFunc) (GtkWidget *widget,
                                     cairo_t   *cr,
                                     gpointer   data);

#if !GTK_CHECK_VERSION (3, 0, 0)
typedef struct
{
  CompatDrawFunc draw;
  gpointer       data;
} CompatDrawClosure;

static inline gboolean
compat_expose_to_draw (GtkWidget         *widget,
                       GdkEventExpose    *event,
                       CompatDrawClosure *closure)
{
  cairo_t *cr = gdk_cairo_create (event->window);
  gboolean handled;

  gdk_cairo_region (cr, event->region);
  cairo_clip (cr);
  /* a widget without a window of its own draws on its parent's */
  if (!gtk_widget_get_has_window (widget))
    {
      GtkAllocation allocation;

      gtk_widget_get_allocation (widget, &allocation);
      cairo_translate (cr, allocation.x, allocation.y);
    }
  handled = closure->draw (widget, cr, closure->data);
  cairo_destroy (cr);
  return handled;
}

static inline void
compat_draw_closure_free (gpointer  data,
                          GClosure *closure)
{
  (void) closure;
  g_free (data);
}
#endif

/* Has DRAW paint WIDGET whenever it is shown or redrawn ("expose-event"
 * in GTK 2, "draw" in GTK 3). */
static inline void
compat_widget_connect_draw (GtkWidget      *widget,
                            CompatDrawFunc  draw,
                            gpointer        data)
{
#if GTK_CHECK_VERSION (3, 0, 0)
  g_signal_connect (widget, "draw", G_CALLBACK (draw), data);
#else
  CompatDrawClosure *closure = g_new (CompatDrawClosure, 1);

  closure->draw = draw;
  closure->data = data;
  g_signal_connect_data (widget, "expose-event",
                         G_CALLBACK (compat_expose_to_draw), closure,
                         compat_draw_closure_free, 0);
#endif
}

/* -------------------------------------------------------------- dialogs */

/* Puts WIDGET (a button that does not end the dialog) in DIALOG's row of
 * buttons, or at the start of its header bar where GIMP 3 uses one. */
static inline void
compat_dialog_pack_button (GtkWidget *dialog,
                           GtkWidget *widget)
{
  GtkWidget *buttons;

#if GTK_CHECK_VERSION (3, 0, 0)
  gint use_header_bar = FALSE;

  g_object_get (dialog, "use-header-bar", &use_header_bar, NULL);
  if (use_header_bar)
    {
      GtkWidget *bar = gtk_dialog_get_header_bar (GTK_DIALOG (dialog));

      gtk_header_bar_pack_start (GTK_HEADER_BAR (bar), widget);
      return;
    }
  /* the action area is deprecated for header bars, which GIMP 3 may use */
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  buttons = gtk_dialog_get_action_area (GTK_DIALOG (dialog));
  G_GNUC_END_IGNORE_DEPRECATIONS
#else
  buttons = gtk_dialog_get_action_area (GTK_DIALOG (dialog));
#endif
  gtk_box_pack_start (GTK_BOX (buttons), widget, FALSE, FALSE, 0);
}

/* ---------------------------------------------------------------- style */

/* The theme's colours of a selected row in WIDGET (a tree view), as red,
 * green and blue from 0 to 1: its BACKGROUND and its TEXT, as drawn while
 * WIDGET has the focus or not (GtkStyle in GTK 2, the style context in
 * GTK 3). */
static inline void
compat_widget_get_selection_colours (GtkWidget *widget,
                                     double     background[3],
                                     double     text[3])
{
#if GTK_CHECK_VERSION (3, 0, 0)
  GtkStyleContext *context = gtk_widget_get_style_context (widget);
  GtkStateFlags state = GTK_STATE_FLAG_SELECTED;
  GdkRGBA *back = NULL;
  GdkRGBA fore;

  if (gtk_widget_has_focus (widget))
    state |= GTK_STATE_FLAG_FOCUSED;
  gtk_style_context_save (context);
  gtk_style_context_set_state (context, state);
  gtk_style_context_get (context, state,
                         GTK_STYLE_PROPERTY_BACKGROUND_COLOR, &back, NULL);
  gtk_style_context_get_color (context, state, &fore);
  gtk_style_context_restore (context);
  background[0] = back->red;
  background[1] = back->green;
  background[2] = back->blue;
  gdk_rgba_free (back);
  text[0] = fore.red;
  text[1] = fore.green;
  text[2] = fore.blue;
#else
  GtkStyle *style = gtk_widget_get_style (widget);
  const GtkStateType state = gtk_widget_has_focus (widget)
                             ? GTK_STATE_SELECTED : GTK_STATE_ACTIVE;

  background[0] = style->base[state].red / 65535.0;
  background[1] = style->base[state].green / 65535.0;
  background[2] = style->base[state].blue / 65535.0;
  text[0] = style->text[state].red / 65535.0;
  text[1] = style->text[state].green / 65535.0;
  text[2] = style->text[state].blue / 65535.0;
#endif
}

/* --------------------------------------------------------------- images */

/* A combo of every image open in GIMP; gimp_int_combo_box_get_active
 * gives the chosen image's ID in both. */
static inline GtkWidget *
compat_image_combo_box_new (void)
{
#if GIMP_CHECK_VERSION (2, 99, 0)
  return gimp_image_combo_box_new (NULL, NULL, NULL);
#else
  return gimp_image_combo_box_new (NULL, NULL);
#endif
}

#endif
