"""The web apps as wastebankd serves them (WB_WEB_DIR): each app at its path, its
hashed assets cached for a year, HTML revalidated, gzip to a client that takes it, the
security headers on every answer, the app's own routes answered with its index.html,
and nothing outside the folder reachable: "..", encoded forms, NUL bytes, backslashes,
symlinks that lead out, no listing.  Each test serves a small folder of its own."""

import gzip
import os
import tempfile

from lib import expect_eq, expect_error, expect_status

INDEX = b"<!doctype html><html><head><script type=module src=/assets/app-3f2a9c1d.js></script></head></html>"
APP_JS = b"console.log('wastebank');\n" * 200


def site(ctx):
    """A web folder: four apps, an asset with its .gz twin, a file outside the folder and
    two symlinks (one inside, one leading out).  Returns (dir, server)."""
    d = tempfile.mkdtemp(prefix="wbweb-", dir=ctx.dir)
    root = os.path.join(d, "dist")
    for app in ("console", "station", "till", "me"):
        os.makedirs(os.path.join(root, app))
        with open(os.path.join(root, app, "index.html"), "wb") as f:
            f.write(INDEX.replace(b"<html>", b"<html data-app=%s>" % app.encode()))
    os.makedirs(os.path.join(root, "assets"))
    with open(os.path.join(root, "assets", "app-3f2a9c1d.js"), "wb") as f:
        f.write(APP_JS)
    with open(os.path.join(root, "assets", "app-3f2a9c1d.js.gz"), "wb") as f:
        f.write(gzip.compress(APP_JS))
    with open(os.path.join(root, "assets", "style-77aa.css"), "wb") as f:
        f.write(b"body{margin:0}")
    with open(os.path.join(root, "station", "sw.js"), "wb") as f:
        f.write(b"self.addEventListener('fetch', () => {});")
    with open(os.path.join(d, "secret.txt"), "wb") as f:
        f.write(b"not for the web")
    os.symlink(os.path.join(d, "secret.txt"), os.path.join(root, "assets", "leak.txt"))
    os.symlink(os.path.join(root, "assets", "style-77aa.css"), os.path.join(root, "me", "s.css"))
    srv = ctx.start_server({"WB_WEB_DIR": root})
    return d, srv


def header(r, name):
    return r.headers.get(name) or ""


def test_web_root_redirects_to_the_console_and_apps_answer_their_index(ctx):
    _, srv = site(ctx)
    r = srv.call("GET", "/")
    expect_status(r, 302)
    expect_eq(header(r, "Location"), "/console/", "Location of /")
    r = srv.call("GET", "/station")
    expect_status(r, 301)
    expect_eq(header(r, "Location"), "/station/", "Location of /station")
    for app in ("console", "station", "till", "me"):
        r = srv.call("GET", "/%s/" % app)
        expect_status(r, 200)
        assert header(r, "Content-Type").startswith("text/html"), r
        expect_eq(header(r, "Cache-Control"), "no-cache", "HTML is revalidated")
        assert b"data-app=%s" % app.encode() in r.body, r.body[:80]
    # the app's own routes (no extension) are its index.html; a missing file is 404
    r = srv.call("GET", "/console/households/12")
    expect_status(r, 200)
    assert b"data-app=console" in r.body, r.body[:80]
    expect_error(srv.call("GET", "/console/missing.js"), 404, "not_found")
    srv.stop()


def test_web_assets_are_immutable_typed_and_gzipped_when_accepted(ctx):
    _, srv = site(ctx)
    r = srv.call("GET", "/assets/app-3f2a9c1d.js")
    expect_status(r, 200)
    expect_eq(header(r, "Content-Type"), "text/javascript; charset=utf-8", "JS type")
    expect_eq(header(r, "Cache-Control"), "public, max-age=31536000, immutable", "cache")
    expect_eq(r.body, APP_JS, "the plain file")
    assert "Content-Encoding" not in r.headers, r.headers
    expect_eq(header(r, "Vary"), "Accept-Encoding", "Vary")
    r = srv.call("GET", "/assets/app-3f2a9c1d.js", headers={"Accept-Encoding": "br, gzip"})
    expect_status(r, 200)
    expect_eq(header(r, "Content-Encoding"), "gzip", "Content-Encoding")
    assert len(r.body) < len(APP_JS), "not the compressed twin"
    expect_eq(gzip.decompress(r.body), APP_JS, "the gzip twin")
    r = srv.call("GET", "/assets/app-3f2a9c1d.js", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in r.headers, "q=0 refuses gzip: %r" % r.headers
    r = srv.call("GET", "/assets/style-77aa.css")
    expect_eq(header(r, "Content-Type"), "text/css; charset=utf-8", "CSS type")
    r = srv.call("GET", "/station/sw.js")
    expect_eq(header(r, "Cache-Control"), "no-cache", "the service worker is revalidated")
    r = srv.call("HEAD", "/console/")
    expect_status(r, 200)
    expect_eq(r.body, b"", "HEAD sends no body")
    srv.stop()


def test_web_every_answer_carries_the_security_headers(ctx):
    _, srv = site(ctx)
    for path in ("/console/", "/assets/app-3f2a9c1d.js", "/healthz", "/v1/auth/me",
                 "/assets/nothing.js"):
        r = srv.call("GET", path)
        csp = header(r, "Content-Security-Policy")
        for part in ("default-src 'self'", "script-src 'self'", "connect-src 'self'",
                     "object-src 'none'", "frame-ancestors 'none'"):
            assert part in csp, "%s: %r lacks %r" % (path, csp, part)
        assert "unsafe-inline" not in csp.split("style-src")[0], csp
        assert "'unsafe-eval'" not in csp, csp
        expect_eq(header(r, "X-Content-Type-Options"), "nosniff", path)
        expect_eq(header(r, "Referrer-Policy"), "no-referrer", path)
    srv.stop()


def test_web_nothing_outside_the_folder_is_reachable(ctx):
    _, srv = site(ctx)
    for path in ("/assets/../secret.txt", "/assets/%2e%2e/secret.txt", "/assets/%2E%2E%2Fsecret.txt",
                 "/console/..%2f..%2fsecret.txt", "/console/%2e%2e/%2e%2e/etc/passwd",
                 "/assets/app-3f2a9c1d.js%00.png", "/assets/%00", "/assets/..\\secret.txt",
                 "/assets/%5c..%5csecret.txt", "/assets//app-3f2a9c1d.js", "/assets/./app-3f2a9c1d.js",
                 "/assets/leak.txt", "/assets/", "/assets", "/console/%", "/console/%zz",
                 "/me/%2e", "/assets/app-3f2a9c1d.js.gz/"):
        r = srv.call("GET", path)
        assert r.status in (404, 400), "%s: %r" % (path, r)
        assert b"not for the web" not in r.body, "%s leaked the file outside" % path
    # a symlink whose target stays inside the folder is served
    r = srv.call("GET", "/me/s.css")
    expect_status(r, 200)
    expect_eq(r.body, b"body{margin:0}", "the symlinked file inside")
    srv.stop()


def test_web_without_built_apps_says_so(ctx):
    srv = ctx.start_server({"WB_WEB_DIR": os.path.join(ctx.dir, "no-such-dir")})
    r = srv.call("GET", "/console/")
    expect_error(r, 404, "not_found")
    assert "make web" in r.json["error"]["message"], r.json
    expect_status(srv.call("GET", "/healthz"), 200)
    srv.stop()
