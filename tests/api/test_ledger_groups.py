"""Drop-offs credited in groups: a worker queues the drop-offs it reads in one turn of
its event loop and credits them in one transaction (db/dropoff.c); the batch endpoint
credits its items in groups of up to 64, in order.  Whatever the grouping, each
drop-off must be decided exactly as if it were alone: daily caps carried from one
drop-off of a household to the next, every refusal its own, replays and conflicts
answered from the stored key, new rate versions seen at once (api.md "Conventions"
(idempotency), "Drop-offs"; design.md "Consistency: where a point lives")."""

import http.client
import json
import re
import secrets
import socket
import threading
import time

from lib import (Headers, Response, expect_eq, expect_error, expect_json, expect_status,
                 parse_rfc3339)
from test_ledger import (Tree, build_tree, check_ledger_consistent, dropoff_body, dropoff_ok,
                         dropoffs_of, expect_ledger_check_ok, expect_reconcile_ok,
                         get_household, ledger_of, mk_category, mk_household, new_key,
                         post_dropoff, redis_balance, redis_run_id, set_rate, tag,
                         wait_catalog, when)

CAP = 100                 # f.cap: 1 point a gram, at most 100 a household a day

_FX = None


def fx(ctx):
    """cap: 1 point a gram, daily cap 100; g: 1 point a gram, no cap; item7: 7 points an
    item, no cap; cap2: 20 points an item, daily cap 50; rated: 5 points an item to start
    with (the rate test adds versions); a tree of two counties with a second drop-off
    site SA2 in town TA (attendant at_a2)."""
    global _FX
    if _FX is not None:
        return _FX
    t0 = time.monotonic()
    f = Tree()
    f.cap = mk_category(ctx, "g", daily_cap=CAP)
    set_rate(ctx, f.cap, 1000)
    f.g = mk_category(ctx, "g")
    set_rate(ctx, f.g, 1000)
    f.item7 = mk_category(ctx, "item")
    set_rate(ctx, f.item7, 7)
    f.cap2 = mk_category(ctx, "item", daily_cap=50)
    set_rate(ctx, f.cap2, 20)
    f.rated = mk_category(ctx, "item")
    set_rate(ctx, f.rated, 5)
    f.t = build_tree(ctx, extra_sites=1)
    f.SA2 = f.t.more_sites[0]["site"]
    f.at_a2 = f.t.more_sites[0]["att"]
    for acct in (f.t.at_a, f.at_a2, f.t.at_b):
        assert acct.token       # signed in now, not by many client threads at once
    wait_catalog(t0)
    _FX = f
    return f


# ----------------------------------------------------------------------------- helpers

class KeepAlive:
    """One keep-alive connection of one client thread (http.client reopens it by
    itself when the server answered Connection: close)."""

    def __init__(self, ctx):
        self.client = ctx.client
        self.conn = ctx.client.connect(timeout=60)

    def call(self, method, path, body=None, token=None, headers=None):
        return self.client.call(method, path, body=body, token=token, headers=headers,
                                conn=self.conn)

    def dropoff(self, token, body, key):
        return self.call("POST", "/v1/dropoffs", body, token=token,
                         headers={"Idempotency-Key": key})

    def close(self):
        try:
            self.conn.close()
        except OSError:
            pass


def _threads(n, fn):
    """Run fn(i) for i in range(n) on n threads; returns the results in order (an
    exception raised by fn is returned in its place)."""
    out = [None] * n

    def go(i):
        try:
            out[i] = fn(i)
        except Exception as e:      # noqa: BLE001 - reported by the caller
            out[i] = e

    ths = [threading.Thread(target=go, args=(i,), daemon=True) for i in range(n)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(120)
    assert not any(th.is_alive() for th in ths), "client threads still running after 120 s"
    for i, x in enumerate(out):
        if isinstance(x, Exception):
            raise AssertionError("client thread %d failed: %r" % (i, x))
    return out


def _metric(ctx, name):
    r = ctx.get("/metrics")
    expect_status(r, 200)
    m = re.search(r"^%s(?:\{[^}]*\})? (\d+)$" % re.escape(name), r.text, re.M)
    assert m, "no %s in /metrics" % name
    return int(m.group(1))


def _workers_of(ctx, request_ids):
    """The worker indexes that answered these requests (from the server's JSON request
    log lines), for a note on how widely a test was spread."""
    want = set(request_ids)
    seen = set()
    try:
        with open(ctx.server.log, "rb") as fh:
            for line in fh:
                if not line.startswith(b"{"):
                    continue
                try:
                    j = json.loads(line.decode("utf-8", "replace"))
                except ValueError:
                    continue
                if j.get("request_id") in want and "worker" in j:
                    seen.add(j["worker"])
    except OSError:
        pass
    return seen


def _forged(code):
    """The card code with its last character changed (the MAC no longer matches)."""
    return code[:-1] + ("A" if code[-1] != "A" else "B")


def _without_replayed(d):
    return {k: v for k, v in d.items() if k != "replayed"}


def _expect_ledger_holds(ctx, h, created, what):
    """The household's ledger is exactly the drop-offs `created` (answers of created
    drop-offs with points > 0 make a row each): ref ids, deltas, balance_after equal to
    the answers' balances; the balance is their sum; Redis agrees.  Returns the rows."""
    rows = check_ledger_consistent(ctx, h["id"])
    earning = [d for d in created if d["points"] > 0]
    expect_eq(sorted((x["ref_id"], x["delta"], x["balance_after"]) for x in rows),
              sorted((d["id"], d["points"], d["balance"]) for d in earning),
              "ledger rows (ref_id, delta, balance_after) of %s" % what)
    assert all(x["kind"] == "dropoff" for x in rows), rows[:3]
    total = sum(d["points"] for d in created)
    expect_eq(get_household(ctx, h["id"])["balance"], total, "balance of %s" % what)
    expect_eq(sorted(x["id"] for x in dropoffs_of(ctx, h["id"])),
              sorted(d["id"] for d in created), "stored drop-offs of %s" % what)
    rb = redis_balance(ctx, h["id"])
    if rows:
        assert rb is not None and rb[:2] == (len(rows), total), \
            "Redis bal:{h:%d} of %s: %r, want seq %d balance %d" % (h["id"], what, rb,
                                                                    len(rows), total)
    return rows


def _burst(ctx, reqs, settle=0.2):
    """POST /v1/dropoffs for every (token, body, key) of reqs at once: one connection
    each, all opened first (the workers accept them), then every request written in one
    tight loop so that each worker reads many in one turn of its loop, then every answer
    read.  Returns the Responses in order."""
    socks = []
    try:
        for _ in reqs:
            socks.append(socket.create_connection((ctx.client.host, ctx.client.port), timeout=60))
        time.sleep(settle)
        for s, (token, body, key) in zip(socks, reqs):
            data = json.dumps(body).encode("utf-8")
            head = ("POST /v1/dropoffs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "Content-Type: application/json\r\nContent-Length: %d\r\n"
                    "Authorization: Bearer %s\r\nIdempotency-Key: %s\r\n"
                    "Connection: close\r\n\r\n" % (len(data), token, key))
            s.sendall(head.encode("ascii") + data)
        out = []
        for s in socks:
            resp = http.client.HTTPResponse(s, method="POST")
            resp.begin()
            payload = resp.read()
            out.append(Response("POST", "/v1/dropoffs", resp.status, resp.reason,
                                Headers(resp.getheaders()), payload))
        return out
    finally:
        for s in socks:
            s.close()


def _check_capped_run(ctx, f, h, answers, grams, at, site_id):
    """answers: the created drop-offs of household h, each a `grams` g line of f.cap
    (1 point a gram, CAP a day) then a 1-item line of f.item7 (7 points), all recorded
    the same day.  In the order the ledger took them (each answer's balance is the
    running sum) the capped lines earn `grams` until the cap, then the rest of the cap,
    then 0; every flag and sum agrees; the ledger, Redis and the stored drop-offs hold
    exactly them.  Returns the balance."""
    n = len(answers)
    what = "household %d" % h["id"]
    expect_eq(len({d["id"] for d in answers}), n, "distinct drop-off ids of %s" % what)
    for d in answers:
        expect_eq((d["replayed"], d["household_id"], d["site_id"], len(d["items"])),
                  (False, h["id"], site_id, 2), "drop-off %d" % d["id"])
        c, u = d["items"]
        expect_eq((c["category"], c["grams"], c["rate"]), (f.cap, grams, 1000),
                  "capped line of %d" % d["id"])
        expect_eq(c["capped"], c["points"] < grams, "capped flag of %r" % d)
        assert 0 <= c["points"] <= grams, d
        expect_eq(u, {"category": f.item7, "count": 1, "rate": 7, "points": 7,
                      "capped": False}, "uncapped line of %d" % d["id"])
        expect_eq(d["points"], c["points"] + u["points"], "points = sum of lines of %d" % d["id"])
        expect_eq(d["capped"], c["capped"], "drop-off capped flag of %d" % d["id"])
    by_balance = sorted(answers, key=lambda d: d["balance"])
    running = 0
    for d in by_balance:
        running += d["points"]
        expect_eq(d["balance"], running, "balance in the answer of drop-off %d" % d["id"])
    capped_pts = [d["items"][0]["points"] for d in by_balance]
    full = min(CAP // grams, n)
    want = [grams] * full + ([CAP - full * grams] if n > full else []) + [0] * (n - full - 1)
    expect_eq(capped_pts, want[:n], "capped-line points of %s in ledger order" % what)
    total = sum(want[:n]) + 7 * n
    expect_eq(sum(d["points"] for d in answers), total, "sum of the answers' points of %s" % what)
    rows = _expect_ledger_holds(ctx, h, answers, what)
    expect_eq(len(rows), n, "one ledger row per drop-off of %s" % what)
    expect_eq(ctx.sql("SELECT points FROM daily_totals WHERE household_id = %d" % h["id"]),
              [(str(sum(want[:n])),)], "daily_totals rows of %s" % what)
    return total


# ----------------------------------------------------------------------------- one household

def test_groups_concurrent_capped_dropoffs_for_one_household(ctx):
    """16 keep-alive connections send drop-offs for ONE household at the same moment
    (3 rounds): a 13 g line of a category capped at 100 a day (13 > 100/8, so the cap
    is reached by the 8th drop-off) and a 7-point line of an uncapped one.  However
    the server grouped them, in ledger order the capped lines earn 13 x 7, then 9
    (cut), then 0 (cut); the balance is the sum of the answers' points."""
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    at = when(seconds=-60)
    nthreads, rounds, grams = 16, 3, 13
    n = nthreads * rounds
    conns = [KeepAlive(ctx) for _ in range(nthreads)]
    barrier = threading.Barrier(nthreads)
    body = dropoff_body(h["code"], [{"category": f.cap, "grams": grams},
                                    {"category": f.item7, "count": 1}], recorded_at=at)

    def one(i):
        res = []
        for j in range(rounds):
            barrier.wait(60)
            r = conns[i].dropoff(f.t.at_a.token, body, "cap1-%d-%d-%s" % (i, j, tag(8)))
            res.append(r)
        return res

    try:
        out = _threads(nthreads, one)
    finally:
        for c in conns:
            c.close()
    answers = [expect_json(r, 201) for lst in out for r in lst]
    expect_eq(len(answers), n, "answers")
    total = _check_capped_run(ctx, f, h, answers, grams, at, f.t.SA["id"])
    expect_eq(total, CAP + 7 * n, "balance")
    expect_eq(redis_balance(ctx, h["id"]), (n, total, redis_run_id(ctx)), "Redis entry")
    # what was stored is what was answered
    for d in answers:
        got = expect_json(ctx.get("/v1/dropoffs/%d" % d["id"], token=ctx.admin_token), 200)
        expect_eq((got["points"], got["capped"], got["items"]),
                  (d["points"], d["capped"], d["items"]), "stored drop-off %d" % d["id"])
    # the day's cap stays reached for a later drop-off
    d = dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.cap, "grams": 5}],
                   recorded_at=at)
    expect_eq((d["points"], d["capped"], d["balance"]), (0, True, total),
              "a later drop-off the same day")
    expect_ledger_check_ok(ctx)
    expect_reconcile_ok(ctx)


def test_groups_batches_and_singles_at_once_on_one_capped_household(ctx):
    """Two batches of 40 and 16 threads of single drop-offs, all at once, for one
    household (the 13 g capped line and the 7-point line of the test above): the cap
    is crossed once, whichever transaction gets there; each batch's items are credited
    in request order (their balances rise in it)."""
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    at = when(seconds=-60)
    grams, nb, per_batch, nthreads, per_thread = 13, 2, 40, 16, 2
    lines = [{"category": f.cap, "grams": grams}, {"category": f.item7, "count": 1}]
    run = tag(8)
    conns = [KeepAlive(ctx) for _ in range(nb + nthreads)]
    barrier = threading.Barrier(nb + nthreads)

    def one(i):
        barrier.wait(60)
        if i < nb:
            items = [dict(dropoff_body(h["code"], lines, recorded_at=at),
                          client_ref="mix%s-%d-%d" % (run, i, j)) for j in range(per_batch)]
            r = conns[i].call("POST", "/v1/dropoffs/batch", {"dropoffs": items},
                              token=f.t.at_a.token)
            return [r]
        return [conns[i].dropoff(f.t.at_a.token, dropoff_body(h["code"], lines, recorded_at=at),
                                 "mix%s-s%d-%d" % (run, i, j)) for j in range(per_thread)]

    try:
        out = _threads(nb + nthreads, one)
    finally:
        for c in conns:
            c.close()
    answers = []
    for i, lst in enumerate(out):
        if i < nb:
            res = expect_json(lst[0], 200)["results"]
            expect_eq([x["status"] for x in res], ["created"] * per_batch, "batch %d statuses" % i)
            bal = [x["dropoff"]["balance"] for x in res]
            expect_eq(bal, sorted(bal), "batch %d: balances in request order" % i)
            answers += [x["dropoff"] for x in res]
        else:
            answers += [expect_json(r, 201) for r in lst]
    n = nb * per_batch + nthreads * per_thread
    expect_eq(len(answers), n, "drop-offs")
    total = _check_capped_run(ctx, f, h, answers, grams, at, f.t.SA["id"])
    expect_eq(total, CAP + 7 * n, "balance")


# ----------------------------------------------------------------------------- grouping happens

def test_groups_form_under_concurrency_and_credit_each_once(ctx):
    """A burst of 16 threads x 40 drop-offs over 8 households: the metrics show groups
    of two or more (fewer transactions than drop-offs), every drop-off was decided in a
    group transaction, and each is in the ledger exactly once."""
    f = fx(ctx)
    hs = [mk_household(ctx, (f.t.VA if i % 2 else f.t.VA2)["id"]) for i in range(8)]
    nthreads, per = 16, 40
    n = nthreads * per
    at = when(seconds=-60)
    rnd = secrets.SystemRandom()
    run = tag(8)
    jobs = [[(rnd.randrange(len(hs)), rnd.randint(1, 900), "grp-%s-%d-%d" % (run, i, j))
             for j in range(per)] for i in range(nthreads)]
    conns = [KeepAlive(ctx) for _ in range(nthreads)]
    barrier = threading.Barrier(nthreads)

    groups0 = _metric(ctx, "wastebank_dropoff_groups_total")
    grouped0 = _metric(ctx, "wastebank_dropoffs_grouped_total")

    def one(i):
        barrier.wait(60)
        res = []
        for hi, g, key in jobs[i]:
            body = dropoff_body(hs[hi]["code"], [{"category": f.g, "grams": g}], recorded_at=at)
            r = conns[i].dropoff(f.t.at_a.token, body, key)
            res.append((hi, g, r))
        return res

    t0 = time.monotonic()
    try:
        out = _threads(nthreads, one)
    finally:
        for c in conns:
            c.close()
    took = time.monotonic() - t0
    groups = _metric(ctx, "wastebank_dropoff_groups_total") - groups0
    grouped = _metric(ctx, "wastebank_dropoffs_grouped_total") - grouped0
    print("    groups: %d drop-offs in %.1f s, %d group transactions deciding %d"
          % (n, took, groups, grouped), flush=True)

    created = {i: [] for i in range(len(hs))}
    for lst in out:
        for hi, g, r in lst:
            d = expect_json(r, 201)
            expect_eq((d["replayed"], d["household_id"], d["points"]), (False, hs[hi]["id"], g),
                      "answer of a %d g drop-off" % g)
            created[hi].append(d)
    ids = [d["id"] for lst in created.values() for d in lst]
    expect_eq(len(set(ids)), n, "distinct drop-off ids")

    assert grouped >= n, ("wastebank_dropoffs_grouped_total grew by %d for %d drop-offs: "
                          "not every drop-off was decided in a group transaction" % (grouped, n))
    assert 1 <= groups < n, ("wastebank_dropoff_groups_total grew by %d for %d concurrent "
                             "drop-offs: no group held two or more" % (groups, n))

    # the answers stored with the keys of grouped drop-offs are theirs (the id each
    # record got is its own drop-off's): every key sent again, all at once
    first = {}
    for i, lst in enumerate(out):
        for (hi, g, r), (_, _, key) in zip(lst, jobs[i]):
            first[key] = (hi, g, r.json)
    keys = sorted(first)
    again = _burst(ctx, [(f.t.at_a.token, dropoff_body(hs[first[k][0]]["code"],
                                                        [{"category": f.g, "grams": first[k][1]}],
                                                        recorded_at=at), k) for k in keys])
    for k, r in zip(keys, again):
        d = expect_json(r, 201)
        expect_eq(d.get("replayed"), True, "key %s sent again" % k)
        expect_eq(_without_replayed(d), _without_replayed(first[k][2]),
                  "the replayed answer of key %s" % k)

    for hi, h in enumerate(hs):
        rows = _expect_ledger_holds(ctx, h, created[hi], "household %d" % hi)
        expect_eq(len(rows), len(created[hi]), "ledger rows of household %d" % hi)
    expect_eq(ctx.sql("SELECT COUNT(*), COALESCE(SUM(points), 0) FROM dropoffs WHERE "
                      "household_id IN (%s)" % ",".join(str(h["id"]) for h in hs)),
              [(str(n), str(sum(g for lst in jobs for _, g, _ in lst)))],
              "drop-off rows and points stored")
    expect_ledger_check_ok(ctx)


def test_groups_a_turn_of_more_than_64_dropoffs_with_caps(ctx):
    """320 connections opened, then 320 drop-offs written at once (8 for each of 40
    households, each a 13 g capped line and a 7-point line): a worker reads far more
    than 64 in a turn and credits them in several full groups.  Per household the cap
    is crossed at the 8th drop-off exactly as if they had come one by one."""
    f = fx(ctx)
    nh, per, grams = 40, 8, 13
    hs = [mk_household(ctx, (f.t.VA if i % 2 else f.t.VA2)["id"]) for i in range(nh)]
    at = when(seconds=-60)
    run = tag(8)
    reqs, owner = [], []
    for j in range(per):
        for i in range(nh):
            reqs.append((f.t.at_a.token,
                         dropoff_body(hs[i]["code"], [{"category": f.cap, "grams": grams},
                                                      {"category": f.item7, "count": 1}],
                                      recorded_at=at),
                         "big-%s-%d-%d" % (run, i, j)))
            owner.append(i)
    groups0 = _metric(ctx, "wastebank_dropoff_groups_total")
    grouped0 = _metric(ctx, "wastebank_dropoffs_grouped_total")
    t0 = time.monotonic()
    out = _burst(ctx, reqs, settle=0.5)
    took = time.monotonic() - t0
    groups = _metric(ctx, "wastebank_dropoff_groups_total") - groups0
    grouped = _metric(ctx, "wastebank_dropoffs_grouped_total") - grouped0
    print("    groups: %d drop-offs at once in %.1f s, %d group transactions deciding %d"
          % (len(reqs), took, groups, grouped), flush=True)
    answers = {i: [] for i in range(nh)}
    for i, r in zip(owner, out):
        answers[i].append(expect_json(r, 201))
    assert grouped >= len(reqs), "dropoffs_grouped grew by %d for %d drop-offs" % (
        grouped, len(reqs))
    assert 1 <= groups < len(reqs), "dropoff_groups grew by %d for %d drop-offs" % (
        groups, len(reqs))
    for i, h in enumerate(hs):
        total = _check_capped_run(ctx, f, h, answers[i], grams, at, f.t.SA["id"])
        expect_eq(total, CAP + 7 * per, "balance of household %d" % i)
    expect_ledger_check_ok(ctx)


# ----------------------------------------------------------------------------- a mixed group

def test_groups_mixed_outcomes_each_get_their_own_answer(ctx):
    """At one moment (4 rounds; even rounds threads at a barrier on keep-alive
    connections, odd rounds one burst), on separate connections: valid drop-offs for
    three households, one for a suspended and one for a closed household (stored 409s,
    the previous round's replayed too), a forged card, a replay and a conflicting reuse
    of committed keys, a replay of a key committed before the card was reissued (the
    old code is unknown now, but replays come first), the old code with a new key, the
    new code, a household out of the attendant's reach, a recorded_at out of the
    window, concurrent twins, and the key of a valid one used again at another site.
    Each gets its own answer; the valid ones are credited exactly once."""
    f = fx(ctx)
    hh = [mk_household(ctx, f.t.VA["id"]), mk_household(ctx, f.t.VA2["id"]),
          mk_household(ctx, f.t.VA["id"])]
    hs = mk_household(ctx, f.t.VA["id"])
    hc = mk_household(ctx, f.t.VA2["id"])
    hb = mk_household(ctx, f.t.VB["id"])
    for x, status in ((hs, "suspended"), (hc, "closed")):
        expect_status(ctx.call("PATCH", "/v1/households/%d" % x["id"], {"status": status},
                               token=ctx.admin_token), 200)
    created = {}               # household id -> created drop-off answers
    at = when(seconds=-120)
    tok_a, tok_a2, tok_b = f.t.at_a.token, f.at_a2.token, f.t.at_b.token

    def g(grams, code, rec=at):
        return dropoff_body(code, [{"category": f.g, "grams": grams}], recorded_at=rec)

    def credit(d):
        created.setdefault(d["household_id"], []).append(d)
        return d

    not_stored = []            # (token, key, household): refusals before the transaction
    stored_409 = []            # (body, key, what): stored household_inactive outcomes
    reissued = []
    for rnd in range(4):
        ctxt = "round %d" % rnd
        # keys committed before the round
        k_rep, k_conf, k_old = new_key("rep"), new_key("conf"), new_key("old")
        b_rep = g(111, hh[0]["code"])
        first = credit(dropoff_ok(ctx, tok_a, hh[0]["code"], b_rep["items"], key=k_rep,
                                  recorded_at=at))
        credit(dropoff_ok(ctx, tok_a, hh[1]["code"], [{"category": f.g, "grams": 222}],
                          key=k_conf, recorded_at=at))
        hr = mk_household(ctx, f.t.VA2["id"])
        reissued.append(hr)
        b_old = g(333, hr["code"])
        first_old = credit(dropoff_ok(ctx, tok_a, hr["code"], b_old["items"], key=k_old,
                                      recorded_at=at))
        new_code = expect_json(ctx.post("/v1/households/%d/card" % hr["id"],
                                        token=ctx.admin_token), 200)["code"]
        assert new_code != hr["code"], "the reissued card has the old code"

        k_valid = [new_key("v%d" % i) for i in range(6)]
        k_twin = new_key("twin")
        reqs = {}              # name -> (token, body, key)
        for i in range(6):
            reqs["valid%d" % i] = (tok_a, g(100 * rnd + 10 * i + 1, hh[i % 3]["code"]),
                                   k_valid[i])
        reqs.update({
            "suspended": (tok_a, g(50, hs["code"]), new_key("susp")),
            "closed": (tok_a, g(50, hc["code"]), new_key("closed")),
            "forged": (tok_a, g(50, _forged(hh[0]["code"])), new_key("forged")),
            "replay": (tok_a, b_rep, k_rep),
            "conflict": (tok_a, g(223, hh[1]["code"]), k_conf),
            "old_replay": (tok_a, b_old, k_old),
            "old_code": (tok_a, g(44, hr["code"]), new_key("oldcode")),
            "new_code": (tok_a, g(45, new_code), new_key("newcode")),
            "reach": (tok_b, g(50, hh[2]["code"]), new_key("reach")),
            "window": (tok_a, g(50, hh[0]["code"], when(days=-31)), new_key("window")),
            "twin_a": (tok_a, g(77, hh[2]["code"]), k_twin),
            "twin_b": (tok_a, g(77, hh[2]["code"]), k_twin),
            "other_site": (tok_a2, g(100 * rnd + 1, hh[0]["code"]), k_valid[0]),
        })
        if stored_409:
            reqs["inactive_replay"] = (tok_a,) + stored_409[-1][:2]
        names = sorted(reqs)
        secrets.SystemRandom().shuffle(names)
        if rnd % 2:
            out = _burst(ctx, [reqs[nm] for nm in names])
        else:
            conns = [KeepAlive(ctx) for _ in names]
            barrier = threading.Barrier(len(names))

            def one(i):
                tok, body, key = reqs[names[i]]
                barrier.wait(60)
                return conns[i].dropoff(tok, body, key)

            try:
                out = _threads(len(names), one)
            finally:
                for c in conns:
                    c.close()
        res = dict(zip(names, out))

        for i in range(6):
            d = credit(expect_json(res["valid%d" % i], 201))
            expect_eq((d["replayed"], d["household_id"], d["points"], d["site_id"]),
                      (False, hh[i % 3]["id"], 100 * rnd + 10 * i + 1, f.t.SA["id"]),
                      "%s: valid drop-off %d" % (ctxt, i))
        for name in ("suspended", "closed"):
            r = res[name]
            expect_error(r, 409, "household_inactive")
            assert r.json.get("replayed") in (None, False), "%s: %s says replayed: %r" % (
                ctxt, name, r)
            stored_409.append((reqs[name][1], reqs[name][2], name))
        if "inactive_replay" in res:
            r = res["inactive_replay"]
            expect_error(r, 409, "household_inactive")
            expect_eq(r.json.get("replayed"), True, "%s: a stored 409 replayed" % ctxt)
        expect_error(res["forged"], 404, "unknown_code")
        d = expect_json(res["replay"], 201)
        expect_eq(d.get("replayed"), True, "%s: replay of a committed key" % ctxt)
        expect_eq(_without_replayed(d), _without_replayed(first),
                  "%s: the replayed answer is the first one" % ctxt)
        expect_error(res["conflict"], 409, "idempotency_conflict")
        d = expect_json(res["old_replay"], 201)
        expect_eq(d.get("replayed"), True,
                  "%s: replay of a key committed before the card was reissued" % ctxt)
        expect_eq(_without_replayed(d), _without_replayed(first_old),
                  "%s: the replayed answer (reissued card) is the first one" % ctxt)
        expect_error(res["old_code"], 404, "unknown_code")
        d = credit(expect_json(res["new_code"], 201))
        expect_eq((d["replayed"], d["household_id"], d["points"]), (False, hr["id"], 45),
                  "%s: the reissued card" % ctxt)
        expect_error(res["reach"], 404, "not_found")
        expect_error(res["window"], 400, "invalid_request", "recorded_at")
        ta, tb = expect_json(res["twin_a"], 201), expect_json(res["twin_b"], 201)
        expect_eq(sorted([ta["replayed"], tb["replayed"]]), [False, True],
                  "%s: concurrent twins: one created, one replayed" % ctxt)
        expect_eq(_without_replayed(ta), _without_replayed(tb), "%s: twin answers" % ctxt)
        expect_eq((ta["household_id"], ta["points"]), (hh[2]["id"], 77), "%s: twin" % ctxt)
        credit(ta)
        d = credit(expect_json(res["other_site"], 201))
        expect_eq((d["replayed"], d["site_id"], d["household_id"], d["points"]),
                  (False, f.SA2["id"], hh[0]["id"], 100 * rnd + 1),
                  "%s: the key of valid0 used at another site" % ctxt)
        assert d["id"] != res["valid0"].json["id"], "%s: two sites' drop-offs share an id" % ctxt
        not_stored += [(tok_a, reqs["forged"][2], hh[0]), (tok_a, reqs["window"][2], hh[0]),
                       (tok_a, reqs["old_code"][2], hh[1]), (tok_b, reqs["reach"][2], hb)]

    # stored refusals replay; refusals before the transaction stored nothing
    for body, key, what in stored_409:
        r = post_dropoff(ctx, tok_a, body, key=key)
        expect_error(r, 409, "household_inactive")
        expect_eq(r.json.get("replayed"), True, "the stored 409 (%s) replayed" % what)
    for tok, key, h in not_stored:
        d = credit(expect_json(post_dropoff(ctx, tok, g(5, h["code"]), key=key), 201))
        expect_eq((d["replayed"], d["household_id"], d["points"]), (False, h["id"], 5),
                  "a refused (not stored) key used again")

    for i, h in enumerate(hh + [hb] + reissued):
        _expect_ledger_holds(ctx, h, created.get(h["id"], []), "household %d" % i)
    for x, what in ((hs, "suspended"), (hc, "closed")):
        expect_eq(ledger_of(ctx, x["id"]), [], "ledger of the %s household" % what)
        expect_eq(dropoffs_of(ctx, x["id"]), [], "drop-offs of the %s household" % what)
        expect_eq(get_household(ctx, x["id"])["balance"], 0, "balance of the %s household" % what)
    expect_ledger_check_ok(ctx)


# ----------------------------------------------------------------------------- the batch

def _batch_items(n, run, at, plan):
    """n batch items; plan(i) -> (household, [lines]) or None for the default."""
    items = []
    for i in range(n):
        h, lines = plan(i)
        items.append(dict(dropoff_body(h["code"], lines, recorded_at=at),
                          client_ref="b%s-%d" % (run, i)))
    return items


def _created_by_household(results):
    created = {}
    for x in results:
        if x["status"] == "created":
            created.setdefault(x["dropoff"]["household_id"], []).append(x["dropoff"])
    return created


def _expect_running_balances(hs, created):
    """In request order, each household's created drop-offs carry its running balance."""
    for h in hs:
        running = 0
        for d in created.get(h["id"], []):
            running += d["points"]
            expect_eq(d["balance"], running, "balance of household %d after drop-off %d"
                      % (h["id"], d["id"]))


def test_groups_batch_of_150_is_three_groups_in_order(ctx):
    """A batch of 150 valid items is credited as groups of 64, 64 and 22, in order
    (the metrics count exactly three group transactions deciding 150 drop-offs): five
    30 g items of one household in a capped category at positions 60, 63 (first group),
    64, 65 (second) and 130 (third) earn 30, 30, 30, 10 (cut) and 0 (cut); every
    household's balances run in request order."""
    f = fx(ctx)
    hs = [mk_household(ctx, f.t.VA["id"]) for _ in range(3)]
    hq = mk_household(ctx, f.t.VA2["id"])
    at = when(seconds=-90)
    n = 150
    cap_want = {60: (30, False), 63: (30, False), 64: (30, False), 65: (10, True),
                130: (0, True)}

    def plan(i):
        if i in cap_want:
            return hq, [{"category": f.cap, "grams": 30}]
        return hs[i % 3], [{"category": f.g, "grams": 5 + i}, {"category": f.item7, "count": 2}]

    items = _batch_items(n, tag(8), at, plan)
    groups0 = _metric(ctx, "wastebank_dropoff_groups_total")
    grouped0 = _metric(ctx, "wastebank_dropoffs_grouped_total")
    r = ctx.post("/v1/dropoffs/batch", {"dropoffs": items}, token=f.t.at_a.token, timeout=120)
    res = expect_json(r, 200)["results"]
    groups = _metric(ctx, "wastebank_dropoff_groups_total") - groups0
    grouped = _metric(ctx, "wastebank_dropoffs_grouped_total") - grouped0
    expect_eq([x.get("status") for x in res], ["created"] * n, "statuses")
    expect_eq([x["client_ref"] for x in res], [x["client_ref"] for x in items], "result order")
    for i, x in enumerate(res):
        d = x["dropoff"]
        if i in cap_want:
            expect_eq((d["household_id"], d["points"], d["capped"]), (hq["id"],) + cap_want[i],
                      "capped item %d" % i)
            expect_eq(d["items"][0]["capped"], cap_want[i][1], "line of capped item %d" % i)
        else:
            expect_eq((d["household_id"], d["points"], d["capped"]),
                      (hs[i % 3]["id"], 5 + i + 14, False), "item %d" % i)
    expect_eq((groups, grouped), (3, n),
              "group transactions and drop-offs decided in them for one batch of %d" % n)
    created = _created_by_household(res)
    _expect_running_balances(hs + [hq], created)
    expect_eq([d["balance"] for d in created[hq["id"]]], [30, 60, 90, 100, 100],
              "the capped household's balances in request order")
    for k, h in enumerate(hs + [hq]):
        _expect_ledger_holds(ctx, h, created.get(h["id"], []), "household %d" % k)
    expect_eq(ctx.sql("SELECT points FROM daily_totals WHERE household_id = %d" % hq["id"]),
              [(str(CAP),)], "daily_totals of the capped household")


def test_groups_batch_caps_per_day_and_category_in_one_group(ctx):
    """Twelve items of one household in one group, alternating between today and
    yesterday, each a 30 g line of `cap` (100 a day) and a 1-item line of `cap2` (20
    points, 50 a day): the day totals carried from one drop-off to the next are kept per
    day and per category."""
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    days = [when(seconds=-90), when(days=-1)]
    run = tag(8)
    items = [dict(dropoff_body(h["code"], [{"category": f.cap, "grams": 30},
                                           {"category": f.cap2, "count": 1}],
                               recorded_at=days[i % 2]), client_ref="pd%s-%d" % (run, i))
             for i in range(12)]
    res = expect_json(ctx.post("/v1/dropoffs/batch", {"dropoffs": items},
                               token=f.t.at_a.token), 200)["results"]
    expect_eq([x["status"] for x in res], ["created"] * 12, "statuses")
    per_day_cap = [(30, False), (30, False), (30, False), (10, True), (0, True), (0, True)]
    per_day_cap2 = [(20, False), (20, False), (10, True), (0, True), (0, True), (0, True)]
    running = 0
    for i, x in enumerate(res):
        d = x["dropoff"]
        k = i // 2                          # the k-th drop-off of its day
        got = [(ln["points"], ln["capped"]) for ln in d["items"]]
        expect_eq(got, [per_day_cap[k], per_day_cap2[k]], "lines of item %d (day %d, #%d)"
                  % (i, i % 2, k))
        running += d["points"]
        expect_eq((d["points"], d["capped"], d["balance"]),
                  (per_day_cap[k][0] + per_day_cap2[k][0], per_day_cap[k][1] or per_day_cap2[k][1],
                   running), "item %d" % i)
    expect_eq(running, 2 * (100 + 50), "balance: both caps reached on both days")
    _expect_ledger_holds(ctx, h, [x["dropoff"] for x in res], "the household")
    expect_eq(sorted(int(p) for (p,) in ctx.sql(
        "SELECT points FROM daily_totals WHERE household_id = %d" % h["id"])),
        [50, 50, 100, 100], "daily_totals rows (2 days x 2 categories)")
    # and the singles path agrees: one more the same day earns nothing in either
    d = dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.cap, "grams": 1},
                                                    {"category": f.cap2, "count": 1},
                                                    {"category": f.g, "grams": 40}],
                   recorded_at=days[0])
    expect_eq([(ln["points"], ln["capped"]) for ln in d["items"]],
              [(0, True), (0, True), (40, False)], "a later single drop-off today")


def test_groups_batch_with_repeated_refs_conflicts_and_a_cap(ctx):
    """One batch of 150 items: a client_ref repeated in the same group and across
    groups (replayed: the first one's drop-off, credited once), a ref reused with
    another body (conflict), an item refused before the transaction, and six items of
    one household in a capped category, two in the first group, three in the second
    (which holds no repeated ref: the cap is crossed inside one group transaction) and
    one in the third.  The batch sent again replays every stored item."""
    f = fx(ctx)
    hs = [mk_household(ctx, f.t.VA["id"]) for _ in range(5)]
    hcap = mk_household(ctx, f.t.VA2["id"])
    at = when(seconds=-90)
    n = 150
    invalid = 50
    cap_want = {0: (30, False), 10: (30, False), 70: (30, False), 71: (10, True),
                90: (0, True), 140: (0, True)}
    dup_of = {20: 5, 64: 63, 135: 30}        # same ref, same body: replays
    conflict_of = {45: 40}                   # same ref, another body

    def plan(i):
        if i in cap_want:
            return hcap, [{"category": f.cap, "grams": 30}]
        if i == invalid:
            return hs[0], [{"category": "nope_" + tag(6), "grams": 10}]
        return hs[i % 5], [{"category": f.g, "grams": 10 + i}]

    items = _batch_items(n, tag(8), at, plan)
    for i, j in dup_of.items():
        items[i] = dict(items[j])
    for i, j in conflict_of.items():
        items[i] = dict(items[i], client_ref=items[j]["client_ref"])

    def check(results, again):
        expect_eq(len(results), n, "results")
        expect_eq([x.get("client_ref") for x in results], [x["client_ref"] for x in items],
                  "results in request order")
        want_status = []
        for i in range(n):
            if i == invalid or i in conflict_of:
                want_status.append("error")
            elif i in dup_of or again:
                want_status.append("replayed")
            else:
                want_status.append("created")
        expect_eq([x.get("status") for x in results], want_status, "statuses")
        e = results[invalid]["error"]
        expect_eq((e.get("code"), e.get("field")), ("invalid_request", "items[0].category"),
                  "item %d" % invalid)
        for i in conflict_of:
            expect_eq(results[i]["error"].get("code"), "idempotency_conflict", "item %d" % i)
        for i, j in dup_of.items():
            expect_eq(_without_replayed(results[i]["dropoff"]),
                      _without_replayed(results[j]["dropoff"]),
                      "item %d repeats the ref of item %d" % (i, j))
        for i, x in enumerate(results):
            if x["status"] == "error":
                assert "dropoff" not in x, x
                continue
            assert "error" not in x, x
            d = x["dropoff"]
            expect_eq(d["replayed"], x["status"] == "replayed", "replayed flag of item %d" % i)
            if i in cap_want:
                expect_eq((d["household_id"], d["points"], d["capped"]),
                          (hcap["id"],) + cap_want[i], "capped item %d" % i)
            else:
                j = dup_of.get(i, i)
                expect_eq((d["household_id"], d["points"]), (hs[j % 5]["id"], 10 + j),
                          "item %d" % i)

    r = ctx.post("/v1/dropoffs/batch", {"dropoffs": items}, token=f.t.at_a.token, timeout=120)
    res = expect_json(r, 200)["results"]
    check(res, False)
    created = _created_by_household(res)
    _expect_running_balances(hs + [hcap], created)
    expect_eq([d["balance"] for d in created[hcap["id"]]], [30, 60, 90, 100, 100, 100],
              "the capped household's balances in request order")
    for k, h in enumerate(hs + [hcap]):
        _expect_ledger_holds(ctx, h, created.get(h["id"], []), "household %d" % k)

    # the whole batch again: every stored item replays, the refusals stay refused
    r = ctx.post("/v1/dropoffs/batch", {"dropoffs": items}, token=f.t.at_a.token, timeout=120)
    res2 = expect_json(r, 200)["results"]
    check(res2, True)
    for i in range(n):
        if res[i]["status"] != "error":
            expect_eq(_without_replayed(res2[i]["dropoff"]), _without_replayed(res[i]["dropoff"]),
                      "item %d sent again" % i)
    for k, h in enumerate(hs + [hcap]):
        _expect_ledger_holds(ctx, h, created.get(h["id"], []), "household %d after the "
                             "batch was sent again" % k)
    expect_ledger_check_ok(ctx)


# ----------------------------------------------------------------------------- rate cache

def test_groups_new_rate_version_is_paid_at_once_on_every_worker(ctx):
    """Twelve keep-alive connections (spread over the workers) each record a drop-off,
    so every worker has the rates cached.  Then, round after round, a new rate version
    effective now is created and at once a drop-off is posted on every connection: each
    is paid at the new rate.  A region override applies at once to its region only; a
    version effective in an hour does not apply; one effective in 3 s applies once its
    time has come (nothing inserted meanwhile); a back-dated drop-off keeps the old
    version."""
    f = fx(ctx)
    cat = f.rated
    hv = mk_household(ctx, f.t.VA["id"])      # village VA: gets the override below
    hw = mk_household(ctx, f.t.VA2["id"])     # village VA2: the default only
    nconn = 12
    conns = [KeepAlive(ctx) for _ in range(nconn)]
    paid = {hv["id"]: [], hw["id"]: []}

    rids = []

    def post(c, h, count=3, rec=None):
        r = c.dropoff(f.t.at_a.token, dropoff_body(h["code"], [{"category": cat, "count": count}],
                                                    recorded_at=rec), new_key("rate"))
        rids.append(r.request_id)
        d = expect_json(r, 201)
        paid[h["id"]].append(d)
        return d

    def expect_rate(d, rate, what):
        expect_eq((d["items"][0]["rate"], d["points"]), (rate, 3 * rate), what)

    try:
        for i, c in enumerate(conns):
            expect_rate(post(c, hv if i % 2 else hw), 5, "the first rate, connection %d" % i)
        default = 5
        for rnd in range(4):
            default = 11 + 13 * rnd
            set_rate(ctx, cat, default, effective_from=when())
            for i, c in enumerate(conns):
                expect_rate(post(c, hv if i % 2 else hw), default,
                            "round %d: the new default at once, connection %d" % (rnd, i))
        # an override for village VA, effective now
        set_rate(ctx, cat, 97, region_id=f.t.VA["id"], effective_from=when())
        for i, c in enumerate(conns):
            expect_rate(post(c, hv), 97, "the village override at once, connection %d" % i)
            expect_rate(post(c, hw), default,
                        "another village keeps the default, connection %d" % i)
        # a version of the future is not in force yet
        set_rate(ctx, cat, 500, effective_from=when(seconds=3600))
        for i, c in enumerate(conns):
            expect_rate(post(c, hw), default, "a version effective in an hour, connection %d" % i)
        # a version effective in 2 to 3 s: not yet, then (no new version inserted
        # meanwhile) in force on every connection
        soon = when(seconds=3)
        set_rate(ctx, cat, 777, effective_from=soon)
        for i, c in enumerate(conns[:4]):
            expect_rate(post(c, hw), default, "a version effective in 3 s, connection %d" % i)
        left = parse_rfc3339(soon).timestamp() - time.time()
        if left > -0.2:
            time.sleep(left + 0.3)
        default = 777
        for i, c in enumerate(conns):
            expect_rate(post(c, hw), default, "the version now in force, connection %d" % i)
        # a drop-off of nine minutes ago (the most a live one may go back) gets the
        # version in force then
        for i, c in enumerate(conns[:4]):
            expect_rate(post(c, hv, rec=when(seconds=-540)), 5,
                        "back-dated before every new version, connection %d" % i)
        # concurrently on every connection right after a new version
        default = 301
        set_rate(ctx, cat, default, effective_from=when())
        barrier = threading.Barrier(nconn)

        def one(i):
            barrier.wait(60)
            return conns[i].dropoff(f.t.at_a.token,
                                    dropoff_body(hw["code"], [{"category": cat, "count": 3}]),
                                    new_key("rate-c"))

        for i, r in enumerate(_threads(nconn, one)):
            d = expect_json(r, 201)
            paid[hw["id"]].append(d)
            expect_rate(d, default, "concurrent drop-off %d after the new version" % i)
    finally:
        for c in conns:
            c.close()
    _expect_ledger_holds(ctx, hv, paid[hv["id"]], "household of VA")
    _expect_ledger_holds(ctx, hw, paid[hw["id"]], "household of VA2")
    workers = _workers_of(ctx, rids)
    print("    rates: %d drop-offs on %d connections answered by workers %s"
          % (len(rids), nconn, sorted(workers)), flush=True)
