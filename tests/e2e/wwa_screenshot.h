/* wwa_screenshot.h - a page screenshot with headless Chromium and a small
 * PNG reader (zlib for the inflating), for the dashboard's end-to-end test.
 *
 * The reader takes what Chromium writes: 8-bit RGB or RGBA, not interlaced;
 * it refuses anything else rather than guess. */
#ifndef WSS_E2E_WWA_SCREENSHOT_H
#define WSS_E2E_WWA_SCREENSHOT_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* The Chromium program: $WSS_CHROMIUM, else chromium or chromium-browser
 * found in PATH. 0 with the path in out, -1 when there is none. */
static inline int shot_find_chromium(char *out, size_t len)
{
    const char *forced = getenv("WSS_CHROMIUM");
    if (forced && *forced) {
        snprintf(out, len, "%s", forced);
        return access(out, X_OK) == 0 ? 0 : -1;
    }
    const char *path = getenv("PATH");
    static const char *const names[] = {"chromium", "chromium-browser"};
    for (size_t n = 0; n < 2; n++) {
        const char *p = path ? path : "/usr/bin:/bin";
        while (*p) {
            const char *colon = strchr(p, ':');
            size_t dlen = colon ? (size_t)(colon - p) : strlen(p);
            snprintf(out, len, "%.*s/%s", (int)dlen, p, names[n]);
            if (dlen && access(out, X_OK) == 0)
                return 0;
            p += dlen + (colon ? 1 : 0);
        }
    }
    return -1;
}

/* Runs Chromium headless on url, writing a width x height PNG to png, in
 * its own process group (killed whole at the end: Chromium leaves helpers
 * behind) with its profile and HOME under workdir; gives up after
 * timeout_ms. Returns Chromium's exit status, or -1 on a timeout. */
static inline int shot_take(const char *chromium, const char *url, const char *png, int width, int height,
                            const char *workdir, const char *log_path, long timeout_ms)
{
    char size[64], out[4200], profile[4200];
    snprintf(size, sizeof size, "--window-size=%d,%d", width, height);
    snprintf(out, sizeof out, "--screenshot=%s", png);
    snprintf(profile, sizeof profile, "--user-data-dir=%s/chromium-profile", workdir);
    const char *argv[] = {chromium,
                          "--headless",
                          "--no-sandbox",
                          "--disable-gpu",
                          "--disable-dev-shm-usage",
                          "--hide-scrollbars",
                          "--force-device-scale-factor=1",
                          "--no-first-run",
                          profile,
                          out,
                          size,
                          url,
                          NULL};
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        setpgid(0, 0);
        FILE *log = fopen(log_path, "a");
        if (log) {
            dup2(fileno(log), 1);
            dup2(fileno(log), 2);
        }
        setenv("HOME", workdir, 1);
        execv(chromium, (char *const *)argv);
        _exit(127);
    }
    setpgid(pid, pid);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int status = -1;
    for (;;) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (got < 0 || elapsed > timeout_ms) {
            kill(-pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return -1;
        }
        struct timespec nap = {0, 20 * 1000000L};
        nanosleep(&nap, NULL);
    }
    kill(-pid, SIGKILL); /* helpers still around */
    return status;
}

typedef struct shot_image {
    uint32_t width, height;
    int channels;    /* 3 (RGB) or 4 (RGBA) */
    uint8_t *pixels; /* width x height x channels, rows top to bottom */
} shot_image;

static inline uint32_t shot_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline int shot_paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Decodes the PNG in data. 0 on success; -1 with the reason in why. */
static inline int shot_decode(const uint8_t *data, size_t len, shot_image *img, char *why, size_t whylen)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memset(img, 0, sizeof *img);
    if (len < 8 || memcmp(data, sig, 8) != 0) {
        snprintf(why, whylen, "no PNG signature");
        return -1;
    }
    uint8_t *idat = NULL;
    size_t nidat = 0, pos = 8;
    int depth = 0, type = -1, interlace = 0, seen_end = 0;
    while (pos + 12 <= len && !seen_end) {
        uint32_t clen = shot_be32(data + pos);
        const uint8_t *ctype = data + pos + 4, *cdata = data + pos + 8;
        if (clen > len - pos - 12) {
            snprintf(why, whylen, "truncated chunk");
            free(idat);
            return -1;
        }
        if (memcmp(ctype, "IHDR", 4) == 0 && clen == 13) {
            img->width = shot_be32(cdata);
            img->height = shot_be32(cdata + 4);
            depth = cdata[8];
            type = cdata[9];
            interlace = cdata[12];
        } else if (memcmp(ctype, "IDAT", 4) == 0) {
            uint8_t *grown = realloc(idat, nidat + clen + 1);
            if (!grown) {
                free(idat);
                return -1;
            }
            idat = grown;
            memcpy(idat + nidat, cdata, clen);
            nidat += clen;
        } else if (memcmp(ctype, "IEND", 4) == 0) {
            seen_end = 1;
        }
        pos += 12 + clen;
    }
    if (!seen_end || depth != 8 || (type != 2 && type != 6) || interlace != 0 || img->width == 0 || img->height == 0 ||
        img->width > 20000 || img->height > 20000) {
        snprintf(why, whylen, "unsupported PNG (end %d, depth %d, colour type %d, interlace %d, %ux%u)", seen_end,
                 depth, type, interlace, img->width, img->height);
        free(idat);
        return -1;
    }
    img->channels = type == 6 ? 4 : 3;
    size_t stride = (size_t)img->width * (size_t)img->channels;
    uLongf rawlen = (uLongf)((stride + 1) * img->height);
    uint8_t *raw = malloc(rawlen);
    img->pixels = malloc(stride * img->height);
    if (!raw || !img->pixels || uncompress(raw, &rawlen, idat, (uLong)nidat) != Z_OK ||
        rawlen != (stride + 1) * img->height) {
        snprintf(why, whylen, "cannot inflate the image data");
        free(raw);
        free(idat);
        free(img->pixels);
        img->pixels = NULL;
        return -1;
    }
    free(idat);
    int bpp = img->channels;
    for (uint32_t y = 0; y < img->height; y++) {
        const uint8_t *in = raw + y * (stride + 1) + 1;
        uint8_t filter = raw[y * (stride + 1)], *row = img->pixels + y * stride;
        const uint8_t *up = y ? row - stride : NULL;
        for (size_t x = 0; x < stride; x++) {
            int a = x >= (size_t)bpp ? row[x - bpp] : 0, b = up ? up[x] : 0,
                c = up && x >= (size_t)bpp ? up[x - bpp] : 0, v;
            switch (filter) {
            case 0: v = in[x]; break;
            case 1: v = in[x] + a; break;
            case 2: v = in[x] + b; break;
            case 3: v = in[x] + (a + b) / 2; break;
            case 4: v = in[x] + shot_paeth(a, b, c); break;
            default:
                snprintf(why, whylen, "bad filter %d on row %u", filter, y);
                free(raw);
                free(img->pixels);
                img->pixels = NULL;
                return -1;
            }
            row[x] = (uint8_t)v;
        }
    }
    free(raw);
    return 0;
}

static inline void shot_free(shot_image *img)
{
    free(img->pixels);
    img->pixels = NULL;
}

/* Whether the pixel at (x, y) is within tol of colour 0xRRGGBB. */
static inline int shot_pixel_is(const shot_image *img, uint32_t x, uint32_t y, uint32_t rgb, int tol)
{
    const uint8_t *p = img->pixels + ((size_t)y * img->width + x) * (size_t)img->channels;
    return abs(p[0] - (int)(rgb >> 16 & 0xff)) <= tol && abs(p[1] - (int)(rgb >> 8 & 0xff)) <= tol &&
           abs(p[2] - (int)(rgb & 0xff)) <= tol;
}

/* How many pixels are within tol of colour 0xRRGGBB. */
static inline size_t shot_count(const shot_image *img, uint32_t rgb, int tol)
{
    size_t n = 0;
    for (uint32_t y = 0; y < img->height; y++)
        for (uint32_t x = 0; x < img->width; x++)
            n += (size_t)shot_pixel_is(img, x, y, rgb, tol);
    return n;
}

#endif
