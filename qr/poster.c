/* poster.c - see poster.h.  Units are PostScript points throughout (the
 * A4 page is 595.28 x 841.89); the PDF is drawn into memory (qr/pdf.h). */
#include "qr/poster.h"
#include "qr/pdf.h"

#include <cairo.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_W 595.28
#define PAGE_H 841.89
#define MARGIN 42.0
#define GAP 24.0                                   /* between the columns */
#define COL_W ((PAGE_W - 2 * MARGIN - GAP) / 2)
#define ROWS_TOP 206.0                             /* top of the first row */
#define ROW_H 22.8
#define FONT "WenQuanYi Micro Hei"

enum align { LEFT, CENTER, RIGHT };

struct rgb {
    double r, g, b;
};

static const struct rgb RED = { 0.78, 0.08, 0.08 }, RED_TINT = { 1.0, 0.94, 0.94 };
static const struct rgb DARK = { 0.12, 0.12, 0.12 }, DARK_TINT = { 0.94, 0.94, 0.94 };
static const struct rgb GREY = { 0.40, 0.40, 0.40 };

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 when it is
 * not one (overlong, surrogate, beyond U+10FFFF, cut short). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t len;
    unsigned long cp;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2;
        cp = s[0] & 0x1Fu;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3;
        cp = s[0] & 0x0Fu;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4;
        cp = s[0] & 0x07u;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* A copy of the n bytes at s with every byte that is not part of valid
 * UTF-8 turned into '?' (cairo refuses the whole page otherwise), with
 * room for an ellipsis; malloc'd, NULL when out of memory. */
static char *utf8_clean(const char *s, size_t n)
{
    char *out = malloc(n + 4);
    if (!out)
        return NULL;
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t l = u[i] ? utf8_seq(u + i, n - i) : 0;
        if (l == 0) {
            out[i++] = '?';
            continue;
        }
        memcpy(out + i, s + i, l);
        i += l;
    }
    out[n] = '\0';
    return out;
}

/* Show text in the box from x to x + width on baseline y, aligned, and
 * shortened with an ellipsis to fit.  0, or -1 when out of memory. */
static int show_fitted(cairo_t *cr, const char *text, double x, double y, double width,
                       enum align how)
{
    size_t n = strlen(text);
    char *buf = utf8_clean(text, n);
    if (!buf)
        return -1;
    cairo_text_extents_t ext;
    cairo_text_extents(cr, buf, &ext);
    while (ext.x_advance > width && n > 0) {
        /* drop one whole UTF-8 character */
        do
            n--;
        while (n > 0 && ((unsigned char)buf[n] & 0xC0) == 0x80);
        memcpy(buf + n, "\xE2\x80\xA6", 4);
        cairo_text_extents(cr, buf, &ext);
    }
    double left = x;
    if (how == CENTER)
        left = x + (width - ext.x_advance) / 2;
    else if (how == RIGHT)
        left = x + width - ext.x_advance;
    cairo_move_to(cr, left, y);
    cairo_show_text(cr, buf);
    free(buf);
    return 0;
}

static void set_font(cairo_t *cr, double size, int bold, struct rgb c)
{
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
}

/* "2026-11" as "2026年11月" (months without a leading zero: 2026年3月).
 * 0, or -1 when month is not exactly YYYY-MM with MM 01..12. */
static int month_text(const char *month, char *out, size_t outlen)
{
    if (!month || strlen(month) != 7 || month[4] != '-')
        return -1;
    for (int i = 0; i < 7; i++)
        if (i != 4 && (month[i] < '0' || month[i] > '9'))
            return -1;
    int y = (month[0] - '0') * 1000 + (month[1] - '0') * 100 + (month[2] - '0') * 10 +
            (month[3] - '0');
    int m = (month[5] - '0') * 10 + (month[6] - '0');
    if (m < 1 || m > 12)
        return -1;
    snprintf(out, outlen, "%04d年%d月", y, m);
    return 0;
}

/* One list's column of the page: its heading and rule, then its entries
 * first .. first + POSTER_ROWS - 1.  0, or -1 when out of memory. */
static int draw_column(cairo_t *cr, double x, const char *heading, struct rgb ink,
                       struct rgb tint, const struct poster_entry *e, size_t n, size_t first)
{
    set_font(cr, 22, 1, ink);
    if (show_fitted(cr, heading, x, 172, COL_W, CENTER) != 0)
        return -1;
    cairo_set_source_rgb(cr, ink.r, ink.g, ink.b);
    cairo_set_line_width(cr, 2);
    cairo_move_to(cr, x, 182);
    cairo_line_to(cr, x + COL_W, 182);
    cairo_stroke(cr);

    set_font(cr, 9, 0, GREY);
    if (show_fitted(cr, "名次", x, 198, 30, RIGHT) != 0 ||
        show_fitted(cr, "户主", x + 38, 198, 108, LEFT) != 0 ||
        show_fitted(cr, "准确率", x + 146, 198, 54, RIGHT) != 0 ||
        show_fitted(cr, "检查", x + 200, 198, COL_W - 206, RIGHT) != 0)
        return -1;

    if (n == 0) {
        if (first == 0) {
            set_font(cr, 12, 0, GREY);
            if (show_fitted(cr, "(无)", x, ROWS_TOP + 15.5, COL_W, CENTER) != 0)
                return -1;
        }
        return 0;
    }
    for (size_t k = 0; k < POSTER_ROWS && first + k < n; k++) {
        const struct poster_entry *en = &e[first + k];
        double top = ROWS_TOP + (double)k * ROW_H, base = top + 15.5;
        if (k % 2 == 0) {
            cairo_set_source_rgb(cr, tint.r, tint.g, tint.b);
            cairo_rectangle(cr, x, top, COL_W, ROW_H);
            cairo_fill(cr);
        }
        char rank[32], name[sizeof en->name + 1], acc[32], times[32];
        snprintf(rank, sizeof rank, "%zu", first + k + 1);
        size_t nl = strnlen(en->name, sizeof en->name);   /* NUL or not */
        memcpy(name, en->name, nl);
        name[nl] = '\0';
        double a = en->accuracy;
        if (isnan(a))
            snprintf(acc, sizeof acc, "-");
        else
            snprintf(acc, sizeof acc, "%.1f%%", 100.0 * (a < 0 ? 0 : a > 1 ? 1 : a));
        snprintf(times, sizeof times, "%d次", en->inspections);

        set_font(cr, 12, 1, ink);
        if (show_fitted(cr, rank, x, base, 30, RIGHT) != 0)
            return -1;
        set_font(cr, 12, 0, DARK);
        if (show_fitted(cr, name, x + 38, base, 108, LEFT) != 0 ||
            show_fitted(cr, acc, x + 146, base, 54, RIGHT) != 0 ||
            show_fitted(cr, times, x + 200, base, COL_W - 206, RIGHT) != 0)
            return -1;
    }
    return 0;
}

/* Page page (0-based) of pages.  0, or -1 when out of memory. */
static int draw_page(cairo_t *cr, const struct poster *p, const char *region,
                     const char *when, int page, int pages)
{
    const double cw = PAGE_W - 2 * MARGIN;
    size_t first = (size_t)page * POSTER_ROWS;
    set_font(cr, 32, 1, DARK);
    if (show_fitted(cr, "垃圾分类红黑榜", MARGIN, 88, cw, CENTER) != 0)
        return -1;
    char sub[64];
    snprintf(sub, sizeof sub, "  %s", when);
    set_font(cr, 15, 0, GREY);
    /* the month always shows whole; a long village name gives way */
    cairo_text_extents_t ext;
    cairo_text_extents(cr, sub, &ext);
    double vw = cw - ext.x_advance, vx = MARGIN;
    cairo_text_extents(cr, region, &ext);
    if (ext.x_advance < vw) {
        vx = MARGIN + (vw - ext.x_advance) / 2;
        vw = ext.x_advance + 0.5;
    }
    if (show_fitted(cr, region, vx, 120, vw, RIGHT) != 0 ||
        show_fitted(cr, sub, vx + vw, 120, cw, LEFT) != 0)
        return -1;
    cairo_set_source_rgb(cr, 0.7, 0.7, 0.7);
    cairo_set_line_width(cr, 0.6);
    cairo_move_to(cr, MARGIN, 136);
    cairo_line_to(cr, PAGE_W - MARGIN, 136);
    cairo_stroke(cr);

    if (draw_column(cr, MARGIN, "红榜", RED, RED_TINT, p->red, p->nred, first) != 0 ||
        draw_column(cr, MARGIN + COL_W + GAP, "黑榜", DARK, DARK_TINT, p->black, p->nblack,
                    first) != 0)
        return -1;

    cairo_set_source_rgb(cr, 0.7, 0.7, 0.7);
    cairo_set_line_width(cr, 0.6);
    cairo_move_to(cr, MARGIN, PAGE_H - 56);
    cairo_line_to(cr, PAGE_W - MARGIN, PAGE_H - 56);
    cairo_stroke(cr);
    char foot[64];
    snprintf(foot, sizeof foot, "第 %d / %d 页", page + 1, pages);
    set_font(cr, 10, 0, GREY);
    return show_fitted(cr, foot, MARGIN, PAGE_H - 36, cw, CENTER);
}

int poster_pages(size_t nred, size_t nblack)
{
    size_t n = nred > nblack ? nred : nblack;
    size_t pages = n ? (n - 1) / POSTER_ROWS + 1 : 1;
    return pages > INT_MAX ? INT_MAX : (int)pages;
}

int poster_pdf(const struct poster *p, unsigned char **out, size_t *len, char *err,
               size_t errlen)
{
    *out = NULL;
    *len = 0;
    char when[32];
    if (!p->region) {
        snprintf(err, errlen, "the poster has no village name");
        return -1;
    }
    if (month_text(p->month, when, sizeof when) != 0) {
        snprintf(err, errlen, "month '%s' is not YYYY-MM", p->month ? p->month : "(none)");
        return -1;
    }
    if ((p->nred && !p->red) || (p->nblack && !p->black)) {
        snprintf(err, errlen, "the poster's entries are missing");
        return -1;
    }
    size_t n = p->nred > p->nblack ? p->nred : p->nblack;
    if (n / POSTER_ROWS >= INT_MAX) {
        snprintf(err, errlen, "too many entries for one poster");
        return -1;
    }
    int pages = poster_pages(p->nred, p->nblack);
    char *region = utf8_clean(p->region, strlen(p->region));
    if (!region) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    size_t tl = strlen(region) + 64;
    char *title = malloc(tl);
    if (title)
        snprintf(title, tl, "%s %s 垃圾分类红黑榜", region, when);
    struct pdf_doc doc;
    int rc = pdf_begin(&doc, PAGE_W, PAGE_H, title, err, errlen);
    free(title);
    if (rc != 0) {
        free(region);
        return -1;
    }
    for (int page = 0; page < pages && cairo_status(doc.cr) == CAIRO_STATUS_SUCCESS; page++) {
        if (draw_page(doc.cr, p, region, when, page, pages) != 0) {
            snprintf(err, errlen, "out of memory drawing page %d", page + 1);
            rc = -1;
            break;
        }
        cairo_show_page(doc.cr);
    }
    free(region);
    return pdf_end(&doc, rc != 0, out, len, err, errlen);
}
