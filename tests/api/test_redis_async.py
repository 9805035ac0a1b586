"""The request path's one Redis round trip (docs/architecture.md "Reads that wait on
Redis once"): a token's revocation entries and a resident's balance entry are read in
one MGET on each worker's asynchronous Redis link, with a timeout of the server's own
(200 ms) and the breaker.  The revocation guarantee holds across instances with Redis
up, down and restarted (design.md "Security model", db/revoke.h); balance reads see the
client's own drop-off at once and stay right while Redis is down; a hung Redis does not
stall requests past the timeout."""

import base64
import json
import os
import signal
import threading
import time

from lib import expect_eq, expect_error, expect_json, expect_status
from test_ledger import (Tree, build_tree, dropoff_ok, mk_category, mk_household,
                         mk_staff, redis_run_id, resident_of, set_rate, wait_catalog)

ME = "/v1/auth/me"
LOGOUT = "/v1/auth/logout"
BAL = "/v1/residents/me/balance"
TIMEOUT_S = 0.2          # CACHE_ASYNC_TIMEOUT_MS
SLOW_S = 1.0             # a request held by a hung Redis answers well within this

_FX = None


def fx(ctx):
    """g: 1 point a gram; a village with drop-off site SA and attendant at_a."""
    global _FX
    if _FX is not None:
        return _FX
    t0 = time.monotonic()
    f = Tree()
    f.g = mk_category(ctx, "g")
    set_rate(ctx, f.g, 1000)
    f.t = build_tree(ctx, second_county=False)
    wait_catalog(t0)
    _FX = f
    return f


def _resident(ctx, f):
    """A new household with a PIN and its resident (signed in)."""
    h = mk_household(ctx, f.t.VA["id"], pin="4821")
    return h, resident_of(ctx, h, "4821")


def _member(ctx, f):
    """A new attendant, signed in (its own login budget)."""
    a = mk_staff(ctx, "attendant", f.t.TA["id"], site_id=f.t.SA["id"])
    _ = a.token
    return a


def _jti(token):
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))["jti"]


def _warm(clients, token, path=ME, n=12):
    """Cached "live" answers for token on every worker of each server."""
    for c in clients:
        for _ in range(n):
            expect_status(c.call("GET", path, token=token), 200)


def _refused(client, token, path=ME, n=8, what=""):
    """n fresh connections (so most or all workers) refuse the token, none of them
    after a wait."""
    for i in range(n):
        r = client.call("GET", path, token=token)
        if r.status != 401:
            raise AssertionError("%srequest %d of %d: a dead token was accepted: %r"
                                 % (what + ": " if what else "", i + 1, n, r))
        expect_error(r, 401, "unauthorized")


def _balance(client, token):
    return expect_json(client.call("GET", BAL, token=token), 200)["balance"]


def _redis_pid(ctx):
    with open(os.path.join(ctx.dir, "run", "redis.pid")) as fh:
        return int(fh.read().strip())


def _redis_back(ctx):
    """Redis answers every worker of the main server again (after start-redis): each
    worker's connections are past their breaker, so a revocation written next lands in
    Redis rather than moving the epoch on (db/revoke.h: that would leave the other
    instance its second-long window)."""
    def all_ok():
        for _ in range(20):
            r = ctx.get("/readyz", timeout=10)
            if r.status != 200 or (r.json or {}).get("redis") != "ok":
                return False
        return True
    ctx.wait_until(all_ok, timeout=10, interval=0.05,
                   message="/readyz redis ok on every worker after Redis came back")


def _cmdstats(ctx):
    """{command: calls} from Redis's INFO commandstats."""
    out = {}
    for line in ctx.redis("INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_"):
            name, rest = line[len("cmdstat_"):].split(":", 1)
            fields = dict(kv.split("=", 1) for kv in rest.split(","))
            out[name] = int(fields["calls"])
    return out


def _delta(before, after, name):
    return after.get(name, 0) - before.get(name, 0)


# ----------------------------------------------------------------------------- one round trip

def test_a_balance_read_and_an_auth_me_each_send_redis_one_mget_and_nothing_else(ctx):
    """The router reads the token's revocation entries and the balance entry together:
    a warm balance read is one MGET, as is an auth/me; no GET, no script."""
    f = fx(ctx)
    h, res = _resident(ctx, f)
    dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.g, "grams": 120}])
    a = _member(ctx, f)
    _warm([ctx.client], res.token, BAL)
    _warm([ctx.client], a.token, ME)
    n = 24
    before = _cmdstats(ctx)
    for _ in range(n):
        expect_eq(_balance(ctx.client, res.token), 120, "balance")
    for _ in range(n):
        expect_status(ctx.get(ME, token=a.token), 200)
    after = _cmdstats(ctx)
    expect_eq(_delta(before, after, "mget"), 2 * n, "MGETs for %d balance reads and %d auth/me"
              % (n, n))
    for other in ("get", "eval", "evalsha", "set"):
        expect_eq(_delta(before, after, other), 0, "%s calls on the warm request path" % other)


# ----------------------------------------------------------------------------- revocation

def test_logout_on_one_instance_is_refused_on_the_other_at_once_with_redis_up(ctx):
    f = fx(ctx)
    a = _member(ctx, f)
    h, res = _resident(ctx, f)
    srv = ctx.start_server()
    try:
        _warm([ctx.client, srv.client], a.token)
        _warm([ctx.client, srv.client], res.token, BAL)
        expect_status(ctx.post(LOGOUT, token=a.token), 204)
        _refused(srv.client, a.token, what="the other instance, at once")
        _refused(ctx.client, a.token, what="this instance")
        # and the other way round, for a resident's balance read
        expect_status(srv.call("POST", LOGOUT, token=res.token), 204)
        _refused(ctx.client, res.token, BAL, what="balance read on the first instance")
        _refused(srv.client, res.token, BAL, what="balance read on the second instance")
        _refused(ctx.client, res.token, ME, n=4)
    finally:
        expect_eq(srv.stop(), 0, "exit code of the second server")


def test_logout_on_one_instance_is_refused_on_the_other_with_redis_down(ctx):
    f = fx(ctx)
    a = _member(ctx, f)
    keeper = _member(ctx, f)
    h, res = _resident(ctx, f)
    dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.g, "grams": 40}])
    srv = ctx.start_server()
    try:
        for t, p in ((a.token, ME), (keeper.token, ME), (res.token, BAL)):
            _warm([ctx.client, srv.client], t, p)
        ctx.services("stop-redis")
        try:
            expect_status(ctx.post(LOGOUT, token=a.token), 204)
            _refused(srv.client, a.token, what="the other instance, Redis down")
            _refused(ctx.client, a.token, what="this instance, Redis down")
            for c in (ctx.client, srv.client):
                for _ in range(6):
                    expect_status(c.call("GET", ME, token=keeper.token), 200,
                                  "a live token while Redis is down")
            # a balance read while Redis is down reads MariaDB, and sees a drop-off
            # made while it is down, on both instances
            d = dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.g, "grams": 25}])
            expect_eq(d["balance"], 65, "balance after the drop-off")
            for c in (ctx.client, srv.client):
                for _ in range(6):
                    expect_eq(_balance(c, res.token), 65, "balance while Redis is down")
        finally:
            ctx.services("start-redis")
        _redis_back(ctx)
        _refused(srv.client, a.token, what="the other instance, Redis back")
        _refused(ctx.client, a.token, what="this instance, Redis back")
        for c in (ctx.client, srv.client):
            for _ in range(6):
                expect_eq(_balance(c, res.token), 65, "balance once Redis is back")
    finally:
        expect_eq(srv.stop(), 0, "exit code of the second server")


def test_entries_of_an_earlier_redis_are_not_trusted_after_a_restart(ctx):
    """A restarted Redis reloads its AOF, which may hold an entry older than a change
    that never reached it.  Stage exactly that: after the logout, put the jti's "live"
    entry back, tagged with this Redis's run_id, and a false balance in the household's
    entry; then restart Redis.  No instance may trust either."""
    f = fx(ctx)
    a = _member(ctx, f)
    h, res = _resident(ctx, f)
    dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.g, "grams": 70}])
    srv = ctx.start_server()
    try:
        _warm([ctx.client, srv.client], a.token)
        _warm([ctx.client, srv.client], res.token, BAL)
        expect_status(ctx.post(LOGOUT, token=a.token), 204)
        _refused(srv.client, a.token, n=4)
        old = redis_run_id(ctx)
        keys = ctx.redis("KEYS", "auth:*:j:%s" % _jti(a.token)).split()
        assert keys, "no revocation entry for the jti in Redis"
        for k in keys:
            ctx.redis("SET", k, "0|0|%s" % old, "EX", "600")
        bal_key = "bal:{h:%d}" % h["id"]
        ctx.redis("SET", bal_key, "1000000|999999|%s" % old, "EX", "600")
        ctx.services("stop-redis")
        ctx.services("start-redis")
        _redis_back(ctx)
        new = redis_run_id(ctx)
        assert new != old, "Redis kept its run_id across a restart"
        for k in keys:
            expect_eq(ctx.redis("GET", k), "0|0|%s" % old, "the staged entry after the restart")
        _refused(srv.client, a.token, what="the other instance after the restart")
        _refused(ctx.client, a.token, what="this instance after the restart")
        for c in (ctx.client, srv.client):
            for _ in range(6):
                expect_eq(_balance(c, res.token), 70, "balance after the restart")
        # a few seconds of traffic from several threads: never accepted
        accepted = []
        t_end = time.monotonic() + 2.0

        def hammer(c):
            while time.monotonic() < t_end:
                r = c.call("GET", ME, token=a.token)
                if r.status != 401:
                    accepted.append(r)
        threads = [threading.Thread(target=hammer, args=(c,), daemon=True)
                   for c in (ctx.client, srv.client, ctx.client, srv.client)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert not accepted, "a logged-out token was accepted after the restart: %r" % accepted[:3]
    finally:
        expect_eq(srv.stop(), 0, "exit code of the second server")


# ----------------------------------------------------------------------------- balances

def test_balance_reads_see_the_drop_off_just_answered_on_every_instance(ctx):
    f = fx(ctx)
    h, res = _resident(ctx, f)
    srv = ctx.start_server()
    try:
        total = 0
        for i in range(20):
            grams = 10 + i
            c = ctx.client if i % 2 == 0 else srv.client
            r = c.call("POST", "/v1/dropoffs",
                       body={"code": h["code"], "items": [{"category": f.g, "grams": grams}]},
                       token=f.t.at_a.token, headers={"Idempotency-Key": "rw-%s-%d" % (h["code"][-8:], i)})
            d = expect_json(r, 201)
            total += grams
            expect_eq(d["balance"], total, "drop-off %d's balance" % i)
            for reader in (ctx.client, srv.client, ctx.client, srv.client):
                expect_eq(_balance(reader, res.token), total,
                          "balance read right after drop-off %d" % i)
    finally:
        expect_eq(srv.stop(), 0, "exit code of the second server")


# ----------------------------------------------------------------------------- a hung Redis

def _hung_redis_is_not_waited_on(ctx, f, hang, unhang, seconds):
    """While `hang` holds Redis, requests keep answering, right, each well within
    SLOW_S (only those sent to it before the timeout told, or during a probe of the
    breaker, wait up to about TIMEOUT_S)."""
    live = _member(ctx, f)
    dead = _member(ctx, f)
    h, res = _resident(ctx, f)
    dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.g, "grams": 33}])
    for t, p in ((live.token, ME), (dead.token, ME), (res.token, BAL)):
        _warm([ctx.client], t, p)
    expect_status(ctx.post(LOGOUT, token=dead.token), 204)
    times = []
    hang()
    try:
        t_end = time.monotonic() + seconds
        while time.monotonic() < t_end:
            s = time.monotonic()
            expect_status(ctx.get(ME, token=live.token, timeout=10), 200, "a live token")
            times.append(time.monotonic() - s)
            s = time.monotonic()
            expect_error(ctx.get(ME, token=dead.token, timeout=10), 401, "unauthorized")
            times.append(time.monotonic() - s)
            s = time.monotonic()
            expect_eq(_balance(ctx.client, res.token), 33, "balance while Redis hangs")
            times.append(time.monotonic() - s)
    finally:
        unhang()
    slow = [t for t in times if t > TIMEOUT_S / 2]
    worst = max(times)
    print("    %d requests while Redis hung %.1f s: worst %.3f s, %d over %.2f s"
          % (len(times), seconds, worst, len(slow), TIMEOUT_S / 2))
    assert worst < SLOW_S, "a request waited %.2f s on a hung Redis" % worst
    assert len(times) >= 100, "only %d requests answered in %.1f s" % (len(times), seconds)
    # one a worker (4) when Redis stopped answering, and a few more for luck; the
    # breaker's probes carry no request
    assert len(slow) <= 8, ("%d of %d requests waited on the hung Redis"
                            % (len(slow), len(times)))
    # and once it answers again, everything is as before
    expect_status(ctx.get(ME, token=live.token), 200)
    expect_error(ctx.get(ME, token=dead.token), 401, "unauthorized")
    expect_eq(_balance(ctx.client, res.token), 33, "balance after")


def test_redis_paused_for_all_commands_does_not_stall_requests(ctx):
    f = fx(ctx)

    def hang():
        expect_eq(ctx.redis("CLIENT", "PAUSE", "3000", "ALL"), "OK", "CLIENT PAUSE")

    def unhang():
        ctx.redis("CLIENT", "UNPAUSE")
    _hung_redis_is_not_waited_on(ctx, f, hang, unhang, 2.5)


def test_redis_stopped_by_sigstop_does_not_stall_requests(ctx):
    f = fx(ctx)
    pid = _redis_pid(ctx)

    def hang():
        os.kill(pid, signal.SIGSTOP)

    def unhang():
        os.kill(pid, signal.SIGCONT)
    _hung_redis_is_not_waited_on(ctx, f, hang, unhang, 2.5)
