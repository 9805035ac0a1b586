"""Faults: Redis stopped in the middle of a load of drop-offs (writes go on from
MariaDB, nothing acknowledged is lost, `wbctl reconcile --fix` rebuilds Redis); Redis
flushed; the ledger check and `wbctl reconcile` noticing a disagreement (api.md
"Conventions" (store unavailable), design.md "Consistency: where a point lives")."""

import http.client
import json
import threading
import time

from lib import expect_eq, expect_json
from test_ledger import (Tree, build_tree, check_ledger_consistent, dropoff_ok, dropoffs_of,
                         expect_reconcile_ok, get_household, ledger_check, ledger_of,
                         mk_category, mk_household, new_key, redis_balance, redis_run_id,
                         resident_of, set_rate, wait_catalog)

_FX = None


def fx(ctx):
    global _FX
    if _FX is not None:
        return _FX
    t0 = time.monotonic()
    f = Tree()
    f.g = mk_category(ctx, "g")                  # 1 point a gram, no cap
    set_rate(ctx, f.g, 1000)
    f.t = build_tree(ctx, second_county=False)
    wait_catalog(t0)
    _FX = f
    return f


def _redis_down(ctx):
    r = ctx.get("/readyz")
    return r.status == 200 and r.json and r.json.get("redis") == "down"


class Load:
    """Background drop-offs on a keep-alive connection, each with a fresh key (resent
    with the same key on a broken connection)."""

    def __init__(self, ctx, token, households, cat, seconds):
        self.ctx = ctx
        self.token = token
        self.hs = households
        self.cat = cat
        self.seconds = seconds
        self.answers = []          # (monotonic time, key, household index, grams, status, body)
        self.errors = []
        self.thread = threading.Thread(target=self.run, daemon=True)

    def send(self, conn, key, body):
        data = json.dumps(body).encode("utf-8")
        for attempt in range(20):
            try:
                conn.putrequest("POST", "/v1/dropoffs", skip_accept_encoding=True)
                conn.putheader("Content-Type", "application/json")
                conn.putheader("Content-Length", str(len(data)))
                conn.putheader("Authorization", "Bearer " + self.token)
                conn.putheader("Idempotency-Key", key)
                conn.endheaders(data)
                resp = conn.getresponse()
                payload = resp.read()
                try:
                    parsed = json.loads(payload.decode("utf-8"))
                except ValueError:
                    parsed = {"raw": payload[:300].decode("utf-8", "replace")}
                return conn, resp.status, parsed
            except (OSError, http.client.HTTPException):
                conn.close()
                time.sleep(0.05)
                conn = self.ctx.client.connect(timeout=30)
        raise AssertionError("no answer for key %s after 20 tries" % key)

    def run(self):
        conn = self.ctx.client.connect(timeout=30)
        end = time.monotonic() + self.seconds
        i = 0
        try:
            while time.monotonic() < end:
                hi = i % len(self.hs)
                grams = 1 + (i * 7) % 40
                key = new_key("f")
                body = {"code": self.hs[hi]["code"],
                        "items": [{"category": self.cat, "grams": grams}]}
                conn, status, parsed = self.send(conn, key, body)
                self.answers.append((time.monotonic(), key, hi, grams, status, parsed))
                i += 1
        except Exception as e:      # noqa: BLE001 - reported by the test
            self.errors.append(repr(e))
        finally:
            conn.close()


def test_ledger_redis_stopped_mid_load_loses_nothing(ctx):
    f = fx(ctx)
    hs = [mk_household(ctx, f.t.VA["id"]) for _ in range(4)]
    hr = mk_household(ctx, f.t.VA["id"], pin="4821")          # the resident's, read during it
    res = resident_of(ctx, hr, "4821")
    first = dropoff_ok(ctx, f.t.at_a.token, hr["code"], [{"category": f.g, "grams": 100}])
    expect_eq(expect_json(ctx.get("/v1/residents/me/balance", token=res.token), 200)["balance"],
              100, "resident balance before")
    old_run_id = redis_run_id(ctx)
    load = Load(ctx, f.t.at_a.token, hs, f.g, 4.0)
    stopped = started = None
    during = {}
    try:
        load.thread.start()
        time.sleep(1.0)
        ctx.services("stop-redis")
        stopped = time.monotonic()
        ctx.wait_until(lambda: _redis_down(ctx), timeout=10, message="/readyz never said redis down")
        # while Redis is down: a drop-off for the resident's household is acknowledged and
        # the resident reads it (from MariaDB)
        d = dropoff_ok(ctx, f.t.at_a.token, hr["code"], [{"category": f.g, "grams": 50}])
        during["dropoff"] = d
        during["balance"] = expect_json(ctx.get("/v1/residents/me/balance", token=res.token),
                                        200)["balance"]
        during["me"] = expect_json(ctx.get("/v1/residents/me", token=res.token), 200)["balance"]
        during["ready"] = ctx.get("/readyz").json
        rest = 2.0 - (time.monotonic() - stopped)
        if rest > 0:
            time.sleep(rest)
        ctx.services("start-redis")
        started = time.monotonic()
        load.thread.join(60)
    finally:
        if started is None:
            ctx.services("start-redis", check=False)
        load.thread.join(60)
    assert not load.thread.is_alive(), "the load thread did not finish"
    assert not load.errors, "load errors: %s" % load.errors

    expect_eq((during["dropoff"]["points"], during["dropoff"]["balance"]), (50, 150),
              "drop-off while Redis is down")
    expect_eq(during["balance"], 150, "resident balance while Redis is down (from MariaDB)")
    expect_eq(during["me"], 150, "GET /v1/residents/me while Redis is down")
    expect_eq((during["ready"] or {}).get("degraded"), True, "/readyz degraded while Redis is down")

    # every answer of the load a 201, some of them while Redis was down
    bad = [(k, s, b) for _, k, _, _, s, b in load.answers if s != 201]
    assert not bad, "%d of %d drop-offs not acknowledged with 201 (Redis down must not " \
        "refuse writes); first: %s" % (len(bad), len(load.answers), json.dumps(bad[:3])[:1200])
    n_down = sum(1 for t, *_ in load.answers if stopped <= t <= started)
    assert n_down >= 3, "only %d drop-offs were answered while Redis was down (of %d)" % (
        n_down, len(load.answers))
    print("    redis outage: %d drop-offs acknowledged, %d of them while Redis was down"
          % (len(load.answers), n_down), flush=True)

    # every acknowledged drop-off is in the ledger; balances are the sums
    for i, h in enumerate(hs):
        mine = {b["id"]: b["points"] for _, _, hi, _, _, b in load.answers if hi == i}
        for _, _, hi, grams, _, b in load.answers:
            if hi == i:
                expect_eq(b["points"], grams, "points of a drop-off")
        rows = check_ledger_consistent(ctx, h["id"])
        expect_eq(sorted(x["ref_id"] for x in rows), sorted(mine),
                  "ledger of household %d vs acknowledged drop-offs" % i)
        listed = sorted(x["id"] for x in dropoffs_of(ctx, h["id"]))
        expect_eq(listed, sorted(mine), "GET /v1/dropoffs of household %d" % i)
        expect_eq(get_household(ctx, h["id"])["balance"], sum(mine.values()),
                  "balance of household %d" % i)

    # Redis is back (a new run: entries it reloaded from its AOF are not believed)
    new_run_id = redis_run_id(ctx)
    assert new_run_id != old_run_id, "Redis has the same run_id after a restart"
    bal = expect_json(ctx.get("/v1/residents/me/balance", token=res.token), 200)["balance"]
    expect_eq(bal, 150, "resident balance after Redis came back")
    for h in hs + [hr]:
        rb = redis_balance(ctx, h["id"])
        if rb is not None and rb[2] == new_run_id:
            got = get_household(ctx, h["id"])
            n = len(ledger_of(ctx, h["id"]))
            expect_eq(rb[:2], (n, got["balance"]),
                      "a current Redis entry disagrees with MariaDB before --fix (household %d)"
                      % h["id"])

    # --fix rebuilds Redis and then checks (exit 0 only when clean); afterwards a plain
    # check agrees, and so does each entry
    expect_reconcile_ok(ctx, fix=True)
    expect_reconcile_ok(ctx)
    for h in hs + [hr]:
        got = get_household(ctx, h["id"])
        n = len(ledger_of(ctx, h["id"]))
        expect_eq(redis_balance(ctx, h["id"]), (n, got["balance"], new_run_id),
                  "Redis bal:{h:%d} after reconcile --fix" % h["id"])
    assert first["id"] in [x["ref_id"] for x in ledger_of(ctx, hr["id"])]


def test_ledger_redis_flushed_loses_no_point(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"], pin="4821")
    res = resident_of(ctx, h, "4821")
    dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.g, "grams": 321}])
    ctx.redis("FLUSHALL")
    expect_eq(expect_json(ctx.get("/v1/residents/me/balance", token=res.token), 200)["balance"],
              321, "balance after FLUSHALL")
    d = dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.g, "grams": 79}])
    expect_eq(d["balance"], 400, "balance in the next answer")
    expect_eq(expect_json(ctx.get("/v1/residents/me/balance", token=res.token), 200)["balance"],
              400, "resident balance")
    expect_eq(redis_balance(ctx, h["id"]), (2, 400, redis_run_id(ctx)), "Redis entry")


def test_ledger_check_and_reconcile_find_a_wrong_redis_balance(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"], pin="4821")
    dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.g, "grams": 500}])
    key = "bal:{h:%d}" % h["id"]
    res = resident_of(ctx, h, "4821")
    try:
        ctx.redis("SET", key, "7|99999|%s" % redis_run_id(ctx))
        body = ledger_check(ctx)
        mine = [v for v in body["violations"] if v.get("household_id") == h["id"]]
        expect_eq(body["ok"], False, "ledger-check ok with a wrong Redis balance")
        expect_eq([v.get("rule") for v in mine], ["redis_balance"], "violations of the household")
        p = ctx.wbctl("reconcile", timeout=300)
        expect_eq(p.returncode, 1, "wbctl reconcile exit code with a violation")
        assert "household %d: redis_balance" % h["id"] in p.stdout, p.stdout[-2000:]
    finally:
        ctx.redis("DEL", key)          # the server fills it again from MariaDB
    expect_eq(expect_json(ctx.get("/v1/residents/me/balance", token=res.token), 200)["balance"],
              500, "resident balance once the wrong entry is gone")
    expect_eq(redis_balance(ctx, h["id"]), (1, 500, redis_run_id(ctx)), "refilled entry")


def test_ledger_check_finds_a_balance_that_is_not_the_ledger_sum(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.g, "grams": 200}])
    try:
        ctx.sql("UPDATE households SET balance = balance + 5 WHERE id = %d" % h["id"])
        body = ledger_check(ctx)
        rules = sorted(v.get("rule") for v in body["violations"] if v.get("household_id") == h["id"])
        expect_eq(body["ok"], False, "ledger-check ok with a tampered balance")
        assert "balance_sum" in rules, "no balance_sum violation: %r" % body["violations"]
        p = ctx.wbctl("reconcile", timeout=300)
        expect_eq(p.returncode, 1, "wbctl reconcile exit code")
        assert "household %d: balance_sum" % h["id"] in p.stdout, p.stdout[-2000:]
    finally:
        ctx.sql("UPDATE households SET balance = 200 WHERE id = %d" % h["id"])
    check_ledger_consistent(ctx, h["id"])
