/* log.c - line-oriented logging; see log.h. */
#include "server/log.h"
#include "server/clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int log_json = 1;
static enum log_level log_min = LOG_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_init(int json, enum log_level min)
{
    log_json = json;
    log_min = min;
}

static void emit(enum log_level lvl, const char *msg, json_t *fields)
{
    char ts[40];
    clock_format_now(ts, sizeof ts);
    if (log_json) {
        json_t *o = json_object();
        if (!o)
            return;
        json_object_set_new(o, "ts", json_string(ts));
        json_object_set_new(o, "level", json_string(level_names[lvl]));
        json_object_set_new(o, "msg", json_string(msg));
        if (fields)
            json_object_update(o, fields);
        char *line = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(5));
        json_decref(o);
        if (!line)
            return;
        size_t n = strlen(line);
        line[n] = '\n';      /* replace NUL: fwrite below takes the length */
        fwrite(line, 1, n + 1, stderr);
        free(line);
        return;
    }
    char *extra = fields ? json_dumps(fields, JSON_COMPACT) : NULL;
    char buf[4096];
    int n = snprintf(buf, sizeof buf, "%s %-5s %s%s%s\n", ts, level_names[lvl], msg,
                     extra ? " " : "", extra ? extra : "");
    free(extra);
    if (n > 0)
        fwrite(buf, 1, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1, stderr);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    if (lvl < log_min)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit(lvl, msg, NULL);
}

void log_event(enum log_level lvl, const char *msg, json_t *fields)
{
    if (lvl < log_min)
        return;
    emit(lvl, msg, fields);
}
