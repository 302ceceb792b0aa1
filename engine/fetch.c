/* fetch.c: downloading torchvision's official checkpoints (or any file
 * named like them) into a weights folder.
 *
 * The bytes go to a hidden FOLDER/.FILE.part that a later call resumes
 * with an HTTP range request; the file appears under its own name only
 * once the SHA-256 of all of it starts with the hex digits its name
 * carries, as torch.hub checks.  A damaged download or a cancel removes
 * the part file; an interrupted transfer keeps it for the next try. */
#include "convnet.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <curl/curl.h>
#include <glib/gstdio.h>

#define TORCHVISION_URL "https://download.pytorch.org/models/"
/* a stalled transfer (under 1 byte/s this long) is an interruption */
#define STALL_SECONDS 60

typedef struct
{
  const char          *url;
  const char          *part_path;
  FILE                *out;
  GChecksum           *sha256;
  guint64              offset;     /* bytes already in the part file */
  guint64              written;    /* bytes written by this transfer */
  gboolean             cancelled;
  gboolean             write_failed;
  int                  write_errno;
  ConvnetFetchProgress progress;
  gpointer             user_data;
} Transfer;

const char *
convnet_download_base_url (void)
{
  const char *mirror = g_getenv ("CONVNET_DOWNLOAD_URL");

  return mirror != NULL && mirror[0] != '\0' ? mirror : TORCHVISION_URL;
}

char *
convnet_checkpoint_url (const char *arch_name,
                        GError    **error)
{
  const ConvnetArch *arch = convnet_arch_lookup (arch_name);
  const char *base = convnet_download_base_url ();

  if (arch == NULL || arch->checkpoint == NULL)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   arch == NULL
                   ? "unknown architecture '%s' (see 'convnet models')"
                   : "torchvision publishes no checkpoint for '%s'",
                   arch_name);
      return NULL;
    }
  return g_strconcat (base, g_str_has_suffix (base, "/") ? "" : "/",
                      arch->checkpoint, NULL);
}

/* The file name at the end of URL's path, and the hex digits it promises
 * the SHA-256 starts with (NAME-HEX.EXT, torch.hub's convention). */
static gboolean
parse_url_name (const char *url,
                char      **file,
                char      **prefix,
                GError    **error)
{
  const char *end = url + strcspn (url, "?#");
  const char *slash = g_strrstr_len (url, end - url, "/");
  const char *dash, *dot;
  char *name;

  *file = *prefix = NULL;
  if (!g_str_has_prefix (url, "http://") && !g_str_has_prefix (url, "https://"))
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "'%s' is not an http:// or https:// address", url);
      return FALSE;
    }
  name = slash ? g_strndup (slash + 1, end - slash - 1) : g_strdup ("");
  dot = strrchr (name, '.');
  dash = dot ? g_strrstr_len (name, dot - name, "-") : NULL;
  if (dash != NULL && dot - dash - 1 >= 6 && dot - dash - 1 <= 64
      && name[0] != '.')
    {
      *prefix = g_strndup (dash + 1, dot - dash - 1);
      for (const char *c = *prefix; *c; c++)
        if (!g_ascii_isxdigit (*c))
          g_clear_pointer (prefix, g_free);
    }
  if (*prefix == NULL || strspn (name, "abcdefghijklmnopqrstuvwxyz"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
                         != strlen (name))
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s: the file name '%s' carries no SHA-256 prefix "
                   "(NAME-1234abcd.pth), so the download could not be "
                   "verified", url, name);
      g_free (name);
      g_clear_pointer (prefix, g_free);
      return FALSE;
    }
  *file = name;
  return TRUE;
}

/* Hashes what PATH already holds into SHA256; its size, or 0. */
static guint64
hash_existing (const char *path,
               GChecksum  *sha256)
{
  FILE *in = g_fopen (path, "rb");
  guint8 buffer[1 << 16];
  guint64 total = 0;
  size_t n;

  if (in == NULL)
    return 0;
  while ((n = fread (buffer, 1, sizeof buffer, in)) > 0)
    {
      g_checksum_update (sha256, buffer, n);
      total += n;
    }
  fclose (in);
  return total;
}

static size_t
on_data (char   *data,
         size_t  size,
         size_t  count,
         void   *user_data)
{
  Transfer *t = user_data;
  size_t n = size * count;

  if (fwrite (data, 1, n, t->out) != n)
    {
      t->write_failed = TRUE;
      t->write_errno = errno;
      return 0;
    }
  g_checksum_update (t->sha256, (const guchar *) data, n);
  t->written += n;
  return n;
}

static int
on_progress (void       *user_data,
             curl_off_t  total,
             curl_off_t  now,
             curl_off_t  up_total G_GNUC_UNUSED,
             curl_off_t  up_now G_GNUC_UNUSED)
{
  Transfer *t = user_data;

  if (t->progress != NULL
      && !t->progress (t->offset + (guint64) now,
                       total > 0 ? t->offset + (guint64) total : 0,
                       t->user_data))
    {
      t->cancelled = TRUE;
      return 1;
    }
  return 0;
}

static void
curl_init_once (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      curl_global_init (CURL_GLOBAL_DEFAULT);
      g_once_init_leave (&done, 1);
    }
}

/* One HTTP request, appending to the part file from T->offset.  Returns
 * the curl result; *STATUS receives the HTTP status. */
static CURLcode
run_transfer (Transfer *t,
              long     *status,
              char      curl_message[CURL_ERROR_SIZE])
{
  CURL *curl = curl_easy_init ();
  CURLcode result;

  curl_easy_setopt (curl, CURLOPT_URL, t->url);
  curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (curl, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt (curl, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt (curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (curl, CURLOPT_LOW_SPEED_TIME, (long) STALL_SECONDS);
  curl_easy_setopt (curl, CURLOPT_USERAGENT, "gimp-convnet");
  curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, curl_message);
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt (curl, CURLOPT_WRITEDATA, t);
  curl_easy_setopt (curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt (curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt (curl, CURLOPT_XFERINFODATA, t);
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  if (t->offset > 0)
    curl_easy_setopt (curl, CURLOPT_RESUME_FROM_LARGE,
                      (curl_off_t) t->offset);
  curl_message[0] = '\0';
  result = curl_easy_perform (curl);
  *status = 0;
  curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, status);
  curl_easy_cleanup (curl);
  return result;
}

/* Opens the part file for T, resuming it when RESUME and it has bytes. */
/* Opens the part file for T, resuming it when RESUME and it has bytes.
 * An exclusive lock keeps a second download of the same file (the
 * command and the dialog at once) from writing into it too. */
static gboolean
open_part (Transfer  *t,
           gboolean   resume,
           GError   **error)
{
  int fd = g_open (t->part_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  int saved;

  if (fd < 0)
    goto io_error;
  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      saved = errno;
      close (fd);
      if (saved != EWOULDBLOCK)
        {
          errno = saved;
          goto io_error;
        }
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
                   "%s: another download of it into the same folder is "
                   "under way (%s)", t->url, t->part_path);
      return FALSE;
    }
  g_checksum_reset (t->sha256);
  t->offset = resume ? hash_existing (t->part_path, t->sha256) : 0;
  if (t->offset == 0)
    g_checksum_reset (t->sha256);
  t->written = 0;
  if ((t->offset == 0 && ftruncate (fd, 0) != 0)
      || lseek (fd, 0, SEEK_END) < 0 || (t->out = fdopen (fd, "w")) == NULL)
    {
      saved = errno;
      close (fd);
      errno = saved;
      goto io_error;
    }
  return TRUE;

io_error:
  saved = errno;
  g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO, "cannot write %s: %s",
               t->part_path, g_strerror (saved));
  return FALSE;
}

static gboolean
close_part (Transfer  *t,
            GError   **error)
{
  gboolean ok = fflush (t->out) == 0 && fsync (fileno (t->out)) == 0;
  int saved = errno;

  ok = (fclose (t->out) == 0) && ok;
  t->out = NULL;
  if (!ok || t->write_failed)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
                   "cannot write %s: %s", t->part_path,
                   g_strerror (t->write_failed ? t->write_errno : saved));
      return FALSE;
    }
  return TRUE;
}

/* The error for a transfer that failed on the network's side. */
static void
set_network_error (GError    **error,
                   Transfer   *t,
                   CURLcode    result,
                   long        status,
                   const char *curl_message,
                   const char *folder,
                   const char *file)
{
  const char *why = curl_message[0] ? curl_message : curl_easy_strerror (result);
  guint64 have = t->offset + t->written;
  char *kept = have > 0
               ? g_strdup_printf (" %" G_GUINT64_FORMAT " bytes are kept in %s; "
                                  "run it again to resume.", have, t->part_path)
               : g_strdup ("");

  if (result == CURLE_HTTP_RETURNED_ERROR)
    g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_NETWORK,
                 "%s: the server answered HTTP %ld. Download it by hand and "
                 "put it in %s as %s.", t->url, status, folder, file);
  else
    g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_NETWORK,
                 "%s: the download failed (%s).%s Without a network, "
                 "download it elsewhere and put it in %s as %s.", t->url, why,
                 kept, folder, file);
  g_free (kept);
}

char *
convnet_fetch_url (const char          *url,
                   const char          *folder,
                   ConvnetFetchProgress progress,
                   gpointer             user_data,
                   GError             **error)
{
  Transfer t = { 0 };
  char curl_message[CURL_ERROR_SIZE];
  char *file = NULL, *prefix = NULL, *path = NULL, *part = NULL, *part_name;
  const char *digest;
  gboolean resume = TRUE, done = FALSE;
  CURLcode result = CURLE_OK;
  long status = 0;

  g_return_val_if_fail (url != NULL && folder != NULL, NULL);
  if (!parse_url_name (url, &file, &prefix, error))
    return NULL;
  if (g_mkdir_with_parents (folder, 0755) != 0)
    {
      int saved = errno;

      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
                   "cannot create the weights folder %s: %s", folder,
                   g_strerror (saved));
      goto fail;
    }
  path = g_build_filename (folder, file, NULL);
  part_name = g_strconcat (".", file, ".part", NULL);
  part = g_build_filename (folder, part_name, NULL);
  g_free (part_name);

  t.url = url;
  t.part_path = part;
  t.sha256 = g_checksum_new (G_CHECKSUM_SHA256);
  t.progress = progress;
  t.user_data = user_data;

  /* a file already there and verified is the answer */
  if (hash_existing (path, t.sha256) > 0
      && g_ascii_strncasecmp (g_checksum_get_string (t.sha256), prefix,
                              strlen (prefix)) == 0)
    {
      g_checksum_free (t.sha256);
      g_free (part);
      g_free (file);
      g_free (prefix);
      return path;
    }

  curl_init_once ();
  /* two tries at most: a part file the server will not extend (416, or a
   * range it answers from elsewhere) is dropped and the file fetched
   * whole */
  for (int attempt = 0; attempt < 2 && !done; attempt++)
    {
      if (!open_part (&t, resume, error))
        goto fail;
      result = run_transfer (&t, &status, curl_message);
      if (!close_part (&t, error))
        goto fail_remove;
      if (t.cancelled)
        {
          g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_CANCELLED,
                       "the download of %s was cancelled; nothing was saved",
                       url);
          goto fail_remove;
        }
      if (t.offset > 0 && status == 416
          && g_ascii_strncasecmp (g_checksum_get_string (t.sha256), prefix,
                                  strlen (prefix)) == 0)
        {
          /* the part file was whole already: an earlier run ended
           * between its last byte and the rename */
          result = CURLE_OK;
          done = TRUE;
        }
      else if (t.offset > 0 && (status == 416 || result == CURLE_RANGE_ERROR))
        resume = FALSE;
      else
        done = TRUE;
    }
  if (result != CURLE_OK)
    {
      set_network_error (error, &t, result, status, curl_message, folder,
                         file);
      /* nothing worth resuming from a refusal or an empty transfer */
      if (result == CURLE_HTTP_RETURNED_ERROR || t.offset + t.written == 0)
        g_unlink (part);
      goto fail;
    }

  digest = g_checksum_get_string (t.sha256);
  if (g_ascii_strncasecmp (digest, prefix, strlen (prefix)) != 0)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_FORMAT,
                   "%s: the SHA-256 of the %" G_GUINT64_FORMAT " bytes "
                   "received starts %.*s, but the name %s promises %s: the "
                   "file is damaged or not the official one, and nothing "
                   "was saved", url, t.offset + t.written,
                   (int) strlen (prefix), digest, file, prefix);
      goto fail_remove;
    }
  if (g_rename (part, path) != 0)
    {
      int saved = errno;

      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
                   "cannot rename %s to %s: %s", part, path,
                   g_strerror (saved));
      goto fail_remove;
    }
  g_checksum_free (t.sha256);
  g_free (part);
  g_free (file);
  g_free (prefix);
  return path;

fail_remove:
  g_unlink (part);
fail:
  if (t.sha256 != NULL)
    g_checksum_free (t.sha256);
  g_free (path);
  g_free (part);
  g_free (file);
  g_free (prefix);
  return NULL;
}

char *
convnet_fetch_checkpoint (const char          *arch_name,
                          const char          *folder,
                          ConvnetFetchProgress progress,
                          gpointer             user_data,
                          GError             **error)
{
  char *url = convnet_checkpoint_url (arch_name, error);
  char *path;

  if (url == NULL)
    return NULL;
  path = convnet_fetch_url (url, folder, progress, user_data, error);
  g_free (url);
  return path;
}
