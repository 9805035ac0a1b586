/* poster.h - the honour roll (红黑榜) as an A4 PDF poster for a village's
 * notice board.
 *
 * A4 portrait pages: the title 垃圾分类红黑榜, the village and the month
 * (2026年11月), then the red list (红榜) on the left and the black list
 * (黑榜) on the right, POSTER_ROWS rows a column a page, each row the
 * rank, the masked name, the accuracy (92.5%) and the inspections (12次);
 * "第 N / M 页" at the foot.  An empty list shows (无) on page 1.  The
 * points are carried but not printed.
 *
 * Chinese text needs a CJK font installed (fonts-wqy-microhei).  Safe to
 * call from several threads at once (qr/pdf.h: pdf_release_fonts at exit). */
#ifndef WB_POSTER_H
#define WB_POSTER_H

#include <stddef.h>

#define POSTER_ROWS 25   /* rows of each column on a page */

struct poster_entry {
    char name[128];          /* the head's name, masked already (张*明) */
    int inspections;
    double accuracy;         /* 0..1 */
    long long points;
};

struct poster {
    const char *region;      /* the village's name, e.g. "东湾村" */
    const char *month;       /* "2026-11" */
    const struct poster_entry *red, *black;
    size_t nred, nblack;
};

/* The poster as a PDF in a malloc'd buffer (*out, *len; the caller frees).
 * 0, or -1 with the reason in err (*out NULL, *len 0).
 *
 * month must be exactly "YYYY-MM" with MM 01..12, anything else (NULL,
 * "2026-13", "2026-1", "2026/11", "2026-11-01") is -1: the caller has
 * validated the month already, so a bad one is a bug to report rather
 * than a poster to print.  region NULL is -1 too.  Text that is not valid
 * UTF-8 (a name cut mid-character) is drawn with '?' for the bad bytes;
 * text too wide for its place is shortened with an ellipsis.  Accuracy
 * outside 0..1 is clamped; one that is not a number prints as "-". */
int poster_pdf(const struct poster *p, unsigned char **out, size_t *len, char *err,
               size_t errlen);

/* How many pages the poster of nred red and nblack black entries has:
 * max(1, ceil(max(nred, nblack) / POSTER_ROWS)). */
int poster_pages(size_t nred, size_t nblack);

#endif
