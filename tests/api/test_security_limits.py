"""Security review, issue 9: what a client can make the server hold before it is
authenticated (body limits enforced before buffering, deadlines on headers and
bodies, a connection cap, RSS after an upload flood), an access log that every
request reaches whatever its bytes, and /metrics for the operator only.

These talk to the server over bare sockets, because what they test is what
arrives on the wire and when (http.client would send the body we want refused)."""

import json
import os
import re
import resource
import secrets
import select
import signal
import socket
import subprocess
import threading
import time

from lib import Headers, Response, ServerHandle, expect_eq, expect_error, expect_json, expect_status

LOGIN = "/v1/auth/login"
IMPORT = "/v1/households/import"
MiB = 1024 * 1024
KiB = 1024


# ----------------------------------------------------------------------------- helpers

def _connect(port, timeout=10.0, source=None):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                    source_address=source)


def _head(method, path, headers=None, version="HTTP/1.1"):
    h = {"Host": "127.0.0.1"}
    h.update(headers or {})
    head = "%s %s %s\r\n" % (method, path, version)
    head += "".join("%s: %s\r\n" % kv for kv in h.items() if kv[1] is not None)
    return head.encode("latin-1") + b"\r\n"


def _read_response(f, method="GET"):
    """One response from the buffered reader f (one reader per socket, so that
    pipelined answers are read in order)."""
    line = f.readline()
    if not line:
        raise EOFError("the connection closed before a response")
    parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    status = int(parts[1])
    pairs = []
    while True:
        h = f.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode("latin-1").partition(":")
        pairs.append((k.strip(), v.strip()))
    hdrs = Headers(pairs)
    n = int(hdrs.get("Content-Length") or 0)
    body = f.read(n) if n and method != "HEAD" else b""
    return Response(method, "", status, parts[2] if len(parts) > 2 else "", hdrs, body)


def _answer(sock, method="POST", timeout=3.0):
    """The first response on sock, which must come within timeout."""
    sock.settimeout(timeout)
    f = sock.makefile("rb")
    try:
        return _read_response(f, method), f
    except (socket.timeout, TimeoutError):
        raise AssertionError("no answer within %.1f s" % timeout)


def _closes(sock, f, timeout=3.0):
    """The server closes the connection (EOF or reset) within timeout; f is the
    reader the answer was read with."""
    sock.settimeout(timeout)
    try:
        return f.read(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except (socket.timeout, TimeoutError):
        return False


def _nothing_within(sock, seconds):
    r, _, _ = select.select([sock], [], [], seconds)
    return not r


def _wait_closed(sock, limit):
    """Seconds until the server closes sock (reading, and dropping, what it sends)."""
    t0 = time.monotonic()
    sock.settimeout(0.2)
    data = b""
    while time.monotonic() - t0 < limit:
        try:
            d = sock.recv(65536)
        except (socket.timeout, TimeoutError):
            continue
        except ConnectionResetError:
            return time.monotonic() - t0, data
        if not d:
            return time.monotonic() - t0, data
        data += d
    return None, data


def _log_records(path):
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def _logged(ctx, rid, log=None):
    path = log or ctx.server.log

    def find():
        for o in _log_records(path):
            if o.get("request_id") == rid and o.get("msg") == "request":
                return o
        return None
    return ctx.wait_until(find, message="request %s in the access log" % rid)


def _rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def _wrong_login():
    """A sign-in body for a user that does not exist, new each time (sign-ins are
    rate limited per username)."""
    return ('{"username": "nobody-%s", "password": "wrong-password-1"}'
            % secrets.token_hex(6)).encode()


def _bad_token(ctx):
    """A well-formed token signed with another secret."""
    return ctx.make_token(ctx.claims(ctx.admin_id, "admin"), secret=secrets.token_hex(32))


# ----------------------------------------------------------------------------- body limits

def test_login_declaring_16_mib_is_413_before_the_body_is_sent(ctx):
    """The limit is checked from Content-Length: the answer comes with only the
    headers sent, and the connection is closed after it."""
    s = _connect(ctx.server.port)
    try:
        s.sendall(_head("POST", LOGIN, {"Content-Type": "application/json",
                                         "Content-Length": str(16 * MiB + 512 * KiB)}))
        r, f = _answer(s)
        expect_error(r, 413, "payload_too_large")
        expect_eq(r.headers.get("Connection", "").lower(), "close", "Connection header")
        assert _closes(s, f), "the connection stayed open after the refusal"
    finally:
        s.close()


def test_login_declaring_16_mib_with_expect_100_continue_is_413_not_100(ctx):
    """A client waiting for 100 Continue gets the refusal instead, and sends nothing."""
    s = _connect(ctx.server.port)
    try:
        s.sendall(_head("POST", LOGIN, {"Content-Type": "application/json",
                                         "Content-Length": str(16 * MiB), "Expect": "100-continue"}))
        r, _ = _answer(s)
        expect_error(r, 413, "payload_too_large")
    finally:
        s.close()


def test_chunked_login_body_is_413_as_soon_as_it_passes_4_kib(ctx):
    s = _connect(ctx.server.port)
    try:
        s.sendall(_head("POST", LOGIN, {"Content-Type": "application/json",
                                         "Transfer-Encoding": "chunked"}))
        s.sendall(b"1000\r\n" + b" " * 4096 + b"\r\n")          # exactly the 4 KiB allowed
        assert _nothing_within(s, 0.5), "answered while the body was still within its limit"
        s.sendall(b"1\r\n")                                     # announces byte 4097
        r, f = _answer(s)
        expect_error(r, 413, "payload_too_large")
        assert _closes(s, f), "the connection stayed open after the refusal"
    finally:
        s.close()


def test_client_still_sending_a_refused_body_reads_the_413_then_a_clean_close(ctx):
    """Clients without Expect (browsers) send the body at once.  After refusing it the
    server keeps reading and dropping it for a while (a lingering close), so the
    client's sends succeed and the answer is followed by a FIN, not a reset that
    could destroy it before the client reads it."""
    s = _connect(ctx.server.port)
    try:
        s.sendall(_head("POST", LOGIN, {"Content-Type": "application/json",
                                         "Content-Length": str(4 * MiB)}) + b" " * (256 * KiB))
        time.sleep(0.5)                         # answered and closed by now
        try:
            s.sendall(b" " * (256 * KiB))
        except (BrokenPipeError, ConnectionResetError) as e:
            raise AssertionError("the refused client's next send failed (%r): the server "
                                 "reset the connection instead of draining it" % e)
        r, f = _answer(s)
        expect_error(r, 413, "payload_too_large")
        s.settimeout(8)
        try:
            rest = f.read()
        except ConnectionResetError:
            raise AssertionError("the connection was reset after the answer, not closed")
        expect_eq(rest, b"", "bytes after the answer")
    finally:
        s.close()


def test_import_without_a_valid_token_is_refused_at_once(ctx):
    """The import route takes 16 MiB, but only from a request whose bearer token
    verifies; without one it is refused from its headers (401: authentication comes
    before the body in the router's order), never buffered."""
    for auth in (None, "Bearer " + _bad_token(ctx), "Bearer not-a-jwt"):
        s = _connect(ctx.server.port)
        try:
            s.sendall(_head("POST", IMPORT, {"Content-Type": "text/csv", "Authorization": auth,
                                              "Content-Length": str(16 * MiB)}))
            r, f = _answer(s)
            expect_error(r, 401, "unauthorized")
            assert _closes(s, f), "the connection stayed open after refusing %r" % auth
        finally:
            s.close()


def test_public_route_takes_at_most_4_kib_without_a_token(ctx):
    """/healthz has the 64 KiB default limit, but a request without a valid token may
    bring at most 4 KiB to any route; with the admin's token the same body is fine."""
    body = b"x" * (4 * KiB + 1)
    s = _connect(ctx.server.port)
    try:
        s.sendall(_head("GET", "/healthz", {"Content-Length": str(len(body))}) + body)
        r, _ = _answer(s, "GET")
        expect_error(r, 413, "payload_too_large")
    finally:
        s.close()
    r = ctx.call("GET", "/healthz", raw=body, content_type=None, token=ctx.admin_token)
    expect_status(r, 200, "the same body with a valid token")


def test_import_over_16_mib_with_a_valid_token_is_413_at_once(ctx):
    s = _connect(ctx.server.port)
    try:
        s.sendall(_head("POST", IMPORT, {"Content-Type": "text/csv",
                                          "Authorization": "Bearer " + ctx.admin_token,
                                          "Content-Length": str(16 * MiB + 1)}))
        r, _ = _answer(s)
        expect_error(r, 413, "payload_too_large")
    finally:
        s.close()


def test_body_of_exactly_the_limit_is_read(ctx):
    """4096 bytes to login are read (and judged: wrong password); 4097 are not."""
    core = b'{"username": "nobody-%s", "password": "wrong-password-1"}' % secrets.token_hex(4).encode()
    exact = core[:-1] + b" " * (4096 - len(core)) + b"}"
    assert len(exact) == 4096
    expect_error(ctx.post(LOGIN, raw=exact), 401, "bad_credentials")
    expect_error(ctx.post(LOGIN, raw=exact + b" "), 413, "payload_too_large")
    # chunked, the same 4096 bytes in two chunks
    s = _connect(ctx.server.port)
    try:
        s.sendall(_head("POST", LOGIN, {"Content-Type": "application/json",
                                         "Transfer-Encoding": "chunked"}) +
                  b"800\r\n" + exact[:2048] + b"\r\n800\r\n" + exact[2048:] + b"\r\n0\r\n\r\n")
        r, _ = _answer(s)
        expect_error(r, 401, "bad_credentials")
    finally:
        s.close()
    # an authenticated request may bring more than 4 KiB to a route that takes it
    csv = b"region_code,head_name,address,phone,members\n" + b"nope,a,b,,1\n" * 6000
    r = ctx.call("POST", IMPORT, raw=csv, content_type="text/csv", token=ctx.admin_token)
    assert r.status != 413, "a %d-byte import with a valid token was refused for size: %r" % (
        len(csv), r)
    expect_error(r, 400, "invalid_request")


def test_expect_100_continue_still_works(ctx):
    body = _wrong_login()
    s = _connect(ctx.server.port)
    try:
        s.sendall(_head("POST", LOGIN, {"Content-Type": "application/json",
                                         "Content-Length": str(len(body)),
                                         "Expect": "100-continue"}))
        s.settimeout(3)
        f = s.makefile("rb")
        expect_eq(f.readline().split(b" ")[1], b"100", "interim status")
        while f.readline() not in (b"\r\n", b"\n", b""):
            pass
        s.sendall(body)
        expect_error(_read_response(f, "POST"), 401, "bad_credentials")
    finally:
        s.close()


# ----------------------------------------------------------------------------- keep-alive

def test_keep_alive_and_pipelined_requests_are_answered_in_order(ctx):
    body = _wrong_login()
    ids = ["sec-pipe-%d-%s" % (i, secrets.token_hex(3)) for i in range(4)]
    reqs = [
        _head("GET", "/healthz", {"X-Request-Id": ids[0]}),
        _head("POST", LOGIN, {"X-Request-Id": ids[1], "Content-Type": "application/json",
                              "Content-Length": str(len(body))}) + body,
        _head("POST", LOGIN, {"X-Request-Id": ids[2], "Content-Type": "application/json",
                              "Transfer-Encoding": "chunked"}) +
        b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n",
        _head("GET", "/readyz", {"X-Request-Id": ids[3]}),
    ]
    wire = b"".join(reqs)
    s = _connect(ctx.server.port)
    try:
        # all four in one write but the last 30 bytes, which come a little later
        s.sendall(wire[:-30])
        time.sleep(0.2)
        s.sendall(wire[-30:])
        s.settimeout(10)
        f = s.makefile("rb")
        got = [_read_response(f, m) for m in ("GET", "POST", "POST", "GET")]
        expect_eq([r.headers.get("X-Request-Id") for r in got], ids, "answers in request order")
        expect_eq([r.status for r in got], [200, 401, 401, 200], "statuses")
        # and a fifth request, byte by byte, on the same connection
        rid = "sec-pipe-slow-" + secrets.token_hex(3)
        for b in _head("GET", "/healthz", {"X-Request-Id": rid}):
            s.sendall(bytes([b]))
        r = _read_response(f)
        expect_eq((r.status, r.headers.get("X-Request-Id")), (200, rid), "byte-by-byte request")
    finally:
        s.close()
    # http.client's keep-alive reuses one connection for several calls
    c = ctx.client.connect()
    try:
        for _ in range(3):
            expect_status(ctx.call("GET", "/healthz", conn=c), 200)
    finally:
        c.close()


# ----------------------------------------------------------------------------- deadlines

def test_headers_trickling_in_are_cut_off_after_10_s(ctx):
    s = _connect(ctx.server.port)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        t0 = time.monotonic()
        closed = None
        while time.monotonic() - t0 < 16:
            try:
                s.sendall(b"X-Slow: 1\r\n")         # a line a second keeps evhttp's own timer alive
            except (BrokenPipeError, ConnectionResetError):
                closed = time.monotonic() - t0
                break
            left, data = _wait_closed(s, 1.0)
            if left is not None:
                closed = time.monotonic() - t0
                assert data == b"", "an answer to a request whose headers never ended: %r" % data
                break
        assert closed is not None, "headers trickling in for 16 s were still being read"
        assert 9.0 <= closed <= 13.0, "closed after %.1f s, not about 10 s" % closed
    finally:
        s.close()
    with open(ctx.server.log, encoding="utf-8", errors="replace") as f:
        assert "headers not complete within 10000 ms" in f.read(), "no log line for the cut"


def test_body_trickling_in_is_cut_off_at_its_deadline(ctx):
    """A 200-byte body has 10 s + 200 / 8 KiB per second (10.02 s)."""
    s = _connect(ctx.server.port)
    try:
        s.sendall(_head("POST", LOGIN, {"Content-Type": "application/json",
                                         "Content-Length": "200"}) + b'{"username": ')
        t0 = time.monotonic()
        closed = None
        while time.monotonic() - t0 < 16:
            try:
                s.sendall(b" ")
            except (BrokenPipeError, ConnectionResetError):
                closed = time.monotonic() - t0
                break
            left, data = _wait_closed(s, 1.0)
            if left is not None:
                closed = time.monotonic() - t0
                break
        assert closed is not None, "a body trickling in for 16 s was still being read"
        assert 9.0 <= closed <= 13.0, "closed after %.1f s, not about 10 s" % closed
    finally:
        s.close()


# ----------------------------------------------------------------------------- connection cap

def test_connections_over_the_cap_get_503_and_are_closed(ctx):
    srv = ctx.start_server({"WB_MAX_CONNECTIONS": "4", "WB_WORKERS": "2"})
    held = []
    try:
        for i in range(4):
            s = _connect(srv.port)
            s.sendall(_head("GET", "/healthz"))
            r, f = _answer(s, "GET")
            expect_status(r, 200, "connection %d of 4" % (i + 1))
            held.append((s, f))
        s = _connect(srv.port)
        try:
            s.sendall(_head("GET", "/healthz"))
            r, f = _answer(s, "GET")
            expect_error(r, 503, "unavailable")
            assert r.headers.get("Retry-After"), "503 without Retry-After: %r" % (r,)
            assert _closes(s, f), "the connection over the cap stayed open"
        finally:
            s.close()
        # a held connection still works, and once one closes a new one is served
        held[0][0].sendall(_head("GET", "/healthz"))
        expect_status(_read_response(held[0][1]), 200, "a connection under the cap")
        held.pop()[0].close()
        ctx.wait_until(lambda: srv.call("GET", "/healthz", timeout=3).status == 200,
                       message="a new connection served after one closed")
    finally:
        for s, _ in held:
            s.close()
    expect_eq(srv.stop(), 0, "exit code of the capped server")


def test_running_out_of_descriptors_pauses_accepting_then_resumes(ctx):
    """With fewer descriptors than clients the listener pauses (EMFILE) and must
    resume: 90 idle clients against a server allowed 64 descriptors, then, once they
    are gone, a request is served at once.  (The pause used to read evhttp's argument
    as the worker, was never undone, and the worker stopped accepting for good.)"""
    env = ctx.server_env({"WB_WORKERS": "2"})
    log = os.path.join(ctx.dir, "server-nofile.log")

    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    with open(log, "ab") as logf:
        proc = subprocess.Popen([ctx.bin_path("wastebankd")], env=env, cwd=ctx.repo,
                                stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                preexec_fn=limit)
    srv = ServerHandle(proc, int(env["WB_LISTEN"].rsplit(":", 1)[1]), log, env, "nofile")
    socks = []
    try:
        srv.wait_ready()
        for _ in range(90):
            socks.append(_connect(srv.port, timeout=5))
        time.sleep(1.0)
        for s in socks:
            s.close()
        ctx.wait_until(lambda: srv.call("GET", "/healthz", timeout=2).status == 200,
                       timeout=10, message="served again once the clients were gone")
        with open(log, encoding="utf-8", errors="replace") as f:
            text = f.read()
        assert "RLIMIT_NOFILE is 64" in text, "no warning about the descriptor limit"
        assert "Too many open files; pausing 100 ms" in text, "the listener never paused"
        expect_eq(srv.stop(signal.SIGTERM), 0, "exit code of the server with 64 descriptors")
    finally:
        for s in socks:
            s.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# ----------------------------------------------------------------------------- memory

def test_rss_stays_near_baseline_after_16_slow_16_mib_uploads(ctx):
    """16 clients declare 16 MiB bodies (8 to login, 8 to the import without a token)
    and send them a MiB at a time.  The server must refuse them from their headers:
    its RSS may not rise 64 MiB above where it was, during the attack or after."""
    srv = ctx.start_server()
    for _ in range(40):
        srv.call("GET", "/healthz")
        srv.call("POST", LOGIN, raw=_wrong_login())
    base = _rss_kib(srv.pid)
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            try:
                peak[0] = max(peak[0], _rss_kib(srv.pid))
            except (OSError, AssertionError):
                return
            time.sleep(0.05)

    answers = [None] * 16
    chunk = b"a" * MiB

    def upload(i):
        path, ct = (LOGIN, "application/json") if i % 2 else (IMPORT, "text/csv")
        try:
            s = _connect(srv.port, timeout=20)
        except OSError as e:
            answers[i] = "connect: %r" % e
            return
        try:
            s.sendall(_head("POST", path, {"Content-Type": ct, "Content-Length": str(16 * MiB)}))
            for _ in range(16):
                s.sendall(chunk)
                time.sleep(0.02)
        except OSError:
            pass                                # refused and closed: as it should be
        try:
            s.settimeout(20)
            answers[i] = _read_response(s.makefile("rb"), "POST").status
        except (OSError, EOFError, ValueError, IndexError) as e:
            answers[i] = "no answer: %r" % e
        finally:
            s.close()

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    threads = [threading.Thread(target=upload, args=(i,), daemon=True) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    time.sleep(1.0)
    after = _rss_kib(srv.pid)
    done.set()
    sampler.join(5)
    peak[0] = max(peak[0], after)
    print("    rss: baseline %.1f MiB, peak %.1f MiB, after %.1f MiB; answers %s"
          % (base / 1024, peak[0] / 1024, after / 1024, sorted(map(str, answers))))
    assert peak[0] <= base + 64 * 1024, (
        "RSS rose from %.1f MiB to %.1f MiB (%.1f MiB after) under 16 uploads of 16 MiB"
        % (base / 1024, peak[0] / 1024, after / 1024))
    expect_status(srv.call("GET", "/healthz"), 200, "the server after the attack")
    expect_eq(srv.stop(), 0, "exit code after the attack")


# ----------------------------------------------------------------------------- access log

RAW_QUERY = b"/healthz?q=\xff\xfe%41\x01\x1b[2J&n=\xe4\xb8\xad&b=\xc0\xaf&c=\xc2\x9b"
LOGGED_QUERY = "/healthz?q=%FF%FE%41%01%1B[2J&n=\u4e2d&b=%C0%AF&c=%C2%9B"


def _send_raw_target(port, target, rid):
    s = _connect(port)
    try:
        s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: " +
                  rid.encode() + b"\r\nConnection: close\r\n\r\n")
        r, _ = _answer(s, "GET")
        return r
    finally:
        s.close()


def test_invalid_utf8_and_control_bytes_in_the_query_are_logged(ctx):
    rid = "sec-log-" + secrets.token_hex(4)
    expect_status(_send_raw_target(ctx.server.port, RAW_QUERY, rid), 200)
    o = _logged(ctx, rid)
    expect_eq(o.get("path"), LOGGED_QUERY, "the logged path")
    expect_eq(o.get("status"), 200, "the logged status")
    # a sign-in with such a query is logged too
    rid = "sec-log-login-" + secrets.token_hex(4)
    s = _connect(ctx.server.port)
    try:
        body = _wrong_login()
        s.sendall(b"POST /v1/auth/login?x=\xff\x07 HTTP/1.1\r\nHost: x\r\nX-Request-Id: " +
                  rid.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: " +
                  str(len(body)).encode() + b"\r\n\r\n" + body)
        r, _ = _answer(s)
        expect_error(r, 401, "bad_credentials")
    finally:
        s.close()
    expect_eq(_logged(ctx, rid).get("path"), "/v1/auth/login?x=%FF%07", "the logged login path")


def test_text_log_escapes_the_query_and_keeps_one_line_per_request(ctx):
    srv = ctx.start_server({"WB_LOG": "text"})
    rid = "sec-text-" + secrets.token_hex(4)
    expect_status(_send_raw_target(srv.port, RAW_QUERY, rid), 200)
    long_rid = "sec-text-long-" + secrets.token_hex(4)
    expect_status(_send_raw_target(srv.port, b"/healthz?z=" + b"z" * 6000, long_rid), 200)
    next_rid = "sec-text-next-" + secrets.token_hex(4)
    expect_status(_send_raw_target(srv.port, b"/healthz", next_rid), 200)
    expect_eq(srv.stop(), 0, "exit code of the text-log server")
    with open(srv.log, "rb") as f:
        raw = f.read()
    assert b"\x1b" not in raw and b"\xff" not in raw, "raw client bytes in the text log"
    lines = raw.decode("utf-8").splitlines()
    mine = {}
    for line in lines:
        m = re.match(r"^\S+ (\w+) +request (\{.*)$", line)
        if m:
            try:
                o = json.loads(m.group(2))
            except ValueError:
                raise AssertionError("a text log line is cut short or runs into the next: "
                                     "%r...%r" % (line[:120], line[-200:]))
            mine[o.get("request_id")] = o
    for r in (rid, long_rid, next_rid):
        assert r in mine, "request %s has no text log line of its own:\n%s" % (
            r, "\n".join(l[:200] for l in lines[-8:]))
    expect_eq(mine[rid].get("path"), LOGGED_QUERY, "the logged path (text log)")
    expect_eq(mine[long_rid].get("path_truncated"), True, "a long path is marked cut")


# ----------------------------------------------------------------------------- framing refusals

def test_framing_the_guard_cannot_trust_is_json_400(ctx):
    cases = [
        ("two lengths", {"Content-Length": ["5", "6"]}),
        ("a length that is not a number", {"Content-Length": ["5x"]}),
        ("chunked and a length", {"Content-Length": ["5"], "Transfer-Encoding": ["chunked"]}),
        ("another transfer coding", {"Transfer-Encoding": ["gzip"]}),
        ("a space before the colon", {"Content-Length ": ["5"]}),
    ]
    for what, hdrs in cases:
        head = b"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\n"
        for k, vs in hdrs.items():
            for v in vs:
                head += ("%s: %s\r\n" % (k, v)).encode()
        s = _connect(ctx.server.port)
        try:
            s.sendall(head + b"\r\nhello")
            r, _ = _answer(s)
            expect_error(r, 400, "invalid_request")
        except AssertionError as e:
            raise AssertionError("%s: %s" % (what, e))
        finally:
            s.close()


def test_headers_over_32_kib_are_json_400(ctx):
    s = _connect(ctx.server.port)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" +
                  b"".join(b"X-Pad-%d: %s\r\n" % (i, b"p" * 1000) for i in range(40)) + b"\r\n")
        r, _ = _answer(s, "GET")
        expect_error(r, 400, "invalid_request")
    finally:
        s.close()


def test_unknown_method_is_json_405_or_404(ctx):
    s = _connect(ctx.server.port)
    try:
        s.sendall(b"BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        r, _ = _answer(s, "GET")
        expect_error(r, 405, "method_not_allowed")
        assert "GET" in r.headers.get("Allow", ""), "Allow: %r" % (r.headers,)
    finally:
        s.close()


def test_client_sent_guard_marker_is_ignored(ctx):
    r = ctx.get("/healthz", headers={"X-WB-Guard": "0123456789abcdef full"})
    expect_status(r, 200, "a request carrying its own marker")


# ----------------------------------------------------------------------------- /metrics

def test_metrics_from_another_address_is_403(ctx):
    r = ctx.get("/metrics", source_address=("127.0.0.2", 0))
    expect_error(r, 403, "forbidden")
    assert "wastebank_" not in r.text, "metrics leaked in a refusal: %r" % (r,)


def test_metrics_with_the_token_is_served_from_any_address(ctx):
    token = secrets.token_hex(24)
    srv = ctx.start_server({"WB_METRICS_TOKEN": token})
    far = ("127.0.0.2", 0)
    r = srv.call("GET", "/metrics", headers={"Authorization": "Bearer " + token},
                 source_address=far)
    expect_status(r, 200, "/metrics with the token")
    assert "wastebank_requests_total" in r.text, r.text[:300]
    wrong = token[:-1] + ("0" if token[-1] != "0" else "1")
    for bad in ("Bearer " + wrong, "Bearer " + token[:-1], "Bearer " + ctx.admin_token, token):
        expect_error(srv.call("GET", "/metrics", headers={"Authorization": bad},
                              source_address=far), 403, "forbidden")
    expect_eq(srv.stop(), 0, "exit code of the token server")


def test_metrics_from_loopback_is_served(ctx):
    r = ctx.get("/metrics")
    expect_status(r, 200, "/metrics from 127.0.0.1")
    assert "wastebank_requests_total" in r.text, r.text[:300]
