"""Reversals, adjustments and the resident's own ledger (api.md "Drop-offs" (reverse),
"Households" (ledger, adjustments), "Resident's own"; design.md "Consistency")."""

import threading
import time

from lib import expect_eq, expect_error, expect_json, expect_status
from test_ledger import (Tree, build_tree, check_ledger_consistent, dropoff_ok,
                         get_household, ledger_of, mk_category, mk_household, mk_shop, mk_staff,
                         new_key, read_pages, redis_balance, redis_run_id, resident_of, set_rate,
                         uploaded_ok, wait_catalog, when)

_FX = None


def fx(ctx):
    """g1000: 1 point a gram, no cap; cap100: 1 point a gram, 100 a day; a tree with two
    counties, a clerk in county A."""
    global _FX
    if _FX is not None:
        return _FX
    t0 = time.monotonic()
    f = Tree()
    f.g1000 = mk_category(ctx, "g")
    set_rate(ctx, f.g1000, 1000)
    f.cap100 = mk_category(ctx, "g", daily_cap=100)
    set_rate(ctx, f.cap100, 1000)
    f.t = build_tree(ctx)
    shop = mk_shop(ctx, f.t.A["id"])
    f.clerk = mk_staff(ctx, "clerk", f.t.A["id"], shop_id=shop["id"])
    f.limit = int(ctx.env.get("WB_ADJUST_LIMIT", "10000"))
    wait_catalog(t0)
    _FX = f
    return f


def _earn(ctx, f, h, grams, cat=None, recorded_at=None):
    items = [{"category": cat or f.g1000, "grams": grams}]
    if recorded_at is not None:         # only an upload may be back-dated
        return uploaded_ok(ctx, f.t.at_a.token, h["code"], items, recorded_at)
    return dropoff_ok(ctx, f.t.at_a.token, h["code"], items)


def _reverse(ctx, did, token, reason="weighed wrong"):
    body = {"reason": reason} if reason is not None else {}
    return ctx.post("/v1/dropoffs/%d/reverse" % did, body, token=token)


def _adjust(ctx, hid, points, token, key=None, reason="correction"):
    body = {"points": points}
    if reason is not None:
        body["reason"] = reason
    hdrs = {} if key is False else {"Idempotency-Key": key or new_key("adj")}
    return ctx.post("/v1/households/%d/adjustments" % hid, body, token=token, headers=hdrs)


# ----------------------------------------------------------------------------- reversal

def test_ledger_reversal_takes_the_points_back(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    d0 = _earn(ctx, f, h, 250)
    d = _earn(ctx, f, h, 400)
    r = _reverse(ctx, d["id"], ctx.admin_token, "double entry")
    body = expect_json(r, 200)
    expect_eq(body, {"id": d["id"], "status": "reversed", "household_id": h["id"], "points": 400,
                     "clawed_back": 400, "shortfall": 0, "balance": 250, "debt": 0},
              "reversal answer")
    rows = check_ledger_consistent(ctx, h["id"])
    expect_eq([(x["kind"], x["delta"], x["ref_id"]) for x in rows],
              [("reversal", -400, d["id"]), ("dropoff", 400, d["id"]), ("dropoff", 250, d0["id"])],
              "ledger rows")
    expect_eq(rows[0]["memo"], "double entry", "reversal memo")
    got = expect_json(ctx.get("/v1/dropoffs/%d" % d["id"], token=ctx.admin_token), 200)
    expect_eq((got["status"], got.get("clawed_back"), got.get("shortfall"),
               got.get("reverse_reason"), got["points"]),
              ("reversed", 400, 0, "double entry", 400), "the reversed drop-off")
    got = expect_json(ctx.get("/v1/dropoffs/%d" % d0["id"], token=ctx.admin_token), 200)
    expect_eq(got["status"], "ok", "the other drop-off")


def test_ledger_reversal_of_spent_points_reports_the_shortfall(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    d = _earn(ctx, f, h, 100)
    a = expect_json(_adjust(ctx, h["id"], -70, ctx.admin_token, reason="spent at the shop"), 201)
    expect_eq(a["balance"], 30, "after spending 70")
    body = expect_json(_reverse(ctx, d["id"], ctx.admin_token), 200)
    expect_eq((body["points"], body["clawed_back"], body["shortfall"], body["balance"]),
              (100, 30, 70, 0), "clawed back what was left")
    rows = check_ledger_consistent(ctx, h["id"])
    expect_eq([(x["kind"], x["delta"], x["balance_after"]) for x in rows],
              [("reversal", -30, 0), ("adjustment", -70, 30), ("dropoff", 100, 100)],
              "ledger rows")
    got = expect_json(ctx.get("/v1/dropoffs/%d" % d["id"], token=ctx.admin_token), 200)
    expect_eq((got["status"], got.get("clawed_back"), got.get("shortfall")),
              ("reversed", 30, 70), "stored")
    expect_eq((body["debt"], get_household(ctx, h["id"])["debt"]), (70, 70),
              "the shortfall is the household's debt")
    # later earnings settle the debt first, with a recovery row
    d2 = _earn(ctx, f, h, 50)
    expect_eq((d2["points"], d2.get("recovered"), d2["balance"]), (50, 50, 0),
              "a new drop-off goes to the debt")
    d3 = _earn(ctx, f, h, 30)
    expect_eq((d3.get("recovered"), d3["balance"]), (20, 10), "the rest of the debt, then the household's")
    expect_eq(get_household(ctx, h["id"])["debt"], 0, "debt settled")
    rows = check_ledger_consistent(ctx, h["id"])
    expect_eq([(x["kind"], x["delta"], x["ref_id"]) for x in rows[:4]],
              [("recovery", -20, rows[1]["seq"]), ("dropoff", 30, d3["id"]),
               ("recovery", -50, rows[3]["seq"]), ("dropoff", 50, d2["id"])],
              "recovery rows point at the credit they took from")


def test_ledger_reversal_with_nothing_left_writes_no_negative(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    d = _earn(ctx, f, h, 80)
    expect_json(_adjust(ctx, h["id"], -80, ctx.admin_token), 201)
    body = expect_json(_reverse(ctx, d["id"], ctx.admin_token), 200)
    expect_eq((body["clawed_back"], body["shortfall"], body["balance"]), (0, 80, 0), "answer")
    rows = check_ledger_consistent(ctx, h["id"])
    assert all(x["delta"] != 0 for x in rows), "a ledger row of 0: %r" % rows
    assert all(x["balance_after"] >= 0 for x in rows), rows
    expect_error(_reverse(ctx, d["id"], ctx.admin_token), 409, "already_reversed")


def test_ledger_reversal_twice_already_reversed(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    d = _earn(ctx, f, h, 300)
    expect_status(_reverse(ctx, d["id"], ctx.admin_token), 200)
    expect_error(_reverse(ctx, d["id"], ctx.admin_token), 409, "already_reversed")
    expect_error(_reverse(ctx, d["id"], f.t.ra_a.token), 409, "already_reversed")
    rows = check_ledger_consistent(ctx, h["id"])
    expect_eq([x["kind"] for x in rows], ["reversal", "dropoff"], "one reversal row")
    expect_eq(get_household(ctx, h["id"])["balance"], 0, "balance")


def test_ledger_concurrent_reversals_reverse_once(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    _earn(ctx, f, h, 1000)
    d = _earn(ctx, f, h, 300)
    results = []
    barrier = threading.Barrier(6)

    def go(tok):
        barrier.wait()
        results.append(_reverse(ctx, d["id"], tok).status)

    toks = [ctx.admin_token, f.t.ra_a.token] * 3
    threads = [threading.Thread(target=go, args=(t,)) for t in toks]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    expect_eq(sorted(results), [200] + [409] * 5, "statuses of six concurrent reversals")
    rows = check_ledger_consistent(ctx, h["id"])
    expect_eq([x["kind"] for x in rows], ["reversal", "dropoff", "dropoff"], "ledger kinds")
    expect_eq(get_household(ctx, h["id"])["balance"], 1000, "balance")


def test_ledger_reversed_dropoff_leaves_the_daily_cap(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    at = when(seconds=-120)
    d1 = _earn(ctx, f, h, 60, cat=f.cap100, recorded_at=at)
    d2 = _earn(ctx, f, h, 70, cat=f.cap100, recorded_at=at)
    expect_eq((d1["points"], d2["points"], d2["capped"]), (60, 40, True), "cap reached")
    expect_eq(_earn(ctx, f, h, 10, cat=f.cap100, recorded_at=at)["points"], 0, "at the cap")
    expect_status(_reverse(ctx, d1["id"], ctx.admin_token), 200)
    d4 = _earn(ctx, f, h, 100, cat=f.cap100, recorded_at=at)
    expect_eq((d4["points"], d4["capped"]), (60, True),
              "after reversing 60 of the day's 100, 60 can be earned again")
    check_ledger_consistent(ctx, h["id"])


def test_ledger_reversed_backdated_dropoff_frees_the_cap_of_its_own_day(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    then = when(days=-2)
    today = when(seconds=-60)
    d1 = _earn(ctx, f, h, 100, cat=f.cap100, recorded_at=then)
    d2 = _earn(ctx, f, h, 100, cat=f.cap100, recorded_at=today)
    expect_eq((d1["points"], d2["points"]), (100, 100), "a full cap on both days")
    expect_status(_reverse(ctx, d1["id"], ctx.admin_token), 200)
    expect_eq(_earn(ctx, f, h, 30, cat=f.cap100, recorded_at=today)["points"], 0,
              "today is still at its cap")
    expect_eq(_earn(ctx, f, h, 30, cat=f.cap100, recorded_at=then)["points"], 30,
              "the reversed drop-off's day has room again")
    check_ledger_consistent(ctx, h["id"])


def test_ledger_replay_after_reversal_credits_nothing(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    k = new_key()
    d = dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.g1000, "grams": 300}], key=k)
    expect_status(_reverse(ctx, d["id"], ctx.admin_token), 200)
    r = ctx.post("/v1/dropoffs", {"code": h["code"],
                                  "items": [{"category": f.g1000, "grams": 300}]},
                 token=f.t.at_a.token, headers={"Idempotency-Key": k})
    body = expect_json(r, 201)
    expect_eq((body["id"], body["replayed"]), (d["id"], True), "the original answer again")
    rows = check_ledger_consistent(ctx, h["id"])
    expect_eq([x["kind"] for x in rows], ["reversal", "dropoff"], "no new credit")
    expect_eq(get_household(ctx, h["id"])["balance"], 0, "balance")


def test_ledger_reversal_by_region_admin_with_reach(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    d = _earn(ctx, f, h, 120)
    body = expect_json(_reverse(ctx, d["id"], f.t.ra_a.token), 200)
    expect_eq((body["clawed_back"], body["balance"]), (120, 0), "reversed by the county's admin")


def test_ledger_reversal_by_region_admin_of_another_county_not_found(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    d = _earn(ctx, f, h, 120)
    expect_error(_reverse(ctx, d["id"], f.t.ra_b.token), 404, "not_found")
    expect_eq(get_household(ctx, h["id"])["balance"], 120, "balance untouched")
    got = expect_json(ctx.get("/v1/dropoffs/%d" % d["id"], token=ctx.admin_token), 200)
    expect_eq(got["status"], "ok", "not reversed")


def test_ledger_reversal_by_attendant_clerk_or_resident_forbidden(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"], pin="4821")
    d = _earn(ctx, f, h, 120)
    res = resident_of(ctx, h, "4821")
    for tok in (f.t.at_a.token, f.clerk.token, res.token):
        expect_error(_reverse(ctx, d["id"], tok), 403, "forbidden")
    expect_eq(get_household(ctx, h["id"])["balance"], 120, "balance untouched")


def test_ledger_reversal_bad_body_or_unknown_id(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    d = _earn(ctx, f, h, 120)
    expect_error(_reverse(ctx, d["id"], ctx.admin_token, reason=None), 400, "invalid_request",
                 "reason")
    expect_error(_reverse(ctx, d["id"], ctx.admin_token, reason=""), 400, "invalid_request",
                 "reason")
    expect_error(_reverse(ctx, d["id"], ctx.admin_token, reason="r" * 201), 400,
                 "invalid_request", "reason")
    expect_error(_reverse(ctx, 999999999999, ctx.admin_token), 404, "not_found")
    expect_eq(get_household(ctx, h["id"])["balance"], 120, "balance untouched")


# ----------------------------------------------------------------------------- adjustments

def test_ledger_adjustment_positive_and_negative(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    a = expect_json(_adjust(ctx, h["id"], 500, ctx.admin_token, reason="welcome bonus"), 201)
    expect_eq({k: a.get(k) for k in ("household_id", "points", "balance", "reason", "replayed")},
              {"household_id": h["id"], "points": 500, "balance": 500, "reason": "welcome bonus",
               "replayed": False}, "positive adjustment")
    assert isinstance(a.get("id"), int) and a["id"] > 0, a
    b = expect_json(_adjust(ctx, h["id"], -200, f.t.ra_a.token, reason="duplicate card"), 201)
    expect_eq((b["points"], b["balance"]), (-200, 300), "negative adjustment")
    rows = check_ledger_consistent(ctx, h["id"])
    expect_eq([(x["kind"], x["delta"], x["ref_id"], x["memo"]) for x in rows],
              [("adjustment", -200, b["id"], "duplicate card"),
               ("adjustment", 500, a["id"], "welcome bonus")], "ledger rows")


def test_ledger_adjustment_replay_and_conflict(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    h2 = mk_household(ctx, f.t.VA["id"])
    k = new_key("adj")
    a = expect_json(_adjust(ctx, h["id"], 250, ctx.admin_token, key=k), 201)
    again = expect_json(_adjust(ctx, h["id"], 250, ctx.admin_token, key=k), 201)
    expect_eq(again.get("replayed"), True, "replayed")
    expect_eq({x: y for x, y in again.items() if x != "replayed"},
              {x: y for x, y in a.items() if x != "replayed"}, "replayed body")
    expect_error(_adjust(ctx, h["id"], 251, ctx.admin_token, key=k), 409, "idempotency_conflict")
    expect_error(_adjust(ctx, h["id"], 250, ctx.admin_token, key=k, reason="other"), 409,
                 "idempotency_conflict")
    expect_error(_adjust(ctx, h2["id"], 250, ctx.admin_token, key=k), 409,
                 "idempotency_conflict")
    # keys are scoped to the staff member: another one's same key is another adjustment
    b = expect_json(_adjust(ctx, h["id"], 250, f.t.ra_a.token, key=k), 201)
    expect_eq((b["replayed"], b["balance"]), (False, 500), "another staff member's key")
    assert b["id"] != a["id"], (a, b)
    expect_eq(len(check_ledger_consistent(ctx, h["id"])), 2, "ledger rows")
    expect_eq(ledger_of(ctx, h2["id"]), [], "h2 untouched")


def test_ledger_adjustment_below_zero_insufficient_and_replayed(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    expect_json(_adjust(ctx, h["id"], 300, ctx.admin_token), 201)
    k = new_key("adj")
    r = _adjust(ctx, h["id"], -301, ctx.admin_token, key=k)
    expect_error(r, 409, "insufficient_points")
    assert r.json.get("replayed") in (None, False), r
    r2 = _adjust(ctx, h["id"], -301, ctx.admin_token, key=k)
    expect_error(r2, 409, "insufficient_points")
    expect_eq(r2.json.get("replayed"), True, "the stored 409 replayed")
    assert r2.request_id != r.request_id, "the replay carries its own request id"
    # the outcome stays stored even once the balance would allow it
    expect_json(_adjust(ctx, h["id"], 1000, ctx.admin_token), 201)
    r3 = _adjust(ctx, h["id"], -301, ctx.admin_token, key=k)
    expect_error(r3, 409, "insufficient_points")
    expect_eq(r3.json.get("replayed"), True, "still the stored outcome")
    rows = check_ledger_consistent(ctx, h["id"])
    expect_eq([x["delta"] for x in rows], [1000, 300], "no row for the refusal")
    # exactly to zero is allowed
    z = expect_json(_adjust(ctx, h["id"], -1300, ctx.admin_token), 201)
    expect_eq(z["balance"], 0, "down to exactly 0")
    expect_error(_adjust(ctx, h["id"], -1, ctx.admin_token), 409, "insufficient_points")


def test_ledger_adjustment_region_admin_over_the_limit_forbidden(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    expect_error(_adjust(ctx, h["id"], f.limit + 1, f.t.ra_a.token), 403, "forbidden")
    expect_eq(ledger_of(ctx, h["id"]), [], "nothing written")
    a = expect_json(_adjust(ctx, h["id"], f.limit, f.t.ra_a.token), 201)
    expect_eq(a["balance"], f.limit, "exactly the limit")
    expect_error(_adjust(ctx, h["id"], -(f.limit + 1), f.t.ra_a.token), 403, "forbidden")
    b = expect_json(_adjust(ctx, h["id"], 2 * f.limit, ctx.admin_token), 201)
    expect_eq(b["balance"], 3 * f.limit, "an admin is not bound by the limit")
    expect_error(_adjust(ctx, h["id"], -(f.limit + 1), f.t.ra_a.token), 403, "forbidden")
    expect_eq(get_household(ctx, h["id"])["balance"], 3 * f.limit, "balance")


def test_ledger_adjustment_zero_refused(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    expect_error(_adjust(ctx, h["id"], 0, ctx.admin_token), 400, "invalid_request", "points")
    expect_eq(ledger_of(ctx, h["id"]), [], "nothing written")


def test_ledger_adjustment_bad_bodies_refused(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    hid = h["id"]
    for body, field in (({"points": "10", "reason": "r"}, "points"),
                        ({"points": 1.5, "reason": "r"}, "points"),
                        ({"reason": "r"}, "points"),
                        ({"points": 10}, "reason"),
                        ({"points": 10, "reason": ""}, "reason"),
                        ({"points": 10, "reason": "r" * 201}, "reason"),
                        ({"points": 10, "reason": "r", "memo": "x"}, "memo"),
                        ({"points": 1000001, "reason": "r"}, "points"),
                        ({"points": -1000001, "reason": "r"}, "points")):
        r = ctx.post("/v1/households/%d/adjustments" % hid, body, token=ctx.admin_token,
                     headers={"Idempotency-Key": new_key()})
        expect_error(r, 400, "invalid_request", field)
    expect_error(_adjust(ctx, hid, 10, ctx.admin_token, key=False), 400, "invalid_request",
                 "Idempotency-Key")
    expect_error(_adjust(ctx, hid, 10, ctx.admin_token, key="bad key"), 400, "invalid_request",
                 "Idempotency-Key")
    expect_eq(ledger_of(ctx, hid), [], "nothing written")


def test_ledger_adjustment_outside_reach_or_by_other_roles(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"], pin="4821")
    expect_error(_adjust(ctx, h["id"], 10, f.t.ra_b.token), 404, "not_found")
    expect_error(_adjust(ctx, 999999999999, 10, ctx.admin_token), 404, "not_found")
    res = resident_of(ctx, h, "4821")
    for tok in (f.t.at_a.token, f.clerk.token, res.token):
        expect_error(_adjust(ctx, h["id"], 10, tok), 403, "forbidden")
    expect_eq(ledger_of(ctx, h["id"]), [], "nothing written")


def test_ledger_household_ledger_reach(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    _earn(ctx, f, h, 10)
    expect_eq(len(ledger_of(ctx, h["id"], f.t.ra_a.token)), 1, "region admin with reach")
    expect_error(ctx.get("/v1/households/%d/ledger" % h["id"], token=f.t.ra_b.token), 404,
                 "not_found")
    for tok in (f.t.at_a.token, f.clerk.token):
        expect_error(ctx.get("/v1/households/%d/ledger" % h["id"], token=tok), 403, "forbidden")
    expect_error(ctx.get("/v1/households/999999999999/ledger", token=ctx.admin_token), 404,
                 "not_found")


def test_ledger_household_ledger_pages(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    for i in range(7):
        _earn(ctx, f, h, 10 + i)
    seen = []
    cursor = None
    for _ in range(10):
        p = "/v1/households/%d/ledger?limit=3" % h["id"] + ("&cursor=" + cursor if cursor else "")
        body = expect_json(ctx.get(p, token=ctx.admin_token), 200)
        seen.extend(x["seq"] for x in body["items"])
        cursor = body.get("next_cursor")
        if not cursor:
            break
    expect_eq(seen, [7, 6, 5, 4, 3, 2, 1], "every seq once, newest first")


# ----------------------------------------------------------------------------- the resident's own

def test_ledger_resident_sees_own_balance_ledger_and_dropoffs(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"], pin="4821")
    other = mk_household(ctx, f.t.VA["id"], pin="4821")
    mine = [_earn(ctx, f, h, g) for g in (120, 30, 45)]
    _earn(ctx, f, other, 999)
    expect_json(_adjust(ctx, h["id"], -50, ctx.admin_token, reason="soap"), 201)
    res = resident_of(ctx, h, "4821")
    tok = res.token

    me = expect_json(ctx.get("/v1/residents/me", token=tok), 200)
    expect_eq((me["id"], me["balance"]), (h["id"], 145), "GET /v1/residents/me")
    bal = expect_json(ctx.get("/v1/residents/me/balance", token=tok), 200)
    expect_eq(bal, {"household_id": h["id"], "balance": 145}, "GET /v1/residents/me/balance")

    rows = read_pages(ctx, "/v1/residents/me/ledger", tok)
    expect_eq(rows, ledger_of(ctx, h["id"]), "resident ledger = the household's ledger")
    expect_eq([(x["kind"], x["delta"]) for x in rows],
              [("adjustment", -50), ("dropoff", 45), ("dropoff", 30), ("dropoff", 120)],
              "resident ledger rows")
    expect_eq(read_pages(ctx, "/v1/households/%d/ledger" % h["id"], tok), rows,
              "own ledger by id")

    ds = read_pages(ctx, "/v1/residents/me/dropoffs", tok)
    expect_eq([x["id"] for x in ds], [d["id"] for d in reversed(mine)], "own drop-offs, newest first")
    assert all(x["household_id"] == h["id"] for x in ds), ds
    # a household_id in the query does not widen the view
    ds2 = read_pages(ctx, "/v1/residents/me/dropoffs?household_id=%d" % other["id"], tok)
    assert all(x["household_id"] == h["id"] for x in ds2), \
        "the resident's drop-off list shows another household's: %r" % ds2


def test_ledger_resident_cannot_read_another_households_ledger(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"], pin="4821")
    other = mk_household(ctx, f.t.VA["id"])
    d = _earn(ctx, f, other, 100)
    tok = resident_of(ctx, h, "4821").token
    expect_error(ctx.get("/v1/households/%d/ledger" % other["id"], token=tok), 404, "not_found")
    expect_error(ctx.get("/v1/households/%d" % other["id"], token=tok), 404, "not_found")
    expect_error(ctx.get("/v1/dropoffs/%d" % d["id"], token=tok), 403, "forbidden")
    expect_error(ctx.get("/v1/dropoffs?household_id=%d" % other["id"], token=tok), 403,
                 "forbidden")
    expect_eq(read_pages(ctx, "/v1/residents/me/ledger", tok), [], "own ledger is empty")
    expect_eq(read_pages(ctx, "/v1/residents/me/dropoffs", tok), [], "own drop-offs empty")


def test_ledger_resident_balance_follows_each_movement(ctx):
    """The resident's balance (read from Redis) is the ledger's after every movement,
    and Redis holds the household's seq and balance."""
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"], pin="4821")
    tok = resident_of(ctx, h, "4821").token
    run_id = redis_run_id(ctx)

    def check(want, seq):
        got = expect_json(ctx.get("/v1/residents/me/balance", token=tok), 200)["balance"]
        expect_eq(got, want, "resident balance")
        rb = redis_balance(ctx, h["id"])
        expect_eq(rb, (seq, want, run_id), "Redis bal:{h:%d}" % h["id"])

    d = _earn(ctx, f, h, 400)
    check(400, 1)
    expect_json(_adjust(ctx, h["id"], -150, ctx.admin_token), 201)
    check(250, 2)
    expect_json(_reverse(ctx, d["id"], ctx.admin_token), 200)
    check(0, 3)
    # a lost cache entry is read from MariaDB and filled again; the drop-off first
    # settles the reversal's shortfall of 150 (a recovery row)
    ctx.redis("DEL", "bal:{h:%d}" % h["id"])
    _earn(ctx, f, h, 160)
    check(10, 5)
    ctx.redis("DEL", "bal:{h:%d}" % h["id"])
    got = expect_json(ctx.get("/v1/residents/me/balance", token=tok), 200)["balance"]
    expect_eq(got, 10, "balance after the cache entry was lost")
    expect_eq(redis_balance(ctx, h["id"]), (5, 10, run_id), "refilled from MariaDB")
