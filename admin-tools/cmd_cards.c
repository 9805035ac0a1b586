/* wbctl cards --region-id N --out FILE.svg|FILE.pdf */
#include "admin-tools/wbctl.h"
#include "server/config.h"
#include "db/db.h"
#include "db/regions.h"
#include "qr/card.h"
#include "qr/sheet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_CARDS[] =
    "SELECT h.id, g.name, h.head_name, h.address, h.card_gen FROM households h "
    "JOIN regions g ON g.id = h.region_id WHERE g.path LIKE CONCAT(?, '%') "
    "AND h.status <> 'closed' ORDER BY g.path, h.id";

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int cmd_cards(int argc, char **argv)
{
    const char *rid = opt_value(argc, argv, "--region-id");
    const char *out = opt_value(argc, argv, "--out");
    if (!rid || !out)
        die(2, "usage: wbctl cards --region-id N --out FILE.svg|FILE.pdf");
    char *end;
    long long region_id = strtoll(rid, &end, 10);
    if (*end || region_id < 1)
        die(2, "--region-id must be a positive integer");
    bool pdf = ends_with(out, ".pdf");
    if (!pdf && !ends_with(out, ".svg"))
        die(2, "--out must end in .svg or .pdf");
    struct db *d = wbctl_db();
    struct region g;
    int rc = region_get(d, region_id, &g);
    if (rc < 0)
        die(1, "%s", db_error(d));
    if (rc == 0)
        die(1, "no region %lld", region_id);
    struct db_rows *r = db_query(d, SQL_CARDS, "s", g.path);
    if (!r)
        die(1, "%s", db_error(d));
    size_t n = db_rows_count(r);
    struct sheet_card *cards = calloc(n ? n : 1, sizeof *cards);
    if (!cards)
        die(1, "out of memory");
    const char *secret = wbctl_config()->qr_secret;
    for (size_t i = 0; db_rows_next(r); i++) {
        struct sheet_card *c = &cards[i];
        c->id = db_rows_int(r, 0);
        snprintf(c->village, sizeof c->village, "%s", db_rows_str(r, 1, NULL));
        snprintf(c->head_name, sizeof c->head_name, "%s", db_rows_str(r, 2, NULL));
        snprintf(c->address, sizeof c->address, "%s", db_rows_str(r, 3, NULL));
        card_encode(secret, c->id, db_rows_int(r, 4), c->code);
    }
    db_rows_free(r);
    db_close(d);
    char err[256];
    if (pdf) {
        rc = sheet_pdf(cards, n, out, err, sizeof err);
    } else {
        FILE *f = fopen(out, "w");
        if (!f)
            die(1, "cannot write '%s': %s", out, strerror(errno));
        rc = sheet_svg(cards, n, f);
        if (fclose(f) != 0)
            rc = -1;
        snprintf(err, sizeof err, "cannot write '%s'", out);
    }
    free(cards);
    if (rc != 0)
        die(1, "%s", err);
    printf("%zu cards on %zu pages written to %s\n", n, n ? (n + 9) / 10 : 1, out);
    return 0;
}
