/* pickle_value.c: the values a pickle builds, and the arena owning them.
 *
 * Values are never freed one by one: memo entries, DUP and containers
 * share them freely (even in cycles), so the arena frees them all at
 * once. */
#include <string.h>

#include "formats.h"

struct PickleArena
{
  GPtrArray *values;
};

/* Every standard opcode, for messages: a file using INST or EXT1 is told
 * which one we do not support, not just given a byte. */
static const struct
{
  guint8      op;
  const char *name;
} opcodes[] = {
  { '(', "MARK" }, { '.', "STOP" }, { '0', "POP" }, { '1', "POP_MARK" },
  { '2', "DUP" }, { 'F', "FLOAT" }, { 'I', "INT" }, { 'J', "BININT" },
  { 'K', "BININT1" }, { 'L', "LONG" }, { 'M', "BININT2" }, { 'N', "NONE" },
  { 'P', "PERSID" }, { 'Q', "BINPERSID" }, { 'R', "REDUCE" },
  { 'S', "STRING" }, { 'T', "BINSTRING" }, { 'U', "SHORT_BINSTRING" },
  { 'V', "UNICODE" }, { 'X', "BINUNICODE" }, { 'a', "APPEND" },
  { 'b', "BUILD" }, { 'c', "GLOBAL" }, { 'd', "DICT" },
  { '}', "EMPTY_DICT" }, { 'e', "APPENDS" }, { 'g', "GET" },
  { 'h', "BINGET" }, { 'i', "INST" }, { 'j', "LONG_BINGET" },
  { 'l', "LIST" }, { ']', "EMPTY_LIST" }, { 'o', "OBJ" }, { 'p', "PUT" },
  { 'q', "BINPUT" }, { 'r', "LONG_BINPUT" }, { 's', "SETITEM" },
  { 't', "TUPLE" }, { ')', "EMPTY_TUPLE" }, { 'u', "SETITEMS" },
  { 'G', "BINFLOAT" }, { 'B', "BINBYTES" }, { 'C', "SHORT_BINBYTES" },
  { 0x80, "PROTO" }, { 0x81, "NEWOBJ" }, { 0x82, "EXT1" }, { 0x83, "EXT2" },
  { 0x84, "EXT4" }, { 0x85, "TUPLE1" }, { 0x86, "TUPLE2" },
  { 0x87, "TUPLE3" }, { 0x88, "NEWTRUE" }, { 0x89, "NEWFALSE" },
  { 0x8a, "LONG1" }, { 0x8b, "LONG4" }, { 0x8c, "SHORT_BINUNICODE" },
  { 0x8d, "BINUNICODE8" }, { 0x8e, "BINBYTES8" }, { 0x8f, "EMPTY_SET" },
  { 0x90, "ADDITEMS" }, { 0x91, "FROZENSET" }, { 0x92, "NEWOBJ_EX" },
  { 0x93, "STACK_GLOBAL" }, { 0x94, "MEMOIZE" }, { 0x95, "FRAME" },
  { 0x96, "BYTEARRAY8" }, { 0x97, "NEXT_BUFFER" },
  { 0x98, "READONLY_BUFFER" }
};

const char *
pickle_opcode_name (guint8 op)
{
  for (guint i = 0; i < G_N_ELEMENTS (opcodes); i++)
    if (opcodes[i].op == op)
      return opcodes[i].name;
  return NULL;
}

const char *
pickle_kind_name (PickleKind kind)
{
  static const char *names[] = {
    "None", "bool", "int", "int", "float", "str", "bytes", "tuple", "list",
    "dict", "global", "storage", "tensor"
  };

  return (guint) kind < G_N_ELEMENTS (names) ? names[kind] : "?";
}

static void
value_free (gpointer data)
{
  PickleValue *v = data;

  if (v->kind == PICKLE_TUPLE)
    g_free (v->v.tuple.items);
  else if (v->kind == PICKLE_LIST || v->kind == PICKLE_DICT)
    g_ptr_array_unref (v->v.list);
  g_free (v);
}

PickleArena *
pickle_arena_new (void)
{
  PickleArena *arena = g_new0 (PickleArena, 1);

  arena->values = g_ptr_array_new_with_free_func (value_free);
  return arena;
}

void
pickle_arena_free (PickleArena *arena)
{
  if (arena == NULL)
    return;
  g_ptr_array_unref (arena->values);
  g_free (arena);
}

PickleValue *
pickle_value_new (PickleArena *arena,
                  PickleKind   kind)
{
  PickleValue *v = g_new0 (PickleValue, 1);

  v->kind = kind;
  v->depth = 1;
  if (kind == PICKLE_LIST || kind == PICKLE_DICT)
    v->v.list = g_ptr_array_new ();
  g_ptr_array_add (arena->values, v);
  return v;
}

gboolean
pickle_str_equal (const PickleValue *v,
                  const char        *s)
{
  gsize len = strlen (s);

  return v != NULL && v->kind == PICKLE_STR && v->v.str.len == len
         && memcmp (v->v.str.data, s, len) == 0;
}

char *
pickle_str_dup (const PickleValue *v)
{
  return g_strndup (v->v.str.data, v->v.str.len);
}
