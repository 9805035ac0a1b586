"""Foundation: health, request ids, sign-in, tokens, routing, body rules, outages,
shutdown, configuration and the login rate limit (api.md, design.md)."""

import collections
import http.client
import json
import os
import random
import re
import secrets
import signal
import socket
import threading
import time

from lib import (expect_eq, expect_error, expect_json, expect_status, jwt_parts,
                 parse_rfc3339, SANE_REQUEST_ID)

ME = "/v1/auth/me"
LOGIN = "/v1/auth/login"
LOGOUT = "/v1/auth/logout"


def _refused_everywhere(ctx, token, n=12):
    """The token is refused on n fresh connections (so on most or all workers)."""
    for i in range(n):
        r = ctx.get(ME, token=token)
        if r.status != 401:
            raise AssertionError("request %d of %d: a revoked token was accepted: %r" % (i + 1, n, r))
        expect_error(r, 401, "unauthorized")


# ----------------------------------------------------------------------------- health

def test_healthz_answers_ok(ctx):
    r = ctx.get("/healthz")
    expect_eq(expect_json(r, 200), {"status": "ok"}, "healthz body")
    assert r.headers.get("X-Request-Id"), "healthz has no X-Request-Id: %r" % (r,)


def test_readyz_reports_both_stores_up(ctx):
    r = ctx.get("/readyz")
    body = expect_json(r, 200)
    expect_eq(body.get("mariadb"), "ok", "mariadb")
    expect_eq(body.get("redis"), "ok", "redis")
    expect_eq(body.get("degraded"), False, "degraded")


def test_metrics_is_prometheus_text_with_requests_and_latency(ctx):
    ctx.get("/healthz")
    r = expect_status(ctx.get("/metrics"), 200)
    ct = r.headers.get("Content-Type", "")
    assert ct.startswith("text/plain"), "metrics Content-Type: %r" % ct
    assert "wastebank_requests_total" in r.text, r.text[:500]
    assert "wastebank_request_duration_seconds_bucket" in r.text, r.text[:500]
    assert re.search(r'^wastebank_requests_total\{route="[^"]*/healthz",status="200"\} [1-9]',
                     r.text, re.M), "no /healthz 200 counter:\n" + r.text[:1500]


# ----------------------------------------------------------------------------- request ids

def test_request_id_echoed_when_sane(ctx):
    r = ctx.get("/healthz", headers={"X-Request-Id": "abc-123"})
    expect_eq(r.headers.get("X-Request-Id"), "abc-123", "X-Request-Id")
    r = ctx.get("/healthz", headers={"X-Request-Id": "r" * 64})
    expect_eq(r.headers.get("X-Request-Id"), "r" * 64, "a 64-character X-Request-Id")
    r = ctx.get("/v1/nope", headers={"X-Request-Id": "trace.42:x_Y"})
    err = expect_error(r, 404, "not_found")
    expect_eq(err["request_id"], "trace.42:x_Y", "error.request_id")


def test_request_id_generated_when_insane(ctx):
    for bad in ("x" * 200, "y" * 65, "has spaces in it", "semi;colon", "<script>"):
        r = ctx.get("/healthz", headers={"X-Request-Id": bad})
        rid = r.headers.get("X-Request-Id")
        assert rid and rid != bad, "sent %r, got X-Request-Id %r" % (bad, rid)
        assert SANE_REQUEST_ID.match(rid), "generated X-Request-Id is not sane: %r" % rid
    r = ctx.get("/healthz")
    assert r.headers.get("X-Request-Id"), "no X-Request-Id generated"
    r2 = ctx.get("/healthz")
    assert r.headers.get("X-Request-Id") != r2.headers.get("X-Request-Id"), "request ids repeat"


# ----------------------------------------------------------------------------- login

def test_login_right_password_returns_token(ctx):
    before = time.time()
    r = ctx.login_response(ctx.admin_username, ctx.admin_password)
    body = expect_json(r, 200)
    assert isinstance(body.get("token"), str) and body["token"].count(".") == 2, r
    expect_eq(body.get("role"), "admin", "role")
    assert isinstance(body.get("staff_id"), int) and not isinstance(body["staff_id"], bool) \
        and body["staff_id"] > 0, "staff_id must be a positive integer: %r" % (r,)
    exp = parse_rfc3339(body.get("expires_at")).timestamp()
    ttl = int(ctx.env["WB_TOKEN_TTL"])
    assert before + ttl - 5 <= exp <= time.time() + ttl + 5, \
        "expires_at %s is not now + WB_TOKEN_TTL (%d s)" % (body["expires_at"], ttl)
    hdr, claims = jwt_parts(body["token"])
    expect_eq(hdr.get("alg"), "HS256", "token alg")
    expect_eq(claims.get("sub"), "s:%d" % body["staff_id"], "token sub")
    expect_eq(claims.get("role"), "admin", "token role")
    expect_eq(claims.get("exp"), int(exp), "token exp vs expires_at")
    assert re.fullmatch(r"[0-9a-f]{32}", claims.get("jti", "")), claims


def test_login_wrong_password_is_bad_credentials(ctx):
    r = ctx.login_response(ctx.admin_username, ctx.admin_password + "x")
    expect_error(r, 401, "bad_credentials")


def test_login_unknown_user_answers_exactly_like_wrong_password(ctx):
    wrong = ctx.login_response(ctx.admin_username, "not-the-password-1")
    unknown = ctx.login_response("nobody-" + secrets.token_hex(4), "not-the-password-1")
    e1 = expect_error(wrong, 401, "bad_credentials")
    e2 = expect_error(unknown, 401, "bad_credentials")
    strip = lambda b: {**b, "error": {k: v for k, v in b["error"].items() if k != "request_id"}}
    expect_eq(strip(unknown.json), strip(wrong.json), "unknown-user answer vs wrong-password answer")
    assert e1["request_id"] != e2["request_id"]


def test_admin_account_is_in_the_store(ctx):
    """The harness's store helpers see what the server sees."""
    rows = ctx.sql("SELECT username, role, status FROM staff WHERE id = %d" % ctx.admin_id)
    expect_eq(rows, [(ctx.admin_username, "admin", "active")], "staff row")
    expect_eq(ctx.redis("PING"), "PONG", "redis PING")


def test_me_describes_the_token(ctx):
    r = ctx.get(ME, token=ctx.admin_token)
    body = expect_json(r, 200)
    expect_eq(body.get("role"), "admin", "role")
    expect_eq(body.get("staff_id"), ctx.admin_id, "staff_id")


# ----------------------------------------------------------------------------- token refusals

def test_no_token_is_unauthorized(ctx):
    expect_error(ctx.get(ME), 401, "unauthorized")
    expect_error(ctx.get(ME, headers={"Authorization": "Bearer "}), 401, "unauthorized")
    expect_error(ctx.get(ME, headers={"Authorization": "Basic YWRtaW46eA=="}), 401, "unauthorized")


def test_garbage_token_is_unauthorized(ctx):
    expect_error(ctx.get(ME, token="garbage"), 401, "unauthorized")
    expect_error(ctx.get(ME, token="a.b.c"), 401, "unauthorized")


def test_forged_token_with_right_secret_is_accepted(ctx):
    """Proves make_token() forges what the server accepts, so the refusals below mean
    something."""
    tok = ctx.make_token(ctx.claims(ctx.admin_id, "admin"))
    body = expect_json(ctx.get(ME, token=tok), 200)
    expect_eq(body.get("staff_id"), ctx.admin_id, "staff_id")
    # and one copied from a real token with only jti/iat/exp refreshed
    _, real = jwt_parts(ctx.admin_token)
    now = int(time.time())
    real.update(jti=secrets.token_hex(16), iat=now, exp=now + 600)
    expect_status(ctx.get(ME, token=ctx.make_token(real)), 200)


def test_expired_token_is_unauthorized(ctx):
    now = int(time.time())
    tok = ctx.make_token(ctx.claims(ctx.admin_id, "admin", iat=now - 7200, exp=now - 60))
    expect_error(ctx.get(ME, token=tok), 401, "unauthorized")


def test_token_without_exp_is_unauthorized(ctx):
    tok = ctx.make_token(ctx.claims(ctx.admin_id, "admin", exp=None))
    expect_error(ctx.get(ME, token=tok), 401, "unauthorized")


def test_alg_none_token_is_unauthorized(ctx):
    claims = ctx.claims(ctx.admin_id, "admin")
    for hdr in ({"alg": "none", "typ": "JWT"}, {"alg": "None"}, {"alg": "NONE", "typ": "JWT"}):
        tok = ctx.make_token(claims, alg="none", header=hdr)
        expect_error(ctx.get(ME, token=tok), 401, "unauthorized")
    # none header with a valid HS256 signature over it
    tok = ctx.make_token(claims, alg="HS256", header={"alg": "none", "typ": "JWT"})
    expect_error(ctx.get(ME, token=tok), 401, "unauthorized")


def test_hs512_token_with_right_secret_is_unauthorized(ctx):
    tok = ctx.make_token(ctx.claims(ctx.admin_id, "admin"), alg="HS512")
    expect_error(ctx.get(ME, token=tok), 401, "unauthorized")
    tok = ctx.make_token(ctx.claims(ctx.admin_id, "admin"), alg="HS384")
    expect_error(ctx.get(ME, token=tok), 401, "unauthorized")


def test_token_signed_with_another_secret_is_unauthorized(ctx):
    tok = ctx.make_token(ctx.claims(ctx.admin_id, "admin"), secret=secrets.token_hex(32))
    expect_error(ctx.get(ME, token=tok), 401, "unauthorized")
    # the QR secret is not a token secret either
    tok = ctx.make_token(ctx.claims(ctx.admin_id, "admin"), secret=ctx.env["WB_QR_SECRET"])
    expect_error(ctx.get(ME, token=tok), 401, "unauthorized")


def test_tampered_token_is_unauthorized(ctx):
    tok = ctx.login(ctx.admin_username, ctx.admin_password)
    h, p, s = tok.split(".")
    i = len(p) // 2                      # a middle character: every bit of it counts
    c = p[i]
    flipped = "B" if c != "B" else "C"
    bad = ".".join([h, p[:i] + flipped + p[i + 1:], s])
    expect_error(ctx.get(ME, token=bad), 401, "unauthorized")
    expect_status(ctx.get(ME, token=tok), 200, "the untampered token")


def test_token_for_unknown_staff_is_unauthorized(ctx):
    tok = ctx.make_token(ctx.claims(987654321, "admin"))
    expect_error(ctx.get(ME, token=tok), 401, "unauthorized")


def test_token_with_stale_version_is_unauthorized(ctx):
    tok = ctx.make_token(ctx.claims(ctx.admin_id, "admin", ver=2))
    expect_error(ctx.get(ME, token=tok), 401, "unauthorized")


def test_token_with_unknown_role_is_unauthorized(ctx):
    tok = ctx.make_token(ctx.claims(ctx.admin_id, "superuser"))
    expect_error(ctx.get(ME, token=tok), 401, "unauthorized")


# ----------------------------------------------------------------------------- logout

def test_logout_revokes_only_that_token(ctx):
    t1 = ctx.login(ctx.admin_username, ctx.admin_password)
    t2 = ctx.login(ctx.admin_username, ctx.admin_password)
    expect_status(ctx.get(ME, token=t1), 200)
    r = ctx.post(LOGOUT, token=t1)
    expect_status(r, 204)
    assert r.body == b"", "204 with a body: %r" % (r,)
    _refused_everywhere(ctx, t1)
    expect_error(ctx.post(LOGOUT, token=t1), 401, "unauthorized")
    expect_status(ctx.get(ME, token=t2), 200, "the second token after the first logged out")


# ----------------------------------------------------------------------------- roles

# Routes api.md gives only to admins (region admins at most); a clerk must get 403.
ADMIN_ONLY_PROBES = [
    ("POST", "/v1/regions"),
    ("POST", "/v1/staff"),
    ("POST", "/v1/categories"),
    ("POST", "/v1/sites"),
    ("POST", "/v1/shops"),
    ("POST", "/v1/households"),
    ("GET", "/v1/reports/ledger-check"),
]


def test_wrong_role_is_forbidden(ctx):
    tok = ctx.make_token(ctx.claims(ctx.admin_id, "clerk"))
    expect_status(ctx.get(ME, token=tok), 200, "the forged clerk token on /me")
    tried = []
    for method, path in ADMIN_ONLY_PROBES:
        r = ctx.call(method, path, token=tok, body={} if method == "POST" else None)
        if r.status in (404, 405) and (r.json or {}).get("error", {}).get("code") in (
                "not_found", "method_not_allowed"):
            tried.append(path)
            continue
        expect_error(r, 403, "forbidden")
        return
    ctx.skip("no route restricted by role exists yet (probed %s)" % ", ".join(tried))


# ----------------------------------------------------------------------------- routing

def test_unknown_route_is_json_404(ctx):
    for path in ("/v1/nope", "/nope", "/healthz/x", "/v1/auth/login/extra"):
        expect_error(ctx.get(path), 404, "not_found")


def test_wrong_method_is_json_405_with_allow(ctx):
    r = ctx.call("DELETE", "/healthz")
    expect_error(r, 405, "method_not_allowed")
    assert "GET" in r.headers.get("Allow", ""), "Allow header: %r" % (r.headers,)
    r = ctx.call("PUT", LOGIN, body={"username": "a", "password": "b"})
    expect_error(r, 405, "method_not_allowed")
    assert "POST" in r.headers.get("Allow", ""), "Allow header: %r" % (r.headers,)
    r = ctx.call("GET", LOGOUT)
    expect_error(r, 405, "method_not_allowed")


# ----------------------------------------------------------------------------- bodies

def test_body_over_route_limit_is_413(ctx):
    body = {"username": "admin", "password": "p" * 5000}         # ~5 KiB; login takes 4 KiB
    expect_error(ctx.post(LOGIN, body), 413, "payload_too_large")


def test_body_over_default_limit_is_json_413(ctx):
    body = {"username": "admin", "password": "p" * (70 * 1024)}
    expect_error(ctx.post(LOGIN, body), 413, "payload_too_large")


def test_malformed_json_is_400_with_field(ctx):
    r = ctx.post(LOGIN, raw=b'{"username": "admin", "password": ')
    expect_error(r, 400, "invalid_request", field=True)
    r = ctx.post(LOGIN, raw=b"{'username': 'admin'}")
    expect_error(r, 400, "invalid_request", field=True)


def test_duplicate_key_is_400_naming_the_key(ctx):
    r = ctx.post(LOGIN, raw=b'{"username": "a", "password": "x", "username": "b"}')
    expect_error(r, 400, "invalid_request", field="username")
    r = ctx.post(LOGIN, raw=b'{"password": "x", "username": "a", "password": "y"}')
    expect_error(r, 400, "invalid_request", field="password")


def test_unknown_field_is_400_naming_it(ctx):
    r = ctx.post(LOGIN, {"username": "a", "password": "b", "remember_me": True})
    expect_error(r, 400, "invalid_request", field="remember_me")


def test_wrong_type_is_400_naming_the_field(ctx):
    expect_error(ctx.post(LOGIN, {"username": 5, "password": "b"}), 400, "invalid_request",
                 field="username")
    expect_error(ctx.post(LOGIN, {"username": "a", "password": ["b"]}), 400, "invalid_request",
                 field="password")
    expect_error(ctx.post(LOGIN, {"username": None, "password": "b"}), 400, "invalid_request",
                 field="username")


def test_empty_body_is_400_username_required(ctx):
    r = ctx.post(LOGIN, raw=b"")
    expect_error(r, 400, "invalid_request", field="username")
    r = ctx.post(LOGIN, raw=b"", content_type=None)
    expect_error(r, 400, "invalid_request", field="username")
    r = ctx.post(LOGIN, {})
    expect_error(r, 400, "invalid_request", field="username")
    r = ctx.post(LOGIN, {"username": "admin"})
    expect_error(r, 400, "invalid_request", field="password")


def test_empty_strings_are_400(ctx):
    expect_error(ctx.post(LOGIN, {"username": "", "password": "b"}), 400, "invalid_request",
                 field="username")
    expect_error(ctx.post(LOGIN, {"username": "a", "password": ""}), 400, "invalid_request",
                 field="password")


def test_string_over_its_limit_is_400(ctx):
    expect_error(ctx.post(LOGIN, {"username": "u" * 65, "password": "b"}), 400,
                 "invalid_request", field="username")
    expect_json(ctx.post(LOGIN, {"username": "u" * 64, "password": "b"}), 401)


def test_nul_in_string_is_400(ctx):
    r = ctx.post(LOGIN, raw=b'{"username": "ad\\u0000min", "password": "x"}')
    expect_error(r, 400, "invalid_request", field=True)


def test_deeply_nested_json_is_400(ctx):
    raw = '{"username": ' + "[" * 40 + "]" * 40 + ', "password": "x"}'
    expect_error(ctx.post(LOGIN, raw=raw), 400, "invalid_request", field=True)


def test_json_array_body_is_400(ctx):
    r = ctx.post(LOGIN, [{"username": "a", "password": "b"}])
    expect_error(r, 400, "invalid_request", field=True)
    expect_error(ctx.post(LOGIN, raw=b'"admin"'), 400, "invalid_request", field=True)


def test_invalid_utf8_is_400_naming_the_field(ctx):
    """api.md: invalid UTF-8 is 400 invalid_request with field naming the offending field."""
    r = ctx.post(LOGIN, raw=b'{"username": "ad\xffmin", "password": "x"}')
    expect_error(r, 400, "invalid_request", field="username")
    r = ctx.post(LOGIN, raw=b'{"username": "admin", "password": "\xc3\x28"}')
    expect_error(r, 400, "invalid_request", field="password")


def test_wrong_content_type_is_415(ctx):
    body = '{"username": "admin", "password": "x"}'
    r = ctx.post(LOGIN, raw=body, content_type="text/plain")
    expect_error(r, 415, "unsupported_media_type")
    r = ctx.post(LOGIN, raw=body, content_type=None)
    expect_error(r, 415, "unsupported_media_type")
    r = ctx.post(LOGIN, raw=body, content_type="application/jsonx")
    expect_error(r, 415, "unsupported_media_type")


def test_json_content_type_with_charset_is_accepted(ctx):
    r = ctx.post(LOGIN, {"username": ctx.admin_username, "password": ctx.admin_password},
                 content_type="application/json; charset=utf-8")
    expect_json(r, 200)


# ----------------------------------------------------------------------------- MariaDB outage

def _readyz_all(ctx, n, status, **fields):
    """n consecutive fresh-connection /readyz all answer status with these fields."""
    for i in range(n):
        r = ctx.get("/readyz", timeout=10)
        body = r.json or {}
        if r.status != status or any(body.get(k) != v for k, v in fields.items()):
            return False
    return True


def test_mariadb_outage_is_503_and_recovers_without_restart(ctx):
    user, pw = ctx.create_admin()
    ctx.services("stop-mariadb")
    try:
        r = ctx.wait_until(lambda: (lambda r: r if r.status == 503 else None)(ctx.get("/readyz")),
                           timeout=10, message="/readyz did not turn 503")
        body = expect_json(r, 503)
        expect_eq(body.get("mariadb"), "down", "mariadb")
        expect_eq(body.get("redis"), "ok", "redis")
        # every worker: readyz 503, and a login answers 503 unavailable
        assert _readyz_all(ctx, 12, 503, mariadb="down"), "a /readyz said MariaDB is up while it is down"
        for _ in range(6):
            r = ctx.login_response(user, pw)
            expect_error(r, 503, "unavailable")
        # a token refused outright needs no database: still 401, not 503
        expect_error(ctx.get(ME, token="garbage"), 401, "unauthorized")
    finally:
        ctx.services("start-mariadb")
    t0 = time.monotonic()
    ctx.wait_until(lambda: _readyz_all(ctx, 30, 200, mariadb="ok"), timeout=10, interval=0.05,
                   message="30 consecutive /readyz answering 200 after MariaDB came back")
    assert time.monotonic() - t0 <= 10.5
    # the store works again on every worker: fresh jti -> a revocation query per request
    for i in range(30):
        tok = ctx.make_token(ctx.claims(ctx.admin_id, "admin"))
        expect_status(ctx.get(ME, token=tok), 200, "request %d after MariaDB came back" % (i + 1))
    expect_json(ctx.login_response(user, pw), 200)


# ----------------------------------------------------------------------------- Redis outage

def test_redis_outage_degrades_but_never_accepts_revoked_tokens(ctx):
    user, pw = ctx.create_admin()
    before = ctx.login(user, pw)          # logged out before the outage
    during = ctx.login(user, pw)          # logged out during it
    keeper = ctx.login(user, pw)          # never logged out
    for t in (before, during, keeper):
        expect_status(ctx.get(ME, token=t), 200)
    expect_status(ctx.post(LOGOUT, token=before), 204)
    _refused_everywhere(ctx, before, 4)
    ctx.services("stop-redis")
    try:
        r = ctx.wait_until(lambda: (lambda r: r if (r.json or {}).get("redis") == "down" else None)(
            ctx.get("/readyz")), timeout=10, message="/readyz did not report redis down")
        body = expect_json(r, 200)
        expect_eq(body.get("degraded"), True, "degraded")
        expect_eq(body.get("mariadb"), "ok", "mariadb")
        assert _readyz_all(ctx, 12, 200, redis="down", degraded=True), \
            "a /readyz said Redis is up while it is down"
        fresh = ctx.login(user, pw)
        expect_status(ctx.get(ME, token=fresh), 200, "a token issued while Redis is down")
        expect_status(ctx.get(ME, token=keeper), 200, "a live token while Redis is down")
        expect_status(ctx.post(LOGOUT, token=during), 204)
        _refused_everywhere(ctx, during)
        _refused_everywhere(ctx, before)
    finally:
        ctx.services("start-redis")
    ctx.wait_until(lambda: _readyz_all(ctx, 20, 200, redis="ok", degraded=False), timeout=10,
                   interval=0.05, message="/readyz degraded false again on every worker")


def test_token_logged_out_during_redis_outage_stays_refused_after_redis_returns(ctx):
    """design.md: a revoked token is never accepted.  The tokens were used (so checked
    and cached as live) before the outage and logged out during it (each on its own
    connection, so on various workers); once Redis is back they must still be refused,
    on every worker, from the first moment."""
    user, pw = ctx.create_admin()
    toks = [ctx.login(user, pw) for _ in range(6)]
    for t in toks:
        for _ in range(2):
            expect_status(ctx.get(ME, token=t), 200)
    ctx.services("stop-redis")
    try:
        ctx.wait_until(lambda: (ctx.get("/readyz").json or {}).get("redis") == "down", timeout=10)
        for t in toks:
            expect_status(ctx.post(LOGOUT, token=t), 204)
        for t in toks:
            _refused_everywhere(ctx, t, 3)
        # keep Redis away for a while, with traffic, as in a real outage
        t_end = time.monotonic() + 2.5
        while time.monotonic() < t_end:
            ctx.get("/readyz")
            time.sleep(0.05)
    finally:
        ctx.services("start-redis")
    t0 = time.monotonic()
    accepted = []
    counts = [0]
    lock = threading.Lock()

    def hammer(k):
        i = k
        while time.monotonic() < t0 + 4:
            t = toks[i % len(toks)]
            i += 1
            try:
                r = ctx.get(ME, token=t)
            except OSError as e:
                r = e
            with lock:
                counts[0] += 1
                if getattr(r, "status", None) != 401:
                    accepted.append((round(time.monotonic() - t0, 2), toks.index(t),
                                     getattr(r, "status", r)))

    threads = [threading.Thread(target=hammer, args=(k,), daemon=True) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not accepted, ("tokens logged out while Redis was down were accepted %d times of %d "
                          "in the 4 s after Redis came back (seconds after restart, token #, "
                          "status): %s" % (len(accepted), counts[0], accepted[:6]))


# ----------------------------------------------------------------------------- shutdown

def test_sigterm_finishes_requests_in_flight_and_exits_0(ctx):
    user, pw = ctx.create_admin()
    srv = ctx.start_server()
    n = 8
    results = [None] * n
    sent = [threading.Event() for _ in range(n)]
    go = threading.Barrier(n)

    def worker(i):
        try:
            conn = srv.client.connect(timeout=30)
            go.wait(5)
            body = ('{"username": "%s", "password": "%s"}' % (user, pw)).encode()
            conn.putrequest("POST", LOGIN, skip_accept_encoding=True)
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            sent[i].set()
            resp = conn.getresponse()
            results[i] = (resp.status, resp.read())
            conn.close()
        except Exception as e:  # noqa: BLE001 - recorded and asserted below
            results[i] = ("error", repr(e))
            sent[i].set()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for e in sent:
        e.wait(10)
    time.sleep(0.03)
    srv.kill(signal.SIGTERM)
    for t in threads:
        t.join(30)
    try:
        code = srv.proc.wait(15)
    except Exception:
        srv.proc.kill()
        raise AssertionError("the server did not exit within 15 s of SIGTERM")
    bad = [(i, r) for i, r in enumerate(results) if not (r and r[0] == 200 and b'"token"' in r[1])]
    assert not bad, "requests in flight at SIGTERM did not all get a 200: %s" % bad
    expect_eq(code, 0, "exit code after SIGTERM (log %s)" % srv.log)
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", srv.port))
        raise AssertionError("port %d still accepts connections after the server exited" % srv.port)
    except ConnectionRefusedError:
        pass
    finally:
        s.close()


def test_sigterm_right_after_start_exits_0_quickly(ctx):
    """SIGTERM as soon as /healthz answers (a supervisor stopping a fresh instance)."""
    srv = ctx.start_server(wait=False)
    srv.wait_ready(listening=False)
    t0 = time.monotonic()
    code = srv.stop(signal.SIGTERM, 15)
    assert code == 0, ("exit code %s after SIGTERM right after start-up (-15: killed by the "
                       "signal's default action, no orderly stop); log %s" % (code, srv.log))
    assert time.monotonic() - t0 < 5, "idle shutdown took %.1f s" % (time.monotonic() - t0)


def _sigmask(pid, tid):
    with open("/proc/%d/task/%d/status" % (pid, tid)) as f:
        for line in f:
            if line.startswith("SigBlk:"):
                return int(line.split()[1], 16)
    raise AssertionError("no SigBlk for thread %d" % tid)


def test_every_thread_but_main_blocks_sigterm_and_sigint(ctx):
    """The main thread takes SIGTERM/SIGINT with sigwait(); any other thread that leaves
    them unblocked can receive one instead, and then the default action kills the
    process (exit -15, no draining).  Read each thread's mask from /proc."""
    pid = ctx.server.pid
    want = (1 << (signal.SIGTERM - 1)) | (1 << (signal.SIGINT - 1))
    bad = []
    for tid in sorted(int(t) for t in os.listdir("/proc/%d/task" % pid)):
        if tid == pid:
            continue            # in sigwait(), which unblocks what it waits for
        try:
            mask = _sigmask(pid, tid)
        except FileNotFoundError:
            continue
        if mask & want != want:
            with open("/proc/%d/task/%d/comm" % (pid, tid)) as f:
                bad.append("thread %d (%s) SigBlk=%016x" % (tid, f.read().strip(), mask))
    assert not bad, ("threads that do not block SIGTERM/SIGINT, so a stop signal may kill "
                     "the server outright: %s" % "; ".join(bad))


# ----------------------------------------------------------------------------- configuration

def _expect_config_refused(ctx, env, name):
    p = ctx.run_server(env)
    expect_eq(p.returncode, 2, "exit code (stderr %r)" % p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, "expected one line on stderr, got %d: %r" % (len(lines), p.stderr)
    assert name in lines[0], "stderr does not mention %s: %r" % (name, lines[0])


def test_short_jwt_secret_exits_2_with_one_line(ctx):
    _expect_config_refused(ctx, ctx.server_env({"WB_JWT_SECRET": "0123456789"}), "WB_JWT_SECRET")


def test_missing_qr_secret_exits_2_with_one_line(ctx):
    _expect_config_refused(ctx, ctx.server_env(drop=["WB_QR_SECRET"]), "WB_QR_SECRET")


def test_missing_jwt_secret_exits_2_with_one_line(ctx):
    _expect_config_refused(ctx, ctx.server_env(drop=["WB_JWT_SECRET"]), "WB_JWT_SECRET")


def test_equal_secrets_exit_2(ctx):
    s = secrets.token_hex(32)
    p = ctx.run_server(ctx.server_env({"WB_JWT_SECRET": s, "WB_QR_SECRET": s}))
    expect_eq(p.returncode, 2, "exit code (stderr %r)" % p.stderr)
    expect_eq(len(p.stderr.strip().splitlines()), 1, "stderr lines")


# ----------------------------------------------------------------------------- rate limit

def _random_loopback():
    return "127.%d.%d.%d" % (random.randint(1, 254), random.randint(0, 255), random.randint(1, 254))


def _sleep_past_minute_boundary(margin):
    """Windows are wall-clock minutes: if fewer than `margin` s remain, wait for the next."""
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.2)


def test_login_rate_limit_per_address_is_429_with_retry_after(ctx):
    srv = ctx.start_server({"WB_LOGIN_LIMIT_PER_MIN": "3"})
    addr = _random_loopback()      # a fresh client address: counters are shared via Redis
    _sleep_past_minute_boundary(3)
    answers = []
    for i in range(4):
        answers.append(ctx.login_response("rl-%s" % secrets.token_hex(5), "wrong-password-1",
                                          client=srv.client, source_address=(addr, 0)))
    for r in answers[:3]:
        expect_error(r, 401, "bad_credentials")
    r = answers[3]
    expect_error(r, 429, "rate_limited")
    ra = r.headers.get("Retry-After")
    assert ra and ra.isdigit() and 1 <= int(ra) <= 61, "Retry-After: %r" % ra
    # another address is not limited
    r = ctx.login_response("rl-%s" % secrets.token_hex(5), "wrong-password-1", client=srv.client,
                           source_address=(_random_loopback(), 0))
    expect_error(r, 401, "bad_credentials")
    expect_eq(srv.stop(), 0, "exit code of the rate-limit server")


def test_login_rate_limit_per_username_ignores_letter_case(ctx):
    """Logins are limited per username (20 a minute).  Usernames match case-insensitively
    (the staff table's collation), so "CaseUser" is the same account as "caseuser" and
    must share its limit; otherwise the limit is bypassed 2^len(name) times over."""
    user, pw = ctx.create_admin("caseuser" + secrets.token_hex(2))
    _sleep_past_minute_boundary(15)
    for i in range(20):
        expect_error(ctx.login_response(user, "wrong-password-%d" % i), 401, "bad_credentials")
    expect_error(ctx.login_response(user, pw), 429, "rate_limited")
    r = ctx.login_response(user.upper(), pw)
    if r.status == 200:
        raise AssertionError("the per-username limit is bypassed by changing letter case: %r "
                             "signed in as staff %s after %r was limited"
                             % (user.upper(), r.json.get("staff_id"), user))
    expect_error(r, 429, "rate_limited")


# ----------------------------------------------------------------------------- listening

def test_second_server_on_a_taken_port_is_refused_not_shared(ctx):
    """Workers listen on one SO_REUSEPORT group; a second wastebankd must not join
    the first one's group and take half its connections."""
    env = ctx.server_env({"WB_LISTEN": "127.0.0.1:%d" % ctx.server.port})
    p = ctx.run_server(env)
    expect_eq(p.returncode, 1, "exit code of a second server on a taken port (stderr %r)"
              % p.stderr)
    assert "cannot listen" in p.stderr, "stderr does not say why: %r" % p.stderr
    for _ in range(20):
        expect_status(ctx.get("/healthz"), 200, "the first server still answers")


def test_connections_are_spread_over_the_workers(ctx):
    """A burst of connections is spread over the workers by the kernel, not taken
    by whichever worker wakes first (the access log names each request's worker)."""
    srv = ctx.start_server({"WB_WORKERS": "4"})
    conns = [http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10) for _ in range(48)]
    ids = []
    for c in conns:
        c.connect()
    for c in conns:
        c.request("GET", "/healthz")
        r = c.getresponse()
        r.read()
        ids.append(r.getheader("X-Request-Id"))
        c.close()

    def workers_of_ids():
        seen = {}
        with open(srv.log, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    o = json.loads(line)
                except ValueError:
                    continue
                if o.get("request_id") in ids:
                    seen[o["request_id"]] = o.get("worker")
        return seen if len(seen) == len(ids) else None

    seen = ctx.wait_until(workers_of_ids, message="every request in the access log")
    counts = sorted(collections.Counter(seen.values()).values())
    expect_eq(len(counts), 4, "workers that served the 48 connections (%r)" % counts)
    assert counts[-1] <= 24, "one worker took %d of 48 connections: %r" % (counts[-1], counts)
