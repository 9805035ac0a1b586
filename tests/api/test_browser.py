"""The web apps end to end in a real browser: each tests/web/*.spec.mjs is a Node
program driving Debian's chromium (playwright-core from web/node_modules) against this
run's wastebankd, Redis and MariaDB, which serve the built apps (make web).  A spec
passes when it exits 0; its output is shown when it fails."""

import os
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
WEB_TESTS = os.path.join(os.path.dirname(HERE), "web")


def _run_spec(ctx, name, timeout=240):
    repo = ctx.repo
    if not os.path.exists(os.path.join(repo, "web", "dist", "me", "index.html")):
        ctx.skip("the web apps are not built (make web)")
    if not os.path.exists(os.path.join(repo, "web", "node_modules", "playwright-core")):
        ctx.skip("web/node_modules is not installed (make web)")
    chrome = os.environ.get("CHROME_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(chrome):
        ctx.skip("chromium is not installed (scripts/install-deps.sh)")
    env = dict(os.environ)
    env.update({"WB_BASE": ctx.base_url, "WB_ADMIN_USER": ctx.admin_username,
                "WB_ADMIN_PASSWORD": ctx.admin_password, "CHROME_PATH": chrome,
                "WB_WEB_OUT": os.path.join(ctx.dir, "web-" + name)})
    ctx.admin_token        # the admin exists before the spec signs in
    p = subprocess.run(["node", os.path.join(WEB_TESTS, name + ".spec.mjs")], env=env,
                       cwd=ctx.dir, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, "%s.spec.mjs failed (exit %d):\n%s%s" % (
        name, p.returncode, p.stdout[-4000:], p.stderr[-2000:])


def test_browser_resident_page(ctx):
    _run_spec(ctx, "me")


def test_browser_station(ctx):
    _run_spec(ctx, "station")


def test_browser_console(ctx):
    _run_spec(ctx, "console")


def test_browser_console_village(ctx):
    _run_spec(ctx, "console_village")


def test_browser_console_reports(ctx):
    _run_spec(ctx, "console_reports")


def test_browser_till(ctx):
    _run_spec(ctx, "till")


def test_browser_console_movements(ctx):
    _run_spec(ctx, "console_movements")


def test_browser_station_camera(ctx):
    _run_spec(ctx, "station_camera")


def test_browser_security(ctx):
    _run_spec(ctx, "security")


def test_browser_console_chain(ctx):
    _run_spec(ctx, "console_chain")


def test_browser_console_catalogue(ctx):
    _run_spec(ctx, "console_catalogue")
