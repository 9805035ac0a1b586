"""Redemptions under concurrency and abuse: no double spend of a balance or of a pay
code across two server instances sharing MariaDB and Redis, and the clerk's failure
budget (api.md "Shops, catalog, redemptions": "Two clerks redeeming the same household
at once can never take it below 0, on one server or on several"; design.md "Security
model" (pay codes, clerk failure budget))."""

import re
import secrets
import threading
import time

from lib import expect_eq, expect_error, expect_json
from test_redeem import (WRONG, balance_of, card, funded, fx, ledger_of, mk_clerk,
                         new_pay_code, paying, redeem, redeemed, resident_token,
                         violations_for)

CLERK_FAIL_WINDOW = 600


def _fire(n, send):
    """Run send(i) for i in 0..n-1 from n threads released together; returns the
    results (a Response or the exception raised)."""
    barrier = threading.Barrier(n)
    out = [None] * n

    def run(i):
        try:
            barrier.wait(60)
            out[i] = send(i)
        except Exception as e:  # noqa: BLE001 - reported by the caller
            out[i] = e

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert not any(t.is_alive() for t in threads), "some requests never finished"
    errors = [(i, o) for i, o in enumerate(out) if isinstance(o, Exception)]
    assert not errors, "requests failed with exceptions: %r" % errors[:5]
    return out


def _code(r):
    return (r.json or {}).get("error", {}).get("code") if r.status >= 400 else None


def _tally(results):
    t = {}
    for r in results:
        k = (r.status, _code(r))
        t[k] = t.get(k, 0) + 1
    return t


def _metric(client, name):
    r = client.call("GET", "/metrics")
    assert r.status == 200, "GET /metrics: %r" % r
    m = re.search(r"^%s(?:\{[^}]*\})? (\d+(?:\.\d+)?)$" % re.escape(name), r.text, re.M)
    assert m, "no %s in /metrics" % name
    return float(m.group(1))


def _clear_of_window_edge(margin=20):
    """The clerk's failures count in 10-minute windows: keep a test's failures in one."""
    left = CLERK_FAIL_WINDOW - time.time() % CLERK_FAIL_WINDOW
    if left < margin:
        time.sleep(left + 1)


# ----------------------------------------------------------------------------- double spend

def test_redeem_no_double_spend_across_two_servers(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 1000)
    srv = ctx.start_server({})
    try:
        clerks = [mk_clerk(ctx, w.S1), mk_clerk(ctx, w.S1)]
        tokens = [c.token for c in clerks]
        clients = [ctx.client, srv.client]
        run = secrets.token_hex(4)

        def send(i):
            return redeem(ctx, tokens[i % 2], card(h, points=100), key="ds-%s-%d" % (run, i),
                          client=clients[i % 2], timeout=120)

        results = _fire(50, send)
        tally = _tally(results)
        expect_eq(tally, {(201, None): 10, (409, "insufficient_points"): 40},
                  "answers (status, error code) of 50 concurrent 100-point redemptions of 1000")
        ok = [r.json for r in results if r.status == 201]
        expect_eq(sorted(d["balance"] for d in ok), list(range(0, 1000, 100)),
                  "the balances the 201s report")
        assert all(d["replayed"] is False for d in ok), "a 201 says replayed"
        for r in results:
            if r.status == 409:
                expect_error(r, 409, "insufficient_points")
        expect_eq(balance_of(ctx, h["id"]), 0, "balance")
        got = expect_json(srv.call("GET", "/v1/households/%d" % h["id"], token=ctx.admin_token), 200)
        expect_eq(got["balance"], 0, "balance read on the second server")
        rows = [x for x in ledger_of(ctx, h["id"]) if x["kind"] == "redemption"]
        expect_eq(len(rows), 10, "redemption ledger rows")
        expect_eq(sorted(x["ref_id"] for x in rows), sorted(d["id"] for d in ok),
                  "the ledger rows are the 201s")
        expect_eq(ctx.sql("SELECT COUNT(*) FROM redemptions WHERE household_id = %d" % h["id"]),
                  [("10",)], "redemption rows in MariaDB")
        assert all(x["balance_after"] >= 0 for x in ledger_of(ctx, h["id"])), "negative balance"
        bad = violations_for(ctx, [h["id"]])
        assert not bad, "ledger-check violations: %r" % bad
    finally:
        srv.stop()


def test_redeem_pay_code_spends_once_across_two_servers(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 10000)
    tok = resident_token(ctx, h)
    pc = new_pay_code(ctx, tok)["pay_code"]
    srv = ctx.start_server({})
    try:
        clerks = [mk_clerk(ctx, w.S1), mk_clerk(ctx, w.S1)]
        tokens = [c.token for c in clerks]
        clients = [ctx.client, srv.client]
        run = secrets.token_hex(4)

        def send(i):
            return redeem(ctx, tokens[i % 2], paying(pc, points=100), key="pc-%s-%d" % (run, i),
                          client=clients[i % 2], timeout=120)

        results = _fire(20, send)
        expect_eq(_tally(results), {(201, None): 1, (404, "unknown_pay_code"): 19},
                  "answers of 20 concurrent uses of one pay code")
        d = [r.json for r in results if r.status == 201][0]
        expect_eq((d["points"], d["balance"], d["consent"]), (100, 9900, "pay_code"), "the 201")
        expect_eq(balance_of(ctx, h["id"]), 9900, "balance reduced once")
        expect_eq(ctx.sql("SELECT COUNT(*) FROM pay_code_uses WHERE code = '%s'" % pc), [("1",)],
                  "pay_code_uses rows of the code")
        expect_eq(ctx.sql("SELECT COUNT(*) FROM redemptions WHERE household_id = %d" % h["id"]),
                  [("1",)], "redemption rows")
        expect_eq(len([x for x in ledger_of(ctx, h["id"]) if x["kind"] == "redemption"]), 1,
                  "redemption ledger rows")
        bad = violations_for(ctx, [h["id"]])
        assert not bad, "ledger-check violations: %r" % bad
    finally:
        srv.stop()


def test_redeem_concurrent_items_never_oversell_stock(ctx):
    """30 households buy the last 7 of an item at once over two servers: 7 sales, stock
    0, never below."""
    w = fx(ctx)
    item = expect_json(ctx.post("/v1/shops/%d/items" % w.S1["id"],
                                {"name": "scarce", "points": 10, "stock": 7},
                                token=ctx.admin_token), 201)
    hs = [funded(ctx, w.VA["id"], 100) for _ in range(30)]
    srv = ctx.start_server({})
    try:
        clerks = [mk_clerk(ctx, w.S1), mk_clerk(ctx, w.S1)]
        tokens = [c.token for c in clerks]
        clients = [ctx.client, srv.client]

        def send(i):
            return redeem(ctx, tokens[i % 2], card(hs[i], items=[{"item_id": item["id"], "qty": 1},
                                                                 {"item_id": w.soap["id"], "qty": 1}]),
                          client=clients[i % 2], timeout=120)

        results = _fire(30, send)
        expect_eq(_tally(results), {(201, None): 7, (409, "out_of_stock"): 23}, "answers")
        got = [x for x in expect_json(ctx.get("/v1/shops/%d/items?limit=500" % w.S1["id"],
                                              token=ctx.admin_token), 200)["items"]
               if x["id"] == item["id"]]
        expect_eq(got[0]["stock"] if got else "missing", 0, "stock")
        expect_eq(sum(balance_of(ctx, x["id"]) for x in hs), 30 * 100 - 7 * 20, "balances")
    finally:
        srv.stop()


# ----------------------------------------------------------------------------- clerk budget

def test_redeem_clerk_failure_budget_gives_429_and_an_alert(ctx):
    w = fx(ctx)
    srv = ctx.start_server({"WB_CLERK_FAIL_LIMIT": "3"})
    try:
        _clear_of_window_edge()
        clerk = mk_clerk(ctx, w.S1)
        mate = mk_clerk(ctx, w.S1)
        h = funded(ctx, w.VA["id"], 500)
        tok = resident_token(ctx, h)
        c = srv.client
        before = _metric(c, "wastebank_clerk_fail_alerts_total")
        redeemed(ctx, clerk, card(h, points=10), client=c)
        expect_error(redeem(ctx, clerk, card(h, pin=WRONG, points=10), client=c), 403, "bad_pin")
        expect_error(redeem(ctx, clerk, paying("000000000001", points=10), client=c), 404,
                     "unknown_pay_code")
        expect_eq(_metric(c, "wastebank_clerk_fail_alerts_total"), before,
                  "no alert before the budget is used up")
        expect_error(redeem(ctx, clerk, card(h, pin=WRONG, points=10), client=c), 403, "bad_pin")
        window = int(time.time()) // CLERK_FAIL_WINDOW
        expect_eq(ctx.sql("SELECT fail_window, fail_count FROM staff WHERE id = %d" % clerk.id),
                  [(str(window), "3")], "the clerk's failure count, on its staff row")
        # the budget is used up: the next redemptions are refused, right PIN or not
        pc = new_pay_code(ctx, tok)["pay_code"]
        for body in (card(h, points=10), paying(pc, points=10), card(h, pin=WRONG, points=10)):
            r = redeem(ctx, clerk, body, client=c)
            expect_error(r, 429, "rate_limited")
            ra = r.headers.get("Retry-After", "")
            assert ra.isdigit() and 0 < int(ra) <= CLERK_FAIL_WINDOW, \
                "429 without a Retry-After of 1..600 s: %r" % r
        after = _metric(c, "wastebank_clerk_fail_alerts_total")
        assert after >= before + 1, \
            "wastebank_clerk_fail_alerts_total did not increase (%s -> %s)" % (before, after)
        expect_eq(balance_of(ctx, h["id"]), 490, "nothing spent past the budget")
        # another clerk of the shop has a budget of its own; the pay code was not consumed
        d = redeemed(ctx, mate, paying(pc, points=10), client=c)
        expect_eq(d["balance"], 480, "the other clerk, with the same pay code")
        # the wrong PIN refused with 429 was not tried: two failures so far, this is the third
        err = expect_error(redeem(ctx, mate, card(h, pin=WRONG, points=1), client=c), 403, "bad_pin")
        expect_eq(err.get("attempts_left"), 2, "attempts_left (a 429 tries no PIN)")
    finally:
        srv.stop()


def test_redeem_clerk_failure_budget_holds_for_a_burst_over_two_servers(ctx):
    """24 wrong PINs sent at once by one clerk, each for its own household, half through
    each of two servers with a budget of 5: exactly 5 are tried (bad_pin, one PIN
    failure each) and 19 refused 429 untried, however the ledger groups them; the
    count on the clerk's row says 5, and the next redemption, right PIN or not, is
    429 on either server."""
    w = fx(ctx)
    env = {"WB_CLERK_FAIL_LIMIT": "5"}
    a, b = ctx.start_server(env), ctx.start_server(env)
    try:
        _clear_of_window_edge(60)
        clerk = mk_clerk(ctx, w.S1)
        tok = clerk.token                       # signed in once, before the burst
        hh = [funded(ctx, w.VA["id"], 50) for _ in range(24)]
        clients = [a.client, b.client]

        def send(i):
            return redeem(ctx, tok, card(hh[i], pin=WRONG, points=5),
                          client=clients[i % 2], timeout=120)

        results = _fire(24, send)
        expect_eq(_tally(results), {(403, "bad_pin"): 5, (429, "rate_limited"): 19},
                  "answers (status, error code) of the burst")
        for r in results:
            if r.status == 429:
                ra = r.headers.get("Retry-After", "")
                assert ra.isdigit() and 0 < int(ra) <= CLERK_FAIL_WINDOW, r
        ids = ",".join(str(h["id"]) for h in hh)
        expect_eq(ctx.sql("SELECT COALESCE(SUM(pin_failures), 0) FROM households WHERE id IN (%s)"
                          % ids), [("5",)], "PIN failures counted: only the 5 tried")
        window = int(time.time()) // CLERK_FAIL_WINDOW
        expect_eq(ctx.sql("SELECT fail_window, fail_count FROM staff WHERE id = %d" % clerk.id),
                  [(str(window), "5")], "the clerk's failure count")
        for c in clients:
            expect_error(redeem(ctx, tok, card(hh[0], points=5), client=c), 429,
                         "rate_limited")
        expect_eq(sum(balance_of(ctx, h["id"]) for h in hh), 24 * 50, "nothing spent")
    finally:
        a.stop()
        b.stop()


def test_redeem_replay_is_answered_past_the_clerk_failure_budget(ctx):
    """Replays come before every other check (api.md "Checks in this order: body (400)
    -> idempotency replay/conflict -> ..."): a clerk whose budget is used up still gets
    the stored answer of a redemption it made (a device retrying after a lost answer)."""
    w = fx(ctx)
    srv = ctx.start_server({"WB_CLERK_FAIL_LIMIT": "2"})
    try:
        _clear_of_window_edge()
        clerk = mk_clerk(ctx, w.S1)
        h = funded(ctx, w.VA["id"], 100)
        c = srv.client
        key = "budget-" + secrets.token_hex(6)
        first = redeemed(ctx, clerk, card(h, points=10), key=key, client=c)
        for _ in range(2):
            expect_error(redeem(ctx, clerk, paying("%012d" % secrets.randbelow(10 ** 12),
                                                   points=10), client=c), 404, "unknown_pay_code")
        expect_error(redeem(ctx, clerk, card(h, points=10), client=c), 429, "rate_limited")
        r = redeem(ctx, clerk, card(h, points=10), key=key, client=c)
        again = expect_json(r, 201)
        expect_eq((again["id"], again["replayed"]), (first["id"], True), "replay past the budget")
        expect_eq(balance_of(ctx, h["id"]), 90, "spent once")
    finally:
        srv.stop()


def test_redeem_clerk_failure_budget_default_is_20(ctx):
    w = fx(ctx)
    _clear_of_window_edge()
    clerk = mk_clerk(ctx, w.S1)
    h = funded(ctx, w.VA["id"], 100)
    for i in range(20):
        code = "%012d" % (secrets.randbelow(10 ** 12))
        r = redeem(ctx, clerk, paying(code, points=10))
        if r.status != 404:
            raise AssertionError("failure %d of 20: expected 404 unknown_pay_code, got %r"
                                 % (i + 1, r))
    r = redeem(ctx, clerk, card(h, points=10))
    expect_error(r, 429, "rate_limited")
    assert (r.headers.get("Retry-After") or "").isdigit(), "429 without Retry-After: %r" % r
    expect_eq(balance_of(ctx, h["id"]), 100, "nothing spent")


# ----------------------------------------------------------------------------- more races

def test_redeem_concurrent_twins_spend_once(ctx):
    """The same request (same key) sent 12 times at once over two servers: one
    redemption, every answer its 201 (11 of them replayed), never a 500."""
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 1000)
    srv = ctx.start_server({})
    try:
        clerks = [mk_clerk(ctx, w.S1), mk_clerk(ctx, w.S1)]
        tokens = [c.token for c in clerks]
        clients = [ctx.client, srv.client]
        key = "twin-" + secrets.token_hex(6)
        body = card(h, items=[{"item_id": w.oil["id"], "qty": 3}])

        def send(i):
            return redeem(ctx, tokens[i % 2], body, key=key, client=clients[i % 2], timeout=120)

        results = _fire(12, send)
        expect_eq(_tally(results), {(201, None): 12}, "answers of 12 concurrent twins")
        ids = {r.json["id"] for r in results}
        expect_eq(len(ids), 1, "one redemption id")
        expect_eq(sorted(r.json["replayed"] for r in results), [False] + [True] * 11,
                  "replayed flags")
        expect_eq(balance_of(ctx, h["id"]), 850, "spent once")
        expect_eq(ctx.sql("SELECT COUNT(*) FROM redemptions WHERE household_id = %d" % h["id"]),
                  [("1",)], "redemption rows")
    finally:
        srv.stop()


def test_redeem_concurrent_wrong_pins_lock_after_five(ctx):
    """16 wrong PINs at once from 4 clerks over two servers: 4 answer bad_pin (attempts
    left 4, 3, 2, 1), the rest pin_locked; then the right PIN is locked out on both."""
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 100)
    srv = ctx.start_server({})
    try:
        _clear_of_window_edge()
        tokens = [mk_clerk(ctx, w.S1).token for _ in range(4)]
        clients = [ctx.client, srv.client]

        def send(i):
            return redeem(ctx, tokens[i % 4], card(h, pin=WRONG, points=10),
                          client=clients[i % 2], timeout=120)

        results = _fire(16, send)
        expect_eq(_tally(results), {(403, "bad_pin"): 4, (423, "pin_locked"): 12},
                  "answers of 16 concurrent wrong PINs")
        expect_eq(sorted(r.json["error"].get("attempts_left") for r in results if r.status == 403),
                  [1, 2, 3, 4], "attempts_left of the bad_pin answers")
        fresh = mk_clerk(ctx, w.S1)
        for c in clients:
            r = redeem(ctx, fresh, card(h, points=10), client=c)
            expect_error(r, 423, "pin_locked")
            assert (r.headers.get("Retry-After") or "").isdigit(), "423 without Retry-After: %r" % r
        expect_eq(balance_of(ctx, h["id"]), 100, "nothing spent")
    finally:
        srv.stop()


def test_redeem_concurrent_voids_return_points_once(ctx):
    w = fx(ctx)
    item = expect_json(ctx.post("/v1/shops/%d/items" % w.S1["id"],
                                {"name": "vase", "points": 25, "stock": 4},
                                token=ctx.admin_token), 201)
    h = funded(ctx, w.VA["id"], 100)
    d = redeemed(ctx, w.c1, card(h, items=[{"item_id": item["id"], "qty": 2}]))
    srv = ctx.start_server({})
    try:
        clients = [ctx.client, srv.client]

        def send(i):
            return clients[i % 2].call("POST", "/v1/redemptions/%d/void" % d["id"],
                                       {"reason": "race %d" % i}, token=ctx.admin_token,
                                       timeout=120)

        results = _fire(10, send)
        expect_eq(_tally(results), {(200, None): 1, (409, "already_voided"): 9},
                  "answers of 10 concurrent voids")
        expect_eq(balance_of(ctx, h["id"]), 100, "points back once")
        got = [x for x in expect_json(ctx.get("/v1/shops/%d/items?limit=500" % w.S1["id"],
                                              token=ctx.admin_token), 200)["items"]
               if x["id"] == item["id"]]
        expect_eq(got[0]["stock"], 4, "stock back once")
        expect_eq([x["kind"] for x in ledger_of(ctx, h["id"])].count("void"), 1, "one void row")
        bad = violations_for(ctx, [h["id"]])
        assert not bad, "ledger-check violations: %r" % bad
    finally:
        srv.stop()
