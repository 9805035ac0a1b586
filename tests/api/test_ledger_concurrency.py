"""Concurrency: many attendants' devices recording at once, every request sent twice
with the same key (concurrent twins and late replays); afterwards every balance is
the sum of the acknowledged drop-offs, Redis agrees, the ledger check and
`wbctl reconcile` are clean (design.md "Consistency: where a point lives")."""

import http.client
import json
import secrets
import threading
import time

from lib import expect_eq, expect_json
from test_ledger import (Tree, build_tree, check_ledger_consistent, expect_ledger_check_ok,
                         expect_reconcile_ok, get_household, ledger_of, mk_category,
                         mk_household, mk_staff, new_key, redis_balance, redis_run_id,
                         set_rate, wait_catalog, when)

THREADS = 8
PER_THREAD = 500          # distinct drop-offs owned by each thread
HOUSEHOLDS = 20


def _send(conn_box, client, token, key, body_bytes):
    """POST one drop-off on the thread's keep-alive connection; on a broken connection
    reconnect and send the same request again (same key: safe).  Returns
    (status, parsed body, retries)."""
    retries = 0
    while True:
        c = conn_box[0]
        try:
            c.putrequest("POST", "/v1/dropoffs", skip_accept_encoding=True)
            c.putheader("Content-Type", "application/json")
            c.putheader("Content-Length", str(len(body_bytes)))
            c.putheader("Authorization", "Bearer " + token)
            c.putheader("Idempotency-Key", key)
            c.endheaders(body_bytes)
            resp = c.getresponse()
            data = resp.read()
            if resp.getheader("Connection", "").lower() == "close":
                c.close()
                conn_box[0] = client.connect(timeout=60)
            try:
                parsed = json.loads(data.decode("utf-8"))
            except ValueError:
                parsed = {"raw": data[:300].decode("utf-8", "replace")}
            return resp.status, parsed, retries
        except (OSError, http.client.HTTPException):
            retries += 1
            if retries > 5:
                raise
            try:
                c.close()
            except OSError:
                pass
            conn_box[0] = client.connect(timeout=60)


def test_ledger_concurrent_dropoffs_with_twins_keep_every_point(ctx):
    t0 = time.monotonic()
    cat = mk_category(ctx, "g")                       # 1 point a gram, no cap
    set_rate(ctx, cat, 1000)
    t = build_tree(ctx, second_county=False)
    at_bis = mk_staff(ctx, "attendant", t.TA["id"], site_id=t.SA["id"])   # same site
    hs = [mk_household(ctx, (t.VA if i % 2 else t.VA2)["id"]) for i in range(HOUSEHOLDS)]
    tokens = [t.at_a.token, at_bis.token]
    wait_catalog(t0)
    run = secrets.token_hex(4)
    at = when(seconds=-60)

    # jobs[p]: the 2 x PER_THREAD drop-offs of pair p (threads 2p and 2p+1); both
    # threads of the pair send all of them, so each is sent exactly twice: pairs 0, 1
    # in the same order (concurrent twins), pairs 2, 3 in opposite orders.
    rnd = secrets.SystemRandom()
    jobs = []
    for p in range(THREADS // 2):
        lst = []
        for j in range(2 * PER_THREAD):
            hi = rnd.randrange(HOUSEHOLDS)
            grams = rnd.randint(1, 50)
            key = "c%s-%d-%d" % (run, p, j)
            body = json.dumps({"code": hs[hi]["code"], "items": [{"category": cat, "grams": grams}],
                               "recorded_at": at}).encode("utf-8")
            lst.append((key, hi, grams, body))
        jobs.append(lst)

    answers = {}                 # key -> list of (status, body)
    lock = threading.Lock()
    errors = []
    retries_total = [0]
    resent = set()               # keys sent once more after a broken connection
    start = threading.Barrier(THREADS + 1)

    def worker(n):
        p = n // 2
        order = jobs[p] if (n % 2 == 0 or p < 2) else list(reversed(jobs[p]))
        token = tokens[n % 2]
        box = [ctx.client.connect(timeout=60)]
        mine = []
        retries = 0
        try:
            start.wait()
            for key, hi, grams, body in order:
                status, parsed, rt = _send(box, ctx.client, token, key, body)
                retries += rt
                mine.append((key, status, parsed, rt))
        except Exception as e:      # noqa: BLE001 - reported by the main thread
            errors.append("thread %d: %r" % (n, e))
        finally:
            box[0].close()
            with lock:
                retries_total[0] += retries
                for key, status, parsed, rt in mine:
                    answers.setdefault(key, []).append((status, parsed))
                    if rt:
                        resent.add(key)

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(THREADS)]
    for th in threads:
        th.start()
    start.wait()
    began = time.monotonic()
    for th in threads:
        th.join(600)
    elapsed = time.monotonic() - began
    assert not any(th.is_alive() for th in threads), "client threads still running after 600 s"
    assert not errors, "client errors: %s" % errors[:5]
    nreq = sum(len(v) for v in answers.values())
    print("    concurrency: %d requests (%d distinct drop-offs, each sent twice) by %d threads "
          "in %.1f s: %.0f requests/s, %.0f drop-offs/s; %d resent after a broken connection"
          % (nreq, len(answers), THREADS, elapsed, nreq / elapsed, len(answers) / elapsed,
             retries_total[0]), flush=True)

    # every answer 201; the two answers of a key are the same drop-off, one created
    want_keys = {j[0]: j for lst in jobs for j in lst}
    expect_eq(len(answers), len(want_keys), "keys answered")
    acked = {}                   # drop-off id -> (household index, points)
    bad = []
    for key, lst in answers.items():
        _, hi, grams, _ = want_keys[key]
        if len(lst) != 2 or any(s != 201 for s, _ in lst):
            bad.append((key, lst))
            continue
        b1, b2 = lst[0][1], lst[1][1]
        same = all(b1.get(k) == b2.get(k) for k in ("id", "household_id", "points", "items",
                                                    "balance", "site_id"))
        created = sorted([b1.get("replayed"), b2.get("replayed")])
        # exactly one answer created it (unless a resend's first answer was lost)
        ok_created = created == [False, True] or (key in resent and created == [True, True])
        if not same or not ok_created or b1["points"] != grams or \
                b1["household_id"] != hs[hi]["id"]:
            bad.append((key, lst))
            continue
        if b1["id"] in acked:
            bad.append((key, "drop-off id %d answered for two keys" % b1["id"]))
        acked[b1["id"]] = (hi, b1["points"], b1["balance"])
    assert not bad, "%d keys answered wrongly; first: %s" % (len(bad), json.dumps(bad[:3])[:1500])
    expect_eq(len(acked), THREADS * PER_THREAD, "distinct acknowledged drop-offs")

    # every household: balance = the sum of its acknowledged drop-offs, the ledger holds
    # exactly them, the created answers' balances are the ledger's running balances,
    # and Redis agrees
    run_id = redis_run_id(ctx)
    for i, h in enumerate(hs):
        mine = {did: v for did, v in acked.items() if v[0] == i}
        total = sum(v[1] for v in mine.values())
        got = get_household(ctx, h["id"])
        expect_eq(got["balance"], total, "balance of household %d (%d drop-offs)" % (i, len(mine)))
        rows = check_ledger_consistent(ctx, h["id"], ledger_of(ctx, h["id"]))
        expect_eq(sorted(x["ref_id"] for x in rows), sorted(mine), "ledger drop-offs of household %d" % i)
        assert all(x["kind"] == "dropoff" for x in rows), rows[:3]
        expect_eq(sorted(v[2] for v in mine.values()), sorted(x["balance_after"] for x in rows),
                  "balances in the created answers vs the ledger of household %d" % i)
        expect_eq(redis_balance(ctx, h["id"]), (len(rows), total, run_id),
                  "Redis bal:{h:%d}" % h["id"])
    expect_ledger_check_ok(ctx)
    expect_reconcile_ok(ctx)


# ----------------------------------------------------------------------------- more races

_FX = None


def fx(ctx):
    """A capped category (1 point a gram, 100 a day), an uncapped one, a tree, a second
    attendant at the same site, and a second wastebankd on the same stores."""
    global _FX
    if _FX is not None:
        return _FX
    t0 = time.monotonic()
    f = Tree()
    f.cap = mk_category(ctx, "g", daily_cap=100)
    set_rate(ctx, f.cap, 1000)
    f.g = mk_category(ctx, "g")
    set_rate(ctx, f.g, 1000)
    f.t = build_tree(ctx, second_county=False)
    f.at_bis = mk_staff(ctx, "attendant", f.t.TA["id"], site_id=f.t.SA["id"])
    f.srv2 = ctx.start_server()
    wait_catalog(t0)
    _FX = f
    return f


def _race(n, fn):
    """Run fn(i) for i in range(n) at once; returns the results in order."""
    out = [None] * n
    barrier = threading.Barrier(n)

    def go(i):
        barrier.wait()
        try:
            out[i] = fn(i)
        except Exception as e:      # noqa: BLE001 - returned to the test
            out[i] = e

    ths = [threading.Thread(target=go, args=(i,), daemon=True) for i in range(n)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(120)
    return out


def test_ledger_concurrent_capped_dropoffs_never_exceed_the_cap(ctx):
    """Drop-offs for one household in a capped category, at once on two servers: the
    day's points are exactly the cap, never more."""
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    at = when(seconds=-60)
    body = json.dumps({"code": h["code"], "items": [{"category": f.cap, "grams": 7}],
                       "recorded_at": at})

    def one(i):
        client = (ctx.client, f.srv2.client)[i % 2]
        tok = (f.t.at_a.token, f.at_bis.token)[(i // 2) % 2]
        res = []
        for j in range(5):
            r = client.call("POST", "/v1/dropoffs", raw=body, token=tok,
                            headers={"Idempotency-Key": "cap-%d-%d-%s" % (i, j, h["id"])})
            res.append((r.status, r.json))
        return res

    out = _race(8, one)
    answers = []
    for x in out:
        assert not isinstance(x, Exception), "client error: %r" % (x,)
        answers.extend(x)
    assert all(s == 201 for s, _ in answers), [a for a in answers if a[0] != 201][:3]
    total = sum(b["points"] for _, b in answers)
    expect_eq(total, 100, "points earned in the capped category that day (40 x 7 g)")
    expect_eq(sum(1 for _, b in answers if b["capped"]), 40 - 14, "capped drop-offs")
    rows = check_ledger_consistent(ctx, h["id"])
    expect_eq(sum(x["delta"] for x in rows), 100, "ledger sum")


def test_ledger_concurrent_spending_never_goes_below_zero(ctx):
    """20 adjustments of -100 at once on two servers against a balance of 1000: exactly
    10 pass, 10 are insufficient_points, the balance ends at 0."""
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    r = ctx.post("/v1/households/%d/adjustments" % h["id"], {"points": 1000, "reason": "seed"},
                 token=ctx.admin_token, headers={"Idempotency-Key": new_key("seed")})
    expect_json(r, 201)

    def one(i):
        client = (ctx.client, f.srv2.client)[i % 2]
        r = client.call("POST", "/v1/households/%d/adjustments" % h["id"],
                        {"points": -100, "reason": "spend %d" % i}, token=ctx.admin_token,
                        headers={"Idempotency-Key": new_key("spend")})
        return r.status, (r.json or {}).get("error", {}).get("code")

    out = _race(20, one)
    for x in out:
        assert not isinstance(x, Exception), "client error: %r" % (x,)
    expect_eq(sorted(out), [(201, None)] * 10 + [(409, "insufficient_points")] * 10,
              "statuses of 20 concurrent spends")
    rows = check_ledger_consistent(ctx, h["id"])
    expect_eq(get_household(ctx, h["id"])["balance"], 0, "balance")
    expect_eq(len(rows), 11, "ledger rows")


def test_ledger_concurrent_twins_on_two_servers_are_one_dropoff(ctx):
    """The same key sent at once to two servers (and by two attendants of one site):
    one drop-off, both answers the same, one of them a replay."""
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    at = when(seconds=-60)
    pairs = []
    for n in range(30):
        key = "twin-%d-%s" % (n, new_key())
        body = {"code": h["code"], "items": [{"category": f.g, "grams": 1 + n}],
                "recorded_at": at}
        out = _race(2, lambda i: ((ctx.client, f.srv2.client)[i]).call(
            "POST", "/v1/dropoffs", body, token=(f.t.at_a.token, f.at_bis.token)[i],
            headers={"Idempotency-Key": key}))
        for x in out:
            assert not isinstance(x, Exception), "client error: %r" % (x,)
        a, b = (expect_json(x, 201) for x in out)
        expect_eq((a["id"], a["points"], a["balance"]), (b["id"], b["points"], b["balance"]),
                  "twin answers")
        expect_eq(sorted([a["replayed"], b["replayed"]]), [False, True], "one created")
        pairs.append(a)
    rows = check_ledger_consistent(ctx, h["id"])
    expect_eq(sorted(x["ref_id"] for x in rows), sorted(a["id"] for a in pairs), "ledger rows")
    expect_eq(get_household(ctx, h["id"])["balance"], sum(1 + n for n in range(30)), "balance")
