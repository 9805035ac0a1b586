/* pdf.h - a PDF document drawn with cairo into a malloc'd buffer: the one
 * lifecycle the card sheet and the honour-roll poster share.
 *
 *     struct pdf_doc doc;
 *     if (pdf_begin(&doc, w_pt, h_pt, title, err, errlen) != 0) return -1;
 *     ... draw on doc.cr, cairo_show_page(doc.cr) after each page ...
 *     return pdf_end(&doc, failed, &out, &len, err, errlen);
 *
 * Safe from several threads at once.  Drawing text fills cairo's and
 * fontconfig's font caches, which live as long as the process: a program
 * calls pdf_release_fonts() once at exit, when no thread draws, so a leak
 * checker sees only real leaks. */
#ifndef WB_PDF_H
#define WB_PDF_H

#include <cairo.h>
#include <stddef.h>

struct pdf_sink {
    unsigned char *buf;
    size_t len, cap;
    int oom;
};

struct pdf_doc {
    cairo_surface_t *surface;
    cairo_t *cr;
    struct pdf_sink sink;
};

/* Start a document of pages w x h points, its metadata title (may be
 * NULL).  0, or -1 with the reason in err and nothing to end. */
int pdf_begin(struct pdf_doc *doc, double w, double h, const char *title, char *err,
              size_t errlen);

/* Finish the document.  failed: the drawing went wrong already (err says
 * why): everything is released and -1 returned.  Otherwise 0 with the
 * bytes in *out (the caller frees) and *len, or -1 with err set when
 * cairo failed on the way (out of memory included). */
int pdf_end(struct pdf_doc *doc, int failed, unsigned char **out, size_t *len, char *err,
            size_t errlen);

/* Release cairo's and fontconfig's font caches: once, at exit. */
void pdf_release_fonts(void);

#endif
