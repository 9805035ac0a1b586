/* csvout.c - see csvout.h. */
#include "db/csvout.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>

static void put(struct csv_out *c, const char *s, size_t n)
{
    if (!c->failed && n && evbuffer_add(c->buf, s, n) != 0)
        c->failed = true;
}

void csv_out_init(struct csv_out *c, bool bom)
{
    memset(c, 0, sizeof *c);
    c->buf = evbuffer_new();
    c->failed = !c->buf;
    if (bom)
        put(c, "\xEF\xBB\xBF", 3);
}

static void separator(struct csv_out *c)
{
    if (c->row_open)
        put(c, ",", 1);
    c->row_open = true;
}

bool csv_out_needs_guard(const char *s)
{
    return s && s[0] && strchr("=+-@\t\r", s[0]) != NULL;
}

void csv_out_text(struct csv_out *c, const char *s)
{
    separator(c);
    if (!s)
        return;
    bool guard = csv_out_needs_guard(s);
    bool quote = guard || strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        put(c, "\"", 1);
    if (guard)
        put(c, "'", 1);
    for (const char *p = s; *p;) {
        size_t n = strcspn(p, "\"");
        put(c, p, n);
        p += n;
        if (*p == '"') {
            put(c, "\"\"", 2);
            p++;
        }
    }
    if (quote)
        put(c, "\"", 1);
}

void csv_out_int(struct csv_out *c, long long v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%lld", v);
    separator(c);
    put(c, num, (size_t)n);
}

void csv_out_row_end(struct csv_out *c)
{
    put(c, "\r\n", 2);
    c->row_open = false;
}

void csv_out_header(struct csv_out *c, const char *const *names)
{
    for (; *names; names++)
        csv_out_text(c, *names);
    csv_out_row_end(c);
}

const char *csv_out_bytes(struct csv_out *c, size_t *len)
{
    *len = 0;
    if (c->failed)
        return NULL;
    size_t n = evbuffer_get_length(c->buf);
    if (n == 0)
        return "";
    const char *p = (const char *)evbuffer_pullup(c->buf, -1);
    if (!p) {
        c->failed = true;
        return NULL;
    }
    *len = n;
    return p;
}

void csv_out_release(struct csv_out *c)
{
    if (c->buf)
        evbuffer_free(c->buf);
    memset(c, 0, sizeof *c);
}
