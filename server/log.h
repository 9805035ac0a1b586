/* log.h - one line per event on stderr, JSON (default) or text.
 *
 * Thread-safe: each line is built whole and written with one fwrite, which
 * stdio locks.  Never pass tokens, passwords, PINs or card MACs. */
#ifndef WB_LOG_H
#define WB_LOG_H

#include <jansson.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_init(int json, enum log_level min);

/* A message line: {"ts","level","msg"} or "ts LEVEL msg". */
void log_msg(enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A structured event: fields are merged into the line; obj is borrowed. */
void log_event(enum log_level lvl, const char *msg, json_t *fields);

#endif
