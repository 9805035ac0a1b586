"""The closed days' points rollup (db/closing.h) on the seeded province: the points
report read from it equals the report read from the ledger alone and brute-force sums of
the ledger; every closed day is closed once, by wbctl close-days or by the server, however
many run at once; the ledger check finds a changed or a stray rollup row."""
import datetime
import json
import subprocess

from lib import expect_eq, expect_json
from test_ledger import CST
from test_province import get, one, sql, window, world

KINDS = {  # ledger kind -> the report's term and sign (api.md, "Reports")
    "dropoff": ("issued.dropoffs", 1), "adjustment": ("issued.adjustments", 1),
    "inspection": ("issued.inspections", 1), "reversal": ("reversed", -1),
    "inspection_void": ("reversed", -1), "redemption": ("redeemed", -1),
    "void": ("voided", 1), "expiry": ("expired", -1), "recovery": ("recovered", 1),
}


def violations_while(ctx, w, change, undo):
    """The ledger check's violations while the SQL change holds; undo restores it."""
    sql(ctx, change)
    try:
        return get(w, "/v1/reports/ledger-check")["violations"]
    finally:
        sql(ctx, undo)


def through(ctx, name="points"):
    rows = sql(ctx, "SELECT COALESCE(through_day, '') FROM rollup_closed WHERE name = '%s'" % name)
    return rows[0][0]


def set_through(ctx, day):
    sql(ctx, "UPDATE rollup_closed SET through_day = %s WHERE name = 'points'"
             % ("'%s'" % day if day else "NULL"))


TABLES = ("stat_points_day", "stat_points_month", "stat_chain_day", "stat_chain_month",
          "stat_participation_month", "stat_collection_set")


def rollup_rows(ctx):
    return [one(ctx, "SELECT COUNT(*) FROM " + t) for t in TABLES]


def reopen(ctx):
    sql(ctx, "".join("DELETE FROM %s; " % t for t in TABLES)
            + "DELETE FROM participation_late; DELETE FROM collection_late; "
              "UPDATE rollup_closed SET through_day = NULL")


def scopes(ctx):
    """The county and the town with the most households."""
    county = one(ctx, "SELECT g.id FROM regions g JOIN regions v ON v.path LIKE CONCAT(g.path, '%') "
                      "JOIN households h ON h.region_id = v.id WHERE g.level = 'county' "
                      "GROUP BY g.id ORDER BY COUNT(*) DESC, g.id LIMIT 1")
    town = one(ctx, "SELECT v.parent_id FROM households h JOIN regions v ON v.id = h.region_id "
                    "GROUP BY v.parent_id ORDER BY COUNT(*) DESC, v.parent_id LIMIT 1")
    return county, town


def queries(ctx, w, report="points"):
    first, last = window()
    today = datetime.datetime.now(CST).date()
    county, town = scopes(ctx)
    mid = first + datetime.timedelta(days=17)
    windows = [(first, last), (mid, last - datetime.timedelta(days=9)), (mid, today),
               (today, today), (first, first + datetime.timedelta(days=3))]
    out = []
    for scope in ("region_id=%d&" % w.province, "region_id=%d&" % county,
                  "region_id=%d&" % town, ""):
        for f, t in windows:
            out.append("/v1/reports/%s?%sfrom=%s&to=%s" % (report, scope, f, t))
    return out


def test_closing_seed_closed_every_ended_day(ctx):
    w = world(ctx)
    assert "closed days rolled up" in w.out, w.out
    yesterday = (datetime.datetime.now(CST) - datetime.timedelta(minutes=15, days=1)).date()
    expect_eq(through(ctx), str(yesterday), "the last closed day of points")
    expect_eq(through(ctx, "chain"), str(yesterday), "the last closed day of the chain")
    for table, n in zip(TABLES, rollup_rows(ctx)):
        assert n > 0, "no rows in " + table
    # region 0 sums the whole tree: every ledger row of the closed days is in it once
    expect_eq(one(ctx, "SELECT SUM(moves) FROM stat_points_month WHERE region_id = 0"),
              one(ctx, "SELECT COUNT(*) FROM ledger WHERE created_at < '%s'"
                       % (yesterday + datetime.timedelta(days=1) - datetime.timedelta(hours=8))),
              "ledger rows of the closed days")


def test_closing_points_equal_the_ledger_read(ctx):
    """The same report read from the closed days and read from the ledger alone."""
    w = world(ctx)
    day = through(ctx)
    qs = queries(ctx, w)
    closed = [get(w, q) for q in qs]
    set_through(ctx, None)
    try:
        raw = [get(w, q) for q in qs]
    finally:
        set_through(ctx, day)
    for q, a, b in zip(qs, closed, raw):
        expect_eq(a, b, q)
    assert any(a["totals"]["issued"]["dropoffs"] for a in closed), "no points in any window"


def test_closing_flows_equal_the_sites_rows_read(ctx):
    """Flows of a county or more from the chain's closed days, against the same read
    from the sites' own rows; every one balances."""
    w = world(ctx)
    qs = queries(ctx, w, "flows")
    closed, raw = both_ways(ctx, w, qs, "chain")
    for q, a, b in zip(qs, closed, raw):
        expect_eq(a, b, q)
        assert all(t["balanced"] for t in a["totals"]), q
    assert any(t["collected"] for a in closed for t in a["totals"]), "nothing collected"
    assert any(t["transit_loss"] for a in closed for t in a["totals"]), "no transit loss"


def participation_queries(ctx, w):
    today = datetime.datetime.now(CST).date()
    month = lambda d: d.strftime("%Y-%m")
    first, _ = window()
    closed = through(ctx, "participation")
    assert closed, "no month of participation closed"
    county, town = scopes(ctx)
    out = []
    for scope in ("region_id=%d&" % w.province, "region_id=%d&" % county,
                  "region_id=%d&" % town, ""):
        for q in ("from_month=%s&to_month=%s" % (month(first), month(today)),
                  "month=%s" % closed[:7], "month=%s" % month(today)):
            out.append("/v1/reports/participation?%s%s" % (scope, q))
    return out


def both_ways(ctx, w, qs, name):
    """Each query read with rollup name's closed periods, then with none closed."""
    day = through(ctx, name)
    closed = [get(w, q) for q in qs]
    sql(ctx, "UPDATE rollup_closed SET through_day = NULL WHERE name = '%s'" % name)
    try:
        raw = [get(w, q) for q in qs]
    finally:
        sql(ctx, "UPDATE rollup_closed SET through_day = '%s' WHERE name = '%s'" % (day, name))
    return closed, raw


def participation_both_ways(ctx, w, qs):
    return both_ways(ctx, w, qs, "participation")


def test_closing_participation_equals_the_raw_read(ctx):
    w = world(ctx)
    qs = participation_queries(ctx, w)
    closed, raw = participation_both_ways(ctx, w, qs)
    for q, a, b in zip(qs, closed, raw):
        expect_eq(a, b, q)
    assert any(t["active_households"] for a in closed for t in a["totals"]), "nobody active"


def test_closing_a_late_reversal_is_worked_out_again(ctx):
    """A drop-off of a closed month reversed: its village-month is marked in the
    reversal's transaction, and once the closer has run the closed month counts the
    household inactive, as the raw read does."""
    w = world(ctx)
    month = through(ctx, "participation")[:7] + "-01"
    did, hid, region = [int(x) for x in sql(
        ctx, "SELECT d.id, d.household_id, h.region_id FROM dropoffs d "
             "JOIN households h ON h.id = d.household_id JOIN stat_household_month s "
             "ON s.household_id = d.household_id AND s.month = '%s' WHERE d.status = 'ok' "
             "AND d.local_day BETWEEN '%s' AND LAST_DAY('%s') AND s.dropoffs = 1 "
             "ORDER BY d.id LIMIT 1" % (month, month, month))[0]]
    r = w.server.call("POST", "/v1/dropoffs/%d/reverse" % did, token=w.token,
                      body={"reason": "weighed on the wrong card"},
                      headers={"Idempotency-Key": "late-reversal-%d" % did})
    expect_json(r, 200)
    expect_eq(sql(ctx, "SELECT COUNT(*) FROM participation_late WHERE region_id = %d "
                       "AND month = '%s'" % (region, month)), [("1",)], "the month's mark")
    p = ctx.wbctl("close-days", env=w.env)
    expect_eq(p.returncode, 0, "close-days: %s" % p.stderr)
    expect_eq(one(ctx, "SELECT COUNT(*) FROM participation_late"), 0, "marks worked out")
    qs = participation_queries(ctx, w)
    qs.append("/v1/reports/participation?region_id=%d&month=%s" % (region, month[:7]))
    closed, raw = participation_both_ways(ctx, w, qs)
    for q, a, b in zip(qs, closed, raw):
        expect_eq(a, b, q)
    expect_eq(get(w, "/v1/reports/ledger-check")["violations"], [], "ledger check")


def collection_queries(ctx, w):
    """Collection over the scopes and windows of queries(), by every group the closed
    rows answer, and with a network, a category and a site."""
    county, _ = scopes(ctx)
    city = one(ctx, "SELECT parent_id FROM regions WHERE id = %d" % county)
    first, last = window()
    base = queries(ctx, w, "collection") + [
        "/v1/reports/collection?region_id=%d&from=%s&to=%s" % (city, first, last)]
    category = one(ctx, "SELECT category_id FROM dropoff_lines GROUP BY category_id "
                        "ORDER BY COUNT(*) DESC, category_id LIMIT 1")
    site = one(ctx, "SELECT site_id FROM dropoffs GROUP BY site_id ORDER BY COUNT(*) DESC, "
                    "site_id LIMIT 1")
    out = []
    for q in base:
        for extra in ("", "&group_by=region", "&group_by=day", "&group_by=month",
                      "&network=recycling", "&group_by=region&category_id=%d" % category):
            out.append(q + extra)
    out.append(base[0] + "&site_id=%d" % site)
    out.append(base[0] + "&group_by=site")
    return out


def collection_both_ways(ctx, w, qs):
    return both_ways(ctx, w, qs, "collection")


def test_closing_collection_equals_the_sites_rows_read(ctx):
    """Collection of a county or more from the closed rows and sets, against the same
    read from the sites' rollups and the drop-offs alone: to the gram and the household,
    by category, child region, day and month, with a network or a category; and the
    province's distinct households of a window equal a brute-force count."""
    w = world(ctx)
    expect_eq(through(ctx, "collection"), through(ctx), "the last closed day of collection")
    qs = collection_queries(ctx, w)
    closed, raw = collection_both_ways(ctx, w, qs)
    for q, a, b in zip(qs, closed, raw):
        expect_eq(a, b, q)
    assert any(r["households"] for a in closed for r in a["rows"]), "nobody in any row"
    first, last = window()
    mid = first + datetime.timedelta(days=17)
    body = get(w, "/v1/reports/collection?region_id=%d&from=%s&to=%s" % (w.province, mid, last))
    n, hh = sql(ctx, "SELECT COUNT(*), COUNT(DISTINCT household_id) FROM dropoffs "
                     "WHERE status = 'ok' AND local_day BETWEEN '%s' AND '%s'" % (mid, last))[0]
    expect_eq((body["totals"]["dropoffs"], body["totals"]["households"]), (int(n), int(hh)),
              "drop-offs and distinct households of the window")


def test_closing_a_late_collection_reversal_is_worked_out_again(ctx):
    """A household's only drop-off of a closed day reversed: the site and day are marked
    in the reversal's transaction; once the closer has run, the closed rows no longer
    count it, as the raw read does, and the ledger check finds nothing."""
    w = world(ctx)
    day = through(ctx, "collection")
    did, site, dday = [x for x in sql(
        ctx, "SELECT MIN(d.id), MIN(d.site_id), d.local_day FROM dropoffs d "
             "WHERE d.status = 'ok' AND d.local_day < '%s' GROUP BY d.household_id, d.local_day "
             "HAVING COUNT(*) = 1 ORDER BY d.local_day DESC, MIN(d.id) LIMIT 1" % day)[0]]
    q = "/v1/reports/collection?region_id=%d&from=%s&to=%s" % (w.province, dday, dday)
    before = get(w, q)["totals"]
    r = w.server.call("POST", "/v1/dropoffs/%s/reverse" % did, token=w.token,
                      body={"reason": "weighed on the wrong card"},
                      headers={"Idempotency-Key": "late-collection-%s" % did})
    expect_json(r, 200)
    expect_eq(sql(ctx, "SELECT marks FROM collection_late WHERE site_id = %s "
                       "AND local_day = '%s'" % (site, dday)), [("1",)], "the day's mark")
    p = ctx.wbctl("close-days", env=w.env)
    expect_eq(p.returncode, 0, "close-days: %s" % p.stderr)
    expect_eq(json.loads(p.stdout)["collection"]["through"], day, "nothing newly closed")
    expect_eq(one(ctx, "SELECT COUNT(*) FROM collection_late"), 0, "marks worked out")
    after = get(w, q)["totals"]
    expect_eq((after["dropoffs"], after["households"]),
              (before["dropoffs"] - 1, before["households"] - 1), "the day without it")
    qs = [q, "/v1/reports/collection?region_id=%d&from=%s&to=%s&group_by=month"
          % (w.province, window()[0], window()[1])]
    closed, raw = collection_both_ways(ctx, w, qs)
    for q, a, b in zip(qs, closed, raw):
        expect_eq(a, b, q)
    expect_eq(get(w, "/v1/reports/ledger-check")["violations"], [], "ledger check")


def test_closing_a_backdated_upload_is_worked_out_again(ctx):
    """An offline upload recorded three days back, into a closed day, by an attendant of
    a drop-off point, for a household that brought nothing that day: the day is marked,
    and once the closer has run the closed rows count the drop-off and the household."""
    w = world(ctx)
    back = datetime.datetime.now(CST).date() - datetime.timedelta(days=3)
    assert str(back) <= through(ctx, "collection"), "the day is not closed"
    att, site, path = sql(ctx, "SELECT s.id, s.site_id, g.path FROM staff s "
                               "JOIN sites t ON t.id = s.site_id JOIN regions g "
                               "ON g.id = t.region_id WHERE s.role = 'attendant' "
                               "AND t.tier = 'dropoff' AND s.status = 'active' "
                               "ORDER BY s.id LIMIT 1")[0]
    county = "/".join(path.split("/")[:4]) + "/"
    hid = one(ctx, "SELECT h.id FROM households h JOIN regions v ON v.id = h.region_id "
                   "WHERE v.path LIKE '%s%%' AND h.status = 'active' AND NOT EXISTS "
                   "(SELECT 1 FROM dropoffs d WHERE d.household_id = h.id "
                   "AND d.local_day = '%s') ORDER BY h.id LIMIT 1" % (county, back))
    card = w.server.call("POST", "/v1/households/%d/card" % hid, token=w.token)
    code = expect_json(card)["code"]
    category = sql(ctx, "SELECT code FROM categories WHERE unit <> 'item' "
                        "ORDER BY id LIMIT 1")[0][0]
    q = "/v1/reports/collection?region_id=%d&from=%s&to=%s" % (w.province, back, back)
    before = get(w, q)["totals"]
    # an attendant's token: its site, and its site's county as its reach
    token = ctx.make_token(ctx.claims(staff_id=int(att), role="attendant", site=int(site),
                                      region=int(county.split("/")[-2])))
    item = {"code": code, "items": [{"category": category, "grams": 1000}],
            "recorded_at": "%sT12:00:00+08:00" % back, "client_ref": "late-upload-%d" % hid}
    r = w.server.call("POST", "/v1/dropoffs/batch", body={"dropoffs": [item]}, token=token)
    res = expect_json(r, 200)["results"]
    expect_eq(res[0].get("status"), "created", "the upload (%r)" % res[0])
    expect_eq(sql(ctx, "SELECT marks FROM collection_late WHERE site_id = %s "
                       "AND local_day = '%s'" % (site, back)), [("1",)], "the day's mark")
    p = ctx.wbctl("close-days", env=w.env)
    expect_eq(p.returncode, 0, "close-days: %s" % p.stderr)
    expect_eq(one(ctx, "SELECT COUNT(*) FROM collection_late"), 0, "marks worked out")
    after = get(w, q)["totals"]
    expect_eq((after["dropoffs"], after["grams"], after["households"]),
              (before["dropoffs"] + 1, before["grams"] + 1000, before["households"] + 1),
              "the day with it")
    closed, raw = collection_both_ways(ctx, w, [q])
    expect_eq(closed, raw, q)
    expect_eq(get(w, "/v1/reports/ledger-check")["violations"], [], "ledger check")


def test_closing_check_finds_a_changed_collection_row(ctx):
    w = world(ctx)
    key = sql(ctx, "SELECT region_id, period, network, category_id FROM stat_collection_set "
                   "WHERE span = 'day' AND region_id > 0 AND households > 1 "
                   "ORDER BY period, region_id LIMIT 1")[0]     # of a closed month
    where = ("span = 'day' AND region_id = %s AND period = '%s' AND network = '%s' "
             "AND category_id = %s" % key)
    rules = {v["rule"] for v in violations_while(
        ctx, w, "UPDATE stat_collection_set SET grams = grams + 1 WHERE " + where,
        "UPDATE stat_collection_set SET grams = grams - 1 WHERE " + where)}
    expect_eq(rules, {"rollup_collection_day", "rollup_collection_month"},
              "rules broken by a changed sum")
    # the same sums, another set of households: the members of another day's row
    keep = sql(ctx, "SELECT HEX(members) FROM stat_collection_set WHERE " + where)[0][0]
    other = sql(ctx, "SELECT HEX(members) FROM stat_collection_set WHERE span = 'day' "
                     "AND region_id = %s AND period > '%s' AND HEX(members) <> '%s' "
                     "ORDER BY period LIMIT 1" % (key[0], key[1], keep))[0][0]
    set_members = "UPDATE stat_collection_set SET members = UNHEX('%s') WHERE %s"
    found = [v for v in violations_while(ctx, w, set_members % (other, where),
                                         set_members % (keep, where))
             if v["rule"] == "rollup_collection_day"]
    assert found and "households" in found[0]["detail"], found
    today = datetime.datetime.now(CST).date()
    stray = ("INSERT INTO stat_collection_set VALUES (0, 'day', '%s', 'recycling', 0, 1, 1, 0, "
             "1, 1, '')" % today)
    found = [v for v in violations_while(ctx, w, stray, "DELETE FROM stat_collection_set "
                                         "WHERE span = 'day' AND period = '%s'" % today)
             if v["rule"] == "rollup_collection_day"]
    assert found and "after the last closed day" in found[0]["detail"], found
    expect_eq(get(w, "/v1/reports/ledger-check")["violations"], [], "ledger check restored")


def test_closing_points_equal_brute_force_sums(ctx):
    w = world(ctx)
    first, last = window()
    mid = first + datetime.timedelta(days=17)
    body = get(w, "/v1/reports/points?region_id=%d&from=%s&to=%s" % (w.province, mid, last))
    start = datetime.datetime.combine(mid, datetime.time()) - datetime.timedelta(hours=8)
    end = datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time()) \
        - datetime.timedelta(hours=8)
    want = {}
    for kind, s in sql(ctx, "SELECT kind, SUM(delta) FROM ledger WHERE created_at >= '%s' "
                            "AND created_at < '%s' GROUP BY kind" % (start, end)):
        term, sign = KINDS[kind]
        want[term] = want.get(term, 0) + sign * int(s)
    t = body["totals"]
    for term, v in want.items():
        got = t[term.split(".")[0]]
        if "." in term:
            got = got[term.split(".")[1]]
        expect_eq(got, v, term)
    expect_eq(t["outstanding"], one(ctx, "SELECT SUM(delta) FROM ledger WHERE created_at < '%s'"
                                         % end), "outstanding at the end")


def test_closing_closes_each_day_once(ctx):
    """Two wbctl close-days at once after every day was opened again, then the server's
    own closer: each day closed once, the same rows as the seed's.  The province's server
    is stopped meanwhile, so that its own closer does not take the days first."""
    w = world(ctx)
    day = through(ctx)
    before = rollup_rows(ctx)
    p = ctx.wbctl("close-days", env=w.env)
    expect_eq(p.returncode, 0, "close-days: %s" % p.stderr)
    expect_eq(json.loads(p.stdout), {"points": {"days": 0, "through": day},
                                     "chain": {"days": 0, "through": day},
                                     "participation": {"months": 0,
                                                       "through": through(ctx, "participation")},
                                     "collection": {"days": 0, "through": day}},
              "nothing left to close")
    expect_eq(w.server.stop(), 0, "the province's server stops")
    reopen(ctx)
    procs = [subprocess.Popen([ctx.bin_path("wbctl"), "close-days"], env=w.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs):
        expect_eq(p.returncode, 0, "close-days at once: %s" % err)
    res = [json.loads(out)["points"] for out, _ in outs]
    expect_eq([r["through"] for r in res], [day, day], "both end at the same day")
    first = datetime.date.fromisoformat(sql(ctx, "SELECT DATE(MIN(created_at) + INTERVAL 8 HOUR) "
                                                 "FROM ledger")[0][0])
    expect_eq(sum(r["days"] for r in res), (datetime.date.fromisoformat(day) - first).days + 1,
              "days of points closed by the two runs together")
    expect_eq(rollup_rows(ctx), before, "rollup rows after closing again")
    # and the server closes on its own, as it starts (it serves the province from now on)
    reopen(ctx)
    w.server = ctx.start_server({"WB_DB_NAME": "wbprov", "WB_REDIS_URL": w.env["WB_REDIS_URL"]})
    ctx.wait_until(lambda: all(through(ctx, n) == day for n in ("points", "chain", "collection")),
                   timeout=90, message="the server did not close the ended days")

    def logged():
        with open(w.server.log, encoding="utf-8", errors="replace") as f:
            log = f.read()       # written once the whole run is over
        return all("day(s) of %s, through %s" % (name, day) in log
                   for name in ("points", "chain", "collection's household sets"))
    ctx.wait_until(logged, timeout=30, message="no closing in the server's log")
    expect_eq(rollup_rows(ctx), before, "rollup rows after the server closed them")
    body = get(w, "/v1/reports/ledger-check")
    expect_eq(body["violations"], [], "ledger check after closing again")


def test_closing_check_finds_a_changed_participation_row(ctx):
    w = world(ctx)
    key = sql(ctx, "SELECT region_id, month, scope FROM stat_participation_month "
                   "WHERE scope = 'own' AND by_dropoff > 0 ORDER BY month, region_id LIMIT 1")[0]
    where = "region_id = %s AND month = '%s' AND scope = '%s'" % key
    rules = {v["rule"] for v in violations_while(
        ctx, w, "UPDATE stat_participation_month SET by_dropoff = by_dropoff + 1 WHERE " + where,
        "UPDATE stat_participation_month SET by_dropoff = by_dropoff - 1 WHERE " + where)}
    expect_eq(rules, {"rollup_participation_month"}, "rules broken by a changed row")


def test_closing_check_finds_a_changed_chain_row(ctx):
    w = world(ctx)
    key = sql(ctx, "SELECT region_id, local_day, category_id, tier, kind FROM stat_chain_day "
                   "WHERE kind = 'transit_loss' ORDER BY local_day DESC, region_id LIMIT 1")[0]
    where = ("region_id = %s AND local_day = '%s' AND category_id = %s AND tier = '%s' "
             "AND kind = '%s'" % key)
    rules = {v["rule"] for v in violations_while(
        ctx, w, "UPDATE stat_chain_day SET qty = qty + 1 WHERE " + where,
        "UPDATE stat_chain_day SET qty = qty - 1 WHERE " + where)}
    expect_eq(rules, {"rollup_chain_day", "rollup_chain_month"}, "rules broken by a changed row")


def test_closing_check_finds_a_changed_or_stray_row(ctx):
    w = world(ctx)
    key = sql(ctx, "SELECT region_id, local_day, kind FROM stat_points_day "
                   "WHERE region_id > 0 ORDER BY local_day DESC, region_id LIMIT 1")[0]
    where = "region_id = %s AND local_day = '%s' AND kind = '%s'" % key
    rules = {v["rule"] for v in violations_while(
        ctx, w, "UPDATE stat_points_day SET delta = delta + 1 WHERE " + where,
        "UPDATE stat_points_day SET delta = delta - 1 WHERE " + where)}
    expect_eq(rules, {"rollup_points_day", "rollup_points_month"}, "rules broken by a changed row")
    # a row for a day not closed yet
    today = datetime.datetime.now(CST).date()
    stray = "INSERT INTO stat_points_day VALUES (0, '%s', 'dropoff', 5, 1)" % today
    found = [v for v in violations_while(ctx, w, stray, "DELETE FROM stat_points_day "
                                         "WHERE region_id = 0 AND local_day = '%s'" % today)
             if v["rule"] == "rollup_points_day"]
    assert found and "after the last closed day" in found[0]["detail"], found
    expect_eq(get(w, "/v1/reports/ledger-check")["violations"], [], "ledger check restored")


def test_closing_refuses_arguments(ctx):
    w = world(ctx)
    p = ctx.wbctl("close-days", "--as-of", "2026-01-01", env=w.env)
    expect_eq(p.returncode, 2, "close-days with an argument")
