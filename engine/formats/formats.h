/* formats.h: internals shared by the weight-file and array readers and
 * writers.  Nothing here is part of the public API. */
#ifndef CONVNET_FORMATS_H
#define CONVNET_FORMATS_H

#include "convnet.h"

G_BEGIN_DECLS

/* ------------------------------------------------------------ limits */

/* Containers nested deeper than this, or MARKs left open deeper than this,
 * make a pickle refused: no state_dict comes close, and a bound keeps every
 * walk over the values cheap. */
#define PICKLE_MAX_DEPTH        1000
/* Values on the pickle stack, entries in its memo, and values pushed in
 * all, which bounds the memory a hostile pickle can make us allocate (a
 * few hundred MB).  A state_dict pushes about 30 values and memoizes about
 * ten per tensor, and leaves two per tensor on the stack within a SETITEMS
 * batch of 1000. */
#define PICKLE_MAX_STACK        (1 << 20)
#define PICKLE_MAX_MEMO         (1 << 20)
#define PICKLE_MAX_PUSHES       (1 << 22)
#define SAFETENSORS_MAX_HEADER  100000000

/* --------------------------------------------------- the weight file */

/* Where the tensors of a file being opened are collected.  Names are copied
 * into NAMES; data pointers point into the mapping, which the finished file
 * keeps alive until convnet_weight_file_free(). */
typedef struct
{
  const char   *path;
  const guint8 *data;
  gsize         size;
  GArray       *entries;   /* ConvnetTensorEntry */
  GHashTable   *by_name;   /* name -> GUINT_TO_POINTER (index + 1) */
  GStringChunk *names;
  GHashTable   *metadata;  /* string -> string, or NULL */
} WeightFileBuilder;

/* Appends a tensor after checking its name is new; the entry's name is
 * copied.  The caller has checked the shape, strides and extent. */
gboolean weight_file_builder_add (WeightFileBuilder        *builder,
                                  const ConvnetTensorEntry *entry,
                                  GError                  **error);

/* Multiplies the dimensions of SHAPE, failing if the count exceeds
 * G_MAXINT64 or, in bytes of ELEMENT_SIZE each, G_MAXSIZE.  A negative
 * dimension is refused with its index in *BAD_DIM. */
gboolean formats_checked_numel (const int64_t *shape,
                                int            ndim,
                                gsize          element_size,
                                guint64       *numel,
                                int           *bad_dim);

/* A shape as "[2, 3, 4]" for messages; g_free() the result. */
char *formats_shape_string (const int64_t *shape,
                            int            ndim);

typedef enum
{
  WEIGHT_FORMAT_DETECT,
  WEIGHT_FORMAT_TORCH_ZIP,
  WEIGHT_FORMAT_TORCH_LEGACY,
  WEIGHT_FORMAT_SAFETENSORS
} WeightFormat;

/* convnet_weight_file_open() over bytes already in memory (the fuzzers'
 * way in); the file keeps a reference to BYTES.  PATH names it in
 * messages.  FORMAT other than DETECT skips the detection. */
ConvnetWeightFile *weight_file_open_bytes (const char    *path,
                                           GBytes        *bytes,
                                           WeightFormat   format,
                                           GError       **error);

/* A private copy-on-write view of the whole file that FILE mapped: a
 * process reading it sees the file's bytes, and what it writes stays in
 * this view, out of the file, of FILE's entries and of other views.
 * Offsets from weight_file_entry_in_place() apply to it.  NULL when FILE
 * was not opened from a path (weight_file_open_bytes) or the mapping
 * fails; g_bytes_unref() unmaps it. */
GBytes  *weight_file_private_view   (const ConvnetWeightFile  *file);
/* The open file FILE was read from, or -1 (weight_file_open_bytes). */
int      weight_file_fd             (const ConvnetWeightFile  *file);

/* Whether ENTRY's elements can be used where they lie as contiguous
 * floats: little-endian float32, row-major and 4-byte aligned; *OFFSET
 * receives their byte offset in the file. */
gboolean weight_file_entry_in_place (const ConvnetWeightFile  *file,
                                     const ConvnetTensorEntry *entry,
                                     gsize                    *offset);

gboolean torch_zip_load        (WeightFileBuilder *builder,
                                GError           **error);
gboolean torch_legacy_load     (WeightFileBuilder *builder,
                                GError           **error);
gboolean safetensors_load      (WeightFileBuilder *builder,
                                GError           **error);

/* convnet_npy_read() over SIZE bytes at DATA; PATH names them in
 * messages. */
gboolean npy_parse (const char   *path,
                    const guint8 *data,
                    gsize         size,
                    int          *ndim,
                    int64_t      *shape,
                    float       **out,
                    GError      **error);

/* ----------------------------------------------------- atomic writes */

/* A file written under a temporary name in the target's directory, then
 * renamed over the target, so that readers see the old file or the whole
 * new one and a failure leaves nothing behind. */
typedef struct
{
  char *path;
  char *tmp_path;
  int   fd;
} AtomicFile;

gboolean atomic_file_open   (AtomicFile  *file,
                             const char  *path,
                             GError     **error);
gboolean atomic_file_write  (AtomicFile  *file,
                             const void  *data,
                             gsize        size,
                             GError     **error);
/* Writes N floats little-endian. */
gboolean atomic_file_write_f32 (AtomicFile  *file,
                                const float *data,
                                gsize        n,
                                GError     **error);
/* Flushes, renames over the target and closes; on failure the temporary
 * file is removed. */
gboolean atomic_file_commit (AtomicFile  *file,
                             GError     **error);
/* Removes the temporary file; safe after a failed commit. */
void     atomic_file_abort  (AtomicFile  *file);

/* --------------------------------------------------------------- zip */

typedef struct
{
  char    *name;
  guint16  flags;
  guint16  method;
  guint64  compressed_size;
  guint64  size;
  guint64  local_offset;
} ZipEntry;

typedef struct ZipArchive ZipArchive;

/* Reads the central directory of the zip held in DATA (SIZE bytes); PATH
 * is only for messages.  DATA must outlive the archive. */
ZipArchive     *zip_archive_open      (const char    *path,
                                       const guint8  *data,
                                       gsize          size,
                                       GError       **error);
void            zip_archive_free      (ZipArchive    *archive);
guint           zip_archive_n_entries (const ZipArchive *archive);
const ZipEntry *zip_archive_entry     (const ZipArchive *archive,
                                       guint             index);
const ZipEntry *zip_archive_find      (const ZipArchive *archive,
                                       const char       *name);
/* The bytes of a stored (uncompressed) entry, pointing into DATA. */
gboolean        zip_entry_data        (const ZipArchive *archive,
                                       const ZipEntry   *entry,
                                       const guint8    **data,
                                       gsize            *size,
                                       GError          **error);

/* ------------------------------------------------------------ pickle */

typedef enum
{
  PICKLE_NONE,
  PICKLE_BOOL,
  PICKLE_INT,
  PICKLE_BIGINT,    /* a LONG1/LONG4 wider than 64 bits: raw bytes */
  PICKLE_FLOAT,
  PICKLE_STR,
  PICKLE_BYTES,
  PICKLE_TUPLE,
  PICKLE_LIST,
  PICKLE_DICT,      /* dict and OrderedDict: keys and values alternate */
  PICKLE_GLOBAL,    /* one of the allowed globals */
  PICKLE_STORAGE,   /* what the persistent_load callback returned */
  PICKLE_TENSOR     /* a _rebuild_tensor call, its arguments unchecked */
} PickleKind;

typedef enum
{
  PICKLE_GLOBAL_ORDERED_DICT,
  PICKLE_GLOBAL_REBUILD_TENSOR,
  PICKLE_GLOBAL_REBUILD_TENSOR_V2,
  PICKLE_GLOBAL_REBUILD_PARAMETER,
  PICKLE_GLOBAL_STORAGE_TYPE
} PickleGlobalKind;

typedef struct PickleValue PickleValue;

struct PickleValue
{
  PickleKind kind;
  guint      depth;      /* nesting below this value, 1 for a leaf */
  union
  {
    gboolean b;
    gint64   i;
    double   f;
    struct
    {
      const char *data;   /* points into the pickle; not NUL-terminated */
      gsize       len;
    } str;                /* STR, BYTES and BIGINT */
    struct
    {
      PickleValue **items;
      guint         n;
    } tuple;
    GPtrArray *list;      /* LIST items; DICT keys and values alternating */
    struct
    {
      PickleGlobalKind kind;
      ConvnetDType     dtype;   /* for storage types */
      const char      *name;    /* "torch.FloatStorage", static */
    } global;
    gpointer storage;
    struct
    {
      PickleValue *storage;
      PickleValue *offset;
      PickleValue *size;
      PickleValue *stride;
    } tensor;
  } v;
};

typedef struct PickleArena PickleArena;

/* Returns the value a BINPERSID stands for, allocated in ARENA. */
typedef PickleValue *(*PicklePersistentLoad) (PickleArena       *arena,
                                              const PickleValue *pid,
                                              gpointer           user_data,
                                              GError           **error);

typedef struct
{
  const char           *where;        /* "file" or "file: entry", for messages */
  const guint8         *data;
  gsize                 size;
  gsize                 base_offset;  /* DATA's offset in WHERE, for messages */
  PicklePersistentLoad  persistent_load;
  gpointer              user_data;
} PickleSource;

PickleArena *pickle_arena_new  (void);
void         pickle_arena_free (PickleArena *arena);
PickleValue *pickle_value_new  (PickleArena *arena,
                                PickleKind   kind);

/* Interprets one pickle (up to its STOP) from SOURCE; *CONSUMED receives
 * the bytes read.  Values live in ARENA; strings point into SOURCE. */
PickleValue *pickle_load (PickleArena        *arena,
                          const PickleSource *source,
                          gsize              *consumed,
                          GError            **error);

/* Whether V is a STR equal to S. */
gboolean     pickle_str_equal (const PickleValue *v,
                               const char        *s);
/* A STR value's text, NUL-terminated, for messages and names; g_free(). */
char        *pickle_str_dup   (const PickleValue *v);
const char  *pickle_kind_name (PickleKind kind);
/* The name of a standard opcode, or NULL for a byte that is none. */
const char  *pickle_opcode_name (guint8 op);

G_END_DECLS

/* Sets a CONVNET_ERROR of CODE reading "PATH: KIND: message" (without
 * "KIND: " when KIND is NULL) and returns FALSE. */
gboolean formats_fail (GError **error, int code, const char *path,
                       const char *kind, const char *format, ...)
  G_GNUC_PRINTF (5, 6);

#endif
