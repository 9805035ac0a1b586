/* card_sheet.h - the households of a region's subtree as cut-out cards
 * (qr/sheet.h), for `wbctl cards` and GET /v1/regions/{id}/cards.pdf. */
#ifndef WB_CARD_SHEET_H
#define WB_CARD_SHEET_H

#include <stddef.h>

#include "db/db.h"
#include "qr/sheet.h"

/* The cards of the households under path (a region's path) that are not
 * closed, in region then household order, each with its current card code
 * (signed with secret).  At most max cards: 1 with *cards (the caller
 * frees) and *n; 0 when there are more than max (nothing allocated, *n =
 * max + 1); -1 on a store error (db_error) or out of memory. */
int card_sheet_load(struct db *d, const char *path, const char *secret, size_t max,
                    struct sheet_card **cards, size_t *n);

#endif
