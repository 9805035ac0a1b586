/* paycodes.c - a resident's one-time pay code: POST /v1/residents/pay-code
 * and its QR image, GET /v1/residents/pay-code.png (db/paycode.h keeps
 * them in Redis; a redemption spends one, api/redemptions.c). */
#include "api/handlers.h"
#include "server/clock.h"
#include "server/config.h"
#include "server/request.h"
#include "server/worker.h"
#include "db/paycode.h"
#include "qr/qrimage.h"

#include <stdlib.h>

void h_pay_code_create(struct req *r)
{
    char code[PAYCODE_DIGITS + 1], nonce[17];
    int ttl = r->w->cfg->pay_code_ttl;
    if (paycode_issue(r->w->cache, r->who.household_id, ttl, code, nonce) != 0) {
        reply_error(r, 503, "unavailable", NULL,
                    "pay codes are unavailable right now; use the card and PIN");
        return;
    }
    char exp[40];
    clock_format(clock_now() + ttl, exp, sizeof exp);
    reply_json(r, 200, json_pack("{s:s, s:s, s:i}", "pay_code", code, "expires_at", exp,
                                 "ttl", ttl));
}

void h_pay_code_png(struct req *r)
{
    char code[PAYCODE_DIGITS + 1];
    long long left = 0;
    int rc = paycode_current(r->w->cache, r->who.household_id, code, &left);
    if (rc < 0) {
        reply_error(r, 503, "unavailable", NULL, "pay codes are unavailable right now");
        return;
    }
    if (rc == 0) {
        reply_error(r, 404, "not_found", NULL, "no live pay code; make one first");
        return;
    }
    unsigned char *png = NULL;
    size_t len = 0;
    if (qr_png(code, 384, &png, &len) != 0) {
        reply_error(r, 500, "internal", NULL, "could not draw the code");
        return;
    }
    reply_raw(r, 200, "image/png", png, len);
    free(png);
}

