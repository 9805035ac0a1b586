/* clock.h - time helpers.  Local time is WB_TIMEZONE, installed in the
 * process with clock_set_zone() before any thread starts. */
#ifndef WB_CLOCK_H
#define WB_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Monotonic nanoseconds, for durations. */
uint64_t clock_mono_ns(void);
/* Monotonic milliseconds, for deadlines, backoffs and cache ages: the one
 * millisecond clock of every module (db/ too: this file links into wbctl).
 * Signed, so a reading minus a later deadline is negative, not a wrap. */
int64_t clock_mono_ms(void);
/* Wall clock, seconds since the epoch. */
time_t clock_now(void);

/* Install the zone (sets TZ and calls tzset): 0 or -1. */
int clock_set_zone(const char *zone);

/* RFC 3339 with the local offset, e.g. 2026-11-28T09:14:03+08:00.
 * buf needs 32 bytes. */
void clock_format(time_t t, char *buf, size_t len);
/* Now, with milliseconds, for logs. */
void clock_format_now(char *buf, size_t len);

/* Parse RFC 3339 (YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)), strictly.
 * Fractions are accepted and dropped. */
bool clock_parse_rfc3339(const char *s, time_t *out);

/* The local day of t as YYYY-MM-DD (buf >= 11) and as days since
 * 1970-01-01 of that local date. */
void clock_local_day(time_t t, char *buf, size_t len);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard
 * Hinnant's days_from_civil and civil_from_days). */
long long clock_days_from_civil(int y, int m, int d);
void clock_civil_from_days(long long days, int *y, int *m, int *d);

/* Parse YYYY-MM-DD strictly (a real date); true on success. */
bool clock_parse_day(const char *s, int *y, int *m, int *d);

/* Local midnight at the start of the given date, as epoch seconds. */
time_t clock_local_midnight(int y, int m, int d);

#endif
