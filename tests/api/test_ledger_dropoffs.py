"""Drop-offs: every refused field, who may record for whom, idempotent replays, keys
scoped to the site, the batch, and reading drop-offs back (api.md "Conventions"
(idempotency), "Drop-offs"; design.md "Consistency: where a point lives")."""

import json
import time

from lib import expect_eq, expect_error, expect_json, expect_status
from test_ledger import (Tree, build_tree, check_ledger_consistent, dropoff_body, dropoff_ok,
                         dropoffs_of, get_household, ledger_of, mk_category, mk_household,
                         mk_shop, mk_staff, new_key, post_dropoff, resident_of, set_rate, tag, uniq_code,
                         uploaded_ok, wait_catalog, when)

_FX = None


def fx(ctx):
    """g10: 10 points/kg no cap; it5: 5 points/item no cap; a tree with two counties and
    a second drop-off site SA2 in town TA (attendant at_a2), a second attendant at SA
    (at_a_bis), a clerk in county A; H: a household that refusal tests never change."""
    global _FX
    if _FX is not None:
        return _FX
    t0 = time.monotonic()
    f = Tree()
    f.g10 = mk_category(ctx, "g")
    set_rate(ctx, f.g10, 10)
    f.it5 = mk_category(ctx, "item")
    set_rate(ctx, f.it5, 5)
    f.t = build_tree(ctx, extra_sites=1)
    f.SA2 = f.t.more_sites[0]["site"]
    f.at_a2 = f.t.more_sites[0]["att"]
    f.at_a_bis = mk_staff(ctx, "attendant", f.t.TA["id"], site_id=f.t.SA["id"])
    shop = mk_shop(ctx, f.t.A["id"])
    f.clerk = mk_staff(ctx, "clerk", f.t.A["id"], shop_id=shop["id"])
    f.H = mk_household(ctx, f.t.VA["id"], pin="4821")
    wait_catalog(t0)
    _FX = f
    return f


def _g(f, grams=1000):
    return {"category": f.g10, "grams": grams}


def _unchanged(ctx, f):
    """H has no ledger row, no drop-off and balance 0."""
    expect_eq(ledger_of(ctx, f.H["id"]), [], "ledger of H after refusals")
    expect_eq(dropoffs_of(ctx, f.H["id"]), [], "drop-offs of H after refusals")
    expect_eq(get_household(ctx, f.H["id"])["balance"], 0, "balance of H")


def _refused(ctx, f, body, field, key=None, raw=None, status=400, code="invalid_request"):
    """The drop-off is refused with this field and nothing is written; the same key
    then works for a good body (a refusal before the transaction stores nothing)."""
    k = new_key() if key is None else key
    r = post_dropoff(ctx, f.t.at_a.token, body, key=k, raw=raw)
    expect_error(r, status, code, field)
    _unchanged(ctx, f)
    return r


def _base(f, **over):
    b = {"code": f.H["code"], "items": [_g(f)]}
    b.update(over)
    return b


# ----------------------------------------------------------------------------- bounds accepted

def test_ledger_dropoff_bounds_are_accepted(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    tok = f.t.at_a.token
    d = dropoff_ok(ctx, tok, h["code"], [{"category": f.g10, "grams": 1},
                                          {"category": f.g10, "grams": 500000},
                                          {"category": f.it5, "count": 1},
                                          {"category": f.it5, "count": 1000}],
                   note="n" * 200, key="K" * 64)
    expect_eq([x["points"] for x in d["items"]], [0, 5000, 5, 5000], "line points")
    d = dropoff_ok(ctx, tok, h["code"], [_g(f, 100)] * 20, recorded_at=when(seconds=240))
    expect_eq((len(d["items"]), d["points"]), (20, 20), "20 lines, 4 min ahead")
    d = uploaded_ok(ctx, tok, h["code"], [_g(f, 100)], recorded_at=when(days=-29))
    expect_eq((d["points"], d["backdated"]), (1, True), "an upload 29 days back")
    d = dropoff_ok(ctx, tok, h["code"], [_g(f, 100)], key="a.b:c_d-E9")
    expect_eq(d["points"], 1, "a key of every allowed character class")
    d = dropoff_ok(ctx, tok, h["code"], [_g(f, 100)], note="备注：已分拣 ✓")
    got = expect_json(ctx.get("/v1/dropoffs/%d" % d["id"], token=ctx.admin_token), 200)
    expect_eq(got.get("note"), "备注：已分拣 ✓", "note stored")
    check_ledger_consistent(ctx, h["id"])


def test_ledger_dropoff_note_with_sql_and_escapes_is_kept_as_text(ctx):
    """The drop-off's writes travel as one text batch: every quote, backslash,
    semicolon and comment in a note must arrive as text, nothing run."""
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    tok = f.t.at_a.token
    notes = ["O'Brien", "a\\'; DROP TABLE ledger; -- ", "\\", "\"quoted\" \\n",
             "'); UPDATE households SET balance = 999999; #", "%_?@wb_r0", "\u00ff\u2028x"]
    for note in notes:
        d = dropoff_ok(ctx, tok, h["code"], [_g(f, 100)], note=note)
        got = expect_json(ctx.get("/v1/dropoffs/%d" % d["id"], token=ctx.admin_token), 200)
        expect_eq(got.get("note"), note, "note stored as sent")
    expect_eq(get_household(ctx, h["id"])["balance"], len(notes), "one point each, no more")
    check_ledger_consistent(ctx, h["id"])


# ----------------------------------------------------------------------------- each refusal

def test_ledger_dropoff_grams_0_refused(ctx):
    f = fx(ctx)
    _refused(ctx, f, _base(f, items=[_g(f, 0)]), "items[0].grams")


def test_ledger_dropoff_grams_500001_refused(ctx):
    f = fx(ctx)
    _refused(ctx, f, _base(f, items=[_g(f), _g(f, 500001)]), "items[1].grams")


def test_ledger_dropoff_grams_negative_or_not_integer_refused(ctx):
    f = fx(ctx)
    for g in (-5, 10.5, "100", None, True):
        _refused(ctx, f, _base(f, items=[{"category": f.g10, "grams": g}]), "items[0].grams")


def test_ledger_dropoff_count_0_refused(ctx):
    f = fx(ctx)
    _refused(ctx, f, _base(f, items=[{"category": f.it5, "count": 0}]), "items[0].count")


def test_ledger_dropoff_count_1001_refused(ctx):
    f = fx(ctx)
    _refused(ctx, f, _base(f, items=[{"category": f.it5, "count": 1001}]), "items[0].count")


def test_ledger_dropoff_21_items_refused(ctx):
    f = fx(ctx)
    _refused(ctx, f, _base(f, items=[_g(f, 100)] * 21), "items")


def test_ledger_dropoff_0_items_refused(ctx):
    f = fx(ctx)
    _refused(ctx, f, _base(f, items=[]), "items")
    _refused(ctx, f, {"code": f.H["code"]}, "items")
    _refused(ctx, f, _base(f, items=_g(f)), "items")


def test_ledger_dropoff_note_201_characters_refused(ctx):
    f = fx(ctx)
    _refused(ctx, f, _base(f, note="x" * 201), "note")
    _refused(ctx, f, _base(f, note="注" * 201), "note")


def test_ledger_dropoff_recorded_at_10_minutes_ahead_refused(ctx):
    f = fx(ctx)
    _refused(ctx, f, _base(f, recorded_at=when(seconds=600)), "recorded_at")


def test_ledger_dropoff_recorded_at_31_days_back_refused(ctx):
    f = fx(ctx)
    _refused(ctx, f, _base(f, recorded_at=when(days=-31)), "recorded_at")


def test_ledger_dropoff_recorded_at_not_rfc3339_refused(ctx):
    f = fx(ctx)
    now = when()
    for bad in (now.replace("T", " "), now[:19], "yesterday", now[:10], "2026-13-40T25:61:00+08:00",
                12345, ""):
        _refused(ctx, f, _base(f, recorded_at=bad), "recorded_at")


def test_ledger_dropoff_unknown_field_refused(ctx):
    f = fx(ctx)
    _refused(ctx, f, _base(f, points=1000), "points")
    _refused(ctx, f, _base(f, items=[{"category": f.g10, "grams": 100, "rate": 999}]),
             "items[0].rate")


def test_ledger_dropoff_missing_code_refused(ctx):
    f = fx(ctx)
    _refused(ctx, f, {"items": [_g(f)]}, "code")
    _refused(ctx, f, _base(f, code=""), "code")
    _refused(ctx, f, _base(f, code=None), "code")


def test_ledger_dropoff_item_with_grams_and_count_refused(ctx):
    f = fx(ctx)
    _refused(ctx, f, _base(f, items=[{"category": f.g10, "grams": 100, "count": 2}]),
             "items[0].count")
    _refused(ctx, f, _base(f, items=[{"category": f.it5, "grams": 100, "count": 2}]),
             "items[0].grams")


def test_ledger_dropoff_wrong_measure_for_the_unit_refused(ctx):
    f = fx(ctx)
    _refused(ctx, f, _base(f, items=[{"category": f.g10, "count": 2}]), "items[0].count")
    _refused(ctx, f, _base(f, items=[{"category": f.it5, "grams": 200}]), "items[0].grams")
    _refused(ctx, f, _base(f, items=[{"category": f.g10}]), "items[0].grams")
    _refused(ctx, f, _base(f, items=[{"category": f.it5}]), "items[0].count")


def test_ledger_dropoff_unknown_category_refused(ctx):
    f = fx(ctx)
    _refused(ctx, f, _base(f, items=[{"category": "no_such_" + tag(6), "grams": 100}]),
             "items[0].category")
    _refused(ctx, f, _base(f, items=[_g(f), {"category": "PAPER", "grams": 100}]),
             "items[1].category")
    _refused(ctx, f, _base(f, items=[{"grams": 100}]), "items[0].category")


def test_ledger_dropoff_idempotency_key_65_characters_refused(ctx):
    f = fx(ctx)
    _refused(ctx, f, _base(f), "Idempotency-Key", key="k" * 65)


def test_ledger_dropoff_idempotency_key_with_spaces_refused(ctx):
    f = fx(ctx)
    for k in ("a b", "key/1", "ключ", "k=1", "k;1"):
        r = post_dropoff(ctx, f.t.at_a.token, _base(f),
                         headers={"Idempotency-Key": k.encode("utf-8").decode("latin-1")},
                         key=False)
        expect_error(r, 400, "invalid_request", "Idempotency-Key")
    _unchanged(ctx, f)


def test_ledger_dropoff_empty_idempotency_key_refused(ctx):
    f = fx(ctx)
    _refused(ctx, f, _base(f), "Idempotency-Key", key="")


def test_ledger_dropoff_missing_idempotency_key_refused(ctx):
    f = fx(ctx)
    _refused(ctx, f, _base(f), "Idempotency-Key", key=False)


def test_ledger_dropoff_malformed_json_refused(ctx):
    f = fx(ctx)
    r = post_dropoff(ctx, f.t.at_a.token, raw='{"code": "x", "items": [', key=new_key())
    expect_error(r, 400, "invalid_request")
    r = post_dropoff(ctx, f.t.at_a.token, raw=json.dumps([_base(f)]), key=new_key())
    expect_error(r, 400, "invalid_request")
    _unchanged(ctx, f)


def test_ledger_refused_dropoff_key_can_be_used_again(ctx):
    """A refusal before the transaction stores nothing: the same key then records."""
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    k = new_key()
    r = post_dropoff(ctx, f.t.at_a.token, _base(f, code=h["code"], items=[_g(f, 0)]), key=k)
    expect_error(r, 400, "invalid_request", "items[0].grams")
    d = dropoff_ok(ctx, f.t.at_a.token, h["code"], [_g(f, 2000)], key=k)
    expect_eq((d["points"], d["balance"]), (20, 20), "the same key after a refusal")


# ----------------------------------------------------------------------------- who, for whom

def test_ledger_dropoff_suspended_household_is_inactive_and_replayed(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    expect_status(ctx.call("PATCH", "/v1/households/%d" % h["id"], {"status": "suspended"},
                           token=ctx.admin_token), 200)
    k = new_key()
    body = dropoff_body(h["code"], [_g(f)])
    r = post_dropoff(ctx, f.t.at_a.token, body, key=k)
    expect_error(r, 409, "household_inactive")
    assert r.json.get("replayed") in (None, False), "first answer says replayed: %r" % r
    r2 = post_dropoff(ctx, f.t.at_a.token, body, key=k)
    expect_error(r2, 409, "household_inactive")
    expect_eq(r2.json.get("replayed"), True, "the stored 409 replayed")
    # the stored outcome holds even after the household is active again
    expect_status(ctx.call("PATCH", "/v1/households/%d" % h["id"], {"status": "active"},
                           token=ctx.admin_token), 200)
    r3 = post_dropoff(ctx, f.t.at_a.token, body, key=k)
    expect_error(r3, 409, "household_inactive")
    expect_eq(r3.json.get("replayed"), True, "replayed after reactivation")
    expect_eq(ledger_of(ctx, h["id"]), [], "no ledger row")
    expect_eq(dropoffs_of(ctx, h["id"]), [], "no drop-off")
    d = dropoff_ok(ctx, f.t.at_a.token, h["code"], [_g(f)])
    expect_eq(d["points"], 10, "a new key records once active")


def test_ledger_dropoff_closed_household_is_inactive(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    expect_status(ctx.call("PATCH", "/v1/households/%d" % h["id"], {"status": "closed"},
                           token=ctx.admin_token), 200)
    r = post_dropoff(ctx, f.t.at_a.token, dropoff_body(h["code"], [_g(f)]))
    expect_error(r, 409, "household_inactive")
    expect_eq(ledger_of(ctx, h["id"]), [], "no ledger row")


def test_ledger_dropoff_forged_card_unknown_code(ctx):
    f = fx(ctx)
    code = f.H["code"]
    head, mac = code.rsplit(".", 1)
    forged_mac = head + "." + ("A" if mac[0] != "A" else "B") + mac[1:]
    parts = code.split(".")
    other_id = ".".join([parts[0], str(int(parts[1]) + 1)] + parts[2:])
    for bad in (forged_mac, other_id, "WB1.1.1.AAAAAAAAAAAAAAAA", "hello", code + "A"):
        r = post_dropoff(ctx, f.t.at_a.token, dropoff_body(bad, [_g(f)]))
        expect_error(r, 404, "unknown_code")
    _unchanged(ctx, f)


def test_ledger_dropoff_reissued_card_old_code_unknown(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    r = ctx.post("/v1/households/%d/card" % h["id"], token=ctx.admin_token)
    new = expect_json(r, 200)["code"]
    r = post_dropoff(ctx, f.t.at_a.token, dropoff_body(h["code"], [_g(f)]))
    expect_error(r, 404, "unknown_code")
    d = dropoff_ok(ctx, f.t.at_a.token, new, [_g(f)])
    expect_eq(d["household_id"], h["id"], "the new card works")


def test_ledger_dropoff_household_of_another_county_not_found(ctx):
    f = fx(ctx)
    r = post_dropoff(ctx, f.t.at_b.token, dropoff_body(f.H["code"], [_g(f)]))
    expect_error(r, 404, "not_found")
    r = ctx.post("/v1/scan", {"code": f.H["code"]}, token=f.t.at_b.token)
    expect_error(r, 404, "not_found")
    _unchanged(ctx, f)


def test_ledger_dropoff_attendant_serves_its_whole_county(ctx):
    """at_a is at a site in town TA; a household of village VA2 (also TA) and of the
    county's other villages are served."""
    f = fx(ctx)
    v = ctx.post("/v1/regions", {"parent_id": f.t.A["id"], "name": "v-" + tag(4),
                                 "level": "village", "code": uniq_code()},
                 token=ctx.admin_token)
    v = expect_json(v, 201)
    h = mk_household(ctx, v["id"])
    d = dropoff_ok(ctx, f.t.at_a.token, h["code"], [_g(f)])
    expect_eq(d["household_id"], h["id"], "household of a village straight under the county")


def test_ledger_dropoff_non_attendant_roles_forbidden(ctx):
    f = fx(ctx)
    res = resident_of(ctx, f.H, "4821")
    body = dropoff_body(f.H["code"], [_g(f)])
    for who, tok in (("admin", ctx.admin_token), ("region_admin", f.t.ra_a.token),
                     ("clerk", f.clerk.token), ("resident", res.token)):
        r = post_dropoff(ctx, tok, body)
        expect_error(r, 403, "forbidden")
        r = ctx.post("/v1/dropoffs/batch", {"dropoffs": [dict(body, client_ref=new_key())]},
                     token=tok)
        expect_error(r, 403, "forbidden")
    r = post_dropoff(ctx, None, body)
    expect_error(r, 401, "unauthorized")
    _unchanged(ctx, f)


# ----------------------------------------------------------------------------- replays

def test_ledger_dropoff_replay_same_key_same_body(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    k = new_key()
    body = dropoff_body(h["code"], [_g(f, 1500), {"category": f.it5, "count": 3}],
                        recorded_at=when(seconds=-30), note="first")
    r1 = post_dropoff(ctx, f.t.at_a.token, body, key=k)
    d1 = expect_json(r1, 201)
    expect_eq(d1["replayed"], False, "first answer")
    r2 = post_dropoff(ctx, f.t.at_a.token, body, key=k)
    d2 = expect_json(r2, 201)
    expect_eq(d2.get("replayed"), True, "second answer")
    expect_eq({k2: v for k2, v in d2.items() if k2 != "replayed"},
              {k2: v for k2, v in d1.items() if k2 != "replayed"}, "replayed body")
    # the same body with its keys in another order is the same request
    reordered = json.loads(json.dumps({"note": body["note"], "recorded_at": body["recorded_at"],
                                       "items": body["items"], "code": body["code"]}))
    d3 = expect_json(post_dropoff(ctx, f.t.at_a.token, reordered, key=k), 201)
    expect_eq((d3["id"], d3["replayed"]), (d1["id"], True), "reordered body replays")
    # another attendant of the same site (a shared handheld) replays too
    d4 = expect_json(post_dropoff(ctx, f.at_a_bis.token, body, key=k), 201)
    expect_eq((d4["id"], d4["replayed"], d4["balance"]), (d1["id"], True, d1["balance"]),
              "same site, other attendant")
    rows = check_ledger_consistent(ctx, h["id"])
    expect_eq(len(rows), 1, "one ledger row for four answers")
    expect_eq(len(dropoffs_of(ctx, h["id"])), 1, "one drop-off")
    expect_eq(get_household(ctx, h["id"])["balance"], d1["points"], "balance")


def test_ledger_dropoff_same_key_other_body_conflict(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    k = new_key()
    at = when(seconds=-30)
    d1 = dropoff_ok(ctx, f.t.at_a.token, h["code"], [_g(f, 1500)], key=k, recorded_at=at)
    for other in (dropoff_body(h["code"], [_g(f, 1501)], recorded_at=at),
                  dropoff_body(h["code"], [_g(f, 1500)], recorded_at=at, note="x"),
                  dropoff_body(h["code"], [_g(f, 1500)]),
                  dropoff_body(f.H["code"], [_g(f, 1500)], recorded_at=at)):
        r = post_dropoff(ctx, f.t.at_a.token, other, key=k)
        expect_error(r, 409, "idempotency_conflict")
    expect_eq(len(ledger_of(ctx, h["id"])), 1, "ledger rows")
    expect_eq(get_household(ctx, h["id"])["balance"], d1["points"], "balance")
    _unchanged(ctx, f)


def test_ledger_dropoff_same_key_at_two_sites_is_two_dropoffs(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    k = new_key()
    body = dropoff_body(h["code"], [_g(f, 2000)], recorded_at=when(seconds=-30))
    d1 = expect_json(post_dropoff(ctx, f.t.at_a.token, body, key=k), 201)
    d2 = expect_json(post_dropoff(ctx, f.at_a2.token, body, key=k), 201)
    expect_eq((d1["replayed"], d2["replayed"]), (False, False), "both new")
    assert d1["id"] != d2["id"], "the same drop-off id at two sites: %r %r" % (d1, d2)
    expect_eq((d1["site_id"], d2["site_id"]), (f.t.SA["id"], f.SA2["id"]), "sites")
    expect_eq((d1["balance"], d2["balance"]), (20, 40), "balances")
    # and each replays at its own site
    r1 = expect_json(post_dropoff(ctx, f.t.at_a.token, body, key=k), 201)
    r2 = expect_json(post_dropoff(ctx, f.at_a2.token, body, key=k), 201)
    expect_eq((r1["id"], r1["replayed"], r2["id"], r2["replayed"]),
              (d1["id"], True, d2["id"], True), "replays per site")
    expect_eq(len(check_ledger_consistent(ctx, h["id"])), 2, "two ledger rows")


def test_ledger_dropoff_keys_are_case_sensitive(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    k = "Case-" + tag(8).upper()
    body = dropoff_body(h["code"], [_g(f, 1000)], recorded_at=when(seconds=-30))
    a = expect_json(post_dropoff(ctx, f.t.at_a.token, body, key=k), 201)
    b = expect_json(post_dropoff(ctx, f.t.at_a.token, body, key=k.lower()), 201)
    expect_eq((a["replayed"], b["replayed"]), (False, False), "two keys, two drop-offs")
    assert a["id"] != b["id"], (a, b)
    expect_eq(get_household(ctx, h["id"])["balance"], 20, "balance")


# ----------------------------------------------------------------------------- batch

def _batch(ctx, token, items, raw=None):
    if raw is not None:
        return ctx.post("/v1/dropoffs/batch", raw=raw, token=token)
    return ctx.post("/v1/dropoffs/batch", {"dropoffs": items}, token=token)


def test_ledger_batch_mixes_new_replayed_and_refused(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    h2 = mk_household(ctx, f.t.VA2["id"])
    at = when(seconds=-300)
    k_single = new_key("single")
    single_body = dropoff_body(h["code"], [_g(f, 3000)], recorded_at=at)
    single = expect_json(post_dropoff(ctx, f.t.at_a.token, single_body, key=k_single), 201)

    forged = h["code"][:-1] + ("A" if h["code"][-1] != "A" else "B")
    n1, n2, bad1, bad2 = (new_key(p) for p in ("n1", "n2", "bad1", "bad2"))
    items = [
        dict(dropoff_body(h["code"], [_g(f, 1000)], recorded_at=at), client_ref=n1),
        dict(single_body, client_ref=k_single),                     # used by a single POST
        dict(dropoff_body(forged, [_g(f, 1000)], recorded_at=at), client_ref=bad1),
        dict(dropoff_body(h["code"], [{"category": "nope_" + tag(5), "grams": 10}],
                          recorded_at=at), client_ref=bad2),
        dict(dropoff_body(h["code"], [_g(f, 1000)], recorded_at=at), client_ref=n1),  # repeat
        dict(dropoff_body(h2["code"], [{"category": f.it5, "count": 4}], recorded_at=at),
             client_ref=n2),
        dict(dropoff_body(h["code"], [_g(f, 9999)], recorded_at=at), client_ref=n1),  # conflict
    ]
    body = expect_json(_batch(ctx, f.t.at_a.token, items), 200)
    res = body.get("results")
    assert isinstance(res, list) and len(res) == len(items), "results: %r" % body
    expect_eq([x.get("client_ref") for x in res], [x["client_ref"] for x in items],
              "results in request order")
    expect_eq([x.get("status") for x in res],
              ["created", "replayed", "error", "error", "replayed", "created", "error"],
              "statuses")
    c1 = res[0]["dropoff"]
    expect_eq((c1["household_id"], c1["points"], c1["replayed"], c1["site_id"]),
              (h["id"], 10, False, f.t.SA["id"]), "first created")
    rp = res[1]["dropoff"]
    expect_eq((rp["id"], rp["points"], rp["replayed"]), (single["id"], 30, True),
              "replay of the single POST")
    e = res[2]["error"]
    expect_eq(e.get("code"), "unknown_code", "forged card in a batch")
    assert e.get("message"), e
    e = res[3]["error"]
    expect_eq((e.get("code"), e.get("field")), ("invalid_request", "items[0].category"),
              "unknown category in a batch")
    expect_eq((res[4]["dropoff"]["id"], res[4]["dropoff"]["replayed"]), (c1["id"], True),
              "a client_ref repeated in the batch")
    c2 = res[5]["dropoff"]
    expect_eq((c2["household_id"], c2["points"]), (h2["id"], 20), "second created")
    expect_eq(res[6]["error"].get("code"), "idempotency_conflict", "repeat with another body")
    for x in res:
        if x["status"] == "error":
            assert "dropoff" not in x, x
        else:
            assert "error" not in x, x

    rows = check_ledger_consistent(ctx, h["id"])
    expect_eq(sorted(x["ref_id"] for x in rows), sorted([single["id"], c1["id"]]), "ledger of h")
    expect_eq(len(check_ledger_consistent(ctx, h2["id"])), 1, "ledger of h2")

    # the batch's client_refs share the site's namespace with Idempotency-Key
    again = expect_json(post_dropoff(ctx, f.t.at_a.token,
                                     dropoff_body(h2["code"], [{"category": f.it5, "count": 4}],
                                                  recorded_at=at), key=n2), 201)
    expect_eq((again["id"], again["replayed"]), (c2["id"], True), "single POST with a client_ref")
    # the whole batch again: everything replays (the refusals are refused again)
    body = expect_json(_batch(ctx, f.t.at_a.token, items), 200)
    expect_eq([x.get("status") for x in body["results"]],
              ["replayed", "replayed", "error", "error", "replayed", "replayed", "error"],
              "statuses of the batch sent again")
    expect_eq(len(ledger_of(ctx, h["id"])), 2, "no new ledger rows")


def test_ledger_batch_inactive_household_item(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    hs = mk_household(ctx, f.t.VA["id"])
    expect_status(ctx.call("PATCH", "/v1/households/%d" % hs["id"], {"status": "suspended"},
                           token=ctx.admin_token), 200)
    items = [dict(dropoff_body(hs["code"], [_g(f)]), client_ref=new_key()),
             dict(dropoff_body(h["code"], [_g(f)]), client_ref=new_key()),
             dict(dropoff_body(hs["code"], [_g(f)]), client_ref=new_key())]
    items[2]["client_ref"] = items[0]["client_ref"]
    body = expect_json(_batch(ctx, f.t.at_a.token, items), 200)
    res = body["results"]
    expect_eq([x["status"] for x in res], ["error", "created", "error"], "statuses")
    expect_eq((res[0]["error"]["code"], res[2]["error"]["code"]),
              ("household_inactive", "household_inactive"), "inactive household items")
    expect_eq(ledger_of(ctx, hs["id"]), [], "nothing for the suspended household")


def test_ledger_batch_other_county_item_not_found(ctx):
    f = fx(ctx)
    hb = mk_household(ctx, f.t.VB["id"])
    body = expect_json(_batch(ctx, f.t.at_a.token,
                              [dict(dropoff_body(hb["code"], [_g(f)]), client_ref=new_key())]),
                       200)
    expect_eq((body["results"][0]["status"], body["results"][0]["error"]["code"]),
              ("error", "not_found"), "household of another county")
    expect_eq(ledger_of(ctx, hb["id"]), [], "nothing written")


def test_ledger_batch_malformed_envelope_refused_whole(ctx):
    f = fx(ctx)
    good = dict(dropoff_body(f.H["code"], [_g(f)]), client_ref=new_key())
    tok = f.t.at_a.token
    for raw in (json.dumps({"dropoffs": []}),
                json.dumps({"dropoffs": [dict(good, client_ref=new_key()) for _ in range(501)]}),
                json.dumps({"dropoffs": [good], "site_id": 1}),
                json.dumps({"dropoffs": good}),
                json.dumps([good]),
                json.dumps({}),
                json.dumps({"dropoffs": None}),
                '{"dropoffs": [',
                ):
        r = _batch(ctx, tok, None, raw=raw)
        expect_error(r, 400, "invalid_request")
    no_ref = {k: v for k, v in good.items() if k != "client_ref"}
    for bad, field in (([good, no_ref], "dropoffs[1].client_ref"),
                       ([good, dict(good, client_ref="has space")], "dropoffs[1].client_ref"),
                       ([dict(good, client_ref="r" * 65)], "dropoffs[0].client_ref"),
                       ([dict(good, client_ref="")], "dropoffs[0].client_ref"),
                       ([dict(good, client_ref=17)], "dropoffs[0].client_ref"),
                       ([good, "not an object"], "dropoffs[1].client_ref")):
        r = _batch(ctx, tok, bad)
        expect_error(r, 400, "invalid_request", field)
    _unchanged(ctx, f)
    # the good item's client_ref was not stored by the refused batches
    body = expect_json(_batch(ctx, tok, [good]), 200)
    expect_eq(body["results"][0]["status"], "created", "good item after refused batches")


def test_ledger_batch_item_errors_name_their_field(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    items = [dict(dropoff_body(h["code"], [_g(f, 0)]), client_ref=new_key()),
             dict(dropoff_body(h["code"], [_g(f)], recorded_at=when(days=-31)),
                  client_ref=new_key()),
             dict(dropoff_body(h["code"], [_g(f)], note="n" * 201), client_ref=new_key()),
             dict(dropoff_body(h["code"], [_g(f)]), client_ref=new_key(), extra=1),
             dict(dropoff_body(h["code"], [_g(f)]), client_ref=new_key())]
    body = expect_json(_batch(ctx, f.t.at_a.token, items), 200)
    res = body["results"]
    expect_eq([x["status"] for x in res], ["error"] * 4 + ["created"], "statuses")
    expect_eq([(x["error"]["code"], x["error"].get("field")) for x in res[:4]],
              [("invalid_request", "items[0].grams"), ("invalid_request", "recorded_at"),
               ("invalid_request", "note"), ("invalid_request", "extra")], "item errors")
    # refused items stored nothing: their refs work now
    fixed = [dict(dropoff_body(h["code"], [_g(f)]), client_ref=items[0]["client_ref"])]
    body = expect_json(_batch(ctx, f.t.at_a.token, fixed), 200)
    expect_eq(body["results"][0]["status"], "created", "a refused item's ref used again")
    expect_eq(len(check_ledger_consistent(ctx, h["id"])), 2, "ledger rows")


def test_ledger_batch_of_500_applies_each(ctx):
    f = fx(ctx)
    hs = [mk_household(ctx, f.t.VA["id"]) for _ in range(5)]
    at = when(seconds=-60)
    items = [dict(dropoff_body(hs[i % 5]["code"], [_g(f, 100 * (1 + i % 7))], recorded_at=at),
                  client_ref="b%d-%s" % (i, tag(6))) for i in range(500)]
    body = expect_json(_batch(ctx, f.t.at_a.token, items), 200)
    res = body["results"]
    expect_eq(len(res), 500, "results")
    bad = [x for x in res if x["status"] != "created"]
    assert not bad, "items not created: %r" % bad[:3]
    for i, h in enumerate(hs):
        want = sum(1 + j % 7 for j in range(i, 500, 5))
        expect_eq(get_household(ctx, h["id"])["balance"], want, "balance of household %d" % i)


# ----------------------------------------------------------------------------- reading

def test_ledger_dropoff_list_and_get_with_reach(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    d1 = uploaded_ok(ctx, f.t.at_a.token, h["code"], [_g(f)], recorded_at=when(days=-3))
    d2 = dropoff_ok(ctx, f.at_a2.token, h["code"], [_g(f, 2000)])
    d3 = dropoff_ok(ctx, f.t.at_a.token, h["code"], [_g(f, 3000)])
    for tok in (ctx.admin_token, f.t.ra_a.token, f.t.at_a.token):
        items = expect_json(ctx.get("/v1/dropoffs?household_id=%d" % h["id"], token=tok),
                            200)["items"]
        expect_eq([x["id"] for x in items], [d3["id"], d2["id"], d1["id"]], "newest first")
    items = expect_json(ctx.get("/v1/dropoffs?household_id=%d&site_id=%d"
                                % (h["id"], f.SA2["id"]), token=ctx.admin_token), 200)["items"]
    expect_eq([x["id"] for x in items], [d2["id"]], "by site")
    day = d1["recorded_at"]
    from test_ledger import local_day
    dd = local_day(day)
    items = expect_json(ctx.get("/v1/dropoffs?household_id=%d&from=%s&to=%s" % (h["id"], dd, dd),
                                token=ctx.admin_token), 200)["items"]
    expect_eq([x["id"] for x in items], [d1["id"]], "by day")
    page = expect_json(ctx.get("/v1/dropoffs?household_id=%d&limit=2" % h["id"],
                               token=ctx.admin_token), 200)
    expect_eq([x["id"] for x in page["items"]], [d3["id"], d2["id"]], "first page")
    assert page.get("next_cursor"), page
    page = expect_json(ctx.get("/v1/dropoffs?household_id=%d&limit=2&cursor=%s"
                               % (h["id"], page["next_cursor"]), token=ctx.admin_token), 200)
    expect_eq([x["id"] for x in page["items"]], [d1["id"]], "second page")
    # another county's staff see none of it: naming the household is 404
    expect_error(ctx.get("/v1/dropoffs?household_id=%d" % h["id"], token=f.t.ra_b.token),
                 404, "not_found")
    for tok in (f.t.ra_b.token, f.t.at_b.token):
        expect_error(ctx.get("/v1/dropoffs/%d" % d1["id"], token=tok), 404, "not_found")
    expect_error(ctx.get("/v1/dropoffs/999999999999", token=ctx.admin_token), 404, "not_found")
    got = expect_json(ctx.get("/v1/dropoffs/%d" % d2["id"], token=f.t.ra_a.token), 200)
    expect_eq((got["id"], got["site_id"], got["household_id"], got["points"], got["status"]),
              (d2["id"], f.SA2["id"], h["id"], 20, "ok"), "GET by id")


def test_ledger_batch_body_limit_is_1_mib(ctx):
    f = fx(ctx)
    h = mk_household(ctx, f.t.VA["id"])
    at = when(seconds=-60)
    items = [dict(dropoff_body(h["code"], [_g(f, 100)], recorded_at=at, note="注" * 200),
                  client_ref="big%d-%s" % (i, tag(6))) for i in range(500)]
    raw = json.dumps({"dropoffs": items})
    assert 256 * 1024 < len(raw) < 1024 * 1024, len(raw)
    body = expect_json(_batch(ctx, f.t.at_a.token, None, raw=raw), 200)
    expect_eq(sum(1 for x in body["results"] if x["status"] == "created"), 500,
              "a %d-byte batch (over the 64 KiB single limit) is taken" % len(raw))
    h2 = mk_household(ctx, f.t.VA["id"])
    items = [dict(dropoff_body(h2["code"], [_g(f, 100)] * 20, recorded_at=at, note="注" * 200),
                  client_ref="huge%d-%s" % (i, tag(6))) for i in range(500)]
    raw = json.dumps({"dropoffs": items})
    assert len(raw) > 1024 * 1024, len(raw)
    expect_error(_batch(ctx, f.t.at_a.token, None, raw=raw), 413,
                 "payload_too_large")
    expect_eq(ledger_of(ctx, h2["id"]), [], "nothing written by the refused batch")
