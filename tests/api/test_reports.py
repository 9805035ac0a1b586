"""Reports (api.md, "Reports"): each report on a small world equals a brute-force query
over the raw tables (distinct households in totals, ties in the leaderboard, reversed
drop-offs leaving every figure); the mass balance of `flows` holds after every step of a
seeded random sequence of movements and its terms equal the test's own record; CSV with
its BOM, header, Chinese labels and inert formulas; refusals of bad parameters and of
callers without reach."""

import datetime
import os
import random
import time

from lib import expect_eq, expect_error, expect_json, expect_status
from test_ledger import (CST, Tree, dropoff_ok, mk_category, mk_household, mk_region, mk_site,
                         mk_staff, new_key, set_rate, tag, wait_catalog)

_FX = None


def today():
    return datetime.datetime.now(CST).strftime("%Y-%m-%d")


def this_month():
    return datetime.datetime.now(CST).strftime("%Y-%m")


def fx(ctx):
    """County A (towns TA, TB; villages VA1, VA2 in TA, VB in TB) with two drop-off sites,
    a transfer station and a sorting centre; county Z elsewhere with its admin; two
    categories (g, item) with rates; households; drop-offs, one of them reversed."""
    global _FX
    if _FX is not None:
        return _FX
    t0 = time.monotonic()
    f = Tree()
    f.g = mk_category(ctx, "g")
    f.it = mk_category(ctx, "item")
    set_rate(ctx, f.g, 2000)                 # 2 points a gram
    set_rate(ctx, f.it, 7)
    f.prov = mk_region(ctx, None, "province")
    f.A = mk_region(ctx, f.prov["id"], "county")
    f.TA = mk_region(ctx, f.A["id"], "town")
    f.TB = mk_region(ctx, f.A["id"], "town")
    f.VA1 = mk_region(ctx, f.TA["id"], "village")
    f.VA2 = mk_region(ctx, f.TA["id"], "village")
    f.VB = mk_region(ctx, f.TB["id"], "village")
    f.Z = mk_region(ctx, f.prov["id"], "county")
    f.S1 = mk_site(ctx, f.VA1["id"], "dropoff")
    f.S2 = mk_site(ctx, f.VB["id"], "dropoff")
    f.T = mk_site(ctx, f.TA["id"], "transfer")
    f.C = mk_site(ctx, f.A["id"], "sorting")
    f.at1 = mk_staff(ctx, "attendant", f.TA["id"], site_id=f.S1["id"])
    f.at2 = mk_staff(ctx, "attendant", f.TB["id"], site_id=f.S2["id"])
    f.atT = mk_staff(ctx, "attendant", f.TA["id"], site_id=f.T["id"])
    f.atC = mk_staff(ctx, "attendant", f.A["id"], site_id=f.C["id"])
    f.ra = mk_staff(ctx, "region_admin", f.A["id"])
    f.rz = mk_staff(ctx, "region_admin", f.Z["id"])
    f.hh = [mk_household(ctx, v["id"]) for v in (f.VA1, f.VA1, f.VA2, f.VB, f.VB)]
    wait_catalog(t0)
    g, it = f.g, f.it
    # household 0 and 1 tie on points; 2 drops at both sites; 3's drop-off is reversed
    f.drops = [
        dropoff_ok(ctx, f.at1.token, f.hh[0]["code"], [{"category": g, "grams": 1500}]),
        dropoff_ok(ctx, f.at1.token, f.hh[1]["code"], [{"category": g, "grams": 1500}]),
        dropoff_ok(ctx, f.at1.token, f.hh[2]["code"], [{"category": g, "grams": 700},
                                                       {"category": it, "count": 3}]),
        dropoff_ok(ctx, f.at2.token, f.hh[2]["code"], [{"category": it, "count": 2}]),
        dropoff_ok(ctx, f.at2.token, f.hh[3]["code"], [{"category": g, "grams": 9000}]),
        dropoff_ok(ctx, f.at2.token, f.hh[4]["code"], [{"category": g, "grams": 300},
                                                       {"category": it, "count": 1}]),
        dropoff_ok(ctx, f.at2.token, f.hh[4]["code"], [{"category": g, "grams": 200}]),
    ]
    expect_status(ctx.post("/v1/dropoffs/%d/reverse" % f.drops[4]["id"], {"reason": "test"},
                           token=ctx.admin_token), 200)
    _FX = f
    return f


def report(ctx, name, token=None, **q):
    qs = "&".join("%s=%s" % (k, v) for k, v in q.items())
    r = ctx.get("/v1/reports/%s%s" % (name, "?" + qs if qs else ""), token=token or ctx.admin_token)
    return expect_json(r, 200)


def ints(rows):
    return [tuple(int(x) for x in row) for row in rows]


# ----------------------------------------------------------------------------- collection

def brute_collection(ctx, f, group, day0, day1, path_region, category=None):
    """(key -> (dropoffs, grams, items, points, households)) straight from the raw rows."""
    path = ctx.sql("SELECT path FROM regions WHERE id = %d" % path_region)[0][0]
    key = {"category": "c.code", "site": "d.site_id", "day": "d.local_day",
           "month": "DATE_FORMAT(d.local_day, '%Y-%m')"}[group]
    where = ("g.path LIKE '%s%%' AND d.status = 'ok' AND d.local_day BETWEEN '%s' AND '%s'"
             % (path, day0, day1))
    if group == "category" or category:
        q = ("SELECT %s, COUNT(DISTINCT d.id), COALESCE(SUM(l.grams), 0), "
             "COALESCE(SUM(l.count), 0), SUM(l.points), COUNT(DISTINCT d.household_id) "
             "FROM dropoffs d JOIN dropoff_lines l ON l.dropoff_id = d.id "
             "JOIN categories c ON c.id = l.category_id JOIN sites t ON t.id = d.site_id "
             "JOIN regions g ON g.id = t.region_id WHERE %s%s GROUP BY 1"
             % (key, where, " AND c.code = '%s'" % category if category else ""))
    else:
        q = ("SELECT %s, COUNT(*), SUM(d.grams), SUM(d.items), SUM(d.points), "
             "COUNT(DISTINCT d.household_id) FROM dropoffs d JOIN sites t ON t.id = d.site_id "
             "JOIN regions g ON g.id = t.region_id WHERE %s GROUP BY 1" % (key, where))
    out = {}
    for row in ctx.sql(q):
        k = row[0] if group in ("category", "day", "month") else int(row[0])
        out[k] = tuple(int(x) for x in row[1:])
    return out


def test_reports_collection_equals_the_raw_rows(ctx):
    f = fx(ctx)
    d0 = d1 = today()
    for group in ("category", "site", "day", "month"):
        rep = report(ctx, "collection", region_id=f.A["id"], group_by=group, **{"from": d0, "to": d1})
        got = {row["key"]: (row["dropoffs"], row["grams"], row["items"], row["points"],
                            row["households"]) for row in rep["rows"]}
        expect_eq(got, brute_collection(ctx, f, group, d0, d1, f.A["id"]), "group_by=%s" % group)
        keys = [row["key"] for row in rep["rows"]]
        expect_eq(keys, sorted(keys), "rows sorted by key (%s)" % group)
    tot = report(ctx, "collection", region_id=f.A["id"], **{"from": d0, "to": d1})["totals"]
    # 6 credited drop-offs (the seventh was reversed), households 0, 1, 2 and 4
    expect_eq((tot["dropoffs"], tot["households"]), (6, 4), "totals: drop-offs, distinct households")
    expect_eq((tot["grams"], tot["items"]), (1500 + 1500 + 700 + 300 + 200, 3 + 2 + 1), "totals")
    one = report(ctx, "collection", region_id=f.A["id"], category=f.it, **{"from": d0, "to": d1})
    expect_eq((one["totals"]["dropoffs"], one["totals"]["items"], one["totals"]["households"]),
              (3, 6, 2), "one category's totals")
    site = report(ctx, "collection", region_id=f.A["id"], site_id=f.S2["id"], **{"from": d0, "to": d1})
    expect_eq((site["totals"]["dropoffs"], site["totals"]["households"]), (3, 2), "one site")


def test_reports_collection_by_region_is_by_child(ctx):
    f = fx(ctx)
    rep = report(ctx, "collection", region_id=f.A["id"], group_by="region")
    by = {row["key"]: row for row in rep["rows"]}
    expect_eq(set(by), {f.TA["id"], f.TB["id"]}, "the county's towns")
    expect_eq(by[f.TA["id"]]["label"], f.TA["name"], "label")
    expect_eq((by[f.TA["id"]]["dropoffs"], by[f.TB["id"]]["dropoffs"]), (3, 3), "drop-offs per town")
    expect_eq((by[f.TA["id"]]["households"], by[f.TB["id"]]["households"]), (3, 2),
              "households per town")
    town = report(ctx, "collection", region_id=f.TA["id"], group_by="region", token=f.ra.token)
    expect_eq([r["key"] for r in town["rows"]], [f.VA1["id"]], "the town's villages with figures")


def test_reports_collection_csv(ctx):
    f = fx(ctx)
    r = ctx.get("/v1/reports/collection?region_id=%d&group_by=category&format=csv" % f.A["id"],
                token=ctx.admin_token)
    expect_status(r, 200)
    assert r.headers.get("Content-Type", "").startswith("text/csv"), r
    text = r.body.decode("utf-8")
    assert text.startswith("\ufeff"), "BOM"
    lines = text[1:].rstrip("\r\n").split("\r\n")
    expect_eq(lines[0], "key,label,dropoffs,grams,items,points,households", "header")
    assert any(",测试," in l for l in lines[1:]), "the Chinese label: %r" % lines
    assert lines[-1].startswith("total,合计,"), lines[-1]
    # a site named like a formula stays text
    s = mk_site(ctx, f.VA2["id"], "dropoff")
    ctx.sql("UPDATE sites SET name = '=HYPERLINK(\"x\")' WHERE id = %d" % s["id"])
    att = mk_staff(ctx, "attendant", f.TA["id"], site_id=s["id"])
    dropoff_ok(ctx, att.token, f.hh[2]["code"], [{"category": f.g, "grams": 10}])
    r = ctx.get("/v1/reports/collection?region_id=%d&group_by=site" % f.A["id"],
                token=ctx.admin_token, headers={"Accept": "text/csv"})
    expect_status(r, 200)
    assert "'=HYPERLINK" in r.body.decode("utf-8"), r
    # the extra drop-off is part of this module's world now: take it out again
    rows = ctx.sql("SELECT id FROM dropoffs WHERE site_id = %d" % s["id"])
    expect_status(ctx.post("/v1/dropoffs/%s/reverse" % rows[0][0], {"reason": "test"},
                           token=ctx.admin_token), 200)


# ----------------------------------------------------------------------------- people

def test_reports_participation_equals_the_raw_rows(ctx):
    f = fx(ctx)
    m = this_month()
    rep = report(ctx, "participation", region_id=f.A["id"], month=m)
    by = {row["region_id"]: row for row in rep["rows"]}
    # households by town: TA has 3 (VA1 2, VA2 1), TB 2; active: TA 3, TB 1 (3 was reversed)
    expect_eq((by[f.TA["id"]]["households"], by[f.TA["id"]]["active_households"]), (3, 3), "TA")
    expect_eq((by[f.TB["id"]]["households"], by[f.TB["id"]]["active_households"]), (2, 1), "TB")
    expect_eq(by[f.TB["id"]]["rate"], 0.5, "rate")
    tot = rep["totals"][0]
    expect_eq((tot["households"], tot["active_households"], tot["rate"], tot["month"]),
              (5, 4, 0.8, m), "the county's total")
    # a household closed this month is not counted at its end
    h = mk_household(ctx, f.VB["id"])
    expect_status(ctx.call("PATCH", "/v1/households/%d" % h["id"], {"status": "closed"},
                           token=ctx.admin_token), 200)
    again = report(ctx, "participation", region_id=f.A["id"], month=m)["totals"][0]
    expect_eq(again["households"], 5, "a closed account is not counted")
    # the month before: none of them existed at its end
    prev = (datetime.datetime.now(CST).replace(day=1) - datetime.timedelta(days=1)).strftime("%Y-%m")
    rng = report(ctx, "participation", region_id=f.A["id"], from_month=prev, to_month=m)
    expect_eq([t["month"] for t in rng["totals"]], [prev, m], "one total a month")
    expect_eq(rng["totals"][0]["households"], 0, "before the households were made")


def test_reports_leaderboard_ranks_with_ties(ctx):
    f = fx(ctx)
    rep = report(ctx, "leaderboard", region_id=f.A["id"], month=this_month())
    rows = rep["rows"]
    brute = ctx.sql("SELECT d.household_id, SUM(d.points), COUNT(*) FROM dropoffs d "
                    "JOIN households h ON h.id = d.household_id JOIN regions g ON g.id = h.region_id "
                    "WHERE g.path LIKE '%s%%' AND d.status = 'ok' GROUP BY 1 ORDER BY 2 DESC, 1"
                    % ctx.sql("SELECT path FROM regions WHERE id = %d" % f.A["id"])[0][0])
    expect_eq([(r["household_id"], r["points"], r["dropoffs"]) for r in rows], ints(brute),
              "points and drop-offs by household")
    # households 0 and 1 earned the same 3000 points
    tie = [r["rank"] for r in rows if r["household_id"] in (f.hh[0]["id"], f.hh[1]["id"])]
    expect_eq(tie[0], tie[1], "equal points share a rank")
    for i, r in enumerate(rows):
        expect_eq(r["rank"], 1 + sum(1 for o in rows if o["points"] > r["points"]), "rank %d" % i)
    assert "*" in rows[0]["head_name_masked"], rows[0]
    expect_eq(len(report(ctx, "leaderboard", region_id=f.A["id"], month=this_month(),
                         limit=2)["rows"]), 2, "limit")
    assert f.hh[3]["id"] not in [r["household_id"] for r in rows], "a reversed drop-off earns no place"


def test_reports_points_equals_the_ledger(ctx):
    f = fx(ctx)
    r = ctx.post("/v1/households/%d/adjustments" % f.hh[1]["id"], {"points": 55, "reason": "bonus"},
                 token=ctx.admin_token, headers={"Idempotency-Key": new_key("adj")})
    expect_status(r, 201)
    rep = report(ctx, "points", region_id=f.A["id"], **{"from": today(), "to": today()})
    tot = rep["totals"]
    path = ctx.sql("SELECT path FROM regions WHERE id = %d" % f.A["id"])[0][0]
    by_kind = dict((k, int(v)) for k, v in ctx.sql(
        "SELECT l.kind, SUM(l.delta) FROM ledger l JOIN households h ON h.id = l.household_id "
        "JOIN regions g ON g.id = h.region_id WHERE g.path LIKE '%s%%' GROUP BY 1" % path))
    expect_eq(tot["issued"]["dropoffs"], by_kind.get("dropoff", 0), "issued by drop-offs")
    expect_eq(tot["issued"]["adjustments"], by_kind.get("adjustment", 0), "adjustments")
    expect_eq(tot["reversed"], -by_kind.get("reversal", 0), "reversed")
    balance = int(ctx.sql("SELECT SUM(h.balance) FROM households h JOIN regions g "
                          "ON g.id = h.region_id WHERE g.path LIKE '%s%%'" % path)[0][0])
    expect_eq(tot["outstanding"], balance, "outstanding")
    by = {row["region_id"]: row for row in rep["rows"]}
    expect_eq(by[f.TA["id"]]["outstanding"] + by[f.TB["id"]]["outstanding"], balance, "by town")
    # a period before anything happened: nothing moved, nothing outstanding
    old = report(ctx, "points", region_id=f.A["id"], **{"from": "2020-01-01", "to": "2020-01-31"})
    expect_eq((old["totals"]["issued"]["dropoffs"], old["totals"]["outstanding"]), (0, 0), "2020")


# ----------------------------------------------------------------------------- flows

TERMS = ("collected", "reversed", "transit_loss", "in_transit", "count_difference")


def month_ago():
    return (datetime.datetime.now(CST) - datetime.timedelta(days=30)).strftime("%Y-%m-%d")


def flows_of(ctx, region_id, code, day0=None):
    rep = report(ctx, "flows", region_id=region_id, **{"from": day0 or month_ago(), "to": today()})
    for row in rep["rows"]:
        if row["category"] == code:
            return rep, row
    return rep, None


def test_reports_flows_balance_through_a_random_sequence(ctx):
    """A fresh county: every step is one movement; after each, flows (over the last 30
    days, so with nothing to open with) balances, and its terms are what the test
    recorded."""
    f = fx(ctx)
    rnd = random.Random(20261202)
    K = mk_region(ctx, f.prov["id"], "county")
    KT = mk_region(ctx, K["id"], "town")
    KV = mk_region(ctx, KT["id"], "village")
    d1, d2 = mk_site(ctx, KV["id"], "dropoff"), mk_site(ctx, KV["id"], "dropoff")
    tr, so = mk_site(ctx, KT["id"], "transfer"), mk_site(ctx, K["id"], "sorting")
    att = {s["id"]: mk_staff(ctx, "attendant", s["region_id"], site_id=s["id"])
           for s in (d1, d2, tr, so)}
    homes = [mk_household(ctx, KV["id"]) for _ in range(3)]
    code = f.g
    rec = dict(collected=0, reversed=0, transit_loss=0, in_transit=0, count_difference=0,
               outbound=0)
    stock = {d1["id"]: 0, d2["id"]: 0, tr["id"]: 0, so["id"]: 0}
    credited, open_ships = [], []
    for step in range(40):
        move = rnd.choice(["drop", "drop", "drop", "reverse", "ship", "ship", "receive",
                           "cancel", "count", "outbound"])
        if move == "drop":
            site = rnd.choice([d1, d2])
            grams = rnd.randint(100, 5000)
            d = dropoff_ok(ctx, att[site["id"]].token, rnd.choice(homes)["code"],
                           [{"category": code, "grams": grams}])
            credited.append((d["id"], site["id"], grams))
            stock[site["id"]] += grams
            rec["collected"] += grams
        elif move == "reverse" and credited:
            did, sid, grams = credited.pop(rnd.randrange(len(credited)))
            expect_status(ctx.post("/v1/dropoffs/%d/reverse" % did, {"reason": "step"},
                                   token=ctx.admin_token), 200)
            back = min(grams, stock[sid])
            stock[sid] -= back
            rec["reversed"] += back
        elif move == "ship":
            src = rnd.choice([d1, d2, tr])
            dst = so if src is tr else rnd.choice([tr, so])
            if stock[src["id"]] == 0:
                continue
            qty = rnd.randint(1, stock[src["id"]])
            r = ctx.post("/v1/shipments", {"to_site_id": dst["id"],
                                           "lines": [{"category": code, "grams": qty}]},
                         token=att[src["id"]].token, headers={"Idempotency-Key": new_key("s")})
            s = expect_json(r, 201)
            stock[src["id"]] -= qty
            rec["in_transit"] += qty
            open_ships.append((s["id"], src["id"], dst["id"], qty))
        elif move == "receive" and open_ships:
            sid, src, dst, qty = open_ships.pop(rnd.randrange(len(open_ships)))
            got = max(0, qty + rnd.randint(-qty // 5 - 1, qty // 10 + 1))
            expect_status(ctx.post("/v1/shipments/%d/receive" % sid,
                                   {"lines": [{"category": code, "grams": got}]},
                                   token=att[dst].token), 200)
            stock[dst] += got
            rec["in_transit"] -= qty
            rec["transit_loss"] += qty - got
        elif move == "cancel" and open_ships:
            sid, src, dst, qty = open_ships.pop(rnd.randrange(len(open_ships)))
            expect_status(ctx.post("/v1/shipments/%d/cancel" % sid, None,
                                   token=att[src].token), 200)
            stock[src] += qty
            rec["in_transit"] -= qty
        elif move == "count":
            site = rnd.choice([d1, d2, tr, so])
            counted = max(0, stock[site["id"]] + rnd.randint(-300, 200))
            r = ctx.post("/v1/sites/%d/stock-counts" % site["id"],
                         {"lines": [{"category": code, "grams": counted}]},
                         token=att[site["id"]].token, headers={"Idempotency-Key": new_key("c")})
            expect_status(r, 201)
            rec["count_difference"] += stock[site["id"]] - counted
            stock[site["id"]] = counted
        elif move == "outbound" and stock[so["id"]] > 0:
            qty = rnd.randint(1, stock[so["id"]])
            r = ctx.post("/v1/outbound", {"buyer": "Paper mill", "disposition": "recycled",
                                          "lines": [{"category": code, "grams": qty}]},
                         token=att[so["id"]].token, headers={"Idempotency-Key": new_key("o")})
            expect_status(r, 201)
            stock[so["id"]] -= qty
            rec["outbound"] += qty
        else:
            continue
        rep, row = flows_of(ctx, K["id"], code)
        assert rep["balanced"] is True, "step %d (%s): %r" % (step, move, rep)
        if row is None:
            continue
        assert row["balanced"] is True, "step %d (%s): %r" % (step, move, row)
        for t in TERMS:
            expect_eq(row[t], rec[t], "step %d (%s): %s" % (step, move, t))
        expect_eq(row["outbound"]["recycled"], rec["outbound"], "step %d: outbound" % step)
        on = row["on_hand"]
        expect_eq((on["dropoff"], on["transfer"], on["sorting"]),
                  (stock[d1["id"]] + stock[d2["id"]], stock[tr["id"]], stock[so["id"]]),
                  "step %d (%s): on hand" % (step, move))
    # a town of the county: shipments leave it for the county's sorting centre
    rep, row = flows_of(ctx, KT["id"], code)
    assert rep["balanced"] is True and (row is None or row["balanced"]), rep
    # the period of today alone opens with what was there at its start (nothing)
    rep = report(ctx, "flows", region_id=K["id"])
    assert rep["balanced"] is True, rep


def test_reports_flows_county_a(ctx):
    f = fx(ctx)
    rep = report(ctx, "flows", region_id=f.A["id"], **{"from": today(), "to": today()})
    assert rep["balanced"], rep
    row = [r for r in rep["rows"] if r["category"] == f.g][0]
    path = ctx.sql("SELECT path FROM regions WHERE id = %d" % f.A["id"])[0][0]
    moved = dict((k, int(v)) for k, v in ctx.sql(
        "SELECT m.kind, SUM(m.delta) FROM stock_movements m JOIN sites t ON t.id = m.site_id "
        "JOIN regions g ON g.id = t.region_id JOIN categories c ON c.id = m.category_id "
        "WHERE g.path LIKE '%s%%' AND c.code = '%s' GROUP BY 1" % (path, f.g)))
    expect_eq((row["collected"], row["reversed"]), (moved["dropoff"], -moved["reversal"]),
              "collected, reversed")
    # 1500 + 1500 + 700 + 300 + 200 credited and still at the drop-off sites
    expect_eq(row["on_hand"]["dropoff"], 4200, "on hand at the drop-off sites")
    csv = ctx.get("/v1/reports/flows?region_id=%d&format=csv" % f.A["id"], token=f.ra.token)
    expect_status(csv, 200)
    head = csv.body.decode("utf-8")[1:].split("\r\n")[0]
    assert head.startswith("category,unit,collected,reversed,shipped_from_dropoff,"), head


# ----------------------------------------------------------------------------- refusals

def test_reports_refuse_bad_parameters(ctx):
    f = fx(ctx)
    A = f.A["id"]
    for name, q, field in [
        ("collection", "from=2025-01-01&to=2026-01-03", "to"),
        ("collection", "from=2026-02-01&to=2026-01-01", "from"),
        ("collection", "from=2026-13-01", "from"),
        ("collection", "group_by=week", "group_by"),
        ("collection", "network=river", "network"),
        ("collection", "category=nope", "category"),
        ("participation", "month=2026-13", "month"),
        ("participation", "month=26-11", "month"),
        ("participation", "from_month=2024-01&to_month=2026-01", "to_month"),
        ("participation", "", "month"),
        ("leaderboard", "month=2026-11&limit=101", "limit"),
        ("leaderboard", "month=2026-11&limit=0", "limit"),
        ("leaderboard", "", "month"),
        ("points", "from=2026-01-01&to=2027-01-03", "to"),
        ("flows", "to=yesterday", "to"),
        ("collection", "format=xml", "format"),
    ]:
        r = ctx.get("/v1/reports/%s?region_id=%d&%s" % (name, A, q), token=ctx.admin_token)
        expect_error(r, 400, "invalid_request", field)
    # a region admin must say which region
    expect_error(ctx.get("/v1/reports/collection", token=f.ra.token), 400, "invalid_request",
                 "region_id")
    # 366 days is the longest period
    expect_status(ctx.get("/v1/reports/collection?region_id=%d&from=2025-01-01&to=2026-01-01" % A,
                          token=ctx.admin_token), 200)


def test_reports_reach(ctx):
    f = fx(ctx)
    for name in ("collection", "participation", "leaderboard", "flows", "points"):
        q = "region_id=%d&month=%s" % (f.A["id"], this_month())
        expect_error(ctx.get("/v1/reports/%s?%s" % (name, q), token=f.rz.token), 404, "not_found")
        expect_error(ctx.get("/v1/reports/%s?%s" % (name, q), token=f.at1.token), 403, "forbidden")
        expect_status(ctx.get("/v1/reports/%s?%s" % (name, q), token=f.ra.token), 200)
    expect_error(ctx.get("/v1/reports/collection?region_id=%d&site_id=%d" % (f.Z["id"], f.S1["id"]),
                         token=f.rz.token), 404, "not_found")


# ----------------------------------------------------------------------------- ledger check

def _violations(ctx):
    body = expect_json(ctx.get("/v1/reports/ledger-check", token=ctx.admin_token, timeout=120), 200)
    return body["violations"]


def test_reports_ledger_check_verifies_rollups_stock_and_mass_balance(ctx):
    f = fx(ctx)
    mine = lambda vs: [v for v in vs if v["rule"] in ("stock_sum", "rollup_site_day",  # noqa: E731
                                                      "rollup_stock_day", "rollup_household_month",
                                                      "mass_balance")]
    expect_eq(mine(_violations(ctx)), [], "chain and rollup violations of a clean store")
    s1 = f.S1["id"]
    # each invariant broken by hand, seen, and mended
    cases = [
        ("UPDATE stat_site_day SET grams = grams + 1 WHERE site_id = %d AND category_id = 0" % s1,
         "UPDATE stat_site_day SET grams = grams - 1 WHERE site_id = %d AND category_id = 0" % s1,
         "rollup_site_day"),
        ("UPDATE stat_stock_day SET qty = qty + 5 WHERE site_id = %d AND kind = 'dropoff'" % s1,
         "UPDATE stat_stock_day SET qty = qty - 5 WHERE site_id = %d AND kind = 'dropoff'" % s1,
         "rollup_stock_day"),
        ("UPDATE stat_household_month SET points = points + 1 WHERE household_id = %d"
         % f.hh[0]["id"],
         "UPDATE stat_household_month SET points = points - 1 WHERE household_id = %d"
         % f.hh[0]["id"], "rollup_household_month"),
        ("UPDATE site_stock SET on_hand = on_hand + 7 WHERE site_id = %d" % s1,
         "UPDATE site_stock SET on_hand = on_hand - 7 WHERE site_id = %d" % s1, "stock_sum"),
    ]
    for brk, mend, rule in cases:
        ctx.sql(brk)
        try:
            rules = {v["rule"] for v in _violations(ctx)}
        finally:
            ctx.sql(mend)
        assert rule in rules, "%s not reported after %r: %r" % (rule, brk, rules)
        assert "mass_balance" in rules or rule != "stock_sum", rules
    expect_eq(mine(_violations(ctx)), [], "mended")
    for v in _violations(ctx):
        if v["rule"] in ("stock_sum", "mass_balance"):
            expect_eq(v["household_id"], None, "a chain violation names no household")


# ----------------------------------------------------------------------------- wbctl export

def test_reports_wbctl_export_writes_the_same_csv(ctx):
    f = fx(ctx)
    for name, args, query in [
        ("collection", ["--group-by", "site"], "group_by=site"),
        ("flows", [], ""),
        ("participation", ["--month", this_month()], "month=" + this_month()),
        ("leaderboard", ["--month", this_month(), "--limit", "3"], "month=%s&limit=3" % this_month()),
        ("points", ["--from", today(), "--to", today()], "from=%s&to=%s" % (today(), today())),
    ]:
        out = os.path.join(ctx.dir, "export-%s.csv" % name)
        p = ctx.wbctl("export", name, "--region-id", str(f.A["id"]), *args, "--out", out)
        assert p.returncode == 0, "wbctl export %s: %s" % (name, p.stderr)
        r = ctx.get("/v1/reports/%s?region_id=%d&format=csv&%s" % (name, f.A["id"], query),
                    token=ctx.admin_token)
        expect_status(r, 200)
        with open(out, "rb") as fh:
            expect_eq(fh.read(), r.body, "wbctl export %s against the API" % name)
    p = ctx.wbctl("export", "collection", "--region-id", str(f.A["id"]), "--group-by", "week")
    expect_eq(p.returncode, 2, "a bad --group-by")
    assert "--group-by" in p.stderr, p.stderr
    p = ctx.wbctl("export", "nothing")
    expect_eq(p.returncode, 2, "an unknown report")
