/* sheet.c - see sheet.h.  Units are millimetres throughout; the PDF side
 * scales them to points once. */
#include "qr/sheet.h"
#include "qr/pdf.h"
#include "qr/qrimage.h"

#include <cairo.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_W 210.0
#define PAGE_H 297.0
#define CARD_W 90.0
#define CARD_H 54.0
#define COLS 2
#define ROWS 5
#define QR_MM 40.0
#define FONT "WenQuanYi Micro Hei"

static void card_origin(size_t i, double *x, double *y, double *page_y)
{
    size_t page = i / SHEET_PER_PAGE, k = i % SHEET_PER_PAGE;
    double left = (PAGE_W - COLS * CARD_W) / 2, top = (PAGE_H - ROWS * CARD_H) / 2;
    *page_y = (double)page * PAGE_H;
    *x = left + (double)(k % COLS) * CARD_W;
    *y = *page_y + top + (double)(k / COLS) * CARD_H;
}

int sheet_svg(const struct sheet_card *cards, size_t n, FILE *out)
{
    size_t pages = n ? (n + SHEET_PER_PAGE - 1) / SHEET_PER_PAGE : 1;
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%gmm\" height=\"%gmm\" "
            "viewBox=\"0 0 %g %g\" font-family=\"%s, 'Noto Sans CJK SC', sans-serif\">\n",
            PAGE_W, PAGE_H * (double)pages, PAGE_W, PAGE_H * (double)pages, FONT);
    for (size_t p = 1; p < pages; p++)
        fprintf(out, "<line x1=\"0\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#999\" "
                     "stroke-width=\"0.2\"/>\n", PAGE_H * (double)p, PAGE_W, PAGE_H * (double)p);
    for (size_t i = 0; i < n; i++) {
        const struct sheet_card *c = &cards[i];
        double x, y, py;
        card_origin(i, &x, &y, &py);
        unsigned char *dark = NULL;
        int w;
        if (qr_modules(c->code, &dark, &w) != 0)
            return -1;
        char *village = xml_escape(c->village), *head = xml_escape(c->head_name),
             *addr = xml_escape(c->address);
        if (!village || !head || !addr) {
            free(village);
            free(head);
            free(addr);
            free(dark);
            return -1;
        }
        double mod = (QR_MM - 4) / (double)w;
        fprintf(out, "<g>\n<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" "
                     "stroke=\"#888\" stroke-width=\"0.2\" stroke-dasharray=\"2,1\"/>\n",
                x, y, CARD_W, CARD_H);
        fprintf(out, "<path fill=\"#000\" d=\"");
        for (int my = 0; my < w; my++)
            for (int mx = 0; mx < w; mx++)
                if (dark[my * w + mx])
                    fprintf(out, "M%.3f %.3fh%.3fv%.3fh-%.3fz", x + 4 + 2 + mx * mod,
                            y + 7 + 2 + my * mod, mod, mod, mod);
        fprintf(out, "\"/>\n");
        double tx = x + QR_MM + 6;
        fprintf(out,
                "<text x=\"%g\" y=\"%g\" font-size=\"4.2\" font-weight=\"bold\">%s</text>\n"
                "<text x=\"%g\" y=\"%g\" font-size=\"5\">%s</text>\n"
                "<text x=\"%g\" y=\"%g\" font-size=\"3.2\">%s</text>\n"
                "<text x=\"%g\" y=\"%g\" font-size=\"3\" fill=\"#555\">No. %lld</text>\n</g>\n",
                tx, y + 13, village, tx, y + 22, head, tx, y + 30, addr, tx, y + 47, c->id);
        free(village);
        free(head);
        free(addr);
        free(dark);
    }
    fprintf(out, "</svg>\n");
    return ferror(out) ? -1 : 0;
}

/* Show text, shortened with an ellipsis to fit width (mm). */
static void show_fitted(cairo_t *cr, const char *text, double width)
{
    cairo_text_extents_t ext;
    cairo_text_extents(cr, text, &ext);
    if (ext.x_advance <= width) {
        cairo_show_text(cr, text);
        return;
    }
    size_t n = strlen(text);
    char *buf = malloc(n + 4);
    if (!buf)
        return;
    memcpy(buf, text, n + 1);
    while (n > 0) {
        /* drop one whole UTF-8 character */
        do
            n--;
        while (n > 0 && ((unsigned char)buf[n] & 0xC0) == 0x80);
        memcpy(buf + n, "\xE2\x80\xA6", 4);
        cairo_text_extents(cr, buf, &ext);
        if (ext.x_advance <= width)
            break;
    }
    cairo_show_text(cr, buf);
    free(buf);
}

/* The QR symbol (w x w modules) as one image of a pixel a module, scaled
 * to size mm at (x, y) without smoothing: one small image a card instead
 * of hundreds of rectangles, so a village's sheet is drawn and read
 * quickly.  0 or -1 (out of memory). */
static int draw_qr(cairo_t *cr, const unsigned char *dark, int w, double x, double y,
                   double size)
{
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, w);
    if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(img);
        return -1;
    }
    cairo_surface_flush(img);
    unsigned char *px = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    for (int my = 0; my < w; my++) {
        uint32_t *row = (uint32_t *)(void *)(px + (size_t)my * (size_t)stride);
        for (int mx = 0; mx < w; mx++)
            row[mx] = dark[my * w + mx] ? 0x000000u : 0xFFFFFFu;
    }
    cairo_surface_mark_dirty(img);
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, size / w, size / w);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_rectangle(cr, 0, 0, w, w);
    cairo_fill(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);
    return 0;
}

int sheet_pdf(const struct sheet_card *cards, size_t n, unsigned char **out, size_t *len,
              char *err, size_t errlen)
{
    const double pt = 72.0 / 25.4;
    struct pdf_doc doc;
    if (pdf_begin(&doc, PAGE_W * pt, PAGE_H * pt, "wastebank household cards", err, errlen) != 0)
        return -1;
    cairo_t *cr = doc.cr;
    cairo_scale(cr, pt, pt);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i > 0 && i % SHEET_PER_PAGE == 0)
            cairo_show_page(cr);
        const struct sheet_card *c = &cards[i];
        double x, y, py;
        card_origin(i, &x, &y, &py);
        y -= py;
        cairo_set_source_rgb(cr, 0.55, 0.55, 0.55);
        cairo_set_line_width(cr, 0.2);
        double dash[] = { 2.0, 1.0 };
        cairo_set_dash(cr, dash, 2, 0);
        cairo_rectangle(cr, x, y, CARD_W, CARD_H);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);

        unsigned char *dark = NULL;
        int w;
        if (qr_modules(c->code, &dark, &w) != 0) {
            snprintf(err, errlen, "cannot encode the card of household %lld", c->id);
            rc = -1;
            break;
        }
        if (draw_qr(cr, dark, w, x + 6, y + 9, QR_MM - 4) != 0) {
            snprintf(err, errlen, "out of memory drawing the card of household %lld", c->id);
            rc = -1;
        }
        free(dark);

        double tx = x + QR_MM + 6, tw = CARD_W - QR_MM - 9;
        cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
        cairo_set_font_size(cr, 4.2);
        cairo_move_to(cr, tx, y + 13);
        show_fitted(cr, c->village, tw);
        cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
        cairo_set_font_size(cr, 5);
        cairo_move_to(cr, tx, y + 22);
        show_fitted(cr, c->head_name, tw);
        cairo_set_font_size(cr, 3.2);
        cairo_move_to(cr, tx, y + 30);
        show_fitted(cr, c->address, tw);
        cairo_set_source_rgb(cr, 0.33, 0.33, 0.33);
        cairo_set_font_size(cr, 3);
        cairo_move_to(cr, tx, y + 47);
        char no[40];
        snprintf(no, sizeof no, "No. %lld", c->id);
        cairo_show_text(cr, no);
    }
    cairo_show_page(cr);
    return pdf_end(&doc, rc != 0, out, len, err, errlen);
}
