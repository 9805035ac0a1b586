"""Household sorting inspections (入户检查) and the honour roll (红黑榜) (api.md,
"Household sorting inspections and the honour roll"; "Staff" for the inspector role;
"Reports" for accuracy and participation).

Inspectors bound to a town, village or community; an inspection recorded once per
household and local day, by card code or household id, idempotent in the inspector's
key space, paying the rule's per-inspection points in the same transaction; photos
kept and served only within reach; voids that claw the points back (with a shortfall
when they were spent); versioned scoring rules inherited from the nearest ancestor;
the accuracy report and the honour roll (JSON, CSV, PDF) against brute-force SQL and
hand-computed figures (partial counts half, voided inspections leave every figure,
min_inspections, a rate exactly at a threshold reaches it); participation active by
inspection; the resident's own view; the monthly settlement (open months refused,
paid once even when two runs race; `wbctl settle`); the role table of every new route.

One household takes one inspection a local day, so a month's accuracy over several
inspections needs back-dated ones: `inspected_at` follows a drop-off's `recorded_at`
at its widest (an offline device: up to 30 days back, flagged backdated), so these
tests record up to 29 days back, at noon.  A test that needs n days of an ended month
skips when fewer than n of last month's days are that close (late in the month).
"""

import base64
import datetime
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import urllib.parse

from lib import expect_eq, expect_error, expect_json, expect_status, parse_rfc3339

CST = datetime.timezone(datetime.timedelta(hours=8))      # WB_TIMEZONE Asia/Shanghai
PIN = "4821"
PHOTO_MAX = 512 * 1024

RULE = {"per_pass": 5, "per_partial": 2,
        "monthly": [{"min_rate": 0.5, "points": 10}, {"min_rate": 1.0, "points": 20}],
        "min_inspections": 1, "black_below": 0.5}


# ----------------------------------------------------------------------------- helpers

def tag(n=8):
    return secrets.token_hex(n // 2 + 1)[:n]


def uniq_code():
    """A random 12-digit division code."""
    return str(10 ** 11 + secrets.randbelow(9 * 10 ** 11))


def new_key(prefix="insp"):
    return "%s-%s" % (prefix, secrets.token_hex(12))


def today():
    return datetime.datetime.now(CST).strftime("%Y-%m-%d")


def this_month():
    return datetime.datetime.now(CST).strftime("%Y-%m")


def month_add(month, n):
    y, m = (int(x) for x in month.split("-"))
    k = y * 12 + (m - 1) + n
    return "%04d-%02d" % (k // 12, k % 12 + 1)


def when(seconds=0):
    """RFC 3339 (+08:00) for now + seconds, whole seconds."""
    t = datetime.datetime.now(CST) + datetime.timedelta(seconds=seconds)
    return t.replace(microsecond=0).isoformat()


def local_day(ts):
    return parse_rfc3339(ts).astimezone(CST).strftime("%Y-%m-%d")


def qs(path, **params):
    """path?params (None values left out; from_ stands for from)."""
    p = {k.rstrip("_"): v for k, v in params.items() if v is not None}
    return path + ("?" + urllib.parse.urlencode(p) if p else "")


def close(a, b, eps=1e-9):
    return isinstance(a, (int, float)) and abs(a - b) < eps


class Tree:
    pass


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


def mk_region(ctx, parent_id, level, token=None):
    r = ctx.post("/v1/regions", {"parent_id": parent_id, "name": "%s-%s" % (level, tag(6)),
                                 "level": level, "code": uniq_code()},
                 token=token or ctx.admin_token)
    return expect_json(r, 201)


def mk_site(ctx, region_id):
    r = ctx.post("/v1/sites", {"region_id": region_id, "name": "isite-" + tag(6),
                               "tier": "dropoff", "network": "integrated",
                               "address": "3 Bin Road"}, token=ctx.admin_token)
    return expect_json(r, 201)


def mk_shop(ctx, region_id):
    r = ctx.post("/v1/shops", {"region_id": region_id, "name": "ishop-" + tag(6),
                               "address": "4 Shop Street"}, token=ctx.admin_token)
    return expect_json(r, 201)


def staff_body(role, region_id, **extra):
    b = {"username": "in%s-%s" % (role[:4], tag(10)), "password": secrets.token_hex(8),
         "role": role, "region_id": region_id, "display_name": "Inspections " + role}
    b.update(extra)
    return b


def post_staff(ctx, body, token=None):
    return ctx.post("/v1/staff", body, token=token or ctx.admin_token)


def mk_staff(ctx, role, region_id, token=None, **extra):
    body = staff_body(role, region_id, **extra)
    info = expect_json(post_staff(ctx, body, token), 201)
    return Acct(ctx, body["username"], body["password"], info)


def mk_household(ctx, region_id, pin=None, head_name=None):
    body = {"region_id": region_id, "head_name": head_name or "Head %s" % tag(8),
            "address": "%d Lane" % (1 + secrets.randbelow(999))}
    if pin is not None:
        body["pin"] = pin
    h = expect_json(ctx.post("/v1/households", body, token=ctx.admin_token), 201)
    assert isinstance(h.get("code"), str) and h["code"], "no card code: %r" % h
    return h


def resident_of(ctx, h, pin=PIN):
    body = expect_json(ctx.post("/v1/auth/resident", {"code": h["code"], "pin": pin}), 200)
    return Acct(ctx, info={"id": h["id"]}, token=body["token"])


def world(ctx, villages=1):
    """province > county > town > villages, each village with its inspector; another
    county Z with its region admin; the county's region admin."""
    w = Tree()
    w.prov = mk_region(ctx, None, "province")
    w.county = mk_region(ctx, w.prov["id"], "county")
    w.town = mk_region(ctx, w.county["id"], "town")
    w.V = [mk_region(ctx, w.town["id"], "village") for _ in range(villages)]
    w.insp = [mk_staff(ctx, "inspector", v["id"]) for v in w.V]
    w.Z = mk_region(ctx, w.prov["id"], "county")
    w.ra = mk_staff(ctx, "region_admin", w.county["id"])
    w.rz = mk_staff(ctx, "region_admin", w.Z["id"])
    return w


def rule_body(month=None, **over):
    b = dict(RULE, effective_month=month or this_month())
    b.update(over)
    return b


def put_rule(ctx, region_id, body, token=None):
    return ctx.call("PUT", "/v1/regions/%d/scoring" % region_id, body,
                    token=token or ctx.admin_token)


def set_rule(ctx, region_id, token=None, month=None, **over):
    return expect_json(put_rule(ctx, region_id, rule_body(month, **over), token), 200)


def get_rule(ctx, region_id, token=None):
    return expect_json(ctx.get("/v1/regions/%d/scoring" % region_id,
                               token=token or ctx.admin_token), 200)


def thresholds(monthly):
    return sorted((round(t["min_rate"], 6), t["points"]) for t in monthly or [])


def post_inspection(ctx, token, body, key=None, **kw):
    """POST /v1/inspections; key=None sends a fresh key, key=False sends none."""
    hdrs = {}
    if key is None:
        key = new_key()
    if key is not False:
        hdrs["Idempotency-Key"] = key
    return ctx.call("POST", "/v1/inspections", body=body, token=token, headers=hdrs, **kw)


def inspected(ctx, insp, h, result="pass", by="household_id", **extra):
    body = dict(extra, result=result)
    if by == "code":
        body["code"] = h["code"]
    else:
        body["household_id"] = h["id"]
    i = expect_json(post_inspection(ctx, insp.token, body), 201)
    expect_eq(i.get("replayed"), False, "replayed of a new inspection")
    expect_eq(i.get("household_id"), h["id"], "household_id of the inspection")
    return i


def void(ctx, iid, token=None, reason="wrong household"):
    body = {"reason": reason} if reason is not None else {}
    return ctx.post("/v1/inspections/%d/void" % iid, body, token=token or ctx.admin_token)


def voided(ctx, iid, token=None):
    v = expect_json(void(ctx, iid, token), 200)
    expect_eq(v.get("status"), "voided", "status after the void")
    return v


def adjust(ctx, hid, points):
    r = ctx.post("/v1/households/%d/adjustments" % hid, {"points": points, "reason": "spent"},
                 token=ctx.admin_token, headers={"Idempotency-Key": new_key("adj")})
    return expect_json(r, 201)


def ledger_of(ctx, hid):
    body = expect_json(ctx.get("/v1/households/%d/ledger?limit=500" % hid,
                               token=ctx.admin_token), 200)
    return body["items"]


def balance_of(ctx, hid):
    r = ctx.get("/v1/households/%d" % hid, token=ctx.admin_token)
    return expect_json(r, 200)["balance"]


def sql_int(ctx, query):
    return int(ctx.sql(query)[0][0] or 0)


def list_ids(ctx, token, **params):
    """Ids of GET /v1/inspections with these parameters, every page (limit 500)."""
    body = expect_json(ctx.get(qs("/v1/inspections", limit=500, **params), token=token), 200)
    assert isinstance(body.get("items"), list), "no items: %r" % body
    expect_eq(body.get("next_cursor"), None, "next_cursor of a short list")
    return {i["id"] for i in body["items"]}


def jpeg(size=256):
    """Bytes that pass a JPEG header check: SOI + APP0 JFIF ... EOI, `size` long."""
    head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
    tail = b"\xff\xd9"
    return head + os.urandom(size - len(head) - len(tail)) + tail


def b64(data):
    return base64.b64encode(data).decode("ascii")


def report(ctx, name, token=None, **params):
    return ctx.get(qs("/v1/reports/" + name, **params), token=token or ctx.admin_token)


def roll(ctx, region_id, month=None, token=None, **params):
    r = report(ctx, "honour-roll", token, region_id=region_id, month=month or this_month(),
               **params)
    return expect_json(r, 200)


def roll_ids(body):
    return ({e["household_id"] for e in body["red"]}, {e["household_id"] for e in body["black"]})


def totals_of(rep):
    t = rep.get("totals")
    return t[0] if isinstance(t, list) else t


def settle(ctx, region_id, month, token=None):
    return ctx.post("/v1/settlements/inspections", {"region_id": region_id, "month": month},
                    token=token or ctx.admin_token)


def in_threads(*fns):
    """Run the functions at once (behind a barrier); their results in order."""
    out = [None] * len(fns)
    gate = threading.Barrier(len(fns))

    def run(i, fn):
        gate.wait()
        try:
            out[i] = fn()
        except Exception as e:  # noqa: BLE001 - reported by the caller
            out[i] = e

    ts = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    for x in out:
        if isinstance(x, Exception):
            raise x
    return out


# ----------------------------------------------------------------------------- past days

def slots(month):
    """[(local day, inspected_at)] of the days of `month` an inspection may be recorded
    on now, newest first: today (inspected_at None: now) and each of the 29 days before
    (at its noon: at most 29.5 days back, inside the 30, and clear of midnight)."""
    now = datetime.datetime.now(CST)
    out = []
    for k in range(0, 30):
        d = (now - datetime.timedelta(days=k)).date()
        if d.strftime("%Y-%m") != month:
            continue
        at = None if k == 0 else datetime.datetime(d.year, d.month, d.day, 12, 0, 0,
                                                   tzinfo=CST).isoformat()
        out.append((d.strftime("%Y-%m-%d"), at))
    return out


def month_with_days(ctx, n, ended=False):
    """(month, n slots): last month when n of its days are still within reach, else
    (unless the month must have ended) this month; skips when neither has n."""
    prev = month_add(this_month(), -1)
    choices = [prev] if ended else [prev, this_month()]
    for m in choices:
        s = slots(m)
        if len(s) >= n:
            return m, s[:n]
    ctx.skip("no %smonth has %d days within the 30 days an inspection may be back-dated "
             "(today is %s)" % ("ended " if ended else "", n, today()))


def inspected_on(ctx, insp, h, result, slot):
    day, at = slot
    extra = {"inspected_at": at} if at else {}
    i = inspected(ctx, insp, h, result, **extra)
    expect_eq(i.get("local_day"), day, "local_day of an inspection at %s" % at)
    return i


def inspected_days(ctx, insp, h, results, days):
    """One inspection of h a day, results[i] on days[i]."""
    return [inspected_on(ctx, insp, h, res, d) for res, d in zip(results, days)]


# ----------------------------------------------------------------------------- staff

def test_inspector_is_bound_to_a_town_village_or_community(ctx):
    prov = mk_region(ctx, None, "province")
    city = mk_region(ctx, prov["id"], "city")
    county = mk_region(ctx, city["id"], "county")
    town = mk_region(ctx, county["id"], "town")
    village = mk_region(ctx, town["id"], "village")
    community = mk_region(ctx, town["id"], "community")
    for g in (town, village, community):
        body = staff_body("inspector", g["id"])
        s = expect_json(post_staff(ctx, body), 201)
        expect_eq((s.get("role"), s.get("region_id")), ("inspector", g["id"]),
                  "the inspector of a %s" % g["level"])
        assert "password" not in s and "password_hash" not in s, s
    for g in (prov, city, county):
        r = post_staff(ctx, staff_body("inspector", g["id"]))
        expect_error(r, 400, "invalid_request", "region_id")
    site = mk_site(ctx, village["id"])
    r = post_staff(ctx, staff_body("inspector", village["id"], site_id=site["id"]))
    expect_error(r, 400, "invalid_request", "site_id")
    # region admins: inside their subtree yes, elsewhere not found
    ra = mk_staff(ctx, "region_admin", county["id"])
    other = mk_region(ctx, city["id"], "county")
    rz = mk_staff(ctx, "region_admin", other["id"])
    insp = mk_staff(ctx, "inspector", village["id"], token=ra.token)
    expect_eq(insp.info.get("role"), "inspector", "role of a region admin's inspector")
    expect_error(post_staff(ctx, staff_body("inspector", village["id"]), rz.token), 404,
                 "not_found")
    me = expect_json(ctx.get("/v1/auth/me", token=insp.token), 200)
    expect_eq(me.get("role"), "inspector", "/v1/auth/me of an inspector")


# ----------------------------------------------------------------------------- recording

def test_inspection_records_the_visit_and_pays_per_inspection_points_at_once(ctx):
    w = world(ctx)
    V, insp = w.V[0], w.insp[0]
    set_rule(ctx, V["id"])
    h = mk_household(ctx, V["id"])
    at = when(-120)
    streams = [{"stream": "recyclable", "correct": True}, {"stream": "kitchen", "correct": False},
               {"stream": "hazardous", "correct": True}, {"stream": "other", "correct": True}]
    body = {"code": h["code"], "result": "pass", "inspected_at": at, "streams": streams,
            "note": "桶内分类清楚"}
    i = expect_json(post_inspection(ctx, insp.token, body), 201)
    assert isinstance(i.get("id"), int) and i["id"] > 0, i
    expect_eq((i.get("household_id"), i.get("inspector_id"), i.get("result")),
              (h["id"], insp.id, "pass"), "who and what")
    expect_eq(i.get("local_day"), local_day(at), "local_day")
    expect_eq((i.get("points"), i.get("balance")), (5, 5), "per_pass paid at once")
    expect_eq(i.get("streams"), streams, "streams")
    expect_eq(i.get("note"), "桶内分类清楚", "note")
    expect_eq((i.get("has_photo"), i.get("status"), i.get("replayed")),
              (False, "recorded", False), "has_photo, status, replayed")
    expect_eq(parse_rfc3339(i.get("inspected_at")), parse_rfc3339(at), "inspected_at")
    rows = ledger_of(ctx, h["id"])
    expect_eq([(x["kind"], x["delta"], x["ref_id"], x["balance_after"]) for x in rows],
              [("inspection", 5, i["id"], 5)], "the household's ledger")
    expect_eq(balance_of(ctx, h["id"]), 5, "balance")
    got = expect_json(ctx.get("/v1/inspections/%d" % i["id"], token=ctx.admin_token), 200)
    for k in ("id", "household_id", "inspector_id", "result", "local_day", "points",
              "streams", "note", "has_photo", "status"):
        expect_eq(got.get(k), i[k], "GET /v1/inspections/{id}: %s" % k)
    # partial pays per_partial, fail nothing
    hp, hf = mk_household(ctx, V["id"]), mk_household(ctx, V["id"])
    p = inspected(ctx, insp, hp, "partial")
    expect_eq((p["points"], p["balance"], p["has_photo"]), (2, 2, False), "a partial")
    f = inspected(ctx, insp, hf, "fail", by="code")
    expect_eq((f["points"], f["balance"]), (0, 0), "a fail")
    expect_eq(balance_of(ctx, hf["id"]), 0, "balance after a fail")


def test_inspection_names_the_household_by_exactly_one_of_code_and_household_id(ctx):
    w = world(ctx)
    h = mk_household(ctx, w.V[0]["id"])
    tok = w.insp[0].token
    expect_error(post_inspection(ctx, tok, {"result": "pass"}), 400, "invalid_request",
                 "household_id")
    r = post_inspection(ctx, tok, {"code": h["code"], "household_id": h["id"], "result": "pass"})
    expect_error(r, 400, "invalid_request", True)
    expect_eq(sql_int(ctx, "SELECT COUNT(*) FROM inspections WHERE household_id = %d" % h["id"]),
              0, "inspections after the refusals")
    i = inspected(ctx, w.insp[0], h, "pass")
    expect_eq(i["inspector_id"], w.insp[0].id, "inspector_id")


def test_inspection_bad_requests_are_refused_and_record_nothing(ctx):
    w = world(ctx)
    h = mk_household(ctx, w.V[0]["id"])
    tok = w.insp[0].token
    base = {"household_id": h["id"], "result": "pass"}
    expect_error(post_inspection(ctx, tok, base, key=False), 400, "invalid_request",
                 "Idempotency-Key")
    expect_error(post_inspection(ctx, tok, base, key="bad key!"), 400, "invalid_request")
    cases = [
        (dict(base, result="good"), "result"),
        ({"household_id": h["id"]}, "result"),
        (dict(base, household_id=str(h["id"])), "household_id"),
        (dict(base, streams=[{"stream": "glass", "correct": True}]), "streams"),
        (dict(base, streams=[{"stream": "kitchen"}]), "streams"),
        (dict(base, streams=[{"stream": "kitchen", "correct": "yes"}]), "streams"),
        (dict(base, streams="kitchen"), "streams"),
        (dict(base, inspected_at=when(-31 * 86400)), "inspected_at"),
        (dict(base, inspected_at=when(6 * 60)), "inspected_at"),
        (dict(base, inspected_at="2026-11-28 09:14:03"), "inspected_at"),
        (dict(base, bogus=1), "bogus"),
    ]
    for body, field in cases:
        r = post_inspection(ctx, tok, body)
        err = expect_error(r, 400, "invalid_request", True)
        assert err["field"] == field or err["field"].startswith(field + "["), \
            "field %r for %r: %r" % (field, body, r)
    r = post_inspection(ctx, tok, None, raw="household_id=1", content_type="text/plain")
    expect_error(r, 415, "unsupported_media_type")
    expect_error(post_inspection(ctx, tok, None, raw="{\"result\": "), 400, "invalid_request")
    expect_eq(sql_int(ctx, "SELECT COUNT(*) FROM inspections WHERE household_id = %d" % h["id"]),
              0, "inspections after the refusals")
    # 29 days back is inside the window (and another day than today's)
    at = when(-29 * 86400)
    i = expect_json(post_inspection(ctx, tok, dict(base, inspected_at=at)), 201)
    expect_eq(i["local_day"], local_day(at), "local_day of an inspection 29 days back")
    assert i.get("backdated", True) is True, "a back-dated inspection: %r" % i
    j = expect_json(post_inspection(ctx, tok, dict(base, inspected_at=when(4 * 60))), 201)
    expect_eq(j["local_day"], local_day(when(4 * 60)), "4 minutes ahead")


def test_inspection_outside_reach_or_with_a_bad_card_is_not_found(ctx):
    w = world(ctx, villages=2)
    set_rule(ctx, w.town["id"])
    tok = w.insp[0].token
    h2 = mk_household(ctx, w.V[1]["id"])            # the other village
    zv = mk_region(ctx, mk_region(ctx, w.Z["id"], "town")["id"], "village")
    hz = mk_household(ctx, zv["id"])                # another county
    for h in (h2, hz):
        expect_error(post_inspection(ctx, tok, {"household_id": h["id"], "result": "pass"}),
                     404, "not_found")
        expect_error(post_inspection(ctx, tok, {"code": h["code"], "result": "pass"}),
                     404, "not_found")
    expect_error(post_inspection(ctx, tok, {"household_id": 999999999999, "result": "pass"}),
                 404, "not_found")
    h = mk_household(ctx, w.V[0]["id"])
    head, mac = h["code"].rsplit(".", 1)
    forged = head + "." + ("A" if mac[0] != "A" else "B") + mac[1:]
    for bad in (forged, "hello", h["code"] + "A"):
        expect_error(post_inspection(ctx, tok, {"code": bad, "result": "pass"}), 404,
                     "unknown_code")
    # a reissued card's old code is unknown too; the new one works
    new = expect_json(ctx.post("/v1/households/%d/card" % h["id"], token=ctx.admin_token),
                      200)["code"]
    expect_error(post_inspection(ctx, tok, {"code": h["code"], "result": "pass"}), 404,
                 "unknown_code")
    for x in (h, h2, hz):
        expect_eq(balance_of(ctx, x["id"]), 0, "balance after the refusals")
    i = expect_json(post_inspection(ctx, tok, {"code": new, "result": "pass"}), 201)
    expect_eq(i["household_id"], h["id"], "the new card")


def test_inspection_second_of_the_same_local_day_is_already_inspected(ctx):
    w = world(ctx)
    V = w.V[0]
    set_rule(ctx, V["id"])
    it = mk_staff(ctx, "inspector", w.town["id"])    # reaches the village too
    h = mk_household(ctx, V["id"])
    inspected(ctx, w.insp[0], h, "pass")
    for insp, by in ((w.insp[0], "code"), (it, "household_id")):
        body = {"result": "fail", by: h["code"] if by == "code" else h["id"]}
        expect_error(post_inspection(ctx, insp.token, body), 409, "already_inspected")
    expect_eq(balance_of(ctx, h["id"]), 5, "balance after the refused second inspection")
    expect_eq(sql_int(ctx, "SELECT COUNT(*) FROM inspections WHERE household_id = %d" % h["id"]),
              1, "inspections stored")
    # the town's inspector inspects another household of the village
    h2 = mk_household(ctx, V["id"])
    expect_eq(inspected(ctx, it, h2, "partial")["inspector_id"], it.id, "the town's inspector")


def test_inspection_idempotency_replays_and_conflicts(ctx):
    w = world(ctx)
    V, insp = w.V[0], w.insp[0]
    set_rule(ctx, V["id"])
    other = mk_staff(ctx, "inspector", V["id"])
    h, h2, h3 = (mk_household(ctx, V["id"]) for _ in range(3))
    key = new_key()
    body = {"household_id": h["id"], "result": "pass", "note": "ok"}
    first = expect_json(post_inspection(ctx, insp.token, body, key=key), 201)
    again = expect_json(post_inspection(ctx, insp.token, body, key=key), 201)
    expect_eq(again.get("replayed"), True, "replayed")
    expect_eq((again.get("id"), again.get("points"), again.get("balance")),
              (first["id"], first["points"], first["balance"]), "the replayed answer")
    expect_eq(balance_of(ctx, h["id"]), 5, "paid once")
    expect_eq(sql_int(ctx, "SELECT COUNT(*) FROM ledger WHERE household_id = %d AND kind = "
                           "'inspection'" % h["id"]), 1, "ledger rows")
    r = post_inspection(ctx, insp.token, dict(body, result="fail"), key=key)
    expect_error(r, 409, "idempotency_conflict")
    r = post_inspection(ctx, insp.token, dict(body, household_id=h2["id"]), key=key)
    expect_error(r, 409, "idempotency_conflict")
    # keys are the inspector's: another inspector's same key is a new request
    o = expect_json(post_inspection(ctx, other.token, {"household_id": h2["id"],
                                                        "result": "partial"}, key=key), 201)
    expect_eq((o.get("replayed"), o.get("household_id")), (False, h2["id"]),
              "another inspector's same key")
    # a refusal before the transaction is not stored under its key
    k2 = new_key()
    r = post_inspection(ctx, insp.token, {"code": "hello", "result": "pass"}, key=k2)
    expect_error(r, 404, "unknown_code")
    ok = expect_json(post_inspection(ctx, insp.token, {"household_id": h3["id"], "result": "pass"},
                                     key=k2), 201)
    expect_eq(ok.get("replayed"), False, "the key after a 404")


def test_inspection_two_at_once_of_one_household_one_wins(ctx):
    w = world(ctx)
    V = w.V[0]
    set_rule(ctx, V["id"])
    other = mk_staff(ctx, "inspector", V["id"])
    a, b = w.insp[0].token, other.token
    for n in range(3):
        h = mk_household(ctx, V["id"])
        bodies = ({"household_id": h["id"], "result": "pass"}, {"code": h["code"], "result": "pass"})
        rs = in_threads(lambda: post_inspection(ctx, a, bodies[0]),
                        lambda: post_inspection(ctx, b, bodies[1]))
        expect_eq(sorted(r.status for r in rs), [201, 409], "round %d: %r" % (n, rs))
        expect_error([r for r in rs if r.status == 409][0], 409, "already_inspected")
        expect_eq(sql_int(ctx, "SELECT COUNT(*) FROM inspections WHERE household_id = %d"
                               % h["id"]), 1, "round %d: inspections stored" % n)
        expect_eq(sql_int(ctx, "SELECT COUNT(*) FROM ledger WHERE household_id = %d AND "
                               "kind = 'inspection'" % h["id"]), 1, "round %d: ledger rows" % n)
        expect_eq(balance_of(ctx, h["id"]), 5, "round %d: balance" % n)


# ----------------------------------------------------------------------------- photos

def test_inspection_photo_is_kept_and_served_only_within_reach(ctx):
    w = world(ctx, villages=2)
    V, insp = w.V[0], w.insp[0]
    h = mk_household(ctx, V["id"], pin=PIN)
    h2 = mk_household(ctx, V["id"], pin=PIN)
    photo = jpeg(3000)
    i = expect_json(post_inspection(ctx, insp.token, {"household_id": h["id"], "result": "partial",
                                                      "photo": b64(photo)}), 201)
    expect_eq(i.get("has_photo"), True, "has_photo")
    j = inspected(ctx, insp, h2, "pass")
    path = "/v1/inspections/%d/photo.jpg" % i["id"]
    res, res2 = resident_of(ctx, h), resident_of(ctx, h2)
    for who, tok in (("inspector", insp.token), ("admin", ctx.admin_token),
                     ("region admin", w.ra.token), ("resident", res.token)):
        r = expect_status(ctx.get(path, token=tok), 200, who)
        assert r.headers.get("Content-Type", "").startswith("image/jpeg"), r
        assert r.body == photo, "%s: the photo's bytes differ (%d bytes)" % (who, len(r.body))
    for who, tok in (("inspector of another village", w.insp[1].token),
                     ("region admin of another county", w.rz.token),
                     ("another household", res2.token)):
        expect_error(ctx.get(path, token=tok), 404, "not_found")
    # an inspection without a photo
    expect_error(ctx.get("/v1/inspections/%d/photo.jpg" % j["id"], token=ctx.admin_token), 404,
                 "not_found")
    expect_error(ctx.get("/v1/inspections/%d/photo.jpg" % j["id"], token=res2.token), 404,
                 "not_found")
    expect_status(ctx.get(path), 401)
    # the photo lives in the store, not in a process: a server started afresh serves it
    other = ctx.start_server()
    try:
        r = expect_status(other.call("GET", path, token=ctx.admin_token), 200, "a new process")
        assert r.body == photo, "the photo from a new process differs (%d bytes)" % len(r.body)
    finally:
        other.stop()
    # and a database backup (mariadb-dump, one consistent snapshot) holds its bytes
    e = ctx.env
    dump = subprocess.run(["mariadb-dump", "--no-defaults", "--socket=" + e["WB_DB_SOCKET"],
                           "-u" + e["WB_DB_USER"], "-p" + e["WB_DB_PASSWORD"],
                           "--single-transaction", "--hex-blob", "--no-create-info",
                           "--where=inspection_id = %d" % i["id"], e["WB_DB_NAME"],
                           "inspection_photos"], capture_output=True, text=True, timeout=60)
    expect_eq(dump.returncode, 0, "mariadb-dump (stderr %r)" % dump.stderr)
    assert "0x" + photo.hex().upper() in dump.stdout, "the photo's bytes are not in the dump"


def test_inspection_photo_must_be_a_jpeg_of_at_most_512_kib(ctx):
    w = world(ctx)
    h = mk_household(ctx, w.V[0]["id"])
    tok = w.insp[0].token

    def send(data):
        return post_inspection(ctx, tok, {"household_id": h["id"], "result": "pass",
                                          "photo": data})

    png = b"\x89PNG\r\n\x1a\n" + os.urandom(200)
    for bad in (b64(png), b64(jpeg(300)[:-2]), b64(b"\xff\xd8"), "@@not base64@@", ""):
        expect_error(send(bad), 400, "invalid_request", "photo")
    # over 512 KiB is 413 by its decoded size, whatever its base64 length,
    # up to the body limit (1 MiB), and beyond it too
    for size in (PHOTO_MAX + 1, 751000, 780000, 800000):
        expect_error(send(b64(jpeg(size))), 413, "payload_too_large")
    expect_eq(sql_int(ctx, "SELECT COUNT(*) FROM inspections WHERE household_id = %d" % h["id"]),
              0, "inspections after the refusals")
    big = jpeg(PHOTO_MAX)
    i = expect_json(send(b64(big)), 201)
    expect_eq(i.get("has_photo"), True, "a photo of exactly 512 KiB")
    r = expect_status(ctx.get("/v1/inspections/%d/photo.jpg" % i["id"], token=tok), 200)
    assert r.body == big, "the 512 KiB photo came back as %d bytes" % len(r.body)


# ----------------------------------------------------------------------------- reading

def test_inspection_lists_filter_and_keep_to_reach(ctx):
    w = world(ctx, villages=2)
    V, V2 = w.V
    i1, i2 = w.insp
    it = mk_staff(ctx, "inspector", w.town["id"])
    a, b, d = (mk_household(ctx, V["id"]) for _ in range(3))
    c = mk_household(ctx, V2["id"])
    ia = inspected(ctx, i1, a, "pass")["id"]
    ib = inspected(ctx, i1, b, "fail")["id"]
    ic = inspected(ctx, i2, c, "partial")["id"]
    idd = inspected(ctx, it, d, "pass")["id"]
    adm = ctx.admin_token
    town, vid, v2id = w.town["id"], V["id"], V2["id"]
    expect_eq(list_ids(ctx, adm, region_id=town), {ia, ib, ic, idd}, "the town's inspections")
    expect_eq(list_ids(ctx, adm, region_id=vid), {ia, ib, idd}, "the village's")
    expect_eq(list_ids(ctx, adm, household_id=a["id"]), {ia}, "by household")
    expect_eq(list_ids(ctx, adm, region_id=town, inspector_id=i1.id), {ia, ib}, "by inspector")
    expect_eq(list_ids(ctx, adm, region_id=town, result="fail"), {ib}, "by result")
    expect_eq(list_ids(ctx, adm, region_id=town, from_=today(), to=today()),
              {ia, ib, ic, idd}, "today")
    yday = (datetime.datetime.now(CST) - datetime.timedelta(days=1)).strftime("%Y-%m-%d")
    expect_eq(list_ids(ctx, adm, region_id=town, from_=yday, to=yday), set(), "yesterday")
    expect_eq(list_ids(ctx, w.ra.token, region_id=town), {ia, ib, ic, idd}, "the county's admin")
    # pages of one
    seen, cursor = [], None
    for _ in range(10):
        body = expect_json(ctx.get(qs("/v1/inspections", region_id=town, limit=1, cursor=cursor),
                                   token=adm), 200)
        assert len(body["items"]) <= 1, body
        seen += [x["id"] for x in body["items"]]
        cursor = body.get("next_cursor")
        if not cursor:
            break
    expect_eq(sorted(seen), sorted([ia, ib, ic, idd]), "every page once")
    # an inspector: its own subtree only
    expect_eq(list_ids(ctx, i1.token), {ia, ib, idd}, "the village inspector's list")
    expect_eq(list_ids(ctx, it.token), {ia, ib, ic, idd}, "the town inspector's list")
    expect_error(ctx.get(qs("/v1/inspections", region_id=v2id), token=i1.token), 404, "not_found")
    expect_status(ctx.get("/v1/inspections/%d" % ia, token=i1.token), 200)
    expect_status(ctx.get("/v1/inspections/%d" % ic, token=it.token), 200)
    for tok in (i1.token, w.rz.token):
        expect_error(ctx.get("/v1/inspections/%d" % ic, token=tok), 404, "not_found")
    expect_error(ctx.get(qs("/v1/inspections", region_id=town), token=w.rz.token), 404, "not_found")
    expect_error(ctx.get("/v1/inspections/999999999999", token=adm), 404, "not_found")
    expect_error(ctx.get(qs("/v1/inspections", region_id=town, result="good"), token=adm),
                 400, "invalid_request", "result")
    expect_error(ctx.get(qs("/v1/inspections", region_id=town, limit=0), token=adm),
                 400, "invalid_request", "limit")
    expect_error(ctx.get(qs("/v1/inspections", region_id=town, from_="2026-02-30"), token=adm),
                 400, "invalid_request", "from")


def test_inspection_resident_sees_only_its_own(ctx):
    w = world(ctx)
    V, insp = w.V[0], w.insp[0]
    h, h2 = mk_household(ctx, V["id"], pin=PIN), mk_household(ctx, V["id"], pin=PIN)
    i1 = inspected(ctx, insp, h, "pass")["id"]
    i2 = inspected(ctx, insp, h2, "partial")["id"]
    res, res2 = resident_of(ctx, h), resident_of(ctx, h2)
    expect_eq(list_ids(ctx, res.token), {i1}, "the resident's list")
    expect_status(ctx.get("/v1/inspections/%d" % i1, token=res.token), 200)
    expect_error(ctx.get("/v1/inspections/%d" % i2, token=res.token), 404, "not_found")
    r = ctx.get(qs("/v1/inspections", household_id=h2["id"]), token=res.token)
    if r.status == 200:
        expect_eq(r.json["items"], [], "another household's inspections")
    else:
        expect_error(r, 404, "not_found")
    me = expect_json(ctx.get("/v1/residents/me/inspections", token=res.token), 200)
    expect_eq([x["id"] for x in me["items"]], [i1], "/v1/residents/me/inspections items")
    expect_eq(me.get("next_cursor"), None, "next_cursor")
    m = me["month"]
    expect_eq((m["month"], m["inspections"], m["pass"], m["partial"], m["fail"]),
              (this_month(), 1, 1, 0, 0), "the month so far")
    assert close(m["accuracy"], 1.0), m
    m2 = expect_json(ctx.get("/v1/residents/me/inspections", token=res2.token), 200)["month"]
    expect_eq((m2["inspections"], m2["partial"]), (1, 1), "the other household's month")
    assert close(m2["accuracy"], 0.5), "a partial counts half: %r" % m2
    expect_error(ctx.get("/v1/residents/me/inspections", token=insp.token), 403, "forbidden")
    expect_status(ctx.get("/v1/residents/me/inspections"), 401)


# ----------------------------------------------------------------------------- voids

def test_inspection_void_takes_the_points_back(ctx):
    w = world(ctx)
    V = w.V[0]
    set_rule(ctx, V["id"])
    h = mk_household(ctx, V["id"])
    i = inspected(ctx, w.insp[0], h, "pass")
    v = voided(ctx, i["id"])
    expect_eq((v.get("id"), v.get("household_id"), v.get("points"), v.get("clawed_back"),
               v.get("shortfall"), v.get("balance")), (i["id"], h["id"], 5, 5, 0, 0),
              "the void's answer")
    top = ledger_of(ctx, h["id"])[0]
    expect_eq((top["kind"], top["delta"], top["balance_after"]), ("inspection_void", -5, 0),
              "the claw-back row")
    expect_eq(top["ref_id"], i["id"], "the claw-back row's ref_id")
    got = expect_json(ctx.get("/v1/inspections/%d" % i["id"], token=ctx.admin_token), 200)
    expect_eq(got["status"], "voided", "status read back")
    expect_error(void(ctx, i["id"]), 409, "already_voided")
    expect_eq(balance_of(ctx, h["id"]), 0, "balance after the second void")
    # the voided visit no longer holds the day: the household may be inspected again
    j = inspected(ctx, w.insp[0], h, "partial")
    expect_eq((j["points"], j["balance"]), (2, 2), "a new inspection after the void")


def test_inspection_void_after_spending_leaves_a_shortfall(ctx):
    w = world(ctx)
    V = w.V[0]
    set_rule(ctx, V["id"])
    h = mk_household(ctx, V["id"])
    i = inspected(ctx, w.insp[0], h, "pass")
    adjust(ctx, h["id"], -3)
    v = voided(ctx, i["id"], token=w.ra.token)
    expect_eq((v["points"], v["clawed_back"], v["shortfall"], v["balance"]), (5, 2, 3, 0),
              "claw-back of spent points")
    top = ledger_of(ctx, h["id"])[0]
    expect_eq((top["kind"], top["delta"], top["balance_after"]), ("inspection_void", -2, 0),
              "the claw-back row")


def test_inspection_void_who_may_and_bad_requests(ctx):
    w = world(ctx)
    V = w.V[0]
    set_rule(ctx, V["id"])
    site = mk_site(ctx, V["id"])
    att = mk_staff(ctx, "attendant", V["id"], site_id=site["id"])
    rt = mk_staff(ctx, "region_admin", w.town["id"])
    h = mk_household(ctx, V["id"])
    i = inspected(ctx, w.insp[0], h, "pass")["id"]
    for tok in (w.insp[0].token, att.token):
        expect_error(void(ctx, i, tok), 403, "forbidden")
    expect_error(void(ctx, i, w.rz.token), 404, "not_found")
    expect_status(ctx.post("/v1/inspections/%d/void" % i, {"reason": "x"}), 401)
    expect_error(void(ctx, i, reason=None), 400, "invalid_request", "reason")
    expect_error(void(ctx, i, reason=""), 400, "invalid_request", "reason")
    expect_error(void(ctx, 999999999999), 404, "not_found")
    expect_eq(balance_of(ctx, h["id"]), 5, "balance after the refused voids")
    v = voided(ctx, i, token=rt.token)
    expect_eq(v["clawed_back"], 5, "the town's region admin voids")


# ----------------------------------------------------------------------------- scoring

def test_scoring_versions_are_stored_and_read_back(ctx):
    w = world(ctx)
    town, V = w.town, w.V[0]
    m = this_month()
    body = rule_body(monthly=[{"min_rate": 0.8, "points": 3}, {"min_rate": 0.75, "points": 1}],
                     min_inspections=4, black_below=0.6)
    got = expect_json(put_rule(ctx, town["id"], body), 200)
    expect_eq(got.get("region_id"), town["id"], "region_id of the version")
    for k in ("effective_month", "per_pass", "per_partial", "min_inspections"):
        expect_eq(got.get(k), body[k], "version: " + k)
    assert close(got.get("black_below"), 0.6), got
    expect_eq(thresholds(got["monthly"]), [(0.75, 1), (0.8, 3)], "monthly of the version")
    g = get_rule(ctx, town["id"])
    expect_eq((g["region_id"], g["source_region_id"], g["effective_month"], g["per_pass"],
               g["per_partial"], g["min_inspections"]),
              (town["id"], town["id"], m, 5, 2, 4), "the town's rule in force")
    expect_eq(thresholds(g["monthly"]), [(0.75, 1), (0.8, 3)], "monthly in force")
    expect_eq(len(g["history"]), 1, "history of one version")
    # a village without its own rule: the town's
    gv = get_rule(ctx, V["id"])
    expect_eq((gv["region_id"], gv["source_region_id"], gv["per_pass"], gv["min_inspections"]),
              (V["id"], town["id"], 5, 4), "the village inherits the town's rule")
    # a second version of the same month wins; a next month's is not in force yet
    set_rule(ctx, town["id"], per_pass=7)
    set_rule(ctx, town["id"], month=month_add(m, 1), per_pass=9)
    g = get_rule(ctx, town["id"])
    expect_eq((g["per_pass"], g["effective_month"]), (7, m), "in force: the later version of this month")
    hist = g["history"]
    expect_eq(len(hist), 3, "history of three versions")
    expect_eq((hist[0]["effective_month"], hist[0]["per_pass"]), (month_add(m, 1), 9),
              "history newest first")
    expect_eq([x["per_pass"] for x in hist[1:]], [7, 5], "then this month's, newest first")
    # the village's own rule beats the town's
    set_rule(ctx, V["id"], per_pass=1)
    gv = get_rule(ctx, V["id"])
    expect_eq((gv["source_region_id"], gv["per_pass"]), (V["id"], 1), "the village's own rule")
    # a tree without any rule
    lone = mk_region(ctx, mk_region(ctx, None, "province")["id"], "county")
    g = get_rule(ctx, lone["id"])
    expect_eq(g.get("region_id"), lone["id"], "region_id without a rule")
    for k in ("source_region_id", "effective_month", "per_pass", "per_partial",
              "min_inspections", "black_below"):
        expect_eq(g.get(k, "absent"), None, "%s without a rule" % k)
    assert g.get("monthly") in (None, []), g
    expect_eq(g.get("history"), [], "history without a rule")


def test_scoring_bad_rules_are_refused(ctx):
    w = world(ctx)
    V = w.V[0]
    cases = [
        ({"monthly": [{"min_rate": 1.5, "points": 10}]}, "monthly"),
        ({"monthly": [{"min_rate": -0.1, "points": 10}]}, "monthly"),
        ({"monthly": [{"min_rate": 0.5, "points": 10}, {"min_rate": 0.5, "points": 20}]}, "monthly"),
        ({"monthly": [{"min_rate": 0.5, "points": 10}, {"min_rate": 0.8, "points": 5}]}, "monthly"),
        ({"monthly": [{"min_rate": 0.8, "points": 5}, {"min_rate": 0.5, "points": 10}]}, "monthly"),
        ({"monthly": [{"min_rate": 0.5, "points": -1}]}, "monthly"),
        ({"monthly": [{"min_rate": 0.5}]}, "monthly"),
        ({"per_pass": -1}, "per_pass"),
        ({"per_pass": "5"}, "per_pass"),
        ({"per_partial": -1}, "per_partial"),
        ({"black_below": 1.5}, "black_below"),
        ({"black_below": -0.01}, "black_below"),
        ({"min_inspections": -1}, "min_inspections"),
        ({"effective_month": "2026-13"}, "effective_month"),
        ({"effective_month": "2026-1"}, "effective_month"),
        ({"effective_month": "2026-11-01"}, "effective_month"),
        ({"effective_month": ""}, "effective_month"),
        ({"bonus": 3}, "bonus"),
    ]
    for over, field in cases:
        r = put_rule(ctx, V["id"], rule_body(**over))
        err = expect_error(r, 400, "invalid_request", True)
        assert err["field"] == field or err["field"].startswith(field + "["), \
            "field %r for %r: %r" % (field, over, r)
    expect_eq(get_rule(ctx, V["id"])["history"], [], "no version stored by the refusals")
    # the edges are fine: rates 0 and 1, black_below 0 and 1, points 0
    ok = set_rule(ctx, V["id"], per_pass=0, per_partial=0, black_below=1.0,
                  monthly=[{"min_rate": 0.0, "points": 0}, {"min_rate": 1.0, "points": 0}])
    expect_eq(thresholds(ok["monthly"]), [(0.0, 0), (1.0, 0)], "edge thresholds")


def test_scoring_who_may_set_and_read(ctx):
    w = world(ctx, villages=2)
    V, V2 = w.V
    site = mk_site(ctx, V["id"])
    att = mk_staff(ctx, "attendant", V["id"], site_id=site["id"])
    h = mk_household(ctx, V["id"], pin=PIN)
    res = resident_of(ctx, h)
    for tok in (w.insp[0].token, att.token, res.token):
        expect_error(put_rule(ctx, V["id"], rule_body(), tok), 403, "forbidden")
    expect_error(put_rule(ctx, V["id"], rule_body(), w.rz.token), 404, "not_found")
    expect_error(ctx.get("/v1/regions/%d/scoring" % V["id"], token=w.rz.token), 404, "not_found")
    expect_status(ctx.call("PUT", "/v1/regions/%d/scoring" % V["id"], rule_body()), 401)
    expect_status(ctx.get("/v1/regions/%d/scoring" % V["id"]), 401)
    expect_error(put_rule(ctx, 999999999999, rule_body()), 404, "not_found")
    got = set_rule(ctx, V["id"], token=w.ra.token, per_pass=3)
    expect_eq(got["per_pass"], 3, "the county's region admin sets the village's rule")
    expect_eq(get_rule(ctx, V["id"], w.insp[0].token)["per_pass"], 3, "the inspector reads it")
    expect_error(ctx.get("/v1/regions/%d/scoring" % V2["id"], token=w.insp[0].token), 404,
                 "not_found")
    expect_error(ctx.get("/v1/regions/%d/scoring" % V["id"], token=res.token), 403, "forbidden")


def test_scoring_rule_in_force_sets_the_per_inspection_points(ctx):
    w = world(ctx)
    V, insp = w.V[0], w.insp[0]
    hh = [mk_household(ctx, V["id"]) for _ in range(4)]
    # no rule anywhere: nothing is earned, and no ledger row carries points
    i = inspected(ctx, insp, hh[0], "pass")
    expect_eq((i["points"], i["balance"]), (0, 0), "no rule")
    set_rule(ctx, w.town["id"], per_pass=6)
    expect_eq(inspected(ctx, insp, hh[1], "pass")["points"], 6, "the town's rule")
    set_rule(ctx, V["id"], per_pass=8, per_partial=3)
    expect_eq(inspected(ctx, insp, hh[2], "pass")["points"], 8, "the village's own rule")
    expect_eq(inspected(ctx, insp, hh[3], "partial")["points"], 3, "per_partial")
    expect_eq([balance_of(ctx, h["id"]) for h in hh], [0, 6, 8, 3], "balances")
    # the versions start this month: a visit back-dated into last month earns nothing
    last = slots(month_add(this_month(), -1))
    if last:
        i = inspected_on(ctx, insp, mk_household(ctx, V["id"]), "pass", last[0])
        expect_eq(i["points"], 0, "an inspection of a month before every version")


# ----------------------------------------------------------------------------- accuracy

def brute_accuracy(ctx, region_id, month):
    """(households, inspected, inspections, pass, partial, fail) of a subtree, by SQL;
    households None for a month before this one (the tests' households were created
    this month, their inspections of last month back-dated)."""
    path = ctx.sql("SELECT path FROM regions WHERE id = %d" % region_id)[0][0]
    hh = sql_int(ctx, "SELECT COUNT(*) FROM households h JOIN regions g ON g.id = h.region_id "
                      "WHERE g.path LIKE '%s%%' AND h.status <> 'closed'" % path)
    row = ctx.sql("SELECT COUNT(DISTINCT i.household_id), COUNT(*), "
                  "COALESCE(SUM(i.result = 'pass'), 0), COALESCE(SUM(i.result = 'partial'), 0), "
                  "COALESCE(SUM(i.result = 'fail'), 0) FROM inspections i "
                  "JOIN regions g ON g.id = i.region_id WHERE g.path LIKE '%s%%' "
                  "AND i.status = 'recorded' AND DATE_FORMAT(i.local_day, '%%Y-%%m') = '%s'"
                  % (path, month))[0]
    return (hh if month == this_month() else None,) + tuple(int(x) for x in row)


def check_accuracy_row(row, want, what):
    """want: (households, inspected, inspections, pass, partial, fail); households None:
    households and coverage not checked."""
    hh, insp_hh, n, p, q, f = want
    expect_eq((row["households_inspected"], row["inspections"], row["pass"], row["partial"],
               row["fail"]), want[1:], what)
    assert close(row["accuracy"], round((p + q / 2) / n, 4)), "%s: accuracy %r" % (what, row)
    if hh is not None:
        expect_eq(row["households"], hh, what + ": households")
        assert close(row["coverage"], round(insp_hh / hh, 4)), "%s: coverage %r" % (what, row)


def test_accuracy_report_counts_each_child_and_the_total(ctx):
    w = world(ctx, villages=2)
    V, V2 = w.V
    i1, i2 = w.insp
    m = this_month()
    hv = [mk_household(ctx, V["id"]) for _ in range(5)]
    made = [inspected(ctx, i1, h, res) for h, res in zip(hv, ("pass", "partial", "fail", "pass"))]
    voided(ctx, made[3]["id"])
    hv2 = [mk_household(ctx, V2["id"]) for _ in range(3)]
    inspected(ctx, i2, hv2[0], "pass")
    inspected(ctx, i2, hv2[1], "partial")
    rep = expect_json(report(ctx, "accuracy", region_id=w.town["id"], month=m), 200)
    expect_eq((rep.get("region_id"), rep.get("region_name"), rep.get("month")),
              (w.town["id"], w.town["name"], m), "the report's head")
    by = {r["region_id"]: r for r in rep["rows"]}
    expect_eq(set(by), {V["id"], V2["id"]}, "rows: the town's villages")
    expect_eq(by[V["id"]]["name"], V["name"], "row name")
    # V: 5 households, 3 inspected (the fourth's was voided): pass, partial, fail
    check_accuracy_row(by[V["id"]], (5, 3, 3, 1, 1, 1), "V")
    check_accuracy_row(by[V2["id"]], (3, 2, 2, 1, 1, 0), "V2")
    check_accuracy_row(totals_of(rep), (8, 5, 5, 2, 2, 1), "totals")
    for g in (V, V2, w.town):
        row = by.get(g["id"]) or totals_of(rep)
        check_accuracy_row(row, brute_accuracy(ctx, g["id"], m), "brute force of %s" % g["name"])
    # the village itself: its total
    rv = expect_json(report(ctx, "accuracy", region_id=V["id"], month=m), 200)
    check_accuracy_row(totals_of(rv), (5, 3, 3, 1, 1, 1), "the village's own total")
    # CSV too
    r = report(ctx, "accuracy", region_id=w.town["id"], month=m, format="csv")
    expect_status(r, 200)
    assert r.headers.get("Content-Type", "").startswith("text/csv"), r
    text = r.body.decode("utf-8")
    assert text.startswith("\ufeff"), "no BOM: %r" % text[:20]
    assert "inspections" in text.splitlines()[0], "header row: %r" % text[:200]
    # refusals
    expect_error(report(ctx, "accuracy", region_id=w.town["id"], month="2026-13"), 400,
                 "invalid_request", "month")
    expect_status(report(ctx, "accuracy", token=w.ra.token, region_id=w.town["id"], month=m), 200)
    expect_error(report(ctx, "accuracy", token=w.rz.token, region_id=w.town["id"], month=m), 404,
                 "not_found")
    expect_error(report(ctx, "accuracy", token=i1.token, region_id=V["id"], month=m), 403,
                 "forbidden")


def test_accuracy_over_two_days_counts_partial_as_half_and_leaves_out_voids(ctx):
    m, days = month_with_days(ctx, 2)
    w = world(ctx)
    V, insp = w.V[0], w.insp[0]
    set_rule(ctx, V["id"], month=m, min_inspections=2, black_below=0.5,
             monthly=[{"min_rate": 0.5, "points": 10}, {"min_rate": 0.75, "points": 30}])
    plan = {"A": ("pass", "partial"), "B": ("partial", "partial"), "C": ("partial", "fail"),
            "D": ("pass", "pass"), "E": ("pass", "fail"), "F": ("pass", "pass")}
    hh = {k: mk_household(ctx, V["id"], pin=PIN) for k in plan}
    made = {k: inspected_days(ctx, insp, hh[k], res, days) for k, res in plan.items()}
    voided(ctx, made["D"][1]["id"])                 # D: one pass left, under min_inspections
    body = roll(ctx, V["id"], m)
    expect_eq((body["region_id"], body["region_name"], body["month"]), (V["id"], V["name"], m),
              "the roll's head")
    red, black = roll_ids(body)
    ids = {k: h["id"] for k, h in hh.items()}
    expect_eq(red, {ids["A"], ids["F"]}, "red: 0.75 exactly reaches the top threshold, and 1.0")
    expect_eq(black, {ids["C"]}, "black: 0.25 is below 0.5; 0.5 itself is not")
    a = [e for e in body["red"] if e["household_id"] == ids["A"]][0]
    expect_eq(a["inspections"], 2, "A's inspections")
    assert close(a["accuracy"], 0.75), a
    assert isinstance(a["points"], int), a
    c = body["black"][0]
    expect_eq(c["inspections"], 2, "C's inspections")
    assert close(c["accuracy"], 0.25), c
    if m == this_month():                # the resident's view is of this month
        ma = expect_json(ctx.get("/v1/residents/me/inspections",
                                 token=resident_of(ctx, hh["A"]).token), 200)["month"]
        expect_eq((ma["inspections"], ma["pass"], ma["partial"], ma["fail"]), (2, 1, 1, 0),
                  "A's month")
        assert close(ma["accuracy"], 0.75), ma
    # the accuracy report: 11 live inspections, 5 pass, 4 partial, 2 fail
    rep = expect_json(report(ctx, "accuracy", region_id=w.town["id"], month=m), 200)
    row = {r["region_id"]: r for r in rep["rows"]}[V["id"]]
    check_accuracy_row(row, (6 if m == this_month() else None, 6, 11, 5, 4, 2),
                       "the village over two days")
    check_accuracy_row(row, brute_accuracy(ctx, V["id"], m), "brute force over two days")
    # the inspection lists find them by day
    d0 = days[0][0]
    one = expect_json(ctx.get(qs("/v1/inspections", region_id=V["id"], from_=d0, to=d0,
                                 limit=500), token=ctx.admin_token), 200)
    expect_eq(len(one["items"]), 6, "inspections of one of the two days")


# ----------------------------------------------------------------------------- honour roll

def test_honour_roll_red_black_and_their_edges(ctx):
    w = world(ctx, villages=3)
    V, V2, V3 = w.V
    m = this_month()
    set_rule(ctx, V["id"], black_below=0.5,
             monthly=[{"min_rate": 0.5, "points": 10}, {"min_rate": 1.0, "points": 20}])
    set_rule(ctx, V2["id"], black_below=0.25, monthly=[{"min_rate": 0.5, "points": 10}])
    set_rule(ctx, V3["id"], min_inspections=2)
    hp, hq, hf, hv, hn = (mk_household(ctx, V["id"]) for _ in range(5))
    inspected(ctx, w.insp[0], hp, "pass")
    inspected(ctx, w.insp[0], hq, "partial")
    inspected(ctx, w.insp[0], hf, "fail")
    voided(ctx, inspected(ctx, w.insp[0], hv, "pass")["id"])
    body = roll(ctx, V["id"], m)
    expect_eq(roll_ids(body), ({hp["id"]}, {hf["id"]}),
              "V: 1.0 reaches the top threshold 1.0; 0 is black; 0.5 = black_below is neither; "
              "a voided pass counts for nothing")
    e = body["red"][0]
    expect_eq((e["inspections"], e["head_name_masked"][0]), (1, hp["head_name"][0]), "red entry")
    assert close(e["accuracy"], 1.0), e
    assert e["head_name_masked"] != hp["head_name"] and "*" in e["head_name_masked"], e
    assert close(body["black"][0]["accuracy"], 0.0), body
    text = json.dumps(body, ensure_ascii=False)
    for h in (hp, hq, hf, hv, hn):
        assert h["head_name"] not in text, "a full head name on the honour roll: %r" % body
    # V2: 0.5 exactly reaches its only (so highest) threshold
    hq2, hf2 = mk_household(ctx, V2["id"]), mk_household(ctx, V2["id"])
    inspected(ctx, w.insp[1], hq2, "partial")
    inspected(ctx, w.insp[1], hf2, "fail")
    expect_eq(roll_ids(roll(ctx, V2["id"], m)), ({hq2["id"]}, {hf2["id"]}), "V2")
    # V3: one inspection is below min_inspections 2
    hp3 = mk_household(ctx, V3["id"])
    inspected(ctx, w.insp[2], hp3, "pass")
    expect_eq(roll_ids(roll(ctx, V3["id"], m)), (set(), set()), "V3: not enough inspections")
    expect_error(report(ctx, "honour-roll", region_id=V["id"], month="26-01"), 400,
                 "invalid_request", "month")


def test_honour_roll_against_brute_force_sql(ctx):
    """Fourteen households over three days of one month with every mix of results, one
    voided: the red and black lists, their order, ranks, inspections, accuracy and
    points equal what the month's inspection rows and the rule give, worked out here."""
    P, days = month_with_days(ctx, 3)
    w = world(ctx)
    V = w.V[0]
    monthly = [{"min_rate": 0.5, "points": 10}, {"min_rate": 0.8, "points": 30}]
    set_rule(ctx, V["id"], month=P, per_pass=0, per_partial=0, min_inspections=2,
             black_below=0.5, monthly=monthly)
    plans = [("pass", "pass", "pass"), ("pass", "pass", "partial"), ("pass", "partial"),
             ("pass", "pass", "fail"), ("partial", "partial", "partial"), ("pass", "fail"),
             ("partial", "fail", "fail"), ("fail", "fail"), ("fail", "fail", "fail"),
             ("pass",), ("partial", "partial"), ("pass", "pass"),
             ("pass", "pass", "pass"), ("pass", "pass")]      # equal accuracies share a rank
    hh = [mk_household(ctx, V["id"]) for _ in plans]
    made = [inspected_days(ctx, w.insp[0], h, plan, days) for h, plan in zip(hh, plans)]
    voided(ctx, made[11][1]["id"])                 # leaves one: under min_inspections
    rows = ctx.sql("SELECT household_id, COUNT(*), SUM(result = 'pass'), SUM(result = 'partial') "
                   "FROM inspections WHERE region_id = %d AND status = 'recorded' "
                   "AND DATE_FORMAT(local_day, '%%Y-%%m') = '%s' GROUP BY household_id"
                   % (V["id"], P))
    top = max(t["min_rate"] for t in monthly)
    red, black = [], []
    for hid, n, p, q in ((int(a), int(b), int(c), int(d)) for a, b, c, d in rows):
        if n < 2:
            continue
        acc2 = (2 * p + q, 2 * n)                  # the exact fraction
        acc = acc2[0] / acc2[1]
        pts = max([t["points"] for t in monthly if acc2[0] * 100 >= t["min_rate"] * 100 * acc2[1]]
                  or [0])
        e = (hid, n, acc, pts)
        if acc >= top:
            red.append(e)
        elif acc < 0.5:
            black.append(e)
    red.sort(key=lambda e: (-e[2], -e[1], e[0]))
    black.sort(key=lambda e: (e[2], -e[1], e[0]))

    def ranked(lst):
        out, rank = [], 0
        for i, (hid, n, acc, pts) in enumerate(lst):
            if i == 0 or acc != lst[i - 1][2]:
                rank = i + 1
            out.append((rank, hid, n, round(acc, 4), pts))
        return out

    body = roll(ctx, V["id"], P)
    got = {k: [(e["rank"], e["household_id"], e["inspections"], round(e["accuracy"], 4),
                e["points"]) for e in body[k]] for k in ("red", "black")}
    expect_eq(got["red"], ranked(red), "the red list against the inspection rows")
    expect_eq(got["black"], ranked(black), "the black list against the inspection rows")
    assert len(red) >= 3 and len(black) >= 3, "a world with lists to compare: %r" % got


def test_honour_roll_as_csv_and_pdf(ctx):
    w = world(ctx)
    V, insp = w.V[0], w.insp[0]
    set_rule(ctx, V["id"])
    # Chinese names as a village writes them, one with a two-character surname
    hp = mk_household(ctx, V["id"], head_name="张伟明")
    hf = mk_household(ctx, V["id"], head_name="欧阳春花")
    inspected(ctx, insp, hp, "pass")
    inspected(ctx, insp, hf, "fail")
    body = roll(ctx, V["id"])
    masked = [e["head_name_masked"] for e in body["red"] + body["black"]]
    expect_eq(len(masked), 2, "one red, one black: %r" % body)
    expect_eq([e["household_id"] for e in body["red"]], [hp["id"]], "the red list")
    expect_eq([e["household_id"] for e in body["black"]], [hf["id"]], "the black list")
    for s in masked:
        assert "*" in s and s not in (hp["head_name"], hf["head_name"]), "not masked: %r" % s
    r = report(ctx, "honour-roll", region_id=V["id"], month=this_month(), format="csv")
    expect_status(r, 200)
    assert r.headers.get("Content-Type", "").startswith("text/csv"), r
    text = r.body.decode("utf-8")
    assert text.startswith("\ufeff"), "no BOM: %r" % text[:20]
    lines = [l for l in text[1:].splitlines() if l.strip()]
    assert len(lines) >= 3 and "," in lines[0], "header and two rows: %r" % text
    for h in (hp, hf):
        assert str(h["id"]) in text, "household %d not in the CSV: %r" % (h["id"], text)
        assert h["head_name"] not in text, "a full head name in the CSV: %r" % text
    r = report(ctx, "honour-roll", region_id=V["id"], month=this_month(), format="pdf")
    expect_status(r, 200)
    assert r.headers.get("Content-Type", "").startswith("application/pdf"), r
    assert r.body.startswith(b"%PDF"), r.body[:20]
    for h in (hp, hf):
        assert h["head_name"].encode() not in r.body, "a full head name in the PDF bytes"
    if shutil.which("pdftotext") is None:
        return                                       # the text check needs poppler-utils
    with tempfile.TemporaryDirectory() as d:
        pdf = os.path.join(d, "roll.pdf")
        with open(pdf, "wb") as f:
            f.write(r.body)
        p = subprocess.run(["pdftotext", "-enc", "UTF-8", pdf, "-"], capture_output=True,
                           text=True, timeout=30)
    assert p.returncode == 0, "pdftotext failed: %s" % p.stderr
    txt = p.stdout
    assert V["name"] in txt, "the village name not in the poster: %r" % txt[:500]
    y, m = this_month().split("-")
    for want in ("垃圾分类红黑榜", "红榜", "黑榜", "%s年%d月" % (y, int(m))):
        assert want in txt, "%r not in the poster: %r" % (want, txt[:500])
    for s in masked:
        assert s in txt, "masked name %r not in the poster: %r" % (s, txt[:500])
    for h in (hp, hf):
        assert h["head_name"] not in txt, "a full head name in the poster"
        assert h["head_name"][1:] not in txt, "the given name of %r in the poster" % h["head_name"]


def test_honour_roll_who_may_read_it(ctx):
    w = world(ctx, villages=2)
    V, V2 = w.V
    site = mk_site(ctx, V["id"])
    att = mk_staff(ctx, "attendant", V["id"], site_id=site["id"])
    clerk = mk_staff(ctx, "clerk", V["id"], shop_id=mk_shop(ctx, V["id"])["id"])
    it = mk_staff(ctx, "inspector", w.town["id"])
    h = mk_household(ctx, V["id"], pin=PIN)
    res = resident_of(ctx, h)
    m = this_month()
    for who, tok in (("admin", ctx.admin_token), ("the village's inspector", w.insp[0].token),
                     ("the town's inspector", it.token), ("the county's admin", w.ra.token)):
        expect_status(report(ctx, "honour-roll", tok, region_id=V["id"], month=m), 200, who)
    for who, tok in (("another village's inspector", w.insp[1].token),
                     ("another county's admin", w.rz.token)):
        expect_error(report(ctx, "honour-roll", tok, region_id=V["id"], month=m), 404,
                     "not_found")
    for tok in (att.token, clerk.token, res.token):
        expect_error(report(ctx, "honour-roll", tok, region_id=V["id"], month=m), 403, "forbidden")
    expect_status(ctx.get(qs("/v1/reports/honour-roll", region_id=V["id"], month=m)), 401)
    r = report(ctx, "honour-roll", w.rz.token, region_id=V["id"], month=m, format="pdf")
    expect_error(r, 404, "not_found")


# ----------------------------------------------------------------------------- participation

def test_participation_counts_a_household_active_by_inspection(ctx):
    w = world(ctx)
    V, insp = w.V[0], w.insp[0]
    site = mk_site(ctx, V["id"])
    att = mk_staff(ctx, "attendant", V["id"], site_id=site["id"])
    by_drop, by_insp, both, idle, void_only = (mk_household(ctx, V["id"]) for _ in range(5))
    for h in (by_drop, both):
        r = ctx.post("/v1/dropoffs", {"code": h["code"], "items": [{"category": "paper",
                                                                     "grams": 1000}]},
                     token=att.token, headers={"Idempotency-Key": new_key("drop")})
        expect_status(r, 201)
    for h in (by_insp, both):
        inspected(ctx, insp, h, "fail")
    voided(ctx, inspected(ctx, insp, void_only, "pass")["id"])
    m = this_month()
    rep = expect_json(report(ctx, "participation", region_id=w.town["id"], month=m), 200)
    rows = [r for r in rep["rows"] if r["region_id"] == V["id"]]
    expect_eq(len(rows), 1, "one row of the village: %r" % rep["rows"])
    row = rows[0]
    expect_eq((row["households"], row["active_households"], row["by_dropoff"],
               row["by_inspection"]), (5, 3, 2, 2),
              "active by either (the voided inspection counts for nothing)")
    assert close(row["rate"], 0.6), row
    tot = totals_of(rep)
    expect_eq((tot["active_households"], tot["by_dropoff"], tot["by_inspection"]), (3, 2, 2),
              "the total")
    # the same from the rows, by SQL: households of the village with a drop-off not
    # reversed, with an inspection not voided, with either, this month
    hv = "SELECT id FROM households WHERE region_id = %d" % V["id"]
    drop = ("SELECT household_id FROM dropoffs WHERE household_id IN (%s) AND status = 'ok' "
            "AND DATE_FORMAT(local_day, '%%Y-%%m') = '%s'" % (hv, m))
    seen = ("SELECT household_id FROM inspections WHERE household_id IN (%s) "
            "AND status = 'recorded' AND DATE_FORMAT(local_day, '%%Y-%%m') = '%s'" % (hv, m))
    brute = tuple(sql_int(ctx, q) for q in (
        "SELECT COUNT(*) FROM (%s) h" % hv,
        "SELECT COUNT(DISTINCT household_id) FROM (%s UNION ALL %s) a" % (drop, seen),
        "SELECT COUNT(DISTINCT household_id) FROM (%s) a" % drop,
        "SELECT COUNT(DISTINCT household_id) FROM (%s) a" % seen))
    expect_eq((row["households"], row["active_households"], row["by_dropoff"],
               row["by_inspection"]), brute, "the village's row against the drop-off and "
              "inspection rows")


# ----------------------------------------------------------------------------- settlement

def test_settlement_refuses_open_months_and_bad_requests(ctx):
    w = world(ctx)
    V = w.V[0]
    set_rule(ctx, V["id"])
    m = this_month()
    for month in (m, month_add(m, 1), month_add(m, 14)):
        expect_error(settle(ctx, V["id"], month), 409, "month_open")
    for bad in ("2026-13", "2026-1", "bogus", ""):
        expect_error(settle(ctx, V["id"], bad), 400, "invalid_request", "month")
    r = ctx.post("/v1/settlements/inspections", {"month": month_add(m, -1)}, token=ctx.admin_token)
    expect_error(r, 400, "invalid_request", "region_id")
    r = ctx.post("/v1/settlements/inspections", {"region_id": V["id"], "month": month_add(m, -1),
                                                 "dry_run": True}, token=ctx.admin_token)
    expect_error(r, 400, "invalid_request", "dry_run")
    expect_error(settle(ctx, V["id"], month_add(m, -1), token=w.rz.token), 404, "not_found")
    expect_error(settle(ctx, 999999999999, month_add(m, -1)), 404, "not_found")
    expect_error(settle(ctx, V["id"], month_add(m, -1), token=w.insp[0].token), 403, "forbidden")
    expect_status(ctx.post("/v1/settlements/inspections",
                           {"region_id": V["id"], "month": month_add(m, -1)}), 401)


def test_settlement_of_an_ended_month_without_inspections_pays_nothing(ctx):
    w = world(ctx)
    V = w.V[0]
    set_rule(ctx, V["id"], month=month_add(this_month(), -2))
    h = mk_household(ctx, V["id"])
    inspected(ctx, w.insp[0], h, "pass")            # this month: not part of last month
    prev = month_add(this_month(), -1)
    body = expect_json(settle(ctx, V["id"], prev, token=w.ra.token), 200)
    expect_eq((body.get("region_id"), body.get("month"), body.get("households_settled"),
               body.get("points")), (V["id"], prev, 0, 0), "last month: nothing to settle")
    rs = in_threads(lambda: settle(ctx, w.town["id"], prev), lambda: settle(ctx, w.town["id"], prev))
    for r in rs:
        b = expect_json(r, 200)
        expect_eq((b["households_settled"], b["points"]), (0, 0), "two runs at once")
    expect_eq(balance_of(ctx, h["id"]), 5, "only the inspection's own points")
    expect_eq(sql_int(ctx, "SELECT COUNT(*) FROM inspection_settlements WHERE household_id = %d"
                           % h["id"]), 0, "settlement rows")


def test_wbctl_settle_usage_and_an_empty_month(ctx):
    w = world(ctx)
    V = w.V[0]
    set_rule(ctx, V["id"])
    h = mk_household(ctx, V["id"])
    inspected(ctx, w.insp[0], h, "partial")
    prev = month_add(this_month(), -1)
    p = ctx.wbctl("settle", "--region-id", str(V["id"]), "--month", prev)
    expect_eq(p.returncode, 0, "wbctl settle of last month (stderr %r)" % p.stderr)
    assert p.stdout.strip(), "wbctl settle printed nothing"
    for args in ((), ("--region-id", str(V["id"])), ("--month", prev),
                 ("--region-id", "abc", "--month", prev),
                 ("--region-id", str(V["id"]), "--month", "2026-13"),
                 ("--region-id", str(V["id"]), "--month", prev, "--bogus")):
        p = ctx.wbctl("settle", *args)
        expect_eq(p.returncode, 2, "wbctl settle %s (stderr %r)" % (" ".join(args), p.stderr))
        assert p.stderr.strip(), "no reason on stderr for %r" % (args,)
    p = ctx.wbctl("settle", "--region-id", str(V["id"]), "--month", this_month())
    assert p.returncode != 0, "wbctl settle of the open month exited 0: %r" % p.stdout
    expect_eq(balance_of(ctx, h["id"]), 2, "balance: only the inspection's own points")
    expect_eq(sql_int(ctx, "SELECT COUNT(*) FROM inspection_settlements WHERE household_id = %d"
                           % h["id"]), 0, "settlement rows")


def _ledger_counts(ctx, hids):
    """{household: (rows of kind inspection, their sum)}."""
    out = {h: (0, 0) for h in hids}
    for hid, n, s in ctx.sql("SELECT household_id, COUNT(*), COALESCE(SUM(delta), 0) FROM ledger "
                             "WHERE kind = 'inspection' AND household_id IN (%s) "
                             "GROUP BY household_id" % ",".join(str(h) for h in hids)):
        out[int(hid)] = (int(n), int(s))
    return out


def _paid_since(ctx, before, hids):
    after = _ledger_counts(ctx, hids)
    return {h: (after[h][0] - before[h][0], after[h][1] - before[h][1]) for h in hids}


def test_settlement_pays_each_household_its_months_points_once(ctx):
    P, days = month_with_days(ctx, 2, ended=True)
    # a second instance, started first: its own settlement of last month at start
    # is over before this test's households exist
    other = ctx.start_server()
    ctx.wait_until(lambda: "monthly settlement of" in open(other.log).read(), timeout=20,
                   message="the second instance's settlement at start")
    w = world(ctx, villages=2)
    V, V2 = w.V
    monthly = [{"min_rate": 0.5, "points": 10}, {"min_rate": 0.75, "points": 30},
               {"min_rate": 1.0, "points": 50}]
    for g in (V, V2):
        set_rule(ctx, g["id"], month=P, per_pass=1, per_partial=1, min_inspections=2,
                 black_below=0.5, monthly=monthly)
    plan = {"A": ("pass", "partial"),      # 0.75 exactly: 30
            "B": ("pass", "pass"),         # 1.0: 50
            "C": ("partial", "partial"),   # 0.5 exactly: 10
            "D": ("partial", "fail"),      # 0.25: nothing
            "E": ("pass", "pass"),         # one voided: under min_inspections
            "F": ("pass",),                # under min_inspections
            "G": ()}                       # only this month
    hh = {k: mk_household(ctx, V["id"]) for k in plan}
    made = {k: inspected_days(ctx, w.insp[0], hh[k], res, days) for k, res in plan.items()}
    voided(ctx, made["E"][1]["id"])
    inspected(ctx, w.insp[0], hh["G"], "pass")
    hx = mk_household(ctx, V2["id"])
    inspected_days(ctx, w.insp[1], hx, ("pass", "pass"), days)
    ids = {k: h["id"] for k, h in hh.items()}
    everyone = list(ids.values()) + [hx["id"]]
    before = _ledger_counts(ctx, everyone)
    bal0 = {h: balance_of(ctx, h) for h in everyone}
    # the honour roll of the month: red at 1.0, black below 0.5
    expect_eq(roll_ids(roll(ctx, V["id"], P)), ({ids["B"]}, {ids["D"]}), "the month's roll")
    # two runs at once, on two instances, pay every household once
    rs = in_threads(lambda: settle(ctx, V["id"], P),
                    lambda: other.call("POST", "/v1/settlements/inspections",
                                       {"region_id": V["id"], "month": P}, token=w.ra.token))
    other.stop()
    got = [expect_json(r, 200) for r in rs]
    for b in got:
        expect_eq((b.get("region_id"), b.get("month")), (V["id"], P), "the answer's head")
    expect_eq(sum(b["points"] for b in got), 90, "points of both runs together: %r" % got)
    # A, B, C and D reach min_inspections (D at 0.25 is settled for no points):
    # each is settled by exactly one of the two runs
    expect_eq(sum(b["households_settled"] for b in got), 4, "households settled by both runs")
    want = {h: (0, 0) for h in everyone}
    want.update({ids["A"]: (1, 30), ids["B"]: (1, 50), ids["C"]: (1, 10)})
    expect_eq(_paid_since(ctx, before, everyone), want, "settlement rows (count, points)")
    for k, pts in (("A", 30), ("B", 50), ("C", 10), ("D", 0), ("E", 0)):
        expect_eq(balance_of(ctx, ids[k]), bal0[ids[k]] + pts, "balance of %s" % k)
    top = ledger_of(ctx, ids["A"])[0]
    expect_eq((top["kind"], top["delta"]), ("inspection", 30), "A's newest ledger row")
    assert P in (top.get("memo") or ""), "the settlement row's memo names the month: %r" % top
    again = expect_json(settle(ctx, V["id"], P), 200)
    expect_eq((again["households_settled"], again["points"]), (0, 0), "settled again")
    # wbctl settles the other village, once
    p = ctx.wbctl("settle", "--region-id", str(V2["id"]), "--month", P)
    expect_eq(p.returncode, 0, "wbctl settle (stderr %r)" % p.stderr)
    p = ctx.wbctl("settle", "--region-id", str(w.town["id"]), "--month", P)
    expect_eq(p.returncode, 0, "wbctl settle of the town (stderr %r)" % p.stderr)
    want[hx["id"]] = (1, 50)
    expect_eq(_paid_since(ctx, before, everyone), want, "after wbctl settle")
    town = expect_json(settle(ctx, w.town["id"], P), 200)
    expect_eq((town["households_settled"], town["points"]), (0, 0), "the town: all settled")


def test_settlement_thresholds_are_exact_at_80_percent(ctx):
    """Five inspections: 4 pass + 1 fail and 3 pass + 2 partial are exactly 0.80 and
    reach the 0.80 threshold (and are not below black_below 0.80); 4 pass + 1 partial
    is exactly 0.90."""
    P, days = month_with_days(ctx, 5, ended=True)
    w = world(ctx)
    V = w.V[0]
    set_rule(ctx, V["id"], month=P, per_pass=0, per_partial=0, min_inspections=5,
             black_below=0.8, monthly=[{"min_rate": 0.9, "points": 60},
                                       {"min_rate": 0.8, "points": 40}])
    plan = {"H1": ("pass",) * 4 + ("fail",),                    # 0.80: 40
            "H2": ("pass",) * 3 + ("partial",) * 2,             # 0.80: 40
            "H3": ("pass",) * 3 + ("partial", "fail"),          # 0.70: black
            "H4": ("pass",) * 4 + ("partial",),                 # 0.90: 60, red
            "H5": ("pass",) * 5,                                # one voided: 4 < 5
            "H6": ("pass",) * 5}                                # 1.0: 60, red
    hh = {k: mk_household(ctx, V["id"]) for k in plan}
    made = {k: inspected_days(ctx, w.insp[0], hh[k], res, days) for k, res in plan.items()}
    voided(ctx, made["H5"][2]["id"])
    ids = {k: h["id"] for k, h in hh.items()}
    red, black = roll_ids(roll(ctx, V["id"], P))
    expect_eq(red, {ids["H4"], ids["H6"]}, "red: 0.90 exactly and 1.0 (H5 is under min_inspections)")
    expect_eq(black, {ids["H3"]}, "black: 0.70; 0.80 is not below 0.80")
    rep = expect_json(report(ctx, "accuracy", region_id=w.town["id"], month=P), 200)
    row = {r["region_id"]: r for r in rep["rows"]}[V["id"]]
    check_accuracy_row(row, brute_accuracy(ctx, V["id"], P), "the month's accuracy report")
    expect_eq(row["inspections"], 29, "live inspections (one of 30 voided)")
    before = _ledger_counts(ctx, list(ids.values()))
    body = expect_json(settle(ctx, w.town["id"], P), 200)
    expect_eq(body["points"], 200, "the month's points: %r" % body)
    want = {ids["H1"]: (1, 40), ids["H2"]: (1, 40), ids["H3"]: (0, 0), ids["H4"]: (1, 60),
            ids["H5"]: (0, 0), ids["H6"]: (1, 60)}
    expect_eq(_paid_since(ctx, before, list(ids.values())), want, "paid per household")


def test_settlement_thresholds_are_exact_with_one_inspection(ctx):
    """The edges again with one inspection each, so that they are tested on every day
    but the 31st (the five-inspection test above needs five days of an ended month
    within the 30 an inspection may be back-dated, so it skips from the 26th): a
    partial is exactly 0.5 and reaches the 0.5 threshold and is not below black_below
    0.5; a pass is 1.0, the top; a fail is black and paid nothing; a voided pass leaves
    no inspection, so no settlement."""
    P, days = month_with_days(ctx, 1, ended=True)
    w = world(ctx)
    V = w.V[0]
    set_rule(ctx, V["id"], month=P, per_pass=0, per_partial=0, min_inspections=1,
             black_below=0.5, monthly=[{"min_rate": 1.0, "points": 30},
                                       {"min_rate": 0.5, "points": 10}])
    hh = {k: mk_household(ctx, V["id"]) for k in ("pass", "partial", "fail", "voided")}
    for k in ("pass", "partial", "fail"):
        inspected_days(ctx, w.insp[0], hh[k], (k,), days)
    voided(ctx, inspected_days(ctx, w.insp[0], hh["voided"], ("pass",), days)[0]["id"])
    ids = {k: h["id"] for k, h in hh.items()}
    expect_eq(roll_ids(roll(ctx, V["id"], P)), ({ids["pass"]}, {ids["fail"]}),
              "red at 1.0; black below 0.5, and 0.5 exactly is not")
    before = _ledger_counts(ctx, list(ids.values()))
    body = expect_json(settle(ctx, V["id"], P), 200)
    expect_eq((body["households_settled"], body["points"]), (3, 40), "the settlement")
    expect_eq(_paid_since(ctx, before, list(ids.values())),
              {ids["pass"]: (1, 30), ids["partial"]: (1, 10), ids["fail"]: (0, 0),
               ids["voided"]: (0, 0)}, "paid per household")
    expect_eq(sql_int(ctx, "SELECT COUNT(*) FROM inspection_settlements WHERE household_id IN "
                           "(%s) AND month = '%s'" % (",".join(str(i) for i in ids.values()), P)),
              3, "settlement rows: the fail is settled for nothing, the voided not at all")


# ----------------------------------------------------------------------------- role table

def every_role(ctx, w):
    """A token of each of the six roles in w's first village, and its household."""
    V = w.V[0]
    site = mk_site(ctx, V["id"])
    shop = mk_shop(ctx, V["id"])
    h = mk_household(ctx, V["id"], pin=PIN)
    tokens = {"admin": ctx.admin_token, "region_admin": w.ra.token,
              "attendant": mk_staff(ctx, "attendant", V["id"], site_id=site["id"]).token,
              "clerk": mk_staff(ctx, "clerk", V["id"], shop_id=shop["id"]).token,
              "inspector": w.insp[0].token, "resident": resident_of(ctx, h).token}
    return tokens, h


def role_violations(method, path, allowed, r, role):
    """What is wrong with r, the answer to role: a role not admitted must get 403
    forbidden, an admitted one never 403 nor a 5xx."""
    if role in allowed:
        if r.status == 403 or r.status >= 500:
            return ["%s %s as %s (allowed): %r" % (method, path, role, r)]
        return []
    try:
        expect_error(r, 403, "forbidden")
    except AssertionError as e:
        return ["%s %s as %s (not allowed): %s" % (method, path, role, e)]
    return []


def test_role_table_with_the_inspector_over_every_route(ctx):
    """Every route of the route table (api/routes.c), called by each of the six roles,
    the inspector among them: a role the row does not admit gets 403 forbidden, an
    admitted role never does (ids that do not exist and empty bodies, so an admitted
    call is refused for its input and writes nothing). Logout is left out: every role
    may call it, and it would end the tokens."""
    from test_docs import routes_table
    w = world(ctx)
    tokens, h = every_role(ctx, w)
    before = sql_int(ctx, "SELECT COUNT(*) FROM ledger")
    problems, checked = [], 0
    for method, path, allowed, body_kind in routes_table(ctx):
        if not allowed or path == "/v1/auth/logout":
            continue
        url = re.sub(r"\{\w+\}", "999999999", path)
        body = {} if body_kind == "BODY_JSON" else None
        for role, tok in tokens.items():
            hdrs = {"Idempotency-Key": new_key("roles")} if method == "POST" else None
            r = ctx.call(method, url, body, token=tok, headers=hdrs)
            problems += role_violations(method, url, allowed, r, role)
            checked += 1
    assert checked >= 6 * 60, "only %d calls: is the route table read whole?" % checked
    assert not problems, "%d role-table violations:\n  %s" % (len(problems), "\n  ".join(problems))
    expect_eq(sql_int(ctx, "SELECT COUNT(*) FROM ledger"), before,
              "ledger rows after the sweep of refused calls")
    expect_eq(balance_of(ctx, h["id"]), 0, "the resident's balance after the sweep")


def test_inspection_routes_refuse_the_wrong_roles(ctx):
    """Every new route called by every role with an empty body: a role it does not admit
    gets 403 forbidden, an admitted role never does; no token is 401."""
    w = world(ctx)
    V = w.V[0]
    tokens, h = every_role(ctx, w)
    i = inspected(ctx, w.insp[0], h, "pass")["id"]
    ADM = {"admin", "region_admin"}
    m = this_month()
    vid = V["id"]
    routes = [
        ("POST", "/v1/inspections", {}, {"inspector"}),
        ("GET", "/v1/inspections?region_id=%d" % vid, None, ADM | {"inspector", "resident"}),
        ("GET", "/v1/inspections/%d" % i, None, ADM | {"inspector", "resident"}),
        ("GET", "/v1/inspections/%d/photo.jpg" % i, None, ADM | {"inspector", "resident"}),
        ("POST", "/v1/inspections/%d/void" % i, {}, ADM),
        ("PUT", "/v1/regions/%d/scoring" % vid, {}, ADM),
        ("GET", "/v1/regions/%d/scoring" % vid, None, ADM | {"inspector", "attendant", "clerk"}),
        ("POST", "/v1/settlements/inspections", {}, ADM),
        ("GET", "/v1/reports/accuracy?region_id=%d&month=%s" % (vid, m), None, ADM),
        ("GET", "/v1/reports/honour-roll?region_id=%d&month=%s" % (vid, m), None,
         ADM | {"inspector"}),
        ("GET", "/v1/residents/me/inspections", None, {"resident"}),
    ]
    problems = []
    for method, path, body, allowed in routes:
        r = ctx.call(method, path, body)
        if r.status != 401:
            problems.append("%s %s without a token: %r" % (method, path, r))
        for role, tok in tokens.items():
            hdrs = {"Idempotency-Key": new_key()} if path == "/v1/inspections" else None
            r = ctx.call(method, path, body, token=tok, headers=hdrs)
            problems += role_violations(method, path, allowed, r, role)
    assert not problems, "%d role-table violations:\n  %s" % (len(problems), "\n  ".join(problems))
    expect_eq(balance_of(ctx, h["id"]), 0, "balance: nothing was paid or voided by the calls")


def test_settlement_killed_half_way_pays_the_rest_once_on_the_next_run(ctx):
    """wbctl settle is killed (SIGKILL) while its second group of households waits on a
    row lock another session holds: the first group's households stay settled, nobody
    else is, and the next run settles exactly the rest, each household once."""
    import signal
    import time
    P, days = month_with_days(ctx, 1, ended=True)
    w = world(ctx)
    V = w.V[0]
    set_rule(ctx, V["id"], month=P, per_pass=0, per_partial=0, min_inspections=1,
             black_below=0, monthly=[{"min_rate": 0.5, "points": 7}])
    hh = [mk_household(ctx, V["id"]) for _ in range(150)]
    for h in hh:
        inspected_on(ctx, w.insp[0], h, "pass", days[0])
    ids = sorted(h["id"] for h in hh)
    before = _ledger_counts(ctx, ids)
    group = 64                                   # LEDGER_GROUP_MAX: one transaction each
    blocked = ids[group + group // 2]            # a household of the second group
    e = ctx.env
    holder = subprocess.Popen(
        ["mariadb", "--no-defaults", "--socket=" + e["WB_DB_SOCKET"], "-u" + e["WB_DB_USER"],
         "-p" + e["WB_DB_PASSWORD"], "-N", "-B", "-n", e["WB_DB_NAME"]],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    settler = None
    try:
        holder.stdin.write("BEGIN; SELECT id FROM households WHERE id = %d FOR UPDATE; "
                           "SELECT 'locked';\n" % blocked)
        holder.stdin.flush()
        lines = [holder.stdout.readline().strip() for _ in range(2)]
        expect_eq(lines[-1], "locked", "the other session's lock")
        settler = subprocess.Popen([ctx.bin_path("wbctl"), "settle", "--region-id", str(V["id"]),
                                    "--month", P], env=e, cwd=ctx.repo,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        count = ("SELECT COUNT(*) FROM inspection_settlements WHERE household_id IN (%s)"
                 % ",".join(str(i) for i in ids))
        ctx.wait_until(lambda: sql_int(ctx, count) >= group, timeout=20,
                       message="the first group settled")
        time.sleep(0.3)                          # the second group waits on the lock (3 s)
        assert settler.poll() is None, "wbctl settle ended before it was killed: %r" % (
            settler.communicate(),)
        settler.send_signal(signal.SIGKILL)
        settler.wait(timeout=10)
    finally:
        if settler and settler.poll() is None:
            settler.kill()
            settler.wait()
        holder.stdin.write("ROLLBACK;\n")
        holder.stdin.close()
        holder.wait(timeout=10)
    paid = _paid_since(ctx, before, ids)
    first = [i for i in ids if paid[i] != (0, 0)]
    expect_eq(first, ids[:group], "settled before the kill: the first group, whole")
    assert all(paid[i] == (1, 7) for i in first), "paid once each: %r" % paid
    p = ctx.wbctl("settle", "--region-id", str(V["id"]), "--month", P)
    expect_eq(p.returncode, 0, "the second run (stderr %r)" % p.stderr)
    out = json.loads(p.stdout)
    expect_eq((out["households_settled"], out["points"]), (len(ids) - group,
                                                            7 * (len(ids) - group)),
              "the second run settles the rest")
    expect_eq(_paid_since(ctx, before, ids), {i: (1, 7) for i in ids}, "every household once")
    expect_eq(sql_int(ctx, count), len(ids), "one settlement row a household")
    check = expect_json(ctx.get("/v1/reports/ledger-check", token=ctx.admin_token), 200)
    mine = [v for v in check["violations"] if v.get("household_id") in set(ids)]
    expect_eq(mine, [], "ledger-check violations of these households")


def test_the_server_settles_last_month_on_its_own(ctx):
    """A wastebankd that starts settles the month before on its own thread (as it does
    after each local midnight that begins a month): a household inspected last month
    is paid without anyone asking, once."""
    P, days = month_with_days(ctx, 1, ended=True)
    w = world(ctx)
    V = w.V[0]
    set_rule(ctx, V["id"], month=P, per_pass=0, per_partial=0, min_inspections=1,
             black_below=0, monthly=[{"min_rate": 1.0, "points": 9}])
    h = mk_household(ctx, V["id"])
    inspected_on(ctx, w.insp[0], h, "pass", days[0])
    before = _ledger_counts(ctx, [h["id"]])
    srv = ctx.start_server()
    ctx.wait_until(lambda: _paid_since(ctx, before, [h["id"]])[h["id"]] == (1, 9), timeout=20,
                   message="the new server's settlement of %s" % P)
    srv.stop()
    again = expect_json(settle(ctx, V["id"], P), 200)
    expect_eq((again["households_settled"], again["points"]), (0, 0), "nothing left to settle")
    expect_eq(_paid_since(ctx, before, [h["id"]]), {h["id"]: (1, 9)}, "paid once")


def test_honour_roll_poster_runs_onto_a_second_page(ctx):
    """30 households on the red list: the A4 poster holds 25 rows a column, so it has
    two pages, and the second page carries the rest of the names."""
    if shutil.which("pdfinfo") is None or shutil.which("pdftotext") is None:
        ctx.skip("poppler-utils (pdfinfo, pdftotext) is not installed")
    w = world(ctx)
    V = w.V[0]
    set_rule(ctx, V["id"])
    hh = [mk_household(ctx, V["id"]) for _ in range(30)]
    for h in hh:
        inspected(ctx, w.insp[0], h, "pass")
    body = roll(ctx, V["id"])
    expect_eq(len(body["red"]), 30, "the red list")
    r = report(ctx, "honour-roll", region_id=V["id"], month=this_month(), format="pdf")
    expect_status(r, 200)
    with tempfile.TemporaryDirectory() as d:
        pdf = os.path.join(d, "roll.pdf")
        with open(pdf, "wb") as f:
            f.write(r.body)
        info = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True, timeout=30)
        last = subprocess.run(["pdftotext", "-enc", "UTF-8", "-f", "2", "-l", "2", pdf, "-"],
                              capture_output=True, text=True, timeout=30)
    pages = [l.split()[-1] for l in info.stdout.splitlines() if l.startswith("Pages:")]
    expect_eq(pages, ["2"], "pages of the poster")
    assert "A4" in info.stdout or "595.28 x 841.89" in info.stdout, info.stdout
    for e in body["red"][25:]:
        assert e["head_name_masked"] in last.stdout, "%r not on page 2: %r" % (
            e["head_name_masked"], last.stdout[:400])


def test_points_report_counts_inspection_points_and_their_voids(ctx):
    w = world(ctx)
    V = w.V[0]
    set_rule(ctx, V["id"], per_pass=5, per_partial=2)
    a, b = mk_household(ctx, V["id"]), mk_household(ctx, V["id"])
    inspected(ctx, w.insp[0], a, "pass")
    ib = inspected(ctx, w.insp[0], b, "partial")
    voided(ctx, ib["id"])
    rep = report(ctx, "points", region_id=V["id"], **{"from": today(), "to": today()})
    body = expect_json(rep, 200)
    tot = body["totals"]
    expect_eq(tot["issued"].get("inspections"), 7, "issued by inspections")
    expect_eq(tot["reversed"], 2, "taken back by the void")
    expect_eq(tot["outstanding"], 5, "outstanding")
    expect_eq(tot["issued"]["dropoffs"] + tot["issued"]["adjustments"] + tot["issued"]["inspections"]
              - tot["reversed"] - tot["redeemed"] + tot["voided"] - tot["recovered"]
              - tot["expired"], tot["outstanding"], "the points equation")


def test_settlement_publishes_the_new_balances_a_resident_reads(ctx):
    """A resident's balance is read from Redis: a settlement, by the API or by wbctl,
    publishes what it paid, so the resident never reads the balance from before."""
    P, days = month_with_days(ctx, 1, ended=True)
    w = world(ctx, villages=2)
    for V in w.V:
        set_rule(ctx, V["id"], month=P, per_pass=0, per_partial=0, min_inspections=1,
                 black_below=0, monthly=[{"min_rate": 1.0, "points": 11}])
    hh = [mk_household(ctx, V["id"], pin=PIN) for V in w.V]
    res = [resident_of(ctx, h).token for h in hh]
    for h, insp in zip(hh, w.insp):
        inspected_on(ctx, insp, h, "pass", days[0])

    def balance(tok):
        return expect_json(ctx.get("/v1/residents/me/balance", token=tok), 200)["balance"]

    before = [balance(t) for t in res]          # now cached in Redis
    expect_json(settle(ctx, w.V[0]["id"], P), 200)
    p = ctx.wbctl("settle", "--region-id", str(w.V[1]["id"]), "--month", P)
    expect_eq(p.returncode, 0, "wbctl settle (stderr %r)" % p.stderr)
    expect_eq([balance(t) for t in res], [b + 11 for b in before], "balances after settling")
    check = expect_json(ctx.get("/v1/reports/ledger-check", token=ctx.admin_token), 200)
    mine = [v for v in check["violations"] if v.get("household_id") in {h["id"] for h in hh}]
    expect_eq(mine, [], "ledger-check violations of these households")


def test_inspection_of_a_suspended_household_or_a_settled_month_is_refused(ctx):
    """A suspended household is not inspected (409 household_inactive, nothing paid);
    once a household's month is settled, an inspection back-dated into it is 409
    month_settled, while another household of that month may still be inspected."""
    P, days = month_with_days(ctx, 2, ended=True)
    w = world(ctx)
    V, insp = w.V[0], w.insp[0]
    set_rule(ctx, V["id"], month=P, per_pass=3, min_inspections=1,
             monthly=[{"min_rate": 0.5, "points": 4}])
    s = mk_household(ctx, V["id"])
    expect_json(ctx.call("PATCH", "/v1/households/%d" % s["id"], {"status": "suspended"},
                         token=ctx.admin_token), 200)
    expect_error(post_inspection(ctx, insp.token, {"household_id": s["id"], "result": "pass"}),
                 409, "household_inactive")
    expect_eq(balance_of(ctx, s["id"]), 0, "nothing paid to the suspended household")
    a, b = mk_household(ctx, V["id"]), mk_household(ctx, V["id"])
    inspected_on(ctx, insp, a, "pass", days[0])
    expect_json(settle(ctx, V["id"], P), 200)
    day, at = days[1]
    expect_error(post_inspection(ctx, insp.token, {"household_id": a["id"], "result": "pass",
                                                   "inspected_at": at}), 409, "month_settled")
    expect_eq(sql_int(ctx, "SELECT COUNT(*) FROM inspections WHERE household_id = %d" % a["id"]),
              1, "inspections of the settled household")
    expect_eq(inspected_on(ctx, insp, b, "pass", days[1])["local_day"], day,
              "another household of the month, not settled")


# ----------------------------------------------------------------------------- ledger check

def violations_while(ctx, change, undo, hids):
    """The ledger check's violations of hids while the SQL change holds; undo restores."""
    ctx.sql(change)
    try:
        body = expect_json(ctx.get("/v1/reports/ledger-check", token=ctx.admin_token), 200)
    finally:
        ctx.sql(undo)
    return sorted((v.get("household_id"), v.get("rule")) for v in body["violations"]
                  if v.get("household_id") in hids)


def test_ledger_check_finds_an_inspection_paid_other_than_its_ledger_says(ctx):
    """inspection_paid: an inspection's points and its one ledger row must agree, and a
    void's claw-back with its inspection_void row; the check finds each broken, and
    nothing once restored."""
    w = world(ctx)
    V = w.V[0]
    set_rule(ctx, V["id"], per_pass=5, per_partial=2)
    a, b = mk_household(ctx, V["id"]), mk_household(ctx, V["id"])
    ia = inspected(ctx, w.insp[0], a, "pass")
    ib = inspected(ctx, w.insp[0], b, "partial")
    voided(ctx, ib["id"])
    hids = {a["id"], b["id"]}
    expect_eq(violations_while(ctx, "DO 0", "DO 0", hids), [], "violations before")
    expect_eq(violations_while(
        ctx, "UPDATE inspections SET points = points + 1 WHERE id = %d" % ia["id"],
        "UPDATE inspections SET points = points - 1 WHERE id = %d" % ia["id"], hids),
        [(a["id"], "inspection_paid")], "an inspection paying other than its ledger row")
    expect_eq(violations_while(
        ctx, "UPDATE inspections SET clawed_back = clawed_back + 1 WHERE id = %d" % ib["id"],
        "UPDATE inspections SET clawed_back = clawed_back - 1 WHERE id = %d" % ib["id"], hids),
        [(b["id"], "inspection_paid")], "a void taking back other than its ledger row")
    # an inspection paid nothing, yet the ledger has a row for it
    expect_eq(violations_while(
        ctx, "UPDATE inspections SET points = 0 WHERE id = %d" % ia["id"],
        "UPDATE inspections SET points = 5 WHERE id = %d" % ia["id"], hids),
        [(a["id"], "inspection_paid")], "a ledger row for an inspection that paid nothing")
    # the ledger's row naming an inspection of another household: a stray row, and an
    # inspection without its row
    expect_eq(violations_while(
        ctx, "UPDATE inspections SET household_id = %d WHERE id = %d" % (b["id"], ia["id"]),
        "UPDATE inspections SET household_id = %d WHERE id = %d" % (a["id"], ia["id"]), hids),
        [(a["id"], "inspection_paid"), (b["id"], "inspection_paid")],
        "an inspection moved to another household")
    expect_eq(violations_while(ctx, "DO 0", "DO 0", hids), [], "violations once restored")


def test_ledger_check_finds_a_settlement_paid_other_than_its_ledger_says(ctx):
    """settlement_once: a settled month's points and its one ledger row must agree;
    a settlement row moved to another household leaves a stray ledger row."""
    P, days = month_with_days(ctx, 1, ended=True)
    w = world(ctx)
    V = w.V[0]
    set_rule(ctx, V["id"], month=P, per_pass=0, per_partial=0, min_inspections=1,
             monthly=[{"min_rate": 0.5, "points": 10}])
    a, b = mk_household(ctx, V["id"]), mk_household(ctx, V["id"])
    inspected_days(ctx, w.insp[0], a, ("pass",), days)
    got = expect_json(settle(ctx, V["id"], P), 200)
    expect_eq((got["households_settled"], got["points"]), (1, 10), "the settlement")
    sid = sql_int(ctx, "SELECT id FROM inspection_settlements WHERE household_id = %d" % a["id"])
    hids = {a["id"], b["id"]}
    expect_eq(violations_while(ctx, "DO 0", "DO 0", hids), [], "violations before")
    expect_eq(violations_while(
        ctx, "UPDATE inspection_settlements SET points = 11 WHERE id = %d" % sid,
        "UPDATE inspection_settlements SET points = 10 WHERE id = %d" % sid, hids),
        [(a["id"], "settlement_once")], "a settlement paying other than its ledger row")
    expect_eq(violations_while(
        ctx, "UPDATE inspection_settlements SET household_id = %d WHERE id = %d" % (b["id"], sid),
        "UPDATE inspection_settlements SET household_id = %d WHERE id = %d" % (a["id"], sid),
        hids),
        [(a["id"], "inspection_paid"), (b["id"], "settlement_once")],
        "a settlement moved to another household")
    expect_eq(violations_while(ctx, "DO 0", "DO 0", hids), [], "violations once restored")
