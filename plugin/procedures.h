/* procedures.h: the plug-in's procedures as one table, read by both
 * hosts (GIMP 2.10 and GIMP 3), so that a procedure's name, arguments and
 * return values are written once and the two signatures cannot drift. */
#ifndef CONVNET_PROCEDURES_H
#define CONVNET_PROCEDURES_H

#include <glib-object.h>

typedef enum
{
  PLUGIN_ARG_STRING,
  PLUGIN_ARG_INT,
  PLUGIN_ARG_DOUBLE,
  PLUGIN_ARG_BOOLEAN      /* an INT32 0/1 on GIMP 2.10 */
} PluginArgType;

typedef enum
{
  PLUGIN_RETURN_STRING,
  PLUGIN_RETURN_DOUBLE,
  PLUGIN_RETURN_INT,
  PLUGIN_RETURN_STRINGS,  /* GIMP 2.10: a count, then the array */
  PLUGIN_RETURN_DOUBLES,  /* likewise */
  PLUGIN_RETURN_LAYER
} PluginReturnType;

typedef struct
{
  PluginArgType type;
  const char   *name;
  const char   *blurb;
  const char   *default_string;
  double        min, max, default_value;
  /* remembered between runs but not a PDB argument */
  gboolean      aux;
} PluginArg;

typedef struct
{
  PluginReturnType type;
  const char      *name;
  const char      *blurb;
} PluginReturn;

typedef struct _PluginCall PluginCall;
typedef struct _PluginProcedure PluginProcedure;

struct _PluginProcedure
{
  const char         *name;
  /* an image procedure takes run-mode, image and drawable(s) first */
  gboolean            on_image;
  const char         *menu_label;   /* NULL: not in a menu */
  const char         *blurb;
  const char         *help;
  const PluginArg    *args;
  int                 n_args;
  const PluginReturn *returns;
  int                 n_returns;
  /* FALSE with ERROR set on failure; FALSE without it when cancelled */
  gboolean          (*run) (PluginCall *call, GError **error);
};

/* What a run function is given and gives back.  Arguments and return
 * values are GValues in the table's order; the host fills the first and
 * turns the second into PDB values. */
struct _PluginCall
{
  const PluginProcedure *procedure;
  gboolean               interactive;
  gint32                 image;
  const gint32          *drawables;
  int                    n_drawables;
  GValue                *args;
  GValue                *returns;
};

extern const PluginProcedure plugin_procedures[];
extern const int             plugin_n_procedures;

const PluginProcedure *plugin_procedure_find (const char *name);

/* A call with the table's defaults (the host then sets what it has). */
PluginCall  *plugin_call_new    (const PluginProcedure *procedure);
void         plugin_call_free   (PluginCall *call);
/* The index of argument NAME; aborts on a name not in the table, which is
 * a programming error caught by any test of the procedure. */
int          plugin_call_arg    (const PluginCall *call, const char *name);

const char  *plugin_call_get_string  (const PluginCall *call, const char *name);
int          plugin_call_get_int     (const PluginCall *call, const char *name);
double       plugin_call_get_double  (const PluginCall *call, const char *name);
gboolean     plugin_call_get_boolean (const PluginCall *call, const char *name);
void         plugin_call_set_string  (PluginCall *call, const char *name,
                                      const char *value);
void         plugin_call_set_int     (PluginCall *call, const char *name,
                                      int value);
void         plugin_call_set_boolean (PluginCall *call, const char *name,
                                      gboolean value);

/* Return values, by their index in the procedure's table entry. */
void plugin_call_take_strings (PluginCall *call, int index, char **strv);
void plugin_call_take_doubles (PluginCall *call, int index, double *values,
                               int n);
void plugin_call_set_layer    (PluginCall *call, int index, gint32 layer);
void plugin_call_take_string  (PluginCall *call, int index, char *value);
void plugin_call_set_return_int (PluginCall *call, int index, int value);
void plugin_call_set_double   (PluginCall *call, int index, double value);

/* The arguments as a key file and back: how GIMP 2.10 keeps last values
 * (GIMP 3 keeps them in its GimpProcedureConfig). */
char    *plugin_call_save_args (const PluginCall *call);
void     plugin_call_load_args (PluginCall *call, const char *saved);

/* A double array in a GValue: a boxed array of N doubles. */
GType    plugin_doubles_get_type (void);
typedef struct
{
  double *data;
  int     n;
} PluginDoubles;

#endif
