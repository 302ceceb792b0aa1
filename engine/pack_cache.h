/* pack_cache.h: packed weights kept on disk between processes.  A fresh
 * process (the command, a GIMP plug-in call) would otherwise pack and
 * transform every convolution's weights again before its first inference,
 * which costs more than the inference itself.  The cache file belongs to
 * one weights file, identified by its size, device, inode and change
 * times, and to one instruction set; an entry is one packing, by key.
 *
 * Where: $CONVNET_PACK_CACHE if it names a folder, else
 * $XDG_CACHE_HOME/gimp-convnet/packed; CONVNET_PACK_CACHE=0 turns the
 * cache off.  A missing, stale or damaged cache file is never an error:
 * the weights are packed as without it, and the file is written anew. */
#ifndef CONVNET_PACK_CACHE_H
#define CONVNET_PACK_CACHE_H

#include <glib.h>

typedef struct ConvnetPackCache ConvnetPackCache;

/* The cache of the weights file PATH, open as FD, for ARCH and ISA: its
 * entries when a valid cache file exists, else none.  NULL when the cache
 * is turned off or FD cannot be identified. */
ConvnetPackCache *convnet_pack_cache_open   (const char *path,
                                             int         fd,
                                             const char *arch,
                                             const char *isa);
void              convnet_pack_cache_free   (ConvnetPackCache *cache);

/* The stored bytes of KEY, read-only and valid until the cache is freed;
 * NULL when absent or of another size than BYTES. */
const void       *convnet_pack_cache_lookup (ConvnetPackCache *cache,
                                             const char       *key,
                                             gsize             bytes);
/* Records BYTES at DATA under KEY for the next save; DATA must stay valid
 * until then. */
void              convnet_pack_cache_add    (ConvnetPackCache *cache,
                                             const char       *key,
                                             const void       *data,
                                             gsize             bytes);
/* Writes the cache file, atomically, when entries were added since it was
 * read: the ones it had and the new.  FALSE with *ERROR naming the file
 * when it cannot be written.  Either way the added entries are then
 * forgotten. */
gboolean          convnet_pack_cache_save   (ConvnetPackCache *cache,
                                             GError          **error);
/* Forgets the entries added since the last save (their packings are
 * going away unsaved). */
void              convnet_pack_cache_discard (ConvnetPackCache *cache);
/* How many lookups found their entry, for tests and `convnet bench`. */
guint             convnet_pack_cache_hits   (const ConvnetPackCache *cache);
/* The cache file's path. */
const char       *convnet_pack_cache_path   (const ConvnetPackCache *cache);
/* Removes the least recently used cache files (*.pack) of FOLDER, never
 * KEEP, until those left hold at most MAX_BYTES; how many it removed.
 * A save calls it on its folder, and a lookup that reads a file marks
 * it used. */
guint             convnet_pack_cache_prune  (const char *folder,
                                             const char *keep,
                                             guint64 max_bytes);

#endif
