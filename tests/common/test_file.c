/* test_file.c - unit tests for whole-file reads, atomic writes and wss_mkdir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/file.h"

/* ---- a fresh temporary folder per test, removed afterwards ---------------- */

static int make_tmpdir(void **state)
{
    const char *base = getenv("TMPDIR");
    char *dir = malloc(4096);
    if (!dir)
        return -1;
    snprintf(dir, 4096, "%s/wss-test-file-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) {
        free(dir);
        return -1;
    }
    *state = dir;
    return 0;
}

static int drop_tmpdir(void **state)
{
    wss_remove_tree(*state);
    free(*state);
    return 0;
}

static char *path_in(void **state, const char *name)
{
    static char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", (const char *)*state, name) >= (int)sizeof path)
        fail_msg("path too long");
    return path;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static unsigned file_mode(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (unsigned)(st.st_mode & 07777);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_read_missing(void **state)
{
    char *out = (char *)1;
    size_t len = 99;
    assert_int_equal(wss_read_file(path_in(state, "nope"), 100, &out, &len), WSS_ERR_NOT_FOUND);
    assert_null(out);
    assert_int_equal(len, 0);
}

static void test_write_then_read(void **state)
{
    const char *p = path_in(state, "a.txt");
    assert_int_equal(wss_write_file_atomic(p, "hello", 5, 0600), WSS_OK);
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(wss_read_file(p, 100, &out, &len), WSS_OK);
    assert_int_equal(len, 5);
    assert_string_equal(out, "hello");
    free(out);
    /* len may be NULL. */
    assert_int_equal(wss_read_file(p, 100, &out, NULL), WSS_OK);
    assert_string_equal(out, "hello");
    free(out);
}

static void test_modes_are_exact(void **state)
{
    /* The umask must not narrow the requested mode. */
    mode_t old = umask(077);
    const char *cert = path_in(state, "cert.pem");
    assert_int_equal(wss_write_file_atomic(cert, "c", 1, 0644), WSS_OK);
    assert_int_equal(file_mode(cert), 0644);
    const char *key = path_in(state, "key.pem");
    assert_int_equal(wss_write_file_atomic(key, "k", 1, 0600), WSS_OK);
    assert_int_equal(file_mode(key), 0600);
    umask(old);
}

static void test_size_limits(void **state)
{
    const char *p = path_in(state, "sized");
    char data[100];
    memset(data, 'x', sizeof data);
    assert_int_equal(wss_write_file_atomic(p, data, sizeof data, 0600), WSS_OK);

    char *out = NULL;
    size_t len = 0;
    assert_int_equal(wss_read_file(p, 100, &out, &len), WSS_OK);
    assert_int_equal(len, 100);
    assert_memory_equal(out, data, 100);
    assert_int_equal(out[100], '\0');
    free(out);

    out = (char *)1;
    assert_int_equal(wss_read_file(p, 99, &out, &len), WSS_ERR_TOO_LARGE);
    assert_null(out);

    const char *empty = path_in(state, "empty");
    assert_int_equal(wss_write_file_atomic(empty, NULL, 0, 0600), WSS_OK);
    assert_int_equal(wss_read_file(empty, 0, &out, &len), WSS_OK);
    assert_int_equal(len, 0);
    assert_string_equal(out, "");
    free(out);
}

static void test_large_file(void **state)
{
    const size_t n = 300000; /* several times the first read buffer */
    char *data = malloc(n);
    assert_non_null(data);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)('a' + i % 26);
    const char *p = path_in(state, "big");
    assert_int_equal(wss_write_file_atomic(p, data, n, 0600), WSS_OK);
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(wss_read_file(p, n, &out, &len), WSS_OK);
    assert_int_equal(len, n);
    assert_memory_equal(out, data, n);
    free(out);
    assert_int_equal(wss_read_file(p, n - 1, &out, &len), WSS_ERR_TOO_LARGE);
    free(data);
}

static void test_read_non_regular(void **state)
{
    /* A FIFO has no size to check up front; the limit must still hold. */
    const char *fifo = path_in(state, "fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *f = fopen(fifo, "w");
        for (int i = 0; f && i < 50; i++)
            fputs("0123456789", f);
        if (f)
            fclose(f);
        _exit(0);
    }
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(wss_read_file(fifo, 100, &out, &len), WSS_ERR_TOO_LARGE);
    assert_null(out);
    int status;
    waitpid(pid, &status, 0);

    assert_int_not_equal(wss_read_file((const char *)*state, 100, &out, &len), WSS_OK);
    assert_null(out);
}

static void test_atomic_replace(void **state)
{
    const char *p = path_in(state, "state.json");
    assert_int_equal(wss_write_file_atomic(p, "first version, long", 19, 0600), WSS_OK);
    assert_int_equal(wss_write_file_atomic(p, "second", 6, 0644), WSS_OK);
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(wss_read_file(p, 1000, &out, &len), WSS_OK);
    assert_int_equal(len, 6);
    assert_string_equal(out, "second");
    free(out);
    assert_int_equal(file_mode(p), 0644);
    /* Only the target is left behind: no temporary files. */
    assert_int_equal(count_entries((const char *)*state), 1);
}

static void test_stale_tmp_is_replaced(void **state)
{
    const char *p = path_in(state, "x");
    char stale[4200];
    snprintf(stale, sizeof stale, "%s.tmp.%ld", p, (long)getpid());
    FILE *f = fopen(stale, "w");
    assert_non_null(f);
    fputs("left over", f);
    fclose(f);
    assert_int_equal(wss_write_file_atomic(p, "new", 3, 0600), WSS_OK);
    assert_int_equal(count_entries((const char *)*state), 1);
}

static void test_write_failure_cleans_up(void **state)
{
    /* The target is an existing folder: rename fails after the temp file was written. */
    assert_int_equal(mkdir(path_in(state, "sub"), 0700), 0);
    assert_int_equal(wss_write_file_atomic(path_in(state, "sub/f"), "x", 1, 0600), WSS_OK);
    assert_int_not_equal(wss_write_file_atomic(path_in(state, "sub"), "data", 4, 0600), WSS_OK);
    assert_int_equal(count_entries((const char *)*state), 1);

    assert_int_not_equal(wss_write_file_atomic(path_in(state, "missing/f"), "d", 1, 0600), WSS_OK);
    assert_int_equal(wss_write_file_atomic(NULL, "d", 1, 0600), WSS_ERR_INVALID);
    assert_int_equal(wss_write_file_atomic(path_in(state, "y"), NULL, 1, 0600), WSS_ERR_INVALID);
    assert_int_equal(count_entries((const char *)*state), 1);
}

struct writer {
    const char *path;
    char fill;
    int failures;
};

static void *write_many(void *arg)
{
    struct writer *w = arg;
    char data[2000];
    memset(data, w->fill, sizeof data);
    for (int i = 0; i < 50; i++)
        if (wss_write_file_atomic(w->path, data, sizeof data, 0600) != WSS_OK)
            w->failures++;
    return NULL;
}

/* Threads of one process share the temporary name; every write must still
 * succeed and the file must always hold one writer's complete content. */
static void test_concurrent_writers(void **state)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", path_in(state, "shared"));
    struct writer w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct writer){path, (char)('a' + i), 0};
        assert_int_equal(pthread_create(&t[i], NULL, write_many, &w[i]), 0);
    }
    /* Join every thread before any assertion can leave the test. */
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++)
        assert_int_equal(w[i].failures, 0);
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(wss_read_file(path, 4096, &out, &len), WSS_OK);
    assert_int_equal(len, 2000);
    for (size_t i = 1; i < len; i++)
        assert_int_equal(out[i], out[0]);
    free(out);
    assert_int_equal(count_entries((const char *)*state), 1);
}

static void test_mkdir(void **state)
{
    const char *d = path_in(state, "new");
    assert_int_equal(wss_mkdir(d), WSS_OK);
    assert_int_equal(file_mode(d), 0700);
    assert_int_equal(wss_mkdir(d), WSS_OK); /* already there */

    const char *f = path_in(state, "plain");
    assert_int_equal(wss_write_file_atomic(f, "x", 1, 0600), WSS_OK);
    assert_int_equal(wss_mkdir(f), WSS_ERR_EXISTS);

    assert_int_equal(wss_mkdir(path_in(state, "no/parent")), WSS_ERR_NOT_FOUND);
    assert_int_equal(wss_mkdir(""), WSS_ERR_INVALID);
}

#define T(f) cmocka_unit_test_setup_teardown(f, make_tmpdir, drop_tmpdir)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_read_missing),
        T(test_write_then_read),
        T(test_modes_are_exact),
        T(test_size_limits),
        T(test_large_file),
        T(test_read_non_regular),
        T(test_atomic_replace),
        T(test_stale_tmp_is_replaced),
        T(test_write_failure_cleans_up),
        T(test_concurrent_writers),
        T(test_mkdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
