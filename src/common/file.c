/* file.c - whole-file reads, atomic writes and folder creation for the host tools. */
/* nftw() is an X/Open interface. */
#define _XOPEN_SOURCE 700
#include "common/file.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/crypto.h>

static wss_err errno_to_err(int e)
{
    switch (e) {
    case ENOENT: return WSS_ERR_NOT_FOUND;
    case ENOMEM: return WSS_ERR_NOMEM;
    default: return WSS_ERR_IO;
    }
}

/* Grows a read buffer without realloc: files read here may hold private keys,
 * and realloc would leave an uncleared copy behind in freed memory. */
static wss_err grow_buffer(char **buf, size_t used, size_t *cap, size_t want)
{
    char *bigger = malloc(want);
    if (!bigger)
        return WSS_ERR_NOMEM;
    if (used)
        memcpy(bigger, *buf, used);
    if (*buf) {
        OPENSSL_cleanse(*buf, *cap);
        free(*buf);
    }
    *buf = bigger;
    *cap = want;
    return WSS_OK;
}

/* Reads fd to its end, keeping at most max bytes plus the NUL; `hint` is the
 * size fstat reported, used to allocate once in the common case. */
static wss_err read_all(int fd, size_t max, size_t hint, char **out, size_t *outlen)
{
    char *buf = NULL;
    size_t used = 0, cap = 0;
    /* Room for one byte past max (to notice a file that is too large, or grew
     * since fstat) and for the NUL. */
    size_t cap_limit = max > SIZE_MAX - 2 ? SIZE_MAX : max + 2;
    wss_err rc = WSS_OK;

    for (;;) {
        if (used + 1 >= cap) {
            size_t want = cap ? (cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2) : hint + 2;
            if (want < 4096)
                want = 4096;
            if (want > cap_limit)
                want = cap_limit;
            if (want <= cap) { /* cannot grow: already at limit */
                rc = WSS_ERR_TOO_LARGE;
                break;
            }
            if ((rc = grow_buffer(&buf, used, &cap, want)) != WSS_OK)
                break;
        }
        ssize_t n = read(fd, buf + used, cap - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = errno_to_err(errno);
            break;
        }
        if (n == 0)
            break;
        used += (size_t)n;
        if (used > max) {
            rc = WSS_ERR_TOO_LARGE;
            break;
        }
    }
    if (rc != WSS_OK) {
        if (buf)
            OPENSSL_cleanse(buf, cap);
        free(buf);
        return rc;
    }
    buf[used] = '\0';
    *out = buf;
    *outlen = used;
    return WSS_OK;
}

wss_err wss_read_file(const char *path, size_t max, char **out, size_t *len)
{
    if (!path || !out)
        return WSS_ERR_INVALID;
    *out = NULL;
    if (len)
        *len = 0;

    int fd;
    do {
        fd = open(path, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return errno_to_err(errno);

    struct stat st;
    if (fstat(fd, &st) != 0) {
        wss_err rc = errno_to_err(errno);
        close(fd);
        return rc;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return WSS_ERR_IO;
    }
    size_t hint = 0;
    if (S_ISREG(st.st_mode)) {
        if ((uintmax_t)st.st_size > (uintmax_t)max) {
            close(fd);
            return WSS_ERR_TOO_LARGE;
        }
        hint = (size_t)st.st_size;
    }

    size_t n = 0;
    wss_err rc = read_all(fd, max, hint, out, &n);
    close(fd);
    if (rc == WSS_OK && len)
        *len = n;
    return rc;
}

static wss_err write_all(int fd, const unsigned char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno_to_err(errno) : WSS_ERR_IO;
        p += n;
        len -= (size_t)n;
    }
    return WSS_OK;
}

/* The rename is only durable once the folder entry itself reaches the disk. */
static wss_err fsync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else
        dir = strndup(path, (size_t)(slash - path));
    if (!dir)
        return WSS_ERR_NOMEM;

    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return WSS_ERR_IO;
    int r = fsync(fd);
    /* Some filesystems cannot fsync a folder; the data itself is already synced. */
    wss_err rc = (r != 0 && errno != EINVAL && errno != EROFS) ? WSS_ERR_IO : WSS_OK;
    close(fd);
    return rc;
}

/* The temporary name carries only the pid, so two threads writing the same path
 * would share it; writes are rare enough to serialise them all. */
static pthread_mutex_t tmp_lock = PTHREAD_MUTEX_INITIALIZER;

/* Creates the temporary file. A leftover from an earlier process that had our
 * pid (common in containers, where pids repeat) would make O_EXCL fail forever,
 * so it is removed and the open retried once; tmp_lock guarantees it is not
 * ours, and unlink never follows a symlink, so no other file can be clobbered. */
static int open_tmp(const char *tmp, mode_t mode)
{
    int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW;
    int fd = open(tmp, flags, mode);
    if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
        fd = open(tmp, flags, mode);
    return fd;
}

static wss_err write_tmp(int fd, const void *data, size_t len, mode_t mode)
{
    /* The umask would otherwise narrow the mode the caller asked for (a
     * certificate meant to be 0644 must not end up 0600). */
    if (fchmod(fd, mode) != 0)
        return WSS_ERR_IO;
    wss_err rc = write_all(fd, data, len);
    if (rc == WSS_OK && fsync(fd) != 0)
        rc = WSS_ERR_IO;
    return rc;
}

wss_err wss_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
    if (!path || !*path || (!data && len) || (mode & ~07777u))
        return WSS_ERR_INVALID;

    size_t tmplen = strlen(path) + 32;
    char *tmp = malloc(tmplen);
    if (!tmp)
        return WSS_ERR_NOMEM;
    snprintf(tmp, tmplen, "%s.tmp.%ld", path, (long)getpid());

    pthread_mutex_lock(&tmp_lock);
    wss_err rc = WSS_OK;
    int fd = open_tmp(tmp, (mode_t)mode);
    if (fd < 0) {
        rc = errno_to_err(errno);
    } else {
        rc = write_tmp(fd, data, len, (mode_t)mode);
        if (close(fd) != 0 && rc == WSS_OK)
            rc = WSS_ERR_IO;
        if (rc == WSS_OK && rename(tmp, path) != 0)
            rc = errno_to_err(errno);
        if (rc != WSS_OK)
            unlink(tmp);
    }
    pthread_mutex_unlock(&tmp_lock);
    if (rc == WSS_OK)
        rc = fsync_parent(path);
    free(tmp);
    return rc;
}

wss_err wss_mkdir(const char *dir)
{
    if (!dir || !*dir)
        return WSS_ERR_INVALID;
    if (mkdir(dir, 0700) == 0)
        return WSS_OK;
    if (errno != EEXIST)
        return errno_to_err(errno);
    struct stat st;
    if (stat(dir, &st) != 0)
        return errno_to_err(errno);
    return S_ISDIR(st.st_mode) ? WSS_OK : WSS_ERR_EXISTS;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)ftw;
    return type == FTW_DP ? rmdir(path) : unlink(path);
}

wss_err wss_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? WSS_OK : WSS_ERR_IO;
    return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? WSS_OK : WSS_ERR_IO;
}
