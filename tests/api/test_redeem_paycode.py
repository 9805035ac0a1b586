"""One-time pay codes: issuing (and the QR image), redeeming, single use, replacement,
expiry, another county's shop (the code stays unconsumed), and Redis down (api.md
"Shops, catalog, redemptions", "Conventions" (store unavailable); design.md "Security
model" (pay codes))."""

import contextlib
import os
import subprocess
import tempfile
import time

from lib import expect_eq, expect_error, expect_json, expect_status, parse_rfc3339
from test_redeem import (balance_of, card, funded, fx, mk_clerk, new_key, new_pay_code,
                         paying, redeem, redeemed, resident_token)


def _resident(ctx, region_id, points):
    h = funded(ctx, region_id, points)
    return h, resident_token(ctx, h)


def _redis_down(ctx):
    r = ctx.get("/readyz")
    return r.status == 200 and r.json and r.json.get("redis") == "down"


def _redis_up(ctx):
    r = ctx.get("/readyz")
    return r.status == 200 and r.json and r.json.get("redis") == "ok"


def _zbar(png):
    """The text zbarimg reads from PNG bytes (skip when zbarimg is not installed)."""
    fd, path = tempfile.mkstemp(suffix=".png")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(png)
        try:
            p = subprocess.run(["zbarimg", "-q", "--raw", path], capture_output=True, text=True,
                               timeout=30)
        except FileNotFoundError:
            return None
        return p.stdout.strip()
    finally:
        os.unlink(path)


# ----------------------------------------------------------------------------- issuing

def test_redeem_pay_code_issue_answers_code_expiry_and_ttl(ctx):
    w = fx(ctx)
    h, tok = _resident(ctx, w.VA["id"], 100)
    t0 = time.time()
    pc = new_pay_code(ctx, tok)
    expect_eq(pc.get("ttl"), 120, "ttl (WB_PAY_CODE_TTL default 120)")
    exp = parse_rfc3339(pc.get("expires_at")).timestamp()
    assert t0 + 118 <= exp <= time.time() + 122, \
        "expires_at %r is not about 120 s from now" % pc["expires_at"]
    left = int(ctx.redis("TTL", "pc:" + pc["pay_code"]))
    assert 100 <= left <= 120, "Redis TTL of pc:%s is %d" % (pc["pay_code"], left)
    # staff cannot make one
    expect_error(ctx.post("/v1/residents/pay-code", token=w.c1.token), 403, "forbidden")
    expect_error(ctx.post("/v1/residents/pay-code", token=ctx.admin_token), 403, "forbidden")
    expect_error(ctx.post("/v1/residents/pay-code"), 401, "unauthorized")


def test_redeem_pay_code_png_shows_the_live_code(ctx):
    w = fx(ctx)
    h, tok = _resident(ctx, w.VA["id"], 100)
    r = ctx.get("/v1/residents/pay-code.png", token=tok)
    expect_error(r, 404, "not_found")                     # none made yet
    pc = new_pay_code(ctx, tok)["pay_code"]
    r = expect_status(ctx.get("/v1/residents/pay-code.png", token=tok), 200)
    expect_eq(r.headers.get("Content-Type", "").split(";")[0], "image/png", "Content-Type")
    assert r.body[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG: %r" % r.body[:16]
    text = _zbar(r.body)
    if text is None:
        ctx.skip("zbarimg is not installed")
    expect_eq(text, pc, "the QR code's text")
    # a new code: the image follows it
    pc2 = new_pay_code(ctx, tok)["pay_code"]
    r = expect_status(ctx.get("/v1/residents/pay-code.png", token=tok), 200)
    expect_eq(_zbar(r.body), pc2, "the QR code after a new code")
    # spent: no live code
    redeemed(ctx, w.c1, paying(pc2, points=10))
    expect_error(ctx.get("/v1/residents/pay-code.png", token=tok), 404, "not_found")


# ----------------------------------------------------------------------------- redeeming

def test_redeem_by_pay_code(ctx):
    w = fx(ctx)
    h, tok = _resident(ctx, w.VA["id"], 300)
    pc = new_pay_code(ctx, tok)["pay_code"]
    d = redeemed(ctx, w.c1, paying(pc, items=[{"item_id": w.soap["id"], "qty": 2}], memo="soap"))
    expect_eq((d["household_id"], d["shop_id"], d["points"], d["balance"], d["consent"],
               d["memo"]), (h["id"], w.S1["id"], 20, 280, "pay_code", "soap"), "answer")
    expect_eq(d["items"], [{"item_id": w.soap["id"], "name": "Soap", "qty": 2, "points_each": 10,
                            "points": 20}], "lines")
    expect_eq(balance_of(ctx, h["id"]), 280, "balance")
    got = expect_json(ctx.get("/v1/redemptions/%d" % d["id"], token=ctx.admin_token), 200)
    expect_eq(got["consent"], "pay_code", "stored consent")
    rows = ctx.sql("SELECT household_id, redemption_id FROM pay_code_uses WHERE code = '%s'" % pc)
    expect_eq(rows, [(str(h["id"]), str(d["id"]))], "pay_code_uses row")


def test_redeem_used_pay_code_is_unknown(ctx):
    w = fx(ctx)
    clerk = mk_clerk(ctx, w.S1)
    h, tok = _resident(ctx, w.VA["id"], 300)
    pc = new_pay_code(ctx, tok)["pay_code"]
    redeemed(ctx, clerk, paying(pc, points=10))
    expect_error(redeem(ctx, clerk, paying(pc, points=10)), 404, "unknown_pay_code", "pay_code")
    expect_error(redeem(ctx, w.c2, paying(pc, points=10)), 404, "unknown_pay_code")
    expect_eq(balance_of(ctx, h["id"]), 290, "spent once")


def test_redeem_used_pay_code_is_refused_even_if_redis_still_holds_it(ctx):
    """The use row in MariaDB is the guard: put the spent code back into Redis (as a
    Redis that lost its last writes would) and it still spends nothing."""
    w = fx(ctx)
    clerk = mk_clerk(ctx, w.S1)
    h, tok = _resident(ctx, w.VA["id"], 300)
    pc = new_pay_code(ctx, tok)["pay_code"]
    val = ctx.redis("GET", "pc:" + pc)
    assert val, "no pc:%s key in Redis" % pc
    redeemed(ctx, clerk, paying(pc, points=10))
    ctx.redis("SET", "pc:" + pc, val, "EX", "60")
    r = redeem(ctx, clerk, paying(pc, points=10))
    expect_error(r, 404, "unknown_pay_code")
    expect_eq(balance_of(ctx, h["id"]), 290, "spent once")
    ctx.redis("DEL", "pc:" + pc)


def test_redeem_voided_pay_code_redemption_leaves_the_code_spent(ctx):
    w = fx(ctx)
    clerk = mk_clerk(ctx, w.S1)
    h, tok = _resident(ctx, w.VA["id"], 100)
    pc = new_pay_code(ctx, tok)["pay_code"]
    d = redeemed(ctx, clerk, paying(pc, points=40))
    v = expect_json(ctx.post("/v1/redemptions/%d/void" % d["id"], {"reason": "oops"},
                             token=clerk.token), 200)
    expect_eq(v["balance"], 100, "points back")
    expect_error(redeem(ctx, clerk, paying(pc, points=40)), 404, "unknown_pay_code")
    expect_eq(balance_of(ctx, h["id"]), 100, "the code spends nothing after the void")


def test_redeem_replaced_pay_code_is_unknown(ctx):
    w = fx(ctx)
    clerk = mk_clerk(ctx, w.S1)
    h, tok = _resident(ctx, w.VA["id"], 300)
    old = new_pay_code(ctx, tok)["pay_code"]
    new = new_pay_code(ctx, tok)["pay_code"]
    assert old != new, "the same code twice"
    expect_error(redeem(ctx, clerk, paying(old, points=10)), 404, "unknown_pay_code", "pay_code")
    d = redeemed(ctx, clerk, paying(new, points=10))
    expect_eq(d["balance"], 290, "the new code works")
    # another household's new code does not revive or replace this one's
    h2, tok2 = _resident(ctx, w.VA["id"], 300)
    other = new_pay_code(ctx, tok2)["pay_code"]
    expect_error(redeem(ctx, clerk, paying(old, points=10)), 404, "unknown_pay_code")
    d = redeemed(ctx, clerk, paying(other, points=10))
    expect_eq((d["household_id"], d["balance"]), (h2["id"], 290), "the other household's code")


def test_redeem_unknown_pay_code(ctx):
    w = fx(ctx)
    clerk = mk_clerk(ctx, w.S1)
    for code in ("000000000000", "12345678901", "1234567890123", "abcdefabcdef", "x"):
        r = redeem(ctx, clerk, paying(code, points=10))
        expect_error(r, 404, "unknown_pay_code", "pay_code")


def test_redeem_expired_pay_code_is_unknown(ctx):
    w = fx(ctx)
    srv = ctx.start_server({"WB_PAY_CODE_TTL": "10"})
    try:
        clerk = mk_clerk(ctx, w.S1)
        h, tok = _resident(ctx, w.VA["id"], 300)
        r = srv.call("POST", "/v1/residents/pay-code", token=tok)
        pc = expect_json(r, 200)
        expect_eq(pc.get("ttl"), 10, "ttl on the server with WB_PAY_CODE_TTL=10")
        exp = parse_rfc3339(pc["expires_at"]).timestamp()
        left = int(ctx.redis("TTL", "pc:" + pc["pay_code"]))
        assert 0 < left <= 10, "Redis TTL %d" % left
        # a twin code made at the same time works before expiry
        h2, tok2 = _resident(ctx, w.VA["id"], 300)
        pc2 = expect_json(srv.call("POST", "/v1/residents/pay-code", token=tok2), 200)["pay_code"]
        redeemed(ctx, clerk, paying(pc2, points=10), client=srv.client)
        wait = exp + 1.5 - time.time()
        if wait > 0:
            time.sleep(wait)
        expect_error(redeem(ctx, clerk, paying(pc["pay_code"], points=10)), 404,
                     "unknown_pay_code", "pay_code")
        expect_error(redeem(ctx, clerk, paying(pc["pay_code"], points=10), client=srv.client),
                     404, "unknown_pay_code")
        expect_error(srv.call("GET", "/v1/residents/pay-code.png", token=tok), 404, "not_found")
        expect_eq(balance_of(ctx, h["id"]), 300, "nothing spent")
    finally:
        srv.stop()


def test_redeem_pay_code_of_another_county_is_not_found_and_stays_unconsumed(ctx):
    w = fx(ctx)
    h, tok = _resident(ctx, w.VA["id"], 300)
    pc = new_pay_code(ctx, tok)["pay_code"]
    r = redeem(ctx, w.cb, paying(pc, points=10))
    expect_error(r, 404, "not_found")
    r = redeem(ctx, w.cb, paying(pc, items=[{"item_id": w.sb_item["id"], "qty": 1}]))
    expect_error(r, 404, "not_found")
    expect_eq(balance_of(ctx, h["id"]), 300, "nothing spent")
    assert ctx.redis("GET", "pc:" + pc), "the pay code was dropped from Redis"
    d = redeemed(ctx, w.c1, paying(pc, points=10))
    expect_eq((d["shop_id"], d["balance"]), (w.S1["id"], 290), "spent at a shop of its county")


def test_redeem_pay_code_not_consumed_by_a_refusal(ctx):
    """409s (insufficient points, out of stock, suspended) leave the code live."""
    w = fx(ctx)
    h, tok = _resident(ctx, w.VA["id"], 50)
    pc = new_pay_code(ctx, tok)["pay_code"]
    key = new_key("pcpoor")
    expect_error(redeem(ctx, w.c1, paying(pc, points=60), key=key), 409, "insufficient_points")
    r = redeem(ctx, w.c1, paying(pc, points=60), key=key)
    expect_error(r, 409, "insufficient_points")
    expect_eq(r.json.get("replayed"), True, "replayed")
    gone = expect_json(ctx.post("/v1/shops/%d/items" % w.S1["id"],
                                {"name": "gone", "points": 1, "stock": 0},
                                token=ctx.admin_token), 201)
    expect_error(redeem(ctx, w.c1, paying(pc, items=[{"item_id": gone["id"], "qty": 1}])), 409,
                 "out_of_stock")
    expect_error(redeem(ctx, w.c1, paying(pc, items=[{"item_id": w.s2_item["id"], "qty": 1}])),
                 404, "not_found")
    expect_eq(balance_of(ctx, h["id"]), 50, "nothing spent")
    d = redeemed(ctx, w.c1, paying(pc, points=50))
    expect_eq(d["balance"], 0, "the same code, after the refusals")


def test_redeem_pay_code_of_suspended_household_is_inactive(ctx):
    w = fx(ctx)
    h, tok = _resident(ctx, w.VA["id"], 50)
    pc = new_pay_code(ctx, tok)["pay_code"]
    expect_status(ctx.call("PATCH", "/v1/households/%d" % h["id"], {"status": "suspended"},
                           token=ctx.admin_token), 200)
    expect_error(redeem(ctx, w.c1, paying(pc, points=10)), 409, "household_inactive")
    expect_eq(balance_of(ctx, h["id"]), 50, "nothing spent")


def test_redeem_pay_code_replay_after_use(ctx):
    w = fx(ctx)
    h, tok = _resident(ctx, w.VA["id"], 100)
    pc = new_pay_code(ctx, tok)["pay_code"]
    key = new_key("pcrp")
    first = redeemed(ctx, w.c1, paying(pc, points=30), key=key)
    again = expect_json(redeem(ctx, w.c1, paying(pc, points=30), key=key), 201)
    expect_eq((again["id"], again["replayed"], again["balance"]), (first["id"], True, 70),
              "a replay of a spent code's redemption")
    expect_error(redeem(ctx, w.c1, paying(pc, points=31), key=key), 409, "idempotency_conflict")
    expect_eq(balance_of(ctx, h["id"]), 70, "spent once")


def test_redeem_pay_code_needs_no_pin_even_when_locked(ctx):
    """The pay code is the consent: a household whose PIN is locked still pays by code
    (the resident signed in before the lock)."""
    w = fx(ctx)
    clerk = mk_clerk(ctx, w.S1)
    h, tok = _resident(ctx, w.VA["id"], 100)
    for _ in range(5):
        redeem(ctx, clerk, card(h, pin="1357", points=1))
    expect_error(redeem(ctx, clerk, card(h, points=1)), 423, "pin_locked")
    pc = new_pay_code(ctx, tok)["pay_code"]
    d = redeemed(ctx, w.c1, paying(pc, points=10))
    expect_eq(d["balance"], 90, "paid by code")


# ----------------------------------------------------------------------------- Redis down

@contextlib.contextmanager
def redis_stopped(ctx):
    """Redis stopped (and /readyz saying so) for the block, and up again after it."""
    up = False
    try:
        ctx.services("stop-redis")
        ctx.wait_until(lambda: _redis_down(ctx), timeout=10,
                       message="/readyz never said redis down")
        yield
        ctx.services("start-redis")
        up = True
    finally:
        if not up:
            ctx.services("start-redis", check=False)
    ctx.wait_until(lambda: _redis_up(ctx), timeout=20, message="/readyz never said redis ok")


def test_redeem_pay_code_replay_while_redis_is_down_is_the_stored_answer(ctx):
    """A pay code spent, then Redis stops: the same key and body again is answered from
    the record (the 201, replayed), not 503, since a stored answer comes before the
    refusal Redis's absence decides; a new key is 503 and spends nothing."""
    w = fx(ctx)
    h, tok = _resident(ctx, w.VA["id"], 500)
    pc = new_pay_code(ctx, tok)["pay_code"]
    key = new_key("down")
    first = redeemed(ctx, w.c1, paying(pc, points=10), key=key)
    with redis_stopped(ctx):
        again = redeem(ctx, w.c1, paying(pc, points=10), key=key)
        other = redeem(ctx, w.c1, paying(pc, points=10))
    d = expect_json(again, 201)
    expect_eq((d["id"], d["balance"], d["replayed"]), (first["id"], 490, True),
              "the replay with Redis down")
    expect_error(other, 503, "unavailable")
    expect_eq(balance_of(ctx, h["id"]), 490, "spent once")


def test_redeem_redis_down_pay_codes_unavailable_card_still_works(ctx):
    w = fx(ctx)
    h, tok = _resident(ctx, w.VA["id"], 500)
    pc = new_pay_code(ctx, tok)["pay_code"]
    during = {}
    with redis_stopped(ctx):
        during["issue"] = [ctx.post("/v1/residents/pay-code", token=tok) for _ in range(4)]
        during["pay"] = [redeem(ctx, w.c1, paying(pc, points=10)) for _ in range(4)]
        during["card"] = [redeem(ctx, w.c1, card(h, points=10)) for _ in range(4)]
        during["png"] = ctx.get("/v1/residents/pay-code.png", token=tok)
    for r in during["issue"]:
        expect_error(r, 503, "unavailable")
    for r in during["pay"]:
        expect_error(r, 503, "unavailable")
    expect_error(during["png"], 503, "unavailable")
    bal = 500
    for r in during["card"]:
        bal -= 10
        d = expect_json(r, 201)
        expect_eq((d["points"], d["balance"]), (10, bal), "card and PIN with Redis down")
    expect_eq(balance_of(ctx, h["id"]), 460, "balance")

    # Redis back: pay codes work again (each worker's breaker may take a moment)
    def issued():
        r = ctx.post("/v1/residents/pay-code", token=tok)
        return r.json if r.status == 200 else None

    got = ctx.wait_until(issued, timeout=20, interval=0.3,
                         message="pay codes still unavailable after Redis came back")
    for _ in range(8):          # fresh connections: spread over the workers
        got = ctx.wait_until(issued, timeout=20, interval=0.3)
    # (a worker whose breaker is still open answers 503, which writes nothing: the same
    # key again is safe)
    key = new_key("after")

    def spent():
        r = redeem(ctx, w.c1, paying(got["pay_code"], points=10), key=key)
        if r.status == 503:
            return None
        return r

    r = ctx.wait_until(spent, timeout=20, interval=0.3,
                       message="pay-code redemptions still unavailable after Redis came back")
    d = expect_json(r, 201)
    expect_eq((d["balance"], d["replayed"]), (450, False), "a pay code after Redis came back")
