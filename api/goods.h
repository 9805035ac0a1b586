/* goods.h - the lines of goods the chain's requests carry:
 * [{category, grams | count}], each category once, grams for a g
 * category and count for an item category (api.md, "The three-tier
 * chain").  Shipments, receipts, stock counts and outbound share them. */
#ifndef WB_GOODS_H
#define WB_GOODS_H

#include <stdbool.h>
#include <jansson.h>

#include "api/input.h"
#include "db/shipments.h"

struct db;
struct ledger_refusal;

#define GOODS_MAX_GRAMS 50000000LL
#define GOODS_MAX_ITEMS 100000LL

/* The field list of one line, for a body's struct field spec. */
extern const struct field goods_line_fields[];

/* Read lines (checked against goods_line_fields) into out, *n of them.
 * zero_ok: a quantity may be 0 (what a receipt or a count found).
 * 0; 1 with the refusal in f (400: an unknown category, the wrong unit,
 * a category twice, a quantity out of range; field "lines[i]..."); -1
 * when the catalogue could not be read (a store error, never a 400). */
int goods_parse(struct db *d, json_t *lines, bool zero_ok, struct chain_line *out, int *n,
                struct ledger_refusal *f);

#endif
