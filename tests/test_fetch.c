/* test_fetch.c: what convnet_fetch_url() promises its callers beyond what
 * tests/fetch.py checks through the command: cancelling from the progress
 * callback, the progress figures themselves, and a part file that was
 * already whole.  The server is tests/http_server.py on 127.0.0.1. */
#include "test_util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sys/file.h>
#include <sys/wait.h>

static char *served;      /* the folder the server serves */
static char *blob_name;   /* blob-<sha256 prefix>.bin in it */
static GBytes *blob;
static char *base_url;    /* http://127.0.0.1:PORT */
static GPid server_pid;
static int server_out = -1;  /* kept open while the server runs */
static int server_in = -1;   /* the server ends when this closes */

typedef struct
{
  guint64 last_received;
  guint64 last_total;
  guint   calls;
  gboolean monotonic;
  guint64 cancel_after;   /* cancel once this many bytes are in; 0: never */
} Progress;

static gboolean
on_progress (guint64  received,
             guint64  total,
             gpointer user_data)
{
  Progress *p = user_data;

  if (received < p->last_received)
    p->monotonic = FALSE;
  p->last_received = received;
  p->last_total = total;
  p->calls++;
  return p->cancel_after == 0 || received < p->cancel_after;
}

static void
test_progress_counts_every_byte (void)
{
  char *dir = test_make_folder ("convnet-fetch");
  char *url = g_strdup_printf ("%s/good/%s", base_url, blob_name);
  Progress p = { 0, 0, 0, TRUE, 0 };
  GError *error = NULL;
  char *path = convnet_fetch_url (url, dir, on_progress, &p, &error);

  g_assert_no_error (error);
  g_assert_nonnull (path);
  g_assert_true (p.monotonic);
  g_assert_cmpuint (p.calls, >=, 2);
  g_assert_cmpuint (p.last_received, ==, g_bytes_get_size (blob));
  g_assert_cmpuint (p.last_total, ==, g_bytes_get_size (blob));
  g_free (path);
  g_free (url);
  test_remove_folder (dir);
}

static void
test_cancel_leaves_nothing (void)
{
  char *dir = test_make_folder ("convnet-fetch");
  char *url = g_strdup_printf ("%s/slow/%s", base_url, blob_name);
  Progress p = { 0, 0, 0, TRUE, 1 };
  GError *error = NULL;
  char *path = convnet_fetch_url (url, dir, on_progress, &p, &error);

  g_assert_null (path);
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_CANCELLED);
  g_assert_nonnull (strstr (error->message, url));
  /* the slow server sends 4 KiB per 50 ms: a cancel must not wait for it */
  g_assert_cmpuint (p.last_received, <, g_bytes_get_size (blob));
  g_assert_cmpuint (test_count_files (dir), ==, 0);
  g_error_free (error);
  g_free (url);
  test_remove_folder (dir);
}

static void
test_whole_part_file_is_finished (void)
{
  char *dir = test_make_folder ("convnet-fetch");
  char *url = g_strdup_printf ("%s/good/%s", base_url, blob_name);
  char *part_name = g_strconcat (".", blob_name, ".part", NULL);
  char *part = g_build_filename (dir, part_name, NULL);
  char *expected = g_build_filename (dir, blob_name, NULL);
  GError *error = NULL;
  gsize size;
  const char *data = g_bytes_get_data (blob, &size);
  char *path, *got;
  gsize got_size;

  /* as if a run had died between the last byte and the rename: the
   * server answers 416 to a range past the end */
  g_assert_true (g_file_set_contents (part, data, size, NULL));
  path = convnet_fetch_url (url, dir, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (path, ==, expected);
  g_assert_true (g_file_get_contents (path, &got, &got_size, NULL));
  g_assert_cmpmem (got, got_size, data, size);
  g_assert_cmpuint (test_count_files (dir), ==, 1);
  g_free (got);
  g_free (path);
  g_free (expected);
  g_free (part);
  g_free (part_name);
  g_free (url);
  test_remove_folder (dir);
}

/* A second download of the same file into the same folder (the command
 * and the dialog at once) is refused and leaves the first one's bytes. */
static void
test_second_download_is_refused (void)
{
  char *dir = test_make_folder ("convnet-fetch");
  char *url = g_strdup_printf ("%s/good/%s", base_url, blob_name);
  char *part_name = g_strconcat (".", blob_name, ".part", NULL);
  char *part = g_build_filename (dir, part_name, NULL);
  GError *error = NULL;
  int fd = g_open (part, O_RDWR | O_CREAT, 0644);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, "first", 5), ==, 5);
  g_assert_cmpint (flock (fd, LOCK_EX), ==, 0);
  g_assert_null (convnet_fetch_url (url, dir, NULL, NULL, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "under way"));
  g_assert_true (g_file_test (part, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (test_count_files (dir), ==, 1);
  g_clear_error (&error);
  close (fd);
  g_free (part);
  g_free (part_name);
  g_free (url);
  test_remove_folder (dir);
}

static void
test_bad_addresses (void)
{
  static const char *const urls[] = {
    "ftp://127.0.0.1/blob-12345678.bin",      /* not http */
    "file:///etc/blob-12345678.bin",
    "http://127.0.0.1/good/blob.bin",         /* no prefix */
    "http://127.0.0.1/good/blob-1234.bin",    /* prefix too short */
    "http://127.0.0.1/good/blob-1234567g.bin",/* not hex */
    "http://127.0.0.1/good/.hidden-12345678.bin",
    "http://127.0.0.1/good/",
  };
  char *dir = test_make_folder ("convnet-fetch");

  for (guint i = 0; i < G_N_ELEMENTS (urls); i++)
    {
      GError *error = NULL;
      char *path = convnet_fetch_url (urls[i], dir, NULL, NULL, &error);

      g_assert_null (path);
      g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
      g_assert_nonnull (strstr (error->message, urls[i]));
      g_error_free (error);
    }
  g_assert_cmpuint (test_count_files (dir), ==, 0);
  test_remove_folder (dir);
}

static void
start_server (void)
{
  char *argv[] = { (char *) "/usr/bin/python3", NULL, served, NULL };
  GError *error = NULL;
  char line[32] = "";
  gssize n;

  argv[1] = g_test_build_filename (G_TEST_DIST, "http_server.py", NULL);
  /* its standard input is ours: when this process ends, however it ends,
   * the server reads end of file and exits */
  g_spawn_async_with_pipes (NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                            NULL, NULL, &server_pid, &server_in, &server_out,
                            NULL, &error);
  g_assert_no_error (error);
  n = read (server_out, line, sizeof line - 1);
  g_assert_cmpint (n, >, 0);
  base_url = g_strdup_printf ("http://127.0.0.1:%d", atoi (line));
  g_free (argv[1]);
}

int
main (int argc, char **argv)
{
  GRand *rand = g_rand_new_with_seed (7);
  gsize size = 3 << 20;
  guint8 *data = g_malloc (size);
  char *digest, *path;
  int status;

  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < size; i++)
    data[i] = (guint8) g_rand_int (rand);
  g_rand_free (rand);
  digest = g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, size);
  blob_name = g_strdup_printf ("blob-%.8s.bin", digest);
  served = test_make_folder ("convnet-fetch");
  path = g_build_filename (served, blob_name, NULL);
  g_assert_true (g_file_set_contents (path, (char *) data, size, NULL));
  blob = g_bytes_new_take (data, size);
  start_server ();

  g_test_add_func ("/fetch/progress-counts-every-byte",
                   test_progress_counts_every_byte);
  g_test_add_func ("/fetch/cancel-leaves-nothing", test_cancel_leaves_nothing);
  g_test_add_func ("/fetch/whole-part-file-is-finished",
                   test_whole_part_file_is_finished);
  g_test_add_func ("/fetch/second-download-is-refused",
                   test_second_download_is_refused);
  g_test_add_func ("/fetch/bad-addresses", test_bad_addresses);
  status = g_test_run ();

  close (server_in);
  close (server_out);
  g_assert_cmpint (waitpid (server_pid, NULL, 0), ==, server_pid);
  g_spawn_close_pid (server_pid);
  g_unlink (path);
  g_rmdir (served);
  g_free (path);
  g_free (served);
  g_free (digest);
  g_free (blob_name);
  g_free (base_url);
  g_bytes_unref (blob);
  return status;
}
