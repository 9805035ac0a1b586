/* clock.c - see clock.h. */
#include "server/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int64_t clock_mono_ms(void)
{
    return (int64_t)(clock_mono_ns() / 1000000u);
}

time_t clock_now(void)
{
    /* Not time(NULL): glibc answers it from the kernel's coarse clock,
     * which can still say the last second a few milliseconds into the
     * next one.  A rate made effective "now" by one request must be in
     * force for a drop-off the next request records. */
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return time(NULL);
    return ts.tv_sec;
}

int clock_set_zone(const char *zone)
{
    if (setenv("TZ", zone, 1) != 0)
        return -1;
    tzset();
    return 0;
}

static void put_offset(char *buf, size_t len, long gmtoff)
{
    char sign = gmtoff < 0 ? '-' : '+';
    long a = gmtoff < 0 ? -gmtoff : gmtoff;
    snprintf(buf, len, "%c%02ld:%02ld", sign, a / 3600, (a % 3600) / 60);
}

void clock_format(time_t t, char *buf, size_t len)
{
    struct tm tm;
    char off[24];
    localtime_r(&t, &tm);
    put_offset(off, sizeof off, tm.tm_gmtoff);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%s", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, off);
}

void clock_format_now(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    char off[24];
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    put_offset(off, sizeof off, tm.tm_gmtoff);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ld%s", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             ts.tv_nsec / 1000000, off);
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
    static const int md[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && leap(y) ? 29 : md[m - 1];
}

long long clock_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void clock_civil_from_days(long long z, int *y, int *m, int *d)
{
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

bool clock_parse_day(const char *s, int *y, int *m, int *d)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    if (!digits(s, 4, y) || !digits(s + 5, 2, m) || !digits(s + 8, 2, d))
        return false;
    return *y >= 1970 && *y <= 9999 && *m >= 1 && *m <= 12 && *d >= 1 &&
           *d <= month_days(*y, *m);
}

bool clock_parse_rfc3339(const char *s, time_t *out)
{
    int y, mo, d, h, mi, se;
    size_t n = strlen(s);
    if (n < 20 || n > 40)
        return false;
    char day[11];
    memcpy(day, s, 10);
    day[10] = '\0';
    if (!clock_parse_day(day, &y, &mo, &d))
        return false;
    if ((s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        return false;
    if (!digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se))
        return false;
    if (h > 23 || mi > 59 || se > 59)
        return false;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        const char *f = p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == f || p - f > 9)
            return false;
    }
    long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (strlen(p) != 6 || p[3] != ':' || !digits(p + 1, 2, &oh) ||
            !digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return false;
        off = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return false;
    }
    if (*p)
        return false;
    long long secs = clock_days_from_civil(y, mo, d) * 86400LL + h * 3600LL + mi * 60LL + se - off;
    *out = (time_t)secs;
    return true;
}

void clock_local_day(time_t t, char *buf, size_t len)
{
    struct tm tm;
    localtime_r(&t, &tm);
    snprintf(buf, len, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

time_t clock_local_midnight(int y, int m, int d)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    tm.tm_isdst = -1;
    return mktime(&tm);
}
