"""Redemptions at partner shops, card and PIN: the body rules, idempotency, the
household (card, county), consent (PIN, lock), status, items and stock, points (api.md
"Conventions" (idempotency), "Shops, catalog, redemptions"; design.md "Security model").

This module also holds the helpers of the test_redeem_* modules.  Like test_ledger it
builds its own world: province > county A (towns TA, TA2 with villages VA, VA2) and
county B (TB > VB), shops S1 (town TA), S2 (village VA2, same county) and SB (county B),
their clerks, region admins and catalogues.  Households are funded by admin
adjustments.  Tests that send wrong PINs or pay codes use a clerk of their own: each
clerk has a budget of WB_CLERK_FAIL_LIMIT (20) failures in 10 minutes.
"""

import datetime
import secrets
import time

from lib import expect_eq, expect_error, expect_json, expect_status, parse_rfc3339
from test_ledger import (Acct, ledger_check, ledger_of, mk_region, new_key, read_pages,
                         tag)

CST = datetime.timezone(datetime.timedelta(hours=8))      # WB_TIMEZONE Asia/Shanghai
PIN = "4821"
WRONG = "1357"
ABSENT = object()


# ----------------------------------------------------------------------------- helpers

def mk_shop(ctx, region_id, name=None, token=None):
    r = ctx.post("/v1/shops", {"region_id": region_id, "name": name or "rshop-" + tag(6),
                               "address": "9 Market Street"}, token=token or ctx.admin_token)
    s = expect_json(r, 201)
    assert isinstance(s.get("id"), int), "shop without an id: %r" % s
    return s


def mk_staff(ctx, role, region_id, shop_id=None, site_id=None):
    body = {"username": "rd%s-%s" % (role[:4], tag(10)), "password": secrets.token_hex(8),
            "role": role, "region_id": region_id, "display_name": "Redeem " + role}
    if shop_id is not None:
        body["shop_id"] = shop_id
    if site_id is not None:
        body["site_id"] = site_id
    info = expect_json(ctx.post("/v1/staff", body, token=ctx.admin_token), 201)
    return Acct(ctx, body["username"], body["password"], info)


def mk_clerk(ctx, shop):
    """A new clerk of `shop` (a dict with id and region_id)."""
    return mk_staff(ctx, "clerk", shop["region_id"], shop_id=shop["id"])


def mk_item(ctx, shop_id, points, stock=ABSENT, name=None, token=None):
    body = {"name": name or "item-" + tag(6), "points": points}
    if stock is not ABSENT:
        body["stock"] = stock
    r = ctx.post("/v1/shops/%d/items" % shop_id, body, token=token or ctx.admin_token)
    it = expect_json(r, 201)
    assert isinstance(it.get("id"), int), "item without an id: %r" % it
    return it


def patch_item(ctx, shop_id, item_id, body, token=None):
    r = ctx.call("PATCH", "/v1/shops/%d/items/%d" % (shop_id, item_id), body,
                 token=token or ctx.admin_token)
    return expect_json(r, 200)


def items_of(ctx, shop_id, token=None):
    return read_pages(ctx, "/v1/shops/%d/items" % shop_id, token or ctx.admin_token)


def item_now(ctx, shop_id, item_id):
    """The item as an admin reads it from the catalogue."""
    for it in items_of(ctx, shop_id):
        if it["id"] == item_id:
            return it
    raise AssertionError("item %d missing from shop %d's catalogue" % (item_id, shop_id))


def mk_household(ctx, region_id, pin=PIN, name=None):
    body = {"region_id": region_id, "head_name": name or "Head " + tag(6),
            "address": "%d Lane" % (1 + secrets.randbelow(999))}
    if pin is not None:
        body["pin"] = pin
    h = expect_json(ctx.post("/v1/households", body, token=ctx.admin_token), 201)
    assert isinstance(h.get("code"), str) and h["code"], "no card code: %r" % h
    return h


def fund(ctx, hid, points):
    """Admin adjustment of +points (asserts 201); returns the new balance."""
    r = ctx.post("/v1/households/%d/adjustments" % hid, {"points": points, "reason": "fund"},
                 token=ctx.admin_token, headers={"Idempotency-Key": new_key("fund")})
    return expect_json(r, 201)["balance"]


def funded(ctx, region_id, points, pin=PIN, name=None):
    h = mk_household(ctx, region_id, pin=pin, name=name)
    if points:
        expect_eq(fund(ctx, h["id"], points), points, "balance after funding")
    return h


def balance_of(ctx, hid):
    r = ctx.get("/v1/households/%d" % hid, token=ctx.admin_token)
    return expect_json(r, 200)["balance"]


def resident_token(ctx, household, pin=PIN, client=None):
    c = client or ctx.client
    r = c.call("POST", "/v1/auth/resident", {"code": household["code"], "pin": pin})
    return expect_json(r, 200)["token"]


def card(h, pin=PIN, points=None, items=None, memo=ABSENT):
    b = {"code": h["code"], "pin": pin}
    if points is not None:
        b["points"] = points
    if items is not None:
        b["items"] = items
    if memo is not ABSENT:
        b["memo"] = memo
    return b


def paying(pay_code, points=None, items=None, memo=ABSENT):
    b = {"pay_code": pay_code}
    if points is not None:
        b["points"] = points
    if items is not None:
        b["items"] = items
    if memo is not ABSENT:
        b["memo"] = memo
    return b


def redeem(ctx, clerk, body, key=None, client=None, raw=None, headers=None, timeout=None):
    """POST /v1/redemptions as `clerk` (an Acct or a token).  key=None sends a fresh
    key, key=False none."""
    token = clerk if isinstance(clerk, str) else clerk.token
    hdrs = dict(headers or {})
    if key is None:
        key = new_key("rd")
    if key is not False:
        hdrs["Idempotency-Key"] = key
    c = client or ctx.client
    return c.call("POST", "/v1/redemptions", body=body, raw=raw, token=token, headers=hdrs,
                  timeout=timeout)


def redeemed(ctx, clerk, body, key=None, client=None):
    """A redemption that must succeed (201, replayed false); returns the answer."""
    r = redeem(ctx, clerk, body, key=key, client=client)
    d = expect_json(r, 201)
    expect_eq(d.get("replayed"), False, "replayed of a new redemption")
    return d


def new_pay_code(ctx, res_token, client=None):
    c = client or ctx.client
    r = c.call("POST", "/v1/residents/pay-code", token=res_token)
    body = expect_json(r, 200)
    pc = body.get("pay_code")
    assert isinstance(pc, str) and len(pc) == 12 and pc.isdigit(), \
        "pay_code is not 12 digits: %r" % body
    return body


def void(ctx, rid, token, reason="customer changed mind", client=None):
    c = client or ctx.client
    return c.call("POST", "/v1/redemptions/%d/void" % rid, {"reason": reason}, token=token)


def today():
    return datetime.datetime.now(CST).strftime("%Y-%m-%d")


def day_offset(days):
    return (datetime.datetime.now(CST) + datetime.timedelta(days=days)).strftime("%Y-%m-%d")


def redemption_rows(ctx, hid):
    return [x for x in ledger_of(ctx, hid) if x["kind"] == "redemption"]


def violations_for(ctx, hids):
    body = ledger_check(ctx)
    hids = set(hids)
    return [v for v in body["violations"] if v.get("household_id") in hids]


class World:
    pass


_FX = None


def fx(ctx):
    global _FX
    if _FX is not None:
        return _FX
    w = World()
    w.prov = mk_region(ctx, None, "province")
    w.A = mk_region(ctx, w.prov["id"], "county")
    w.TA = mk_region(ctx, w.A["id"], "town")
    w.VA = mk_region(ctx, w.TA["id"], "village")
    w.TA2 = mk_region(ctx, w.A["id"], "town")
    w.VA2 = mk_region(ctx, w.TA2["id"], "village")
    w.B = mk_region(ctx, w.prov["id"], "county")
    w.TB = mk_region(ctx, w.B["id"], "town")
    w.VB = mk_region(ctx, w.TB["id"], "village")
    w.S1 = mk_shop(ctx, w.TA["id"])               # a shop in a town of county A
    w.S2 = mk_shop(ctx, w.VA2["id"])              # another shop of county A, in a village
    w.SB = mk_shop(ctx, w.TB["id"])               # county B
    w.c1 = mk_clerk(ctx, w.S1)
    w.c1b = mk_clerk(ctx, w.S1)
    w.c2 = mk_clerk(ctx, w.S2)
    w.cb = mk_clerk(ctx, w.SB)
    w.ra_a = mk_staff(ctx, "region_admin", w.A["id"])
    w.ra_b = mk_staff(ctx, "region_admin", w.B["id"])
    w.soap = mk_item(ctx, w.S1["id"], 10, name="Soap")               # unlimited
    w.oil = mk_item(ctx, w.S1["id"], 50, stock=1000, name="Oil 1L")  # plenty of stock
    w.s2_item = mk_item(ctx, w.S2["id"], 5, name="S2 towel")
    w.sb_item = mk_item(ctx, w.SB["id"], 5, name="SB towel")
    _FX = w
    return w


def expect_answer(d, h, shop, points, balance, consent="pin", items=(), memo=None):
    """The 201 answer of a redemption."""
    assert isinstance(d.get("id"), int) and d["id"] > 0, "no id: %r" % d
    expect_eq((d.get("household_id"), d.get("shop_id"), d.get("points"), d.get("balance")),
              (h["id"], shop["id"], points, balance), "household_id, shop_id, points, balance")
    expect_eq(d.get("consent"), consent, "consent")
    expect_eq(d.get("items"), list(items), "items")
    expect_eq(d.get("memo"), memo, "memo")
    m = d.get("head_name_masked")
    assert isinstance(m, str) and m and m != h["head_name"] and "*" in m, \
        "head_name_masked %r does not mask %r" % (m, h["head_name"])
    expect_eq(d.get("replayed"), False, "replayed")


# ----------------------------------------------------------------------------- successes

def test_redeem_points_by_card_and_pin(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 500)
    d = redeemed(ctx, w.c1, card(h, points=120, memo="soap and rice"))
    expect_answer(d, h, w.S1, 120, 380, memo="soap and rice")
    expect_eq(balance_of(ctx, h["id"]), 380, "balance after")
    rows = ledger_of(ctx, h["id"])
    expect_eq([(x["kind"], x["delta"], x["balance_after"], x["ref_id"]) for x in rows[:1]],
              [("redemption", -120, 380, d["id"])], "newest ledger row")
    expect_eq(rows[0].get("memo"), "soap and rice", "ledger memo")
    got = expect_json(ctx.get("/v1/redemptions/%d" % d["id"], token=w.c1.token), 200)
    expect_eq((got["id"], got["shop_id"], got["household_id"], got["points"], got["consent"],
               got["status"], got["memo"], got["items"]),
              (d["id"], w.S1["id"], h["id"], 120, "pin", "ok", "soap and rice", []),
              "GET /v1/redemptions/{id}")
    expect_eq(got.get("clerk_id"), w.c1.id, "clerk_id")
    parse_rfc3339(got.get("created_at"))
    # without memo: memo null
    d = redeemed(ctx, w.c1, card(h, points=80))
    expect_answer(d, h, w.S1, 80, 300, memo=None)


def test_redeem_items_by_card_and_pin(ctx):
    w = fx(ctx)
    shop = w.S1
    rice = mk_item(ctx, shop["id"], 30, stock=10, name="Rice 5kg")
    h = funded(ctx, w.VA["id"], 1000)
    d = redeemed(ctx, w.c1, card(h, items=[{"item_id": rice["id"], "qty": 2},
                                           {"item_id": w.soap["id"], "qty": 3},
                                           {"item_id": rice["id"], "qty": 1}]))
    expect_answer(d, h, shop, 120, 880, items=[
        {"item_id": rice["id"], "name": "Rice 5kg", "qty": 2, "points_each": 30, "points": 60},
        {"item_id": w.soap["id"], "name": "Soap", "qty": 3, "points_each": 10, "points": 30},
        {"item_id": rice["id"], "name": "Rice 5kg", "qty": 1, "points_each": 30, "points": 30}])
    expect_eq(item_now(ctx, shop["id"], rice["id"])["stock"], 7, "stock taken (2 + 1)")
    expect_eq(item_now(ctx, shop["id"], w.soap["id"])["stock"], None, "unlimited stays unlimited")
    got = expect_json(ctx.get("/v1/redemptions/%d" % d["id"], token=ctx.admin_token), 200)
    expect_eq(got["items"], d["items"], "stored lines")


def test_redeem_qty_100_of_an_item(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 1000)
    d = redeemed(ctx, w.c1, card(h, items=[{"item_id": w.soap["id"], "qty": 100}]))
    expect_eq((d["points"], d["balance"]), (1000, 0), "100 soaps of 10: the whole balance")
    expect_eq(balance_of(ctx, h["id"]), 0, "balance")


def test_redeem_town_shop_serves_the_whole_county(ctx):
    """S1 is in town TA: a household of a village of another town (TA2) of the same
    county is served; so is one of S2's village by S1, and S1's town by S2."""
    w = fx(ctx)
    h = funded(ctx, w.VA2["id"], 100)
    d = redeemed(ctx, w.c1, card(h, points=40))
    expect_answer(d, h, w.S1, 40, 60)
    h2 = funded(ctx, w.VA["id"], 100)
    d = redeemed(ctx, w.c2, card(h2, items=[{"item_id": w.s2_item["id"], "qty": 2}]))
    expect_eq((d["shop_id"], d["points"], d["balance"]), (w.S2["id"], 10, 90), "S2 (village shop)")


def test_redeem_whole_balance_to_zero(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 250)
    d = redeemed(ctx, w.c1, card(h, points=250))
    expect_eq(d["balance"], 0, "balance")
    r = redeem(ctx, w.c1, card(h, points=1))
    expect_error(r, 409, "insufficient_points")
    expect_eq(balance_of(ctx, h["id"]), 0, "balance stays 0")


# ----------------------------------------------------------------------------- the body (400)

def test_redeem_without_idempotency_key_is_refused(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 100)
    r = redeem(ctx, w.c1, card(h, points=10), key=False)
    expect_error(r, 400, "invalid_request", "Idempotency-Key")
    r = redeem(ctx, w.c1, card(h, points=10), key="bad key with spaces")
    expect_error(r, 400, "invalid_request", "Idempotency-Key")
    r = redeem(ctx, w.c1, card(h, points=10), key="k" * 65)
    expect_error(r, 400, "invalid_request", "Idempotency-Key")
    expect_eq(balance_of(ctx, h["id"]), 100, "nothing spent")


def test_redeem_both_card_and_pay_code_is_refused(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 100)
    body = card(h, points=10)
    body["pay_code"] = "123456789012"
    err = expect_error(redeem(ctx, w.c1, body), 400, "invalid_request", True)
    assert err["field"] in ("pay_code", "code"), err
    expect_eq(balance_of(ctx, h["id"]), 100, "nothing spent")


def test_redeem_neither_card_nor_pay_code_is_refused(ctx):
    w = fx(ctx)
    expect_error(redeem(ctx, w.c1, {"points": 10}), 400, "invalid_request", True)
    expect_error(redeem(ctx, w.c1, {"pin": PIN, "points": 10}), 400, "invalid_request", True)


def test_redeem_card_without_pin_is_refused(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 100)
    r = redeem(ctx, w.c1, {"code": h["code"], "points": 10})
    expect_error(r, 400, "invalid_request", "pin")
    expect_eq(balance_of(ctx, h["id"]), 100, "nothing spent")


def test_redeem_pay_code_with_pin_is_refused(ctx):
    w = fx(ctx)
    r = redeem(ctx, w.c1, {"pay_code": "123456789012", "pin": PIN, "points": 10})
    expect_error(r, 400, "invalid_request", True)


def test_redeem_both_items_and_points_is_refused(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 100)
    r = redeem(ctx, w.c1, card(h, points=10, items=[{"item_id": w.soap["id"], "qty": 1}]))
    err = expect_error(r, 400, "invalid_request", True)
    assert err["field"] in ("items", "points"), err
    expect_eq(balance_of(ctx, h["id"]), 100, "nothing spent")


def test_redeem_neither_items_nor_points_is_refused(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 100)
    err = expect_error(redeem(ctx, w.c1, card(h)), 400, "invalid_request", True)
    assert err["field"] in ("items", "points"), err
    err = expect_error(redeem(ctx, w.c1, card(h, memo="just a memo")), 400, "invalid_request", True)
    assert err["field"] in ("items", "points"), err


def test_redeem_out_of_range_values_are_refused(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 10 ** 6)
    soap = w.soap["id"]
    cases = [
        (card(h, points=0), "points"),
        (card(h, points=1000001), "points"),
        (card(h, points=-5), "points"),
        (card(h, points="10"), "points"),
        (card(h, points=10, memo="m" * 201), "memo"),
        (card(h, items=[]), "items"),
        (card(h, items=[{"item_id": soap, "qty": 1}] * 21), "items"),
        (card(h, items=[{"item_id": soap, "qty": 0}]), "items[0].qty"),
        (card(h, items=[{"item_id": soap, "qty": 101}]), "items[0].qty"),
        (card(h, items=[{"item_id": soap, "qty": 1}, {"item_id": soap}]), "items[1].qty"),
        (card(h, items=[{"qty": 1}]), "items[0].item_id"),
        (card(h, items=[{"item_id": soap, "qty": 1, "price": 1}]), "items[0].price"),
        (dict(card(h, points=10), extra=1), "extra"),
        (dict(card(h, points=10), pin=4821), "pin"),
    ]
    bad = []
    for body, field in cases:
        r = redeem(ctx, w.c1, body)
        if r.status != 400 or not r.json or r.json.get("error", {}).get("field") != field:
            bad.append((field, r))
        else:
            expect_error(r, 400, "invalid_request", field)
    assert not bad, "not refused with the field named: %r" % bad
    # the limits themselves are fine: 20 lines, memo of 200, 1,000,000 points
    redeemed(ctx, w.c1, card(h, items=[{"item_id": soap, "qty": 1}] * 20, memo="m" * 200))
    redeemed(ctx, w.c1, card(h, points=1000000 - 200))
    expect_eq(balance_of(ctx, h["id"]), 0, "balance after the limits")


def test_redeem_malformed_body_is_refused(ctx):
    w = fx(ctx)
    r = redeem(ctx, w.c1, None, raw=b'{"code": "x", "pin": "4821", "points": 1, "points": 2}')
    expect_error(r, 400, "invalid_request")
    r = redeem(ctx, w.c1, None, raw=b'{"code": ')
    expect_error(r, 400, "invalid_request")
    r = redeem(ctx, w.c1, None, raw=b'{"pay_code":"1","points":1}',
               headers={"Content-Type": "text/plain"})
    expect_error(r, 415, "unsupported_media_type")


def test_redeem_only_clerks_redeem(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 100)
    att_site = expect_json(ctx.post("/v1/sites", {
        "region_id": w.TA["id"], "name": "rsite-" + tag(6), "tier": "dropoff",
        "network": "integrated", "address": "1 Scale Road"}, token=ctx.admin_token), 201)
    att = mk_staff(ctx, "attendant", w.TA["id"], site_id=att_site["id"])
    for who, token in (("admin", ctx.admin_token), ("region admin", w.ra_a.token),
                       ("attendant", att.token), ("resident", resident_token(ctx, h))):
        r = redeem(ctx, token, card(h, points=10))
        expect_error(r, 403, "forbidden")
    expect_error(redeem(ctx, "not.a.token", card(h, points=10)), 401, "unauthorized")
    expect_eq(balance_of(ctx, h["id"]), 100, "nothing spent")


# ----------------------------------------------------------------------------- idempotency

def test_redeem_replay_answers_the_first_redemption(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 300)
    key = new_key("rp")
    body = card(h, items=[{"item_id": w.oil["id"], "qty": 2}], memo="oil")
    stock0 = item_now(ctx, w.S1["id"], w.oil["id"])["stock"]
    first = redeemed(ctx, w.c1, body, key=key)
    again = expect_json(redeem(ctx, w.c1, body, key=key), 201)
    expect_eq(again.get("replayed"), True, "replayed")
    expect_eq({k: v for k, v in again.items() if k != "replayed"},
              {k: v for k, v in first.items() if k != "replayed"}, "the replayed answer")
    # another clerk of the same shop: the key is the shop's
    third = expect_json(redeem(ctx, w.c1b, body, key=key), 201)
    expect_eq((third["id"], third["replayed"]), (first["id"], True), "replay by another clerk")
    expect_eq(balance_of(ctx, h["id"]), 200, "spent once")
    expect_eq(item_now(ctx, w.S1["id"], w.oil["id"])["stock"], stock0 - 2, "stock taken once")
    expect_eq(len(redemption_rows(ctx, h["id"])), 1, "one redemption ledger row")


def test_redeem_replay_ignores_key_order_and_whitespace(ctx):
    """The fingerprint is of the request's canonical JSON: the same body written with
    its keys in another order or other spacing is the same request."""
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 300)
    key = new_key("canon")
    first = redeemed(ctx, w.c1, {"code": h["code"], "pin": PIN, "memo": "m",
                                 "items": [{"item_id": w.soap["id"], "qty": 2}]}, key=key)
    raw = ('{ "items" : [ { "qty":2 , "item_id":%d } ],\n "memo":"m", "pin":"%s",'
           ' "code":"%s" }' % (w.soap["id"], WRONG, h["code"]))
    r = redeem(ctx, w.c1, None, raw=raw.encode(), key=key,
               headers={"Content-Type": "application/json"})
    again = expect_json(r, 201)
    expect_eq((again["id"], again["replayed"]), (first["id"], True), "replay of the same body")
    expect_eq(balance_of(ctx, h["id"]), 280, "spent once")


def test_redeem_replay_with_a_different_pin_is_still_a_replay(ctx):
    w = fx(ctx)
    clerk = mk_clerk(ctx, w.S1)
    h = funded(ctx, w.VA["id"], 300)
    key = new_key("rp")
    first = redeemed(ctx, clerk, card(h, points=100), key=key)
    again = expect_json(redeem(ctx, clerk, card(h, pin=WRONG, points=100), key=key), 201)
    expect_eq((again["id"], again["replayed"], again["balance"]), (first["id"], True, 200),
              "a replay with a wrong PIN")
    again = expect_json(redeem(ctx, clerk, card(h, pin="0000", points=100), key=key), 201)
    expect_eq((again["id"], again["replayed"]), (first["id"], True), "a replay with another PIN")
    expect_eq(balance_of(ctx, h["id"]), 200, "spent once")
    # the replays tried no PIN: the next wrong PIN is the first one counted
    err = expect_error(redeem(ctx, clerk, card(h, pin=WRONG, points=1)), 403, "bad_pin", "pin")
    expect_eq(err.get("attempts_left"), 4, "attempts_left after replays with wrong PINs")


def test_redeem_same_key_different_body_is_a_conflict(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 300)
    key = new_key("rp")
    redeemed(ctx, w.c1, card(h, points=100), key=key)
    expect_error(redeem(ctx, w.c1, card(h, points=101), key=key), 409, "idempotency_conflict")
    expect_error(redeem(ctx, w.c1, card(h, points=100, memo="x"), key=key), 409,
                 "idempotency_conflict")
    expect_error(redeem(ctx, w.c1, card(h, items=[{"item_id": w.soap["id"], "qty": 1}]), key=key),
                 409, "idempotency_conflict")
    expect_eq(balance_of(ctx, h["id"]), 200, "spent once")


def test_redeem_key_is_scoped_to_the_shop(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 300)
    key = new_key("scope")
    a = redeemed(ctx, w.c1, card(h, points=100), key=key)
    b = redeemed(ctx, w.c2, card(h, points=100), key=key)
    assert a["id"] != b["id"], "the same key at another shop replayed S1's redemption"
    expect_eq((a["shop_id"], b["shop_id"], b["balance"]), (w.S1["id"], w.S2["id"], 100),
              "two redemptions")


def test_redeem_replay_comes_before_household_and_consent_checks(ctx):
    """A stored 201 is the answer of its key whatever happened since: balance spent,
    PIN locked, wrong PIN, household suspended, card reissued."""
    w = fx(ctx)
    clerk = mk_clerk(ctx, w.S1)
    h = funded(ctx, w.VA["id"], 100)
    key = new_key("rpfirst")
    first = redeemed(ctx, clerk, card(h, points=100), key=key)

    def replayed(body, what):
        r = redeem(ctx, clerk, body, key=key)
        if r.status != 201:
            raise AssertionError("%s: expected the stored 201 replayed, got %r" % (what, r))
        d = r.json
        expect_eq((d["id"], d["replayed"], d["balance"]), (first["id"], True, 0), what)

    replayed(card(h, points=100), "balance now 0")
    for _ in range(5):
        redeem(ctx, clerk, card(h, pin=WRONG, points=1))
    expect_error(redeem(ctx, clerk, card(h, points=1)), 423, "pin_locked")
    replayed(card(h, points=100), "PIN locked, right PIN")
    replayed(card(h, pin=WRONG, points=100), "PIN locked, wrong PIN")
    expect_status(ctx.call("PATCH", "/v1/households/%d" % h["id"], {"status": "suspended"},
                           token=ctx.admin_token), 200)
    replayed(card(h, points=100), "household suspended")
    expect_status(ctx.post("/v1/households/%d/card" % h["id"], token=ctx.admin_token), 200)
    replayed(card(h, points=100), "card reissued since")
    expect_eq(len(redemption_rows(ctx, h["id"])), 1, "one redemption")


def test_redeem_conflict_comes_before_household_and_consent_checks(ctx):
    w = fx(ctx)
    clerk = mk_clerk(ctx, w.S1)
    h = funded(ctx, w.VA["id"], 100)
    hb = funded(ctx, w.VB["id"], 100)
    key = new_key("cf")
    redeemed(ctx, clerk, card(h, points=10), key=key)
    forged = dict(card(h, points=11), code=h["code"][:-1] + ("A" if h["code"][-1] != "A" else "B"))
    for body, what in ((forged, "forged card"),
                       (card(h, pin=WRONG, points=11), "wrong PIN"),
                       (card(hb, points=10), "household of another county"),
                       (paying("000000000000", points=10), "unknown pay code"),
                       (card(h, points=1000), "insufficient points"),
                       (card(h, items=[{"item_id": w.s2_item["id"], "qty": 1}]), "another shop's item")):
        r = redeem(ctx, clerk, body, key=key)
        if r.status != 409 or (r.json or {}).get("error", {}).get("code") != "idempotency_conflict":
            raise AssertionError("%s with a used key: expected 409 idempotency_conflict, got %r"
                                 % (what, r))
    err = expect_error(redeem(ctx, clerk, card(h, pin=WRONG, points=1)), 403, "bad_pin")
    expect_eq(err.get("attempts_left"), 4, "the conflicting wrong PIN counted nothing")
    expect_eq(balance_of(ctx, h["id"]), 90, "spent once")


def test_redeem_refusals_before_the_transaction_are_not_stored(ctx):
    """400/403/404 store nothing: the same key with the problem fixed goes through."""
    w = fx(ctx)
    clerk = mk_clerk(ctx, w.S1)
    h = funded(ctx, w.VA["id"], 300)
    key = new_key("fix")
    expect_error(redeem(ctx, clerk, card(h, pin=WRONG, points=100), key=key), 403, "bad_pin")
    expect_error(redeem(ctx, clerk, card(h, items=[{"item_id": w.s2_item["id"], "qty": 1}]),
                        key=key), 404, "not_found")
    forged = dict(card(h, points=100), code=h["code"][:-2] + ("AA" if h["code"][-2:] != "AA" else "BB"))
    expect_error(redeem(ctx, clerk, forged, key=key), 404, "unknown_code")
    expect_error(redeem(ctx, clerk, card(h), key=key), 400, "invalid_request")
    d = expect_json(redeem(ctx, clerk, card(h, points=100), key=key), 201)
    expect_eq((d["replayed"], d["points"], d["balance"]), (False, 100, 200), "fixed request")


# ----------------------------------------------------------------------------- the household

def test_redeem_forged_card_is_unknown_code(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 100)
    code = h["code"]
    parts = code.split(".")
    assert len(parts) == 4 and parts[0] == "WB1", "card payload shape: %r" % code
    mac = parts[3]
    flipped = ("A" if mac[0] != "A" else "B") + mac[1:]
    forged = [".".join(parts[:3] + [flipped]),
              ".".join([parts[0], str(int(parts[1]) + 1)] + parts[2:]),
              ".".join(parts[:2] + [str(int(parts[2]) + 1), parts[3]]),
              "WB1.0.0.x", "not a card"]
    for c in forged:
        r = redeem(ctx, w.c1, {"code": c, "pin": PIN, "points": 10})
        expect_error(r, 404, "unknown_code", "code")
    expect_eq(balance_of(ctx, h["id"]), 100, "nothing spent")


def test_redeem_reissued_card_is_unknown_code(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 100)
    r = ctx.post("/v1/households/%d/card" % h["id"], token=ctx.admin_token)
    new = expect_json(r, 200)
    assert new.get("code") and new["code"] != h["code"], "reissue answered no new code: %r" % new
    expect_error(redeem(ctx, w.c1, card(h, points=10)), 404, "unknown_code", "code")
    d = redeemed(ctx, w.c1, card(dict(h, code=new["code"]), points=10))
    expect_eq(d["balance"], 90, "the new card works")


def test_redeem_household_of_another_county_is_not_found(ctx):
    w = fx(ctx)
    hb = funded(ctx, w.VB["id"], 100)
    clerk = mk_clerk(ctx, w.S1)
    r = redeem(ctx, clerk, card(hb, points=10))
    expect_error(r, 404, "not_found")
    # checked before the PIN: wrong PINs from a shop of another county count nothing
    for _ in range(6):
        expect_error(redeem(ctx, clerk, card(hb, pin=WRONG, points=10)), 404, "not_found")
    expect_eq(balance_of(ctx, hb["id"]), 100, "nothing spent")
    d = redeemed(ctx, w.cb, card(hb, points=10))
    expect_eq((d["shop_id"], d["balance"]), (w.SB["id"], 90), "its own county's shop")
    err = expect_error(redeem(ctx, w.cb, card(hb, pin=WRONG, points=1)), 403, "bad_pin")
    expect_eq(err.get("attempts_left"), 4, "no failure counted from the other county")


# ----------------------------------------------------------------------------- consent

def test_redeem_wrong_pin_is_bad_pin_with_attempts_left(ctx):
    w = fx(ctx)
    clerk = mk_clerk(ctx, w.S1)
    h = funded(ctx, w.VA["id"], 100)
    left = []
    for _ in range(3):
        err = expect_error(redeem(ctx, clerk, card(h, pin=WRONG, points=10)), 403, "bad_pin", "pin")
        left.append(err.get("attempts_left"))
    expect_eq(left, [4, 3, 2], "attempts_left")
    d = redeemed(ctx, clerk, card(h, points=10))
    expect_eq(d["balance"], 90, "the right PIN works")
    err = expect_error(redeem(ctx, clerk, card(h, pin=WRONG, points=10)), 403, "bad_pin")
    expect_eq(err.get("attempts_left"), 4, "a right PIN reset the count")
    expect_eq(balance_of(ctx, h["id"]), 90, "wrong PINs spend nothing")


def test_redeem_fifth_wrong_pin_locks_with_retry_after(ctx):
    w = fx(ctx)
    clerk = mk_clerk(ctx, w.S1)
    h = funded(ctx, w.VA["id"], 100)
    for n in range(4):
        err = expect_error(redeem(ctx, clerk, card(h, pin=WRONG, points=10)), 403, "bad_pin")
        expect_eq(err.get("attempts_left"), 4 - n, "attempts_left")
    r = redeem(ctx, clerk, card(h, pin=WRONG, points=10))
    expect_error(r, 423, "pin_locked")
    ra = r.headers.get("Retry-After")
    assert ra is not None and ra.isdigit() and 0 < int(ra) <= 900, \
        "423 without a Retry-After of 1..900 s (WB_PIN_LOCK_SECONDS 900): %r" % ra
    # locked: the right PIN too, at another shop, and resident sign-in
    r = redeem(ctx, clerk, card(h, points=10))
    expect_error(r, 423, "pin_locked")
    assert (r.headers.get("Retry-After") or "").isdigit(), "423 without Retry-After: %r" % r
    expect_error(redeem(ctx, w.c2, card(h, points=10)), 423, "pin_locked")
    # resident sign-in keeps its own count (api.md): the shops' lock does not block it
    expect_json(ctx.post("/v1/auth/resident", {"code": h["code"], "pin": PIN}), 200)
    expect_eq(balance_of(ctx, h["id"]), 100, "nothing spent")


def test_redeem_resident_sign_in_failures_do_not_count_at_the_shop(ctx):
    """Sign-in and shops keep separate counts (api.md), so a stranger at the sign-in
    page cannot use up the household's shop attempts."""
    w = fx(ctx)
    clerk = mk_clerk(ctx, w.S1)
    h = funded(ctx, w.VA["id"], 100)
    for _ in range(2):
        expect_error(ctx.post("/v1/auth/resident", {"code": h["code"], "pin": WRONG}), 401,
                     "bad_credentials")
    err = expect_error(redeem(ctx, clerk, card(h, pin=WRONG, points=10)), 403, "bad_pin")
    expect_eq(err.get("attempts_left"), 4, "two sign-in failures, then one at the shop")


def test_redeem_household_without_pin_is_pin_not_set(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 100, pin=None)
    for pin in (PIN, WRONG):
        expect_error(redeem(ctx, w.c1, card(h, pin=pin, points=10)), 403, "pin_not_set")
    expect_eq(balance_of(ctx, h["id"]), 100, "nothing spent")


def test_redeem_pin_lock_doubles_and_a_right_pin_resets_it(ctx):
    """With WB_PIN_LOCK_SECONDS=2: the first lock is 2 s, the next (without a right PIN
    between) 4 s; after a right PIN the next lock is 2 s again."""
    w = fx(ctx)
    srv = ctx.start_server({"WB_PIN_LOCK_SECONDS": "2"})
    try:
        h = funded(ctx, w.VA["id"], 100)
        c = srv.client

        def lock(clerk):
            for n in range(4):
                err = expect_error(redeem(ctx, clerk, card(h, pin=WRONG, points=1), client=c),
                                   403, "bad_pin")
                expect_eq(err.get("attempts_left"), 4 - n, "attempts_left")
            r = redeem(ctx, clerk, card(h, pin=WRONG, points=1), client=c)
            expect_error(r, 423, "pin_locked")
            return int(r.headers.get("Retry-After") or -1)

        expect_eq(lock(mk_clerk(ctx, w.S1)), 2, "Retry-After of the first lock")
        time.sleep(2.3)
        expect_eq(lock(mk_clerk(ctx, w.S1)), 4, "Retry-After of the second lock in a row")
        r = redeem(ctx, w.c1, card(h, points=1), client=c)
        expect_error(r, 423, "pin_locked")
        time.sleep(4.3)
        d = redeemed(ctx, w.c1, card(h, points=1), client=c)
        expect_eq(d["balance"], 99, "the right PIN after the lock")
        expect_eq(lock(mk_clerk(ctx, w.S1)), 2, "a right PIN reset the doubling")
    finally:
        srv.stop()


# ----------------------------------------------------------------------------- status

def test_redeem_suspended_household_is_inactive_and_replayed(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 100)
    expect_status(ctx.call("PATCH", "/v1/households/%d" % h["id"], {"status": "suspended"},
                           token=ctx.admin_token), 200)
    key = new_key("inact")
    expect_error(redeem(ctx, w.c1, card(h, points=10), key=key), 409, "household_inactive")
    r = redeem(ctx, w.c1, card(h, points=10), key=key)
    expect_error(r, 409, "household_inactive")
    expect_eq(r.json.get("replayed"), True, "a 409 decided in the transaction is replayed")
    expect_status(ctx.call("PATCH", "/v1/households/%d" % h["id"], {"status": "active"},
                           token=ctx.admin_token), 200)
    r = redeem(ctx, w.c1, card(h, points=10), key=key)
    expect_error(r, 409, "household_inactive")
    expect_eq(r.json.get("replayed"), True, "the stored 409 stays the answer of that key")
    d = redeemed(ctx, w.c1, card(h, points=10))
    expect_eq(d["balance"], 90, "a new key, active again")


def test_redeem_closed_household_is_inactive(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 100)
    expect_status(ctx.call("PATCH", "/v1/households/%d" % h["id"], {"status": "closed"},
                           token=ctx.admin_token), 200)
    expect_error(redeem(ctx, w.c1, card(h, points=10)), 409, "household_inactive")
    expect_eq(balance_of(ctx, h["id"]), 100, "nothing spent")


# ----------------------------------------------------------------------------- items

def test_redeem_item_of_another_shop_is_not_found(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 100)
    for item in (w.s2_item, w.sb_item):
        r = redeem(ctx, w.c1, card(h, items=[{"item_id": w.soap["id"], "qty": 1},
                                             {"item_id": item["id"], "qty": 1}]))
        expect_error(r, 404, "not_found")
    expect_error(redeem(ctx, w.c1, card(h, items=[{"item_id": 999999999999, "qty": 1}])), 404,
                 "not_found")
    expect_eq(balance_of(ctx, h["id"]), 100, "nothing spent")


def test_redeem_inactive_item_is_item_inactive(ctx):
    w = fx(ctx)
    item = mk_item(ctx, w.S1["id"], 10, stock=5)
    h = funded(ctx, w.VA["id"], 100)
    got = patch_item(ctx, w.S1["id"], item["id"], {"active": False})
    expect_eq(got["active"], False, "PATCH active false")
    key = new_key("inact-item")
    r = redeem(ctx, w.c1, card(h, items=[{"item_id": w.soap["id"], "qty": 1},
                                         {"item_id": item["id"], "qty": 1}]), key=key)
    expect_error(r, 409, "item_inactive")
    r = redeem(ctx, w.c1, card(h, items=[{"item_id": w.soap["id"], "qty": 1},
                                         {"item_id": item["id"], "qty": 1}]), key=key)
    expect_error(r, 409, "item_inactive")
    expect_eq(r.json.get("replayed"), True, "item_inactive is replayed")
    expect_eq(balance_of(ctx, h["id"]), 100, "nothing spent")
    expect_eq(item_now(ctx, w.S1["id"], item["id"])["stock"], 5, "stock untouched")
    patch_item(ctx, w.S1["id"], item["id"], {"active": True})
    d = redeemed(ctx, w.c1, card(h, items=[{"item_id": item["id"], "qty": 1}]))
    expect_eq(d["balance"], 90, "active again")


def test_redeem_out_of_stock(ctx):
    w = fx(ctx)
    item = mk_item(ctx, w.S1["id"], 10, stock=2)
    h = funded(ctx, w.VA["id"], 100)
    r = redeem(ctx, w.c1, card(h, items=[{"item_id": item["id"], "qty": 3}]))
    expect_error(r, 409, "out_of_stock")
    r = redeem(ctx, w.c1, card(h, items=[{"item_id": item["id"], "qty": 2},
                                         {"item_id": item["id"], "qty": 1}]))
    expect_error(r, 409, "out_of_stock")
    expect_eq(item_now(ctx, w.S1["id"], item["id"])["stock"], 2, "stock untouched")
    d = redeemed(ctx, w.c1, card(h, items=[{"item_id": item["id"], "qty": 2}]))
    expect_eq(d["balance"], 80, "the last two")
    expect_eq(item_now(ctx, w.S1["id"], item["id"])["stock"], 0, "stock 0")
    expect_error(redeem(ctx, w.c1, card(h, items=[{"item_id": item["id"], "qty": 1}])), 409,
                 "out_of_stock")
    expect_eq(balance_of(ctx, h["id"]), 80, "balance")
    # a restock; stock null makes it unlimited
    expect_eq(patch_item(ctx, w.S1["id"], item["id"], {"stock": 1})["stock"], 1, "restocked")
    redeemed(ctx, w.c1, card(h, items=[{"item_id": item["id"], "qty": 1}]))
    expect_eq(patch_item(ctx, w.S1["id"], item["id"], {"stock": None})["stock"], None, "unlimited")
    redeemed(ctx, w.c1, card(h, items=[{"item_id": item["id"], "qty": 5}]))
    expect_eq(item_now(ctx, w.S1["id"], item["id"])["stock"], None, "still unlimited")


def test_redeem_item_created_with_stock_zero_is_out_of_stock(ctx):
    w = fx(ctx)
    item = mk_item(ctx, w.S1["id"], 10, stock=0)
    expect_eq(item["stock"], 0, "stock 0")
    h = funded(ctx, w.VA["id"], 100)
    expect_error(redeem(ctx, w.c1, card(h, items=[{"item_id": item["id"], "qty": 1}])), 409,
                 "out_of_stock")


def test_redeem_insufficient_points_changes_nothing_and_is_replayed(ctx):
    w = fx(ctx)
    item = mk_item(ctx, w.S1["id"], 40, stock=10)
    h = funded(ctx, w.VA["id"], 100)
    rows0 = ledger_of(ctx, h["id"])
    key = new_key("poor")
    body = card(h, items=[{"item_id": item["id"], "qty": 3}])       # 120 > 100
    err = expect_error(redeem(ctx, w.c1, body, key=key), 409, "insufficient_points")
    expect_eq(err.get("balance", 100), 100, "error.balance")
    expect_eq(balance_of(ctx, h["id"]), 100, "balance unchanged")
    expect_eq(item_now(ctx, w.S1["id"], item["id"])["stock"], 10, "stock unchanged")
    expect_eq(ledger_of(ctx, h["id"]), rows0, "ledger unchanged")
    r = redeem(ctx, w.c1, body, key=key)
    expect_error(r, 409, "insufficient_points")
    expect_eq(r.json.get("replayed"), True, "replayed")
    # still the stored answer once the household can pay; a new key goes through
    fund(ctx, h["id"], 50)
    r = redeem(ctx, w.c1, body, key=key)
    expect_error(r, 409, "insufficient_points")
    expect_eq(r.json.get("replayed"), True, "replayed after funding")
    d = redeemed(ctx, w.c1, body)
    expect_eq((d["points"], d["balance"]), (120, 30), "with a new key")
    expect_error(redeem(ctx, w.c1, card(h, points=31)), 409, "insufficient_points")
    expect_eq(balance_of(ctx, h["id"]), 30, "balance")


# ----------------------------------------------------------------------------- order of checks

def test_redeem_consent_is_checked_before_status_and_items(ctx):
    w = fx(ctx)
    clerk = mk_clerk(ctx, w.S1)
    h = funded(ctx, w.VA["id"], 10)
    item = mk_item(ctx, w.S1["id"], 10, stock=0)
    expect_error(redeem(ctx, clerk, card(h, pin=WRONG, items=[{"item_id": item["id"], "qty": 1}])),
                 403, "bad_pin")
    expect_error(redeem(ctx, clerk, card(h, pin=WRONG, items=[{"item_id": w.s2_item["id"], "qty": 1}])),
                 403, "bad_pin")
    expect_error(redeem(ctx, clerk, card(h, pin=WRONG, points=1000)), 403, "bad_pin")
    expect_status(ctx.call("PATCH", "/v1/households/%d" % h["id"], {"status": "suspended"},
                           token=ctx.admin_token), 200)
    expect_error(redeem(ctx, clerk, card(h, pin=WRONG, points=1)), 403, "bad_pin")


def test_redeem_status_is_checked_before_items(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 10)
    expect_status(ctx.call("PATCH", "/v1/households/%d" % h["id"], {"status": "suspended"},
                           token=ctx.admin_token), 200)
    expect_error(redeem(ctx, w.c1, card(h, items=[{"item_id": w.s2_item["id"], "qty": 1}])), 409,
                 "household_inactive")


def test_redeem_items_are_checked_before_points(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 10)
    gone = mk_item(ctx, w.S1["id"], 500, stock=0)
    off = mk_item(ctx, w.S1["id"], 500)
    patch_item(ctx, w.S1["id"], off["id"], {"active": False})
    expect_error(redeem(ctx, w.c1, card(h, items=[{"item_id": gone["id"], "qty": 1}])), 409,
                 "out_of_stock")
    expect_error(redeem(ctx, w.c1, card(h, items=[{"item_id": off["id"], "qty": 1}])), 409,
                 "item_inactive")
    expect_error(redeem(ctx, w.c1, card(h, items=[{"item_id": off["id"], "qty": 1},
                                                  {"item_id": w.s2_item["id"], "qty": 1}])), 404,
                 "not_found")


def test_redeem_county_is_checked_before_the_pin_and_card_before_county(ctx):
    w = fx(ctx)
    clerk = mk_clerk(ctx, w.S1)
    hb = funded(ctx, w.VB["id"], 10, pin=None)
    expect_error(redeem(ctx, clerk, card(hb, points=1)), 404, "not_found")   # not pin_not_set
    expect_status(ctx.post("/v1/households/%d/card" % hb["id"], token=ctx.admin_token), 200)
    expect_error(redeem(ctx, clerk, card(hb, points=1)), 404, "unknown_code")


# ----------------------------------------------------------------------------- shops and catalogue

def test_redeem_shop_items_create_and_validate(ctx):
    w = fx(ctx)
    it = mk_item(ctx, w.S1["id"], 25, name="Towel")
    expect_eq({k: it.get(k) for k in ("shop_id", "name", "points", "stock", "active")},
              {"shop_id": w.S1["id"], "name": "Towel", "points": 25, "stock": None,
               "active": True}, "item (no stock: unlimited)")
    it = mk_item(ctx, w.S1["id"], 1000000, stock=None)
    expect_eq(it["stock"], None, "stock null: unlimited")
    it = mk_item(ctx, w.S1["id"], 1, stock=1000000)
    expect_eq(it["stock"], 1000000, "stock 1e6")
    for body, field in (({"name": "x", "points": 0}, "points"),
                        ({"name": "x", "points": 1000001}, "points"),
                        ({"name": "x", "points": 5, "stock": -1}, "stock"),
                        ({"name": "x", "points": 5, "stock": 1000001}, "stock"),
                        ({"name": "", "points": 5}, "name"),
                        ({"points": 5}, "name"),
                        ({"name": "x"}, "points")):
        r = ctx.post("/v1/shops/%d/items" % w.S1["id"], body, token=ctx.admin_token)
        expect_error(r, 400, "invalid_request", field)
    r = ctx.post("/v1/shops/%d/items" % w.S1["id"], {"name": "x", "points": 5}, token=w.c1.token)
    expect_error(r, 403, "forbidden")
    r = ctx.post("/v1/shops/%d/items" % w.S1["id"], {"name": "x", "points": 5}, token=w.ra_b.token)
    expect_error(r, 404, "not_found")
    r = ctx.post("/v1/shops", {"region_id": w.TA["id"], "name": "x", "address": "y"},
                 token=w.ra_b.token)
    expect_error(r, 404, "not_found")
    r = ctx.post("/v1/shops", {"region_id": w.TA["id"], "name": "x", "address": "y"},
                 token=w.c1.token)
    expect_error(r, 403, "forbidden")
    expect_eq(mk_shop(ctx, w.TA2["id"], token=w.ra_a.token)["region_id"], w.TA2["id"],
              "a region admin opens a shop in its county")
    it = mk_item(ctx, w.S1["id"], 7, token=w.ra_a.token)
    expect_eq(it["points"], 7, "a region admin of the county adds items")
    r = ctx.call("PATCH", "/v1/shops/%d/items/%d" % (w.S1["id"], it["id"]), {"points": 8},
                 token=w.ra_b.token)
    expect_error(r, 404, "not_found")
    r = ctx.call("PATCH", "/v1/shops/%d/items/%d" % (w.S2["id"], it["id"]), {"points": 8},
                 token=ctx.admin_token)
    expect_error(r, 404, "not_found")
    got = patch_item(ctx, w.S1["id"], it["id"], {"points": 9, "name": "Towel XL", "stock": 4})
    expect_eq((got["points"], got["name"], got["stock"], got["active"]), (9, "Towel XL", 4, True),
              "PATCH")


def test_redeem_catalog_visibility(ctx):
    w = fx(ctx)
    shop = mk_shop(ctx, w.TA["id"])
    on = mk_item(ctx, shop["id"], 10)
    off = mk_item(ctx, shop["id"], 10)
    patch_item(ctx, shop["id"], off["id"], {"active": False})
    clerk = mk_clerk(ctx, shop)
    ha = mk_household(ctx, w.VA2["id"])
    hb = mk_household(ctx, w.VB["id"])
    ids = lambda token: sorted(x["id"] for x in items_of(ctx, shop["id"], token))  # noqa: E731
    expect_eq(ids(ctx.admin_token), sorted([on["id"], off["id"]]), "admin sees every item")
    expect_eq(ids(w.ra_a.token), sorted([on["id"], off["id"]]), "region admin sees every item")
    expect_eq(ids(clerk.token), [on["id"]], "clerk sees active items")
    ta = resident_token(ctx, ha)
    expect_eq(ids(ta), [on["id"]], "resident of the county sees active items")
    tb = resident_token(ctx, hb)
    expect_error(ctx.get("/v1/shops/%d/items" % shop["id"], token=tb), 404, "not_found")
    expect_error(ctx.get("/v1/shops/%d/items" % shop["id"], token=w.ra_b.token), 404, "not_found")
    expect_error(ctx.get("/v1/shops/%d/items" % shop["id"], token=w.cb.token), 404, "not_found")
    # GET /v1/shops: a resident sees the shops of its county
    seen = {s["id"] for s in read_pages(ctx, "/v1/shops", ta)}
    assert {w.S1["id"], w.S2["id"], shop["id"]} <= seen, "resident of A misses A's shops: %r" % seen
    assert w.SB["id"] not in seen, "resident of A sees county B's shop"
    seen = {s["id"] for s in read_pages(ctx, "/v1/shops", tb)}
    assert w.SB["id"] in seen and w.S1["id"] not in seen, "resident of B: %r" % seen
    seen = {s["id"] for s in read_pages(ctx, "/v1/shops", w.ra_b.token)}
    assert w.SB["id"] in seen and w.S1["id"] not in seen, "region admin of B: %r" % seen


def test_redeem_ledger_check_holds_for_this_modules_households(ctx):
    """After the tests above: balance = sum of the ledger for every household here."""
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 100)
    redeemed(ctx, w.c1, card(h, points=30))
    bad = [v for v in ledger_check(ctx)["violations"] if v.get("household_id") == h["id"]]
    assert not bad, "ledger-check violations for household %d: %r" % (h["id"], bad)
