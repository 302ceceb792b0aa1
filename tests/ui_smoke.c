/* ui_smoke.c: the scripted user of ui_dialog_smoke: finding the dialogs'
 * widgets, playing steps on a dialog while it runs its own loop, TAP
 * checks and screenshots; and what stands in for GIMP outside it. */
#include "config.h"

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui_smoke.h"

static int checks_run, checks_failed;
static const char *artifacts;

void
check (gboolean ok, const char *format, ...)
{
  va_list args;
  char *name;

  va_start (args, format);
  name = g_strdup_vprintf (format, args);
  va_end (args);
  printf ("%s %d - %s\n", ok ? "ok" : "not ok", ++checks_run, name);
  fflush (stdout);
  if (!ok)
    checks_failed++;
  g_free (name);
}

void
skip (const char *name, const char *why)
{
  printf ("ok %d - %s # SKIP %s\n", ++checks_run, name, why);
}

/* Outside GIMP there is no image window to be transient for, and no
 * images to list: libgimpui's functions would ask GIMP, which is not
 * there.  These take their place in this program. */
void
gimp_window_set_transient (GtkWindow *window)
{
  (void) window;
}

#define FAKE_IMAGE_ID 7

/* One image, chosen: gimp_int_combo_box_get_active gives its ID. */
static GtkWidget *
fake_image_combo (void)
{
  GtkWidget *combo = gimp_int_combo_box_new ("bag.png-1", FAKE_IMAGE_ID,
                                             NULL);

  gimp_int_combo_box_set_active (GIMP_INT_COMBO_BOX (combo), FAKE_IMAGE_ID);
  return combo;
}

#if GIMP_CHECK_VERSION (2, 99, 0)
GtkWidget *
gimp_image_combo_box_new (GimpImageConstraintFunc constraint, gpointer data,
                          GDestroyNotify data_destroy)
{
  (void) constraint; (void) data; (void) data_destroy;
  return fake_image_combo ();
}
#else
GtkWidget *
gimp_image_combo_box_new (GimpImageConstraintFunc constraint, gpointer data)
{
  (void) constraint; (void) data;
  return fake_image_combo ();
}
#endif

/* ------------------------------------------------------------ widgets */

void
collect (GtkWidget *widget, GType type, GList **found)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    *found = g_list_append (*found, widget);
  if (GTK_IS_CONTAINER (widget))
    {
      GList *children = gtk_container_get_children (GTK_CONTAINER (widget));

      for (GList *l = children; l; l = l->next)
        collect (l->data, type, found);
      g_list_free (children);
    }
}

/* The N-th widget of TYPE in ROOT, depth first; NULL if none. */
GtkWidget *
find_nth (GtkWidget *root, GType type, guint n)
{
  GList *found = NULL;
  GtkWidget *widget;

  collect (root, type, &found);
  widget = g_list_nth_data (found, n);
  g_list_free (found);
  return widget;
}

guint
count (GtkWidget *root, GType type)
{
  GList *found = NULL;
  guint n;

  collect (root, type, &found);
  n = g_list_length (found);
  g_list_free (found);
  return n;
}

GtkWidget *
find_label (GtkWidget *root, const char *text)
{
  GList *found = NULL;
  GtkWidget *label = NULL;

  collect (root, GTK_TYPE_LABEL, &found);
  for (GList *l = found; l; l = l->next)
    if (strcmp (gtk_label_get_label (l->data), text) == 0)
      label = l->data;
  g_list_free (found);
  return label;
}

GtkWidget *
shown_dialog (const char *title)
{
  GList *windows = gtk_window_list_toplevels ();
  GtkWidget *dialog = NULL;

  for (GList *l = windows; l; l = l->next)
    if (GTK_IS_DIALOG (l->data) && gtk_widget_get_visible (l->data)
        && g_strcmp0 (gtk_window_get_title (l->data), title) == 0)
      dialog = l->data;
  g_list_free (windows);
  return dialog;
}

GdkPixbuf *
grab (GtkWidget *window)
{
  GdkWindow *w = gtk_widget_get_window (window);
  const int width = gdk_window_get_width (w);
  const int height = gdk_window_get_height (w);

#if GTK_CHECK_VERSION (3, 0, 0)
  return gdk_pixbuf_get_from_window (w, 0, 0, width, height);
#else
  return gdk_pixbuf_get_from_drawable (NULL, w, NULL, 0, 0, 0, 0, width,
                                       height);
#endif
}

/* The width WIDGET asks for at the least. */
int
needed_width (GtkWidget *widget)
{
  GtkRequisition need;

#if GTK_CHECK_VERSION (3, 0, 0)
  gtk_widget_get_preferred_size (widget, &need, NULL);
#else
  gtk_widget_size_request (widget, &need);
#endif
  return need.width;
}

/* Whether label TEXT in ROOT shows whole: it needs no more width than it
 * has (a wider one is cut off at its edge). */
gboolean
shows_whole (GtkWidget *root, const char *text, int *needs, int *has)
{
  GtkWidget *label = find_label (root, text);
  GtkAllocation a;

  if (!label)
    return FALSE;
  gtk_widget_get_allocation (label, &a);
  *needs = needed_width (label);
  *has = a.width;
  return *needs <= *has;
}

void
screenshot (GtkWidget *window, const char *name)
{
  GdkPixbuf *pixbuf = grab (window);
  char *file = g_strdup_printf ("%s-gtk%d.png", name, GTK_MAJOR_VERSION);
  char *path = g_build_filename (artifacts, file, NULL);

  if (pixbuf && gdk_pixbuf_save (pixbuf, path, "png", NULL, NULL))
    printf ("# screenshot: %s\n", path);
  else
    printf ("# no screenshot: %s\n", path);
  if (pixbuf)
    g_object_unref (pixbuf);
  g_free (path);
  g_free (file);
}

/* ----------------------------------------------------- a scripted user */

/* Every STEP_MS: the next step of the script on the dialog once shown;
 * a dialog that never shows is closed by the check that fails. */
static gboolean
play_step (gpointer data)
{
  Script *s = data;
  GtkWidget *dialog = shown_dialog (s->title);

  if (!dialog)
    {
      if (++s->step < 20)
        return G_SOURCE_CONTINUE;
      /* the dialog's own loop would wait for ever */
      check (FALSE, "the %s dialog shows", s->title);
      exit (1);
    }
  s->step = MAX (s->step, 0);
  if (s->play (dialog, s->step++, s->data))
    return G_SOURCE_CONTINUE;
  s->timer = 0;
  return G_SOURCE_REMOVE;
}

void
start_script (Script *s)
{
  s->step = -1;
  s->timer = g_timeout_add (STEP_MS, play_step, s);
}

void
end_script (Script *s)
{
  if (s->timer)
    g_source_remove (s->timer);
  s->timer = 0;
}

/* The widget that label TEXT (with its mnemonic) names. */
GtkWidget *
labelled (GtkWidget *root, const char *text)
{
  GtkWidget *label = find_label (root, text);

  return label ? gtk_label_get_mnemonic_widget (GTK_LABEL (label)) : NULL;
}

void
smoke_init (const char *artifacts_folder)
{
  GdkDisplay *display = gdk_display_get_default ();
  GdkScreen *screen = gdk_display_get_default_screen (display);
  GdkWindow *root = gdk_screen_get_root_window (screen);
  const int x = gdk_window_get_width (root) - 1;
  const int y = gdk_window_get_height (root) - 1;

  artifacts = artifacts_folder;
  g_mkdir_with_parents (artifacts, 0755);
  /* the pointer in a corner no dialog reaches: where X puts it, in the
   * middle, dialogs appear under it and show its tooltips over the
   * screenshots */
#if GTK_CHECK_VERSION (3, 0, 0)
  gdk_device_warp (gdk_seat_get_pointer (gdk_display_get_default_seat (display)),
                   screen, x, y);
#else
  gdk_display_warp_pointer (display, screen, x, y);
#endif
  gdk_display_sync (display);
}

int
smoke_finish (void)
{
  printf ("1..%d\n# %d passed, %d failed\n", checks_run,
          checks_run - checks_failed, checks_failed);
  /* before LeakSanitizer's report, which ends the program without it */
  fflush (stdout);
  return checks_failed ? 1 : 0;
}
