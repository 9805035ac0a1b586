"""The one ledger engine (db/engine.c): every kind of movement in one group, each with
its own answer; twins inside one group and across groups; a failing movement does not
fail the others; PIN counters count exactly when grouped; the retry storm.

To make a group form on purpose, a test holds one household's row lock from its own
MariaDB session: the ledger thread's current group waits on it, everything sent
meanwhile queues, and when the lock is let go the queue runs as the next group
(WB_LEDGER_THREADS=1).  The /metrics counters of groups and movements prove it."""

import datetime
import re
import secrets
import subprocess
import threading
import time

from lib import expect_eq, expect_error, expect_json, expect_status
from test_ledger import (Tree, check_ledger_consistent, dropoff_body, dropoff_ok,
                         get_household, ledger_of, mk_category, mk_household, mk_region,
                         mk_site, mk_staff, new_key, post_dropoff, set_rate, wait_catalog)
from test_redeem import PIN, WRONG, card, fund, mk_clerk, mk_shop, redeem, redeemed

_FX = None


def fx(ctx):
    global _FX
    if _FX is not None:
        return _FX
    t0 = time.monotonic()
    f = Tree()
    f.g = mk_category(ctx, "g")                    # 1 point a gram
    set_rate(ctx, f.g, 1000)
    f.prov = mk_region(ctx, None, "province")
    f.A = mk_region(ctx, f.prov["id"], "county")
    f.T = mk_region(ctx, f.A["id"], "town")
    f.V = mk_region(ctx, f.T["id"], "village")
    f.S = mk_site(ctx, f.T["id"])
    f.att = mk_staff(ctx, "attendant", f.T["id"], site_id=f.S["id"])
    f.shop = mk_shop(ctx, f.T["id"])
    f.clerk = mk_clerk(ctx, f.shop)
    wait_catalog(t0)
    _FX = f
    return f


def _metric(client, name):
    r = client.call("GET", "/metrics")
    expect_status(r, 200, "GET /metrics")
    m = re.search(r"^%s (\d+)$" % re.escape(name), r.text, re.M)
    assert m, "no %s in /metrics" % name
    return int(m.group(1))


def _counts(srv):
    return (_metric(srv.client, "wastebank_dropoff_groups_total"),
            _metric(srv.client, "wastebank_dropoffs_grouped_total"),
            _metric(srv.client, "wastebank_ledger_group_reruns_total"))


class RowLock:
    """A household row locked FOR UPDATE from a MariaDB session of the test's own."""

    def __init__(self, ctx, hid):
        e = ctx.env
        self.p = subprocess.Popen(
            ["mariadb", "--no-defaults", "--socket=" + e["WB_DB_SOCKET"], "-u" + e["WB_DB_USER"],
             "-p" + e["WB_DB_PASSWORD"], "-N", "-B", "-n", e["WB_DB_NAME"]],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.p.stdin.write("BEGIN; SELECT id FROM households WHERE id = %d FOR UPDATE; "
                           "SELECT 'locked';\n" % hid)
        self.p.stdin.flush()
        while True:
            line = self.p.stdout.readline()
            assert line, "the lock session ended: %s" % self.p.stderr.read()
            if line.strip() == "locked":
                return

    def release(self):
        if self.p.poll() is None:
            self.p.stdin.write("ROLLBACK;\n")
            self.p.stdin.close()
            self.p.wait(10)


def _in_threads(fns):
    """Run each fn in its own thread, started together; returns their results."""
    out = [None] * len(fns)

    def run(i):
        try:
            out[i] = fns[i]()
        except Exception as e:      # noqa: BLE001 - reported below
            out[i] = e

    ts = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(fns))]
    for t in ts:
        t.start()
    return ts, out


def _one_group(ctx, srv, blocker_code, fns, att_token):
    """Block the ledger thread on a drop-off of the blocker household, send fns while
    it waits, let go: fns' movements run as one group.  Returns (blocked answer,
    answers of fns, groups, movements, reruns) - the counters over fns' group."""
    hold = RowLock(ctx, blocker_code[0])
    try:
        ts0, out0 = _in_threads([lambda: post_dropoff(ctx, att_token, dropoff_body(
            blocker_code[1], [{"category": fx(ctx).g, "grams": 1}]), client=srv.client)])
        time.sleep(0.4)                 # the ledger thread is waiting on the lock
        g0, n0, r0 = _counts(srv)
        ts, out = _in_threads(fns)
        time.sleep(1.0)                 # every request is queued behind it
    finally:
        hold.release()
    for t in ts0 + ts:
        t.join(60)
    g1, n1, r1 = _counts(srv)
    for o in out0 + out:
        assert not isinstance(o, Exception), "a request failed: %r" % o
    return out0[0], out, g1 - g0, n1 - n0, r1 - r0


def test_engine_every_kind_of_movement_in_one_group_gets_its_own_answer(ctx):
    f = fx(ctx)
    srv = ctx.start_server({"WB_LEDGER_THREADS": "1"})
    c = srv.client
    tok = f.att.token
    blocker = mk_household(ctx, f.V["id"])
    hs = [mk_household(ctx, f.V["id"], pin=PIN) for _ in range(8)]
    for h in hs[3:6]:
        fund(ctx, h["id"], 500)
    # an offline upload: two items of one household, the second a repeat of the
    # first's client_ref, the first recorded two days back
    ref = new_key("up")
    back = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=2)).isoformat()
    batch = {"dropoffs": [dict(dropoff_body(hs[7]["code"], [{"category": f.g, "grams": 33}], back),
                               client_ref=ref),
                          dict(dropoff_body(hs[7]["code"], [{"category": f.g, "grams": 33}], back),
                               client_ref=ref)]}
    to_reverse = dropoff_ok(ctx, tok, hs[0]["code"], [{"category": f.g, "grams": 300}])
    to_void = redeemed(ctx, f.clerk, card(hs[3], points=100))
    twin_key, twin_body = new_key("twin"), dropoff_body(hs[6]["code"], [{"category": f.g, "grams": 77}])
    forged = hs[2]["code"][:-2] + ("AA" if not hs[2]["code"].endswith("AA") else "BB")
    adj_key = new_key("adj")

    def adjust():
        return c.call("POST", "/v1/households/%d/adjustments" % hs[5]["id"],
                      {"points": 25, "reason": "grouped"}, token=ctx.admin_token,
                      headers={"Idempotency-Key": adj_key})

    fns = ([lambda i=i: post_dropoff(ctx, tok, dropoff_body(hs[i]["code"],
                                                            [{"category": f.g, "grams": 10 + i}]),
                                     client=c) for i in range(3)] +
           [lambda: post_dropoff(ctx, tok, twin_body, key=twin_key, client=c) for _ in range(4)] +
           [lambda: post_dropoff(ctx, tok, dropoff_body(forged, [{"category": f.g, "grams": 5}]),
                                 client=c),
            lambda: redeem(ctx, f.clerk, card(hs[4], points=50), client=c),
            lambda: redeem(ctx, f.clerk, card(hs[4], points=100000), client=c),
            adjust,
            lambda: c.call("POST", "/v1/dropoffs/%d/reverse" % to_reverse["id"],
                           {"reason": "grouped"}, token=ctx.admin_token),
            lambda: c.call("POST", "/v1/redemptions/%d/void" % to_void["id"],
                           {"reason": "grouped"}, token=ctx.admin_token),
            lambda: c.call("POST", "/v1/dropoffs/batch", batch, token=tok)])
    blocked, out, groups, moves, reruns = _one_group(ctx, srv, (blocker["id"], blocker["code"]),
                                                     fns, tok)
    expect_json(blocked, 201)
    expect_eq((groups, moves, reruns), (1, len(fns) + 1, 0),
              "the burst ran as one group of every movement (the batch's two items among "
              "them), none run again")
    for i in range(3):
        d = expect_json(out[i], 201)
        expect_eq((d["household_id"], d["points"]), (hs[i]["id"], 10 + i), "drop-off %d" % i)
    twins = [expect_json(r, 201) for r in out[3:7]]
    expect_eq(sorted(d["replayed"] for d in twins), [False, True, True, True],
              "one twin credited, the others replays of it")
    expect_eq(len({d["id"] for d in twins}), 1, "the twins' answers are one drop-off")
    expect_error(out[7], 404, "unknown_code")
    d = expect_json(out[8], 201)
    expect_eq((d["points"], d["balance"]), (50, 450), "the redemption")
    expect_error(out[9], 409, "insufficient_points")
    d = expect_json(out[10], 201)
    expect_eq((d["points"], d["balance"]), (25, 525), "the adjustment")
    d = expect_json(out[11], 200)
    expect_eq((d["status"], d["clawed_back"]), ("reversed", 300), "the reversal")
    d = expect_json(out[12], 200)
    expect_eq((d["status"], d["points"]), ("voided", 100), "the void")
    res = expect_json(out[13], 200)["results"]
    expect_eq([(x["client_ref"], x["status"]) for x in res], [(ref, "created"), (ref, "replayed")],
              "the batch's items: the repeated client_ref a replay of the first")
    expect_eq((res[0]["dropoff"]["backdated"], res[1]["dropoff"]["id"]),
              (True, res[0]["dropoff"]["id"]), "the batch's drop-off, back-dated, answered twice")
    for h in hs + [blocker]:
        check_ledger_consistent(ctx, h["id"])
    expect_eq([(x["kind"], x["delta"]) for x in ledger_of(ctx, hs[6]["id"])], [("dropoff", 77)],
              "the twins credited once")
    expect_eq([x["kind"] for x in ledger_of(ctx, hs[7]["id"])], ["dropoff"],
              "the batch's household credited once")
    srv.stop()


def test_engine_twins_across_groups_replay_the_first(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.V["id"])
    key = new_key("across")
    body = dropoff_body(h["code"], [{"category": f.g, "grams": 40}])
    first = expect_json(post_dropoff(ctx, f.att.token, body, key=key), 201)
    for _ in range(3):
        again = expect_json(post_dropoff(ctx, f.att.token, body, key=key), 201)
        expect_eq((again["id"], again["replayed"]), (first["id"], True), "replay")
    other = post_dropoff(ctx, f.att.token, dropoff_body(h["code"], [{"category": f.g, "grams": 41}]),
                         key=key)
    expect_error(other, 409, "idempotency_conflict")
    expect_eq(len(ledger_of(ctx, h["id"])), 1, "one ledger row")


def test_engine_a_failing_movement_does_not_fail_the_others(ctx):
    """A trigger makes one adjustment fail in MariaDB: its group is rolled back, logged,
    counted, and each movement run alone - the others are credited, the failing one
    answers 500 and writes nothing."""
    f = fx(ctx)
    srv = ctx.start_server({"WB_LEDGER_THREADS": "1"})
    c = srv.client
    blocker = mk_household(ctx, f.V["id"])
    hs = [mk_household(ctx, f.V["id"]) for _ in range(4)]
    trig = "engine_fail_%s" % secrets.token_hex(4)
    # one statement (the client would split a compound one at its ';'): a NULL that
    # the NOT NULL column refuses
    ctx.sql("CREATE TRIGGER %s BEFORE INSERT ON adjustments FOR EACH ROW "
            "SET NEW.staff_id = IF(NEW.reason = 'engine-fail', NULL, NEW.staff_id)" % trig)
    try:
        def adjust(h, reason):
            return lambda: c.call("POST", "/v1/households/%d/adjustments" % h["id"],
                                  {"points": 10, "reason": reason}, token=ctx.admin_token,
                                  headers={"Idempotency-Key": new_key("fail")})

        fns = ([lambda i=i: post_dropoff(ctx, f.att.token, dropoff_body(
                    hs[i]["code"], [{"category": f.g, "grams": 20}]), client=c) for i in range(3)] +
               [adjust(hs[3], "engine-fail"), adjust(hs[3], "fine")])
        blocked, out, groups, moves, reruns = _one_group(
            ctx, srv, (blocker["id"], blocker["code"]), fns, f.att.token)
    finally:
        ctx.sql("DROP TRIGGER IF EXISTS %s" % trig)
    expect_json(blocked, 201)
    for i in range(3):
        expect_eq(expect_json(out[i], 201)["points"], 20, "drop-off %d credited" % i)
    expect_error(out[3], 500, "internal")
    expect_eq(expect_json(out[4], 201)["balance"], 10, "the other adjustment")
    expect_eq(reruns, 1, "the group run again, counted")
    assert groups >= 1 + len(fns), "each movement ran alone after the group failed (%d)" % groups
    with open(srv.log, encoding="utf-8", errors="replace") as fh:
        log = fh.read()
    assert "rolled back and run again" in log and "staff_id" in log, \
        "no warning with the MariaDB error in the log"
    expect_eq(get_household(ctx, hs[3]["id"])["balance"], 10, "the failing one wrote nothing")
    srv.stop()


def test_engine_grouped_wrong_pins_count_exactly(ctx):
    """Three wrong PINs for one household in one group on a second instance, then a
    fourth on the first: the shop counter says three after the group (each answer one
    step lower), the fourth finds it at three, nothing is spent, and a right PIN clears
    the count."""
    f = fx(ctx)
    srv = ctx.start_server({"WB_LEDGER_THREADS": "1"})
    blocker = mk_household(ctx, f.V["id"])
    h = mk_household(ctx, f.V["id"], pin=PIN)
    fund(ctx, h["id"], 100)
    clerk = mk_clerk(ctx, f.shop)
    fns = [lambda: redeem(ctx, clerk, card(h, pin=WRONG, points=5), client=srv.client)
           for _ in range(3)]
    blocked, out, groups, moves, _ = _one_group(ctx, srv, (blocker["id"], blocker["code"]), fns,
                                                f.att.token)
    expect_eq((groups, moves), (1, 3), "one group of three redemptions")
    left = sorted(expect_error(r, 403, "bad_pin")["attempts_left"] for r in out)
    expect_eq(left, [2, 3, 4], "each wrong PIN counted once, in turn")
    expect_eq(ctx.sql("SELECT pin_failures FROM households WHERE id = %d" % h["id"]), [("3",)],
              "the shop counter")
    r = redeem(ctx, clerk, card(h, pin=WRONG, points=5))
    expect_eq(expect_error(r, 403, "bad_pin")["attempts_left"], 1, "the fourth")
    expect_eq(expect_json(redeem(ctx, clerk, card(h, points=5)), 201)["balance"], 95, "right PIN")
    expect_eq(ctx.sql("SELECT pin_failures FROM households WHERE id = %d" % h["id"]), [("0",)],
              "a right PIN clears the count")
    srv.stop()


def test_engine_retry_storm_credits_nothing_twice(ctx):
    """Every drop-off sent twice at once, same key and body, over two instances: one of
    each pair is credited, the other is its replay."""
    f = fx(ctx)
    srv = ctx.start_server({})
    hs = [mk_household(ctx, f.V["id"]) for _ in range(8)]
    pairs = [(new_key("storm"), dropoff_body(hs[i % 8]["code"],
                                             [{"category": f.g, "grams": 100 + i}]))
             for i in range(40)]
    barrier = threading.Barrier(80)
    out = [None] * 80

    def send(i):
        key, body = pairs[i // 2]
        client = ctx.client if i % 2 else srv.client
        barrier.wait(30)
        out[i] = post_dropoff(ctx, f.att.token, body, key=key, client=client)

    ts = [threading.Thread(target=send, args=(i,), daemon=True) for i in range(80)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    for p in range(40):
        a, b = expect_json(out[2 * p], 201), expect_json(out[2 * p + 1], 201)
        expect_eq(a["id"], b["id"], "pair %d: one drop-off" % p)
        expect_eq(sorted([a["replayed"], b["replayed"]]), [False, True], "pair %d" % p)
    for i, h in enumerate(hs):
        want = sum(100 + k for k in range(i, 40, 8))
        expect_eq(get_household(ctx, h["id"])["balance"], want, "household %d credited once" % i)
        check_ledger_consistent(ctx, h["id"])
    srv.stop()
