/* torch_checkpoint.c: state_dicts written by torch.save, in the zip format
 * (PyTorch >= 1.6) and the legacy format of consecutive pickles.
 *
 * Both formats pickle the dict with each storage replaced by a persistent
 * id, and keep the storages' bytes elsewhere: zip entries, or raw records
 * after the pickles.  Storages are collected while the pickle is read,
 * resolved to bytes in the mapping afterwards, and only then are tensors
 * checked against them, so that every message can name the tensor. */
#include <string.h>

#include "formats.h"

/* A storage as torch saved it: NUMEL elements of DTYPE. */
typedef struct
{
  char         *key;
  ConvnetDType  dtype;
  guint64       numel;
  const guint8 *data;       /* NULL until resolved */
} TorchStorage;

/* What a persistent id stands for: a storage, or (legacy format only) a
 * window into one. */
typedef struct
{
  TorchStorage *root;
  guint64       offset;     /* elements */
  guint64       numel;
} TorchView;

typedef struct
{
  WeightFileBuilder *builder;
  gboolean           legacy;
  GHashTable        *storages;   /* key -> TorchStorage */
  GPtrArray         *views;
  GPtrArray         *order;      /* TorchStorage, in order of first use */
} TorchLoader;

static void
storage_free (gpointer data)
{
  TorchStorage *s = data;

  g_free (s->key);
  g_free (s);
}

static void
loader_init (TorchLoader       *loader,
             WeightFileBuilder *builder,
             gboolean           legacy)
{
  loader->builder = builder;
  loader->legacy = legacy;
  loader->storages = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                            storage_free);
  loader->views = g_ptr_array_new_with_free_func (g_free);
  loader->order = g_ptr_array_new ();
}

static void
loader_clear (TorchLoader *loader)
{
  g_ptr_array_unref (loader->order);
  g_ptr_array_unref (loader->views);
  g_hash_table_unref (loader->storages);
}

#define torch_fail(loader, error, ...) \
  formats_fail (error, CONVNET_ERROR_FORMAT, (loader)->builder->path, NULL, \
                __VA_ARGS__)

static gboolean
is_uint (const PickleValue *v)
{
  return v->kind == PICKLE_INT && v->v.i >= 0;
}

/* ('storage', type, key, location, numel[, view_metadata]) */
static PickleValue *
persistent_load (PickleArena       *arena,
                 const PickleValue *pid,
                 gpointer           user_data,
                 GError           **error)
{
  TorchLoader *loader = user_data;
  PickleValue **item, *v;
  TorchStorage *root;
  TorchView *view;
  guint n = loader->legacy ? 6 : 5;
  char *key;

  item = pid->kind == PICKLE_TUPLE ? pid->v.tuple.items : NULL;
  if (item == NULL || pid->v.tuple.n != n
      || !pickle_str_equal (item[0], "storage"))
    {
      torch_fail (loader, error, "a persistent id is not a %u-tuple "
                  "('storage', ...)", n);
      return NULL;
    }
  if (item[1]->kind != PICKLE_GLOBAL
      || item[1]->v.global.kind != PICKLE_GLOBAL_STORAGE_TYPE
      || item[2]->kind != PICKLE_STR || item[3]->kind != PICKLE_STR
      || !is_uint (item[4]))
    {
      torch_fail (loader, error, "a storage record has the wrong types "
                  "(%s, %s, %s, %s)", pickle_kind_name (item[1]->kind),
                  pickle_kind_name (item[2]->kind),
                  pickle_kind_name (item[3]->kind),
                  pickle_kind_name (item[4]->kind));
      return NULL;
    }

  key = pickle_str_dup (item[2]);
  root = g_hash_table_lookup (loader->storages, key);
  if (root == NULL)
    {
      root = g_new0 (TorchStorage, 1);
      root->key = key;
      root->dtype = item[1]->v.global.dtype;
      root->numel = item[4]->v.i;
      g_hash_table_insert (loader->storages, root->key, root);
      g_ptr_array_add (loader->order, root);
    }
  else
    {
      g_free (key);
      if (root->dtype != item[1]->v.global.dtype
          || root->numel != (guint64) item[4]->v.i)
        {
          torch_fail (loader, error, "storage '%s' is recorded both as %"
                      G_GUINT64_FORMAT " elements of %s and as %" G_GINT64_FORMAT
                      " elements of %s", root->key, root->numel,
                      convnet_dtype_name (root->dtype), item[4]->v.i,
                      convnet_dtype_name (item[1]->v.global.dtype));
          return NULL;
        }
    }

  view = g_new0 (TorchView, 1);
  g_ptr_array_add (loader->views, view);
  view->root = root;
  view->numel = root->numel;
  if (loader->legacy && item[5]->kind != PICKLE_NONE)
    {
      /* (view_key, offset, size), in elements, from torch < 0.4 */
      PickleValue **meta = item[5]->kind == PICKLE_TUPLE
                           ? item[5]->v.tuple.items : NULL;

      if (meta == NULL || item[5]->v.tuple.n != 3 || meta[0]->kind != PICKLE_STR
          || !is_uint (meta[1]) || !is_uint (meta[2]))
        {
          torch_fail (loader, error, "storage '%s' has malformed view "
                      "metadata", root->key);
          return NULL;
        }
      if ((guint64) meta[1]->v.i > root->numel
          || (guint64) meta[2]->v.i > root->numel - meta[1]->v.i)
        {
          torch_fail (loader, error, "a view [%" G_GINT64_FORMAT ", +%"
                      G_GINT64_FORMAT ") of storage '%s' runs past its %"
                      G_GUINT64_FORMAT " elements", meta[1]->v.i,
                      meta[2]->v.i, root->key, root->numel);
          return NULL;
        }
      view->offset = meta[1]->v.i;
      view->numel = meta[2]->v.i;
    }

  v = pickle_value_new (arena, PICKLE_STORAGE);
  v->v.storage = view;
  return v;
}

/* Checks a tensor record against its storage and adds it to the file. */
static gboolean
add_tensor (TorchLoader       *loader,
            const char        *name,
            const PickleValue *t,
            GError           **error)
{
  ConvnetTensorEntry entry = { 0 };
  const TorchView *view = t->v.tensor.storage->v.storage;
  const TorchStorage *root = view->root;
  gsize elsize = convnet_dtype_size (root->dtype);
  guint64 offset, numel, last = 0;
  const PickleValue *size = t->v.tensor.size, *stride = t->v.tensor.stride;
  gboolean overflow = FALSE;
  int bad_dim;

  if (!is_uint (t->v.tensor.offset))
    return torch_fail (loader, error, "tensor '%s': the storage offset is "
                       "not a non-negative int", name);
  offset = t->v.tensor.offset->v.i;
  if (size->kind != PICKLE_TUPLE || stride->kind != PICKLE_TUPLE
      || size->v.tuple.n != stride->v.tuple.n)
    return torch_fail (loader, error, "tensor '%s': size and stride are not "
                       "tuples of the same length", name);
  if (size->v.tuple.n > CONVNET_MAX_DIMS)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_LIMIT,
                   "%s: tensor '%s' has %u dimensions (at most %d are "
                   "supported)", loader->builder->path, name,
                   size->v.tuple.n, CONVNET_MAX_DIMS);
      return FALSE;
    }
  entry.name = name;
  entry.dtype = root->dtype;
  entry.ndim = size->v.tuple.n;
  for (int d = 0; d < entry.ndim; d++)
    {
      const PickleValue *s = size->v.tuple.items[d];
      const PickleValue *st = stride->v.tuple.items[d];

      if (s->kind != PICKLE_INT || st->kind != PICKLE_INT)
        return torch_fail (loader, error, "tensor '%s': dimension %d's size "
                           "or stride is not an int", name, d);
      if (st->v.i < 0)
        return torch_fail (loader, error, "tensor '%s': negative stride %"
                           G_GINT64_FORMAT " in dimension %d", name,
                           st->v.i, d);
      entry.shape[d] = s->v.i;
      entry.strides[d] = st->v.i;
    }
  if (!formats_checked_numel (entry.shape, entry.ndim, elsize, &numel,
                              &bad_dim))
    {
      char *shape = formats_shape_string (entry.shape, entry.ndim);

      if (bad_dim >= 0)
        torch_fail (loader, error, "tensor '%s': negative size in shape %s",
                    name, shape);
      else
        torch_fail (loader, error, "tensor '%s': the element count of shape "
                    "%s overflows", name, shape);
      g_free (shape);
      return FALSE;
    }

  /* The last element read is OFFSET + sum (size - 1) * stride; an empty
   * tensor reads nothing but its offset must still be inside. */
  last = offset;
  for (int d = 0; numel > 0 && d < entry.ndim; d++)
    {
      guint64 step;

      overflow |= !g_uint64_checked_mul (&step, entry.shape[d] - 1,
                                         entry.strides[d]);
      overflow |= !g_uint64_checked_add (&last, last, step);
    }
  if (root->data == NULL)
    return torch_fail (loader, error, "tensor '%s': storage '%s' is not in "
                       "the file", name, root->key);
  if (overflow || (numel > 0 && last >= view->numel)
      || (numel == 0 && offset > view->numel))
    {
      if (overflow)
        return torch_fail (loader, error, "tensor '%s': the extent of its "
                           "strides overflows", name);
      return torch_fail (loader, error, "tensor '%s': elements [%"
                         G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ") run past "
                         "the end of storage '%s' (%" G_GUINT64_FORMAT
                         " elements of %s)", name, offset, last + 1,
                         root->key, view->numel,
                         convnet_dtype_name (root->dtype));
    }
  entry.data = root->data + (view->offset + offset) * elsize;
  return weight_file_builder_add (loader->builder, &entry, error);
}

/* Adds the tensors of a state_dict.  A checkpoint that wraps one
 * ({'state_dict': ..., 'epoch': ...}) is unwrapped, once: the memo can make
 * a dict its own member. */
static gboolean
add_state_dict (TorchLoader       *loader,
                const PickleValue *dict,
                gboolean           unwrap,
                GError           **error)
{
  static const char *wrappers[] = { "state_dict", "model" };
  GPtrArray *items;
  gboolean any = FALSE;

  if (dict->kind != PICKLE_DICT)
    return torch_fail (loader, error, "the pickle holds a %s, not a "
                       "state_dict", pickle_kind_name (dict->kind));
  items = dict->v.list;
  for (guint i = 0; i + 1 < items->len && !any; i += 2)
    any = ((PickleValue *) items->pdata[i + 1])->kind == PICKLE_TENSOR;
  for (guint w = 0; unwrap && !any && w < G_N_ELEMENTS (wrappers); w++)
    for (guint i = 0; i + 1 < items->len; i += 2)
      if (pickle_str_equal (items->pdata[i], wrappers[w])
          && ((PickleValue *) items->pdata[i + 1])->kind == PICKLE_DICT)
        return add_state_dict (loader, items->pdata[i + 1], FALSE, error);

  for (guint i = 0; i + 1 < items->len; i += 2)
    {
      const PickleValue *k = items->pdata[i], *v = items->pdata[i + 1];
      char *name;
      gboolean ok;

      /* Non-tensor values (_extra_state, counters) are not weights. */
      if (v->kind != PICKLE_TENSOR)
        continue;
      if (k->kind != PICKLE_STR)
        return torch_fail (loader, error, "a tensor is stored under a %s "
                           "key", pickle_kind_name (k->kind));
      name = pickle_str_dup (k);
      ok = strlen (name) == k->v.str.len;
      if (!ok)
        torch_fail (loader, error, "a tensor name holds a NUL character");
      else
        ok = add_tensor (loader, name, v, error);
      g_free (name);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

/* ---------------------------------------------------------------- zip */

static gboolean
find_data_pkl (TorchLoader      *loader,
               const ZipArchive *zip,
               char            **top,
               GError          **error)
{
  const char *found = NULL;

  for (guint i = 0; i < zip_archive_n_entries (zip); i++)
    {
      const char *name = zip_archive_entry (zip, i)->name;
      const char *slash = strchr (name, '/');

      if (slash == NULL || slash == name || strcmp (slash, "/data.pkl") != 0)
        continue;
      if (found != NULL)
        return torch_fail (loader, error, "the archive holds both '%s' and "
                           "'%s'", found, name);
      found = name;
    }
  if (found == NULL)
    return torch_fail (loader, error, "the archive has no <folder>/data.pkl "
                       "entry: not a torch.save checkpoint");
  *top = g_strndup (found, strchr (found, '/') - found);
  return TRUE;
}

static gboolean
entry_bytes (TorchLoader      *loader,
             const ZipArchive *zip,
             const char       *name,
             const guint8    **data,
             gsize            *size,
             GError          **error)
{
  const ZipEntry *entry = zip_archive_find (zip, name);

  if (entry == NULL)
    return torch_fail (loader, error, "the archive has no entry '%s'", name);
  return zip_entry_data (zip, entry, data, size, error);
}

static gboolean
zip_load_with (TorchLoader *loader,
               ZipArchive  *zip,
               const char  *top,
               GError     **error)
{
  WeightFileBuilder *b = loader->builder;
  PickleArena *arena;
  PickleSource src = { 0 };
  PickleValue *root;
  const guint8 *data = NULL;
  gsize size = 0;
  char *name = g_strdup_printf ("%s/byteorder", top);
  char *where;
  gboolean ok;

  /* Newer torch records the byte order; absent means little-endian. */
  if (zip_archive_find (zip, name) != NULL)
    {
      ok = entry_bytes (loader, zip, name, &data, &size, error);
      if (ok && !(size == 6 && memcmp (data, "little", 6) == 0))
        ok = torch_fail (loader, error, "'%s' is not \"little\": big-endian "
                         "checkpoints are not supported", name);
      if (!ok)
        {
          g_free (name);
          return FALSE;
        }
    }
  g_free (name);

  name = g_strdup_printf ("%s/data.pkl", top);
  ok = entry_bytes (loader, zip, name, &src.data, &src.size, error);
  where = g_strdup_printf ("%s: %s", b->path, name);
  g_free (name);
  if (!ok)
    {
      g_free (where);
      return FALSE;
    }
  src.where = where;
  src.persistent_load = persistent_load;
  src.user_data = loader;
  arena = pickle_arena_new ();
  root = pickle_load (arena, &src, NULL, error);
  g_free (where);
  ok = root != NULL;

  for (guint i = 0; ok && i < loader->order->len; i++)
    {
      TorchStorage *s = loader->order->pdata[i];
      guint64 bytes;

      name = g_strdup_printf ("%s/data/%s", top, s->key);
      ok = entry_bytes (loader, zip, name, &data, &size, error);
      if (ok && (!g_uint64_checked_mul (&bytes, s->numel,
                                        convnet_dtype_size (s->dtype))
                 || bytes != size))
        ok = torch_fail (loader, error, "storage '%s' holds %" G_GSIZE_FORMAT
                         " bytes but the pickle records %" G_GUINT64_FORMAT
                         " elements of %s", s->key, size, s->numel,
                         convnet_dtype_name (s->dtype));
      if (ok)
        s->data = data;
      g_free (name);
    }

  if (ok)
    ok = add_state_dict (loader, root, TRUE, error);
  pickle_arena_free (arena);
  return ok;
}

gboolean
torch_zip_load (WeightFileBuilder *builder,
                GError           **error)
{
  TorchLoader loader;
  ZipArchive *zip;
  char *top = NULL;
  gboolean ok;

  loader_init (&loader, builder, FALSE);
  zip = zip_archive_open (builder->path, builder->data, builder->size, error);
  ok = zip != NULL && find_data_pkl (&loader, zip, &top, error)
       && zip_load_with (&loader, zip, top, error);
  g_free (top);
  zip_archive_free (zip);
  loader_clear (&loader);
  return ok;
}

/* ------------------------------------------------------------- legacy */

/* 0x1950a86a20f9469cfc6c, little-endian, as LONG1 stores it. */
static const guint8 legacy_magic[10] = {
  0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19
};

static PickleValue *
next_pickle (TorchLoader  *loader,
             PickleArena  *arena,
             gsize        *pos,
             gboolean      with_storages,
             GError      **error)
{
  WeightFileBuilder *b = loader->builder;
  PickleSource src = { 0 };
  PickleValue *v;
  gsize used;

  src.where = b->path;
  src.data = b->data + *pos;
  src.size = b->size - *pos;
  src.base_offset = *pos;
  if (with_storages)
    {
      src.persistent_load = persistent_load;
      src.user_data = loader;
    }
  v = pickle_load (arena, &src, &used, error);
  if (v != NULL)
    *pos += used;
  return v;
}

static gboolean
legacy_header (TorchLoader  *loader,
               PickleArena  *arena,
               gsize        *pos,
               GError      **error)
{
  PickleValue *magic, *version, *info;

  magic = next_pickle (loader, arena, pos, FALSE, error);
  if (magic == NULL)
    return FALSE;
  if (magic->kind != PICKLE_BIGINT || magic->v.str.len != 10
      || memcmp (magic->v.str.data, legacy_magic, 10) != 0)
    return torch_fail (loader, error, "a pickle without torch's magic number: "
                       "not a torch.save checkpoint");
  version = next_pickle (loader, arena, pos, FALSE, error);
  if (version == NULL)
    return FALSE;
  if (version->kind != PICKLE_INT || version->v.i != 1001)
    return torch_fail (loader, error, "unsupported legacy protocol version "
                       "(%s %" G_GINT64_FORMAT ", expected 1001)",
                       pickle_kind_name (version->kind),
                       version->kind == PICKLE_INT ? version->v.i : 0);
  info = next_pickle (loader, arena, pos, FALSE, error);
  if (info == NULL)
    return FALSE;
  if (info->kind != PICKLE_DICT)
    return torch_fail (loader, error, "the system information is a %s, not "
                       "a dict", pickle_kind_name (info->kind));
  for (guint i = 0; i + 1 < info->v.list->len; i += 2)
    {
      const PickleValue *v = info->v.list->pdata[i + 1];

      if (pickle_str_equal (info->v.list->pdata[i], "little_endian")
          && !(v->kind == PICKLE_BOOL && v->v.b))
        return torch_fail (loader, error, "saved on a big-endian machine, "
                           "which is not supported");
    }
  return TRUE;
}

/* After the key list come, for each key, an int64 element count and the
 * storage's bytes. */
static gboolean
legacy_storages (TorchLoader       *loader,
                 const PickleValue *keys,
                 gsize              pos,
                 GError           **error)
{
  WeightFileBuilder *b = loader->builder;

  if (keys->kind != PICKLE_LIST)
    return torch_fail (loader, error, "the storage key list is a %s",
                       pickle_kind_name (keys->kind));
  for (guint i = 0; i < keys->v.list->len; i++)
    {
      const PickleValue *k = keys->v.list->pdata[i];
      char *key = k->kind == PICKLE_STR ? pickle_str_dup (k) : NULL;
      TorchStorage *s = key != NULL ? g_hash_table_lookup (loader->storages,
                                                           key)
                                    : NULL;
      guint64 count = 0, bytes = 0;
      gboolean ok = FALSE;

      if (s == NULL)
        torch_fail (loader, error, "storage key %u (%s) is not used by the "
                    "state_dict", i, key != NULL ? key : "not a string");
      else if (s->data != NULL)
        torch_fail (loader, error, "storage '%s' is listed twice", key);
      else if (b->size - pos < 8)
        torch_fail (loader, error, "truncated: storage '%s' at offset %"
                    G_GSIZE_FORMAT " lacks its element count", key, pos);
      else
        {
          for (int j = 7; j >= 0; j--)
            count = (count << 8) | b->data[pos + j];
          pos += 8;
          if (count != s->numel)
            torch_fail (loader, error, "storage '%s' holds %" G_GUINT64_FORMAT
                        " elements but the pickle records %" G_GUINT64_FORMAT,
                        key, count, s->numel);
          else if (!g_uint64_checked_mul (&bytes, count,
                                          convnet_dtype_size (s->dtype))
                   || bytes > b->size - pos)
            torch_fail (loader, error, "truncated: storage '%s' needs %"
                        G_GUINT64_FORMAT " elements of %s at offset %"
                        G_GSIZE_FORMAT " but the file has %" G_GSIZE_FORMAT
                        " bytes", key, count, convnet_dtype_name (s->dtype),
                        pos, b->size);
          else
            {
              s->data = b->data + pos;
              pos += bytes;
              ok = TRUE;
            }
        }
      g_free (key);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

gboolean
torch_legacy_load (WeightFileBuilder *builder,
                   GError           **error)
{
  TorchLoader loader;
  PickleArena *arena = pickle_arena_new ();
  PickleValue *root = NULL, *keys = NULL;
  gsize pos = 0;
  gboolean ok;

  loader_init (&loader, builder, TRUE);
  ok = legacy_header (&loader, arena, &pos, error)
       && (root = next_pickle (&loader, arena, &pos, TRUE, error)) != NULL
       && (keys = next_pickle (&loader, arena, &pos, FALSE, error)) != NULL
       && legacy_storages (&loader, keys, pos, error)
       && add_state_dict (&loader, root, TRUE, error);
  pickle_arena_free (arena);
  loader_clear (&loader);
  return ok;
}
