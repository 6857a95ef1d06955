/* report.h - the monthly compliance report of `wss wwa`: JSON, PDF and PNG.
 *
 * The report of a calendar month (UTC) is computed from the engine alone:
 * the state at the month's last millisecond (badge, reasons, warnings,
 * skills, incidents, checklist), the month's and the year's availability,
 * and the downtime of each day and hour of the month. The same JSON document
 * is then drawn on one A4 page by cairo, as a PDF and as a PNG, so what a
 * reader sees is exactly what the JSON says. */
#ifndef WSS_WWA_REPORT_H
#define WSS_WWA_REPORT_H

#include <jansson.h>
#include <stddef.h>

#include "wss/wwa.h"

/* The page: A4 in points (1/72 inch); a PNG at scale s is W*s by H*s pixels. */
#define WWA_REPORT_W 595
#define WWA_REPORT_H 842

/* A rectangle on the page, in points from the top left corner. */
typedef struct wwa_rect {
    double x, y, w, h;
} wwa_rect;

/* The badge status box: filled green while the badge is held at the month's
 * end, red when it is removed. */
wwa_rect wwa_report_status_box(void);
/* The column of day (1..ndays) in the daily availability chart: its bar
 * stands on the column's bottom edge, at least 3 points high, green when the
 * day's downtime is within the day's 0.07 % share (60 480 ms), red when not. */
wwa_rect wwa_report_day_column(int day, int ndays);
/* The month's downtime strip: light grey, red where an hour had downtime. */
wwa_rect wwa_report_timeline(void);

/* Parses "YYYY-MM" (1970..9999, month 01..12). 0 on success, -1 otherwise. */
int wwa_report_parse_month(const char *text, int *year, int *month);

/* The report of month (1..12) of year, from the events in e (see
 * docs/wwa.md, "The monthly report", for every field). NULL with the reason in
 * err when the engine refuses a query or memory runs out. */
json_t *wwa_report_build(wss_wwa *e, int year, int month, char *err, size_t errlen);

/* Draws report (as built above) into a one-page PDF at path, or a PNG at
 * path with scale pixels per point. WSS_ERR_IO (cairo's reason in err) when
 * the file cannot be written; WSS_ERR_INVALID when report lacks a field. */
wss_err wwa_report_pdf(const json_t *report, const char *path, char *err, size_t errlen);
wss_err wwa_report_png(const json_t *report, const char *path, double scale, char *err, size_t errlen);

/* Releases cairo's and fontconfig's process-wide caches. Call once drawing is over
 * and no cairo object is left, at the end of a program: leak checkers then
 * see nothing held. */
void wwa_report_release(void);

#endif
