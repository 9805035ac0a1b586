"""wbctl seed-province: a whole province loaded in bulk, in a database of its own on the
same MariaDB, served by a second wastebankd.  After the seed the ledger check, reconcile
and the flows report balance, and the reports agree with the raw rows."""
import datetime
import os
import re
import subprocess

from lib import expect_eq, expect_json
from test_ledger import CST

DB = "wbprov"
_W = None


def _root_sql(ctx, query):
    p = subprocess.run(["mariadb", "--no-defaults", "--socket=" + ctx.env["WB_DB_SOCKET"],
                        "-uroot", "-N", "-B", "-e", query],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, "root SQL %r: %s" % (query, p.stderr)
    return [tuple(line.split("\t")) for line in p.stdout.splitlines()]


class World:
    pass


def own_redis(ctx, db):
    """A Redis database of the world's own: its household ids are the main database's
    too, and their cached balances must not meet."""
    return ctx.env["WB_REDIS_URL"] + "?db=%d" % db


def world(ctx):
    """Seed once: 2 counties' worth of Hebei would be enough, but the seed takes the
    whole division file; a small activity keeps it to a few seconds."""
    global _W
    if _W:
        return _W
    w = World()
    user = ctx.env["WB_DB_USER"]
    _root_sql(ctx, "CREATE DATABASE IF NOT EXISTS %s CHARACTER SET utf8mb4 "
                   "COLLATE utf8mb4_unicode_ci; GRANT ALL ON %s.* TO '%s'@'localhost'; "
                   "GRANT ALL ON %s.* TO '%s'@'127.0.0.1'" % (DB, DB, user, DB, user))
    w.env = dict(ctx.env, WB_DB_NAME=DB, WB_REDIS_URL=own_redis(ctx, 1))
    p = ctx.wbctl("migrate", env=w.env)
    assert p.returncode == 0, p.stderr
    p = ctx.wbctl("seed-province", "--households", "500", "--dropoffs", "8000", "--months", "3",
                  "--villages-per-town", "1", "--seed", "7", env=w.env, timeout=300)
    assert p.returncode == 0, "seed-province: %s %s" % (p.stdout, p.stderr)
    w.out = p.stdout
    w.province = int(re.search(r"\(region (\d+)\)", p.stdout).group(1))
    p = ctx.wbctl("create-admin", "--username", "prov", input="province-admin-pw\n", env=w.env)
    assert p.returncode == 0, p.stderr
    # started by the harness's rule, so it is stopped (and must exit cleanly) at the end
    w.server = ctx.start_server({"WB_DB_NAME": DB, "WB_REDIS_URL": w.env["WB_REDIS_URL"]})
    r = w.server.call("POST", "/v1/auth/login",
                      body={"username": "prov", "password": "province-admin-pw"})
    w.token = expect_json(r, 200)["token"]
    _W = w
    return w


def sql(ctx, query):
    e = ctx.env
    p = subprocess.run(["mariadb", "--no-defaults", "--socket=" + e["WB_DB_SOCKET"],
                        "-u" + e["WB_DB_USER"], "-p" + e["WB_DB_PASSWORD"], "-N", "-B", DB,
                        "-e", query], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, "SQL %r: %s" % (query, p.stderr)
    return [tuple(line.split("\t")) for line in p.stdout.splitlines()]


def one(ctx, query):
    return int(sql(ctx, query)[0][0])


def get(w, path):
    return expect_json(w.server.call("GET", path, token=w.token, timeout=120), 200)


def window():
    today = datetime.datetime.now(CST).date()
    y, m = today.year, today.month - 2
    if m < 1:
        y, m = y - 1, m + 12
    return datetime.date(y, m, 1), today - datetime.timedelta(days=1)


def test_province_seed_loads_a_consistent_province(ctx):
    w = world(ctx)
    expect_eq(one(ctx, "SELECT COUNT(*) FROM dropoffs"), 8000, "drop-offs")
    expect_eq(one(ctx, "SELECT COUNT(*) FROM households"), 500, "households")
    expect_eq(one(ctx, "SELECT COUNT(*) FROM regions WHERE level = 'county'"), 190, "counties")
    expect_eq(one(ctx, "SELECT COUNT(*) FROM regions WHERE level = 'town'"), 2365, "towns")
    for what, q in [
        ("reversed drop-offs", "SELECT COUNT(*) FROM dropoffs WHERE status = 'reversed'"),
        ("received shipments", "SELECT COUNT(*) FROM shipments WHERE status = 'received'"),
        ("cancelled shipments", "SELECT COUNT(*) FROM shipments WHERE status = 'cancelled'"),
        ("losses in transit", "SELECT COUNT(*) FROM shipment_lines WHERE received < sent"),
        ("stock counts", "SELECT COUNT(*) FROM stock_counts"),
        ("outbounds", "SELECT COUNT(*) FROM outbounds"),
        ("redemptions", "SELECT COUNT(*) FROM redemptions"),
        ("redemption ledger rows", "SELECT COUNT(*) FROM ledger WHERE kind = 'redemption'"),
    ]:
        assert one(ctx, q) > 0, "no %s in the seeded province" % what
    # every drop-off is of its household's town: the site's region is the village's parent
    expect_eq(one(ctx, "SELECT COUNT(*) FROM dropoffs d JOIN households h ON h.id = d.household_id "
                       "JOIN regions v ON v.id = h.region_id JOIN sites s ON s.id = d.site_id "
                       "WHERE s.region_id <> v.parent_id"), 0, "drop-offs at another town's site")
    # a second run does nothing
    p = ctx.wbctl("seed-province", "--households", "5", "--dropoffs", "5", env=w.env)
    expect_eq(p.returncode, 0, "second run")
    assert "exists already" in p.stderr, p.stderr
    expect_eq(one(ctx, "SELECT COUNT(*) FROM dropoffs"), 8000, "drop-offs after the second run")


def test_province_ledger_check_and_reconcile_find_nothing(ctx):
    w = world(ctx)
    body = get(w, "/v1/reports/ledger-check")
    expect_eq(body["violations"], [], "ledger check of the seeded province")
    p = ctx.wbctl("reconcile", env=w.env, timeout=300)
    expect_eq(p.returncode, 0, "reconcile: %s %s" % (p.stdout, p.stderr))
    assert "0 violations" in p.stdout, p.stdout


def test_province_flows_balance_over_the_whole_window(ctx):
    w = world(ctx)
    first, last = window()
    body = get(w, "/v1/reports/flows?region_id=%d&from=%s&to=%s" % (w.province, first, last))
    expect_eq(body["balanced"], True, "flows of the province")
    collected = one(ctx, "SELECT COALESCE(SUM(delta), 0) FROM stock_movements WHERE kind = 'dropoff'")
    expect_eq(sum(t["collected"] for t in body["totals"]), collected,
              "collected (grams and items) against the movements")
    # and for one county, one month
    county = one(ctx, "SELECT id FROM regions WHERE level = 'county' ORDER BY id LIMIT 1")
    body = get(w, "/v1/reports/flows?region_id=%d&month=%s" % (county, last.strftime("%Y-%m")))
    expect_eq(body["balanced"], True, "flows of one county")


def test_province_collection_equals_the_raw_rows(ctx):
    w = world(ctx)
    first, last = window()
    body = get(w, "/v1/reports/collection?region_id=%d&from=%s&to=%s" % (w.province, first, last))
    n, grams, points, households = sql(ctx, "SELECT COUNT(*), SUM(grams), SUM(points), "
                                            "COUNT(DISTINCT household_id) FROM dropoffs "
                                            "WHERE status = 'ok'")[0]
    t = body["totals"]
    expect_eq(t["dropoffs"], int(n), "drop-offs")
    expect_eq(t["grams"], int(grams), "grams")
    expect_eq(t["points"], int(points), "points")
    expect_eq(t["households"], int(households), "distinct households")
    body = get(w, "/v1/reports/points?region_id=%d&from=%s&to=%s" % (w.province, first, last))
    spent = one(ctx, "SELECT -SUM(delta) FROM ledger WHERE kind = 'redemption'")
    expect_eq(body["totals"]["redeemed"], spent, "redeemed points")


def test_province_export_writes_the_flows_csv(ctx):
    w = world(ctx)
    out = os.path.join(ctx.dir, "province-flows.csv")
    p = ctx.wbctl("export", "flows", "--region-id", str(w.province), "--out", out, env=w.env)
    expect_eq(p.returncode, 0, "export: %s" % p.stderr)
    with open(out, "rb") as f:
        data = f.read()
    assert data.startswith(b"\xef\xbb\xbf"), data[:20]
    assert data.count(b"\n") >= 2, data


def test_demo_seed_moves_through_the_chain(ctx):
    """wbctl seed-demo (what make run shows): drop-offs at the demo point, a shipment
    received at the county's transfer station with a loss, one from there received at
    the sorting centre, an outbound sale for recycling, and every invariant holds."""
    db = "wbdemo"
    user = ctx.env["WB_DB_USER"]
    _root_sql(ctx, "CREATE DATABASE IF NOT EXISTS %s CHARACTER SET utf8mb4 "
                   "COLLATE utf8mb4_unicode_ci; GRANT ALL ON %s.* TO '%s'@'localhost'; "
                   "GRANT ALL ON %s.* TO '%s'@'127.0.0.1'" % (db, db, user, db, user))
    env = dict(ctx.env, WB_DB_NAME=db, WB_REDIS_URL=own_redis(ctx, 2))
    p = ctx.wbctl("migrate", env=env)
    assert p.returncode == 0, p.stderr
    p = ctx.wbctl("seed-demo", env=env, timeout=120)
    assert p.returncode == 0, "seed-demo: %s %s" % (p.stdout, p.stderr)
    for who in ("qingshan_admin", "zhulin_attendant", "zhulin_clerk", "qingshan_transfer",
                "qingshan_sorting"):
        assert who in p.stdout, p.stdout
    rows = _root_sql(ctx, "SELECT (SELECT COUNT(*) FROM %s.dropoffs), "
                          "(SELECT COUNT(*) FROM %s.shipments WHERE status = 'received'), "
                          "(SELECT COUNT(*) FROM %s.shipment_lines WHERE received < sent), "
                          "(SELECT COUNT(*) FROM %s.shipments s JOIN %s.sites t "
                          " ON t.id = s.to_site_id WHERE t.tier = 'sorting'), "
                          "(SELECT COUNT(*) FROM %s.outbounds WHERE disposition = 'recycled')"
                          % (db, db, db, db, db, db))
    n, received, lossy, to_sorting, outbound = map(int, rows[0])
    assert n > 0, "no demo drop-offs"
    expect_eq(received, 2, "received demo shipments")
    expect_eq(lossy, 1, "demo lines that lost weight on the way")
    expect_eq(to_sorting, 1, "demo shipments to the sorting centre")
    expect_eq(outbound, 1, "demo outbound sales for recycling")
    # the village programme: an inspector, a rule from last month, a month of
    # inspections and the month settled, every settled household paid once
    assert "shangxi_inspector" in p.stdout, p.stdout
    now = datetime.datetime.now(CST)
    last = "%04d-%02d" % ((now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12))
    rows = _root_sql(ctx, "SELECT (SELECT COUNT(*) FROM {d}.staff WHERE role = 'inspector' "
                          " AND username = 'shangxi_inspector'), "
                          "(SELECT COUNT(*) FROM {d}.scoring_rules WHERE effective_month <= '{m}'), "
                          "(SELECT COUNT(*) FROM {d}.inspections "
                          " WHERE DATE_FORMAT(local_day, '%Y-%m') = '{m}'), "
                          "(SELECT COUNT(DISTINCT local_day) FROM {d}.inspections "
                          " WHERE DATE_FORMAT(local_day, '%Y-%m') = '{m}'), "
                          "(SELECT COUNT(*) FROM {d}.inspection_settlements WHERE month = '{m}'), "
                          "(SELECT COUNT(*) FROM {d}.inspection_settlements WHERE month = '{m}' "
                          " AND points > 0), "
                          "(SELECT COUNT(*) FROM {d}.ledger WHERE kind = 'inspection' "
                          " AND memo = 'settlement {m}')".format(d=db, m=last))
    insp, rules, visits, days, settled, paid, paid_rows = map(int, rows[0])
    expect_eq(insp, 1, "the demo's inspector")
    assert rules >= 1, "no scoring rule in force last month"
    assert days >= 5 and visits >= days, "last month's inspections: %d on %d days" % (visits, days)
    assert settled >= 1 and paid >= 1, "last month settled: %d households, %d paid" % (settled, paid)
    expect_eq(paid_rows, paid, "one ledger row a paid settlement")
    p = ctx.wbctl("reconcile", env=env)
    expect_eq(p.returncode, 0, "reconcile of the demo: %s" % p.stdout)
    p = ctx.wbctl("seed-demo", env=env)
    expect_eq(p.returncode, 0, "a second seed-demo")
    assert "exists already" in p.stderr, p.stderr


def test_province_seed_refuses_bad_options(ctx):
    for args, what in [(["--households", "0"], "--households"),
                       (["--dropoffs", "-5"], "--dropoffs"),
                       (["--months", "40"], "--months"),
                       (["--villages-per-town", "x"], "--villages-per-town"),
                       (["--colour", "red"], "--colour")]:
        p = ctx.wbctl("seed-province", *args, env=dict(ctx.env, WB_DB_NAME="wbprov_none"))
        expect_eq(p.returncode, 2, "seed-province %r" % args)
        assert what in p.stderr, p.stderr
