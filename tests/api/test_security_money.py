"""Regressions of the security review and the fault test that touch money and the
store (issue "Close the holes a security review and a fault test found"): a store
outage is never a 4xx and a stored answer comes first; money movements need the
household in reach; a shortfall is a debt that later points settle; back-dating is
capped by the day of arrival; list filters outside reach are 404; the daily
adjustment limit; sign-in and shop PIN counters; NUL bytes in CSV; batches that do
not stall their worker.

Each test names the finding it covers (docs/security.md lists them)."""

import json
import threading
import time

from lib import expect_eq, expect_error, expect_json, expect_status
from test_ledger import (Acct, Tree, check_ledger_consistent, dropoff_body, dropoff_ok,
                         expect_ledger_check_ok, get_household, ledger_check, ledger_of,
                         mk_category, mk_household, mk_region, mk_site, mk_staff, new_key,
                         post_dropoff, set_rate, tag, uploaded_ok, wait_catalog, when)
from test_redeem import (PIN, WRONG, card, fund, mk_clerk, mk_shop, redeem, redeemed,
                         void)

_FX = None


def fx(ctx):
    """province > county A (towns TA, TB2) and county B.  SA: a drop-off site in TA.
    att_county: an attendant the admin made at SA (it reaches county A); ra_ta: the
    region admin of town TA; shop SH in TA with clerk_county (county-wide, made by the
    admin); households in TA's village and in the other town's village."""
    global _FX
    if _FX is not None:
        return _FX
    t0 = time.monotonic()
    f = Tree()
    f.g = mk_category(ctx, "g")                       # 1 point a gram, no cap
    set_rate(ctx, f.g, 1000)
    f.cap = mk_category(ctx, "g", daily_cap=100)      # 1 point a gram, 100 a day
    set_rate(ctx, f.cap, 1000)
    f.prov = mk_region(ctx, None, "province")
    f.A = mk_region(ctx, f.prov["id"], "county")
    f.TA = mk_region(ctx, f.A["id"], "town")
    f.VA = mk_region(ctx, f.TA["id"], "village")
    f.TB2 = mk_region(ctx, f.A["id"], "town")
    f.VB2 = mk_region(ctx, f.TB2["id"], "village")
    f.B = mk_region(ctx, f.prov["id"], "county")
    f.TB = mk_region(ctx, f.B["id"], "town")
    f.VB = mk_region(ctx, f.TB["id"], "village")
    f.SA = mk_site(ctx, f.TA["id"])
    f.SB = mk_site(ctx, f.TB["id"])
    f.att_county = mk_staff(ctx, "attendant", f.TA["id"], site_id=f.SA["id"])
    f.att_b = mk_staff(ctx, "attendant", f.TB["id"], site_id=f.SB["id"])
    f.ra_ta = mk_staff(ctx, "region_admin", f.TA["id"])
    f.ra_a = mk_staff(ctx, "region_admin", f.A["id"])
    f.SH = mk_shop(ctx, f.TA["id"])
    f.SHB = mk_shop(ctx, f.TB["id"])
    f.clerk_county = mk_clerk(ctx, f.SH)
    wait_catalog(t0)
    _FX = f
    return f


def _g(f, grams=1000):
    return [{"category": f.g, "grams": grams}]


def _reverse(ctx, did, token, reason="weighed wrong"):
    return ctx.post("/v1/dropoffs/%d/reverse" % did, {"reason": reason}, token=token)


def _adjust(ctx, hid, points, token, key=None, reason="correction", client=None):
    c = client or ctx.client
    return c.call("POST", "/v1/households/%d/adjustments" % hid,
                  {"points": points, "reason": reason}, token=token,
                  headers={"Idempotency-Key": key or new_key("adj")})


def _count(ctx, sql):
    return int(ctx.sql(sql)[0][0])


# ----------------------------------------------------------------------------- 0. store errors

def test_security_store_down_is_503_never_unknown_category(ctx):
    """Finding 0: with MariaDB down, a valid drop-off answered 400 "unknown category"
    (the catalogue loader's error read as "not found").  Now: 503 unavailable."""
    f = fx(ctx)
    h = mk_household(ctx, f.VA["id"])
    dropoff_ok(ctx, f.att_county.token, h["code"], _g(f))     # every link warm
    ctx.services("stop-mariadb")
    try:
        time.sleep(2.5)             # the per-worker catalogue cache (2 s) has expired
        for i in range(8):
            r = post_dropoff(ctx, f.att_county.token, dropoff_body(h["code"], _g(f)))
            assert r.status in (503,), "drop-off %d while MariaDB is down: %r" % (i, r)
            expect_eq(r.json["error"]["code"], "unavailable", "error code")
            r = ctx.post("/v1/rates", {"category": f.g, "region_id": None,
                                       "points_per_unit": 7, "effective_from": when()},
                         token=ctx.admin_token)
            expect_error(r, 503, "unavailable")
    finally:
        ctx.services("start-mariadb")


def test_security_stored_answer_wins_over_the_catalogue(ctx):
    """Finding 0: the catalogue check ran before the idempotency replay, so the retry of
    a committed drop-off could be refused.  A stored key gets its stored answer whatever
    the catalogue says now: here the category's code is renamed under the server."""
    f = fx(ctx)
    t0 = time.monotonic()
    cat = mk_category(ctx, "g")
    set_rate(ctx, cat, 1000)
    wait_catalog(t0)
    h = mk_household(ctx, f.VA["id"])
    key = new_key("cat")
    body = dropoff_body(h["code"], [{"category": cat, "grams": 250}])
    first = expect_json(post_dropoff(ctx, f.att_county.token, body, key=key), 201)
    # a batch item stored under its client_ref, too
    ref = new_key("catref")
    item = dict(body, client_ref=ref)
    up = expect_json(ctx.post("/v1/dropoffs/batch", {"dropoffs": [item]},
                              token=f.att_county.token), 200)["results"][0]
    expect_eq(up["status"], "created", "the batch item")
    ctx.sql("UPDATE categories SET code = '%s_gone' WHERE code = '%s'" % (cat, cat))
    try:
        time.sleep(2.5)             # every worker's catalogue has been read again
        for i in range(6):
            again = expect_json(post_dropoff(ctx, f.att_county.token, body, key=key), 201)
            expect_eq((again["id"], again["points"], again["replayed"]),
                      (first["id"], 250, True), "replay %d of the stored drop-off" % i)
        res = expect_json(ctx.post("/v1/dropoffs/batch", {"dropoffs": [item]},
                                   token=f.att_county.token), 200)["results"][0]
        expect_eq((res["status"], res["dropoff"]["id"]), ("replayed", up["dropoff"]["id"]),
                  "the batch item replayed")
        # a new key with the vanished category is refused, and writes nothing
        r = post_dropoff(ctx, f.att_county.token, body)
        expect_error(r, 400, "invalid_request", "items[0].category")
    finally:
        ctx.sql("UPDATE categories SET code = '%s' WHERE code = '%s_gone'" % (cat, cat))
    expect_eq(len(ledger_of(ctx, h["id"])), 2, "ledger rows")


def test_security_first_request_after_mariadb_returns_succeeds_on_every_worker(ctx):
    """Finding 0: a worker whose link died while idle failed the first request after
    MariaDB returned.  The dead link is found before the first statement and replaced,
    and a worker that met the outage does not wait out a back-off once MariaDB is back
    (a refused connect costs nothing to try again)."""
    f = fx(ctx)
    srv = ctx.start_server({"WB_WORKERS": "4"})
    h = mk_household(ctx, f.VA["id"])
    for _ in range(16):             # warm every worker's link and the ledger thread's
        expect_status(srv.call("GET", "/v1/households/%d" % h["id"], token=ctx.admin_token),
                      200)
    expect_json(post_dropoff(ctx, f.att_county.token, dropoff_body(h["code"], _g(f)),
                             client=srv.client), 201)
    ctx.services("stop-mariadb")
    try:
        # requests during the outage: every worker finds MariaDB gone (503)
        for _ in range(16):
            expect_error(srv.call("GET", "/v1/households/%d" % h["id"], token=ctx.admin_token),
                         503, "unavailable")
    finally:
        ctx.services("start-mariadb")
    ctx.wait_until(lambda: ctx.sql("SELECT 1") == [("1",)], timeout=20)
    # no /readyz first: it would heal the links itself
    r = post_dropoff(ctx, f.att_county.token, dropoff_body(h["code"], _g(f)), client=srv.client)
    expect_status(r, 201, "the first drop-off after MariaDB returned")
    for i in range(24):
        r = srv.call("GET", "/v1/households/%d" % h["id"], token=ctx.admin_token)
        expect_status(r, 200, "request %d after MariaDB returned (fresh connection)" % i)
    srv.stop()


# ----------------------------------------------------------------------------- 1. money needs reach

def test_security_town_admin_cannot_reverse_a_household_outside_its_town(ctx):
    """Finding 1: a drop-off was reversible when its site or its household was in
    reach.  A county-wide attendant at a town-A site credits a household of town B2;
    town A's admin sees the drop-off (its site) but may not debit that household."""
    f = fx(ctx)
    h = mk_household(ctx, f.VB2["id"])
    d = dropoff_ok(ctx, f.att_county.token, h["code"], _g(f, 500))
    expect_status(ctx.get("/v1/dropoffs/%d" % d["id"], token=f.ra_ta.token), 200,
                  "the drop-off at its site is visible")
    expect_error(_reverse(ctx, d["id"], f.ra_ta.token), 404, "not_found")
    got = expect_json(ctx.get("/v1/dropoffs/%d" % d["id"], token=ctx.admin_token), 200)
    expect_eq(got["status"], "ok", "not reversed")
    expect_eq(get_household(ctx, h["id"])["balance"], 500, "balance untouched")
    # the county's admin reaches the household: it may
    expect_json(_reverse(ctx, d["id"], f.ra_a.token), 200)


def test_security_town_admin_cannot_void_for_a_household_outside_its_town(ctx):
    """Finding 1: a void gives points back to a household; the shop being in reach is
    not enough."""
    f = fx(ctx)
    h = mk_household(ctx, f.VB2["id"], pin=PIN)
    fund(ctx, h["id"], 300)
    rd = redeemed(ctx, f.clerk_county, card(h, points=120))
    expect_status(ctx.get("/v1/redemptions/%d" % rd["id"], token=f.ra_ta.token), 200,
                  "the redemption at its shop is visible")
    expect_error(void(ctx, rd["id"], f.ra_ta.token), 404, "not_found")
    expect_eq(get_household(ctx, h["id"])["balance"], 180, "balance untouched")
    body = expect_json(void(ctx, rd["id"], f.ra_a.token), 200)
    expect_eq(body["balance"], 300, "the county's admin voids it")


def test_security_town_admin_cannot_adjust_a_household_outside_its_town(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.VB2["id"])
    expect_error(_adjust(ctx, h["id"], 50, f.ra_ta.token), 404, "not_found")
    expect_eq(get_household(ctx, h["id"])["balance"], 0, "nothing written")


# ----------------------------------------------------------------------------- 2. debt

def test_security_void_after_reversal_settles_the_debt_first(ctx):
    """Finding 2: +1800, spend 1800, reverse (shortfall 1800), void the redemption: the
    1800 came back to the balance while the drop-off stayed reversed.  Now the points
    that come back settle the open shortfall first, with a recovery row."""
    f = fx(ctx)
    h = mk_household(ctx, f.VA["id"], pin=PIN)
    d = dropoff_ok(ctx, f.att_county.token, h["code"], _g(f, 1800))
    rd = redeemed(ctx, f.clerk_county, card(h, points=1800))
    expect_eq(rd["balance"], 0, "spent")
    rev = expect_json(_reverse(ctx, d["id"], ctx.admin_token), 200)
    expect_eq((rev["clawed_back"], rev["shortfall"], rev["debt"]), (0, 1800, 1800), "reversal")
    expect_eq(get_household(ctx, h["id"])["debt"], 1800, "the household shows its debt")
    v = expect_json(void(ctx, rd["id"], ctx.admin_token), 200)
    expect_eq((v["points"], v.get("recovered"), v["balance"]), (1800, 1800, 0),
              "the void's points go to the debt")
    hh = get_household(ctx, h["id"])
    expect_eq((hh["balance"], hh["debt"]), (0, 0), "balance and debt after the void")
    rows = check_ledger_consistent(ctx, h["id"])
    expect_eq([(x["kind"], x["delta"]) for x in rows],
              [("recovery", -1800), ("void", 1800), ("redemption", -1800), ("dropoff", 1800)],
              "ledger rows")
    expect_eq(rows[0]["ref_id"], rows[1]["seq"], "the recovery names the credit it took from")
    body = ledger_check(ctx)
    mine = [x for x in body["violations"] if x.get("household_id") == h["id"]]
    expect_eq(mine, [], "ledger check")


def test_security_adjustment_and_partial_credit_settle_the_debt(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.VA["id"], pin=PIN)
    d = dropoff_ok(ctx, f.att_county.token, h["code"], _g(f, 1000))
    redeemed(ctx, f.clerk_county, card(h, points=900))
    rev = expect_json(_reverse(ctx, d["id"], ctx.admin_token), 200)
    expect_eq((rev["clawed_back"], rev["debt"]), (100, 900), "reversal")
    a = expect_json(_adjust(ctx, h["id"], 400, ctx.admin_token), 201)
    expect_eq((a.get("recovered"), a["balance"]), (400, 0), "an adjustment settles 400")
    d2 = dropoff_ok(ctx, f.att_county.token, h["code"], _g(f, 700))
    expect_eq((d2["points"], d2.get("recovered"), d2["balance"]), (700, 500, 200),
              "a drop-off settles the last 500")
    d3 = dropoff_ok(ctx, f.att_county.token, h["code"], _g(f, 10))
    assert "recovered" not in d3, "nothing owed any more: %r" % d3
    expect_eq(get_household(ctx, h["id"])["debt"], 0, "settled")
    check_ledger_consistent(ctx, h["id"])


def test_security_ledger_check_sees_a_wrong_debt(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.VA["id"])
    dropoff_ok(ctx, f.att_county.token, h["code"], _g(f, 10))
    ctx.sql("UPDATE households SET debt = 5 WHERE id = %d" % h["id"])
    try:
        body = ledger_check(ctx)
        mine = [x for x in body["violations"] if x.get("household_id") == h["id"]]
        expect_eq([x["rule"] for x in mine], ["debt"], "violations of the household")
        assert body["ok"] is False
    finally:
        ctx.sql("UPDATE households SET debt = 0 WHERE id = %d" % h["id"])


# ----------------------------------------------------------------------------- 3. back-dating

def test_security_live_dropoff_may_go_back_ten_minutes_only(ctx):
    """Finding 3: a single drop-off could be back-dated 30 days, each day with a fresh
    cap.  Now a live one goes back at most 10 minutes; only an upload may go further."""
    f = fx(ctx)
    h = mk_household(ctx, f.VA["id"])
    for back in (11 * 60, 86400, 29 * 86400):
        r = post_dropoff(ctx, f.att_county.token,
                         dropoff_body(h["code"], _g(f), recorded_at=when(seconds=-back)))
        expect_error(r, 400, "invalid_request", "recorded_at")
    d = dropoff_ok(ctx, f.att_county.token, h["code"], _g(f), recorded_at=when(seconds=-540))
    expect_eq(d["backdated"], False, "9 minutes back is not back-dated")
    expect_eq(len(ledger_of(ctx, h["id"])), 1, "only the accepted one wrote")


def test_security_uploads_are_flagged_backdated_and_counted(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.VA["id"])

    def metric():
        text = ctx.get("/metrics").text
        for line in text.splitlines():
            if line.startswith("wastebank_dropoffs_backdated_total "):
                return int(line.split()[1])
        raise AssertionError("no wastebank_dropoffs_backdated_total in /metrics")

    before = metric()
    d = uploaded_ok(ctx, f.att_county.token, h["code"], _g(f), recorded_at=when(days=-2))
    expect_eq(d["backdated"], True, "an upload two days back")
    got = expect_json(ctx.get("/v1/dropoffs/%d" % d["id"], token=ctx.admin_token), 200)
    expect_eq(got.get("backdated"), True, "the stored drop-off is flagged")
    fresh = uploaded_ok(ctx, f.att_county.token, h["code"], _g(f), recorded_at=when(seconds=-60))
    expect_eq(fresh["backdated"], False, "an upload of a minute ago")
    ctx.wait_until(lambda: metric() >= before + 1, timeout=5,
                   message="wastebank_dropoffs_backdated_total did not count the upload")
    expect_eq(_count(ctx, "SELECT backdated FROM dropoffs WHERE id = %d" % d["id"]), 1, "row")


def test_security_arrival_day_caps_backdated_uploads(ctx):
    """Finding 3: what a household earns in one category on the day of arrival never
    exceeds WB_CAP_ARRIVAL_DAYS (7) daily caps, whatever days the drop-offs say."""
    f = fx(ctx)
    h = mk_household(ctx, f.VA["id"])
    items = [dict(dropoff_body(h["code"], [{"category": f.cap, "grams": 150}],
                               recorded_at=when(days=-k)), client_ref=new_key("arr%d" % k))
             for k in range(1, 11)]
    res = expect_json(ctx.post("/v1/dropoffs/batch", {"dropoffs": items},
                               token=f.att_county.token), 200)["results"]
    got = [x["dropoff"]["points"] for x in res]
    expect_eq(got, [100] * 7 + [0, 0, 0], "seven daily caps, then nothing")
    # today's own live drop-off is capped by the arrival day too
    d = dropoff_ok(ctx, f.att_county.token, h["code"], [{"category": f.cap, "grams": 50}])
    expect_eq((d["points"], d["capped"]), (0, True), "the day of arrival is full")
    expect_eq(get_household(ctx, h["id"])["balance"], 700, "balance")
    # a reversal frees the arrival day's room again
    expect_json(_reverse(ctx, res[0]["dropoff"]["id"], ctx.admin_token), 200)
    d = dropoff_ok(ctx, f.att_county.token, h["code"], [{"category": f.cap, "grams": 50}])
    expect_eq(d["points"], 50, "room after the reversal")


def test_security_arrival_cap_follows_the_setting(ctx):
    f = fx(ctx)
    srv = ctx.start_server({"WB_CAP_ARRIVAL_DAYS": "2"})
    h = mk_household(ctx, f.VA["id"])
    items = [dict(dropoff_body(h["code"], [{"category": f.cap, "grams": 150}],
                               recorded_at=when(days=-k)), client_ref=new_key("arr2%d" % k))
             for k in range(1, 4)]
    res = expect_json(srv.call("POST", "/v1/dropoffs/batch", {"dropoffs": items},
                               token=f.att_county.token), 200)["results"]
    expect_eq([x["dropoff"]["points"] for x in res], [100, 100, 0], "two daily caps")
    srv.stop()


# ----------------------------------------------------------------------------- 8. the rest

def test_security_list_filters_outside_reach_are_404(ctx):
    """Finding 8: list filters naming another county's site, shop or household answered
    200 with an empty list."""
    f = fx(ctx)
    hb = mk_household(ctx, f.VB["id"])
    for path, field in (("/v1/dropoffs?site_id=%d" % f.SB["id"], "site_id"),
                        ("/v1/redemptions?shop_id=%d" % f.SHB["id"], "shop_id"),
                        ("/v1/redemptions/summary?shop_id=%d" % f.SHB["id"], "shop_id")):
        expect_error(ctx.get(path, token=f.ra_a.token), 404, "not_found", field)
    expect_error(ctx.get("/v1/dropoffs?household_id=%d" % hb["id"], token=f.ra_a.token),
                 404, "not_found")
    expect_error(ctx.get("/v1/dropoffs?site_id=%d" % f.SB["id"], token=f.att_county.token),
                 404, "not_found", "site_id")
    expect_error(ctx.get("/v1/dropoffs?site_id=999999999", token=ctx.admin_token), 404,
                 "not_found", "site_id")
    # within reach, the filters still list
    expect_status(ctx.get("/v1/dropoffs?site_id=%d" % f.SA["id"], token=f.ra_a.token), 200)
    expect_status(ctx.get("/v1/redemptions?shop_id=%d" % f.SH["id"], token=f.ra_a.token), 200)


def test_security_adjustments_have_a_daily_limit_per_region_admin(ctx):
    """Finding 8: the adjustment limit was per request, so five of 10,000 went through.
    A region admin may adjust at most WB_ADJUST_DAILY_LIMIT points (either way) in 24 h."""
    f = fx(ctx)
    srv = ctx.start_server({"WB_ADJUST_DAILY_LIMIT": "100"})
    ra = mk_staff(ctx, "region_admin", f.A["id"])
    h = mk_household(ctx, f.VA["id"])
    k1 = new_key("lim")
    a = expect_json(_adjust(ctx, h["id"], 60, ra.token, key=k1, client=srv.client), 201)
    expect_eq(a.get("approved_by"), ra.id, "the adjustment records who approved it")
    expect_json(_adjust(ctx, h["id"], -30, ra.token, client=srv.client), 201)
    r = _adjust(ctx, h["id"], 20, ra.token, client=srv.client)
    expect_error(r, 403, "forbidden", "points")
    expect_eq(get_household(ctx, h["id"])["balance"], 30, "the refused one wrote nothing")
    # a stored answer still replays past the limit
    again = expect_json(_adjust(ctx, h["id"], 60, ra.token, key=k1, client=srv.client), 201)
    expect_eq((again["id"], again["replayed"]), (a["id"], True), "replay")
    # 10 more fit exactly; another region admin has its own budget; an admin has none
    expect_json(_adjust(ctx, h["id"], 10, ra.token, client=srv.client), 201)
    other = mk_staff(ctx, "region_admin", f.A["id"])
    expect_json(_adjust(ctx, h["id"], 100, other.token, client=srv.client), 201)
    expect_json(_adjust(ctx, h["id"], 5000, ctx.admin_token, client=srv.client), 201)
    srv.stop()


def _at_once(n, fn):
    """fn(0) .. fn(n-1) from n threads released together; their results in order."""
    out = [None] * n
    barrier = threading.Barrier(n)

    def one(i):
        barrier.wait()
        out[i] = fn(i)

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    return out


def test_security_daily_limit_holds_under_concurrent_adjustments(ctx):
    f = fx(ctx)
    srv = ctx.start_server({"WB_ADJUST_DAILY_LIMIT": "100"})
    ra = mk_staff(ctx, "region_admin", f.A["id"])
    tok = ra.token
    hs = [mk_household(ctx, f.VA["id"]) for _ in range(4)]
    out = _at_once(12, lambda i: _adjust(ctx, hs[i % 4]["id"], 25, tok, client=srv.client).status)
    expect_eq(sorted(out), [201] * 4 + [403] * 8, "four of 25 fit in 100")
    total = sum(get_household(ctx, h["id"])["balance"] for h in hs)
    expect_eq(total, 100, "points adjusted")
    srv.stop()


def test_security_daily_limit_holds_for_one_admin_over_two_servers(ctx):
    """One region admin adjusts twelve households at once, half through each of two
    servers (two ledger connections, no household shared, so nothing but the admin's
    staff row orders them): exactly four of 25 fit in the daily 100. Each group locks
    the admin's row before its transaction takes its snapshot, so the total it reads
    holds every adjustment committed before it."""
    f = fx(ctx)
    env = {"WB_ADJUST_DAILY_LIMIT": "100"}
    a, b = ctx.start_server(env), ctx.start_server(env)
    try:
        ra = mk_staff(ctx, "region_admin", f.A["id"])
        tok = ra.token
        hs = [mk_household(ctx, f.VA["id"]) for _ in range(12)]
        out = _at_once(12, lambda i: _adjust(ctx, hs[i]["id"], 25, tok,
                                             client=(a, b)[i % 2].client).status)
        expect_eq(sorted(out), [201] * 4 + [403] * 8, "four of 25 fit in 100")
        expect_eq(sum(get_household(ctx, h["id"])["balance"] for h in hs), 100, "points adjusted")
    finally:
        a.stop()
        b.stop()


def test_security_sign_in_failures_do_not_lock_the_shop(ctx):
    """Finding 8: anyone holding the door card could lock a household's PIN at the
    sign-in page.  Sign-in and shops keep separate counts and locks."""
    f = fx(ctx)
    h = mk_household(ctx, f.VA["id"], pin=PIN)
    fund(ctx, h["id"], 100)
    for i in range(4):
        expect_error(ctx.post("/v1/auth/resident", {"code": h["code"], "pin": WRONG}),
                     401, "bad_credentials")
    r = ctx.post("/v1/auth/resident", {"code": h["code"], "pin": WRONG})
    expect_error(r, 423, "pin_locked")
    expect_error(ctx.post("/v1/auth/resident", {"code": h["code"], "pin": PIN}), 423,
                 "pin_locked")
    rd = redeemed(ctx, f.clerk_county, card(h, points=10))
    expect_eq(rd["balance"], 90, "the shop still takes the right PIN")


def test_security_shop_failures_do_not_lock_sign_in(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.VA["id"], pin=PIN)
    fund(ctx, h["id"], 100)
    clerk = mk_clerk(ctx, f.SH)             # its own failure budget
    for i in range(4):
        expect_error(redeem(ctx, clerk, card(h, pin=WRONG, points=5)), 403, "bad_pin")
    expect_error(redeem(ctx, clerk, card(h, pin=WRONG, points=5)), 423, "pin_locked")
    expect_error(redeem(ctx, clerk, card(h, points=5)), 423, "pin_locked")
    r = ctx.post("/v1/auth/resident", {"code": h["code"], "pin": PIN})
    expect_json(r, 200)


def test_security_import_refuses_nul_bytes_with_their_line(ctx):
    """Finding 8: a NUL byte cut a CSV field short.  It is refused with its line, and
    nothing is created."""
    f = fx(ctx)
    before = _count(ctx, "SELECT COUNT(*) FROM households WHERE region_id = %d" % f.VA["id"])
    data = ("region_code,head_name,address\r\n"
            "%s,Good Name,1 Lane\r\n"
            "%s,Bad\x00Name,2 Lane\r\n"
            "%s,Also Good,3 Lane\r\n" % (f.VA["code"], f.VA["code"], f.VA["code"]))
    r = ctx.post("/v1/households/import", raw=data.encode("utf-8"), token=ctx.admin_token,
                 content_type="text/csv")
    body = expect_error(r, 400, "invalid_request")
    expect_eq([(e["line"], e["field"]) for e in r.json["errors"]], [(3, "row")], "errors")
    assert "NUL" in r.json["errors"][0]["message"], r.json
    expect_eq(_count(ctx, "SELECT COUNT(*) FROM households WHERE region_id = %d"
                     % f.VA["id"]), before, "nothing imported")
    del body


def test_security_batch_does_not_stall_its_worker(ctx):
    """Finding 8: a 500-item batch held its worker for 1.2 s while health probes waited.
    On a server with one worker, probes sent during a big batch answer at once."""
    f = fx(ctx)
    srv = ctx.start_server({"WB_WORKERS": "1"})
    hs = [mk_household(ctx, f.VA["id"]) for _ in range(50)]
    run = tag(8)
    lines = [{"category": f.cap, "grams": 3}, {"category": f.g, "grams": 5}] * 10
    items = [dict(dropoff_body(hs[i % 50]["code"], lines), client_ref="st%s-%d" % (run, i))
             for i in range(500)]
    done = {}

    def send():
        t0 = time.monotonic()
        r = srv.call("POST", "/v1/dropoffs/batch", {"dropoffs": items},
                     token=f.att_county.token, timeout=60)
        done["status"] = r.status
        done["took"] = time.monotonic() - t0
        done["body"] = r.json

    t = threading.Thread(target=send)
    t.start()
    probes = []
    while t.is_alive() and len(probes) < 5000:
        t0 = time.monotonic()
        expect_status(srv.call("GET", "/healthz"), 200)
        probes.append(time.monotonic() - t0)
    t.join(60)
    expect_eq(done.get("status"), 200, "the batch")
    statuses = [x["status"] for x in done["body"]["results"]]
    expect_eq(statuses, ["created"] * 500, "every item")
    worst = max(probes) if probes else 0
    assert done["took"] > 0.2 and len(probes) >= 3, \
        "the batch took %.2f s (%d probes): too short to show a stall" % (done["took"], len(probes))
    # a worker held by the batch makes one probe wait for most of it
    limit = max(0.06, 0.3 * done["took"])
    assert worst < limit, ("a /healthz waited %.0f ms during a %.2f s batch (%d probes)"
                           % (worst * 1000, done["took"], len(probes)))
    srv.stop()
    expect_ledger_check_ok(ctx)
