/* sheet.h - printable A4 sheets of cut-out household cards.
 *
 * Ten cards a page (2 x 5, 90 x 54 mm each, dashed cut lines): the QR
 * symbol on the left, the village, the household head, the address and
 * the household number on the right.  SVG pages are stacked in one
 * document (print it with "fit to page" off); PDF (cairo) has real pages.
 * Chinese text needs a CJK font installed (fonts-wqy-microhei). */
#ifndef WB_SHEET_H
#define WB_SHEET_H

#include <stddef.h>
#include <stdio.h>

#include "qr/card.h"

struct sheet_card {
    long long id;
    char village[401];
    char head_name[401];
    char address[801];
    char code[CARD_MAX];
};

#define SHEET_PER_PAGE 10

/* Write the sheet as SVG to out.  0 or -1. */
int sheet_svg(const struct sheet_card *cards, size_t n, FILE *out);

/* The sheet as a PDF in a malloc'd buffer (*out, *len; the caller frees).
 * 0, or -1 with the reason in err.  Safe from several threads at once
 * (qr/pdf.h: pdf_release_fonts at exit). */
int sheet_pdf(const struct sheet_card *cards, size_t n, unsigned char **out, size_t *len,
              char *err, size_t errlen);

#endif
