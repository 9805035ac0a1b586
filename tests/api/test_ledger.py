"""Ledger: points per unit, versioned rates, region overrides, back-dating and daily
caps (api.md "Sites, categories, rates", "Drop-offs"; design.md "Consistency: where a
point lives").

This module also holds the helpers of the test_ledger_* modules.  They are stateless
constructors: every module builds its own region tree (province > county > town >
village, random 12-digit division codes), its own sites, staff, households and its
own categories (so that rate versions other modules add to the default categories
never change the points a test expects).  Accounts sign in once, on first use.
"""

import datetime
import json
import secrets
import time

from lib import expect_eq, expect_error, expect_json, expect_status, parse_rfc3339

CST = datetime.timezone(datetime.timedelta(hours=8))      # WB_TIMEZONE Asia/Shanghai
CATALOG_CACHE_S = 2.2        # each worker keeps the category list up to 2 s


# ----------------------------------------------------------------------------- helpers

def tag(n=8):
    return secrets.token_hex(n // 2 + 1)[:n]


def uniq_code():
    """A random 12-digit division code."""
    return str(10 ** 11 + secrets.randbelow(9 * 10 ** 11))


def new_key(prefix="k"):
    return "%s-%s" % (prefix, secrets.token_hex(12))


def when(seconds=0, days=0):
    """RFC 3339 (with +08:00) for now + seconds + days, whole seconds."""
    t = datetime.datetime.now(CST) + datetime.timedelta(seconds=seconds, days=days)
    return t.replace(microsecond=0).isoformat()


def local_day(ts):
    return parse_rfc3339(ts).astimezone(CST).strftime("%Y-%m-%d")


def same_instant(a, b):
    return parse_rfc3339(a) == parse_rfc3339(b)


class Acct:
    """A staff member or resident; signs in once, on first use of .token."""

    def __init__(self, ctx, username=None, password=None, info=None, token=None):
        self.ctx = ctx
        self.username = username
        self.password = password
        self.info = info or {}
        self._token = token

    @property
    def id(self):
        return self.info.get("id")

    @property
    def token(self):
        if self._token is None:
            self._token = self.ctx.login(self.username, self.password)
        return self._token


def mk_region(ctx, parent_id, level):
    r = ctx.post("/v1/regions", {"parent_id": parent_id, "name": "%s-%s" % (level, tag(6)),
                                 "level": level, "code": uniq_code()}, token=ctx.admin_token)
    return expect_json(r, 201)


def mk_site(ctx, region_id, tier="dropoff"):
    r = ctx.post("/v1/sites", {"region_id": region_id, "name": "site-" + tag(6), "tier": tier,
                               "network": "integrated", "address": "1 Scale Road"},
                 token=ctx.admin_token)
    return expect_json(r, 201)


def mk_shop(ctx, region_id):
    r = ctx.post("/v1/shops", {"region_id": region_id, "name": "shop-" + tag(6),
                               "address": "2 Shop Street"}, token=ctx.admin_token)
    return expect_json(r, 201)


def mk_staff(ctx, role, region_id, site_id=None, shop_id=None):
    body = {"username": "lg%s-%s" % (role[:4], tag(10)), "password": secrets.token_hex(8),
            "role": role, "region_id": region_id, "display_name": "Ledger " + role}
    if site_id is not None:
        body["site_id"] = site_id
    if shop_id is not None:
        body["shop_id"] = shop_id
    r = ctx.post("/v1/staff", body, token=ctx.admin_token)
    info = expect_json(r, 201)
    return Acct(ctx, body["username"], body["password"], info)


def mk_household(ctx, region_id, pin=None):
    body = {"region_id": region_id, "head_name": "Head " + tag(6),
            "address": "%d Lane" % (1 + secrets.randbelow(999))}
    if pin is not None:
        body["pin"] = pin
    r = ctx.post("/v1/households", body, token=ctx.admin_token)
    h = expect_json(r, 201)
    assert isinstance(h.get("code"), str) and h["code"], "no card code: %r" % h
    return h


def resident_of(ctx, household, pin):
    r = ctx.post("/v1/auth/resident", {"code": household["code"], "pin": pin})
    body = expect_json(r, 200)
    return Acct(ctx, info={"id": household["id"]}, token=body["token"])


def mk_category(ctx, unit="g", daily_cap=None):
    code = "lt_" + tag(10)
    r = ctx.post("/v1/categories", {"code": code, "name": "Test " + code, "name_zh": "测试",
                                    "unit": unit, "daily_cap": daily_cap},
                 token=ctx.admin_token)
    body = expect_json(r, 201)
    expect_eq(body.get("code"), code, "category code")
    return code


def set_rate(ctx, category, ppu, region_id=None, effective_from=None, token=None):
    """POST /v1/rates (asserts 201).  A category created a moment ago may still be
    unknown to the worker that answers (its catalogue cache lives 2 s: see
    test_ledger_new_category_is_usable_at_once); retried for 3 s."""
    body = {"category": category, "region_id": region_id, "points_per_unit": ppu,
            "effective_from": effective_from or when(days=-40)}
    deadline = time.monotonic() + 3
    while True:
        r = ctx.post("/v1/rates", body, token=token or ctx.admin_token)
        if (r.status == 400 and time.monotonic() < deadline and r.json
                and r.json.get("error", {}).get("field") == "category"):
            time.sleep(0.1)
            continue
        return expect_json(r, 201)


def wait_catalog(since):
    """Categories created at monotonic time `since` are known to every worker after
    the per-worker catalogue cache expired."""
    left = CATALOG_CACHE_S - (time.monotonic() - since)
    if left > 0:
        time.sleep(left)


def dropoff_body(code, items, recorded_at=None, note=None):
    b = {"code": code, "items": items}
    if recorded_at is not None:
        b["recorded_at"] = recorded_at
    if note is not None:
        b["note"] = note
    return b


def post_dropoff(ctx, token, body=None, key=None, raw=None, conn=None, client=None,
                 headers=None):
    """POST /v1/dropoffs; key=None sends a fresh key, key=False sends none."""
    hdrs = dict(headers or {})
    if key is None:
        key = new_key()
    if key is not False:
        hdrs["Idempotency-Key"] = key
    c = client or ctx.client
    return c.call("POST", "/v1/dropoffs", body=body, raw=raw, token=token, headers=hdrs,
                  conn=conn)


def dropoff_ok(ctx, token, code, items, key=None, recorded_at=None, note=None):
    r = post_dropoff(ctx, token, dropoff_body(code, items, recorded_at, note), key=key)
    d = expect_json(r, 201)
    expect_eq(d.get("replayed"), False, "replayed of a new drop-off")
    return d


def uploaded_ok(ctx, token, code, items, recorded_at, note=None):
    """An offline upload: POST /v1/dropoffs/batch with this one drop-off (only a batch
    item may be recorded more than 10 minutes back).  Returns its drop-off."""
    item = dict(dropoff_body(code, items, recorded_at, note), client_ref=new_key("up"))
    res = expect_json(ctx.post("/v1/dropoffs/batch", {"dropoffs": [item]}, token=token),
                      200)["results"]
    expect_eq(res[0].get("status"), "created", "the uploaded drop-off (%r)" % res[0])
    d = res[0]["dropoff"]
    expect_eq(d.get("replayed"), False, "replayed of a new drop-off")
    return d


def get_household(ctx, hid, token=None):
    return expect_json(ctx.get("/v1/households/%d" % hid, token=token or ctx.admin_token), 200)


def balance_of(ctx, hid):
    return get_household(ctx, hid)["balance"]


def read_pages(ctx, path, token, limit=500):
    """Every item of a cursor-paged list."""
    out = []
    cursor = None
    sep = "&" if "?" in path else "?"
    for _ in range(1000):
        p = "%s%slimit=%d" % (path, sep, limit)
        if cursor:
            p += "&cursor=" + cursor
        body = expect_json(ctx.get(p, token=token), 200)
        assert isinstance(body.get("items"), list), "no items list: %r" % body
        out.extend(body["items"])
        cursor = body.get("next_cursor")
        if not cursor:
            return out
    raise AssertionError("%s: more than 1000 pages" % path)


def ledger_of(ctx, hid, token=None):
    return read_pages(ctx, "/v1/households/%d/ledger" % hid, token or ctx.admin_token)


def dropoffs_of(ctx, hid, token=None):
    return read_pages(ctx, "/v1/dropoffs?household_id=%d" % hid, token or ctx.admin_token)


def check_ledger_consistent(ctx, hid, rows=None):
    """The ledger rows chain: newest first, seq n..1, balance_after running sums; the
    household's balance is the last balance_after.  Returns the rows."""
    rows = ledger_of(ctx, hid) if rows is None else rows
    seqs = [x["seq"] for x in rows]
    expect_eq(seqs, list(range(len(rows), 0, -1)), "ledger seqs of household %d" % hid)
    running = 0
    for x in reversed(rows):
        running += x["delta"]
        expect_eq(x["balance_after"], running, "balance_after at seq %d" % x["seq"])
        assert x["balance_after"] >= 0, "negative balance in the ledger: %r" % x
    expect_eq(balance_of(ctx, hid), running, "balance of household %d" % hid)
    return rows


def redis_run_id(ctx):
    for line in ctx.redis("INFO", "server").splitlines():
        if line.startswith("run_id:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("no run_id in INFO server")


def redis_balance(ctx, hid):
    """(seq, balance, run_id) of Redis's entry for the household, or None."""
    v = ctx.redis("GET", "bal:{h:%d}" % hid)
    if not v:
        return None
    parts = v.split("|")
    assert len(parts) == 3, "bal:{h:%d} is not seq|balance|run_id: %r" % (hid, v)
    return int(parts[0]), int(parts[1]), parts[2]


def _note_slow(what, t0, extra=""):
    took = time.monotonic() - t0
    if took > 5:
        print("    note: %s took %.1f s%s" % (what, took, extra), flush=True)


def ledger_check(ctx):
    """GET /v1/reports/ledger-check (it reads every household of the store: in a full run
    with large imports that takes a while, hence the long timeout)."""
    t0 = time.monotonic()
    body = expect_json(ctx.get("/v1/reports/ledger-check", token=ctx.admin_token,
                               timeout=300), 200)
    _note_slow("GET /v1/reports/ledger-check", t0,
               " (%s households)" % (body or {}).get("households_checked"))
    for k in ("ok", "households_checked", "violations"):
        assert k in body, "ledger-check answer without %r: %r" % (k, body)
    return body


def expect_ledger_check_ok(ctx):
    body = ledger_check(ctx)
    assert body["ok"] is True and body["violations"] == [], \
        "ledger-check found violations: %s" % json.dumps(body["violations"][:20])
    assert body["households_checked"] >= 1, body
    return body


def expect_reconcile_ok(ctx, fix=False):
    args = ["reconcile"] + (["--fix"] if fix else [])
    t0 = time.monotonic()
    p = ctx.wbctl(*args, timeout=300)
    _note_slow("wbctl " + " ".join(args), t0, " (%s)" % p.stdout.strip().splitlines()[-1:])
    assert p.returncode == 0, "wbctl %s exited %d:\n%s%s" % (" ".join(args), p.returncode,
                                                             p.stdout[-3000:], p.stderr[-2000:])
    assert " households checked, 0 violations" in p.stdout, p.stdout[-2000:]
    return p


class Tree:
    pass


def build_tree(ctx, second_county=True, extra_sites=0):
    """province > A (county) > TA (town) > VA, VA2 (villages); SA: drop-off site in TA
    with attendant at_a; ra_a: region admin of A.  With second_county: B > TB > VB,
    site SB with attendant at_b, ra_b.  extra_sites: more drop-off sites in TA
    (t.more_sites, each {site, att})."""
    t = Tree()
    t.prov = mk_region(ctx, None, "province")
    t.A = mk_region(ctx, t.prov["id"], "county")
    t.TA = mk_region(ctx, t.A["id"], "town")
    t.VA = mk_region(ctx, t.TA["id"], "village")
    t.VA2 = mk_region(ctx, t.TA["id"], "village")
    t.SA = mk_site(ctx, t.TA["id"])
    t.at_a = mk_staff(ctx, "attendant", t.TA["id"], site_id=t.SA["id"])
    t.ra_a = mk_staff(ctx, "region_admin", t.A["id"])
    t.more_sites = []
    for _ in range(extra_sites):
        s = mk_site(ctx, t.TA["id"])
        t.more_sites.append({"site": s, "att": mk_staff(ctx, "attendant", t.TA["id"],
                                                        site_id=s["id"])})
    if second_county:
        t.B = mk_region(ctx, t.prov["id"], "county")
        t.TB = mk_region(ctx, t.B["id"], "town")
        t.VB = mk_region(ctx, t.TB["id"], "village")
        t.SB = mk_site(ctx, t.TB["id"])
        t.at_b = mk_staff(ctx, "attendant", t.TB["id"], site_id=t.SB["id"])
        t.ra_b = mk_staff(ctx, "region_admin", t.B["id"])
    return t


# ----------------------------------------------------------------------------- this module's fixture

_FX = None


def fx(ctx):
    """Categories of this module (made first: workers learn them within 2 s) and a tree."""
    global _FX
    if _FX is not None:
        return _FX
    t0 = time.monotonic()
    f = Tree()
    f.g33 = mk_category(ctx, "g")                 # 33 points per kg, no cap
    set_rate(ctx, f.g33, 33)
    f.item7 = mk_category(ctx, "item")            # 7 points per item, no cap
    set_rate(ctx, f.item7, 7)
    f.versioned = mk_category(ctx, "g")           # 100 from 10 days ago, 200 from 1 day ago
    set_rate(ctx, f.versioned, 100, effective_from=when(days=-10))
    set_rate(ctx, f.versioned, 200, effective_from=when(days=-1))
    set_rate(ctx, f.versioned, 900, effective_from=when(seconds=3600))     # not yet
    f.regional = mk_category(ctx, "g")            # default 10; overrides below
    set_rate(ctx, f.regional, 10)
    f.capped = mk_category(ctx, "g", daily_cap=100)    # 1000 per kg = 1 point a gram
    set_rate(ctx, f.capped, 1000)
    f.capped_item = mk_category(ctx, "item", daily_cap=50)
    set_rate(ctx, f.capped_item, 20)
    f.boundary = mk_category(ctx, "g")           # 5, then 10 from exactly T0 (3 hours ago)
    set_rate(ctx, f.boundary, 5)
    f.T0 = when(seconds=-3 * 3600)
    set_rate(ctx, f.boundary, 10, effective_from=f.T0)
    f.t = build_tree(ctx)
    set_rate(ctx, f.regional, 20, region_id=f.t.TA["id"])
    set_rate(ctx, f.regional, 30, region_id=f.t.VA2["id"])
    wait_catalog(t0)
    _FX = f
    return f


def _line(res, i=0):
    return res["items"][i]


# ----------------------------------------------------------------------------- points per unit

def test_ledger_points_per_gram_round_down(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    d = dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.g33, "grams": 1999}])
    expect_eq(d["points"], 65, "floor(1999 g x 33 / 1000)")
    ln = _line(d)
    expect_eq((ln["category"], ln["grams"], ln["rate"], ln["points"], ln["capped"]),
              (f.g33, 1999, 33, 65, False), "the line")
    assert "count" not in ln, "a gram line with a count: %r" % ln
    expect_eq((d["household_id"], d["site_id"], d["balance"], d["capped"]),
              (h["id"], f.t.SA["id"], 65, False), "drop-off answer")
    assert isinstance(d.get("id"), int) and d["id"] > 0, d
    # 30 g x 33 = 0.99 points: nothing, and not capped
    d = dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.g33, "grams": 30}])
    expect_eq((d["points"], _line(d)["points"], _line(d)["capped"], d["balance"]),
              (0, 0, False, 65), "30 g rounds down to 0")
    # 1000 g exactly the rate; 500000 g the most
    d = dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.g33, "grams": 1000},
                                                    {"category": f.g33, "grams": 500000}])
    expect_eq([x["points"] for x in d["items"]], [33, 16500], "line points")
    expect_eq((d["points"], d["balance"]), (16533, 65 + 16533), "points and balance")
    check_ledger_consistent(ctx, h["id"])


def test_ledger_points_per_item(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    d = dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.item7, "count": 13},
                                                    {"category": f.g33, "grams": 3000}])
    expect_eq(d["items"][0], {"category": f.item7, "count": 13, "rate": 7, "points": 91,
                              "capped": False}, "item line")
    expect_eq(d["items"][1]["points"], 99, "gram line")
    expect_eq((d["points"], d["balance"]), (190, 190), "total")
    # the stored drop-off says the same
    got = expect_json(ctx.get("/v1/dropoffs/%d" % d["id"], token=ctx.admin_token), 200)
    expect_eq((got["id"], got["household_id"], got["points"], got["status"]),
              (d["id"], h["id"], 190, "ok"), "stored drop-off")
    expect_eq(got["items"], d["items"], "stored lines")
    rows = check_ledger_consistent(ctx, h["id"])
    expect_eq([(x["kind"], x["delta"], x["ref_id"]) for x in rows], [("dropoff", 190, d["id"])],
              "ledger rows")


def test_ledger_newest_rate_version_in_force_applies(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    d = dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.versioned, "grams": 1000}])
    expect_eq((_line(d)["rate"], d["points"]), (200, 200),
              "now: the version of 1 day ago (not the older one, not the future one)")


def test_ledger_backdated_dropoff_paid_at_the_rate_then(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    at = when(days=-2)
    d = uploaded_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.versioned, "grams": 1500}],
                    recorded_at=at)
    expect_eq((_line(d)["rate"], d["points"]), (100, 150), "2 days back: the version of 10 days ago")
    assert same_instant(d["recorded_at"], at), "recorded_at %r, sent %r" % (d["recorded_at"], at)
    got = expect_json(ctx.get("/v1/dropoffs/%d" % d["id"], token=ctx.admin_token), 200)
    expect_eq(got.get("day"), local_day(at), "the drop-off's local day")
    # 2 hours ago: the version of 1 day ago
    d = uploaded_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.versioned, "grams": 1500}],
                    recorded_at=when(seconds=-7200))
    expect_eq((_line(d)["rate"], d["points"]), (200, 300), "2 hours back")
    expect_eq(d["balance"], 450, "balance")


def test_ledger_new_rate_version_leaves_past_dropoffs_alone(ctx):
    f = fx(ctx)
    cat = mk_category(ctx, "g")
    t0 = time.monotonic()
    set_rate(ctx, cat, 50, effective_from=when(days=-5))
    wait_catalog(t0)
    h = mk_household(ctx, f.t.VA["id"])
    d1 = dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": cat, "grams": 2000}],
                    recorded_at=when(seconds=-540))
    expect_eq(d1["points"], 100, "at 50 per kg")
    set_rate(ctx, cat, 80, effective_from=when(seconds=-300))
    d2 = dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": cat, "grams": 2000}])
    expect_eq(d2["points"], 160, "at the new 80 per kg")
    got = expect_json(ctx.get("/v1/dropoffs/%d" % d1["id"], token=ctx.admin_token), 200)
    expect_eq((got["points"], got["items"][0]["rate"]), (100, 50), "the earlier drop-off kept its rate")
    # a back-dated drop-off before the new version still gets the old one
    d3 = uploaded_ok(ctx, f.t.at_a.token, h["code"], [{"category": cat, "grams": 2000}],
                     recorded_at=when(seconds=-900))
    expect_eq(d3["points"], 100, "back-dated before the new version")


def test_ledger_town_override_beats_the_default(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])            # village of TA: TA's override 20
    d = dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.regional, "grams": 1000}])
    expect_eq((_line(d)["rate"], d["points"]), (20, 20), "the town's override")
    hb = mk_household(ctx, f.t.VB["id"])           # another county: the default 10
    d = dropoff_ok(ctx, f.t.at_b.token, hb["code"], [{"category": f.regional, "grams": 1000}])
    expect_eq((_line(d)["rate"], d["points"]), (10, 10), "the default elsewhere")


def test_ledger_village_override_beats_the_town_override(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA2["id"])           # VA2 has 30 of its own, TA says 20
    d = dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.regional, "grams": 1000}])
    expect_eq((_line(d)["rate"], d["points"]), (30, 30), "the village's override")


def test_ledger_override_newer_than_recorded_at_does_not_apply(ctx):
    """A region override that starts after recorded_at is not in force: the nearest
    ancestor's (or the default) applies."""
    f = fx(ctx)
    cat = mk_category(ctx, "g")
    t0 = time.monotonic()
    set_rate(ctx, cat, 10, effective_from=when(days=-20))
    set_rate(ctx, cat, 70, region_id=f.t.VA["id"], effective_from=when(days=-1))
    wait_catalog(t0)
    h = mk_household(ctx, f.t.VA["id"])
    d = uploaded_ok(ctx, f.t.at_a.token, h["code"], [{"category": cat, "grams": 1000}],
                    recorded_at=when(days=-3))
    expect_eq(d["points"], 10, "3 days back: the village's override did not exist yet")
    d = dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": cat, "grams": 1000}])
    expect_eq(d["points"], 70, "now: the village's override")


def test_ledger_categories_show_the_rate_of_the_callers_region(ctx):
    f = fx(ctx)
    hv = mk_household(ctx, f.t.VA2["id"], pin="4821")
    ht = mk_household(ctx, f.t.VA["id"], pin="4821")

    def rate_for(token):
        body = expect_json(ctx.get("/v1/categories?limit=500", token=token), 200)
        got = {c["code"]: c for c in body["items"]}
        assert f.regional in got, "own category missing from GET /v1/categories"
        c = got[f.regional]
        expect_eq((c["unit"], c["daily_cap"], c["name_zh"]), ("g", None, "测试"), "category")
        expect_eq(got[f.capped]["daily_cap"], 100, "daily_cap")
        expect_eq(got[f.item7]["unit"], "item", "unit")
        return c["rate"]

    expect_eq(rate_for(ctx.admin_token), 10, "admin: the default")
    expect_eq(rate_for(resident_of(ctx, hv, "4821").token), 30, "resident of VA2")
    expect_eq(rate_for(resident_of(ctx, ht, "4821").token), 20, "resident of VA (town's)")
    expect_eq(rate_for(f.t.ra_a.token), 10, "region admin of the county: the default")
    expect_eq(rate_for(f.t.at_b.token), 10, "attendant of county B")


def test_ledger_region_admin_sets_an_override_in_its_subtree_only(ctx):
    f = fx(ctx)
    cat = f.regional
    r = ctx.post("/v1/rates", {"category": cat, "region_id": f.t.B["id"], "points_per_unit": 5,
                               "effective_from": when(days=-1)}, token=f.t.ra_a.token)
    expect_error(r, 404, "not_found")
    r = ctx.post("/v1/rates", {"category": cat, "region_id": None, "points_per_unit": 5,
                               "effective_from": when(days=-1)}, token=f.t.ra_a.token)
    expect_error(r, 403, "forbidden")
    hb = mk_household(ctx, f.t.VB["id"])
    d = dropoff_ok(ctx, f.t.at_b.token, hb["code"], [{"category": cat, "grams": 1000}])
    expect_eq(d["points"], 10, "county B still on the default")


def test_ledger_rate_version_applies_from_its_effective_second(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    t0 = parse_rfc3339(f.T0)
    before = (t0 - datetime.timedelta(seconds=1)).isoformat()
    d = uploaded_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.boundary, "grams": 1000}],
                    recorded_at=f.T0)
    expect_eq((_line(d)["rate"], d["points"]), (10, 10), "recorded_at == effective_from")
    d = uploaded_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.boundary, "grams": 1000}],
                    recorded_at=before)
    expect_eq((_line(d)["rate"], d["points"]), (5, 5), "one second before effective_from")
    utc = t0.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    d = uploaded_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.boundary, "grams": 1000}],
                    recorded_at=utc)
    expect_eq(d["points"], 10, "the same instant written in UTC")


def test_ledger_region_admin_override_in_its_subtree_applies(ctx):
    f = fx(ctx)
    v = mk_region(ctx, f.t.TA["id"], "village")
    set_rate(ctx, f.regional, 44, region_id=v["id"], effective_from=when(days=-1),
             token=f.t.ra_a.token)
    h = mk_household(ctx, v["id"])
    d = dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.regional, "grams": 1000}])
    expect_eq((_line(d)["rate"], d["points"]), (44, 44), "the region admin's village override")
    h2 = mk_household(ctx, f.t.VA["id"])
    d = dropoff_ok(ctx, f.t.at_a.token, h2["code"], [{"category": f.regional, "grams": 1000}])
    expect_eq(d["points"], 20, "a sibling village keeps the town's rate")


# ----------------------------------------------------------------------------- daily caps

def test_ledger_cap_reached_mid_request_cuts_the_second_line(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    at = when(seconds=-120)
    d = dropoff_ok(ctx, f.t.at_a.token, h["code"],
                   [{"category": f.capped, "grams": 60}, {"category": f.capped, "grams": 70},
                    {"category": f.g33, "grams": 1000}], recorded_at=at)
    expect_eq(d["items"][0], {"category": f.capped, "grams": 60, "rate": 1000, "points": 60,
                              "capped": False}, "first line: full")
    expect_eq(d["items"][1], {"category": f.capped, "grams": 70, "rate": 1000, "points": 40,
                              "capped": True}, "second line: cut to the cap, weight kept")
    expect_eq(d["items"][2]["capped"], False, "another category is not capped")
    expect_eq((d["points"], d["capped"], d["balance"]), (133, True, 133), "drop-off")
    got = expect_json(ctx.get("/v1/dropoffs/%d" % d["id"], token=ctx.admin_token), 200)
    expect_eq((got["capped"], got["grams"], got["points"]), (True, 1130, 133),
              "stored: capped, every gram recorded")
    expect_eq(got["items"], d["items"], "stored lines")

    # the same day again: nothing more in that category, other categories still earn
    d2 = dropoff_ok(ctx, f.t.at_a.token, h["code"],
                    [{"category": f.capped, "grams": 500}, {"category": f.g33, "grams": 1000}],
                    recorded_at=at)
    expect_eq(d2["items"][0], {"category": f.capped, "grams": 500, "rate": 1000, "points": 0,
                               "capped": True}, "capped category, same day")
    expect_eq((d2["items"][1]["points"], d2["points"], d2["capped"], d2["balance"]),
              (33, 33, True, 166), "second drop-off")
    check_ledger_consistent(ctx, h["id"])


def test_ledger_cap_is_per_local_day(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    today = when(seconds=-60)
    two_days_ago = when(days=-2)
    d = uploaded_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.capped, "grams": 150}],
                    recorded_at=two_days_ago)
    expect_eq((d["points"], d["capped"]), (100, True), "two days ago: capped at 100")
    d = dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.capped, "grams": 90}],
                   recorded_at=today)
    expect_eq((d["points"], d["capped"]), (90, False), "today: a new day's cap")
    d = dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.capped, "grams": 90}],
                   recorded_at=today)
    expect_eq((d["points"], d["items"][0]["capped"]), (10, True), "today: 10 left")
    # another household has its own cap
    h2 = mk_household(ctx, f.t.VA["id"])
    d = dropoff_ok(ctx, f.t.at_a.token, h2["code"], [{"category": f.capped, "grams": 90}],
                   recorded_at=today)
    expect_eq((d["points"], d["capped"]), (90, False), "another household")


def test_ledger_cap_on_item_category(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    at = when(seconds=-60)
    d = dropoff_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.capped_item, "count": 2},
                                                    {"category": f.capped_item, "count": 2}],
                   recorded_at=at)
    expect_eq([(x["count"], x["points"], x["capped"]) for x in d["items"]],
              [(2, 40, False), (2, 10, True)], "item lines against a cap of 50")
    expect_eq((d["points"], d["capped"]), (50, True), "drop-off")


# ----------------------------------------------------------------------------- new categories

def test_ledger_category_past_the_catalogue_limit_is_refused(ctx):
    """Every thread caches the whole catalogue (256 categories): the 257th is refused
    with 409 catalogue_full and nothing is written; with room again, creation works."""
    n = int(ctx.sql("SELECT COUNT(*) FROM categories")[0][0])
    assert n < 256, "the suite already holds %d categories" % n
    fill = 256 - n
    ctx.sql("INSERT INTO categories (code, name, name_zh, unit) "
            "SELECT CONCAT('zz_fill_', s.n), 'filler', '填充', 'g' FROM "
            "(WITH RECURSIVE q(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM q WHERE n < %d) "
            "SELECT n FROM q) s" % fill)
    try:
        code = "lt_" + tag(10)
        body = {"code": code, "name": "Over", "name_zh": "超出", "unit": "g", "daily_cap": None}
        expect_error(ctx.post("/v1/categories", body, token=ctx.admin_token), 409,
                     "catalogue_full", None)
        expect_eq(ctx.sql("SELECT COUNT(*) FROM categories")[0][0], "256", "categories after")
        expect_eq(ctx.sql("SELECT COUNT(*) FROM categories WHERE code = '%s'" % code),
                  [("0",)], "the refused category")
    finally:
        ctx.sql("DELETE FROM categories WHERE code LIKE 'zz\\_fill\\_%'")
    expect_json(ctx.post("/v1/categories", body, token=ctx.admin_token), 201)


def test_ledger_new_category_is_usable_at_once(ctx):
    """After POST /v1/categories answered 201, every worker knows the category: it is
    listed, it takes a rate and a drop-off in it is accepted (no 'unknown category'
    from a worker whose catalogue is a moment old)."""
    f = fx(ctx)
    for _ in range(12):                       # every worker loads its catalogue now
        expect_status(ctx.get("/v1/categories?limit=500", token=ctx.admin_token), 200)
    code = mk_category(ctx, "g")
    missing = 0
    for _ in range(12):                       # fresh connections: spread over the workers
        body = expect_json(ctx.get("/v1/categories?limit=500", token=ctx.admin_token), 200)
        if code not in {c["code"] for c in body["items"]}:
            missing += 1
    refused = []
    for i in range(6):
        r = ctx.post("/v1/rates", {"category": code, "region_id": None, "points_per_unit": 1000,
                                   "effective_from": when(days=-40)}, token=ctx.admin_token)
        if r.status != 201:
            refused.append(r)
    h = mk_household(ctx, f.t.VA["id"])
    bad_drop = []
    for i in range(6):
        r = post_dropoff(ctx, f.t.at_a.token, dropoff_body(h["code"], [{"category": code,
                                                                         "grams": 10}]))
        if r.status != 201:
            bad_drop.append(r)
    assert missing == 0 and not refused and not bad_drop, (
        "a category just created is unknown to some workers: %d of 12 category lists miss "
        "it, %d of 6 POST /v1/rates refused (first: %r), %d of 6 drop-offs refused (first: %r)"
        % (missing, len(refused), refused[:1], len(bad_drop), bad_drop[:1]))


def test_ledger_cap_day_is_the_local_day_in_the_configured_zone(ctx):
    """23:59:59 and 00:00:00 Asia/Shanghai (15:59:59Z / 16:00:00Z) are two days with a
    cap each; the drop-off's day is the local one."""
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    day = (datetime.datetime.now(CST) - datetime.timedelta(days=3)).date()
    last = datetime.datetime(day.year, day.month, day.day, 15, 59, 59,
                             tzinfo=datetime.timezone.utc)
    first = last + datetime.timedelta(seconds=1)
    a = uploaded_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.capped, "grams": 150}],
                    recorded_at=last.strftime("%Y-%m-%dT%H:%M:%SZ"))
    b = uploaded_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.capped, "grams": 150}],
                    recorded_at=first.strftime("%Y-%m-%dT%H:%M:%SZ"))
    expect_eq((a["points"], b["points"]), (100, 100), "a full cap on each local day")
    ga = expect_json(ctx.get("/v1/dropoffs/%d" % a["id"], token=ctx.admin_token), 200)
    gb = expect_json(ctx.get("/v1/dropoffs/%d" % b["id"], token=ctx.admin_token), 200)
    expect_eq((ga["day"], gb["day"]), (day.isoformat(), (day + datetime.timedelta(days=1)).isoformat()),
              "local days")
    c = uploaded_ok(ctx, f.t.at_a.token, h["code"], [{"category": f.capped, "grams": 10}],
                    recorded_at=(first + datetime.timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    expect_eq((c["points"], c["capped"]), (0, True), "later the same local day")
