"""Voiding redemptions (the clerk within 30 minutes, admins any time), reading them
(list, one, summary in JSON and CSV) (api.md "Shops, catalog, redemptions"; design.md
"Security model" (CSV formula injection))."""

import csv
import io

from lib import expect_eq, expect_error, expect_json, expect_status
from test_redeem import (balance_of, card, day_offset, funded, fx, item_now, ledger_of,
                         mk_clerk, mk_item, mk_region, mk_shop, mk_staff, patch_item, read_pages,
                         redeem, redeemed, today, violations_for, void)


def _age(ctx, rid, minutes=31):
    ctx.sql("UPDATE redemptions SET created_at = NOW(6) - INTERVAL %d MINUTE WHERE id = %d"
            % (minutes, rid))


# ----------------------------------------------------------------------------- void

def test_redeem_void_by_the_clerk_returns_points_and_stock(ctx):
    w = fx(ctx)
    clerk = mk_clerk(ctx, w.S1)
    lamp = mk_item(ctx, w.S1["id"], 40, stock=5, name="Lamp")
    h = funded(ctx, w.VA["id"], 500)
    d = redeemed(ctx, clerk, card(h, items=[{"item_id": lamp["id"], "qty": 2},
                                            {"item_id": w.soap["id"], "qty": 3},
                                            {"item_id": lamp["id"], "qty": 1}], memo="lamps"))
    expect_eq((d["points"], d["balance"]), (150, 350), "redeemed")
    expect_eq(item_now(ctx, w.S1["id"], lamp["id"])["stock"], 2, "stock taken")
    r = void(ctx, d["id"], clerk.token, reason="wrong lamp")
    v = expect_json(r, 200)
    expect_eq((v.get("id"), v.get("status"), v.get("household_id"), v.get("points"),
               v.get("balance")), (d["id"], "voided", h["id"], 150, 500), "void answer")
    expect_eq(balance_of(ctx, h["id"]), 500, "points back")
    expect_eq(item_now(ctx, w.S1["id"], lamp["id"])["stock"], 5, "stock back")
    expect_eq(item_now(ctx, w.S1["id"], w.soap["id"])["stock"], None, "unlimited stays unlimited")
    rows = ledger_of(ctx, h["id"])
    expect_eq([(x["kind"], x["delta"], x["balance_after"], x["ref_id"]) for x in rows[:2]],
              [("void", 150, 500, d["id"]), ("redemption", -150, 350, d["id"])], "ledger rows")
    expect_eq(rows[0].get("memo"), "wrong lamp", "the void row carries the reason")
    got = expect_json(ctx.get("/v1/redemptions/%d" % d["id"], token=clerk.token), 200)
    expect_eq((got["status"], got.get("void_reason")), ("voided", "wrong lamp"), "stored")
    assert not violations_for(ctx, [h["id"]]), "ledger-check violations after a void"


def test_redeem_void_twice_is_already_voided(ctx):
    w = fx(ctx)
    clerk = mk_clerk(ctx, w.S1)
    h = funded(ctx, w.VA["id"], 100)
    d = redeemed(ctx, clerk, card(h, points=60))
    expect_status(void(ctx, d["id"], clerk.token), 200)
    expect_error(void(ctx, d["id"], clerk.token), 409, "already_voided")
    expect_error(void(ctx, d["id"], ctx.admin_token), 409, "already_voided")
    expect_eq(balance_of(ctx, h["id"]), 100, "points back once")
    expect_eq([x["kind"] for x in ledger_of(ctx, h["id"])].count("void"), 1, "one void row")


def test_redeem_void_by_another_clerk_of_the_shop_is_forbidden(ctx):
    w = fx(ctx)
    maker = mk_clerk(ctx, w.S1)
    other = mk_clerk(ctx, w.S1)
    h = funded(ctx, w.VA["id"], 100)
    d = redeemed(ctx, maker, card(h, points=60))
    expect_error(void(ctx, d["id"], other.token), 403, "forbidden")
    expect_eq(balance_of(ctx, h["id"]), 40, "not voided")
    expect_status(void(ctx, d["id"], maker.token), 200)


def test_redeem_void_by_a_clerk_of_another_shop_is_not_found(ctx):
    w = fx(ctx)
    maker = mk_clerk(ctx, w.S1)
    h = funded(ctx, w.VA["id"], 100)
    d = redeemed(ctx, maker, card(h, points=60))
    expect_error(void(ctx, d["id"], w.c2.token), 404, "not_found")      # same county
    expect_error(void(ctx, d["id"], w.cb.token), 404, "not_found")      # another county
    expect_eq(balance_of(ctx, h["id"]), 40, "not voided")


def test_redeem_void_after_the_window_is_for_admins(ctx):
    w = fx(ctx)
    clerk = mk_clerk(ctx, w.S1)
    item = mk_item(ctx, w.S1["id"], 20, stock=3)
    h = funded(ctx, w.VA["id"], 200)
    d1 = redeemed(ctx, clerk, card(h, items=[{"item_id": item["id"], "qty": 1}]))
    d2 = redeemed(ctx, clerk, card(h, points=50))
    d3 = redeemed(ctx, clerk, card(h, points=10))
    _age(ctx, d1["id"])
    _age(ctx, d2["id"])
    _age(ctx, d3["id"], 29)
    expect_error(void(ctx, d1["id"], clerk.token), 403, "forbidden")
    expect_error(void(ctx, d2["id"], clerk.token), 403, "forbidden")
    expect_eq(balance_of(ctx, h["id"]), 120, "nothing voided")
    expect_status(void(ctx, d3["id"], clerk.token), 200)                 # 29 minutes: in time
    v = expect_json(void(ctx, d1["id"], ctx.admin_token), 200)
    expect_eq((v["status"], v["points"], v["balance"]), ("voided", 20, 150), "admin's void")
    expect_eq(item_now(ctx, w.S1["id"], item["id"])["stock"], 3, "stock back")
    expect_error(void(ctx, d2["id"], w.ra_b.token), 404, "not_found")    # another county's admin
    v = expect_json(void(ctx, d2["id"], w.ra_a.token), 200)
    expect_eq((v["status"], v["balance"]), ("voided", 200), "the county's region admin")
    expect_eq(balance_of(ctx, h["id"]), 200, "all back")
    kinds = [(x["kind"], x["ref_id"]) for x in ledger_of(ctx, h["id"])[:3]]
    expect_eq(sorted(kinds), sorted([("void", d1["id"]), ("void", d2["id"]), ("void", d3["id"])]),
              "three void rows")


def test_redeem_void_needs_a_reason_and_an_existing_redemption(ctx):
    w = fx(ctx)
    clerk = mk_clerk(ctx, w.S1)
    h = funded(ctx, w.VA["id"], 100)
    d = redeemed(ctx, clerk, card(h, points=10))
    r = ctx.post("/v1/redemptions/%d/void" % d["id"], {}, token=clerk.token)
    expect_error(r, 400, "invalid_request", "reason")
    r = ctx.post("/v1/redemptions/%d/void" % d["id"], {"reason": ""}, token=clerk.token)
    expect_error(r, 400, "invalid_request", "reason")
    expect_error(void(ctx, 999999999999, clerk.token), 404, "not_found")
    expect_error(void(ctx, 999999999999, ctx.admin_token), 404, "not_found")
    expect_error(void(ctx, d["id"], "x.y.z"), 401,
                 "unauthorized")
    expect_eq(balance_of(ctx, h["id"]), 90, "not voided")


def test_redeem_void_by_a_resident_or_attendant_is_forbidden(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 100)
    d = redeemed(ctx, w.c1, card(h, points=10))
    site = expect_json(ctx.post("/v1/sites", {
        "region_id": w.TA["id"], "name": "vsite", "tier": "dropoff", "network": "integrated",
        "address": "1 Scale Road"}, token=ctx.admin_token), 201)
    att = mk_staff(ctx, "attendant", w.TA["id"], site_id=site["id"])
    expect_error(void(ctx, d["id"], att.token), 403, "forbidden")
    res = expect_json(ctx.post("/v1/auth/resident", {"code": h["code"], "pin": "4821"}), 200)
    expect_error(void(ctx, d["id"], res["token"]), 403, "forbidden")
    expect_eq(balance_of(ctx, h["id"]), 90, "not voided")


def test_redeem_voided_redemption_frees_points_for_the_next(ctx):
    w = fx(ctx)
    clerk = mk_clerk(ctx, w.S1)
    item = mk_item(ctx, w.S1["id"], 100, stock=1)
    h = funded(ctx, w.VA["id"], 100)
    d = redeemed(ctx, clerk, card(h, items=[{"item_id": item["id"], "qty": 1}]))
    h2 = funded(ctx, w.VA["id"], 100)
    expect_error(redeem(ctx, clerk, card(h2, items=[{"item_id": item["id"], "qty": 1}])), 409,
                 "out_of_stock")
    expect_status(void(ctx, d["id"], clerk.token), 200)
    d2 = redeemed(ctx, clerk, card(h2, items=[{"item_id": item["id"], "qty": 1}]))
    expect_eq(d2["balance"], 0, "the item, back in stock, sold again")
    d3 = redeemed(ctx, clerk, card(h, points=100))
    expect_eq(d3["balance"], 0, "the points, back, spent again")


def test_redeem_void_returns_what_was_paid_not_todays_price(ctx):
    w = fx(ctx)
    clerk = mk_clerk(ctx, w.S1)
    item = mk_item(ctx, w.S1["id"], 30, stock=10)
    h = funded(ctx, w.VA["id"], 100)
    d = redeemed(ctx, clerk, card(h, items=[{"item_id": item["id"], "qty": 2}]))
    expect_eq(d["balance"], 40, "paid 60")
    expect_eq(patch_item(ctx, w.S1["id"], item["id"], {"points": 45})["points"], 45, "new price")
    got = expect_json(ctx.get("/v1/redemptions/%d" % d["id"], token=clerk.token), 200)
    expect_eq((got["points"], got["items"][0]["points_each"], got["items"][0]["points"]),
              (60, 30, 60), "the redemption keeps its prices")
    v = expect_json(void(ctx, d["id"], clerk.token), 200)
    expect_eq((v["points"], v["balance"]), (60, 100), "the void gives back what was paid")
    expect_eq(item_now(ctx, w.S1["id"], item["id"])["stock"], 10, "stock back")


# ----------------------------------------------------------------------------- reading

def test_redeem_list_newest_first_within_reach(ctx):
    w = fx(ctx)
    shop = mk_shop(ctx, w.TA["id"])
    clerk = mk_clerk(ctx, shop)
    h = funded(ctx, w.VA["id"], 100)
    ds = [redeemed(ctx, clerk, card(h, points=p)) for p in (1, 2, 3)]
    want = [d["id"] for d in reversed(ds)]
    got = expect_json(ctx.get("/v1/redemptions", token=clerk.token), 200)
    expect_eq([x["id"] for x in got["items"]], want, "clerk: its shop, newest first")
    expect_eq([x["points"] for x in got["items"]], [3, 2, 1], "points")
    expect_eq(got.get("next_cursor"), None, "one page")
    x = got["items"][0]
    expect_eq((x["shop_id"], x["household_id"], x["clerk_id"], x["consent"], x["status"]),
              (shop["id"], h["id"], clerk.id, "pin", "ok"), "a listed redemption")
    # pages
    p1 = expect_json(ctx.get("/v1/redemptions?limit=2", token=clerk.token), 200)
    expect_eq([x["id"] for x in p1["items"]], want[:2], "page 1")
    assert p1.get("next_cursor"), "no next_cursor: %r" % p1
    p2 = expect_json(ctx.get("/v1/redemptions?limit=2&cursor=" + p1["next_cursor"],
                             token=clerk.token), 200)
    expect_eq([x["id"] for x in p2["items"]], want[2:], "page 2")
    # explicit own shop_id; another shop's is 404
    own = read_pages(ctx, "/v1/redemptions?shop_id=%d" % shop["id"], clerk.token)
    expect_eq([x["id"] for x in own], want, "own shop_id")
    expect_error(ctx.get("/v1/redemptions?shop_id=%d" % w.S1["id"], token=clerk.token), 404,
                 "not_found")
    # admins
    expect_eq([x["id"] for x in read_pages(ctx, "/v1/redemptions?shop_id=%d" % shop["id"],
                                           ctx.admin_token)], want, "admin, by shop")
    expect_eq([x["id"] for x in read_pages(ctx, "/v1/redemptions?shop_id=%d" % shop["id"],
                                           w.ra_a.token)], want, "region admin of the county")
    r = ctx.get("/v1/redemptions?shop_id=%d" % shop["id"], token=w.ra_b.token)
    if r.status == 200:
        expect_eq(r.json["items"], [], "another county's region admin sees none of them")
    else:
        expect_error(r, 404, "not_found")
    seen = {x["id"] for x in read_pages(ctx, "/v1/redemptions", w.ra_b.token)}
    assert not seen & set(want), "county B's region admin lists county A's redemptions"
    # one: the shop's clerk and admins with reach
    for token in (clerk.token, ctx.admin_token, w.ra_a.token):
        expect_eq(expect_json(ctx.get("/v1/redemptions/%d" % ds[0]["id"], token=token), 200)["id"],
                  ds[0]["id"], "GET one")
    for token in (w.c1.token, w.cb.token, w.ra_b.token):
        expect_error(ctx.get("/v1/redemptions/%d" % ds[0]["id"], token=token), 404, "not_found")
    expect_error(ctx.get("/v1/redemptions/999999999999", token=ctx.admin_token), 404, "not_found")


def test_redeem_list_by_days(ctx):
    w = fx(ctx)
    shop = mk_shop(ctx, w.TA["id"])
    clerk = mk_clerk(ctx, shop)
    h = funded(ctx, w.VA["id"], 100)
    d = redeemed(ctx, clerk, card(h, points=5))
    t, y, tm = today(), day_offset(-1), day_offset(1)

    def ids(q):
        return [x["id"] for x in read_pages(ctx, "/v1/redemptions?" + q, clerk.token)]

    expect_eq(ids("from=%s&to=%s" % (t, t)), [d["id"]], "today")
    expect_eq(ids("from=%s" % y), [d["id"]], "from yesterday")
    expect_eq(ids("to=%s" % y), [], "to yesterday")
    expect_eq(ids("from=%s" % tm), [], "from tomorrow")
    expect_error(ctx.get("/v1/redemptions?from=yesterday", token=clerk.token), 400,
                 "invalid_request", "from")


def test_redeem_summary_per_shop_without_voided(ctx):
    w = fx(ctx)
    town = mk_region(ctx, w.A["id"], "town")
    s1 = mk_shop(ctx, town["id"], name="Summary One")
    s2 = mk_shop(ctx, town["id"], name="Summary Two")
    s3 = mk_shop(ctx, town["id"], name="Summary Idle")
    k1, k2 = mk_clerk(ctx, s1), mk_clerk(ctx, s2)
    h = funded(ctx, w.VA["id"], 1000)
    redeemed(ctx, k1, card(h, points=100))
    redeemed(ctx, k1, card(h, points=50))
    gone = redeemed(ctx, k1, card(h, points=7))
    expect_status(void(ctx, gone["id"], k1.token), 200)
    redeemed(ctx, k2, card(h, points=30))
    body = expect_json(ctx.get("/v1/redemptions/summary?region_id=%d" % town["id"],
                               token=ctx.admin_token), 200)
    expect_eq(body["items"], [
        {"shop_id": s1["id"], "shop_name": "Summary One", "count": 2, "points": 150},
        {"shop_id": s2["id"], "shop_name": "Summary Two", "count": 1, "points": 30},
        {"shop_id": s3["id"], "shop_name": "Summary Idle", "count": 0, "points": 0}],
        "summary of the town")
    expect_eq(body["totals"], {"count": 3, "points": 180}, "totals")
    t = today()
    body = expect_json(ctx.get("/v1/redemptions/summary?region_id=%d&from=%s&to=%s"
                               % (town["id"], t, t), token=w.ra_a.token), 200)
    expect_eq(body["totals"], {"count": 3, "points": 180}, "today, by the county's region admin")
    body = expect_json(ctx.get("/v1/redemptions/summary?region_id=%d&to=%s"
                               % (town["id"], day_offset(-1)), token=ctx.admin_token), 200)
    expect_eq(body["totals"], {"count": 0, "points": 0}, "up to yesterday")
    body = expect_json(ctx.get("/v1/redemptions/summary?shop_id=%d" % s2["id"],
                               token=ctx.admin_token), 200)
    expect_eq(body["items"], [{"shop_id": s2["id"], "shop_name": "Summary Two", "count": 1,
                               "points": 30}], "by shop")
    # a clerk: its own shop only
    body = expect_json(ctx.get("/v1/redemptions/summary", token=k1.token), 200)
    expect_eq(body["items"], [{"shop_id": s1["id"], "shop_name": "Summary One", "count": 2,
                               "points": 150}], "clerk's summary")
    expect_eq(body["totals"], {"count": 2, "points": 150}, "clerk's totals")
    expect_error(ctx.get("/v1/redemptions/summary?shop_id=%d" % s2["id"], token=k1.token), 404,
                 "not_found")
    expect_error(ctx.get("/v1/redemptions/summary?region_id=%d" % town["id"],
                         token=w.ra_b.token), 404, "not_found")
    expect_error(ctx.get("/v1/redemptions/summary?format=xml", token=ctx.admin_token), 400,
                 "invalid_request", "format")


def test_redeem_summary_csv_escapes_formulas(ctx):
    w = fx(ctx)
    town = mk_region(ctx, w.A["id"], "town")
    names = ["=HYPERLINK(1)", "+SUM(1,2)", "-2+3", "@cmd", "\t=1+1", "\r=2+2",
             'Plain "Q", Ltd', "Normal shop"]
    shops = [mk_shop(ctx, town["id"], name=n) for n in names]
    k = mk_clerk(ctx, shops[0])
    h = funded(ctx, w.VA["id"], 100)
    redeemed(ctx, k, card(h, points=12))
    path = "/v1/redemptions/summary?region_id=%d" % town["id"]
    for how, r in (("?format=csv", ctx.get(path + "&format=csv", token=ctx.admin_token)),
                   ("Accept: text/csv", ctx.get(path, token=ctx.admin_token,
                                                headers={"Accept": "text/csv"}))):
        expect_status(r, 200, how)
        ct = r.headers.get("Content-Type", "")
        assert ct.lower().startswith("text/csv"), "%s: Content-Type %r" % (how, ct)
        assert r.body.startswith(b"\xef\xbb\xbf"), "%s: no UTF-8 byte-order mark" % how
        text = r.body[3:].decode("utf-8")
        rows = list(csv.reader(io.StringIO(text, newline="")))
        expect_eq(rows[0], ["shop_id", "shop_name", "count", "points"], "%s: header row" % how)
        expect_eq(rows[1:], [[str(shops[i]["id"]), ("'" if i < 6 else "") + n,
                              "1" if i == 0 else "0", "12" if i == 0 else "0"]
                             for i, n in enumerate(names)], "%s: rows" % how)
        want = ['%d,"\'=HYPERLINK(1)",1,12' % shops[0]["id"],
                '%d,"\'@cmd",0,0' % shops[3]["id"],
                '%d,"Plain ""Q"", Ltd",0,0' % shops[6]["id"],
                '%d,Normal shop,0,0' % shops[7]["id"]]
        lines = text.split("\r\n")
        for line in want:
            assert line in lines, "%s: %r not among the rows %r" % (how, line, lines)
        for x in rows[1:]:
            assert x[1][0] not in "=+-@\t\r", "%s: a cell starts a formula: %r" % (how, x)
