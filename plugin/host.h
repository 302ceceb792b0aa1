/* host.h: what differs between GIMP 2.10 and GIMP 3 for the procedures:
 * images, drawables and layers, named by their IDs on both hosts.  Each
 * host implements these in its own file (host_gimp2.c, host_gimp3.c),
 * beside its registration of the procedure table.  Progress, messages and
 * gimp_directory () have the same signature on both and are called
 * directly. */
#ifndef CONVNET_HOST_H
#define CONVNET_HOST_H

#include <gegl.h>
#include <libgimp/gimp.h>

/* GIMP 3 names the versions' folders 3.0, GIMP 2.10 2.10 */
const char *plugin_host_version (void);

/* The folder of the previous major version's profile, whose weights a
 * user who upgraded keeps (NULL when there is none) */
char       *plugin_host_previous_profile (void);

void        plugin_host_ui_init (void);

int         plugin_host_drawable_width  (gint32 drawable);
int         plugin_host_drawable_height (gint32 drawable);
void        plugin_host_drawable_offsets (gint32 drawable, int *x, int *y);
/* The selection's bounds within DRAWABLE; FALSE when they do not meet */
gboolean    plugin_host_drawable_mask (gint32 drawable, int *x, int *y,
                                       int *width, int *height);
GeglBuffer *plugin_host_drawable_buffer (gint32 drawable);
/* The first selected drawable of IMAGE, or -1 */
gint32      plugin_host_image_drawable (gint32 image);

GimpImageBaseType plugin_host_image_base_type (gint32 image);
gint32      plugin_host_layer_new (gint32 image, const char *name, int width,
                                   int height, GimpImageType type,
                                   double opacity, GimpLayerMode mode);
gint32      plugin_host_layer_group_new (gint32 image);
void        plugin_host_insert_layer (gint32 image, gint32 layer,
                                      gint32 parent, int position);
gint32      plugin_host_item_parent (gint32 item);
int         plugin_host_item_position (gint32 image, gint32 item);
void        plugin_host_item_set_name (gint32 item, const char *name);
/* newly allocated */
char       *plugin_host_item_name (gint32 item);
void        plugin_host_layer_set_offsets (gint32 layer, int x, int y);
/* Images outside any display, for batch jobs: loaded by GIMP's loaders
 * (-1 and ERROR when none reads PATH), made empty, flattened into one
 * layer (returned), saved in the format PATH's extension names, deleted */
gint32      plugin_host_image_load (const char *path, GError **error);
gint32      plugin_host_image_new (int width, int height,
                                   GimpImageBaseType type);
gint32      plugin_host_image_flatten (gint32 image);
gboolean    plugin_host_image_save (gint32 image, const char *path,
                                    GError **error);
void        plugin_host_image_delete (gint32 image);
void        plugin_host_undo_group_start (gint32 image);
void        plugin_host_undo_group_end (gint32 image);

#endif
