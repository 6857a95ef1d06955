/* calendar.c - the proleptic Gregorian calendar in UTC, in milliseconds since
 * 1970, for years 1970..9999: year and month starts, leap years, ISO 8601. */
#include <stdio.h>
#include <string.h>

#include "wwa/internal.h"

static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

int wwa_is_leap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

/* Leap years in 1..year-1. */
static long long leaps_before(int year)
{
    long long y = year - 1;
    return y / 4 - y / 100 + y / 400;
}

static long long days_before_year(int year) { return 365LL * (year - 1970) + leaps_before(year) - leaps_before(1970); }

long long wwa_year_start(int year) { return days_before_year(year) * WWA_DAY_MS; }

static int days_in_month(int year, int month) { return month == 2 && wwa_is_leap(year) ? 29 : month_days[month - 1]; }

long long wwa_month_start(int year, int month)
{
    if (month == 13)
        return wwa_year_start(year + 1);
    long long days = days_before_year(year);
    for (int m = 1; m < month; m++)
        days += days_in_month(year, m);
    return days * WWA_DAY_MS;
}

void wwa_year_month(long long ms, int *year, int *month)
{
    /* An estimate from the mean year, then corrected: it is off by at most one. */
    int y = 1970 + (int)(ms / (WWA_DAY_MS * 36524 / 100));
    while (y > 1970 && wwa_year_start(y) > ms)
        y--;
    while (wwa_year_start(y + 1) <= ms)
        y++;
    long long days = (ms - wwa_year_start(y)) / WWA_DAY_MS;
    int m = 1;
    while (days >= days_in_month(y, m)) {
        days -= days_in_month(y, m);
        m++;
    }
    *year = y;
    *month = m;
}

long long wwa_next_month_start(long long ms)
{
    int y, m;
    wwa_year_month(ms, &y, &m);
    return wwa_month_start(y, m + 1);
}

int wwa_time_ok(long long ms) { return ms >= 0 && ms < wwa_year_start(WWA_MAX_YEAR + 1); }

/* Reads exactly n digits. */
static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

wss_err wss_wwa_parse_time(const char *text, long long *ms)
{
    int y, mo, d, h, mi, s, frac = 0;
    if (!text || strlen(text) < 20)
        return WSS_ERR_INVALID;
    if (digits(text, 4, &y) || text[4] != '-' || digits(text + 5, 2, &mo) || text[7] != '-' ||
        digits(text + 8, 2, &d) || text[10] != 'T' || digits(text + 11, 2, &h) || text[13] != ':' ||
        digits(text + 14, 2, &mi) || text[16] != ':' || digits(text + 17, 2, &s))
        return WSS_ERR_INVALID;
    const char *p = text + 19;
    if (*p == '.') {
        int n = 0;
        p++;
        while (p[n] >= '0' && p[n] <= '9')
            n++;
        if (n < 1 || n > 3)
            return WSS_ERR_INVALID;
        digits(p, n, &frac);
        for (int i = n; i < 3; i++)
            frac *= 10;
        p += n;
    }
    if (strcmp(p, "Z") != 0)
        return WSS_ERR_INVALID;
    if (y < WWA_MIN_YEAR || y > WWA_MAX_YEAR || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
        mi > 59 || s > 59)
        return WSS_ERR_INVALID;
    *ms = wwa_month_start(y, mo) + (d - 1) * WWA_DAY_MS + h * 3600000LL + mi * 60000LL + s * 1000LL + frac;
    return WSS_OK;
}

void wss_wwa_format_time(long long ms, char buf[32])
{
    if (!wwa_time_ok(ms)) {
        snprintf(buf, 32, "invalid-time");
        return;
    }
    int y, mo;
    wwa_year_month(ms, &y, &mo);
    long long rest = ms - wwa_month_start(y, mo);
    int d = (int)(rest / WWA_DAY_MS) + 1;
    rest %= WWA_DAY_MS;
    char tmp[96];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, d, (int)(rest / 3600000),
             (int)(rest / 60000 % 60), (int)(rest / 1000 % 60), (int)(rest % 1000));
    size_t len = strlen(tmp);
    if (len > 31)
        len = 31;
    memcpy(buf, tmp, len);
    buf[len] = '\0';
}
