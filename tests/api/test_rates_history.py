"""The history of rate versions, GET /v1/rates (docs/api.md "Categories and rates"): the
versions that concern a region (the default's, its own and its ancestors', and those set
anywhere below it), newest effective_from first, with the one in force for the region
marked as a drop-off is paid; admins and region admins only, a region admin within its
reach; refusals with their fields; cursor paging; a store outage is 503."""

import time

from lib import expect_eq, expect_error, expect_json, expect_status
from test_ledger import (Tree, build_tree, dropoff_ok, mk_category, mk_household, mk_region,
                         mk_shop, mk_staff, read_pages, resident_of, set_rate, wait_catalog,
                         when)
from test_redeem import PIN, mk_clerk

RATES = "/v1/rates"
FIELDS = {"id", "category", "region_id", "region_name", "points_per_unit", "effective_from",
          "created_at", "created_by", "in_force"}

_FX = None


def fx(ctx):
    """A category of this module with versions at every level of a tree:

        default 10 (40 days ago)
        province 20 (30 days ago)
        county A 30 (20 days ago)  > town TA 35 (15 days ago)
                                   > village VA 40 (10 days ago), 45 (in 10 days: not yet)
                                   > village VA2: none of its own
        town TA2 (in A) 50 (5 days ago)
        county B 60 (5 days ago)   > its village VB
    and a second category with a default only."""
    global _FX
    if _FX is not None:
        return _FX
    t0 = time.monotonic()
    f = build_tree(ctx)
    f.cat = mk_category(ctx, "g")
    f.other = mk_category(ctx, "item")
    f.TA2 = mk_region(ctx, f.A["id"], "town")
    f.v = Tree()
    f.v.default = set_rate(ctx, f.cat, 10, effective_from=when(days=-40))
    f.v.prov = set_rate(ctx, f.cat, 20, region_id=f.prov["id"], effective_from=when(days=-30))
    f.v.A = set_rate(ctx, f.cat, 30, region_id=f.A["id"], effective_from=when(days=-20))
    f.v.TA = set_rate(ctx, f.cat, 35, region_id=f.TA["id"], effective_from=when(days=-15))
    f.v.VA = set_rate(ctx, f.cat, 40, region_id=f.VA["id"], effective_from=when(days=-10))
    f.v.VA_next = set_rate(ctx, f.cat, 45, region_id=f.VA["id"], effective_from=when(days=10))
    f.v.TA2 = set_rate(ctx, f.cat, 50, region_id=f.TA2["id"], effective_from=when(days=-5))
    f.v.B = set_rate(ctx, f.cat, 60, region_id=f.B["id"], effective_from=when(days=-5))
    f.v.other = set_rate(ctx, f.other, 3, effective_from=when(days=-40))
    f.ra_ta = mk_staff(ctx, "region_admin", f.TA["id"])
    f.h = mk_household(ctx, f.VA["id"], pin=PIN)
    f.h2 = mk_household(ctx, f.VA2["id"])
    wait_catalog(t0)
    _FX = f
    return f


def history(ctx, token, query=""):
    return read_pages(ctx, RATES + query, token)


def ids(rows):
    return [x["id"] for x in rows]


def in_force(rows):
    return [x["id"] for x in rows if x["in_force"]]


# ----------------------------------------------------------------------------- the list

def test_rates_history_admin_sees_every_version_newest_first(ctx):
    f = fx(ctx)
    rows = history(ctx, ctx.admin_token, "?category=" + f.cat)
    v = f.v
    expect_eq(ids(rows), [v.VA_next["id"], v.B["id"], v.TA2["id"], v.VA["id"], v.TA["id"],
                          v.A["id"], v.prov["id"], v.default["id"]],
              "the versions of the category, newest effective_from first")
    for x in rows:
        expect_eq(set(x), FIELDS, "the members of version %d" % x["id"])
        expect_eq(x["category"], f.cat, "category")
        expect_eq(x["created_by"], ctx.admin_id, "created_by of version %d" % x["id"])
    first = rows[0]
    expect_eq((first["region_id"], first["region_name"], first["points_per_unit"]),
              (f.VA["id"], f.VA["name"], 45), "the newest version")
    assert first["effective_from"] == v.VA_next["effective_from"], first
    assert first["created_at"].endswith("+08:00"), first
    last = rows[-1]
    expect_eq((last["region_id"], last["region_name"], last["points_per_unit"]),
              (None, None, 10), "the default version")
    # the admin's own region is the whole tree: what is in force there is the default
    expect_eq(in_force(rows), [v.default["id"]], "in force for the default")


def test_rates_history_for_a_village_marks_the_version_a_dropoff_is_paid(ctx):
    f = fx(ctx)
    v = f.v
    rows = history(ctx, ctx.admin_token, "?category=%s&region_id=%d" % (f.cat, f.VA["id"]))
    # the village's path (default, province, A, TA, VA); not TA2's, not B's
    expect_eq(ids(rows), [v.VA_next["id"], v.VA["id"], v.TA["id"], v.A["id"], v.prov["id"],
                          v.default["id"]], "the versions that concern the village")
    expect_eq(in_force(rows), [v.VA["id"]], "in force in the village")
    d = dropoff_ok(ctx, f.at_a.token, f.h["code"], [{"category": f.cat, "grams": 1000}])
    expect_eq((d["items"][0]["rate"], d["points"]), (40, 40), "the drop-off's rate and points")
    # a village without a version of its own is paid at its town's
    rows = history(ctx, ctx.admin_token, "?category=%s&region_id=%d" % (f.cat, f.VA2["id"]))
    expect_eq(ids(rows), [v.TA["id"], v.A["id"], v.prov["id"], v.default["id"]],
              "the versions that concern the second village")
    expect_eq(in_force(rows), [v.TA["id"]], "in force in the second village")
    d = dropoff_ok(ctx, f.at_a.token, f.h2["code"], [{"category": f.cat, "grams": 1000}])
    expect_eq(d["items"][0]["rate"], 35, "the second village's drop-off is paid the town's rate")


def test_rates_history_in_force_filter(ctx):
    f = fx(ctx)
    v = f.v
    q = "?region_id=%d" % f.VA["id"]
    now = history(ctx, ctx.admin_token, q + "&in_force=true")
    expect_eq(ids([x for x in now if x["category"] in (f.cat, f.other)]),
              [v.VA["id"], v.other["id"]], "in force in the village, one per category")
    assert all(x["in_force"] for x in now), now
    # every category of the catalogue with a rate has its version in force there
    cats = expect_json(ctx.get("/v1/categories", token=f.ra_a.token), 200)["items"]
    rated = {c["code"] for c in cats if c["rate"] is not None}
    expect_eq(len(now), len({x["category"] for x in now}), "at most one version per category")
    assert rated <= {x["category"] for x in now}, (rated, now)
    rest = history(ctx, ctx.admin_token, q + "&category=%s&in_force=false" % f.cat)
    expect_eq(ids(rest), [v.VA_next["id"], v.TA["id"], v.A["id"], v.prov["id"],
                          v.default["id"]], "the versions of the village not in force")
    expect_error(ctx.get(RATES + "?in_force=yes", token=ctx.admin_token), 400,
                 "invalid_request", "in_force")


def test_rates_history_region_admin_sees_its_path_and_its_subtree(ctx):
    f = fx(ctx)
    v = f.v
    rows = history(ctx, f.ra_a.token, "?category=" + f.cat)
    expect_eq(ids(rows), [v.VA_next["id"], v.TA2["id"], v.VA["id"], v.TA["id"], v.A["id"],
                          v.prov["id"], v.default["id"]],
              "county A's admin: the default, the province, A and everything below A")
    expect_eq(in_force(rows), [v.A["id"]], "in force in county A")
    assert v.B["id"] not in ids(rows), "county B's version is not county A's business"
    # a town admin: the path down to its town, and its villages; not the other town
    rows = history(ctx, f.ra_ta.token, "?category=" + f.cat)
    expect_eq(ids(rows), [v.VA_next["id"], v.VA["id"], v.TA["id"], v.A["id"], v.prov["id"],
                          v.default["id"]], "town TA's admin")
    expect_eq(in_force(rows), [v.TA["id"]], "in force in town TA")
    # a region of its own subtree narrows it
    rows = history(ctx, f.ra_a.token, "?category=%s&region_id=%d" % (f.cat, f.TA2["id"]))
    expect_eq(ids(rows), [v.TA2["id"], v.A["id"], v.prov["id"], v.default["id"]],
              "county A's admin asking for town TA2")
    rows = history(ctx, f.ra_b.token, "?category=" + f.cat)
    expect_eq(ids(rows), [v.B["id"], v.prov["id"], v.default["id"]], "county B's admin")


def test_rates_history_outside_reach_is_404(ctx):
    f = fx(ctx)
    for rid in (f.VB["id"], f.B["id"], f.prov["id"], 999999999):
        expect_error(ctx.get(RATES + "?region_id=%d" % rid, token=f.ra_a.token), 404,
                     "not_found")
    expect_error(ctx.get(RATES + "?region_id=%d" % f.A["id"], token=f.ra_ta.token), 404,
                 "not_found")
    expect_error(ctx.get(RATES + "?region_id=999999999", token=ctx.admin_token), 404,
                 "not_found")


def test_rates_history_other_roles_are_forbidden(ctx):
    f = fx(ctx)
    clerk = mk_clerk(ctx, mk_shop(ctx, f.TA["id"]))
    inspector = mk_staff(ctx, "inspector", f.VA["id"])
    resident = resident_of(ctx, f.h, PIN)
    for who, tok in (("attendant", f.at_a.token), ("clerk", clerk.token),
                     ("inspector", inspector.token), ("resident", resident.token)):
        for q in ("", "?category=" + f.cat, "?region_id=%d" % f.VA["id"]):
            r = ctx.get(RATES + q, token=tok)
            try:
                expect_error(r, 403, "forbidden")
            except AssertionError as e:
                raise AssertionError("%s, GET %s%s: %s" % (who, RATES, q, e))
    expect_error(ctx.get(RATES), 401, "unauthorized")


def test_rates_history_bad_queries_are_400_naming_the_field(ctx):
    f = fx(ctx)
    for token in (ctx.admin_token, f.ra_a.token):
        expect_error(ctx.get(RATES + "?category=no_such_category", token=token), 400,
                     "invalid_request", "category")
        expect_error(ctx.get(RATES + "?category=Paper%20%27", token=token), 400,
                     "invalid_request", "category")
    for q, field in (("?region_id=abc", "region_id"), ("?region_id=0", "region_id"),
                     ("?region_id=-3", "region_id"), ("?limit=0", "limit"),
                     ("?limit=501", "limit"), ("?cursor=zz", "cursor"),
                     ("?cursor=c999999999999", "cursor")):
        expect_error(ctx.get(RATES + q, token=ctx.admin_token), 400, "invalid_request", field)
    # an empty category is no filter, as for the other lists
    rows = history(ctx, ctx.admin_token, "?category=&region_id=%d" % f.VA["id"])
    assert {f.cat, f.other} <= {x["category"] for x in rows}, rows


def test_rates_history_pages_without_gaps_or_repeats(ctx):
    f = fx(ctx)
    q = "?category=%s&region_id=%d" % (f.cat, f.A["id"])
    whole = expect_json(ctx.get(RATES + q + "&limit=500", token=ctx.admin_token), 200)
    expect_eq(whole["next_cursor"], None, "next_cursor of the one page")
    expect_eq(len(whole["items"]), 7, "the versions concerning county A")
    for limit in (1, 2, 3):
        paged = read_pages(ctx, RATES + q, ctx.admin_token, limit=limit)
        expect_eq(ids(paged), ids(whole["items"]), "pages of %d" % limit)
    first = expect_json(ctx.get(RATES + q + "&limit=2", token=ctx.admin_token), 200)
    expect_eq(len(first["items"]), 2, "the first page's size")
    assert first["next_cursor"], first
    # a version added while paging, older than the page read, never pushes old rows back
    set_rate(ctx, f.cat, 33, region_id=f.A["id"], effective_from=when(days=-25))
    rest, cursor = [], first["next_cursor"]
    while cursor:
        page = expect_json(ctx.get(RATES + q + "&limit=2&cursor=" + cursor,
                                   token=ctx.admin_token), 200)
        rest += page["items"]
        cursor = page["next_cursor"]
    seen = ids(first["items"]) + ids(rest)
    expect_eq(len(seen), len(set(seen)), "no version twice")
    assert set(ids(whole["items"])) <= set(seen), "a version was skipped: %r, %r" % (whole, seen)


def test_rates_history_new_version_is_listed_at_once_and_takes_over(ctx):
    f = fx(ctx)
    vb = mk_region(ctx, f.TA["id"], "village")
    t0 = time.monotonic()
    cat = mk_category(ctx, "item")
    wait_catalog(t0)
    set_rate(ctx, cat, 4, effective_from=when(days=-3))
    r = ctx.post(RATES, {"category": cat, "region_id": vb["id"], "points_per_unit": 9,
                         "effective_from": when(seconds=-60)}, token=f.ra_a.token)
    made = expect_json(r, 201)
    rows = history(ctx, f.ra_a.token, "?category=%s&region_id=%d" % (cat, vb["id"]))
    expect_eq([(x["id"], x["points_per_unit"], x["in_force"], x["created_by"]) for x in rows],
              [(made["id"], 9, True, f.ra_a.id), (rows[1]["id"], 4, False, ctx.admin_id)],
              "the region admin's new version, in force over the default")
    expect_eq(rows[0]["region_name"], vb["name"], "region_name")


def test_rates_history_installed_defaults_have_no_creator(ctx):
    rows = history(ctx, ctx.admin_token, "?category=paper")
    installed = [x for x in rows if x["region_id"] is None and x["created_by"] is None]
    assert installed, "the default catalogue's paper rate (by wbctl migrate): %r" % rows
    expect_eq(installed[-1]["effective_from"][:4], "1970", "installed from the start")


def test_rates_history_store_outage_is_503(ctx):
    f = fx(ctx)
    q = "?category=%s&region_id=%d" % (f.cat, f.VA["id"])
    tok = f.ra_a.token
    expect_status(ctx.get(RATES + q, token=tok), 200)
    ctx.services("stop-mariadb")
    try:
        ctx.wait_until(lambda: ctx.get("/readyz").status == 503, timeout=10,
                       message="/readyz did not turn 503")
        for _ in range(6):
            expect_error(ctx.get(RATES + q, token=tok), 503, "unavailable")
    finally:
        ctx.services("start-mariadb")
    ctx.wait_until(lambda: ctx.get(RATES + q, token=tok).status == 200, timeout=15,
                   message="GET /v1/rates did not recover after MariaDB came back")
