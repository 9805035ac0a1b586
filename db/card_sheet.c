/* card_sheet.c - see card_sheet.h. */
#include "db/card_sheet.h"
#include "qr/card.h"

#include <stdio.h>
#include <stdlib.h>

static const char SQL_CARDS[] =
    "SELECT h.id, g.name, h.head_name, h.address, h.card_gen FROM households h "
    "JOIN regions g ON g.id = h.region_id WHERE g.path LIKE CONCAT(?, '%') "
    "AND h.status <> 'closed' ORDER BY g.path, h.id LIMIT ?";

int card_sheet_load(struct db *d, const char *path, const char *secret, size_t max,
                    struct sheet_card **cards, size_t *n)
{
    *cards = NULL;
    *n = 0;
    struct db_rows *r = db_query(d, SQL_CARDS, "si", path, (long long)max + 1);
    if (!r)
        return -1;
    size_t rows = db_rows_count(r);
    if (rows > max) {
        db_rows_free(r);
        *n = max + 1;
        return 0;
    }
    struct sheet_card *c = calloc(rows ? rows : 1, sizeof *c);
    if (!c) {
        db_rows_free(r);
        return -1;
    }
    for (size_t i = 0; i < rows && db_rows_next(r); i++) {
        c[i].id = db_rows_int(r, 0);
        snprintf(c[i].village, sizeof c[i].village, "%s", db_rows_str(r, 1, NULL));
        snprintf(c[i].head_name, sizeof c[i].head_name, "%s", db_rows_str(r, 2, NULL));
        snprintf(c[i].address, sizeof c[i].address, "%s", db_rows_str(r, 3, NULL));
        card_encode(secret, c[i].id, db_rows_int(r, 4), c[i].code);
    }
    db_rows_free(r);
    *cards = c;
    *n = rows;
    return 1;
}
