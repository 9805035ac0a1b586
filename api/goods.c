/* goods.c - see goods.h. */
#include "api/goods.h"
#include "api/input.h"
#include "db/catalog.h"
#include "db/ledger.h"

#include <stdio.h>

const struct field goods_line_fields[] = {
    { "category", FT_STR, F_REQUIRED, 1, 32, NULL },
    { "grams", FT_INT, 0, 0, GOODS_MAX_GRAMS, NULL },
    { "count", FT_INT, 0, 0, GOODS_MAX_ITEMS, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static int refuse(struct ledger_refusal *f, size_t i, const char *key, const char *msg)
{
    char field[48];
    if (key)
        snprintf(field, sizeof field, "lines[%zu].%s", i, key);
    else
        snprintf(field, sizeof field, "lines[%zu]", i);
    ledger_refusal_set(f, 400, "invalid_request", field, msg);
    return 1;
}

int goods_parse(struct db *d, json_t *lines, bool zero_ok, struct chain_line *out, int *n,
                struct ledger_refusal *f)
{
    size_t i;
    json_t *it;
    char msg[160];
    *n = 0;
    json_array_foreach(lines, i, it) {
        if (i >= CHAIN_MAX_LINES)
            return refuse(f, i, NULL, "at most 50 lines");
        const char *code = input_str(it, "category");
        const struct category *c;
        int found = catalog_find(d, code, &c);
        if (found < 0)
            return -1;
        if (found == 0) {
            snprintf(msg, sizeof msg, "unknown category '%s'", code);
            return refuse(f, i, "category", msg);
        }
        long long grams = 0, count = 0;
        bool has_g = input_int(it, "grams", &grams), has_c = input_int(it, "count", &count);
        if (c->per_item ? (!has_c || has_g) : (!has_g || has_c)) {
            snprintf(msg, sizeof msg, "%s is counted in %s: send %s only", c->code,
                     c->per_item ? "items" : "grams", c->per_item ? "count" : "grams");
            return refuse(f, i, c->per_item ? (has_g ? "grams" : "count")
                                            : (has_c ? "count" : "grams"), msg);
        }
        long long qty = c->per_item ? count : grams;
        if (qty == 0 && !zero_ok)
            return refuse(f, i, c->per_item ? "count" : "grams", "a quantity is at least 1");
        for (int k = 0; k < *n; k++)
            if (out[k].category_id == c->id)
                return refuse(f, i, "category", "each category once");
        struct chain_line *l = &out[(*n)++];
        l->category_id = c->id;
        snprintf(l->code, sizeof l->code, "%s", c->code);
        l->per_item = c->per_item;
        l->qty = qty;
    }
    return 0;
}
