/* fetch.c: downloading torchvision's official checkpoints (or any file
 * named like them) into a weights folder.
 *
 * The bytes go to a hidden FOLDER/.FILE.part that a later call resumes
 * with an HTTP range request; the file appears under its own name only
 * once the SHA-256 of all of it starts with the hex digits its name
 * carries, as torch.hub checks.  A damaged download or a cancel removes
 * the part file; an interrupted transfer keeps it for the next try. */
#include "convnet.h"
#include "system_library.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <dlfcn.h>
#include <glib/gstdio.h>

#define TORCHVISION_URL "https://download.pytorch.org/models/"
/* a stalled transfer (under 1 byte/s this long) is an interruption */
#define STALL_SECONDS 60

typedef struct
{
  const char          *url;
  const char          *part_path;
  int                  fd;         /* the part file, locked */
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
      gboolean hex = TRUE;

      for (const char *c = dash + 1; c < dot; c++)
        hex = hex && g_ascii_isxdigit (*c);
      if (hex)
        *prefix = g_strndup (dash + 1, dot - dash - 1);
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

/* Hashes what FD holds from its start into SHA256; *SIZE receives the
 * byte count.  FALSE with errno set when reading fails. */
static gboolean
hash_fd (int         fd,
         GChecksum  *sha256,
         guint64    *size)
{
  guint8 buffer[1 << 16];
  gssize n;

  *size = 0;
  if (lseek (fd, 0, SEEK_SET) < 0)
    return FALSE;
  while ((n = read (fd, buffer, sizeof buffer)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return FALSE;
      g_checksum_update (sha256, buffer, n);
      *size += n;
    }
  return TRUE;
}

/* Whether the file at PATH exists and its SHA-256 starts with PREFIX. */
static gboolean
file_matches (const char *path,
              const char *prefix)
{
  GChecksum *sha256 = g_checksum_new (G_CHECKSUM_SHA256);
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  guint64 size = 0;
  gboolean ok = fd >= 0 && hash_fd (fd, sha256, &size) && size > 0
                && g_ascii_strncasecmp (g_checksum_get_string (sha256), prefix,
                                        strlen (prefix)) == 0;

  if (fd >= 0)
    close (fd);
  g_checksum_free (sha256);
  return ok;
}

static size_t
on_data (char   *data,
         size_t  size,
         size_t  count,
         void   *user_data)
{
  Transfer *t = user_data;
  size_t n = size * count, done = 0;

  while (done < n)
    {
      gssize w = write (t->fd, data + done, n - done);

      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        {
          t->write_failed = TRUE;
          t->write_errno = w < 0 ? errno : ENOSPC;
          return 0;
        }
      done += w;
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

/* libcurl is opened when a download starts rather than linked: the
 * libraries it needs in turn (TLS, Kerberos, LDAP, ...) cost about 15 ms
 * to load, which every process that never downloads would pay: each
 * `convnet` command, each call of the plug-in. */
typedef struct
{
  CURLcode    (*global_init) (long flags);
  CURL       *(*easy_init) (void);
  CURLcode    (*setopt) (CURL *curl, CURLoption option, ...);
  CURLcode    (*perform) (CURL *curl);
  CURLcode    (*getinfo) (CURL *curl, CURLINFO info, ...);
  void        (*cleanup) (CURL *curl);
  const char *(*strerror) (CURLcode code);
} CurlApi;

#define LIBCURL "libcurl.so.4"

/* libcurl's functions, opened and initialised once; NULL with *ERROR
 * naming the library when it cannot be. */
static const CurlApi *
curl_api (GError **error)
{
  static CurlApi api;
  static char *failure;
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      void *lib = dlopen (LIBCURL, RTLD_NOW | RTLD_LOCAL);

      if (!lib)
        failure = g_strdup (dlerror ());
      else if (!convnet_library_symbol (lib, "curl_global_init",
                                        &api.global_init)
               || !convnet_library_symbol (lib, "curl_easy_init",
                                           &api.easy_init)
               || !convnet_library_symbol (lib, "curl_easy_setopt",
                                           &api.setopt)
               || !convnet_library_symbol (lib, "curl_easy_perform",
                                           &api.perform)
               || !convnet_library_symbol (lib, "curl_easy_getinfo",
                                           &api.getinfo)
               || !convnet_library_symbol (lib, "curl_easy_cleanup",
                                           &api.cleanup)
               || !convnet_library_symbol (lib, "curl_easy_strerror",
                                           &api.strerror))
        failure = g_strdup (dlerror ());
      else
        api.global_init (CURL_GLOBAL_DEFAULT);
      g_once_init_leave (&done, 1);
    }
  if (failure)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
                   "Downloading needs %s (Debian's libcurl4): %s", LIBCURL,
                   failure);
      return NULL;
    }
  return &api;
}

/* One HTTP request, appending to the part file from T->offset.  Returns
 * the curl result; *STATUS receives the HTTP status. */
static CURLcode
run_transfer (const CurlApi *api,
              Transfer      *t,
              long          *status,
              char           curl_message[CURL_ERROR_SIZE])
{
  CURL *curl = api->easy_init ();
  CURLcode result;

  if (!curl)
    return CURLE_OUT_OF_MEMORY;
  api->setopt (curl, CURLOPT_URL, t->url);
  api->setopt (curl, CURLOPT_PROTOCOLS_STR, "http,https");
  api->setopt (curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  api->setopt (curl, CURLOPT_FOLLOWLOCATION, 1L);
  api->setopt (curl, CURLOPT_MAXREDIRS, 5L);
  api->setopt (curl, CURLOPT_FAILONERROR, 1L);
  api->setopt (curl, CURLOPT_CONNECTTIMEOUT, 30L);
  api->setopt (curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  api->setopt (curl, CURLOPT_LOW_SPEED_TIME, (long) STALL_SECONDS);
  api->setopt (curl, CURLOPT_USERAGENT, "gimp-convnet");
  api->setopt (curl, CURLOPT_ERRORBUFFER, curl_message);
  api->setopt (curl, CURLOPT_WRITEFUNCTION, on_data);
  api->setopt (curl, CURLOPT_WRITEDATA, t);
  api->setopt (curl, CURLOPT_NOPROGRESS, 0L);
  api->setopt (curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  api->setopt (curl, CURLOPT_XFERINFODATA, t);
  api->setopt (curl, CURLOPT_NOSIGNAL, 1L);
  if (t->offset > 0)
    api->setopt (curl, CURLOPT_RESUME_FROM_LARGE, (curl_off_t) t->offset);
  curl_message[0] = '\0';
  result = api->perform (curl);
  *status = 0;
  api->getinfo (curl, CURLINFO_RESPONSE_CODE, status);
  api->cleanup (curl);
  return result;
}

static gboolean
part_error (Transfer  *t,
            GError   **error)
{
  int saved = errno;

  g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO, "cannot write %s: %s",
               t->part_path, g_strerror (saved));
  return FALSE;
}

/* Opens and locks the part file; the one descriptor serves every attempt
 * and is closed only after the rename or removal, so no other process can
 * slip in between.  A second download of the same file (the command and
 * the dialog at once) is refused. */
static gboolean
lock_part (Transfer  *t,
           GError   **error)
{
  for (int tries = 0; tries < 5; tries++)
    {
      struct stat locked, named;
      int fd = g_open (t->part_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

      if (fd < 0)
        return part_error (t, error);
      if (flock (fd, LOCK_EX | LOCK_NB) != 0)
        {
          int saved = errno;

          /* some network file systems have no locks: go on without */
          if (saved != ENOLCK && saved != EOPNOTSUPP && saved != ENOSYS)
            {
              close (fd);
              if (saved != EWOULDBLOCK)
                {
                  errno = saved;
                  return part_error (t, error);
                }
              g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
                           "%s: another download of it into the same folder "
                           "is under way (%s)", t->url, t->part_path);
              return FALSE;
            }
        }
      /* the holder before us may have renamed or removed the file we
       * opened: only the one still at the path will do */
      if (fstat (fd, &locked) == 0 && g_stat (t->part_path, &named) == 0
          && locked.st_dev == named.st_dev && locked.st_ino == named.st_ino)
        {
          t->fd = fd;
          return TRUE;
        }
      close (fd);
    }
  g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
               "%s: it keeps being replaced by another download", t->part_path);
  return FALSE;
}

/* Readies the part file for a transfer: what it holds is hashed and
 * resumed when RESUME, else it is emptied. */
static gboolean
start_attempt (Transfer  *t,
               gboolean   resume,
               GError   **error)
{
  g_checksum_reset (t->sha256);
  t->offset = t->written = 0;
  t->write_failed = FALSE;
  if (resume && !hash_fd (t->fd, t->sha256, &t->offset))
    return part_error (t, error);
  if (!resume && ftruncate (t->fd, 0) != 0)
    return part_error (t, error);
  if (lseek (t->fd, 0, SEEK_END) < 0)
    return part_error (t, error);
  return TRUE;
}

/* The error for a transfer that failed on the network's side. */
static void
set_network_error (GError       **error,
                   const CurlApi *api,
                   Transfer      *t,
                   CURLcode    result,
                   long        status,
                   const char *curl_message,
                   gboolean    kept_part,
                   const char *folder,
                   const char *file)
{
  const char *why = curl_message[0] ? curl_message : api->strerror (result);
  guint64 have = t->offset + t->written;
  char *kept = kept_part
               ? g_strdup_printf (" %" G_GUINT64_FORMAT " bytes are kept in %s; "
                                  "run it again to resume.", have, t->part_path)
               : g_strdup ("");

  if (result == CURLE_HTTP_RETURNED_ERROR)
    g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_NETWORK,
                 "%s: the server answered HTTP %ld.%s %s it by hand and put "
                 "it in %s as %s.", t->url, status, kept,
                 kept_part ? "Or download" : "Download", folder, file);
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
  const CurlApi *api;
  char curl_message[CURL_ERROR_SIZE];
  char *file = NULL, *prefix = NULL, *path = NULL, *part = NULL, *part_name;
  gboolean resume = TRUE, keep_part = FALSE, verified = FALSE;
  CURLcode result = CURLE_OK;
  long status = 0;

  g_return_val_if_fail (url != NULL && folder != NULL, NULL);
  t.fd = -1;
  if (!parse_url_name (url, &file, &prefix, error))
    return NULL;
  path = g_build_filename (folder, file, NULL);
  /* a file already there and verified is the answer */
  if (file_matches (path, prefix))
    {
      g_free (file);
      g_free (prefix);
      return path;
    }
  if (g_mkdir_with_parents (folder, 0755) != 0)
    {
      int saved = errno;

      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
                   "cannot create the weights folder %s: %s", folder,
                   g_strerror (saved));
      goto out;
    }
  part_name = g_strconcat (".", file, ".part", NULL);
  part = g_build_filename (folder, part_name, NULL);
  g_free (part_name);

  t.url = url;
  t.part_path = part;
  t.sha256 = g_checksum_new (G_CHECKSUM_SHA256);
  t.progress = progress;
  t.user_data = user_data;
  if (!lock_part (&t, error))
    goto out;

  if (!(api = curl_api (error)))
    goto out;
  /* Two tries at most: a part file the server will not extend (416, a
   * Range it ignores) or whose old bytes fail the check is emptied and
   * the file fetched whole. */
  for (int attempt = 0; attempt < 2; attempt++)
    {
      gboolean retry;

      if (!start_attempt (&t, resume, error))
        goto out;
      result = run_transfer (api, &t, &status, curl_message);
      if (t.write_failed)
        {
          errno = t.write_errno;
          part_error (&t, error);
          goto out;
        }
      if (t.cancelled)
        {
          g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_CANCELLED,
                       "the download of %s was cancelled; nothing was saved",
                       url);
          goto out;
        }
      if (result == CURLE_OK || (t.offset > 0 && status == 416))
        {
          /* 416 to a resume: the part file may be whole already, left by
           * a run that ended between its last byte and the rename */
          verified = g_ascii_strncasecmp (g_checksum_get_string (t.sha256),
                                          prefix, strlen (prefix)) == 0;
          retry = !verified && t.offset > 0;
        }
      else
        retry = t.offset > 0 && result == CURLE_RANGE_ERROR;
      if (!retry)
        break;
      resume = FALSE;
    }

  if (!verified && result != CURLE_OK && !(t.offset > 0 && status == 416))
    {
      /* worth resuming unless the server said the file is not there */
      keep_part = t.offset + t.written > 0 && status != 404 && status != 410;
      set_network_error (error, api, &t, result, status, curl_message, keep_part,
                         folder, file);
      goto out;
    }
  if (!verified)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_FORMAT,
                   "%s: the SHA-256 of the %" G_GUINT64_FORMAT " bytes "
                   "received starts %.*s, but the name %s promises %s: the "
                   "file is damaged or not the official one, and nothing "
                   "was saved", url, t.offset + t.written,
                   (int) strlen (prefix), g_checksum_get_string (t.sha256),
                   file, prefix);
      goto out;
    }
  if (fsync (t.fd) != 0)
    {
      part_error (&t, error);
      goto out;
    }
  if (g_rename (part, path) != 0)
    {
      int saved = errno;

      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
                   "cannot rename %s to %s: %s", part, path,
                   g_strerror (saved));
      goto out;
    }
  keep_part = TRUE;   /* it is the file now */
  close (t.fd);
  t.fd = -1;
  g_checksum_free (t.sha256);
  g_free (part);
  g_free (file);
  g_free (prefix);
  return path;

out:
  /* removed while still locked, so it is ours that goes */
  if (t.fd >= 0)
    {
      if (!keep_part)
        g_unlink (part);
      close (t.fd);
    }
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
