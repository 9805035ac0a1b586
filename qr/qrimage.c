/* qrimage.c - see qrimage.h. */
#include "qr/qrimage.h"

#include <png.h>
#include <qrencode.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUIET 4

int qr_modules(const char *payload, unsigned char **dark, int *width)
{
    QRcode *q = QRcode_encodeString(payload, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!q)
        return -1;
    int w = q->width;
    unsigned char *m = malloc((size_t)w * (size_t)w);
    if (!m) {
        QRcode_free(q);
        return -1;
    }
    for (int i = 0; i < w * w; i++)
        m[i] = q->data[i] & 1;
    QRcode_free(q);
    *dark = m;
    *width = w;
    return 0;
}

struct membuf {
    unsigned char *data;
    size_t len, cap;
    int failed;
};

static void png_write_mem(png_structp png, png_bytep data, png_size_t n)
{
    struct membuf *b = png_get_io_ptr(png);
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 4096;
        while (ncap < b->len + n)
            ncap *= 2;
        unsigned char *p = realloc(b->data, ncap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->data = p;
        b->cap = ncap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
}

static void png_flush_mem(png_structp png)
{
    (void)png;
}

int qr_png(const char *payload, int size, unsigned char **out, size_t *len)
{
    unsigned char *dark = NULL;
    int w;
    if (qr_modules(payload, &dark, &w) != 0)
        return -1;
    int modules = w + 2 * QUIET;
    int scale = size / modules;
    if (scale < 1)
        scale = 1;
    int px = modules * scale;
    struct membuf b = { 0 };
    png_bytep row = malloc((size_t)px);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int rc = -1;
    if (!row || !png || !info)
        goto out;
    if (setjmp(png_jmpbuf(png)))
        goto out;
    png_set_write_fn(png, &b, png_write_mem, png_flush_mem);
    /* 1-bit greyscale: a card of 600 px is a few kilobytes */
    png_set_IHDR(png, info, (png_uint_32)px, (png_uint_32)px, 8, PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < px; y++) {
        int my = y / scale - QUIET;
        for (int x = 0; x < px; x++) {
            int mx = x / scale - QUIET;
            bool on = mx >= 0 && my >= 0 && mx < w && my < w && dark[my * w + mx];
            row[x] = on ? 0 : 255;
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    if (!b.failed) {
        *out = b.data;
        *len = b.len;
        b.data = NULL;
        rc = 0;
    }
out:
    png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
    free(b.data);
    free(row);
    free(dark);
    return rc;
}

char *xml_escape(const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p; p++)
        n += (*p == '&') ? 5 : (*p == '<' || *p == '>') ? 4 : (*p == '"' || *p == '\'') ? 6 : 1;
    char *o = malloc(n + 1), *q = o;
    if (!o)
        return NULL;
    for (const char *p = s; *p; p++) {
        const char *rep = NULL;
        switch (*p) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        }
        if (rep) {
            memcpy(q, rep, strlen(rep));
            q += strlen(rep);
        } else {
            *q++ = *p;
        }
    }
    *q = '\0';
    return o;
}

/* Append printf-style to a growing string; returns -1 on failure. */
static int sappend(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int sappend(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(*buf ? *buf + *len : NULL, *buf ? *cap - *len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return -1;
        if (*buf && *len + (size_t)n < *cap) {
            *len += (size_t)n;
            return 0;
        }
        size_t ncap = *cap ? *cap * 2 : 8192;
        while (ncap <= *len + (size_t)n)
            ncap *= 2;
        char *p = realloc(*buf, ncap);
        if (!p)
            return -1;
        *buf = p;
        *cap = ncap;
    }
}

int qr_svg(const char *payload, const char *caption, char **out, size_t *len)
{
    unsigned char *dark = NULL;
    int w;
    if (qr_modules(payload, &dark, &w) != 0)
        return -1;
    int m = w + 2 * QUIET;
    int h = caption ? m + 4 : m;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = sappend(&buf, &n, &cap,
                     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                     "width=\"%d\" height=\"%d\" shape-rendering=\"crispEdges\">\n"
                     "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n<path fill=\"#000\" d=\"",
                     m, h, m * 8, h * 8, m, h);
    for (int y = 0; rc == 0 && y < w; y++)
        for (int x = 0; rc == 0 && x < w; x++)
            if (dark[y * w + x])
                rc = sappend(&buf, &n, &cap, "M%d %dh1v1h-1z", x + QUIET, y + QUIET);
    if (rc == 0)
        rc = sappend(&buf, &n, &cap, "\"/>\n");
    if (rc == 0 && caption) {
        char *esc = xml_escape(caption);
        rc = esc ? sappend(&buf, &n, &cap,
                           "<text x=\"%d\" y=\"%d\" font-size=\"2\" text-anchor=\"middle\" "
                           "font-family=\"sans-serif\">%s</text>\n",
                           m / 2, m + 2, esc)
                 : -1;
        free(esc);
    }
    if (rc == 0)
        rc = sappend(&buf, &n, &cap, "</svg>\n");
    free(dark);
    if (rc != 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}
