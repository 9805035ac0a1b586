"""Identity: regions, staff, reach and roles (api.md sections Auth, Regions, Staff;
design.md "Security model").

This module also holds the shared helpers of the test_identity_* modules: a lazily built
"world" (a province with two counties X and Y, their sites, shops, staff and households,
every division code random and unique), accounts that sign in once and cache their
token, and small constructors for regions, staff and households.  Tests that change
what they touch (disable a member, lock a PIN, reissue a card) make their own objects.
"""

import re
import secrets

from lib import expect_eq, expect_error, expect_json, expect_status

ME = "/v1/auth/me"
CODE_RE = re.compile(r"^WB1\.[1-9][0-9]*\.[1-9][0-9]*\.[A-Z2-7]{16}$")
ROLES = ("admin", "region_admin", "attendant", "clerk", "inspector", "resident")


# ----------------------------------------------------------------------------- helpers

def tag(n=6):
    """A short random suffix for names and usernames."""
    return secrets.token_hex(n // 2 + 1)[:n]


def uniq_code():
    """A random 12-digit division code (codes are unique across the store)."""
    return str(10 ** 11 + secrets.randbelow(9 * 10 ** 11))


class Account:
    """A staff member or a resident: signs in once, on first use of .token."""

    def __init__(self, ctx, username=None, password=None, info=None, token=None):
        self.ctx = ctx
        self.username = username
        self.password = password
        self.info = info or {}
        self._token = token

    @property
    def id(self):
        return self.info["id"]

    @property
    def token(self):
        if self._token is None:
            self._token = self.ctx.login(self.username, self.password)
        return self._token


def admin(ctx):
    """The harness's admin as an Account (its token is the harness's cached one)."""
    return Account(ctx, ctx.admin_username, ctx.admin_password, {"id": ctx.admin_id},
                   token=ctx.admin_token)


def mk_region(ctx, token, parent_id, level, name=None, code=None):
    body = {"parent_id": parent_id, "name": name or "%s-%s" % (level, tag()),
            "level": level, "code": code or uniq_code()}
    r = ctx.post("/v1/regions", body, token=token)
    return expect_json(r, 201)


def mk_site(ctx, token, region_id, tier="dropoff", network="integrated"):
    r = ctx.post("/v1/sites", {"region_id": region_id, "name": "site-" + tag(), "tier": tier,
                               "network": network, "address": "1 Site Road"}, token=token)
    return expect_json(r, 201)


def mk_shop(ctx, token, region_id):
    r = ctx.post("/v1/shops", {"region_id": region_id, "name": "shop-" + tag(),
                               "address": "2 Shop Street"}, token=token)
    return expect_json(r, 201)


def staff_body(role, region_id, site_id=None, shop_id=None, username=None, password=None):
    b = {"username": username or "%s-%s" % (role.replace("_", ""), tag(8)),
         "password": password or secrets.token_hex(8), "role": role}
    if region_id is not None:
        b["region_id"] = region_id
    if site_id is not None:
        b["site_id"] = site_id
    if shop_id is not None:
        b["shop_id"] = shop_id
    return b


def mk_staff(ctx, token, role, region_id, site_id=None, shop_id=None):
    """Create a member (asserts 201); returns an Account (signs in lazily)."""
    b = staff_body(role, region_id, site_id, shop_id)
    r = ctx.post("/v1/staff", b, token=token)
    info = expect_json(r, 201)
    return Account(ctx, b["username"], b["password"], info)


def mk_household(ctx, token, region_id, pin=None, **kw):
    b = {"region_id": region_id, "head_name": kw.pop("head_name", "Head " + tag()),
         "address": kw.pop("address", "%s Village Lane" % secrets.randbelow(999))}
    if pin is not None:
        b["pin"] = pin
    b.update(kw)
    r = ctx.post("/v1/households", b, token=token)
    return expect_json(r, 201)


def resident_signin(ctx, code, pin, client=None):
    c = client or ctx.client
    return c.call("POST", "/v1/auth/resident", {"code": code, "pin": pin})


def resident(ctx, household, pin):
    """Sign the household's resident in (asserts 200); an Account with the token."""
    r = resident_signin(ctx, household["code"], pin)
    body = expect_json(r, 200)
    return Account(ctx, info={"id": household["id"], "household": household},
                   token=body["token"])


def get_household(ctx, hid, token=None):
    return expect_json(ctx.get("/v1/households/%d" % hid, token=token or ctx.admin_token), 200)


def scan(ctx, token, code):
    return ctx.post("/v1/scan", {"code": code}, token=token)


def refused_everywhere(ctx, token, path=ME, n=8):
    """The token is refused (401) on n fresh connections, so on most or all workers."""
    for i in range(n):
        r = ctx.get(path, token=token)
        if r.status != 401:
            raise AssertionError("request %d of %d: a dead token was accepted: %r" % (i + 1, n, r))
        expect_error(r, 401, "unauthorized")


class World:
    pass


_WORLD = None


def world(ctx):
    """The shared, read-mostly fixture (built on first use, then cached):

    prov > city > X (county) > TX (town) > VX (village); X > CX (community, levels skipped)
                > Y (county) > VY (village)
    sites: SX in VX, SXC in CX, SY in VY; shops: HX in X, HY in VY
    staff: ra_x, ra_y (region admins of X, Y), at_x (attendant at SX), cl_x (clerk at HX),
           at_y (attendant at SY), cl_y (clerk at HY), in_x (inspector of VX)
    households: hx1 in VX (PIN 4821, resident res_x), hx2 in CX, hy1 in VY (PIN 4821)
    Tests must not change these; they make their own objects for that."""
    global _WORLD
    if _WORLD is not None:
        return _WORLD
    w = World()
    a = ctx.admin_token
    w.admin = admin(ctx)
    w.prov = mk_region(ctx, a, None, "province", "Prov-" + tag())
    w.city = mk_region(ctx, a, w.prov["id"], "city")
    w.X = mk_region(ctx, a, w.city["id"], "county", "County X " + tag())
    w.Y = mk_region(ctx, a, w.city["id"], "county", "County Y " + tag())
    w.TX = mk_region(ctx, a, w.X["id"], "town")
    w.VX = mk_region(ctx, a, w.TX["id"], "village", "Village X " + tag())
    w.CX = mk_region(ctx, a, w.X["id"], "community")
    w.VY = mk_region(ctx, a, w.Y["id"], "village", "Village Y " + tag())
    w.SX = mk_site(ctx, a, w.VX["id"])
    w.SXC = mk_site(ctx, a, w.CX["id"])
    w.SY = mk_site(ctx, a, w.VY["id"])
    w.HX = mk_shop(ctx, a, w.X["id"])
    w.HY = mk_shop(ctx, a, w.VY["id"])
    w.ra_x = mk_staff(ctx, a, "region_admin", w.X["id"])
    w.ra_y = mk_staff(ctx, a, "region_admin", w.Y["id"])
    w.at_x = mk_staff(ctx, a, "attendant", w.VX["id"], site_id=w.SX["id"])
    w.cl_x = mk_staff(ctx, a, "clerk", w.X["id"], shop_id=w.HX["id"])
    w.at_y = mk_staff(ctx, a, "attendant", w.VY["id"], site_id=w.SY["id"])
    w.cl_y = mk_staff(ctx, a, "clerk", w.VY["id"], shop_id=w.HY["id"])
    w.in_x = mk_staff(ctx, a, "inspector", w.VX["id"])
    w.hx1 = mk_household(ctx, a, w.VX["id"], pin="4821", head_name="Wang Xiaoming")
    w.hx2 = mk_household(ctx, a, w.CX["id"], head_name="李四")
    w.hy1 = mk_household(ctx, a, w.VY["id"], pin="4821", head_name="Zhao Y")
    w.res_x = resident(ctx, w.hx1, "4821")
    _WORLD = w
    return w


def tokens_by_role(ctx, w, res):
    return {"admin": ctx.admin_token, "region_admin": w.ra_x.token, "attendant": w.at_x.token,
            "clerk": w.cl_x.token, "inspector": w.in_x.token, "resident": res.token}


# ----------------------------------------------------------------------------- roles

def test_role_table_forbids_exactly_the_roles_api_md_excludes(ctx):
    """Every identity route, called by every role with a harmless body: a role the
    route does not admit gets 403 forbidden, an admitted role never does."""
    w = world(ctx)
    a = ctx.admin_token
    # this test's own households: the resident's, and one whose card the admins reissue
    # (a reissue ends the household's resident sessions)
    hh = mk_household(ctx, a, w.VX["id"], pin="5827")
    other = mk_household(ctx, a, w.VX["id"])
    res = resident(ctx, hh, "5827")
    tokens = tokens_by_role(ctx, w, res)
    ADM = {"admin", "region_admin"}
    STAFF = ADM | {"attendant", "clerk", "inspector"}
    HHR = ADM | {"resident"}
    h = hh["id"]
    routes = [
        ("POST", "/v1/regions", {}, ADM),
        ("GET", "/v1/regions/%d" % w.X["id"], None, STAFF),
        ("GET", "/v1/regions?parent_id=%d" % w.X["id"], None, STAFF),
        ("GET", "/v1/regions", None, STAFF),
        ("POST", "/v1/staff", {}, ADM),
        ("GET", "/v1/staff/%d" % w.at_x.id, None, ADM),
        ("GET", "/v1/staff", None, ADM),
        ("GET", "/v1/staff?region_id=%d" % w.X["id"], None, ADM),
        ("PATCH", "/v1/staff/%d" % w.at_x.id, {}, ADM),
        ("POST", "/v1/sites", {}, ADM),
        ("GET", "/v1/sites", None, STAFF),
        ("GET", "/v1/sites/%d" % w.SX["id"], None, STAFF),
        ("POST", "/v1/shops", {}, ADM),
        ("POST", "/v1/households", {}, ADM),
        ("GET", "/v1/households/%d" % h, None, HHR),
        ("GET", "/v1/households?region_id=%d" % w.VX["id"], None, ADM),
        ("GET", "/v1/households", None, ADM),
        ("PATCH", "/v1/households/%d" % h, {}, ADM),
        ("POST", "/v1/households/%d/card" % other["id"], None, ADM),
        ("GET", "/v1/households/%d/card.png" % h, None, HHR),
        ("GET", "/v1/households/%d/card.svg" % h, None, HHR),
        ("GET", "/v1/regions/%d/cards.pdf" % w.CX["id"], None, ADM),
        ("PUT", "/v1/households/%d/pin" % h, {}, HHR),
        ("POST", "/v1/households/import", None, ADM),
        ("POST", "/v1/scan", {}, {"attendant", "clerk"}),
        ("GET", "/v1/residents/me", None, {"resident"}),
        ("GET", "/v1/auth/me", None, set(ROLES)),
    ]
    problems = []
    for method, path, body, allowed in routes:
        for role in ROLES:
            r = ctx.call(method, path, body, token=tokens[role])
            if role in allowed:
                if r.status == 403 or r.status >= 500:
                    problems.append("%s %s as %s (allowed): %r" % (method, path, role, r))
            else:
                try:
                    expect_error(r, 403, "forbidden")
                except AssertionError as e:
                    problems.append("%s %s as %s (not allowed): %s" % (method, path, role, e))
    assert not problems, "%d role-table violations:\n  %s" % (len(problems), "\n  ".join(problems))


def test_auth_me_describes_each_role(ctx):
    w = world(ctx)
    body = expect_json(ctx.get(ME, token=w.ra_x.token), 200)
    expect_eq(body.get("role"), "region_admin", "role")
    expect_eq(body.get("staff_id"), w.ra_x.id, "staff_id")
    body = expect_json(ctx.get(ME, token=w.at_x.token), 200)
    expect_eq(body.get("role"), "attendant", "role")
    expect_eq(body.get("staff_id"), w.at_x.id, "staff_id")
    body = expect_json(ctx.get(ME, token=w.res_x.token), 200)
    expect_eq(body.get("role"), "resident", "role")
    expect_eq(body.get("household_id"), w.hx1["id"], "household_id")


# ----------------------------------------------------------------------------- regions

def test_region_create_answers_the_whole_region_with_its_path(ctx):
    w = world(ctx)
    code = uniq_code()
    r = ctx.post("/v1/regions", {"parent_id": w.TX["id"], "name": "Dongshan 东山",
                                 "level": "village", "code": code}, token=ctx.admin_token)
    g = expect_json(r, 201)
    assert isinstance(g.get("id"), int) and g["id"] > 0, g
    expect_eq(g.get("parent_id"), w.TX["id"], "parent_id")
    expect_eq(g.get("name"), "Dongshan 东山", "name")
    expect_eq(g.get("level"), "village", "level")
    expect_eq(g.get("code"), code, "code")
    expect_eq(g.get("households"), 0, "households")
    want = [(w.prov["id"], "province"), (w.city["id"], "city"), (w.X["id"], "county"),
            (w.TX["id"], "town"), (g["id"], "village")]
    expect_eq([(p.get("id"), p.get("level")) for p in g.get("path", [])], want, "path")
    expect_eq(g["path"][-1].get("name"), "Dongshan 东山", "path[-1].name")
    got = expect_json(ctx.get("/v1/regions/%d" % g["id"], token=ctx.admin_token), 200)
    expect_eq(got, g, "GET of the new region")
    # a province has an empty parent and a one-element path
    assert w.prov["parent_id"] is None, w.prov
    expect_eq([p["id"] for p in w.prov["path"]], [w.prov["id"]], "province path")


def test_region_households_counts_the_subtree(ctx):
    a = ctx.admin_token
    w = world(ctx)
    town = mk_region(ctx, a, w.X["id"], "town")
    v1 = mk_region(ctx, a, town["id"], "village")
    v2 = mk_region(ctx, a, town["id"], "community")
    for v in (v1, v1, v2):
        mk_household(ctx, a, v["id"])
    expect_eq(expect_json(ctx.get("/v1/regions/%d" % town["id"], token=a), 200)["households"],
              3, "households of the town")
    expect_eq(expect_json(ctx.get("/v1/regions/%d" % v1["id"], token=a), 200)["households"],
              2, "households of the village")


def test_region_levels_may_be_skipped(ctx):
    w = world(ctx)
    a = ctx.admin_token
    v = mk_region(ctx, a, w.Y["id"], "village")           # county -> village
    expect_eq(v["level"], "village", "level")
    c = mk_region(ctx, a, w.prov["id"], "community")      # province -> community
    expect_eq(c["parent_id"], w.prov["id"], "parent_id")
    t = mk_region(ctx, a, w.prov["id"], "county")
    expect_eq(t["level"], "county", "level")


def test_region_level_not_below_parent_is_refused(ctx):
    w = world(ctx)
    a = ctx.admin_token
    cases = [(w.VX["id"], "town"), (w.VX["id"], "village"), (w.VX["id"], "community"),
             (w.CX["id"], "village"), (w.X["id"], "county"), (w.X["id"], "city"),
             (w.prov["id"], "province")]
    for parent, level in cases:
        r = ctx.post("/v1/regions", {"parent_id": parent, "name": "n", "level": level,
                                     "code": uniq_code()}, token=a)
        expect_error(r, 400, "invalid_request", "level")


def test_region_unknown_level_is_refused(ctx):
    w = world(ctx)
    for level in ("district", "Village", "", 3):
        r = ctx.post("/v1/regions", {"parent_id": w.X["id"], "name": "n", "level": level,
                                     "code": uniq_code()}, token=ctx.admin_token)
        expect_error(r, 400, "invalid_request", "level")


def test_region_without_parent_must_be_a_province(ctx):
    r = ctx.post("/v1/regions", {"parent_id": None, "name": "n", "level": "county",
                                 "code": uniq_code()}, token=ctx.admin_token)
    expect_error(r, 400, "invalid_request", "parent_id")


def test_region_admin_may_not_create_a_province(ctx):
    w = world(ctx)
    r = ctx.post("/v1/regions", {"parent_id": None, "name": "n", "level": "province",
                                 "code": uniq_code()}, token=w.ra_x.token)
    expect_error(r, 403, "forbidden")


def test_region_duplicate_code_is_conflict(ctx):
    w = world(ctx)
    r = ctx.post("/v1/regions", {"parent_id": w.X["id"], "name": "twin", "level": "town",
                                 "code": w.TX["code"]}, token=ctx.admin_token)
    expect_error(r, 409, "conflict", "code")


def test_region_code_must_be_2_to_12_digits(ctx):
    w = world(ctx)
    for code in ("1", "1234567890123", "12a4", "", " 123", "12 34", "١٢٣", 123456):
        r = ctx.post("/v1/regions", {"parent_id": w.X["id"], "name": "n", "level": "town",
                                     "code": code}, token=ctx.admin_token)
        expect_error(r, 400, "invalid_request", "code")
    # 2 digits is enough (another module may hold some two-digit codes: 409 is fine)
    statuses = []
    for _ in range(6):
        r = ctx.post("/v1/regions", {"parent_id": w.X["id"], "name": "n", "level": "town",
                                     "code": "%02d" % (10 + secrets.randbelow(90))},
                     token=ctx.admin_token)
        statuses.append(r.status)
        if r.status == 201:
            break
        expect_error(r, 409, "conflict", "code")
    assert 201 in statuses, "no 2-digit code accepted: %r" % statuses


def test_region_bad_fields_are_refused(ctx):
    w = world(ctx)
    base = {"parent_id": w.X["id"], "name": "n", "level": "town"}
    cases = [({**base, "code": uniq_code(), "name": ""}, "name"),
             ({**base, "code": uniq_code(), "name": "n" * 101}, "name"),
             ({**base, "code": uniq_code(), "parent_id": "1"}, "parent_id"),
             ({**base, "code": uniq_code(), "extra": 1}, "extra"),
             ({"parent_id": w.X["id"], "level": "town", "code": uniq_code()}, "name")]
    for body, field in cases:
        expect_error(ctx.post("/v1/regions", body, token=ctx.admin_token), 400,
                     "invalid_request", field)


def test_region_under_unknown_parent_is_not_found(ctx):
    r = ctx.post("/v1/regions", {"parent_id": 999999999999, "name": "n", "level": "town",
                                 "code": uniq_code()}, token=ctx.admin_token)
    expect_error(r, 404, "not_found")


def test_region_children_list_pages_with_limit_and_cursor(ctx):
    a = ctx.admin_token
    w = world(ctx)
    town = mk_region(ctx, a, w.Y["id"], "town")
    kids = [mk_region(ctx, a, town["id"], "village")["id"] for _ in range(3)]
    body = expect_json(ctx.get("/v1/regions?parent_id=%d" % town["id"], token=a), 200)
    expect_eq([g["id"] for g in body["items"]], kids, "children")
    assert body.get("next_cursor") is None, body
    seen, cursor = [], None
    for _ in range(5):
        path = "/v1/regions?parent_id=%d&limit=1" % town["id"]
        if cursor:
            path += "&cursor=" + cursor
        page = expect_json(ctx.get(path, token=a), 200)
        assert len(page["items"]) <= 1, page
        seen += [g["id"] for g in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    expect_eq(seen, kids, "children read one page at a time")
    for bad in ("0", "501", "x", "-1"):
        expect_error(ctx.get("/v1/regions?parent_id=%d&limit=%s" % (town["id"], bad), token=a),
                     400, "invalid_request", "limit")


def test_region_admin_creates_regions_inside_its_subtree(ctx):
    w = world(ctx)
    t = mk_region(ctx, w.ra_x.token, w.X["id"], "town")
    v = mk_region(ctx, w.ra_x.token, t["id"], "village")
    expect_eq(v["path"][2]["id"], w.X["id"], "county in path")


def test_attendant_and_clerk_reach_their_county(ctx):
    """An attendant at a village's site and a clerk at a county shop both reach the
    whole county (regions, sites), and nothing of the other county."""
    w = world(ctx)
    for acct in (w.at_x, w.cl_x):
        expect_status(ctx.get("/v1/regions/%d" % w.X["id"], token=acct.token), 200)
        expect_status(ctx.get("/v1/regions/%d" % w.CX["id"], token=acct.token), 200)
        expect_status(ctx.get("/v1/sites/%d" % w.SXC["id"], token=acct.token), 200)
        expect_error(ctx.get("/v1/regions/%d" % w.Y["id"], token=acct.token), 404, "not_found")
        expect_error(ctx.get("/v1/regions/%d" % w.city["id"], token=acct.token), 404, "not_found")
        expect_error(ctx.get("/v1/sites/%d" % w.SY["id"], token=acct.token), 404, "not_found")


def test_site_create_answers_the_whole_site(ctx):
    w = world(ctx)
    r = ctx.post("/v1/sites", {"region_id": w.VX["id"], "name": "Transfer 1", "tier": "transfer",
                               "network": "sanitation", "address": "9 Depot Road",
                               "lat": 30.25, "lng": 120.5}, token=w.ra_x.token)
    s = expect_json(r, 201)
    assert isinstance(s.get("id"), int) and s["id"] > 0, s
    expect_eq((s.get("region_id"), s.get("name"), s.get("tier"), s.get("network"),
               s.get("address")), (w.VX["id"], "Transfer 1", "transfer", "sanitation",
                                   "9 Depot Road"), "site")
    assert abs(s.get("lat") - 30.25) < 1e-6 and abs(s.get("lng") - 120.5) < 1e-6, s
    expect_eq(expect_json(ctx.get("/v1/sites/%d" % s["id"], token=w.ra_x.token), 200), s,
              "GET of the new site")
    lst = expect_json(ctx.get("/v1/sites?region_id=%d&limit=500" % w.VX["id"],
                              token=w.at_x.token), 200)
    assert s["id"] in [x["id"] for x in lst["items"]], lst


def test_site_bad_fields_are_refused(ctx):
    w = world(ctx)
    base = {"region_id": w.VX["id"], "name": "s", "tier": "dropoff", "network": "recycling",
            "address": "a"}
    for body, field in (({**base, "tier": "depot"}, "tier"), ({**base, "network": "x"}, "network"),
                        ({**base, "lat": 30.0}, "lng"), ({**base, "lng": 120.0}, "lat"),
                        ({**base, "lat": 91, "lng": 0}, "lat"),
                        ({**base, "lat": 0, "lng": -181}, "lng"),
                        ({**base, "name": ""}, "name"), ({**base, "owner": 1}, "owner")):
        expect_error(ctx.post("/v1/sites", body, token=ctx.admin_token), 400,
                     "invalid_request", field)


def test_shop_create_answers_the_whole_shop(ctx):
    w = world(ctx)
    s = expect_json(ctx.post("/v1/shops", {"region_id": w.CX["id"], "name": "Corner Shop",
                                           "address": "4 Market St"}, token=w.ra_x.token), 201)
    expect_eq((s.get("region_id"), s.get("name"), s.get("address")),
              (w.CX["id"], "Corner Shop", "4 Market St"), "shop")
    expect_eq(expect_json(ctx.get("/v1/shops/%d" % s["id"], token=w.cl_x.token), 200), s,
              "GET of the new shop")
    expect_error(ctx.post("/v1/shops", {"region_id": w.CX["id"], "name": "x"},
                          token=ctx.admin_token), 400, "invalid_request", "address")


# ----------------------------------------------------------------------------- reach

def test_region_admin_reaches_nothing_of_another_county(ctx):
    """Region admin of X asks for county Y's objects, or names them in a body: every
    answer is 404 not_found (never 403), and nothing in Y changes."""
    w = world(ctx)
    t = w.ra_x.token
    hy = w.hy1["id"]
    before = get_household(ctx, hy)
    calls = [
        ("GET", "/v1/households/%d" % hy, None),
        ("PATCH", "/v1/households/%d" % hy, {"members": 7}),
        ("POST", "/v1/households/%d/card" % hy, None),
        ("PUT", "/v1/households/%d/pin" % hy, {"pin": "2580"}),
        ("GET", "/v1/households/%d/card.png" % hy, None),
        ("GET", "/v1/households/%d/card.svg" % hy, None),
        ("GET", "/v1/regions/%d/cards.pdf" % w.VY["id"], None),
        ("GET", "/v1/households?region_id=%d" % w.VY["id"], None),
        ("GET", "/v1/households?region_id=%d&q=Zhao" % w.Y["id"], None),
        ("GET", "/v1/regions/%d" % w.Y["id"], None),
        ("GET", "/v1/regions/%d" % w.VY["id"], None),
        ("GET", "/v1/regions/%d" % w.city["id"], None),
        ("GET", "/v1/regions?parent_id=%d" % w.Y["id"], None),
        ("GET", "/v1/staff/%d" % w.at_y.id, None),
        ("GET", "/v1/staff/%d" % w.ra_y.id, None),
        ("GET", "/v1/staff?region_id=%d" % w.Y["id"], None),
        ("PATCH", "/v1/staff/%d" % w.at_y.id, {"status": "disabled"}),
        ("GET", "/v1/sites/%d" % w.SY["id"], None),
        ("GET", "/v1/sites?region_id=%d" % w.Y["id"], None),
        ("GET", "/v1/shops/%d" % w.HY["id"], None),
        ("POST", "/v1/sites", {"region_id": w.VY["id"], "name": "s", "tier": "dropoff",
                               "network": "recycling", "address": "a"}),
        ("POST", "/v1/shops", {"region_id": w.VY["id"], "name": "s", "address": "a"}),
        ("POST", "/v1/staff", staff_body("attendant", w.VY["id"], site_id=w.SY["id"])),
        ("POST", "/v1/staff", staff_body("clerk", w.VY["id"], shop_id=w.HY["id"])),
        ("POST", "/v1/staff", staff_body("region_admin", w.VY["id"])),
        ("POST", "/v1/households", {"region_id": w.VY["id"], "head_name": "n", "address": "a"}),
        ("POST", "/v1/regions", {"parent_id": w.Y["id"], "name": "n", "level": "town",
                                 "code": uniq_code()}),
    ]
    problems = []
    for method, path, body in calls:
        r = ctx.call(method, path, body, token=t)
        try:
            expect_error(r, 404, "not_found")
        except AssertionError as e:
            problems.append("%s %s: %s" % (method, path, e))
    assert not problems, "\n  ".join(["reach leaks:"] + problems)
    after = get_household(ctx, hy)
    expect_eq(after, before, "county Y's household after the refused calls")
    # the attendant of Y still works (it was not disabled)
    expect_status(ctx.get(ME, token=w.at_y.token), 200)


def test_region_admin_manages_its_own_county(ctx):
    """The same calls inside county X succeed."""
    w = world(ctx)
    t = w.ra_x.token
    hh = mk_household(ctx, t, w.VX["id"], pin="2580")
    h = hh["id"]
    expect_status(ctx.get("/v1/households/%d" % h, token=t), 200)
    got = expect_json(ctx.call("PATCH", "/v1/households/%d" % h, {"members": 7}, token=t), 200)
    expect_eq(got["members"], 7, "members")
    re_ = expect_json(ctx.post("/v1/households/%d/card" % h, token=t), 200)
    assert re_["code"] != hh["code"], "reissue kept the code"
    expect_status(ctx.call("PUT", "/v1/households/%d/pin" % h, {"pin": "3691"}, token=t), 200)
    expect_status(ctx.get("/v1/households/%d/card.png" % h, token=t), 200)
    expect_status(ctx.get("/v1/households/%d/card.svg" % h, token=t), 200)
    found = expect_json(ctx.get("/v1/households?region_id=%d" % w.VX["id"], token=t), 200)
    assert h in [x["id"] for x in found["items"]], found
    for path in ("/v1/regions/%d" % w.X["id"], "/v1/regions/%d" % w.VX["id"],
                 "/v1/regions?parent_id=%d" % w.X["id"], "/v1/staff/%d" % w.at_x.id,
                 "/v1/staff?region_id=%d" % w.X["id"], "/v1/sites/%d" % w.SX["id"],
                 "/v1/sites?region_id=%d" % w.X["id"], "/v1/shops/%d" % w.HX["id"]):
        expect_status(ctx.get(path, token=t), 200, path)
    expect_status(ctx.post("/v1/sites", {"region_id": w.VX["id"], "name": "s", "tier": "transfer",
                                         "network": "recycling", "address": "a"}, token=t), 201)
    expect_status(ctx.post("/v1/shops", {"region_id": w.VX["id"], "name": "s", "address": "a"},
                           token=t), 201)
    expect_status(ctx.post("/v1/staff", staff_body("clerk", w.X["id"], shop_id=w.HX["id"]),
                           token=t), 201)
    expect_status(ctx.post("/v1/regions", {"parent_id": w.X["id"], "name": "n", "level": "town",
                                           "code": uniq_code()}, token=t), 201)


def test_region_admin_lists_only_its_subtree(ctx):
    w = world(ctx)
    staff = expect_json(ctx.get("/v1/staff?limit=500", token=w.ra_x.token), 200)
    ids = {s["id"] for s in staff["items"]}
    assert w.at_x.id in ids and w.cl_x.id in ids, "own county's staff missing: %r" % ids
    assert w.at_y.id not in ids and w.ra_y.id not in ids and ctx.admin_id not in ids, \
        "another county's staff (or the admin) listed to region admin X"
    hh = expect_json(ctx.get("/v1/households?limit=500", token=w.ra_x.token), 200)
    hids = {h["id"] for h in hh["items"]}
    assert w.hy1["id"] not in hids, "county Y's household listed to region admin X"
    sites = expect_json(ctx.get("/v1/sites?limit=500", token=w.ra_x.token), 200)
    sids = {s["id"] for s in sites["items"]}
    assert w.SX["id"] in sids and w.SY["id"] not in sids, sids
    top = expect_json(ctx.get("/v1/regions", token=w.ra_x.token), 200)
    assert w.Y["id"] not in [g["id"] for g in top["items"]], top
    assert w.prov["id"] not in [g["id"] for g in top["items"]], top


def test_unknown_ids_are_not_found_like_foreign_ones(ctx):
    w = world(ctx)
    for path in ("/v1/households/999999999999", "/v1/regions/999999999999",
                 "/v1/staff/999999999999", "/v1/sites/999999999999"):
        expect_error(ctx.get(path, token=w.ra_x.token), 404, "not_found")


# ----------------------------------------------------------------------------- staff create

def _no_secret(r, password):
    text = r.text
    assert password not in text, "the answer echoes the password: %r" % (r,)
    assert "$argon2" not in text and "hash" not in text.lower(), "the answer leaks a hash: %r" % (r,)


def test_staff_create_answers_the_member_without_secrets(ctx):
    w = world(ctx)
    b = staff_body("attendant", w.VX["id"], site_id=w.SX["id"])
    b["display_name"] = "Ms Attendant 值班员"
    r = ctx.post("/v1/staff", b, token=w.ra_x.token)
    s = expect_json(r, 201)
    _no_secret(r, b["password"])
    assert isinstance(s.get("id"), int) and s["id"] > 0, s
    expect_eq(s.get("username"), b["username"], "username")
    expect_eq(s.get("role"), "attendant", "role")
    expect_eq(s.get("region_id"), w.VX["id"], "region_id")
    expect_eq(s.get("site_id"), w.SX["id"], "site_id")
    expect_eq(s.get("display_name"), "Ms Attendant 值班员", "display_name")
    expect_eq(s.get("status"), "active", "status")
    r = ctx.get("/v1/staff/%d" % s["id"], token=w.ra_x.token)
    expect_eq(expect_json(r, 200), s, "GET of the new member")
    _no_secret(r, b["password"])
    lst = ctx.get("/v1/staff?region_id=%d&limit=500" % w.VX["id"], token=ctx.admin_token)
    _no_secret(lst, b["password"])
    assert s["id"] in [x["id"] for x in expect_json(lst, 200)["items"]], lst
    tok = ctx.login(b["username"], b["password"])
    me = expect_json(ctx.get(ME, token=tok), 200)
    expect_eq(me.get("role"), "attendant", "role of the new member's token")


def test_region_admin_creates_attendant_clerk_and_lower_region_admin(ctx):
    w = world(ctx)
    t = w.ra_x.token
    for body in (staff_body("attendant", w.VX["id"], site_id=w.SX["id"]),
                 staff_body("attendant", w.X["id"], site_id=w.SXC["id"]),
                 staff_body("clerk", w.X["id"], shop_id=w.HX["id"]),
                 staff_body("region_admin", w.TX["id"]),
                 staff_body("region_admin", w.CX["id"])):
        s = expect_json(ctx.post("/v1/staff", body, token=t), 201)
        expect_eq((s["role"], s["region_id"]), (body["role"], body["region_id"]), "member")


def test_region_admin_creating_an_admin_is_forbidden(ctx):
    w = world(ctx)
    expect_error(ctx.post("/v1/staff", staff_body("admin", None), token=w.ra_x.token),
                 403, "forbidden")
    expect_error(ctx.post("/v1/staff", staff_body("admin", w.VX["id"]), token=w.ra_x.token),
                 403, "forbidden")


def test_region_admin_creating_a_peer_region_admin_is_forbidden(ctx):
    w = world(ctx)
    expect_error(ctx.post("/v1/staff", staff_body("region_admin", w.X["id"]),
                          token=w.ra_x.token), 403, "forbidden")


def test_region_admin_creating_a_region_admin_above_itself_is_not_found(ctx):
    w = world(ctx)
    ra_tx = mk_staff(ctx, ctx.admin_token, "region_admin", w.TX["id"])
    expect_error(ctx.post("/v1/staff", staff_body("region_admin", w.X["id"]),
                          token=ra_tx.token), 404, "not_found")
    expect_error(ctx.post("/v1/staff", staff_body("region_admin", w.TX["id"]),
                          token=ra_tx.token), 403, "forbidden")
    s = expect_json(ctx.post("/v1/staff", staff_body("region_admin", w.VX["id"]),
                             token=ra_tx.token), 201)
    expect_eq(s["region_id"], w.VX["id"], "region_id")


def test_region_admin_creating_staff_outside_its_subtree_is_not_found(ctx):
    w = world(ctx)
    for body in (staff_body("region_admin", w.Y["id"]),
                 staff_body("attendant", w.VY["id"], site_id=w.SY["id"]),
                 staff_body("clerk", w.VY["id"], shop_id=w.HY["id"]),
                 staff_body("attendant", w.city["id"], site_id=w.SX["id"])):
        expect_error(ctx.post("/v1/staff", body, token=w.ra_x.token), 404, "not_found")


def test_attendant_with_a_site_outside_reach_is_not_found(ctx):
    w = world(ctx)
    expect_error(ctx.post("/v1/staff", staff_body("attendant", w.VX["id"], site_id=w.SY["id"]),
                          token=w.ra_x.token), 404, "not_found")
    expect_error(ctx.post("/v1/staff", staff_body("clerk", w.X["id"], shop_id=w.HY["id"]),
                          token=w.ra_x.token), 404, "not_found")


def test_attendant_with_a_site_outside_its_region_is_refused(ctx):
    w = world(ctx)
    for tok in (w.ra_x.token, ctx.admin_token):
        expect_error(ctx.post("/v1/staff", staff_body("attendant", w.TX["id"],
                                                      site_id=w.SXC["id"]), token=tok),
                     400, "invalid_request", "site_id")
        expect_error(ctx.post("/v1/staff", staff_body("clerk", w.VX["id"],
                                                      shop_id=w.HX["id"]), token=tok),
                     400, "invalid_request", "shop_id")


def test_attendant_without_site_is_refused(ctx):
    w = world(ctx)
    expect_error(ctx.post("/v1/staff", staff_body("attendant", w.VX["id"]), token=w.ra_x.token),
                 400, "invalid_request", "site_id")


def test_clerk_without_shop_is_refused(ctx):
    w = world(ctx)
    expect_error(ctx.post("/v1/staff", staff_body("clerk", w.X["id"]), token=w.ra_x.token),
                 400, "invalid_request", "shop_id")


def test_staff_username_taken_is_conflict(ctx):
    w = world(ctx)
    b = staff_body("clerk", w.X["id"], shop_id=w.HX["id"], username=w.cl_x.username)
    expect_error(ctx.post("/v1/staff", b, token=w.ra_x.token), 409, "conflict", "username")
    b = staff_body("region_admin", w.VY["id"], username=w.ra_y.username)
    expect_error(ctx.post("/v1/staff", b, token=ctx.admin_token), 409, "conflict", "username")


def test_staff_bad_fields_are_refused(ctx):
    w = world(ctx)
    t = ctx.admin_token
    base = staff_body("clerk", w.X["id"], shop_id=w.HX["id"])
    cases = [({**base, "password": "123456789"}, "password"),
             ({**base, "role": "resident"}, "role"),
             ({**base, "role": "boss"}, "role"),
             ({**base, "username": ""}, "username"),
             ({**base, "username": "u" * 65}, "username"),
             ({**base, "region_id": "3"}, "region_id"),
             ({**base, "shop_id": 1.5}, "shop_id"),
             ({**base, "extra": True}, "extra"),
             ({k: v for k, v in base.items() if k != "password"}, "password"),
             ({**staff_body("region_admin", None)}, "region_id"),
             ({**staff_body("admin", w.X["id"])}, "region_id")]
    for body, field in cases:
        expect_error(ctx.post("/v1/staff", body, token=t), 400, "invalid_request", field)


def test_admin_creates_an_admin_without_region(ctx):
    b = staff_body("admin", None)
    s = expect_json(ctx.post("/v1/staff", b, token=ctx.admin_token), 201)
    expect_eq((s.get("role"), s.get("region_id")), ("admin", None), "new admin")


# ----------------------------------------------------------------------------- staff patch

def test_region_admin_patches_its_own_staff(ctx):
    w = world(ctx)
    at = mk_staff(ctx, w.ra_x.token, "attendant", w.VX["id"], site_id=w.SX["id"])
    s = expect_json(ctx.call("PATCH", "/v1/staff/%d" % at.id, {"display_name": "Renamed"},
                             token=w.ra_x.token), 200)
    expect_eq(s.get("display_name"), "Renamed", "display_name")


def test_region_admin_patches_a_lower_region_admin(ctx):
    w = world(ctx)
    lower = mk_staff(ctx, ctx.admin_token, "region_admin", w.TX["id"])
    s = expect_json(ctx.call("PATCH", "/v1/staff/%d" % lower.id, {"status": "disabled"},
                             token=w.ra_x.token), 200)
    expect_eq(s.get("status"), "disabled", "status")


def test_region_admin_patching_itself_is_forbidden(ctx):
    w = world(ctx)
    ra = mk_staff(ctx, ctx.admin_token, "region_admin", w.X["id"])
    expect_error(ctx.call("PATCH", "/v1/staff/%d" % ra.id, {"display_name": "me"},
                          token=ra.token), 403, "forbidden")
    expect_error(ctx.call("PATCH", "/v1/staff/%d" % ra.id, {"status": "disabled"},
                          token=ra.token), 403, "forbidden")


def test_region_admin_patching_a_peer_is_forbidden(ctx):
    w = world(ctx)
    peer = mk_staff(ctx, ctx.admin_token, "region_admin", w.X["id"])
    expect_error(ctx.call("PATCH", "/v1/staff/%d" % peer.id, {"status": "disabled"},
                          token=w.ra_x.token), 403, "forbidden")
    expect_eq(expect_json(ctx.get("/v1/staff/%d" % peer.id, token=ctx.admin_token), 200)["status"],
              "active", "the peer's status")


def test_region_admin_patching_an_admin_is_not_found(ctx):
    w = world(ctx)
    expect_error(ctx.call("PATCH", "/v1/staff/%d" % ctx.admin_id, {"status": "disabled"},
                          token=w.ra_x.token), 404, "not_found")
    expect_error(ctx.get("/v1/staff/%d" % ctx.admin_id, token=w.ra_x.token), 404, "not_found")
    expect_status(ctx.get(ME, token=ctx.admin_token), 200)


def test_staff_patch_bad_fields_are_refused(ctx):
    w = world(ctx)
    p = "/v1/staff/%d" % w.at_x.id
    for body, field in (({"status": "gone"}, "status"), ({"password": "short"}, "password"),
                        ({"role": "admin"}, "role"), ({"display_name": ""}, "display_name"),
                        ({"status": 1}, "status")):
        expect_error(ctx.call("PATCH", p, body, token=ctx.admin_token), 400, "invalid_request",
                     field)
    expect_error(ctx.call("PATCH", p, {}, token=ctx.admin_token), 400, "invalid_request")


def test_disabled_member_token_is_refused_at_once(ctx):
    w = world(ctx)
    at = mk_staff(ctx, w.ra_x.token, "attendant", w.VX["id"], site_id=w.SX["id"])
    old = at.token
    expect_status(ctx.get(ME, token=old), 200)
    s = expect_json(ctx.call("PATCH", "/v1/staff/%d" % at.id, {"status": "disabled"},
                             token=w.ra_x.token), 200)
    expect_eq(s.get("status"), "disabled", "status")
    refused_everywhere(ctx, old)
    refused_everywhere(ctx, old, path="/v1/sites/%d" % w.SX["id"], n=2)
    expect_error(ctx.login_response(at.username, at.password), 401, "bad_credentials")


def test_reenabled_member_must_sign_in_again(ctx):
    w = world(ctx)
    at = mk_staff(ctx, w.ra_x.token, "clerk", w.X["id"], shop_id=w.HX["id"])
    old = at.token
    expect_status(ctx.call("PATCH", "/v1/staff/%d" % at.id, {"status": "disabled"},
                           token=w.ra_x.token), 200)
    s = expect_json(ctx.call("PATCH", "/v1/staff/%d" % at.id, {"status": "active"},
                             token=w.ra_x.token), 200)
    expect_eq(s.get("status"), "active", "status")
    refused_everywhere(ctx, old)
    new = ctx.login(at.username, at.password)
    expect_status(ctx.get(ME, token=new), 200)


def test_password_change_kills_the_old_token(ctx):
    w = world(ctx)
    cl = mk_staff(ctx, w.ra_x.token, "clerk", w.X["id"], shop_id=w.HX["id"])
    old = cl.token
    newpw = secrets.token_hex(8)
    r = ctx.call("PATCH", "/v1/staff/%d" % cl.id, {"password": newpw}, token=w.ra_x.token)
    expect_json(r, 200)
    _no_secret(r, newpw)
    refused_everywhere(ctx, old)
    expect_error(ctx.login_response(cl.username, cl.password), 401, "bad_credentials")
    expect_status(ctx.get(ME, token=ctx.login(cl.username, newpw)), 200)


# ----------------------------------------------------------------------------- audit

def _audit_rows(ctx, where):
    return ctx.sql("SELECT actor, role, action, request_id, remote FROM audit_log WHERE " + where)


def test_audit_rows_name_actor_and_request_id(ctx):
    w = world(ctx)
    rid = "idt-aud-" + tag(8)
    b = staff_body("clerk", w.X["id"], shop_id=w.HX["id"])
    r = ctx.post("/v1/staff", b, token=w.ra_x.token, headers={"X-Request-Id": rid + "-s"})
    s = expect_json(r, 201)
    expect_eq(r.request_id, rid + "-s", "X-Request-Id")
    rows = _audit_rows(ctx, "action='staff.create' AND object_id=%d" % s["id"])
    expect_eq([x[:4] for x in rows], [("s:%d" % w.ra_x.id, "region_admin", "staff.create",
                                       rid + "-s")], "staff.create audit rows")
    assert rows[0][4], "audit row without remote address: %r" % (rows,)
    assert b["password"] not in str(ctx.sql("SELECT detail FROM audit_log WHERE action="
                                             "'staff.create' AND object_id=%d" % s["id"])), \
        "the audit detail holds the password"

    r = ctx.post("/v1/households", {"region_id": w.VX["id"], "head_name": "Audit",
                                    "address": "a"}, token=ctx.admin_token,
                 headers={"X-Request-Id": rid + "-h"})
    h = expect_json(r, 201)
    rows = _audit_rows(ctx, "action='household.create' AND object_id=%d" % h["id"])
    expect_eq([x[:4] for x in rows], [("s:%d" % ctx.admin_id, "admin", "household.create",
                                       rid + "-h")], "household.create audit rows")

    r = ctx.post("/v1/households/%d/card" % h["id"], token=w.ra_x.token,
                 headers={"X-Request-Id": rid + "-c"})
    expect_json(r, 200)
    rows = _audit_rows(ctx, "action='household.card_reissue' AND object_id=%d" % h["id"])
    expect_eq([x[:4] for x in rows], [("s:%d" % w.ra_x.id, "region_admin",
                                       "household.card_reissue", rid + "-c")],
              "household.card_reissue audit rows")

    r = ctx.call("PATCH", "/v1/households/%d" % h["id"], {"members": 3}, token=w.ra_x.token,
                 headers={"X-Request-Id": rid + "-u"})
    expect_json(r, 200)
    rows = _audit_rows(ctx, "action='household.update' AND object_id=%d" % h["id"])
    expect_eq([x[3] for x in rows], [rid + "-u"], "household.update audit request ids")

    r = ctx.post("/v1/regions", {"parent_id": w.X["id"], "name": "aud", "level": "town",
                                 "code": uniq_code()}, token=w.ra_x.token,
                 headers={"X-Request-Id": rid + "-r"})
    g = expect_json(r, 201)
    rows = _audit_rows(ctx, "action='region.create' AND object_id=%d" % g["id"])
    expect_eq([x[:4] for x in rows], [("s:%d" % w.ra_x.id, "region_admin", "region.create",
                                       rid + "-r")], "region.create audit rows")

    r = ctx.call("PATCH", "/v1/staff/%d" % s["id"], {"display_name": "x"}, token=w.ra_x.token,
                 headers={"X-Request-Id": rid + "-p"})
    expect_json(r, 200)
    rows = _audit_rows(ctx, "action='staff.update' AND object_id=%d" % s["id"])
    expect_eq([x[:4] for x in rows], [("s:%d" % w.ra_x.id, "region_admin", "staff.update",
                                       rid + "-p")], "staff.update audit rows")


def test_audit_log_refuses_update_and_delete(ctx):
    w = world(ctx)
    r = ctx.post("/v1/regions", {"parent_id": w.Y["id"], "name": "aud", "level": "town",
                                 "code": uniq_code()}, token=ctx.admin_token)
    g = expect_json(r, 201)
    where = "action='region.create' AND object_id=%d" % g["id"]
    before = _audit_rows(ctx, where)
    expect_eq(len(before), 1, "audit rows for the new region")
    for q in ("UPDATE audit_log SET actor='s:0' WHERE " + where,
              "DELETE FROM audit_log WHERE " + where):
        try:
            ctx.sql(q)
        except AssertionError:
            pass
        else:
            raise AssertionError("the store accepted %r on the append-only audit log" % q)
    expect_eq(_audit_rows(ctx, where), before, "audit row after UPDATE/DELETE attempts")
