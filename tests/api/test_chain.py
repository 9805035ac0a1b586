"""The three-tier chain (api.md, "The three-tier chain"): every site's stock ledger moved
only by drop-offs, reversals, shipments, receipts, cancellations, counts and outbound
disposal; shipments up the tiers within one county; stock never below 0, even under
concurrent sends; idempotent keys in the site's namespace; who may see and move what."""

import threading
import time

from lib import expect_eq, expect_error, expect_json, expect_status
from test_ledger import (Tree, dropoff_ok, mk_category, mk_household, mk_region, mk_site,
                         mk_staff, new_key, resident_of, set_rate, tag, wait_catalog)
from test_redeem import PIN, mk_clerk, mk_shop

_FX = None


def fx(ctx):
    """A county A with a drop-off site (two of them), a transfer station and a sorting
    centre, each with its attendant; a county B with a transfer station; a g category
    and an item category."""
    global _FX
    if _FX is not None:
        return _FX
    t0 = time.monotonic()
    f = Tree()
    f.g = mk_category(ctx, "g")
    f.it = mk_category(ctx, "item")
    set_rate(ctx, f.g, 1000)                     # 1 point a gram
    set_rate(ctx, f.it, 5)
    f.prov = mk_region(ctx, None, "province")
    f.A = mk_region(ctx, f.prov["id"], "county")
    f.TA = mk_region(ctx, f.A["id"], "town")
    f.VA = mk_region(ctx, f.TA["id"], "village")
    f.TA2 = mk_region(ctx, f.A["id"], "town")
    f.B = mk_region(ctx, f.prov["id"], "county")
    f.TB = mk_region(ctx, f.B["id"], "town")
    f.drop = mk_site(ctx, f.TA["id"], "dropoff")
    f.drop2 = mk_site(ctx, f.TA["id"], "dropoff")
    f.transfer = mk_site(ctx, f.TA2["id"], "transfer")
    f.sorting = mk_site(ctx, f.A["id"], "sorting")
    f.transfer_b = mk_site(ctx, f.TB["id"], "transfer")
    f.at_drop = mk_staff(ctx, "attendant", f.TA["id"], site_id=f.drop["id"])
    f.at_drop2 = mk_staff(ctx, "attendant", f.TA["id"], site_id=f.drop2["id"])
    f.at_transfer = mk_staff(ctx, "attendant", f.TA2["id"], site_id=f.transfer["id"])
    f.at_sorting = mk_staff(ctx, "attendant", f.A["id"], site_id=f.sorting["id"])
    f.at_b = mk_staff(ctx, "attendant", f.TB["id"], site_id=f.transfer_b["id"])
    f.ra_a = mk_staff(ctx, "region_admin", f.A["id"])
    f.ra_b = mk_staff(ctx, "region_admin", f.B["id"])
    f.ra_ta = mk_staff(ctx, "region_admin", f.TA["id"])
    f.h = mk_household(ctx, f.VA["id"], pin=PIN)
    f.resident = resident_of(ctx, f.h, PIN)
    f.clerk = mk_clerk(ctx, mk_shop(ctx, f.TA["id"]))
    wait_catalog(t0)
    _FX = f
    return f


def g_line(f, grams):
    return {"category": f.g, "grams": grams}


def it_line(f, count):
    return {"category": f.it, "count": count}


def collect(ctx, f, grams, count=0, att=None):
    """A drop-off of grams (and count items) at the drop-off site."""
    items = [g_line(f, grams)] + ([it_line(f, count)] if count else [])
    return dropoff_ok(ctx, (att or f.at_drop).token, f.h["code"], items)


def on_hand(ctx, site_id, code, token=None):
    s = expect_json(ctx.get("/v1/sites/%d/stock" % site_id, token=token or ctx.admin_token), 200)
    for line in s["lines"]:
        if line["category"] == code:
            return line["on_hand"]
    raise AssertionError("no line of %s in %r" % (code, s))


def ship(ctx, att, to_site_id, lines, key=None, **extra):
    body = dict(extra, to_site_id=to_site_id, lines=lines)
    return ctx.post("/v1/shipments", body, token=att.token,
                    headers={"Idempotency-Key": key or new_key("ship")})


def shipped(ctx, att, to_site_id, lines, **extra):
    s = expect_json(ship(ctx, att, to_site_id, lines, **extra), 201)
    expect_eq(s.get("replayed"), False, "replayed of a new shipment")
    return s


def receive(ctx, att, sid, lines):
    return ctx.post("/v1/shipments/%d/receive" % sid, {"lines": lines}, token=att.token)


def movements(ctx, site_id, token=None, query=""):
    r = ctx.get("/v1/sites/%d/stock/movements%s" % (site_id, query),
                token=token or ctx.admin_token)
    return expect_json(r, 200)["items"]


# ----------------------------------------------------------------------------- stock

def test_chain_dropoff_adds_to_its_sites_stock_and_reversal_takes_it_back(ctx):
    f = fx(ctx)
    g0, i0 = on_hand(ctx, f.drop["id"], f.g), on_hand(ctx, f.drop["id"], f.it)
    d = collect(ctx, f, 1500, count=3)
    expect_eq(on_hand(ctx, f.drop["id"], f.g), g0 + 1500, "grams after the drop-off")
    expect_eq(on_hand(ctx, f.drop["id"], f.it), i0 + 3, "items after the drop-off")
    rows = movements(ctx, f.drop["id"], query="?limit=2")
    kinds = {(m["kind"], m["ref_id"], m["category"], m["delta"]) for m in rows}
    expect_eq(kinds, {("dropoff", d["id"], f.g, 1500), ("dropoff", d["id"], f.it, 3)},
              "the drop-off's movements")
    for m in rows:
        expect_eq(m["on_hand_after"], on_hand(ctx, f.drop["id"], m["category"]),
                  "on_hand_after of the newest movement")
    r = ctx.post("/v1/dropoffs/%d/reverse" % d["id"], {"reason": "wrong card"},
                 token=ctx.admin_token)
    expect_status(r, 200)
    expect_eq(on_hand(ctx, f.drop["id"], f.g), g0, "grams after the reversal")
    expect_eq(on_hand(ctx, f.drop["id"], f.it), i0, "items after the reversal")
    expect_eq(movements(ctx, f.drop["id"], query="?limit=1")[0]["kind"], "reversal",
              "the newest movement")


def test_chain_stock_answer_lists_every_category(ctx):
    f = fx(ctx)
    s = expect_json(ctx.get("/v1/sites/%d/stock" % f.sorting["id"], token=f.at_sorting.token), 200)
    expect_eq(s["site_id"], f.sorting["id"], "site_id")
    expect_eq(s["tier"], "sorting", "tier")
    assert isinstance(s.get("as_of"), str) and "T" in s["as_of"], s
    units = {l["category"]: l["unit"] for l in s["lines"]}
    expect_eq(units.get(f.g), "g", "unit of the g category")
    expect_eq(units.get(f.it), "item", "unit of the item category")


def test_chain_stock_reach(ctx):
    f = fx(ctx)
    path = "/v1/sites/%d/stock" % f.drop["id"]
    expect_status(ctx.get(path, token=f.at_drop.token), 200)
    expect_status(ctx.get(path, token=f.ra_a.token), 200)
    expect_status(ctx.get(path, token=f.ra_ta.token), 200)
    # another site's attendant (same county), another county's admin: no such site
    expect_error(ctx.get(path, token=f.at_drop2.token), 404, "not_found")
    expect_error(ctx.get(path, token=f.ra_b.token), 404, "not_found")
    expect_error(ctx.get(path + "/movements", token=f.at_drop2.token), 404, "not_found")
    expect_error(ctx.get("/v1/sites/%d/stock" % 999999999, token=ctx.admin_token), 404,
                 "not_found")
    # a resident and a clerk are no attendants
    expect_error(ctx.get(path, token=f.resident.token), 403, "forbidden")
    expect_error(ctx.get(path, token=f.clerk.token), 403, "forbidden")


# ----------------------------------------------------------------------------- shipments

def test_chain_shipment_moves_stock_at_once_and_on_receipt(ctx):
    f = fx(ctx)
    collect(ctx, f, 40000, count=10)
    src0 = on_hand(ctx, f.drop["id"], f.g)
    dst0 = on_hand(ctx, f.transfer["id"], f.g)
    s = shipped(ctx, f.at_drop, f.transfer["id"], [g_line(f, 30000), it_line(f, 10)],
                vehicle="冀A-12345", note="morning run")
    expect_eq(s["status"], "in_transit", "status")
    expect_eq(s["from_site_id"], f.drop["id"], "from_site_id")
    expect_eq(s["to_site_id"], f.transfer["id"], "to_site_id")
    expect_eq(s["sent_by"], f.at_drop.id, "sent_by")
    expect_eq(s["vehicle"], "冀A-12345", "vehicle")
    expect_eq([(l["category"], l["sent"], l["received"], l["loss"]) for l in s["lines"]],
              [(f.g, 30000, None, None), (f.it, 10, None, None)], "lines")
    assert isinstance(s.get("id"), int) and s["id"] > 0, s
    expect_eq(on_hand(ctx, f.drop["id"], f.g), src0 - 30000, "sender's stock at once")
    expect_eq(on_hand(ctx, f.transfer["id"], f.g), dst0, "receiver's stock in transit")
    expect_eq(expect_json(ctx.get("/v1/shipments/%d" % s["id"], token=f.at_transfer.token),
                          200)["status"], "in_transit", "GET by the receiver")

    r = expect_json(receive(ctx, f.at_transfer, s["id"], [it_line(f, 10), g_line(f, 29650)]),
                    200)
    expect_eq(r["status"], "received", "status after receipt")
    expect_eq(r["received_by"], f.at_transfer.id, "received_by")
    assert isinstance(r.get("received_at"), str), r
    expect_eq([(l["category"], l["sent"], l["received"], l["loss"]) for l in r["lines"]],
              [(f.g, 30000, 29650, 350), (f.it, 10, 10, 0)], "lines received")
    expect_eq(on_hand(ctx, f.transfer["id"], f.g), dst0 + 29650, "receiver's stock")
    got = expect_json(ctx.get("/v1/shipments/%d" % s["id"], token=f.at_drop.token), 200)
    expect_eq(got["lines"], r["lines"], "GET shows the receipt")
    expect_eq(got["status"], "received", "GET status")
    # twice: refused, and nothing more arrives
    expect_error(receive(ctx, f.at_transfer, s["id"], [g_line(f, 29650), it_line(f, 10)]), 409,
                 "already_received")
    expect_eq(on_hand(ctx, f.transfer["id"], f.g), dst0 + 29650, "after a second receipt")
    # nor can it be cancelled now
    expect_error(ctx.post("/v1/shipments/%d/cancel" % s["id"], None, token=f.at_drop.token),
                 409, "already_received")
    rows = movements(ctx, f.transfer["id"], query="?limit=2")
    expect_eq({(m["kind"], m["ref_id"]) for m in rows}, {("shipment_in", s["id"])},
              "the receiver's movements")


def test_chain_receiver_may_weigh_more_than_was_sent(ctx):
    f = fx(ctx)
    collect(ctx, f, 1000)
    s = shipped(ctx, f.at_drop, f.sorting["id"], [g_line(f, 1000)])
    r = expect_json(receive(ctx, f.at_sorting, s["id"], [g_line(f, 1040)]), 200)
    expect_eq(r["lines"][0]["loss"], -40, "a negative loss: the receiver weighed more")


def test_chain_receipt_of_nothing_is_a_full_loss(ctx):
    f = fx(ctx)
    collect(ctx, f, 800)
    s = shipped(ctx, f.at_drop, f.transfer["id"], [g_line(f, 800)])
    dst0 = on_hand(ctx, f.transfer["id"], f.g)
    r = expect_json(receive(ctx, f.at_transfer, s["id"], [g_line(f, 0)]), 200)
    expect_eq((r["lines"][0]["received"], r["lines"][0]["loss"]), (0, 800), "received, loss")
    expect_eq(on_hand(ctx, f.transfer["id"], f.g), dst0, "nothing arrived")


def test_chain_shipments_go_up_the_tiers_only(ctx):
    f = fx(ctx)
    collect(ctx, f, 500)
    expect_error(ship(ctx, f.at_drop, f.drop2["id"], [g_line(f, 100)]), 409, "wrong_tier")
    # stock at the transfer station, then down or sideways
    s = shipped(ctx, f.at_drop, f.transfer["id"], [g_line(f, 300)])
    expect_status(receive(ctx, f.at_transfer, s["id"], [g_line(f, 300)]), 200)
    expect_error(ship(ctx, f.at_transfer, f.drop["id"], [g_line(f, 100)]), 409, "wrong_tier")
    up = shipped(ctx, f.at_transfer, f.sorting["id"], [g_line(f, 100)])
    expect_status(receive(ctx, f.at_sorting, up["id"], [g_line(f, 100)]), 200)
    expect_error(ship(ctx, f.at_sorting, f.transfer["id"], [g_line(f, 50)]), 409, "wrong_tier")


def test_chain_destination_outside_the_county_is_not_found(ctx):
    f = fx(ctx)
    collect(ctx, f, 500)
    before = on_hand(ctx, f.drop["id"], f.g)
    expect_error(ship(ctx, f.at_drop, f.transfer_b["id"], [g_line(f, 100)]), 404, "not_found",
                 "to_site_id")
    expect_error(ship(ctx, f.at_drop, 999999999, [g_line(f, 100)]), 404, "not_found",
                 "to_site_id")
    expect_eq(on_hand(ctx, f.drop["id"], f.g), before, "nothing left the site")


def test_chain_more_than_on_hand_is_refused_and_writes_nothing(ctx):
    f = fx(ctx)
    collect(ctx, f, 700, count=2)
    g0 = on_hand(ctx, f.drop["id"], f.g)
    i0 = on_hand(ctx, f.drop["id"], f.it)
    top = movements(ctx, f.drop["id"], query="?limit=1")[0]["id"]
    r = ship(ctx, f.at_drop, f.transfer["id"], [g_line(f, 100), it_line(f, i0 + 1)])
    err = expect_error(r, 409, "insufficient_stock", "lines[1]")
    expect_eq(err.get("on_hand"), i0, "on_hand in the refusal")
    expect_eq(on_hand(ctx, f.drop["id"], f.g), g0, "the first line was not taken")
    expect_eq(movements(ctx, f.drop["id"], query="?limit=1")[0]["id"], top, "no new movement")


def test_chain_shipment_body_is_checked(ctx):
    f = fx(ctx)
    to = f.transfer["id"]
    cases = [
        ([], "lines"),
        ([g_line(f, 1)] * 51, "lines"),
        ([g_line(f, 1), g_line(f, 2)], "lines[1].category"),
        ([{"category": f.g, "count": 1}], "lines[0].count"),
        ([{"category": f.it, "grams": 1}], "lines[0].grams"),
        ([g_line(f, 50000001)], "lines[0].grams"),
        ([it_line(f, 100001)], "lines[0].count"),
        ([g_line(f, 0)], "lines[0].grams"),
        ([{"category": "no-such-" + tag(4), "grams": 5}], "lines[0].category"),
        ([{"category": f.g}], "lines[0].grams"),
    ]
    for lines, field in cases:
        expect_error(ship(ctx, f.at_drop, to, lines), 400, "invalid_request", field)
    expect_error(ship(ctx, f.at_drop, to, [g_line(f, 1)], vehicle="x" * 101), 400,
                 "invalid_request", "vehicle")
    expect_error(ctx.post("/v1/shipments", {"lines": [g_line(f, 1)]}, token=f.at_drop.token,
                          headers={"Idempotency-Key": new_key()}), 400, "invalid_request",
                 "to_site_id")
    # the key is required
    expect_error(ctx.post("/v1/shipments", {"to_site_id": to, "lines": [g_line(f, 1)]},
                          token=f.at_drop.token), 400, "invalid_request")


def test_chain_only_an_attendant_sends(ctx):
    f = fx(ctx)
    body = {"to_site_id": f.transfer["id"], "lines": [g_line(f, 1)]}
    for tok in (ctx.admin_token, f.ra_a.token):
        expect_error(ctx.post("/v1/shipments", body, token=tok,
                              headers={"Idempotency-Key": new_key()}), 403, "forbidden")


def test_chain_shipment_key_replays_and_conflicts(ctx):
    f = fx(ctx)
    collect(ctx, f, 2000)
    g0 = on_hand(ctx, f.drop["id"], f.g)
    key = new_key("ship")
    first = shipped(ctx, f.at_drop, f.transfer["id"], [g_line(f, 600)], key=key)
    again = expect_json(ship(ctx, f.at_drop, f.transfer["id"], [g_line(f, 600)], key=key), 201)
    expect_eq(again.get("replayed"), True, "replayed")
    expect_eq(again["id"], first["id"], "the same shipment")
    expect_eq(on_hand(ctx, f.drop["id"], f.g), g0 - 600, "stock moved once")
    expect_error(ship(ctx, f.at_drop, f.transfer["id"], [g_line(f, 601)], key=key), 409,
                 "idempotency_conflict")
    # a refusal decided in the transaction is replayed too
    k2 = new_key("ship")
    big = g0 * 10 + 10 ** 6
    expect_error(ship(ctx, f.at_drop, f.transfer["id"], [g_line(f, min(big, 50000000))], key=k2),
                 409, "insufficient_stock")
    collect(ctx, f, 1000)
    r = ship(ctx, f.at_drop, f.transfer["id"], [g_line(f, min(big, 50000000))], key=k2)
    expect_error(r, 409, "insufficient_stock")


def test_chain_concurrent_sends_never_take_more_than_on_hand(ctx):
    f = fx(ctx)
    site = mk_site(ctx, f.TA["id"], "dropoff")
    att = mk_staff(ctx, "attendant", f.TA["id"], site_id=site["id"])
    collect(ctx, f, 10000, att=att)
    results = []
    lock = threading.Lock()

    def send():
        r = ship(ctx, att, f.transfer["id"], [g_line(f, 1500)])
        with lock:
            results.append(r)

    threads = [threading.Thread(target=send) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [r for r in results if r.status == 201]
    for r in results:
        if r.status != 201:
            expect_error(r, 409, "insufficient_stock", "lines[0]")
    expect_eq(len(ok), 6, "shipments of 1500 g out of 10000 g")
    expect_eq(on_hand(ctx, site["id"], f.g), 10000 - 6 * 1500, "what is left")
    rows = movements(ctx, site["id"])
    after = [m["on_hand_after"] for m in sorted(rows, key=lambda m: m["id"])]
    assert min(after) >= 0, after
    deltas = sum(m["delta"] for m in rows)
    expect_eq(deltas, on_hand(ctx, site["id"], f.g), "the movements add up to the stock")


def test_chain_dropoffs_and_shipments_racing_on_one_site(ctx):
    """Drop-offs adding to a site's stock while shipments take from it: every shipment
    is sent in full or refused, the stock never goes below 0, and it ends as what came
    in less what went out."""
    f = fx(ctx)
    site = mk_site(ctx, f.TA["id"], "dropoff")
    att = mk_staff(ctx, "attendant", f.TA["id"], site_id=site["id"])
    collect(ctx, f, 600, att=att)
    results = {"drop": [], "ship": []}
    lock = threading.Lock()

    def drop():
        for _ in range(6):
            r = dropoff_ok(ctx, att.token, f.h["code"], [g_line(f, 100)])
            with lock:
                results["drop"].append(r)

    def send():
        for _ in range(4):
            r = ship(ctx, att, f.transfer["id"], [g_line(f, 250)])
            with lock:
                results["ship"].append(r)

    threads = [threading.Thread(target=drop) for _ in range(3)] + \
              [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expect_eq(len(results["drop"]), 18, "drop-offs credited")
    sent = 0
    for r in results["ship"]:
        if r.status == 201:
            sent += 250
        else:
            expect_error(r, 409, "insufficient_stock", "lines[0]")
    assert sent > 0, "no shipment got through"
    expect_eq(on_hand(ctx, site["id"], f.g), 600 + 18 * 100 - sent, "in less out")
    rows = sorted(movements(ctx, site["id"], query="?limit=500"), key=lambda m: m["id"])
    assert min(m["on_hand_after"] for m in rows) >= 0, rows
    running = 0
    for m in rows:
        running += m["delta"]
        expect_eq(m["on_hand_after"], running, "on hand after movement %d" % m["id"])


def test_chain_cancel_gives_the_stock_back(ctx):
    f = fx(ctx)
    collect(ctx, f, 900)
    g0 = on_hand(ctx, f.drop["id"], f.g)
    s = shipped(ctx, f.at_drop, f.transfer["id"], [g_line(f, 900)])
    # the receiver, another county's admin: not theirs to cancel
    expect_error(ctx.post("/v1/shipments/%d/cancel" % s["id"], None, token=f.at_transfer.token),
                 403, "forbidden")
    expect_error(ctx.post("/v1/shipments/%d/cancel" % s["id"], None, token=f.ra_b.token),
                 404, "not_found")
    c = expect_json(ctx.post("/v1/shipments/%d/cancel" % s["id"], {"reason": "truck broke"},
                             token=f.at_drop.token), 200)
    expect_eq(c["status"], "cancelled", "status")
    expect_eq(c.get("cancel_reason"), "truck broke", "cancel_reason")
    expect_eq(on_hand(ctx, f.drop["id"], f.g), g0, "stock back at the sender")
    expect_eq(movements(ctx, f.drop["id"], query="?limit=1")[0]["kind"], "shipment_cancel",
              "the newest movement")
    expect_error(receive(ctx, f.at_transfer, s["id"], [g_line(f, 900)]), 409,
                 "already_cancelled")
    expect_error(ctx.post("/v1/shipments/%d/cancel" % s["id"], None, token=f.at_drop.token),
                 409, "already_cancelled")
    # an admin with reach cancels too
    s2 = shipped(ctx, f.at_drop, f.transfer["id"], [g_line(f, 100)])
    expect_status(ctx.post("/v1/shipments/%d/cancel" % s2["id"], None, token=f.ra_a.token), 200)


def test_chain_receipt_is_checked(ctx):
    f = fx(ctx)
    collect(ctx, f, 400, count=1)
    s = shipped(ctx, f.at_drop, f.transfer["id"], [g_line(f, 300), it_line(f, 1)])
    expect_error(receive(ctx, f.at_drop, s["id"], [g_line(f, 300), it_line(f, 1)]), 403,
                 "forbidden")
    expect_error(receive(ctx, f.at_sorting, s["id"], [g_line(f, 300), it_line(f, 1)]), 404,
                 "not_found")
    expect_error(receive(ctx, f.at_b, s["id"], [g_line(f, 300), it_line(f, 1)]), 404,
                 "not_found")
    expect_error(receive(ctx, f.at_transfer, s["id"], [g_line(f, 300)]), 400,
                 "invalid_request", "lines")
    other = mk_category(ctx, "g")
    # (a category made a moment ago may not be in every worker's catalogue yet: either
    # refusal names the line)
    r = receive(ctx, f.at_transfer, s["id"],
                [g_line(f, 300), it_line(f, 1), {"category": other, "grams": 1}])
    expect_error(r, 400, "invalid_request", "lines[2].category")
    expect_error(receive(ctx, f.at_transfer, 999999999, [g_line(f, 1)]), 404, "not_found")
    expect_eq(expect_json(ctx.get("/v1/shipments/%d" % s["id"], token=ctx.admin_token),
                          200)["status"], "in_transit", "still in transit")


def test_chain_shipment_lists(ctx):
    f = fx(ctx)
    collect(ctx, f, 300)
    s = shipped(ctx, f.at_drop, f.transfer["id"], [g_line(f, 100)])

    def ids(token, query):
        r = ctx.get("/v1/shipments" + query, token=token)
        return [x["id"] for x in expect_json(r, 200)["items"]]

    assert s["id"] in ids(f.at_drop.token, ""), "the sender's list"
    assert s["id"] in ids(f.at_drop.token, "?direction=out&status=in_transit"), "out, in transit"
    assert s["id"] not in ids(f.at_drop.token, "?direction=in"), "not incoming at the sender"
    assert s["id"] in ids(f.at_transfer.token, "?direction=in"), "incoming at the receiver"
    assert s["id"] not in ids(f.at_drop2.token, ""), "another site's attendant"
    assert s["id"] in ids(f.ra_a.token, "?site_id=%d" % f.transfer["id"]), "the county admin"
    assert s["id"] not in ids(f.ra_b.token, ""), "another county's admin"
    assert s["id"] not in ids(f.at_drop.token, "?status=received"), "status filter"
    expect_error(ctx.get("/v1/shipments?site_id=%d" % f.transfer["id"], token=f.ra_b.token),
                 404, "not_found", "site_id")
    expect_error(ctx.get("/v1/shipments?direction=up", token=ctx.admin_token), 400,
                 "invalid_request", "direction")
    expect_error(ctx.get("/v1/shipments?status=lost", token=ctx.admin_token), 400,
                 "invalid_request", "status")
    expect_error(ctx.get("/v1/shipments/%d" % s["id"], token=f.at_drop2.token), 404,
                 "not_found")
    expect_error(ctx.get("/v1/shipments/%d" % s["id"], token=f.ra_b.token), 404, "not_found")


# ----------------------------------------------------------------------------- counts, outbound

def count(ctx, token, site_id, lines, key=None):
    return ctx.post("/v1/sites/%d/stock-counts" % site_id, {"lines": lines}, token=token,
                    headers={"Idempotency-Key": key or new_key("count")})


def test_chain_stock_count_sets_the_stock_to_what_was_counted(ctx):
    f = fx(ctx)
    collect(ctx, f, 5000, att=f.at_drop2)
    g0 = on_hand(ctx, f.drop2["id"], f.g)
    key = new_key("count")
    c = expect_json(count(ctx, f.at_drop2.token, f.drop2["id"], [g_line(f, g0 - 120)], key=key),
                    201)
    expect_eq(c["lines"], [{"category": f.g, "expected": g0, "counted": g0 - 120,
                            "difference": -120}], "the count's lines")
    assert isinstance(c.get("id"), int), c
    expect_eq(on_hand(ctx, f.drop2["id"], f.g), g0 - 120, "stock after the count")
    m = movements(ctx, f.drop2["id"], query="?limit=1")[0]
    expect_eq((m["kind"], m["delta"], m["ref_id"]), ("count", -120, c["id"]), "the movement")
    again = expect_json(count(ctx, f.at_drop2.token, f.drop2["id"], [g_line(f, g0 - 120)],
                              key=key), 201)
    expect_eq((again["replayed"], again["id"]), (True, c["id"]), "replay")
    # counting what is there moves nothing; an admin counts too
    c2 = expect_json(count(ctx, f.ra_a.token, f.drop2["id"], [g_line(f, g0 - 120)]), 201)
    expect_eq(c2["lines"][0]["difference"], 0, "no difference")
    expect_eq(movements(ctx, f.drop2["id"], query="?limit=1")[0]["id"], m["id"],
              "no movement for no difference")
    expect_error(count(ctx, f.at_drop.token, f.drop2["id"], [g_line(f, 1)]), 404, "not_found")
    expect_error(count(ctx, f.ra_b.token, f.drop2["id"], [g_line(f, 1)]), 404, "not_found")
    expect_error(ctx.post("/v1/sites/%d/stock-counts" % f.drop2["id"],
                          {"lines": [g_line(f, 1)]}, token=f.at_drop2.token), 400,
                 "invalid_request")


def outbound(ctx, att, lines, disposition="recycled", buyer="Hebei Renewables Co."):
    return ctx.post("/v1/outbound", {"buyer": buyer, "disposition": disposition,
                                     "lines": lines},
                    token=att.token, headers={"Idempotency-Key": new_key("out")})


def test_chain_outbound_leaves_from_a_sorting_centre_only(ctx):
    f = fx(ctx)
    collect(ctx, f, 2500)
    s = shipped(ctx, f.at_drop, f.sorting["id"], [g_line(f, 2500)])
    expect_status(receive(ctx, f.at_sorting, s["id"], [g_line(f, 2500)]), 200)
    left = on_hand(ctx, f.sorting["id"], f.g)
    o = expect_json(outbound(ctx, f.at_sorting, [g_line(f, 2000)], "energy_recovery"), 201)
    expect_eq((o["disposition"], o["buyer"], o["site_id"]),
              ("energy_recovery", "Hebei Renewables Co.", f.sorting["id"]), "the outbound")
    expect_eq(on_hand(ctx, f.sorting["id"], f.g), left - 2000, "stock after it left")
    m = movements(ctx, f.sorting["id"], query="?limit=1")[0]
    expect_eq((m["kind"], m["delta"], m["ref_id"]), ("outbound", -2000, o["id"]), "the movement")
    expect_error(outbound(ctx, f.at_sorting, [g_line(f, left)]), 409, "insufficient_stock",
                 "lines[0]")
    expect_error(outbound(ctx, f.at_sorting, [g_line(f, 1)], "burned"), 400, "invalid_request",
                 "disposition")
    expect_error(outbound(ctx, f.at_transfer, [g_line(f, 1)]), 409, "wrong_tier")
    expect_error(outbound(ctx, f.at_drop, [g_line(f, 1)]), 409, "wrong_tier")


def test_chain_movements_filter_and_csv(ctx):
    f = fx(ctx)
    collect(ctx, f, 250, count=1)
    rows = movements(ctx, f.drop["id"], query="?category=%s" % f.it)
    assert rows and all(m["category"] == f.it for m in rows), rows
    ids = [m["id"] for m in rows]
    expect_eq(ids, sorted(ids, reverse=True), "newest first")
    expect_eq(movements(ctx, f.drop["id"], query="?from=2000-01-01&to=2000-01-31"), [],
              "a period with nothing")
    expect_error(ctx.get("/v1/sites/%d/stock/movements?category=nope-%s" % (f.drop["id"], tag(3)),
                         token=ctx.admin_token), 400, "invalid_request", "category")
    expect_error(ctx.get("/v1/sites/%d/stock/movements?from=yesterday" % f.drop["id"],
                         token=ctx.admin_token), 400, "invalid_request", "from")
    r = ctx.get("/v1/sites/%d/stock/movements?format=csv" % f.drop["id"], token=f.at_drop.token)
    expect_status(r, 200)
    assert r.headers.get("Content-Type", "").startswith("text/csv"), r
    text = r.body.decode("utf-8")
    assert text.startswith("\ufeff"), "a byte-order mark first"
    lines = text[1:].split("\r\n")
    expect_eq(lines[0], "id,local_day,created_at,category,kind,ref_id,delta,on_hand_after",
              "the header")
    expect_eq(len([l for l in lines[1:] if l]), len(movements(ctx, f.drop["id"],
                                                              query="?limit=500")),
              "one row a movement")
    page = expect_json(ctx.get("/v1/sites/%d/stock/movements?limit=1" % f.drop["id"],
                               token=ctx.admin_token), 200)
    assert page["next_cursor"], page
    nxt = expect_json(ctx.get("/v1/sites/%d/stock/movements?limit=1&cursor=%s" %
                              (f.drop["id"], page["next_cursor"]), token=ctx.admin_token), 200)
    assert nxt["items"][0]["id"] < page["items"][0]["id"], (page, nxt)
