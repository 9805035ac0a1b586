"""Identity: household import over HTTP (CSV, UTF-8 and GB18030, all or nothing, 100,000
rows) and the operator's CLI (wbctl import-households, wbctl cards)."""

import os
import socket
import time

from lib import Headers, Response, expect_eq, expect_error, expect_json
from test_identity import mk_household, mk_region, tag, world

IMPORT = "/v1/households/import"
HEADER = "region_code,head_name,address,phone,members"


def _post_csv(ctx, data, token=None, ct="text/csv", **kw):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return ctx.call("POST", IMPORT, raw=data, content_type=ct, token=token or ctx.admin_token,
                    **kw)


def _village(ctx, parent=None):
    w = world(ctx)
    return mk_region(ctx, ctx.admin_token, parent or w.TX["id"], "village")


def _search(ctx, region_id, q=None, token=None):
    items, cursor = [], None
    while True:
        path = "/v1/households?region_id=%d&limit=500" % region_id
        if q:
            path += "&q=" + q
        if cursor:
            path += "&cursor=" + cursor
        body = expect_json(ctx.get(path, token=token or ctx.admin_token), 200)
        items += body["items"]
        cursor = body.get("next_cursor")
        if not cursor:
            return items


def _count(ctx, region_id):
    return expect_json(ctx.get("/v1/regions/%d" % region_id, token=ctx.admin_token),
                       200)["households"]


def _import_errors(r):
    err = expect_error(r, 400, "invalid_request")
    errs = r.json.get("errors")
    assert isinstance(errs, list) and errs, "400 without a top-level errors list: %r" % (r,)
    for e in errs:
        assert isinstance(e, dict) and isinstance(e.get("line"), int) \
            and isinstance(e.get("field"), str) and isinstance(e.get("message"), str) \
            and e["message"], "malformed errors entry %r in %r" % (e, r)
    return err, errs


# ----------------------------------------------------------------------------- HTTP import

def test_import_utf8_with_bom_and_quoted_fields(ctx):
    v = _village(ctx)
    k = tag(8)
    code = v["code"]
    rows = [
        (code, "Plain %s" % k, "1 Road", "13800001111", "3"),
        (code, '"Comma, %s"' % k, '"2 Road, Block B"', "", ""),
        (code, '"Quote ""Q"" %s"' % k, '"He said ""hi"""', "021-555", "2"),
        (code, '"Newline %s"' % k, '"Line one\nLine two"', "", "4"),
        (code, "王大锤 %s" % k, "村东头 5 号", "+86 139 0000 0000", "99"),
    ]
    text = "\ufeff" + HEADER + "\r\n" + "\r\n".join(",".join(r) for r in rows) + "\r\n"
    r = _post_csv(ctx, text)
    expect_eq(expect_json(r, 200), {"created": 5}, "import answer")
    got = {h["head_name"]: h for h in _search(ctx, v["id"])}
    expect_eq(len(got), 5, "households in the village")
    want = {
        "Plain %s" % k: ("1 Road", "13800001111", 3),
        "Comma, %s" % k: ("2 Road, Block B", None, 1),
        'Quote "Q" %s' % k: ('He said "hi"', "021-555", 2),
        "Newline %s" % k: ("Line one\nLine two", None, 4),
        "王大锤 %s" % k: ("村东头 5 号", "+86 139 0000 0000", 99),
    }
    for name, (addr, phone, members) in want.items():
        assert name in got, "imported %r missing; have %r" % (name, sorted(got))
        h = got[name]
        expect_eq((h["address"], h["phone"], h["members"], h["status"], h["region_id"]),
                  (addr, phone, members, "active", v["id"]), "row %r" % name)
    found = _search(ctx, v["id"], q=k)
    expect_eq(len(found), 5, "rows found by q")


def test_import_utf8_without_bom_and_lf_lines(ctx):
    v = _village(ctx)
    text = HEADER + "\n%s,Nobom One,Addr,,\n%s,Nobom Two,Addr,,2\n" % (v["code"], v["code"])
    expect_eq(expect_json(_post_csv(ctx, text, ct="text/csv; charset=utf-8"), 200),
              {"created": 2}, "import answer")
    expect_eq(sorted(h["head_name"] for h in _search(ctx, v["id"])), ["Nobom One", "Nobom Two"],
              "names")


def test_import_gb18030_round_trips_names(ctx):
    v = _village(ctx)
    names = ["张三", "李四·𠀀", "欧阳娜娜"]        # 𠀀 is outside GBK: a 4-byte GB18030 sequence
    text = HEADER + "\r\n" + "".join("%s,%s,%s路%d号,,\r\n" % (v["code"], n, n, i)
                                     for i, n in enumerate(names))
    data = text.encode("gb18030")
    assert data != text.encode("utf-8")
    r = _post_csv(ctx, data, ct="text/csv; charset=gb18030")
    expect_eq(expect_json(r, 200), {"created": 3}, "import answer")
    got = sorted((h["head_name"], h["address"]) for h in _search(ctx, v["id"]))
    expect_eq(got, sorted((n, "%s路%d号" % (n, i)) for i, n in enumerate(names)),
              "names and addresses after a GB18030 import")


def test_import_gb18030_bytes_sent_as_utf8_are_refused(ctx):
    v = _village(ctx)
    data = (HEADER + "\n%s,张三,东路,,\n" % v["code"]).encode("gb18030")
    _, errs = _import_errors(_post_csv(ctx, data))
    expect_eq([e["line"] for e in errs], [2], "lines of the errors")
    expect_eq(_count(ctx, v["id"]), 0, "households after a refused import")


def test_import_bad_rows_name_their_lines_and_nothing_is_created(ctx):
    v = _village(ctx)
    w = world(ctx)
    k = tag(8)
    c = v["code"]
    lines = [
        HEADER,                                    # 1
        "%s,Good A %s,addr,,1" % (c, k),          # 2
        "%s,Bad members %s,addr,,0" % (c, k),     # 3
        "%s,Good B %s,addr,,2" % (c, k),          # 4
        "999999999999,Bad region %s,addr,," % k,  # 5 (no region has this code)
        "%s,Good C %s,addr,13800000000," % (c, k),  # 6
        "%s,,addr,," % c,                          # 7 (empty head_name)
        "%s,Bad phone %s,addr,phone!,," % (c, k),  # 8
        "%s,Town %s,addr,," % (w.TX["code"], k),  # 9 (a town)
    ]
    before = _count(ctx, v["id"])
    err, errs = _import_errors(_post_csv(ctx, "\n".join(lines) + "\n"))
    got = sorted((e["line"], e["field"]) for e in errs)
    expect_eq(got, [(3, "members"), (5, "region_code"), (7, "head_name"), (8, "phone"),
                    (9, "region_code")], "(line, field) of the errors")
    expect_eq(_count(ctx, v["id"]), before, "households in the village after the refusal")
    expect_eq(_search(ctx, w.X["id"], q=k), [], "households of the refused file")


def test_import_two_bad_rows_among_good_ones_create_nothing(ctx):
    v = _village(ctx)
    k = tag(8)
    c = v["code"]
    rows = ["%s,Row %d %s,addr,,%d" % (c, i, k, 1 + i % 5) for i in range(20)]
    rows[6] = "%s,Row bad %s,addr,,100" % (c, k)            # line 8
    rows[15] = "%s,Row bad2 %s,%s,," % (c, k, "a" * 201)   # line 17
    _, errs = _import_errors(_post_csv(ctx, HEADER + "\n" + "\n".join(rows) + "\n"))
    expect_eq(sorted((e["line"], e["field"]) for e in errs), [(8, "members"), (17, "address")],
              "(line, field) of the errors")
    expect_eq(_count(ctx, v["id"]), 0, "households after the refusal")


def test_import_region_outside_the_region_admins_reach_is_an_error(ctx):
    w = world(ctx)
    vx = _village(ctx)
    k = tag(8)
    text = HEADER + "\n%s,In reach %s,a,,\n%s,Out of reach %s,a,,\n" % (vx["code"], k,
                                                                       w.VY["code"], k)
    _, errs = _import_errors(_post_csv(ctx, text, token=w.ra_x.token))
    expect_eq([(e["line"], e["field"]) for e in errs], [(3, "region_code")], "errors")
    expect_eq(_count(ctx, vx["id"]), 0, "households after the refusal")
    # the same file without the foreign row goes in
    text = HEADER + "\n%s,In reach %s,a,,\n" % (vx["code"], k)
    expect_eq(expect_json(_post_csv(ctx, text, token=w.ra_x.token), 200), {"created": 1},
              "import by the region admin")


def test_import_unknown_region_code_is_an_error(ctx):
    text = HEADER + "\n000000000001,Nobody,a,,\n"
    _, errs = _import_errors(_post_csv(ctx, text))
    expect_eq([(e["line"], e["field"]) for e in errs], [(2, "region_code")], "errors")


def test_import_wrong_header_is_an_error(ctx):
    v = _village(ctx)
    for header in ("name,address,phone", "region,head_name,address,phone,members",
                   "region_code,head_name,address,phone,members,colour"):
        text = header + "\n%s,Someone,a,,\n" % v["code"]
        _, errs = _import_errors(_post_csv(ctx, text))
        assert any(e["line"] == 1 for e in errs), "no error on line 1 for header %r: %r" % (header, errs)
    expect_eq(_count(ctx, v["id"]), 0, "households after the refusals")


def test_import_header_only_is_refused(ctx):
    _import_errors(_post_csv(ctx, HEADER + "\n"))


def test_import_unterminated_quote_is_refused(ctx):
    v = _village(ctx)
    text = HEADER + '\n%s,"Open quote,a,,\n%s,Fine,a,,\n' % (v["code"], v["code"])
    _, errs = _import_errors(_post_csv(ctx, text))
    assert any(e["line"] == 2 for e in errs), "no error on line 2: %r" % errs
    expect_eq(_count(ctx, v["id"]), 0, "households after the refusal")


def test_import_as_text_plain_is_unsupported_media_type(ctx):
    v = _village(ctx)
    text = HEADER + "\n%s,Someone,a,,\n" % v["code"]
    expect_error(_post_csv(ctx, text, ct="text/plain"), 415, "unsupported_media_type")
    expect_error(_post_csv(ctx, text, ct="application/json"), 415, "unsupported_media_type")
    expect_error(_post_csv(ctx, text, ct=None), 415, "unsupported_media_type")
    expect_eq(_count(ctx, v["id"]), 0, "households after the refusals")


def test_import_empty_body_is_invalid_request(ctx):
    expect_error(_post_csv(ctx, b""), 400, "invalid_request")
    expect_error(ctx.post(IMPORT, token=ctx.admin_token), 400, "invalid_request")


def _raw_post(ctx, path, data, headers):
    """POST over a bare socket, tolerating a server that answers before reading the whole
    body and closes (http.client raises BrokenPipeError then).  Returns a lib.Response."""
    s = socket.create_connection(("127.0.0.1", ctx.server.port), timeout=30)
    try:
        head = "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n" % (path, len(data))
        head += "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
        s.sendall(head.encode())
        try:
            s.sendall(data)
        except OSError:
            pass                        # answered early and closed: read what it said
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        head, _, body = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        pairs = [tuple(x.strip() for x in ln.split(":", 1)) for ln in lines[1:] if ":" in ln]
        hdrs = Headers(pairs)
        n = int(hdrs.get("Content-Length", "0"))
        while len(body) < n:
            d = s.recv(65536)
            if not d:
                break
            body += d
        return Response("POST", path, status, "", hdrs, body[:n])
    finally:
        s.close()


def test_import_over_16_mib_is_payload_too_large(ctx):
    v = _village(ctx)
    row = ("%s,%s,%s,,\n" % (v["code"], "n" * 90, "a" * 190)).encode()
    data = HEADER.encode() + b"\n" + row * ((16 * 1024 * 1024) // len(row) + 10)
    assert len(data) > 16 * 1024 * 1024
    r = _raw_post(ctx, IMPORT, data, {"Content-Type": "text/csv",
                                      "Authorization": "Bearer " + ctx.admin_token})
    expect_error(r, 413, "payload_too_large")
    expect_eq(_count(ctx, v["id"]), 0, "households after the refusal")


def test_import_of_16_mib_is_not_refused_for_size(ctx):
    """A body of exactly 16 MiB is inside the limit (here: refused for its content)."""
    data = b"a" * (16 * 1024 * 1024)
    r = _raw_post(ctx, IMPORT, data, {"Content-Type": "text/csv",
                                      "Authorization": "Bearer " + ctx.admin_token})
    _import_errors(r)


def test_import_is_audited(ctx):
    v = _village(ctx)
    rid = "idt-imp-" + tag(8)
    r = _post_csv(ctx, HEADER + "\n%s,Audited,a,,\n" % v["code"],
                  headers={"X-Request-Id": rid})
    expect_json(r, 200)
    rows = ctx.sql("SELECT actor, role, action FROM audit_log WHERE request_id='%s'" % rid)
    expect_eq(rows, [("s:%d" % ctx.admin_id, "admin", "household.import")], "audit rows")


def test_import_with_idempotency_key_replays_instead_of_importing_twice(ctx):
    """api.md: the import accepts an Idempotency-Key (scoped to the staff member); the same
    key and body again answer the first answer with "replayed": true."""
    v = _village(ctx)
    key = "imp-" + tag(12)
    text = HEADER + "\n%s,Idem One,a,,\n%s,Idem Two,b,,\n" % (v["code"], v["code"])
    first = expect_json(_post_csv(ctx, text, headers={"Idempotency-Key": key}), 200)
    expect_eq(first.get("created"), 2, "created")
    r = _post_csv(ctx, text, headers={"Idempotency-Key": key})
    again = expect_json(r, 200)
    expect_eq((again.get("created"), again.get("replayed")), (2, True), "replayed answer")
    expect_eq(_count(ctx, v["id"]), 2, "households after sending the file twice with one key")


def test_import_idempotency_key_reused_for_another_file_is_conflict(ctx):
    v = _village(ctx)
    key = "imp-" + tag(12)
    expect_json(_post_csv(ctx, HEADER + "\n%s,Idem A,a,,\n" % v["code"],
                          headers={"Idempotency-Key": key}), 200)
    r = _post_csv(ctx, HEADER + "\n%s,Idem B,a,,\n" % v["code"], headers={"Idempotency-Key": key})
    expect_error(r, 409, "idempotency_conflict")
    expect_eq(_count(ctx, v["id"]), 1, "households after the conflicting second file")


def test_import_malformed_idempotency_key_is_refused(ctx):
    v = _village(ctx)
    for key in ("has space", "k" * 65, "semi;colon"):
        r = _post_csv(ctx, HEADER + "\n%s,Idem,a,,\n" % v["code"], headers={"Idempotency-Key": key})
        expect_error(r, 400, "invalid_request")
    expect_eq(_count(ctx, v["id"]), 0, "households after refused imports")


def test_import_100000_households_under_10_seconds(ctx):
    v = _village(ctx)
    c = v["code"]
    parts = [HEADER, "\n"]
    for i in range(100000):
        parts.append("%s,Head %06d,%d Bulk Road,1380000%04d,%d\n" % (c, i, i, i % 10000, 1 + i % 9))
    data = "".join(parts).encode("utf-8")
    t0 = time.monotonic()
    r = _post_csv(ctx, data, timeout=120)
    elapsed = time.monotonic() - t0
    print("     import of 100000 households (%.1f MiB): %.2f s" % (len(data) / 1048576, elapsed))
    expect_eq(expect_json(r, 200), {"created": 100000}, "import answer")
    expect_eq(_count(ctx, v["id"]), 100000, "households in the village")
    assert elapsed < 10, "importing 100000 households took %.1f s (limit 10 s)" % elapsed


# ----------------------------------------------------------------------------- wbctl

def _write(ctx, name, data):
    path = os.path.join(ctx.dir, name)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def test_wbctl_import_households_imports_a_file(ctx):
    v = _village(ctx)
    k = tag(8)
    text = "\ufeff" + HEADER + "\n%s,Cli One %s,a,,\n%s,\"Cli, Two %s\",b,,3\n" % (
        v["code"], k, v["code"], k)
    path = _write(ctx, "import-%s.csv" % k, text)
    p = ctx.wbctl("import-households", path)
    expect_eq(p.returncode, 0, "wbctl exit code (stderr: %s)" % p.stderr.strip())
    assert "imported 2 households" in p.stdout, p.stdout
    expect_eq(sorted(h["head_name"] for h in _search(ctx, v["id"])),
              sorted(["Cli One %s" % k, "Cli, Two %s" % k]), "imported names")


def test_wbctl_import_households_gb18030(ctx):
    v = _village(ctx)
    text = HEADER + "\r\n%s,诸葛亮,卧龙岗 1 号,,\r\n" % v["code"]
    path = _write(ctx, "import-gb-%s.csv" % tag(), text.encode("gb18030"))
    p = ctx.wbctl("import-households", path, "--charset", "gb18030")
    expect_eq(p.returncode, 0, "wbctl exit code (stderr: %s)" % p.stderr.strip())
    expect_eq([(h["head_name"], h["address"]) for h in _search(ctx, v["id"])],
              [("诸葛亮", "卧龙岗 1 号")], "imported household")


def test_wbctl_import_households_bad_file_imports_nothing(ctx):
    v = _village(ctx)
    text = HEADER + "\n%s,Fine,a,,\n%s,Bad,a,,0\n999999999998,Nowhere,a,,\n" % (v["code"], v["code"])
    path = _write(ctx, "bad-%s.csv" % tag(), text)
    p = ctx.wbctl("import-households", path)
    expect_eq(p.returncode, 1, "wbctl exit code")
    assert ":3:" in p.stderr and ":4:" in p.stderr, "no line numbers on stderr: %r" % p.stderr
    assert "members" in p.stderr and "region_code" in p.stderr, p.stderr
    expect_eq(_count(ctx, v["id"]), 0, "households after the refused file")


def test_wbctl_cards_writes_svg_and_pdf(ctx):
    v = _village(ctx)
    k = tag(6)
    hs = [mk_household(ctx, ctx.admin_token, v["id"], head_name="Card %d %s" % (i, k))
          for i in range(3)]
    svg = os.path.join(ctx.dir, "cards-%d.svg" % v["id"])
    pdf = os.path.join(ctx.dir, "cards-%d.pdf" % v["id"])
    p = ctx.wbctl("cards", "--region-id", str(v["id"]), "--out", svg)
    expect_eq(p.returncode, 0, "wbctl cards (svg) exit code (stderr: %s)" % p.stderr.strip())
    with open(svg, "rb") as f:
        data = f.read()
    assert b"<svg" in data, data[:200]
    for h in hs:
        assert h["head_name"].encode() in data, "the SVG sheet lacks %r" % h["head_name"]
    p = ctx.wbctl("cards", "--region-id", str(v["id"]), "--out", pdf)
    assert os.path.exists(pdf), "no PDF written (exit %d, stderr %s)" % (p.returncode, p.stderr)
    with open(pdf, "rb") as f:
        data = f.read()
    assert data.startswith(b"%PDF"), "not a PDF: %r" % data[:16]
    assert len(data) > 500, "PDF of %d bytes" % len(data)
    expect_eq(p.returncode, 0, "wbctl cards (pdf) exit code (stderr: %s)" % p.stderr.strip()[:600])


def test_wbctl_cards_bad_usage(ctx):
    p = ctx.wbctl("cards", "--region-id", "999999999999", "--out",
                  os.path.join(ctx.dir, "none.svg"))
    expect_eq(p.returncode, 1, "exit code for an unknown region")
    assert p.stderr.strip(), "no reason on stderr"
    p = ctx.wbctl("cards", "--region-id", "1")
    expect_eq(p.returncode, 2, "exit code without --out")
    p = ctx.wbctl("cards", "--region-id", "1", "--out", os.path.join(ctx.dir, "x.png"))
    expect_eq(p.returncode, 2, "exit code for --out x.png")

