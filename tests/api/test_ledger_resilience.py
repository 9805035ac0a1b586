"""Redis that answers but refuses writes, or hangs: acknowledged balances are never
hidden behind an older cached one, and writes do not wait on a hung Redis
(design.md "Consistency": Redis can be lost at any time without losing a guarantee;
a breaker stops each worker from paying a timeout on every request)."""

import socket
import threading
import time

from lib import expect_eq, expect_json
from test_ledger import new_key
from test_redeem import PIN, fund, funded, fx, resident_token


def test_refused_redis_write_never_leaves_an_older_balance(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 100)
    res = resident_token(ctx, h)
    r = ctx.get("/v1/residents/me/balance", token=res)
    expect_eq(expect_json(r, 200)["balance"], 100, "balance before")
    ctx.redis("CONFIG", "SET", "maxmemory-policy", "noeviction")
    ctx.redis("CONFIG", "SET", "maxmemory", "1")
    try:
        new = fund(ctx, h["id"], 50)          # Redis refuses the versioned write (OOM)
        expect_eq(new, 150, "acknowledged balance")
        r = ctx.get("/v1/residents/me/balance", token=res)
        expect_eq(expect_json(r, 200)["balance"], 150, "balance while Redis refuses writes")
    finally:
        ctx.redis("CONFIG", "SET", "maxmemory", "0")
    deadline = time.time() + 5
    while True:
        r = ctx.get("/v1/residents/me/balance", token=res)
        if expect_json(r, 200)["balance"] == 150 or time.time() > deadline:
            break
        time.sleep(0.2)
    expect_eq(r.json["balance"], 150, "balance after Redis accepts writes again")


def _black_hole():
    """A TCP port that accepts and never answers: a hung Redis."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    held = []

    def run():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            held.append(c)

    threading.Thread(target=run, daemon=True).start()
    return srv, held


def test_writes_do_not_wait_on_a_hung_redis(ctx):
    w = fx(ctx)
    h = funded(ctx, w.VA["id"], 0)
    srv, held = _black_hole()
    port = srv.getsockname()[1]
    server = ctx.start_server({"WB_REDIS_URL": "redis://127.0.0.1:%d/0" % port,
                               "WB_WORKERS": "1"})
    try:
        t0 = time.time()
        for i in range(20):
            r = server.call("POST", "/v1/households/%d/adjustments" % h["id"],
                            {"points": 1, "reason": "hung redis"}, token=ctx.admin_token,
                            headers={"Idempotency-Key": new_key("hung")}, timeout=30)
            expect_json(r, 201)
        took = time.time() - t0
        # each write paying a 1 s Redis timeout would take 20 s; the breaker lets
        # only a few of them try
        assert took < 8, "20 writes took %.1f s with Redis hung" % took
        print("    20 writes with Redis hung: %.1f s" % took)
    finally:
        server.stop()
        srv.close()
        for c in held:
            c.close()
