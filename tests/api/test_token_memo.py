"""The memo of verified tokens each worker keeps (server/token.h,
token_verify_cached): a remembered token is answered without verifying it again, and
nothing it remembers outlives what full verification would allow.  Expiry, logout and
a disabled member are refused on every worker; a token changed in any way, or signed
with another secret, is refused while the one it came from still works; an iat ahead
gets token_verify's allowance and no more; and tokens pushed out of the 512 slots are
verified and revoked like the rest.  The guard's 4 KiB rule for requests without a
valid token goes through the same memo.

Each test first sends its token on WARM fresh connections, so that every worker (the
harness runs 4) has verified and remembered it."""

import json
import secrets
import threading
import time

from lib import b64url, b64url_decode, expect_eq, expect_error, expect_json, expect_status

ME = "/v1/auth/me"
LOGOUT = "/v1/auth/logout"
HEALTHZ = "/healthz"
WARM = 24                       # fresh connections: all 4 workers, but for ~0.4% of runs
SLOTS = 512                     # the memo's slots on each worker
BIG = b"x" * (4 * 1024 + 1)     # over the guard's 4 KiB for a request without a valid token


def _forged(ctx, ttl=3600, **over):
    """A token for the harness's admin with a fresh jti, signed with WB_JWT_SECRET."""
    return ctx.make_token(ctx.claims(ctx.admin_id, "admin", ttl=ttl, **over))


def _warm(ctx, token, n=WARM):
    """token accepted on n fresh connections: every worker remembers it."""
    for i in range(n):
        expect_status(ctx.get(ME, token=token), 200, "warming, request %d of %d" % (i + 1, n))


def _refused(ctx, token, n=WARM, what="a dead token"):
    """token refused (401) on n fresh connections: on every worker."""
    for i in range(n):
        r = ctx.get(ME, token=token)
        if r.status != 401:
            raise AssertionError("request %d of %d: %s was accepted: %r" % (i + 1, n, what, r))
        expect_error(r, 401, "unauthorized")


def _big_body(ctx, token, conn=None):
    """GET /healthz with a body over 4 KiB: passes the guard only with a valid token."""
    return ctx.call("GET", HEALTHZ, raw=BIG, content_type=None, token=token, conn=conn)


def _with_payload(token, change):
    """token with its claims changed by change(claims), the signature left as it was."""
    h, p, s = token.split(".")
    claims = json.loads(b64url_decode(p))
    change(claims)
    return "%s.%s.%s" % (h, b64url(json.dumps(claims, separators=(",", ":"))), s)


def _with_signature_byte(token):
    """token with one character in the middle of its signature changed."""
    h, p, s = token.split(".")
    i = len(s) // 2
    return "%s.%s.%s%s%s" % (h, p, s[:i], "A" if s[i] != "A" else "B", s[i + 1:])


# ----------------------------------------------------------------------------- expiry

def test_a_remembered_token_is_refused_everywhere_once_expired(ctx):
    tok = _forged(ctx, ttl=4)
    exp = json.loads(b64url_decode(tok.split(".")[1]))["exp"]
    _warm(ctx, tok)
    for i in range(WARM):
        expect_status(_big_body(ctx, tok), 200, "a large body with the live token, %d" % i)
    remaining = exp - time.time()
    assert remaining > 0, "warming took past the token's exp (%.1f s late)" % -remaining
    time.sleep(remaining + 0.3)         # the server's clock is in whole seconds: exp <= now
    _refused(ctx, tok, what="an expired token")
    # and the guard no longer takes it for a valid token either
    for i in range(WARM):
        expect_error(_big_body(ctx, tok), 413, "payload_too_large")


# ----------------------------------------------------------------------------- revocation

def test_a_remembered_token_is_refused_everywhere_after_logout(ctx):
    tok = _forged(ctx)
    _warm(ctx, tok)
    expect_status(ctx.post(LOGOUT, token=tok), 204)
    _refused(ctx, tok, what="a token after its logout")
    expect_status(ctx.get(ME, token=ctx.admin_token), 200, "the admin's own token")


def test_a_remembered_token_is_refused_everywhere_once_its_member_is_disabled(ctx):
    username, password = ctx.create_admin()
    tok = ctx.login(username, password)
    me = expect_json(ctx.get(ME, token=tok), 200)
    _warm(ctx, tok)
    got = expect_json(ctx.call("PATCH", "/v1/staff/%d" % me["staff_id"],
                               {"status": "disabled"}, token=ctx.admin_token), 200)
    expect_eq(got["status"], "disabled", "status")
    _refused(ctx, tok, what="a disabled member's token")


# ----------------------------------------------------------------------------- forgeries

def _refused_beside(ctx, original, variants):
    """On WARM keep-alive connections (one worker each): the original is accepted,
    every variant refused - by the router and by the guard's 4 KiB rule - and the
    original is accepted again."""
    for i in range(WARM):
        c = ctx.client.connect()
        try:
            expect_status(ctx.get(ME, token=original, conn=c), 200, "the original, %d" % i)
            for name, v in variants:
                r = ctx.get(ME, token=v, conn=c)
                if r.status != 401:
                    raise AssertionError("connection %d: %s was accepted: %r" % (i, name, r))
                expect_error(r, 401, "unauthorized")
                expect_error(_big_body(ctx, v, conn=c), 413, "payload_too_large")
            expect_status(_big_body(ctx, original, conn=c), 200, "a large body, original")
            expect_status(ctx.get(ME, token=original, conn=c), 200, "the original again")
        finally:
            c.close()


def test_tokens_derived_from_a_remembered_one_are_refused_while_it_works(ctx):
    tok = _forged(ctx)
    _warm(ctx, tok)
    h, p, s = tok.split(".")
    claims = json.loads(b64url_decode(p))
    other = secrets.token_hex(32)
    assert other != ctx.env["WB_JWT_SECRET"]
    variants = [
        ("a changed signature", _with_signature_byte(tok)),
        ("a longer life", _with_payload(tok, lambda c: c.update(exp=c["exp"] + 86400))),
        ("another member", _with_payload(tok, lambda c: c.update(sub="s:%d" % (ctx.admin_id + 1)))),
        ("a lower role", _with_payload(tok, lambda c: c.update(role="clerk"))),
        ("one character short", tok[:-1]),
        ("ten characters short", tok[:-10]),
        ("no signature", "%s.%s." % (h, p)),
        ("two segments", "%s.%s" % (h, p)),
        ("a character more", tok + "A"),
        ("the same claims under another secret", ctx.make_token(claims, secret=other)),
    ]
    for name, v in variants:
        assert v != tok, name
    _refused_beside(ctx, tok, variants)


# ----------------------------------------------------------------------------- issued ahead

def test_a_token_issued_30_s_ahead_is_accepted_everywhere(ctx):
    """Within token_verify's 60 s allowance: verified in full on each request until its
    iat comes (the memo keeps it only from then)."""
    tok = _forged(ctx, iat=int(time.time()) + 30)
    _warm(ctx, tok)
    _warm(ctx, tok)


def test_a_token_issued_120_s_ahead_is_refused_everywhere(ctx):
    tok = _forged(ctx, iat=int(time.time()) + 120)
    _refused(ctx, tok, what="a token issued 120 s ahead")
    _refused(ctx, tok, what="a token issued 120 s ahead, again")


# ----------------------------------------------------------------------------- many tokens

def _churn(ctx, tokens, nconn=WARM):
    """Send every token on each of nconn keep-alive connections (in parallel), so each
    worker sees them all."""
    errors = []

    def run():
        c = ctx.client.connect(timeout=30)
        try:
            for t in tokens:
                r = ctx.get(ME, token=t, conn=c)
                if r.status != 200:
                    errors.append(r)
                    return
        except Exception as e:      # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            c.close()

    threads = [threading.Thread(target=run) for _ in range(nconn)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise AssertionError("%d connections failed; first: %r" % (len(errors), errors[0]))


def test_tokens_pushed_out_and_kept_are_both_revoked_by_logout(ctx):
    """More distinct tokens than a worker has slots: the first one is likely pushed out
    (verified in full again), the last one is remembered; a logout refuses both."""
    evicted = _forged(ctx)
    _warm(ctx, evicted)
    t0 = time.monotonic()
    fillers = [_forged(ctx) for _ in range(SLOTS + 128)]
    _churn(ctx, fillers)
    kept = _forged(ctx)
    _warm(ctx, kept)
    print("    %d tokens on %d connections in %.1f s"
          % (len(fillers), WARM, time.monotonic() - t0))
    for tok in (evicted, kept):
        expect_status(ctx.post(LOGOUT, token=tok), 204)
    _refused(ctx, evicted, what="a pushed-out token after its logout")
    _refused(ctx, kept, what="a remembered token after its logout")
    for t in fillers[-4:] + fillers[:4]:
        expect_status(ctx.get(ME, token=t), 200, "a filler token")
