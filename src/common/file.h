/* file.h - whole-file reads and atomic writes. */
#ifndef WSS_COMMON_FILE_H
#define WSS_COMMON_FILE_H

#include <stddef.h>

#include "wss/err.h"

/* Reads a whole file into a NUL-terminated malloc'd buffer (at most max bytes;
 * larger files are WSS_ERR_TOO_LARGE, a missing file WSS_ERR_NOT_FOUND).
 * *len may be NULL. */
wss_err wss_read_file(const char *path, size_t max, char **out, size_t *len);

/* Writes data to path atomically (temporary file "<path>.tmp.<pid>" in the same
 * folder, fsync, rename, fsync of the folder) with exactly the given permission
 * mode, whatever the umask. If the write or the rename fails, the temporary
 * file is removed and path keeps its old content. Safe to call from several
 * threads. */
wss_err wss_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);

/* Creates dir (and no parents) with mode 0700 unless it exists as a folder.
 * WSS_ERR_EXISTS when something else has that name, WSS_ERR_NOT_FOUND when the
 * parent is missing. */
wss_err wss_mkdir(const char *dir);

/* Removes path and, if it is a folder, everything below it, without
 * following symbolic links. A missing path is WSS_OK. */
wss_err wss_remove_tree(const char *path);

#endif
