"""Helpers for the black-box API tests of wastebankd (Python 3 standard library only).

Every test function receives a `ctx` (class Context below).  The pieces most tests use:

    r = ctx.call("POST", "/v1/auth/login", {"username": "admin", "password": pw})
    expect_status(r, 200)
    r.json["token"]; r.headers.get("x-request-id"); r.body (bytes); r.text (str)

    token = ctx.admin_token                      # cached admin login
    ctx.login(username, password) -> token       # asserts 200
    ctx.make_token(ctx.claims(staff_id, "clerk"))  # forge a JWT with the server's secret
    expect_error(r, 401, "unauthorized")         # checks the whole error envelope
    ctx.wait_until(lambda: ..., timeout=10)
    ctx.services("stop-redis") / ctx.redis("GET", "k") / ctx.sql("SELECT ...")
    srv = ctx.start_server({"WB_LOGIN_LIMIT_PER_MIN": "3"}); srv.call(...); srv.stop()
    ctx.skip("why")                              # the test is reported as `skip`

api.md is the contract these helpers check against.
"""

import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVICES_SH = os.path.join(REPO, "scripts", "services.sh")

ASAN_OPTIONS = "detect_leaks=1:abort_on_error=0:exitcode=23"
UBSAN_OPTIONS = "print_stacktrace=1:halt_on_error=1"

SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

_DEFAULT = object()     # "use the default" marker for keyword arguments


class Skip(Exception):
    """Raised by ctx.skip(): the test could not run meaningfully (counted as passed)."""


# ----------------------------------------------------------------------------- HTTP

class Headers:
    """Response headers with case-insensitive lookup; repeated headers kept in order."""

    def __init__(self, pairs):
        self.pairs = list(pairs)

    def get(self, name, default=None):
        name = name.lower()
        for k, v in self.pairs:
            if k.lower() == name:
                return v
        return default

    def get_all(self, name):
        name = name.lower()
        return [v for k, v in self.pairs if k.lower() == name]

    def __contains__(self, name):
        return self.get(name) is not None

    def __getitem__(self, name):
        v = self.get(name)
        if v is None:
            raise KeyError(name)
        return v

    def __repr__(self):
        return "Headers(%r)" % (self.pairs,)


class Response:
    def __init__(self, method, path, status, reason, headers, body):
        self.method = method
        self.path = path
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body            # bytes
        self._json = _DEFAULT

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    @property
    def json(self):
        """The parsed body, or None when it is not JSON."""
        if self._json is _DEFAULT:
            try:
                self._json = json.loads(self.body.decode("utf-8")) if self.body else None
            except (ValueError, UnicodeDecodeError):
                self._json = None
        return self._json

    @property
    def request_id(self):
        return self.headers.get("X-Request-Id")

    def __repr__(self):
        body = self.text
        if len(body) > 400:
            body = body[:400] + "...(%d bytes)" % len(self.body)
        return "<%s %s -> %s %s>" % (self.method, self.path, self.status, body)


class Client:
    """Makes requests to one server.  A fresh TCP connection per call by default, so
    successive calls spread over the server's worker threads."""

    def __init__(self, host, port, timeout=15.0):
        self.host = host
        self.port = port
        self.timeout = timeout

    @property
    def base_url(self):
        return "http://%s:%d" % (self.host, self.port)

    def connect(self, timeout=None, source_address=None):
        """An open http.client connection (for keep-alive or hand-made requests)."""
        return http.client.HTTPConnection(self.host, self.port,
                                          timeout=timeout or self.timeout,
                                          source_address=source_address)

    def call(self, method, path, body=None, token=None, headers=None, raw=None,
             content_type=_DEFAULT, conn=None, timeout=None, source_address=None):
        """Send one request and read the whole answer.

        body: a Python value sent as JSON.  raw: bytes/str sent as they are.
        content_type: defaults to application/json when a body is sent; None sends
        no Content-Type header.  token: sent as "Authorization: Bearer <token>".
        headers: extra headers (dict).  conn: reuse this connection (keep-alive).
        source_address: (ip, 0) to send from another loopback address.
        """
        hdrs = {}
        data = None
        if body is not None and raw is not None:
            raise ValueError("give body or raw, not both")
        if body is not None:
            data = json.dumps(body).encode("utf-8")
        elif raw is not None:
            data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        if data is not None:
            ct = "application/json" if content_type is _DEFAULT else content_type
            if ct is not None:
                hdrs["Content-Type"] = ct
        elif content_type not in (_DEFAULT, None):
            hdrs["Content-Type"] = content_type
        if method in ("POST", "PUT", "PATCH") or data is not None:
            hdrs["Content-Length"] = str(len(data or b""))
        if token is not None:
            hdrs["Authorization"] = "Bearer " + token
        for k, v in (headers or {}).items():
            if v is None:
                hdrs.pop(k, None)
            else:
                hdrs[k] = v
        own = conn is None
        c = conn or self.connect(timeout=timeout, source_address=source_address)
        try:
            c.putrequest(method, path, skip_accept_encoding=True)
            for k, v in hdrs.items():
                c.putheader(k, v)
            c.endheaders(data)
            resp = c.getresponse()
            payload = resp.read()
            return Response(method, path, resp.status, resp.reason,
                            Headers(resp.getheaders()), payload)
        finally:
            if own:
                c.close()

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)


# ----------------------------------------------------------------------------- assertions

def expect_status(resp, status, msg=None):
    """Assert resp.status == status (or is in status, a tuple); the message shows the body."""
    ok = resp.status in status if isinstance(status, (tuple, list, set)) else resp.status == status
    if not ok:
        raise AssertionError("%sexpected HTTP %s, got %r" % (msg + ": " if msg else "", status, resp))
    return resp


def expect_json(resp, status=None):
    """Assert a JSON body (and status when given); return the parsed body."""
    if status is not None:
        expect_status(resp, status)
    ct = resp.headers.get("Content-Type", "")
    if not ct.lower().startswith("application/json"):
        raise AssertionError("expected Content-Type application/json, got %r in %r" % (ct, resp))
    if resp.json is None:
        raise AssertionError("expected a JSON body, got %r" % (resp,))
    return resp.json


def expect_error(resp, status, code, field=_DEFAULT):
    """Assert the api.md error envelope:
    {"error": {"code", "message", "request_id", "field"?}} with X-Request-Id equal to
    error.request_id.  field=_DEFAULT: not checked; None: must be absent; "x": must be "x";
    True: must be present (any non-empty string).  Returns the error object."""
    body = expect_json(resp, status)
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        raise AssertionError("expected {\"error\": {...}}, got %r" % (resp,))
    err = body["error"]
    if err.get("code") != code:
        raise AssertionError("expected error.code %r, got %r" % (code, resp))
    if not isinstance(err.get("message"), str) or not err["message"]:
        raise AssertionError("error.message must be a non-empty string: %r" % (resp,))
    rid = err.get("request_id")
    if not isinstance(rid, str) or not rid:
        raise AssertionError("error.request_id must be a non-empty string: %r" % (resp,))
    hdr = resp.headers.get("X-Request-Id")
    if hdr != rid:
        raise AssertionError("X-Request-Id header %r differs from error.request_id %r" % (hdr, rid))
    if field is None:
        if "field" in err:
            raise AssertionError("expected no error.field, got %r" % (resp,))
    elif field is True:
        if not isinstance(err.get("field"), str) or not err["field"]:
            raise AssertionError("expected an error.field, got %r" % (resp,))
    elif field is not _DEFAULT:
        if err.get("field") != field:
            raise AssertionError("expected error.field %r, got %r" % (field, resp))
    return err


def expect_eq(actual, expected, what="value"):
    if actual != expected:
        raise AssertionError("%s: expected %r, got %r" % (what, expected, actual))


def parse_rfc3339(s):
    """datetime for an RFC 3339 timestamp with an offset (AssertionError otherwise)."""
    if not isinstance(s, str) or not RFC3339.match(s):
        raise AssertionError("not an RFC 3339 time with offset: %r" % (s,))
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


# ----------------------------------------------------------------------------- JWT

def b64url(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_parts(token):
    """(header dict, claims dict) of a JWT, without checking the signature."""
    h, p, _ = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p))


_HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def sign_jwt(claims, secret, alg="HS256", header=None):
    """Encode claims as a JWT.  alg "none" gives an empty signature.  header replaces the
    default {"alg": alg, "typ": "JWT"}."""
    hdr = header if header is not None else {"alg": alg, "typ": "JWT"}
    seg = b64url(json.dumps(hdr, separators=(",", ":"))) + "." + \
        b64url(json.dumps(claims, separators=(",", ":")))
    if alg.lower() == "none":
        return seg + "."
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    mac = hmac.new(secret, seg.encode("ascii"), _HASHES[alg]).digest()
    return seg + "." + b64url(mac)


# ----------------------------------------------------------------------------- processes

def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def load_env_file(path):
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            k, v = line.split("=", 1)
            env[k] = v
    return env


def tail(path, n=30):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e)


class ServerHandle:
    """One running wastebankd (the main one or an extra one from ctx.start_server)."""

    def __init__(self, proc, port, log_path, env, name):
        self.proc = proc
        self.port = port
        self.log = log_path
        self.env = env
        self.name = name
        self.client = Client("127.0.0.1", port)
        self.exit_code = None

    @property
    def pid(self):
        return self.proc.pid

    @property
    def base_url(self):
        return self.client.base_url

    def call(self, *a, **kw):
        return self.client.call(*a, **kw)

    def alive(self):
        return self.proc.poll() is None

    def logged_listening(self):
        try:
            with open(self.log, "rb") as f:
                return b"listening on" in f.read()
        except OSError:
            return False

    def wait_ready(self, timeout=20.0, listening=True):
        """Wait until /healthz answers 200 and (listening=True) the log says "listening on"
        (every worker started).  A worker may answer /healthz before the others exist."""
        deadline = time.monotonic() + timeout
        last = None
        healthy = False
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("%s exited with %s during start-up; log:\n%s"
                                     % (self.name, self.proc.returncode, tail(self.log)))
            if not healthy:
                try:
                    r = self.client.call("GET", "/healthz", timeout=2)
                    healthy = r.status == 200
                    last = r
                except OSError as e:
                    last = e
            if healthy and (not listening or self.logged_listening()):
                return
            if healthy:
                last = "no 'listening on' in the log yet"
            time.sleep(0.02)
        raise AssertionError("%s not ready within %.0f s (last: %r); log:\n%s"
                             % (self.name, timeout, last, tail(self.log)))

    def kill(self, sig=signal.SIGTERM):
        """Send a signal without waiting (see stop)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        """Send sig and wait; returns the exit code (SIGKILLs after timeout and raises)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.exit_code = self.proc.returncode
                raise AssertionError("%s did not exit within %.0f s of signal %d; killed"
                                     % (self.name, timeout, sig))
        self.exit_code = self.proc.returncode
        return self.exit_code


# ----------------------------------------------------------------------------- context

class Context:
    """What every test gets.  Attributes:
    base_url, dir, env (the main server's full environment), bin (folder of the binaries),
    repo, server (ServerHandle of the main server), admin_username, admin_password."""

    def __init__(self, repo, bindir, tmpdir):
        self.repo = repo
        self.bin = bindir
        self.dir = tmpdir
        self.env = None
        self.server = None
        self.client = None
        self.admin_username = "admin"
        self.admin_password = None
        self._admin_token = None
        self._admin_id = None
        self.extra_servers = []
        self._nserver = 0
        self._lock = threading.Lock()

    # -- set-up (used by run.py) ------------------------------------------------------

    def build_env(self, services_env):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("WB_") and not k.startswith("ASAN") and not k.startswith("UBSAN")}
        env.update(services_env)
        jwt = secrets.token_hex(32)
        qr = secrets.token_hex(32)
        env.update({
            "WB_JWT_SECRET": jwt,
            "WB_QR_SECRET": qr,
            "WB_WORKERS": "4",
            "WB_LOG": "json",
            "WB_PIN_LOCK_SECONDS": "900",
            "WB_LOGIN_LIMIT_PER_MIN": "100000",
            "WB_TOKEN_TTL": "3600",
            "WB_SHUTDOWN_GRACE": "10",
            "ASAN_OPTIONS": ASAN_OPTIONS,
            "UBSAN_OPTIONS": UBSAN_OPTIONS,
        })
        self.env = env
        return env

    def bin_path(self, name):
        return os.path.join(self.bin, name)

    def server_env(self, extra=None, drop=()):
        """The main server's environment with a fresh WB_LISTEN port, `extra` applied
        (a None value removes the key) and the `drop` keys removed."""
        env = dict(self.env)
        env["WB_LISTEN"] = "127.0.0.1:%d" % free_port()
        for k, v in (extra or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = str(v)
        for k in drop:
            env.pop(k, None)
        return env

    def spawn_server(self, env, name, wait=True):
        with self._lock:
            self._nserver += 1
            n = self._nserver
        log_path = os.path.join(self.dir, "server.log" if n == 1 else "server-%d.log" % n)
        port = int(env["WB_LISTEN"].rsplit(":", 1)[1])
        logf = open(log_path, "ab")
        try:
            proc = subprocess.Popen([self.bin_path("wastebankd")], env=env, cwd=self.repo,
                                    stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        finally:
            logf.close()
        h = ServerHandle(proc, port, log_path, env, name)
        if wait:
            h.wait_ready()
        return h

    # -- for tests ----------------------------------------------------------------------

    @property
    def base_url(self):
        return self.client.base_url

    def call(self, method, path, body=None, token=None, headers=None, raw=None,
             content_type=_DEFAULT, **kw):
        """Request the main server; see Client.call."""
        return self.client.call(method, path, body=body, token=token, headers=headers,
                                raw=raw, content_type=content_type, **kw)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)

    def login_response(self, username, password, client=None, **kw):
        c = client or self.client
        return c.call("POST", "/v1/auth/login", {"username": username, "password": password}, **kw)

    def login(self, username, password, client=None):
        """Sign in and return the token (asserts 200)."""
        r = self.login_response(username, password, client=client)
        body = expect_json(r, 200)
        if not isinstance(body.get("token"), str):
            raise AssertionError("login answered no token: %r" % (r,))
        return body["token"]

    @property
    def admin_token(self):
        if self._admin_token is None:
            r = self.login_response(self.admin_username, self.admin_password)
            body = expect_json(r, 200)
            self._admin_token = body["token"]
            self._admin_id = body["staff_id"]
        return self._admin_token

    @property
    def admin_id(self):
        if self._admin_id is None:
            _ = self.admin_token
        return self._admin_id

    def create_admin(self, username=None, password=None):
        """A new admin account via `wbctl create-admin`: returns (username, password).
        Use one per test that signs in often (logins are limited per username)."""
        username = username or "adm-" + secrets.token_hex(4)
        password = password or secrets.token_hex(12)
        p = self.wbctl("create-admin", "--username", username, input=password + "\n")
        if p.returncode != 0:
            raise AssertionError("wbctl create-admin failed (%d): %s" % (p.returncode, p.stderr.strip()))
        return username, password

    def claims(self, staff_id=None, role="admin", ttl=3600, **over):
        """Claims shaped like a real staff token (sub "s:<id>", role, 32-hex jti, iat,
        exp, ver 1, iss); keyword arguments override or add (a None value removes)."""
        now = int(time.time())
        c = {
            "iss": "wastebank",
            "sub": "s:%d" % (staff_id if staff_id is not None else self.admin_id),
            "role": role,
            "jti": secrets.token_hex(16),
            "iat": now,
            "exp": now + ttl,
            "ver": 1,
        }
        for k, v in over.items():
            if v is None:
                c.pop(k, None)
            else:
                c[k] = v
        return c

    def make_token(self, claims, alg="HS256", secret=None, header=None):
        """Forge a JWT (by default signed with the server's WB_JWT_SECRET)."""
        return sign_jwt(claims, secret if secret is not None else self.env["WB_JWT_SECRET"],
                        alg=alg, header=header)

    def services(self, cmd, check=True):
        """scripts/services.sh CMD DIR (start|stop|start-redis|stop-redis|start-mariadb|...)."""
        p = subprocess.run([SERVICES_SH, cmd, self.dir], cwd=self.repo, capture_output=True,
                           text=True, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError("services.sh %s failed (%d): %s%s"
                                 % (cmd, p.returncode, p.stdout, p.stderr))
        return p

    def start_server(self, extra_env=None, wait=True):
        """Start another wastebankd on a free port with the same services (and extra_env
        applied).  The harness stops it at the end if the test did not."""
        env = self.server_env(extra_env)
        h = self.spawn_server(env, "extra wastebankd", wait=False)
        self.extra_servers.append(h)
        if wait:
            h.wait_ready()
        return h

    def run_server(self, env, timeout=10.0):
        """Run wastebankd to completion with exactly `env` (e.g. a bad configuration):
        returns CompletedProcess (text).  Fails if it is still running after timeout."""
        try:
            return subprocess.run([self.bin_path("wastebankd")], env=env, cwd=self.repo,
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("wastebankd still running %.0f s after start with this "
                                 "configuration (it should have refused it)" % timeout)

    def wbctl(self, *args, input=None, env=None, timeout=60):
        return subprocess.run([self.bin_path("wbctl")] + list(args), env=env or self.env,
                              cwd=self.repo, input=input, capture_output=True, text=True,
                              timeout=timeout)

    def wait_until(self, fn, timeout=10.0, interval=0.1, message=None):
        """Call fn until it returns something truthy; return that.  AssertionError after
        timeout (with the last value or exception)."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                v = fn()
                if v:
                    return v
                last = v
            except (AssertionError, OSError, http.client.HTTPException) as e:
                last = e
            if time.monotonic() >= deadline:
                raise AssertionError("%s (not within %.1f s; last: %r)"
                                     % (message or "condition not met", timeout, last))
            time.sleep(interval)

    def redis(self, *args):
        """redis-cli against the private Redis socket; returns stdout stripped."""
        p = subprocess.run(["redis-cli", "-s", self.env["WB_REDIS_SOCKET"]] + [str(a) for a in args],
                           capture_output=True, text=True, timeout=10)
        if p.returncode != 0:
            raise AssertionError("redis-cli %s failed: %s" % (" ".join(map(str, args)), p.stderr))
        return p.stdout.strip()

    def sql(self, query):
        """Run SQL as the app user over the socket; returns a list of row tuples (strings)."""
        e = self.env
        p = subprocess.run(["mariadb", "--no-defaults", "--socket=" + e["WB_DB_SOCKET"],
                            "-u" + e["WB_DB_USER"], "-p" + e["WB_DB_PASSWORD"], "-N", "-B",
                            e["WB_DB_NAME"], "-e", query],
                           capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            raise AssertionError("mariadb failed on %r: %s" % (query, p.stderr.strip()))
        return [tuple(line.split("\t")) for line in p.stdout.splitlines()]

    def skip(self, reason):
        raise Skip(reason)
