"""Identity: households, their cards (QR images, reissue, forged codes), PINs and the PIN
lock, scanning, and the resident's own view (api.md Households, Scan, Auth)."""

import os
import re
import shutil
import subprocess
import time

from lib import expect_eq, expect_error, expect_json, expect_status, parse_rfc3339
from test_identity import (CODE_RE, ME, get_household, mk_household, mk_region, resident,
                           resident_signin, scan, tag, world, refused_everywhere)

B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _hh_path(h, suffix=""):
    return "/v1/households/%d%s" % (h["id"] if isinstance(h, dict) else h, suffix)


def _village(ctx, parent=None):
    """A fresh village of county X (a test's own, for searches that must see only its
    households)."""
    w = world(ctx)
    return mk_region(ctx, ctx.admin_token, parent or w.TX["id"], "village")


# ----------------------------------------------------------------------------- create / get

def test_household_create_answers_the_whole_household(ctx):
    w = world(ctx)
    before = time.time()
    r = ctx.post("/v1/households", {"region_id": w.VX["id"], "head_name": "张三丰",
                                    "address": "3 Well Lane, Dongcun", "phone": "+86 138-0000-1234",
                                    "members": 4, "pin": "4821"}, token=w.ra_x.token)
    h = expect_json(r, 201)
    assert isinstance(h.get("id"), int) and h["id"] > 0, h
    expect_eq(h.get("region_id"), w.VX["id"], "region_id")
    expect_eq(h.get("region_name"), w.VX["name"], "region_name")
    expect_eq(h.get("head_name"), "张三丰", "head_name")
    expect_eq(h.get("address"), "3 Well Lane, Dongcun", "address")
    expect_eq(h.get("phone"), "+86 138-0000-1234", "phone")
    expect_eq(h.get("members"), 4, "members")
    expect_eq(h.get("status"), "active", "status")
    expect_eq(h.get("balance"), 0, "balance")
    expect_eq(h.get("pin_set"), True, "pin_set")
    assert CODE_RE.match(h.get("code", "")), "code is not a card payload: %r" % h.get("code")
    assert h["code"].startswith("WB1.%d." % h["id"]), h["code"]
    created = parse_rfc3339(h.get("created_at")).timestamp()
    assert before - 5 <= created <= time.time() + 5, h["created_at"]
    assert "pin" not in h and "pin_hash" not in h, "the answer shows the PIN: %r" % h
    expect_eq(get_household(ctx, h["id"], w.ra_x.token), h, "GET of the new household")


def test_household_defaults_without_optional_fields(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.CX["id"], head_name="Min", address="a")
    expect_eq((h.get("phone"), h.get("members"), h.get("pin_set"), h.get("status")),
              (None, 1, False, "active"), "phone, members, pin_set, status")
    h = mk_household(ctx, ctx.admin_token, w.CX["id"], phone=None, pin=None)
    expect_eq((h.get("phone"), h.get("pin_set")), (None, False), "explicit nulls")


def test_household_in_a_community_straight_under_a_county(ctx):
    w = world(ctx)
    h = mk_household(ctx, w.ra_x.token, w.CX["id"])
    expect_eq(h["region_id"], w.CX["id"], "region_id")


def test_household_field_bounds_accept_the_limits(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"], head_name="名" * 100, address="址" * 200,
                     members=99, phone="123")
    expect_eq((len(h["head_name"]), len(h["address"]), h["members"], h["phone"]),
              (100, 200, 99, "123"), "limits")
    h = mk_household(ctx, ctx.admin_token, w.VX["id"], head_name="x", address="y", members=1,
                     phone="1" * 32)
    expect_eq((h["head_name"], h["members"]), ("x", 1), "minimums")


def _create_refused(ctx, body, field, status=400, code="invalid_request"):
    r = ctx.post("/v1/households", body, token=ctx.admin_token)
    expect_error(r, status, code, field)


def test_household_head_name_over_100_characters_is_refused(ctx):
    w = world(ctx)
    _create_refused(ctx, {"region_id": w.VX["id"], "head_name": "名" * 101, "address": "a"},
                    "head_name")
    _create_refused(ctx, {"region_id": w.VX["id"], "head_name": "", "address": "a"}, "head_name")
    _create_refused(ctx, {"region_id": w.VX["id"], "address": "a"}, "head_name")


def test_household_address_over_200_characters_is_refused(ctx):
    w = world(ctx)
    _create_refused(ctx, {"region_id": w.VX["id"], "head_name": "n", "address": "a" * 201},
                    "address")
    _create_refused(ctx, {"region_id": w.VX["id"], "head_name": "n", "address": ""}, "address")
    _create_refused(ctx, {"region_id": w.VX["id"], "head_name": "n"}, "address")


def test_household_members_0_and_100_are_refused(ctx):
    w = world(ctx)
    for m in (0, 100, -1, 1.5, "3", True):
        _create_refused(ctx, {"region_id": w.VX["id"], "head_name": "n", "address": "a",
                              "members": m}, "members")


def test_household_bad_phone_is_refused(ctx):
    w = world(ctx)
    for p in ("abc", "12", "138 0000 x", "1" * 33, "---", 13800001234, ""):
        _create_refused(ctx, {"region_id": w.VX["id"], "head_name": "n", "address": "a",
                              "phone": p}, "phone")


def test_household_in_a_town_or_county_is_refused(ctx):
    w = world(ctx)
    for g in (w.TX, w.X, w.prov):
        _create_refused(ctx, {"region_id": g["id"], "head_name": "n", "address": "a"},
                        "region_id")


def test_household_in_an_unknown_region_is_not_found(ctx):
    _create_refused(ctx, {"region_id": 999999999999, "head_name": "n", "address": "a"},
                    None, 404, "not_found")


def test_household_unknown_field_and_wrong_types_are_refused(ctx):
    w = world(ctx)
    base = {"region_id": w.VX["id"], "head_name": "n", "address": "a"}
    for body, field in (({**base, "balance": 100}, "balance"),
                        ({**base, "status": "active"}, "status"),
                        ({**base, "region_id": str(w.VX["id"])}, "region_id"),
                        ({**base, "head_name": 5}, "head_name"),
                        ({**base, "address": ["a"]}, "address"),
                        ({**base, "pin": 4821}, "pin"),
                        ({k: v for k, v in base.items() if k != "region_id"}, "region_id")):
        _create_refused(ctx, body, field)


# ----------------------------------------------------------------------------- patch

def test_household_patch_changes_each_field(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"], phone="13800001234", members=2)
    p = _hh_path(h)
    t = w.ra_x.token
    got = expect_json(ctx.call("PATCH", p, {"head_name": "New Head", "address": "New Addr",
                                            "members": 5}, token=t), 200)
    expect_eq((got["head_name"], got["address"], got["members"], got["phone"]),
              ("New Head", "New Addr", 5, "13800001234"), "after the patch")
    got = expect_json(ctx.call("PATCH", p, {"phone": "021-555"}, token=t), 200)
    expect_eq(got["phone"], "021-555", "phone")
    got = expect_json(ctx.call("PATCH", p, {"phone": None}, token=t), 200)
    assert got.get("phone", "missing") is None, "phone null did not clear: %r" % got
    expect_eq(get_household(ctx, h["id"])["phone"], None, "phone stored after clearing")
    for status in ("suspended", "closed", "active"):
        got = expect_json(ctx.call("PATCH", p, {"status": status}, token=t), 200)
        expect_eq(got["status"], status, "status")
    expect_eq(got["code"], h["code"], "code unchanged by a patch")


def test_household_patch_bounds_are_refused(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"])
    p = _hh_path(h)
    for body, field in (({"members": 0}, "members"), ({"members": 100}, "members"),
                        ({"head_name": "n" * 101}, "head_name"), ({"head_name": ""}, "head_name"),
                        ({"address": "a" * 201}, "address"), ({"phone": "abc"}, "phone"),
                        ({"status": "deleted"}, "status"), ({"status": "ACTIVE"}, "status"),
                        ({"balance": 5}, "balance"), ({"region_id": 1}, "region_id"),
                        ({"head_name": None}, "head_name"), ({"members": "2"}, "members")):
        expect_error(ctx.call("PATCH", p, body, token=ctx.admin_token), 400, "invalid_request",
                     field)
    expect_error(ctx.call("PATCH", p, {}, token=ctx.admin_token), 400, "invalid_request")
    expect_eq(get_household(ctx, h["id"]), h, "household after refused patches")


def test_household_patch_unknown_is_not_found(ctx):
    expect_error(ctx.call("PATCH", "/v1/households/999999999999", {"members": 2},
                          token=ctx.admin_token), 404, "not_found")


def test_suspended_or_closed_household_scans_with_its_status(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"])
    for status in ("suspended", "closed"):
        expect_status(ctx.call("PATCH", _hh_path(h), {"status": status}, token=ctx.admin_token),
                      200)
        body = expect_json(scan(ctx, w.at_x.token, h["code"]), 200)
        expect_eq((body.get("household_id"), body.get("status")), (h["id"], status),
                  "scanned household")


# ----------------------------------------------------------------------------- search

def test_household_search_matches_name_and_address(ctx):
    v = _village(ctx)
    t = ctx.admin_token
    k = tag(8)
    a = mk_household(ctx, t, v["id"], head_name="Liu %s" % k, address="East Road")
    b = mk_household(ctx, t, v["id"], head_name="Chen", address="%s West Road" % k)
    c = mk_household(ctx, t, v["id"], head_name="Sun", address="North Road")
    d = mk_household(ctx, t, v["id"], head_name="王小红", address="South Road")

    def ids(q, region=v["id"]):
        path = "/v1/households?region_id=%d&q=%s" % (region, q)
        body = expect_json(ctx.get(path, token=t), 200)
        assert "next_cursor" in body, body
        return sorted(x["id"] for x in body["items"])

    expect_eq(ids(k), sorted([a["id"], b["id"]]), "q matching a name and an address")
    expect_eq(ids("North"), [c["id"]], "q matching an address")
    expect_eq(ids("%E5%B0%8F%E7%BA%A2"), [d["id"]], "q matching a Chinese name")   # 小红
    expect_eq(ids("nobody-" + k), [], "q matching nothing")
    expect_eq(ids(""), sorted([a["id"], b["id"], c["id"], d["id"]]), "empty q")
    body = expect_json(ctx.get("/v1/households?region_id=%d" % v["id"], token=t), 200)
    expect_eq(len(body["items"]), 4, "no q")
    # within reach: region admin X finds it without naming the region
    w = world(ctx)
    body = expect_json(ctx.get("/v1/households?q=" + k, token=w.ra_x.token), 200)
    expect_eq(sorted(x["id"] for x in body["items"]), sorted([a["id"], b["id"]]),
              "region admin X searching its reach")
    body = expect_json(ctx.get("/v1/households?q=" + k, token=w.ra_y.token), 200)
    expect_eq(body["items"], [], "region admin Y searching for X's households")


def test_household_search_treats_like_wildcards_literally(ctx):
    v = _village(ctx)
    t = ctx.admin_token
    pct = mk_household(ctx, t, v["id"], head_name="50% Off", address="a")
    und = mk_household(ctx, t, v["id"], head_name="a_b", address="b")
    mk_household(ctx, t, v["id"], head_name="axb 50 Off", address="c")
    bsl = mk_household(ctx, t, v["id"], head_name="back\\slash", address="d")

    def ids(q):
        body = expect_json(ctx.get("/v1/households?region_id=%d&q=%s" % (v["id"], q), token=t), 200)
        return sorted(x["id"] for x in body["items"])

    expect_eq(ids("%25"), [pct["id"]], "q=%")
    expect_eq(ids("0%25"), [pct["id"]], "q=0%")
    expect_eq(ids("_"), [und["id"]], "q=_")
    expect_eq(ids("a_b"), [und["id"]], "q=a_b")
    expect_eq(ids("%5C"), [bsl["id"]], "q=\\")


def test_household_search_pages_with_cursor(ctx):
    v = _village(ctx)
    t = ctx.admin_token
    made = sorted(mk_household(ctx, t, v["id"])["id"] for _ in range(3))
    seen, cursor = [], None
    for _ in range(6):
        path = "/v1/households?region_id=%d&limit=2" % v["id"] + ("&cursor=" + cursor if cursor else "")
        body = expect_json(ctx.get(path, token=t), 200)
        assert len(body["items"]) <= 2, body
        seen += [x["id"] for x in body["items"]]
        cursor = body.get("next_cursor")
        if not cursor:
            break
    expect_eq(seen, made, "households read two at a time")


def test_household_search_q_over_100_characters_is_refused(ctx):
    w = world(ctx)
    expect_error(ctx.get("/v1/households?region_id=%d&q=%s" % (w.VX["id"], "a" * 101),
                         token=ctx.admin_token), 400, "invalid_request", "q")


# ----------------------------------------------------------------------------- cards

def _zbar(ctx, png, name):
    if not shutil.which("zbarimg"):
        ctx.skip("zbarimg (zbar-tools) is not installed")
    path = os.path.join(ctx.dir, name)
    with open(path, "wb") as f:
        f.write(png)
    p = subprocess.run(["zbarimg", "-q", "--raw", path], capture_output=True, text=True,
                       timeout=30)
    return p.stdout.strip()


def _png(ctx, h, token=None, size=None):
    path = _hh_path(h, "/card.png") + ("?size=%s" % size if size is not None else "")
    r = ctx.get(path, token=token or ctx.admin_token)
    expect_status(r, 200)
    assert r.headers.get("Content-Type", "").startswith("image/png"), r.headers
    assert r.body.startswith(b"\x89PNG\r\n\x1a\n"), "not a PNG: %r" % r.body[:16]
    return r.body


def test_card_png_decodes_to_the_household_code(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"])
    got = _zbar(ctx, _png(ctx, h), "card-%d.png" % h["id"])
    expect_eq(got, h["code"], "QR payload of card.png")


def test_card_png_sizes_100_and_2048_work(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"])
    for size in (64, 100, 2048):
        png = _png(ctx, h, size=size)
        width = int.from_bytes(png[16:20], "big")
        height = int.from_bytes(png[20:24], "big")
        expect_eq(height, width, "PNG height (a square card)")
        # whole pixels per module: at most the size asked for, more than half of it
        assert size / 2 < width <= size, "size=%d gave a %d px wide PNG" % (size, width)
        if size in (100, 2048):
            expect_eq(_zbar(ctx, png, "card-%d-%d.png" % (h["id"], size)), h["code"],
                      "QR payload at size %d" % size)


def test_card_png_bad_size_is_refused(ctx):
    w = world(ctx)
    for size in ("10", "63", "2049", "abc", "", "-100", "100px"):
        expect_error(ctx.get(_hh_path(w.hx1, "/card.png?size=" + size), token=ctx.admin_token),
                     400, "invalid_request", "size")


def test_card_svg_is_svg(ctx):
    w = world(ctx)
    r = ctx.get(_hh_path(w.hx1, "/card.svg"), token=w.ra_x.token)
    expect_status(r, 200)
    assert r.headers.get("Content-Type", "").startswith("image/svg+xml"), r.headers
    assert "<svg" in r.text, r.text[:200]


def _import(ctx, village, rows):
    text = "region_code,head_name,address,phone,members\n" + "".join(
        "%s,%s,%s,,1\n" % (village["code"], name, addr) for name, addr in rows)
    r = ctx.call("POST", "/v1/households/import", raw=text.encode("utf-8"),
                 content_type="text/csv", token=ctx.admin_token)
    expect_eq(expect_json(r, 200)["created"], len(rows), "households imported")


def _poppler(ctx, tool):
    if not shutil.which(tool):
        ctx.skip("%s (poppler-utils) is not installed" % tool)


def test_card_sheet_pdf_prints_every_open_household_of_the_region(ctx):
    """GET /v1/regions/{id}/cards.pdf: ten cards a page, the village's households that
    are not closed, each QR the household's current code (read back with zbarimg from
    the rendered page), the names in the text; a region admin of the county prints it,
    one of another county gets 404."""
    _poppler(ctx, "pdftoppm")
    _poppler(ctx, "pdftotext")
    w = world(ctx)
    v = _village(ctx)
    _import(ctx, v, [("住户%02d" % i, "测试村%d号" % i) for i in range(12)])
    found = expect_json(ctx.get("/v1/households?region_id=%d&limit=50" % v["id"],
                                token=ctx.admin_token), 200)["items"]
    expect_eq(len(found), 12, "households of the village")
    closed = found[0]
    expect_status(ctx.call("PATCH", _hh_path(closed), {"status": "closed"},
                           token=ctx.admin_token), 200)
    r = ctx.get("/v1/regions/%d/cards.pdf" % v["id"], token=w.ra_x.token)
    expect_status(r, 200)
    assert r.headers.get("Content-Type", "").startswith("application/pdf"), r.headers
    assert r.body.startswith(b"%PDF-"), r.body[:16]
    expect_eq(r.headers.get("Content-Disposition"),
              'inline; filename="cards-%s.pdf"' % v["code"], "Content-Disposition")
    pdf = os.path.join(ctx.dir, "cards-%d.pdf" % v["id"])
    with open(pdf, "wb") as f:
        f.write(r.body)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", pdf, "-"], capture_output=True,
                          text=True, timeout=60)
    assert text.returncode == 0, text.stderr
    pages = text.stdout.count("\f")
    expect_eq(pages, 2, "pages for 11 cards")
    for h in found[1:]:
        assert h["head_name"] in text.stdout and "No. %d" % h["id"] in text.stdout, h
    assert closed["head_name"] not in text.stdout, "a closed household is printed"
    # the QR symbols of page 2 (the last card) are the households' current codes
    img = os.path.join(ctx.dir, "cards-%d" % v["id"])
    p = subprocess.run(["pdftoppm", "-r", "200", "-png", "-f", "2", "-l", "2", pdf, img],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    png = [f for f in os.listdir(ctx.dir) if f.startswith(os.path.basename(img)) and
           f.endswith(".png")]
    assert png, "pdftoppm wrote no page"
    if not shutil.which("zbarimg"):
        ctx.skip("zbarimg (zbar-tools) is not installed")
    z = subprocess.run(["zbarimg", "-q", "--raw", os.path.join(ctx.dir, png[0])],
                       capture_output=True, text=True, timeout=60)
    codes = {get_household(ctx, h["id"])["code"] for h in found[-1:]}
    assert codes <= set(z.stdout.split()), (codes, z.stdout)
    expect_error(ctx.get("/v1/regions/%d/cards.pdf" % v["id"], token=w.ra_y.token), 404,
                 "not_found")
    expect_error(ctx.get("/v1/regions/999999999/cards.pdf", token=ctx.admin_token), 404,
                 "not_found")
    # who printed every card of the village is in the audit log; a refusal is not
    rows = ctx.sql("SELECT actor, role, request_id, detail FROM audit_log WHERE "
                   "action='region.card_sheet' AND object_id=%d" % v["id"])
    expect_eq([row[:3] for row in rows], [("s:%d" % w.ra_x.id, "region_admin", r.request_id)],
              "card sheet audit rows")
    assert '"households": 11' in str(rows[0][3]) or '"households":11' in str(rows[0][3]), rows


def test_card_sheet_of_an_empty_region_is_one_blank_page(ctx):
    _poppler(ctx, "pdfinfo")
    v = _village(ctx)
    r = ctx.get("/v1/regions/%d/cards.pdf" % v["id"], token=ctx.admin_token)
    expect_status(r, 200)
    pdf = os.path.join(ctx.dir, "cards-empty-%d.pdf" % v["id"])
    with open(pdf, "wb") as f:
        f.write(r.body)
    info = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True, timeout=60)
    assert info.returncode == 0, info.stderr
    assert re.search(r"^Pages:\s+1$", info.stdout, re.M), info.stdout


def test_card_sheet_over_3000_households_is_refused(ctx):
    """A region of more than 3,000 open households is printed village by village (or
    with wbctl cards): 400 naming region_id."""
    v = _village(ctx)
    _import(ctx, v, [("户%d" % i, "路%d号" % i) for i in range(3001)])
    expect_error(ctx.get("/v1/regions/%d/cards.pdf" % v["id"], token=ctx.admin_token), 400,
                 "invalid_request", field="region_id")


def test_card_reissue_gives_a_new_code_and_kills_the_old_one(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"], pin="7294")
    old = h["code"]
    expect_status(scan(ctx, w.at_x.token, old), 200)
    r = ctx.post(_hh_path(h, "/card"), token=w.ra_x.token)
    new = expect_json(r, 200)
    assert CODE_RE.match(new["code"]), new
    assert new["code"] != old, "reissue kept the old code"
    expect_eq(new["id"], h["id"], "id")
    expect_eq(get_household(ctx, h["id"])["code"], new["code"], "code read back")
    expect_error(scan(ctx, w.at_x.token, old), 404, "unknown_code")
    expect_error(scan(ctx, w.cl_x.token, old), 404, "unknown_code")
    expect_error(resident_signin(ctx, old, "7294"), 401, "bad_credentials")
    body = expect_json(scan(ctx, w.at_x.token, new["code"]), 200)
    expect_eq(body["household_id"], h["id"], "household_id scanned from the new card")
    expect_status(resident_signin(ctx, new["code"], "7294"), 200)
    expect_eq(_zbar(ctx, _png(ctx, h), "card-%d-new.png" % h["id"]), new["code"],
              "card.png after the reissue")
    again = expect_json(ctx.post(_hh_path(h, "/card"), token=ctx.admin_token), 200)
    assert again["code"] not in (old, new["code"]), "second reissue repeated a code"
    expect_error(scan(ctx, w.at_x.token, new["code"]), 404, "unknown_code")


def test_card_reissue_of_unknown_household_is_not_found(ctx):
    expect_error(ctx.post("/v1/households/999999999999/card", token=ctx.admin_token),
                 404, "not_found")


# ----------------------------------------------------------------------------- scan

def test_scan_answers_the_masked_household(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.CX["id"], head_name="张三丰", members=3)
    for acct in (w.at_x, w.cl_x):
        body = expect_json(scan(ctx, acct.token, h["code"]), 200)
        expect_eq(body.get("household_id"), h["id"], "household_id")
        expect_eq(body.get("region"), {"id": w.CX["id"], "name": w.CX["name"]}, "region")
        expect_eq(body.get("head_name_masked"), "张**", "head_name_masked")
        expect_eq((body.get("status"), body.get("balance"), body.get("members")),
                  ("active", 0, 3), "status, balance, members")
        assert "张三丰" not in str(body) and "head_name" not in body, body
        assert "phone" not in body and "address" not in body, body
    h2 = mk_household(ctx, ctx.admin_token, w.VX["id"], head_name="Li")
    expect_eq(expect_json(scan(ctx, w.at_x.token, h2["code"]), 200)["head_name_masked"], "L*",
              "masked 'Li'")


def test_scan_of_another_county_is_not_found(ctx):
    w = world(ctx)
    expect_error(scan(ctx, w.at_x.token, w.hy1["code"]), 404, "not_found")
    expect_error(scan(ctx, w.cl_x.token, w.hy1["code"]), 404, "not_found")
    expect_status(scan(ctx, w.at_y.token, w.hy1["code"]), 200)
    expect_error(scan(ctx, w.at_y.token, w.hx1["code"]), 404, "not_found")


def test_scan_by_admins_and_residents_is_forbidden(ctx):
    w = world(ctx)
    for tok in (ctx.admin_token, w.ra_x.token, w.res_x.token):
        expect_error(scan(ctx, tok, w.hx1["code"]), 403, "forbidden")


def test_scan_bad_body_is_refused(ctx):
    w = world(ctx)
    for body, field in (({"code": ""}, "code"), ({"code": 5}, "code"), ({}, "code"),
                        ({"code": w.hx1["code"], "x": 1}, "x")):
        expect_error(ctx.post("/v1/scan", body, token=w.at_x.token), 400, "invalid_request", field)


def _forgeries(code, other_id):
    _, hid, gen, mac = code.split(".")
    out = []
    for pos in (0, 3, 7, 11, 15):
        c = mac[pos]
        repl = B32[(B32.index(c) + 1) % 32]
        out.append(("mac[%d] flipped" % pos, "WB1.%s.%s.%s" % (hid, gen, mac[:pos] + repl + mac[pos + 1:])))
    out += [
        ("last char dropped", code[:-1]),
        ("mac halved", code[:-8]),
        ("no mac", "WB1.%s.%s" % (hid, gen)),
        ("no mac, trailing dot", "WB1.%s.%s." % (hid, gen)),
        ("extra mac char", code + "A"),
        ("other id, same mac", "WB1.%d.%s.%s" % (other_id, gen, mac)),
        ("next generation, same mac", "WB1.%s.%d.%s" % (hid, int(gen) + 1, mac)),
        ("leading zero id", "WB1.0%s.%s.%s" % (hid, gen, mac)),
        ("lowercase", code.lower()),
        ("lowercase mac", "WB1.%s.%s.%s" % (hid, gen, mac.lower())),
        ("WB2 prefix", "WB2" + code[3:]),
        ("WB1..", "WB1.."),
        ("WB1", "WB1"),
        ("WB2.1.1.AAAAAAAAAAAAAAAA", "WB2.1.1.AAAAAAAAAAAAAAAA"),
        ("WB1.1.1.AAAAAAAAAAAAAAAA", "WB1.1.1.AAAAAAAAAAAAAAAA"),
        ("leading space", " " + code),
        ("trailing newline", code + "\n"),
        ("padded mac", code + "===="),
        ("negative id", "WB1.-%s.%s.%s" % (hid, gen, mac)),
        ("garbage", "hello, world"),
        ("chinese", "户码"),
    ]
    return out


def test_forged_or_malformed_codes_scan_as_unknown_code(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"], pin="7294")
    other = mk_household(ctx, ctx.admin_token, w.VX["id"])
    expect_status(scan(ctx, w.at_x.token, h["code"]), 200)
    problems = []
    for what, code in _forgeries(h["code"], other["id"]):
        for acct in (w.at_x, w.cl_x):
            r = scan(ctx, acct.token, code)
            try:
                expect_error(r, 404, "unknown_code")
            except AssertionError as e:
                problems.append("%s (%r): %s" % (what, code, e))
    assert not problems, "\n  ".join(["forged codes accepted or misanswered:"] + problems)


def test_forged_or_malformed_codes_cannot_sign_in(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"], pin="7294")
    other = mk_household(ctx, ctx.admin_token, w.VX["id"], pin="7294")
    problems = []
    for what, code in _forgeries(h["code"], other["id"]):
        r = resident_signin(ctx, code, "7294")
        try:
            expect_error(r, 401, "bad_credentials")
        except AssertionError as e:
            problems.append("%s (%r): %s" % (what, code, e))
    assert not problems, "\n  ".join(["forged codes at sign-in:"] + problems)
    # none of that touched the real household's PIN lock
    expect_status(resident_signin(ctx, h["code"], "7294"), 200)


def test_empty_code_is_invalid_request(ctx):
    w = world(ctx)
    expect_error(scan(ctx, w.at_x.token, ""), 400, "invalid_request", "code")
    expect_error(resident_signin(ctx, "", "7294"), 400, "invalid_request", "code")


# ----------------------------------------------------------------------------- PIN rules

BAD_PINS = ["1111", "000000", "1234", "4321", "123456", "987654", "98765", "0123", "12",
            "1234567", "12a4", "", " 4821", "4821 ", "４８２１"]
GOOD_PINS = ["4821", "2580", "135790", "1235", "90817", "1122"]


def test_pin_rules_refuse_weak_or_malformed_pins(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"])
    for pin in BAD_PINS:
        expect_error(ctx.call("PUT", _hh_path(h, "/pin"), {"pin": pin}, token=ctx.admin_token),
                     400, "invalid_request", "pin")
    expect_error(ctx.call("PUT", _hh_path(h, "/pin"), {"pin": 4821}, token=ctx.admin_token),
                 400, "invalid_request", "pin")
    expect_error(ctx.call("PUT", _hh_path(h, "/pin"), {}, token=ctx.admin_token),
                 400, "invalid_request", "pin")
    expect_eq(get_household(ctx, h["id"])["pin_set"], False, "pin_set after refusals")


def test_pin_rules_refuse_weak_pins_at_creation(ctx):
    w = world(ctx)
    for pin in ("1111", "1234", "4321", "12", "12a4"):
        r = ctx.post("/v1/households", {"region_id": w.VX["id"], "head_name": "n",
                                        "address": "a", "pin": pin}, token=ctx.admin_token)
        expect_error(r, 400, "invalid_request", "pin")


def test_pin_rules_accept_ordinary_pins(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"])
    for pin in GOOD_PINS:
        got = expect_json(ctx.call("PUT", _hh_path(h, "/pin"), {"pin": pin},
                                   token=ctx.admin_token), 200)
        expect_eq(got.get("pin_set"), True, "pin_set after setting %r" % pin)
        expect_eq(got.get("id"), h["id"], "id")
    expect_status(resident_signin(ctx, h["code"], GOOD_PINS[-1]), 200)
    expect_error(resident_signin(ctx, h["code"], GOOD_PINS[0]), 401, "bad_credentials")
    expect_status(resident_signin(ctx, h["code"], GOOD_PINS[-1]), 200)


def test_admin_pin_reset_is_audited(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"], pin="4821")
    r = ctx.call("PUT", _hh_path(h, "/pin"), {"pin": "2580"}, token=ctx.admin_token,
                 headers={"X-Request-Id": "idt-pin-" + tag(8)})
    expect_status(r, 200)
    rows = ctx.sql("SELECT actor, role, request_id FROM audit_log WHERE "
                   "action='household.pin_reset' AND object_id=%d" % h["id"])
    expect_eq(rows, [("s:%d" % ctx.admin_id, "admin", r.request_id)], "pin_reset audit rows")
    detail = ctx.sql("SELECT COALESCE(detail, '') FROM audit_log WHERE "
                     "action='household.pin_reset' AND object_id=%d" % h["id"])
    assert "2580" not in str(detail), "the audit row holds the new PIN: %r" % detail
    expect_status(resident_signin(ctx, h["code"], "2580"), 200)
    expect_error(resident_signin(ctx, h["code"], "4821"), 401, "bad_credentials")


def test_region_admin_resets_a_pin_without_the_old_one(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"], pin="4821")
    expect_status(ctx.call("PUT", _hh_path(h, "/pin"), {"pin": "3691"}, token=w.ra_x.token), 200)
    expect_status(resident_signin(ctx, h["code"], "3691"), 200)


def test_admin_pin_reset_with_old_pin_is_refused(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"], pin="4821")
    expect_error(ctx.call("PUT", _hh_path(h, "/pin"), {"pin": "2580", "old_pin": "4821"},
                          token=ctx.admin_token), 400, "invalid_request", "old_pin")
    expect_status(resident_signin(ctx, h["code"], "4821"), 200)


def test_resident_changes_pin_with_the_right_old_pin(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"], pin="4821")
    res = resident(ctx, h, "4821")
    got = expect_json(ctx.call("PUT", _hh_path(h, "/pin"), {"pin": "2580", "old_pin": "4821"},
                               token=res.token), 200)
    expect_eq(got.get("pin_set"), True, "pin_set")
    expect_status(resident_signin(ctx, h["code"], "2580"), 200)
    expect_error(resident_signin(ctx, h["code"], "4821"), 401, "bad_credentials")


def test_resident_pin_change_with_wrong_old_pin_is_bad_pin(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"], pin="4821")
    res = resident(ctx, h, "4821")
    r = ctx.call("PUT", _hh_path(h, "/pin"), {"pin": "2580", "old_pin": "9999"}, token=res.token)
    err = expect_error(r, 403, "bad_pin")
    expect_eq(err.get("attempts_left"), 4, "error.attempts_left")
    expect_status(resident_signin(ctx, h["code"], "4821"), 200)     # unchanged


def test_resident_pin_change_without_old_pin_is_refused(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"], pin="4821")
    res = resident(ctx, h, "4821")
    expect_error(ctx.call("PUT", _hh_path(h, "/pin"), {"pin": "2580"}, token=res.token),
                 400, "invalid_request", "old_pin")
    expect_error(ctx.call("PUT", _hh_path(h, "/pin"), {"pin": "1234", "old_pin": "4821"},
                          token=res.token), 400, "invalid_request", "pin")
    expect_status(resident_signin(ctx, h["code"], "4821"), 200)


def test_resident_pin_change_of_another_household_is_not_found(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"], pin="4821")
    res = resident(ctx, h, "4821")
    expect_error(ctx.call("PUT", _hh_path(w.hx2, "/pin"), {"pin": "2580", "old_pin": "4821"},
                          token=res.token), 404, "not_found")


# ----------------------------------------------------------------------------- PIN lock

def _wrong(r, left):
    err = expect_error(r, 401, "bad_credentials")
    expect_eq(err.get("attempts_left"), left, "error.attempts_left")


def _locked(r):
    expect_error(r, 423, "pin_locked")
    ra = r.headers.get("Retry-After")
    assert ra and ra.isdigit() and int(ra) >= 1, "423 without a Retry-After in seconds: %r" % (r.headers,)
    return int(ra)


def test_five_wrong_pins_lock_the_household(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"], pin="4821")
    for left in (4, 3, 2, 1):
        _wrong(resident_signin(ctx, h["code"], "1357"), left)
    ra = _locked(resident_signin(ctx, h["code"], "1357"))
    lock = int(ctx.env["WB_PIN_LOCK_SECONDS"])
    assert lock - 5 <= ra <= lock, "Retry-After %d, lock is %d s" % (ra, lock)
    ra = _locked(resident_signin(ctx, h["code"], "4821"))
    assert ra <= lock, ra


def test_right_pin_resets_the_failure_count(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"], pin="4821")
    for left in (4, 3, 2, 1):
        _wrong(resident_signin(ctx, h["code"], "1357"), left)
    expect_status(resident_signin(ctx, h["code"], "4821"), 200)
    _wrong(resident_signin(ctx, h["code"], "1357"), 4)


def test_wrong_old_pins_count_toward_the_same_lock(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"], pin="4821")
    res = resident(ctx, h, "4821")
    p = _hh_path(h, "/pin")
    for left in (4, 3):
        err = expect_error(ctx.call("PUT", p, {"pin": "2580", "old_pin": "1357"}, token=res.token),
                           403, "bad_pin")
        expect_eq(err.get("attempts_left"), left, "attempts_left after a wrong old_pin")
    _wrong(resident_signin(ctx, h["code"], "1357"), 2)
    err = expect_error(ctx.call("PUT", p, {"pin": "2580", "old_pin": "1357"}, token=res.token),
                       403, "bad_pin")
    expect_eq(err.get("attempts_left"), 1, "attempts_left")
    _locked(ctx.call("PUT", p, {"pin": "2580", "old_pin": "1357"}, token=res.token))
    _locked(resident_signin(ctx, h["code"], "4821"))
    _locked(ctx.call("PUT", p, {"pin": "2580", "old_pin": "4821"}, token=res.token))


def test_pin_lock_ends_after_the_window_and_doubles(ctx):
    """Own server with a 2 s window (same store): lock, still locked for the right PIN,
    open after 2 s; the next lock (no right PIN in between) lasts 4 s."""
    w = world(ctx)
    srv = ctx.start_server({"WB_PIN_LOCK_SECONDS": "2"})
    try:
        h = mk_household(ctx, ctx.admin_token, w.VX["id"], pin="4821")
        c = srv.client
        for left in (4, 3, 2, 1):
            _wrong(resident_signin(ctx, h["code"], "1357", client=c), left)
        t0 = time.monotonic()
        expect_eq(_locked(resident_signin(ctx, h["code"], "1357", client=c)), 2,
                  "Retry-After of the first lock")
        _locked(resident_signin(ctx, h["code"], "4821", client=c))
        # the lock lives in the store: the main server sees it too
        _locked(resident_signin(ctx, h["code"], "4821"))
        time.sleep(max(0, 2.2 - (time.monotonic() - t0)))
        # the window is over; lock again with no right PIN in between
        for left in (4, 3, 2, 1):
            _wrong(resident_signin(ctx, h["code"], "1357", client=c), left)
        t1 = time.monotonic()
        expect_eq(_locked(resident_signin(ctx, h["code"], "1357", client=c)), 4,
                  "Retry-After of the second lock (doubled)")
        time.sleep(max(0, 2.3 - (time.monotonic() - t1)))
        _locked(resident_signin(ctx, h["code"], "4821", client=c))     # 2 s is not enough now
        time.sleep(max(0, 4.2 - (time.monotonic() - t1)))
        body = expect_json(resident_signin(ctx, h["code"], "4821", client=c), 200)
        expect_eq(body.get("household_id"), h["id"], "household_id")
    finally:
        srv.stop()


# ----------------------------------------------------------------------------- resident

def test_resident_sign_in_answers_a_resident_token(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"], pin="4821")
    before = time.time()
    body = expect_json(resident_signin(ctx, h["code"], "4821"), 200)
    expect_eq(body.get("household_id"), h["id"], "household_id")
    expect_eq(body.get("role"), "resident", "role")
    assert isinstance(body.get("token"), str) and body["token"].count(".") == 2, body
    exp = parse_rfc3339(body.get("expires_at")).timestamp()
    ttl = int(ctx.env["WB_TOKEN_TTL"])
    assert before + ttl - 5 <= exp <= time.time() + ttl + 5, body["expires_at"]
    me = expect_json(ctx.get(ME, token=body["token"]), 200)
    expect_eq((me.get("role"), me.get("household_id")), ("resident", h["id"]), "auth/me")


def test_resident_wrong_card_is_bad_credentials(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"], pin="4821")
    forged = h["code"][:-1] + ("A" if h["code"][-1] != "A" else "B")
    expect_error(resident_signin(ctx, forged, "4821"), 401, "bad_credentials")


def test_resident_without_pin_is_pin_not_set(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"])
    expect_error(resident_signin(ctx, h["code"], "4821"), 403, "pin_not_set")


def test_resident_reads_its_own_household(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"], pin="4821", head_name="Own " + tag())
    res = resident(ctx, h, "4821")
    me = expect_json(ctx.get("/v1/residents/me", token=res.token), 200)
    expect_eq((me.get("id"), me.get("balance"), me.get("head_name")),
              (h["id"], 0, h["head_name"]), "residents/me")
    got = expect_json(ctx.get(_hh_path(h), token=res.token), 200)
    expect_eq(got.get("id"), h["id"], "own household id")
    expect_eq(got.get("code"), h["code"], "own household code")
    png = _png(ctx, h, token=res.token)
    assert len(png) > 100, "own card.png is empty"
    expect_status(ctx.get(_hh_path(h, "/card.svg"), token=res.token), 200)


def test_resident_reading_another_household_is_not_found(ctx):
    w = world(ctx)
    res = w.res_x
    for other in (w.hx2, w.hy1):
        expect_error(ctx.get(_hh_path(other), token=res.token), 404, "not_found")
        expect_error(ctx.get(_hh_path(other, "/card.png"), token=res.token), 404, "not_found")
        expect_error(ctx.get(_hh_path(other, "/card.svg"), token=res.token), 404, "not_found")
    expect_status(ctx.get(_hh_path(w.hx1), token=res.token), 200)


def test_resident_calling_staff_routes_is_forbidden(ctx):
    w = world(ctx)
    t = w.res_x.token
    for method, path, body in (("GET", "/v1/staff", None),
                               ("GET", "/v1/staff/%d" % w.at_x.id, None),
                               ("GET", "/v1/regions/%d" % w.VX["id"], None),
                               ("GET", "/v1/households?region_id=%d" % w.VX["id"], None),
                               ("POST", "/v1/households", {"region_id": w.VX["id"],
                                                           "head_name": "n", "address": "a"}),
                               ("PATCH", _hh_path(w.hx1), {"members": 9}),
                               ("POST", _hh_path(w.hx1, "/card"), None),
                               ("POST", "/v1/scan", {"code": w.hx1["code"]}),
                               ("GET", "/v1/sites", None)):
        expect_error(ctx.call(method, path, body, token=t), 403, "forbidden")
    expect_eq(get_household(ctx, w.hx1["id"])["code"], w.hx1["code"], "hx1 card untouched")


def test_resident_logout_ends_the_token(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"], pin="4821")
    res = resident(ctx, h, "4821")
    expect_status(ctx.get("/v1/residents/me", token=res.token), 200)
    expect_status(ctx.post("/v1/auth/logout", token=res.token), 204)
    refused_everywhere(ctx, res.token, path="/v1/residents/me")
    expect_status(resident_signin(ctx, h["code"], "4821"), 200)


def test_closed_household_resident_token_is_refused(ctx):
    w = world(ctx)
    h = mk_household(ctx, ctx.admin_token, w.VX["id"], pin="4821")
    res = resident(ctx, h, "4821")
    expect_status(ctx.get("/v1/residents/me", token=res.token), 200)
    expect_status(ctx.call("PATCH", _hh_path(h), {"status": "closed"}, token=w.ra_x.token), 200)
    refused_everywhere(ctx, res.token, path="/v1/residents/me")
    expect_error(resident_signin(ctx, h["code"], "4821"), 401, "bad_credentials")
