/* pickle.c: a pickle interpreter for the vocabulary of a torch state_dict.
 *
 * It builds a tree of inert values and never imports or calls anything:
 * a global is looked up in a fixed table of the few names a state_dict
 * uses, and REDUCE on one of them builds the value Python would have built
 * (an empty OrderedDict, a tensor record).  Any other global is refused as
 * soon as it is named, before anything could call it. */
#include <string.h>

#include "formats.h"

typedef struct
{
  PickleArena        *arena;
  const PickleSource *src;
  gsize               pos;
  gsize               op_pos;
  guint8              op;
  GPtrArray          *stack;
  GArray             *marks;   /* stack lengths at each open MARK */
  GHashTable         *memo;    /* index -> PickleValue */
  guint               pushes;
  GError            **error;
} Machine;

/* ------------------------------------------------------------ errors */

static gboolean G_GNUC_PRINTF (3, 4)
fail (Machine    *m,
      int         code,
      const char *format,
      ...)
{
  va_list  args;
  char    *msg;
  const char *name = pickle_opcode_name (m->op);

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (m->error, CONVNET_ERROR, code,
               "%s: pickle opcode %s (0x%02x) at offset %" G_GSIZE_FORMAT
               ": %s", m->src->where, name != NULL ? name : "?", m->op,
               m->src->base_offset + m->op_pos, msg);
  g_free (msg);
  return FALSE;
}

static gboolean
need (Machine *m,
      guint64  n)
{
  if (n > m->src->size - m->pos)
    return fail (m, CONVNET_ERROR_FORMAT,
                 "needs %" G_GUINT64_FORMAT " bytes but the data ends after %"
                 G_GSIZE_FORMAT " (truncated)", n, m->src->size - m->pos);
  return TRUE;
}

/* ------------------------------------------------------------- stack */

static gboolean
push (Machine     *m,
      PickleValue *v)
{
  if (m->stack->len >= PICKLE_MAX_STACK)
    return fail (m, CONVNET_ERROR_LIMIT, "more than %d values on the stack",
                 PICKLE_MAX_STACK);
  if (++m->pushes > PICKLE_MAX_PUSHES)
    return fail (m, CONVNET_ERROR_LIMIT, "more than %d values in all",
                 PICKLE_MAX_PUSHES);
  g_ptr_array_add (m->stack, v);
  return TRUE;
}

static guint
stack_floor (Machine *m)
{
  return m->marks->len > 0 ? g_array_index (m->marks, guint, m->marks->len - 1)
                           : 0;
}

static PickleValue *
pop (Machine *m)
{
  if (m->stack->len <= stack_floor (m))
    {
      fail (m, CONVNET_ERROR_FORMAT, "the stack is empty");
      return NULL;
    }
  return g_ptr_array_steal_index (m->stack, m->stack->len - 1);
}

static PickleValue *
top (Machine *m)
{
  if (m->stack->len <= stack_floor (m))
    {
      fail (m, CONVNET_ERROR_FORMAT, "the stack is empty");
      return NULL;
    }
  return g_ptr_array_index (m->stack, m->stack->len - 1);
}

/* Closes the innermost MARK: *ITEMS points at the values pushed since,
 * which stay on the stack until the caller truncates it to *START. */
static gboolean
pop_mark (Machine       *m,
          PickleValue ***items,
          guint         *n,
          guint         *start)
{
  guint mark;

  if (m->marks->len == 0)
    return fail (m, CONVNET_ERROR_FORMAT, "no MARK is open");
  mark = g_array_index (m->marks, guint, m->marks->len - 1);
  g_array_set_size (m->marks, m->marks->len - 1);
  /* an empty stack has no array to point into */
  *items = m->stack->len > mark ? (PickleValue **) m->stack->pdata + mark
                                : NULL;
  *n = m->stack->len - mark;
  *start = mark;
  return TRUE;
}

/* Records that CHILD now sits inside CONTAINER.  Nothing here walks values
 * recursively, but a bound on their depth keeps any later walk safe and
 * refuses the nesting bombs that would crash Python's own unpickler. */
static gboolean
nest (Machine     *m,
      PickleValue *container,
      PickleValue *child)
{
  if (child->depth + 1 > container->depth)
    container->depth = child->depth + 1;
  if (container->depth > PICKLE_MAX_DEPTH)
    return fail (m, CONVNET_ERROR_LIMIT, "values nested deeper than %d",
                 PICKLE_MAX_DEPTH);
  return TRUE;
}

static PickleValue *
make_tuple (Machine      *m,
            PickleValue **items,
            guint         n)
{
  PickleValue *t = pickle_value_new (m->arena, PICKLE_TUPLE);

  t->v.tuple.items = g_new (PickleValue *, MAX (n, 1));
  t->v.tuple.n = n;
  for (guint i = 0; i < n; i++)
    {
      t->v.tuple.items[i] = items[i];
      if (!nest (m, t, items[i]))
        return NULL;
    }
  return t;
}

/* ------------------------------------------------------------ reading */

static guint64
read_le (const guint8 *p,
         guint         n)
{
  guint64 v = 0;

  for (guint i = 0; i < n; i++)
    v |= (guint64) p[i] << (8 * i);
  return v;
}

static gboolean
read_uint (Machine *m,
           guint    n,
           guint64 *v)
{
  if (!need (m, n))
    return FALSE;
  *v = read_le (m->src->data + m->pos, n);
  m->pos += n;
  return TRUE;
}

static gboolean
push_string (Machine    *m,
             PickleKind  kind,
             guint64     len)
{
  PickleValue *v;
  const char  *p;

  if (!need (m, len))
    return FALSE;
  p = (const char *) m->src->data + m->pos;
  if (kind == PICKLE_STR && !g_utf8_validate_len (p, len, NULL))
    return fail (m, CONVNET_ERROR_FORMAT, "the string is not valid UTF-8");
  v = pickle_value_new (m->arena, kind);
  v->v.str.data = p;
  v->v.str.len = len;
  m->pos += len;
  return push (m, v);
}

static gboolean
push_long (Machine *m,
           guint64  len)
{
  PickleValue *v;
  const guint8 *p;

  if (!need (m, len))
    return FALSE;
  p = m->src->data + m->pos;
  m->pos += len;
  if (len <= 8)
    {
      guint64 u = read_le (p, len);

      /* Two's complement of LEN bytes, sign-extended to 64 bits. */
      if (len > 0 && len < 8 && (p[len - 1] & 0x80))
        u |= G_MAXUINT64 << (8 * len);
      v = pickle_value_new (m->arena, PICKLE_INT);
      v->v.i = (gint64) u;
    }
  else
    {
      v = pickle_value_new (m->arena, PICKLE_BIGINT);
      v->v.str.data = (const char *) p;
      v->v.str.len = len;
    }
  return push (m, v);
}

static gboolean
push_int (Machine *m,
          gint64   i)
{
  PickleValue *v = pickle_value_new (m->arena, PICKLE_INT);

  v->v.i = i;
  return push (m, v);
}

/* ------------------------------------------------------------ globals */

typedef struct
{
  const char       *module;
  const char       *name;
  const char       *full;
  PickleGlobalKind  kind;
  ConvnetDType      dtype;
} AllowedGlobal;

#define TORCH_UTILS(name, kind) \
  { "torch._utils", name, "torch._utils." name, PICKLE_GLOBAL_##kind, 0 }
#define STORAGE(module, name, dtype) \
  { module, name, module "." name, PICKLE_GLOBAL_STORAGE_TYPE, \
    CONVNET_DTYPE_##dtype }

static const AllowedGlobal allowed_globals[] = {
  { "collections", "OrderedDict", "collections.OrderedDict",
    PICKLE_GLOBAL_ORDERED_DICT, 0 },
  TORCH_UTILS ("_rebuild_tensor_v2", REBUILD_TENSOR_V2),
  TORCH_UTILS ("_rebuild_tensor", REBUILD_TENSOR),
  TORCH_UTILS ("_rebuild_parameter", REBUILD_PARAMETER),
  TORCH_UTILS ("_rebuild_parameter_with_state", REBUILD_PARAMETER),
  STORAGE ("torch", "FloatStorage", F32),
  STORAGE ("torch", "HalfStorage", F16),
  STORAGE ("torch", "BFloat16Storage", BF16),
  STORAGE ("torch", "DoubleStorage", F64),
  STORAGE ("torch", "LongStorage", I64),
  STORAGE ("torch", "IntStorage", I32),
  STORAGE ("torch", "ShortStorage", I16),
  STORAGE ("torch", "CharStorage", I8),
  STORAGE ("torch", "ByteStorage", U8),
  STORAGE ("torch", "BoolStorage", BOOL),
  /* An untyped storage holds bytes; torch saves one only for a bare
   * storage, and reading it as U8 is exactly its content. */
  STORAGE ("torch", "UntypedStorage", U8),
  STORAGE ("torch.storage", "UntypedStorage", U8),
};

#undef TORCH_UTILS
#undef STORAGE

static gboolean
span_equal (const char *p,
            gsize       len,
            const char *s)
{
  return strlen (s) == len && memcmp (p, s, len) == 0;
}

static gboolean
push_global (Machine    *m,
             const char *module,
             gsize       module_len,
             const char *name,
             gsize       name_len)
{
  PickleValue *v;
  char *raw, *shown;

  for (guint i = 0; i < G_N_ELEMENTS (allowed_globals); i++)
    {
      const AllowedGlobal *g = &allowed_globals[i];

      if (span_equal (module, module_len, g->module)
          && span_equal (name, name_len, g->name))
        {
          v = pickle_value_new (m->arena, PICKLE_GLOBAL);
          v->v.global.kind = g->kind;
          v->v.global.dtype = g->dtype;
          v->v.global.name = g->full;
          return push (m, v);
        }
    }

  raw = g_strdup_printf ("%.*s.%.*s", (int) MIN (module_len, 200), module,
                         (int) MIN (name_len, 200), name);
  shown = g_strescape (raw, NULL);
  fail (m, CONVNET_ERROR_FORBIDDEN,
        "refusing global '%s': only the types of a state_dict are allowed",
        shown);
  g_free (shown);
  g_free (raw);
  return FALSE;
}

static gboolean
op_global (Machine *m)
{
  const char *start = (const char *) m->src->data + m->pos;
  gsize left = m->src->size - m->pos;
  const char *nl1, *nl2;

  nl1 = memchr (start, '\n', MIN (left, 1024));
  nl2 = nl1 != NULL ? memchr (nl1 + 1, '\n', MIN (left - (nl1 + 1 - start),
                                                  1024))
                    : NULL;
  if (nl2 == NULL)
    return fail (m, CONVNET_ERROR_FORMAT,
                 "the module and name lines are missing or too long");
  m->pos += nl2 + 1 - start;
  return push_global (m, start, nl1 - start, nl1 + 1, nl2 - nl1 - 1);
}

static gboolean
op_stack_global (Machine *m)
{
  PickleValue *name = pop (m), *module = name != NULL ? pop (m) : NULL;

  if (module == NULL)
    return FALSE;
  if (module->kind != PICKLE_STR || name->kind != PICKLE_STR)
    return fail (m, CONVNET_ERROR_FORMAT, "module and name are not strings");
  return push_global (m, module->v.str.data, module->v.str.len,
                      name->v.str.data, name->v.str.len);
}

/* ------------------------------------------------------------- calls */

static gboolean
call (Machine     *m,
      PickleValue *callable,
      PickleValue *args)
{
  PickleValue *v;
  guint n;

  if (callable->kind != PICKLE_GLOBAL)
    return fail (m, CONVNET_ERROR_FORMAT, "calling a %s",
                 pickle_kind_name (callable->kind));
  if (args->kind != PICKLE_TUPLE)
    return fail (m, CONVNET_ERROR_FORMAT, "the arguments of %s are a %s",
                 callable->v.global.name, pickle_kind_name (args->kind));
  n = args->v.tuple.n;

  switch (callable->v.global.kind)
    {
    case PICKLE_GLOBAL_ORDERED_DICT:
      if (n != 0)
        return fail (m, CONVNET_ERROR_FORMAT,
                     "collections.OrderedDict with %u arguments", n);
      return push (m, pickle_value_new (m->arena, PICKLE_DICT));

    case PICKLE_GLOBAL_REBUILD_TENSOR:
    case PICKLE_GLOBAL_REBUILD_TENSOR_V2:
      /* (storage, offset, size, stride[, requires_grad, hooks[, meta]]) */
      if ((callable->v.global.kind == PICKLE_GLOBAL_REBUILD_TENSOR && n != 4)
          || (callable->v.global.kind == PICKLE_GLOBAL_REBUILD_TENSOR_V2
              && (n < 6 || n > 7)))
        return fail (m, CONVNET_ERROR_FORMAT, "%s with %u arguments",
                     callable->v.global.name, n);
      if (args->v.tuple.items[0]->kind != PICKLE_STORAGE)
        return fail (m, CONVNET_ERROR_FORMAT,
                     "%s on a %s instead of a storage",
                     callable->v.global.name,
                     pickle_kind_name (args->v.tuple.items[0]->kind));
      v = pickle_value_new (m->arena, PICKLE_TENSOR);
      v->v.tensor.storage = args->v.tuple.items[0];
      v->v.tensor.offset = args->v.tuple.items[1];
      v->v.tensor.size = args->v.tuple.items[2];
      v->v.tensor.stride = args->v.tuple.items[3];
      return push (m, v);

    case PICKLE_GLOBAL_REBUILD_PARAMETER:
      /* A Parameter is its data tensor; requires_grad does not matter. */
      if (n < 1 || args->v.tuple.items[0]->kind != PICKLE_TENSOR)
        return fail (m, CONVNET_ERROR_FORMAT,
                     "%s without a tensor argument", callable->v.global.name);
      return push (m, args->v.tuple.items[0]);

    case PICKLE_GLOBAL_STORAGE_TYPE:
    default:
      return fail (m, CONVNET_ERROR_FORMAT, "calling %s is not supported",
                   callable->v.global.name);
    }
}

static gboolean
op_build (Machine *m)
{
  PickleValue *state = pop (m), *obj = state != NULL ? top (m) : NULL;

  if (obj == NULL)
    return FALSE;
  /* torch sets a state_dict's _metadata (per-module versions) this way. */
  if (obj->kind == PICKLE_DICT
      && (state->kind == PICKLE_DICT || state->kind == PICKLE_NONE))
    return TRUE;
  return fail (m, CONVNET_ERROR_FORMAT, "setting the state of a %s with a %s",
               pickle_kind_name (obj->kind), pickle_kind_name (state->kind));
}

static gboolean
add_items (Machine     *m,
           PickleValue *target,
           PickleValue **items,
           guint        n)
{
  if (target->kind == PICKLE_DICT && n % 2 != 0)
    return fail (m, CONVNET_ERROR_FORMAT, "an odd number of dict items");
  for (guint i = 0; i < n; i++)
    {
      g_ptr_array_add (target->v.list, items[i]);
      if (!nest (m, target, items[i]))
        return FALSE;
    }
  return TRUE;
}

static gboolean
op_setitems_or_appends (Machine   *m,
                        PickleKind kind)
{
  PickleValue **items = NULL, *target;
  guint n = 0, start = 0;

  if (!pop_mark (m, &items, &n, &start))
    return FALSE;
  /* The container sits just below the MARK. */
  if (start <= stack_floor (m))
    return fail (m, CONVNET_ERROR_FORMAT, "no container below the MARK");
  target = m->stack->pdata[start - 1];
  if (target->kind != kind)
    return fail (m, CONVNET_ERROR_FORMAT, "adding items to a %s",
                 pickle_kind_name (target->kind));
  if (!add_items (m, target, items, n))
    return FALSE;
  g_ptr_array_set_size (m->stack, start);
  return TRUE;
}

static gboolean
op_setitem_or_append (Machine   *m,
                      PickleKind kind)
{
  guint n = kind == PICKLE_DICT ? 2 : 1;
  PickleValue *items[2], *target;

  for (guint i = n; i > 0; i--)
    if ((items[i - 1] = pop (m)) == NULL)
      return FALSE;
  target = top (m);
  if (target == NULL)
    return FALSE;
  if (target->kind != kind)
    return fail (m, CONVNET_ERROR_FORMAT, "adding items to a %s",
                 pickle_kind_name (target->kind));
  return add_items (m, target, items, n);
}

/* Pops the values since the last MARK into a new tuple, list or dict. */
static gboolean
op_collect (Machine   *m,
            PickleKind kind)
{
  PickleValue **items = NULL, *v;
  guint n = 0, start = 0;

  if (!pop_mark (m, &items, &n, &start))
    return FALSE;
  if (kind == PICKLE_TUPLE)
    v = make_tuple (m, items, n);
  else
    {
      v = pickle_value_new (m->arena, kind);
      if (!add_items (m, v, items, n))
        v = NULL;
    }
  if (v == NULL)
    return FALSE;
  g_ptr_array_set_size (m->stack, start);
  return push (m, v);
}

static gboolean
op_small_tuple (Machine *m,
                guint    n)
{
  PickleValue *items[3], *v;

  for (guint i = n; i > 0; i--)
    if ((items[i - 1] = pop (m)) == NULL)
      return FALSE;
  v = make_tuple (m, items, n);
  return v != NULL && push (m, v);
}

static gboolean
op_memo_put (Machine *m,
             guint64  index)
{
  PickleValue *v = top (m);

  if (v == NULL)
    return FALSE;
  if (g_hash_table_size (m->memo) >= PICKLE_MAX_MEMO
      && !g_hash_table_contains (m->memo, GUINT_TO_POINTER ((guint) index)))
    return fail (m, CONVNET_ERROR_LIMIT, "more than %d memo entries",
                 PICKLE_MAX_MEMO);
  g_hash_table_insert (m->memo, GUINT_TO_POINTER ((guint) index), v);
  return TRUE;
}

static gboolean
op_memo_get (Machine *m,
             guint64  index)
{
  PickleValue *v = g_hash_table_lookup (m->memo,
                                        GUINT_TO_POINTER ((guint) index));

  if (v == NULL)
    return fail (m, CONVNET_ERROR_FORMAT, "memo entry %" G_GUINT64_FORMAT
                 " was never stored", index);
  return push (m, v);
}

static gboolean
op_persid (Machine *m)
{
  PickleValue *pid = pop (m), *v;
  GError *local = NULL;

  if (pid == NULL)
    return FALSE;
  if (m->src->persistent_load == NULL)
    return fail (m, CONVNET_ERROR_FORMAT,
                 "a persistent id where none is expected");
  v = m->src->persistent_load (m->arena, pid, m->src->user_data, &local);
  if (v == NULL)
    {
      g_propagate_error (m->error, local);
      return FALSE;
    }
  return push (m, v);
}

/* ----------------------------------------------------------- dispatch */

static gboolean
step (Machine      *m,
      PickleValue **result)
{
  guint64 u;
  PickleValue *a, *b, *v;

  m->op_pos = m->pos;
  if (m->pos >= m->src->size)
    {
      g_set_error (m->error, CONVNET_ERROR, CONVNET_ERROR_FORMAT,
                   "%s: the pickle ends at offset %" G_GSIZE_FORMAT
                   " without STOP (truncated)", m->src->where,
                   m->src->base_offset + m->pos);
      return FALSE;
    }
  m->op = m->src->data[m->pos++];

  switch (m->op)
    {
    case 0x80: /* PROTO */
      if (!read_uint (m, 1, &u))
        return FALSE;
      if (u > 5)
        return fail (m, CONVNET_ERROR_FORMAT, "unknown protocol %u",
                     (guint) u);
      return TRUE;
    case 0x95: /* FRAME: a length hint we need not use */
      if (!read_uint (m, 8, &u))
        return FALSE;
      return need (m, u);
    case '.': /* STOP */
      *result = pop (m);
      return *result != NULL;
    case '(': /* MARK */
      if (m->marks->len >= PICKLE_MAX_DEPTH)
        return fail (m, CONVNET_ERROR_LIMIT, "more than %d nested MARKs",
                     PICKLE_MAX_DEPTH);
      g_array_append_val (m->marks, m->stack->len);
      return TRUE;
    case '0': /* POP */
      return pop (m) != NULL;
    case '1': /* POP_MARK */
      {
        PickleValue **items = NULL;
        guint n = 0, start = 0;

        if (!pop_mark (m, &items, &n, &start))
          return FALSE;
        g_ptr_array_set_size (m->stack, start);
        return TRUE;
      }
    case '2': /* DUP */
      return (v = top (m)) != NULL && push (m, v);
    case '}': /* EMPTY_DICT */
      return push (m, pickle_value_new (m->arena, PICKLE_DICT));
    case ']': /* EMPTY_LIST */
      return push (m, pickle_value_new (m->arena, PICKLE_LIST));
    case ')': /* EMPTY_TUPLE */
      return op_small_tuple (m, 0);
    case 0x85: /* TUPLE1 */
    case 0x86: /* TUPLE2 */
    case 0x87: /* TUPLE3 */
      return op_small_tuple (m, m->op - 0x84);
    case 't': /* TUPLE */
      return op_collect (m, PICKLE_TUPLE);
    case 'l': /* LIST */
      return op_collect (m, PICKLE_LIST);
    case 'd': /* DICT */
      return op_collect (m, PICKLE_DICT);
    case 'J': /* BININT */
      return read_uint (m, 4, &u) && push_int (m, (gint32) (guint32) u);
    case 'K': /* BININT1 */
      return read_uint (m, 1, &u) && push_int (m, (gint64) u);
    case 'M': /* BININT2 */
      return read_uint (m, 2, &u) && push_int (m, (gint64) u);
    case 0x8a: /* LONG1 */
      return read_uint (m, 1, &u) && push_long (m, u);
    case 0x8b: /* LONG4 */
      if (!read_uint (m, 4, &u))
        return FALSE;
      if ((gint32) (guint32) u < 0)
        return fail (m, CONVNET_ERROR_FORMAT, "a negative length");
      return push_long (m, u);
    case 'G': /* BINFLOAT: big-endian IEEE double */
      {
        guint64 bits;
        double d;

        if (!need (m, 8))
          return FALSE;
        bits = 0;
        for (guint i = 0; i < 8; i++)
          bits = (bits << 8) | m->src->data[m->pos + i];
        m->pos += 8;
        memcpy (&d, &bits, sizeof d);
        v = pickle_value_new (m->arena, PICKLE_FLOAT);
        v->v.f = d;
        return push (m, v);
      }
    case 'N': /* NONE */
      return push (m, pickle_value_new (m->arena, PICKLE_NONE));
    case 0x88: /* NEWTRUE */
    case 0x89: /* NEWFALSE */
      v = pickle_value_new (m->arena, PICKLE_BOOL);
      v->v.b = m->op == 0x88;
      return push (m, v);
    case 'X': /* BINUNICODE */
    case 'T': /* BINSTRING: a Python 2 str, read as text like torch does */
      return read_uint (m, 4, &u) && push_string (m, PICKLE_STR, u);
    case 0x8c: /* SHORT_BINUNICODE */
    case 'U': /* SHORT_BINSTRING */
      return read_uint (m, 1, &u) && push_string (m, PICKLE_STR, u);
    case 0x8d: /* BINUNICODE8 */
      return read_uint (m, 8, &u) && push_string (m, PICKLE_STR, u);
    case 'B': /* BINBYTES */
      return read_uint (m, 4, &u) && push_string (m, PICKLE_BYTES, u);
    case 'C': /* SHORT_BINBYTES */
      return read_uint (m, 1, &u) && push_string (m, PICKLE_BYTES, u);
    case 0x8e: /* BINBYTES8 */
      return read_uint (m, 8, &u) && push_string (m, PICKLE_BYTES, u);
    case 'q': /* BINPUT */
      return read_uint (m, 1, &u) && op_memo_put (m, u);
    case 'r': /* LONG_BINPUT */
      return read_uint (m, 4, &u) && op_memo_put (m, u);
    case 0x94: /* MEMOIZE */
      return op_memo_put (m, g_hash_table_size (m->memo));
    case 'h': /* BINGET */
      return read_uint (m, 1, &u) && op_memo_get (m, u);
    case 'j': /* LONG_BINGET */
      return read_uint (m, 4, &u) && op_memo_get (m, u);
    case 'c': /* GLOBAL */
      return op_global (m);
    case 0x93: /* STACK_GLOBAL */
      return op_stack_global (m);
    case 'R': /* REDUCE */
    case 0x81: /* NEWOBJ: cls.__new__(cls, *args), same for our types */
      b = pop (m);
      a = b != NULL ? pop (m) : NULL;
      if (a == NULL)
        return FALSE;
      if (m->op == 0x81 && a->kind == PICKLE_GLOBAL
          && a->v.global.kind != PICKLE_GLOBAL_ORDERED_DICT)
        return fail (m, CONVNET_ERROR_FORMAT, "creating a %s",
                     a->v.global.name);
      return call (m, a, b);
    case 'b': /* BUILD */
      return op_build (m);
    case 'Q': /* BINPERSID */
      return op_persid (m);
    case 's': /* SETITEM */
      return op_setitem_or_append (m, PICKLE_DICT);
    case 'u': /* SETITEMS */
      return op_setitems_or_appends (m, PICKLE_DICT);
    case 'a': /* APPEND */
      return op_setitem_or_append (m, PICKLE_LIST);
    case 'e': /* APPENDS */
      return op_setitems_or_appends (m, PICKLE_LIST);
    default:
      if (pickle_opcode_name (m->op) != NULL)
        return fail (m, CONVNET_ERROR_FORMAT,
                     "this opcode is not supported in a state_dict");
      return fail (m, CONVNET_ERROR_FORMAT, "unknown opcode");
    }
}

PickleValue *
pickle_load (PickleArena        *arena,
             const PickleSource *source,
             gsize              *consumed,
             GError            **error)
{
  Machine m = { 0 };
  PickleValue *result = NULL;

  m.arena = arena;
  m.src = source;
  m.stack = g_ptr_array_new ();
  m.marks = g_array_new (FALSE, FALSE, sizeof (guint));
  m.memo = g_hash_table_new (g_direct_hash, g_direct_equal);
  m.error = error;

  while (result == NULL)
    if (!step (&m, &result))
      {
        result = NULL;
        break;
      }

  if (result != NULL && consumed != NULL)
    *consumed = m.pos;
  g_ptr_array_unref (m.stack);
  g_array_unref (m.marks);
  g_hash_table_unref (m.memo);
  return result;
}
