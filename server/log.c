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

/* A message as one line of text: control bytes and bytes that are not
 * UTF-8 become \xNN, so a message quoting a client's bytes can neither
 * start a line of its own nor make the JSON encoder drop it.  Returns a
 * malloc'd string or NULL. */
static char *clean_text(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(4 * n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
                   : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        for (size_t k = 1; len && k < len; k++)
            if (i + k >= n || ((unsigned char)s[i + k] & 0xc0) != 0x80)
                len = 0;
        /* let jansson judge overlong forms and surrogates: only a
         * well-formed sequence is copied, and a rejected message is
         * cleaned again byte by byte (see emit) */
        if (len == 1 && (c < 0x20 || c == 0x7f))
            len = 0;
        if (len == 2 && c == 0xc2 && (unsigned char)s[i + 1] <= 0x9f)
            len = 0;                    /* a C1 control, U+0080-U+009F */
        if (len) {
            memcpy(out + o, s + i, len);
            o += len;
            i += len;
        } else {
            o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
            i++;
        }
    }
    out[o] = '\0';
    return out;
}

/* Every byte above 0x7e as \xNN too: the last resort for a message
 * jansson still refuses. */
static char *ascii_text(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(4 * n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
    }
    out[o] = '\0';
    return out;
}

static void emit(enum log_level lvl, const char *msg, json_t *fields)
{
    char ts[40];
    clock_format_now(ts, sizeof ts);
    char *clean = clean_text(msg);
    const char *text = clean ? clean : "(out of memory)";
    if (log_json) {
        json_t *o = json_object();
        if (!o) {
            free(clean);
            return;
        }
        json_t *m = json_string(text);
        if (!m) {
            char *a = ascii_text(msg);
            m = json_string(a ? a : "(unprintable message)");
            free(a);
        }
        json_object_set_new(o, "ts", json_string(ts));
        json_object_set_new(o, "level", json_string(level_names[lvl]));
        json_object_set_new(o, "msg", m);
        if (fields)
            json_object_update(o, fields);
        char *line = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(5));
        json_decref(o);
        free(clean);
        if (!line)
            return;
        size_t n = strlen(line);
        line[n] = '\n';      /* replace NUL: fwrite below takes the length */
        fwrite(line, 1, n + 1, stderr);
        free(line);
        return;
    }
    /* text: "ts LEVEL msg {fields}", built whole whatever its length (a
     * fixed buffer cut long lines and lost their newline, gluing the
     * next line to them) */
    char *extra = fields ? json_dumps(fields, JSON_COMPACT) : NULL;
    int n = snprintf(NULL, 0, "%s %-5s %s%s%s\n", ts, level_names[lvl], text,
                     extra ? " " : "", extra ? extra : "");
    char *buf = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (buf) {
        snprintf(buf, (size_t)n + 1, "%s %-5s %s%s%s\n", ts, level_names[lvl], text,
                 extra ? " " : "", extra ? extra : "");
        fwrite(buf, 1, (size_t)n, stderr);
        free(buf);
    }
    free(extra);
    free(clean);
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
