/* test_report.c - the monthly compliance report: its numbers against events
 * whose answers are known, and its drawing read back pixel by pixel from the
 * PNG (cairo decodes it), plus the PDF's structure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cairo.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/file.h"
#include "wwa/report.h"
#include "wwa_test_util.h"

#define SKILL_OK "amzn1.ask.skill.good"
#define SKILL_BAD "amzn1.ask.skill.bad"
#define SCALE 2.0

static char tmpdir[256];

static int make_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "%s/wss-wwa-report-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    wss_remove_tree(tmpdir);
    wwa_report_release();
    return 0;
}

/* March 2027: one hour down on the 10th (12:00 to 13:00); a good skill, and
 * one at 10 % invalid from the 5th (in breach, 90 days not yet passed). */
static wss_wwa *march(void)
{
    wss_wwa *e = engine_new();
    wss_wwa_probe(e, T("2027-03-01T00:00:00Z"), 1);
    downtime(e, T("2027-03-10T12:00:00Z"), T("2027-03-10T13:00:00Z"));
    for (int i = 0; i < 100; i++) {
        long long at = T("2027-03-05T00:00:00Z") + i * HOUR_MS;
        assert_int_equal(wss_wwa_directive(e, at, SKILL_OK, 1), WSS_OK);
        assert_int_equal(wss_wwa_directive(e, at, SKILL_BAD, i % 10 != 0), WSS_OK);
    }
    return e;
}

static json_t *build(wss_wwa *e, int year, int month)
{
    char err[256] = "";
    json_t *r = wwa_report_build(e, year, month, err, sizeof err);
    if (!r)
        fail_msg("report: %s", err);
    return r;
}

static const json_t *at(const json_t *root, const char *a, const char *b)
{
    const json_t *v = json_object_get(root, a);
    return b ? json_object_get(v, b) : v;
}

static long long num(const json_t *v) { return json_integer_value(v); }

static void report_numbers_of_a_month(void **state)
{
    (void)state;
    wss_wwa *e = march();
    json_t *r = build(e, 2027, 3);
    assert_string_equal(json_string_value(at(r, "month", NULL)), "2027-03");
    assert_string_equal(json_string_value(at(r, "from", NULL)), "2027-03-01T00:00:00.000Z");
    assert_string_equal(json_string_value(at(r, "to", NULL)), "2027-04-01T00:00:00.000Z");
    assert_string_equal(json_string_value(at(r, "state_at", NULL)), "2027-03-31T23:59:59.999Z");
    assert_int_equal(num(at(r, "days", NULL)), 31);

    const json_t *av = at(r, "availability", NULL);
    const json_t *mo = json_object_get(av, "month"), *yr = json_object_get(av, "year_to_date");
    assert_int_equal(num(json_object_get(mo, "downtime_ms")), HOUR_MS);
    assert_int_equal(num(json_object_get(mo, "allowance_ms")), 1874880); /* docs/wwa.md: a 31-day month */
    assert_false(json_is_true(json_object_get(mo, "met")));
    assert_int_equal(num(json_object_get(mo, "outages_new")), 1);
    double pct = json_real_value(json_object_get(mo, "percent"));
    assert_true(pct > 99.865 && pct < 99.866); /* 1 h of 744 h */
    assert_int_equal(num(json_object_get(yr, "downtime_ms")), HOUR_MS);
    assert_int_equal(num(json_object_get(yr, "outages")), 1);
    assert_int_equal(num(json_object_get(yr, "left_ms")), 22075200 - HOUR_MS);
    assert_true(json_is_true(json_object_get(yr, "met")));

    const json_t *daily = json_object_get(av, "daily");
    assert_int_equal(json_array_size(daily), 31);
    assert_string_equal(json_string_value(at(json_array_get(daily, 9), "date", NULL)), "2027-03-10");
    assert_int_equal(num(at(json_array_get(daily, 9), "downtime_ms", NULL)), HOUR_MS);
    assert_false(json_is_true(at(json_array_get(daily, 9), "met", NULL)));
    assert_int_equal(num(at(json_array_get(daily, 0), "downtime_ms", NULL)), 0);
    assert_true(json_is_true(at(json_array_get(daily, 0), "met", NULL)));
    const json_t *hours = json_object_get(av, "down_hours");
    assert_int_equal(json_array_size(hours), 1);
    assert_int_equal(num(at(json_array_get(hours, 0), "hour", NULL)), 9 * 24 + 12);

    const json_t *skills = at(r, "skills", NULL);
    assert_int_equal(json_array_size(skills), 2);
    const json_t *bad = json_array_get(skills, 0), *good = json_array_get(skills, 1);
    assert_string_equal(json_string_value(at(bad, "skill", NULL)), SKILL_BAD);
    assert_true(json_is_true(at(bad, "breach", NULL)));
    assert_false(json_is_true(at(bad, "removed", NULL)));
    assert_int_equal(num(at(bad, "invalid_30d", NULL)), 10);
    assert_string_equal(json_string_value(at(bad, "breach_start", NULL)), "2027-03-05T00:00:00.000Z");
    assert_string_equal(json_string_value(at(bad, "mitigate_by", NULL)), "2027-06-03T00:00:00.000Z");
    assert_true(num(at(bad, "mitigate_left_ms", NULL)) > 60 * DAY_MS);
    assert_false(json_is_true(at(good, "breach", NULL)));
    assert_true(json_is_null(at(good, "mitigate_by", NULL)));
    assert_true(json_is_true(at(r, "badge", "held")));
    json_decref(r);

    /* February: nothing happened yet, full marks, 28 days. */
    r = build(e, 2027, 2);
    assert_int_equal(num(at(r, "days", NULL)), 28);
    assert_int_equal(num(at(at(r, "availability", "month"), "downtime_ms", NULL)), 0);
    assert_int_equal(json_array_size(at(r, "skills", NULL)), 0);
    json_decref(r);
    wss_wwa_free(e);
}

/* Downtime running over New Year: December keeps its last hour, to the millisecond. */
static void report_december_keeps_downtime_up_to_new_year(void **state)
{
    (void)state;
    wss_wwa *e = engine_new();
    downtime(e, T("2027-12-31T23:00:00Z"), T("2028-01-01T01:00:00Z"));
    json_t *r = build(e, 2027, 12);
    assert_int_equal(num(at(at(r, "availability", "month"), "downtime_ms", NULL)), HOUR_MS);
    assert_int_equal(num(at(at(r, "availability", "year_to_date"), "downtime_ms", NULL)), HOUR_MS);
    assert_int_equal(num(at(json_array_get(at(r, "availability", "daily"), 30), "downtime_ms", NULL)), HOUR_MS);
    json_decref(r);
    r = build(e, 2028, 1); /* the yearly measurement restarts: January has its own hour */
    assert_int_equal(num(at(at(r, "availability", "month"), "downtime_ms", NULL)), HOUR_MS);
    assert_int_equal(num(at(at(r, "availability", "year_to_date"), "downtime_ms", NULL)), HOUR_MS);
    json_decref(r);
    wss_wwa_free(e);
}

static void report_parses_months(void **state)
{
    (void)state;
    int y = 0, m = 0;
    assert_int_equal(wwa_report_parse_month("2027-03", &y, &m), 0);
    assert_int_equal(y, 2027);
    assert_int_equal(m, 3);
    const char *bad[] = {"2027-3", "2027-13", "2027-00", "1969-12", "27-03-01", "2027/03", "2027-03 ", "", NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(wwa_report_parse_month(bad[i], &y, &m), -1);
    assert_int_equal(wwa_report_parse_month(NULL, &y, &m), -1);
}

/* ------------------------------------------------------------ the drawing */

typedef struct image {
    cairo_surface_t *s;
    int w, h, stride;
    unsigned char *data;
} image;

static image read_png(const char *path)
{
    image im;
    im.s = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_surface_status(im.s), CAIRO_STATUS_SUCCESS);
    im.w = cairo_image_surface_get_width(im.s);
    im.h = cairo_image_surface_get_height(im.s);
    im.stride = cairo_image_surface_get_stride(im.s);
    im.data = cairo_image_surface_get_data(im.s);
    assert_true(cairo_image_surface_get_format(im.s) == CAIRO_FORMAT_RGB24 ||
                cairo_image_surface_get_format(im.s) == CAIRO_FORMAT_ARGB32);
    return im;
}

/* The colour at page point (x, y) as 0xRRGGBB. */
static unsigned rgb_at(const image *im, double x, double y)
{
    int px = (int)(x * SCALE), py = (int)(y * SCALE);
    assert_true(px >= 0 && px < im->w && py >= 0 && py < im->h);
    uint32_t v;
    memcpy(&v, im->data + (size_t)py * (size_t)im->stride + (size_t)px * 4, 4);
    return v & 0xffffff;
}

static int is_red(unsigned c) { return (c >> 16) > 0xb0 && ((c >> 8) & 0xff) < 0x50 && (c & 0xff) < 0x50; }
static int is_green(unsigned c) { return (c >> 16) < 0x50 && ((c >> 8) & 0xff) > 0x70 && (c & 0xff) < 0x50; }
static int is_grey(unsigned c) { return (c >> 16) > 0xc0 && (c >> 16) < 0xe0 && ((c >> 8) & 0xff) == (c >> 16); }

static void png_of(const json_t *r, const char *name, char *path, size_t len)
{
    char err[256] = "";
    snprintf(path, len, "%s/%s", tmpdir, name);
    if (wwa_report_png(r, path, SCALE, err, sizeof err) != WSS_OK)
        fail_msg("png: %s", err);
    /* The file is a PNG of the page's size: the signature, then IHDR's width and height. */
    unsigned char head[24];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(head, 1, sizeof head, f), sizeof head);
    fclose(f);
    assert_memory_equal(head, "\x89PNG\r\n\x1a\n", 8);
    assert_memory_equal(head + 12, "IHDR", 4);
    unsigned w = (unsigned)head[16] << 24 | (unsigned)head[17] << 16 | (unsigned)head[18] << 8 | head[19];
    unsigned h = (unsigned)head[20] << 24 | (unsigned)head[21] << 16 | (unsigned)head[22] << 8 | head[23];
    assert_int_equal(w, (unsigned)(WWA_REPORT_W * SCALE));
    assert_int_equal(h, (unsigned)(WWA_REPORT_H * SCALE));
}

static void report_png_shows_the_state_in_colour(void **state)
{
    (void)state;
    wss_wwa *e = march();
    json_t *r = build(e, 2027, 3);
    char path[512];
    png_of(r, "held.png", path, sizeof path);
    image im = read_png(path);
    wwa_rect box = wwa_report_status_box();
    assert_true(is_green(rgb_at(&im, box.x + 3, box.y + 3)));
    assert_true(is_green(rgb_at(&im, box.x + box.w - 3, box.y + box.h - 3)));
    /* The chart: day 10 over its share is a red bar, day 1 a full green one. */
    wwa_rect d1 = wwa_report_day_column(1, 31), d10 = wwa_report_day_column(10, 31);
    assert_true(is_green(rgb_at(&im, d1.x + d1.w / 2, d1.y + d1.h - 1)));
    assert_true(is_green(rgb_at(&im, d1.x + d1.w / 2, d1.y + 1))); /* 100 %: full height */
    assert_true(is_red(rgb_at(&im, d10.x + d10.w / 2, d10.y + d10.h - 1)));
    assert_false(is_red(rgb_at(&im, d10.x + d10.w / 2, d10.y + 1))); /* 95.8 %: a stub, not a full bar */
    /* The timeline: red at 10 March 12:30, grey at 1 March. */
    wwa_rect t = wwa_report_timeline();
    double per_hour = t.w / (31 * 24.0);
    assert_true(is_red(rgb_at(&im, t.x + (9 * 24 + 12.5) * per_hour, t.y + t.h / 2)));
    assert_true(is_grey(rgb_at(&im, t.x + 2, t.y + t.h / 2)));
    cairo_surface_destroy(im.s);
    json_decref(r);

    /* A critical incident on the 20th removes the badge: the box turns red. */
    assert_int_equal(incident(e, "INC-1", T("2027-03-20T00:00:00Z"), (wss_wwa_incident_facts){.remote_control = 1}),
                     WSS_OK);
    r = build(e, 2027, 3);
    assert_false(json_is_true(at(r, "badge", "held")));
    assert_string_equal(json_string_value(at(json_array_get(at(r, "badge", "reasons"), 0), "kind", NULL)), "security");
    png_of(r, "removed.png", path, sizeof path);
    im = read_png(path);
    assert_true(is_red(rgb_at(&im, box.x + 3, box.y + 3)));
    cairo_surface_destroy(im.s);
    json_decref(r);
    wss_wwa_free(e);
}

/* Whether the len bytes of text hold needle. */
static int holds(const char *text, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(text + i, needle, n) == 0)
            return 1;
    return 0;
}

static void report_pdf_is_one_page(void **state)
{
    (void)state;
    wss_wwa *e = march();
    json_t *r = build(e, 2027, 3);
    char path[512], err[256] = "";
    snprintf(path, sizeof path, "%s/report.pdf", tmpdir);
    assert_int_equal(wwa_report_pdf(r, path, err, sizeof err), WSS_OK);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(wss_read_file(path, 1 << 24, &text, &len), WSS_OK);
    assert_true(len > 1000);
    assert_memory_equal(text, "%PDF-", 5);
    assert_true(holds(text, len, "/Type /Pages"));
    assert_true(holds(text, len, "/Count 1"));
    assert_true(holds(text, len, "%%EOF"));
    free(text);
    json_decref(r);
    wss_wwa_free(e);
}

static void report_refuses_what_it_cannot_draw_or_write(void **state)
{
    (void)state;
    char err[256] = "", path[512];
    json_t *empty = json_object();
    snprintf(path, sizeof path, "%s/never.png", tmpdir);
    assert_int_equal(wwa_report_png(empty, path, SCALE, err, sizeof err), WSS_ERR_INVALID);
    assert_int_equal(wwa_report_pdf(empty, path, err, sizeof err), WSS_ERR_INVALID);
    assert_int_equal(access(path, F_OK), -1);
    json_decref(empty);

    wss_wwa *e = march();
    json_t *r = build(e, 2027, 3);
    assert_int_equal(wwa_report_png(r, path, 0, err, sizeof err), WSS_ERR_INVALID);
    snprintf(path, sizeof path, "%s/no-such-dir/r.png", tmpdir);
    assert_int_equal(wwa_report_png(r, path, SCALE, err, sizeof err), WSS_ERR_IO);
    snprintf(path, sizeof path, "%s/no-such-dir/r.pdf", tmpdir);
    assert_int_equal(wwa_report_pdf(r, path, err, sizeof err), WSS_ERR_IO);
    json_decref(r);
    wss_wwa_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(report_numbers_of_a_month), cmocka_unit_test(report_december_keeps_downtime_up_to_new_year),
        cmocka_unit_test(report_parses_months),      cmocka_unit_test(report_png_shows_the_state_in_colour),
        cmocka_unit_test(report_pdf_is_one_page),    cmocka_unit_test(report_refuses_what_it_cannot_draw_or_write),
    };
    return cmocka_run_group_tests_name("wwa report", tests, make_dir, remove_dir);
}
