/* pdf.c - see pdf.h. */
#include "qr/pdf.h"

#include <cairo-pdf.h>
#include <fontconfig/fontconfig.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The PDF bytes as cairo hands them over. */
static cairo_status_t sink_write(void *closure, const unsigned char *data, unsigned int length)
{
    struct pdf_sink *k = closure;
    if (length > SIZE_MAX - k->len) {
        k->oom = 1;
        return CAIRO_STATUS_WRITE_ERROR;
    }
    size_t need = k->len + length;
    if (need > k->cap) {
        size_t cap = k->cap ? k->cap : 64 * 1024;
        while (cap < need) {
            if (cap > SIZE_MAX / 2) {
                cap = need;
                break;
            }
            cap *= 2;
        }
        unsigned char *b = realloc(k->buf, cap);
        if (!b) {
            k->oom = 1;
            return CAIRO_STATUS_WRITE_ERROR;
        }
        k->buf = b;
        k->cap = cap;
    }
    memcpy(k->buf + k->len, data, length);
    k->len = need;
    return CAIRO_STATUS_SUCCESS;
}

int pdf_begin(struct pdf_doc *doc, double w, double h, const char *title, char *err,
              size_t errlen)
{
    memset(doc, 0, sizeof *doc);
    doc->surface = cairo_pdf_surface_create_for_stream(sink_write, &doc->sink, w, h);
    cairo_status_t st = cairo_surface_status(doc->surface);
    if (st != CAIRO_STATUS_SUCCESS) {
        snprintf(err, errlen, "cannot start the PDF: %s", cairo_status_to_string(st));
        cairo_surface_destroy(doc->surface);
        free(doc->sink.buf);
        memset(doc, 0, sizeof *doc);
        return -1;
    }
#if CAIRO_VERSION >= CAIRO_VERSION_ENCODE(1, 16, 0)
    if (title)
        cairo_pdf_surface_set_metadata(doc->surface, CAIRO_PDF_METADATA_TITLE, title);
    cairo_pdf_surface_set_metadata(doc->surface, CAIRO_PDF_METADATA_CREATOR, "wastebank");
#else
    (void)title;
#endif
    doc->cr = cairo_create(doc->surface);
    return 0;
}

int pdf_end(struct pdf_doc *doc, int failed, unsigned char **out, size_t *len, char *err,
            size_t errlen)
{
    *out = NULL;
    *len = 0;
    cairo_status_t st = cairo_status(doc->cr);
    if (!failed && st != CAIRO_STATUS_SUCCESS)
        snprintf(err, errlen, "cannot draw the PDF: %s", cairo_status_to_string(st));
    cairo_destroy(doc->cr);
    cairo_surface_finish(doc->surface);
    if (!failed && st == CAIRO_STATUS_SUCCESS &&
        (st = cairo_surface_status(doc->surface)) != CAIRO_STATUS_SUCCESS)
        snprintf(err, errlen, "cannot write the PDF: %s",
                 doc->sink.oom ? "out of memory" : cairo_status_to_string(st));
    cairo_surface_destroy(doc->surface);
    if (failed || st != CAIRO_STATUS_SUCCESS) {
        free(doc->sink.buf);
        memset(doc, 0, sizeof *doc);
        return -1;
    }
    *out = doc->sink.buf;
    *len = doc->sink.len;
    memset(doc, 0, sizeof *doc);
    return 0;
}

void pdf_release_fonts(void)
{
    cairo_debug_reset_static_data();
    FcFini();
}
