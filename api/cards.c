/* cards.c - a household's QR door card: POST /v1/households/{id}/card
 * reissues it (a new generation; the old card stops working), GET
 * .../card.png and .../card.svg draw the current one; GET
 * /v1/regions/{id}/cards.pdf prints the cards of a region's households on
 * A4 sheets to cut out. */
#include "api/handlers.h"
#include "api/household_view.h"
#include "api/reach.h"
#include "server/config.h"
#include "server/request.h"
#include "server/worker.h"
#include "db/db.h"
#include "db/card_sheet.h"
#include "db/households.h"
#include "db/regions.h"
#include "db/revoke.h"
#include "qr/card.h"
#include "qr/qrimage.h"
#include "qr/sheet.h"
#include "server/log.h"

#include <stdio.h>
#include <stdlib.h>

struct reissue {
    struct req *r;
    long long id;
};

static int reissue_tx(struct db *d, void *arg)
{
    struct reissue *x = arg;
    struct household h;
    int rc = household_get(d, x->id, &h, true);
    if (rc <= 0)
        return rc < 0 ? -1 : 1;
    if (household_reissue(d, x->id) != 0)
        return -1;
    json_t *detail = json_pack("{s:I}", "old_generation", (json_int_t)h.card_gen);
    rc = audit_req(x->r, d, "household.card_reissue", "household", x->id, detail);
    json_decref(detail);
    return rc;
}

void h_households_card_reissue(struct req *r)
{
    struct db *d = db_or_reply(r);
    struct household h;
    if (!d || !household_in_reach_or_reply(r, d, r->param[0], &h))
        return;
    struct reissue x = { r, h.id };
    int rc = db_tx(d, reissue_tx, &x);
    if (rc != 0) {
        reply_tx_error(r, d, rc);
        return;
    }
    if (household_get(d, h.id, &h, false) != 1) {
        reply_db_error(r, d);
        return;
    }
    revoke_subject_changed(d, r->w->cache, 'h', h.id);
    reply_json(r, 200, household_json(r, &h));
}

void h_households_card_png(struct req *r)
{
    long long size = 512;
    const char *s = req_query(r, "size");
    if (s) {
        char *end;
        size = strtoll(s, &end, 10);
        if (*end || end == s || size < QR_PNG_MIN || size > QR_PNG_MAX) {
            reply_error(r, 400, "invalid_request", "size", "size must be from %d to %d pixels",
                        QR_PNG_MIN, QR_PNG_MAX);
            return;
        }
    }
    struct db *d = db_or_reply(r);
    struct household h;
    if (!d || !household_in_reach_or_reply(r, d, r->param[0], &h))
        return;
    char code[CARD_MAX];
    card_encode(r->w->cfg->qr_secret, h.id, h.card_gen, code);
    unsigned char *png = NULL;
    size_t len = 0;
    if (qr_png(code, (int)size, &png, &len) != 0) {
        reply_error(r, 500, "internal", NULL, "could not draw the card");
        return;
    }
    reply_raw(r, 200, "image/png", png, len);
    free(png);
}

void h_households_card_svg(struct req *r)
{
    struct db *d = db_or_reply(r);
    struct household h;
    if (!d || !household_in_reach_or_reply(r, d, r->param[0], &h))
        return;
    char code[CARD_MAX], caption[600];
    card_encode(r->w->cfg->qr_secret, h.id, h.card_gen, code);
    snprintf(caption, sizeof caption, "%s · %lld", h.region_name, h.id);
    char *svg = NULL;
    size_t len = 0;
    if (qr_svg(code, caption, &svg, &len) != 0) {
        reply_error(r, 500, "internal", NULL, "could not draw the card");
        return;
    }
    reply_raw(r, 200, "image/svg+xml; charset=utf-8", svg, len);
    free(svg);
}

/* The most cards one request draws (300 A4 pages, well under a second
 * of a worker); a bigger region prints with `wbctl cards`. */
#define CARDS_PDF_MAX 3000

void h_regions_cards_pdf(struct req *r)
{
    struct db *d = db_or_reply(r);
    struct region g;
    if (!d || !reach_region_or_reply(r, d, r->param[0], &g))
        return;
    struct sheet_card *cards;
    size_t n;
    int rc = card_sheet_load(d, g.path, r->w->cfg->qr_secret, CARDS_PDF_MAX, &cards, &n);
    if (rc < 0) {
        reply_db_error(r, d);
        return;
    }
    if (rc == 0) {
        reply_error(r, 400, "invalid_request", "region_id",
                    "more than %d households under this region: print its towns or villages "
                    "one by one, or use wbctl cards", CARDS_PDF_MAX);
        return;
    }
    /* a sheet is every card of the region: who printed it is kept */
    json_t *detail = json_pack("{s:I}", "households", (json_int_t)n);
    rc = audit_req(r, d, "region.card_sheet", "region", g.id, detail);
    json_decref(detail);
    if (rc != 0) {
        free(cards);
        reply_db_error(r, d);
        return;
    }
    unsigned char *pdf = NULL;
    size_t len = 0;
    char err[256];
    rc = sheet_pdf(cards, n, &pdf, &len, err, sizeof err);
    free(cards);
    if (rc != 0) {
        log_msg(LOG_WARN, "card sheet of region %lld: %s", g.id, err);
        reply_error(r, 500, "internal", NULL, "the card sheet could not be drawn");
        return;
    }
    char disp[96];
    snprintf(disp, sizeof disp, "inline; filename=\"cards-%s.pdf\"", g.code);
    reply_header(r, "Content-Disposition", disp);
    reply_raw(r, 200, "application/pdf", pdf, len);
    free(pdf);
}
