#!/usr/bin/env python3
"""Black-box API tests of wastebankd against private Redis and MariaDB.

    python3 tests/api/run.py [--bin bin-san] [-k SUBSTRING] [--keep]

Starts the services (scripts/services.sh) in a fresh temporary folder, migrates,
creates the admin, starts wastebankd (stderr to DIR/server.log), runs every test_*
function of tests/api/test_*.py (modules sorted, functions in definition order) with a
ctx (lib.Context), then stops the server with SIGTERM (it must exit 0) and scans the
server logs for sanitizer reports.  Last line: "N passed, N failed"; exit 0 only if none
failed.
"""

import argparse
import importlib.util
import inspect
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import lib  # noqa: E402

SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:")


class Interrupted(Exception):
    pass


def on_sigterm(signum, frame):
    raise Interrupted("signal %d" % signum)


def discover(k):
    tests = []
    for fn in sorted(os.listdir(HERE)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        modname = fn[:-3]
        spec = importlib.util.spec_from_file_location(modname, os.path.join(HERE, fn))
        mod = importlib.util.module_from_spec(spec)
        sys.modules[modname] = mod
        spec.loader.exec_module(mod)
        for name, obj in list(vars(mod).items()):
            if (name.startswith("test_") and inspect.isfunction(obj)
                    and obj.__module__ == modname):
                full = "%s.%s" % (modname, name)
                if k is None or k in full:
                    tests.append((full, obj))
    return tests


def assertion_message(e):
    """The assertion's text, plus where in a test module it fired."""
    msg = str(e) or "assertion failed"
    where = None
    for fr in traceback.extract_tb(e.__traceback__):
        if os.path.basename(fr.filename).startswith("test_"):
            where = "%s:%d" % (os.path.basename(fr.filename), fr.lineno)
            if not str(e):
                msg = "assert failed: %s" % (fr.line or "")
    return msg + (" [%s]" % where if where else "")


def indent(text, prefix="    "):
    return "\n".join(prefix + line for line in text.rstrip().splitlines())


def scan_logs(tmpdir):
    """Sanitizer lines (with a little context) from every server log in tmpdir."""
    found = []
    for fn in sorted(os.listdir(tmpdir)):
        if not (fn.startswith("server") and fn.endswith(".log")):
            continue
        path = os.path.join(tmpdir, fn)
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        for i, line in enumerate(lines):
            if SANITIZER.search(line):
                found.append("%s:%d: %s" % (fn, i + 1, line))
                for extra in lines[i + 1:i + 25]:
                    if extra.startswith("{"):      # back to the JSON log
                        break
                    found.append("%s:    %s" % (fn, extra))
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--bin", default="bin-san", help="folder with wastebankd and wbctl (default bin-san)")
    ap.add_argument("-k", dest="k", default=None, help="run only tests whose module.name contains this")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()

    repo = lib.REPO
    bindir = args.bin if os.path.isabs(args.bin) else os.path.join(repo, args.bin)
    for b in ("wastebankd", "wbctl"):
        if not os.access(os.path.join(bindir, b), os.X_OK):
            print("harness: %s/%s not found; build first (make SAN=1 all)" % (bindir, b))
            print("0 passed, 1 failed")
            return 1

    tests = discover(args.k)
    t_start = time.monotonic()
    tmpdir = tempfile.mkdtemp(prefix="wbt", dir="/tmp")
    ctx = lib.Context(repo, bindir, tmpdir)
    passed = failed = 0
    failures = []
    old_term = signal.signal(signal.SIGTERM, on_sigterm)

    def fail(name, msg):
        nonlocal failed
        failed += 1
        failures.append(name)
        print("FAIL %s: %s" % (name, msg), flush=True)

    try:
        # ---- set-up
        try:
            ctx.services("start")
            env = ctx.build_env(lib.load_env_file(os.path.join(tmpdir, "services.env")))
            p = ctx.wbctl("migrate")
            if p.returncode != 0:
                raise AssertionError("wbctl migrate failed (%d): %s" % (p.returncode, p.stderr.strip()))
            ctx.admin_password = secrets.token_hex(12)
            p = ctx.wbctl("create-admin", "--username", ctx.admin_username,
                          input=ctx.admin_password + "\n")
            if p.returncode != 0:
                raise AssertionError("wbctl create-admin failed (%d): %s" % (p.returncode, p.stderr.strip()))
            ctx.server = ctx.spawn_server(ctx.server_env(), "wastebankd", wait=False)
            ctx.env = dict(ctx.server.env)
            ctx.client = ctx.server.client
            ctx.server.wait_ready(20)
        except AssertionError as e:
            fail("harness.setup", str(e))
            return 1
        except Exception:  # noqa: BLE001 - any set-up error ends the run, reported
            fail("harness.setup", "exception\n" + indent(traceback.format_exc()))
            return 1
        print("harness: %s (server pid %d, %s)" % (ctx.base_url, ctx.server.pid, tmpdir), flush=True)

        # ---- tests
        for i, (name, fn) in enumerate(tests):
            t0 = time.monotonic()
            try:
                fn(ctx)
                passed += 1
                print("ok   %s (%.2fs)" % (name, time.monotonic() - t0), flush=True)
            except lib.Skip as e:
                passed += 1
                print("skip %s: %s" % (name, e), flush=True)
            except AssertionError as e:
                fail(name, assertion_message(e))
            except (KeyboardInterrupt, Interrupted):
                raise
            except Exception:
                fail(name, "exception\n" + indent(traceback.format_exc()))
            if failures and failures[-1] == name:
                # a failed test may have left a service stopped: put it back
                p = ctx.services("start", check=False)
                if p.returncode != 0:
                    print("harness: services.sh start failed: %s" % p.stderr.strip())
            if not ctx.server.alive():
                fail("harness.server_alive", "the server exited with %s during %s; log tail:\n%s"
                     % (ctx.server.proc.returncode, name, indent(lib.tail(ctx.server.log))))
                left = len(tests) - i - 1
                if left:
                    print("harness: %d tests not run" % left)
                break

        # ---- tear-down checks
        for h in ctx.extra_servers:
            if h.proc.poll() is None:
                try:
                    code = h.stop(signal.SIGTERM, 15)
                except AssertionError as e:
                    fail("harness.extra_server_clean_exit", str(e))
                    continue
                if code != 0:
                    fail("harness.extra_server_clean_exit",
                         "extra server (%s) exited %s on SIGTERM" % (h.log, code))
        if ctx.server.alive():
            try:
                code = ctx.server.stop(signal.SIGTERM, 15)
                if code == 0:
                    passed += 1
                    print("ok   harness.server_clean_exit", flush=True)
                else:
                    fail("harness.server_clean_exit", "wastebankd exited %s on SIGTERM; log tail:\n%s"
                         % (code, indent(lib.tail(ctx.server.log))))
            except AssertionError as e:
                fail("harness.server_clean_exit", str(e))
        found = scan_logs(tmpdir)
        if found:
            fail("harness.sanitizers", "sanitizer reports in the server logs:\n" + indent("\n".join(found[:200])))
        else:
            passed += 1
            print("ok   harness.sanitizers", flush=True)
    except (KeyboardInterrupt, Interrupted) as e:
        fail("harness.interrupted", str(e) or "interrupted")
    except Exception:  # noqa: BLE001 - the summary must stay the last line
        fail("harness.error", "exception\n" + indent(traceback.format_exc()))
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for h in ([ctx.server] if ctx.server else []) + ctx.extra_servers:
            if h.proc.poll() is None:
                h.proc.kill()
                h.proc.wait()
        try:
            ctx.services("stop", check=False)
        except Exception as e:  # noqa: BLE001 - report and go on cleaning up
            print("harness: stopping services failed: %s" % e)
        signal.signal(signal.SIGTERM, old_term)
        if args.keep or failed:
            print("harness: kept %s" % tmpdir)
        else:
            shutil.rmtree(tmpdir, ignore_errors=True)
        print("harness: %.1f s" % (time.monotonic() - t_start))
        print("%d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
