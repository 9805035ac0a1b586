/* wbctl cards --region-id N --out FILE.svg|FILE.pdf */
#include "admin-tools/wbctl.h"
#include "server/config.h"
#include "db/db.h"
#include "db/card_sheet.h"
#include "db/regions.h"
#include "qr/pdf.h"
#include "qr/sheet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* wbctl prints any size of village; the server draws at most
 * CARDS_PDF_MAX a request (api/cards.c). */
#define CARDS_CLI_MAX 10000000

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
    struct sheet_card *cards;
    size_t n;
    rc = card_sheet_load(d, g.path, wbctl_config()->qr_secret, CARDS_CLI_MAX, &cards, &n);
    if (rc < 0)
        die(1, "%s", db_error(d));
    if (rc == 0)
        die(1, "more than %d households under region %lld", CARDS_CLI_MAX, region_id);
    db_close(d);
    char err[256];
    FILE *f = fopen(out, "wb");
    if (!f)
        die(1, "cannot write '%s': %s", out, strerror(errno));
    if (pdf) {
        unsigned char *buf = NULL;
        size_t len = 0;
        rc = sheet_pdf(cards, n, &buf, &len, err, sizeof err);
        if (rc == 0 && fwrite(buf, 1, len, f) != len) {
            snprintf(err, sizeof err, "cannot write '%s': %s", out, strerror(errno));
            rc = -1;
        }
        free(buf);
        pdf_release_fonts();
    } else {
        rc = sheet_svg(cards, n, f);
        snprintf(err, sizeof err, "cannot write '%s'", out);
    }
    if (fclose(f) != 0 && rc == 0) {
        snprintf(err, sizeof err, "cannot write '%s': %s", out, strerror(errno));
        rc = -1;
    }
    free(cards);
    if (rc != 0)
        die(1, "%s", err);
    printf("%zu cards on %zu pages written to %s\n", n, n ? (n + 9) / 10 : 1, out);
    return 0;
}
