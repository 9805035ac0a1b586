"""The API reference agrees with the route table and the server: every route of
api/routes.c is in docs/openapi.yaml with the same method, path and roles, nothing more is
documented, the route index of docs/api.md lists the same routes and roles, and every route
answers as the table says (401 without a token, or, for the public ones, something other
than 404/405)."""

import os
import re

from lib import expect_error

METHODS = ("get", "post", "put", "patch", "delete")

ROLE_BITS = {
    "ROLE_ADMIN": {"admin"},
    "ROLE_REGION_ADMIN": {"region_admin"},
    "ROLE_ATTENDANT": {"attendant"},
    "ROLE_CLERK": {"clerk"},
    "ROLE_RESIDENT": {"resident"},
    "ROLE_INSPECTOR": {"inspector"},
    "ROLES_ADMINS": {"admin", "region_admin"},
    "ROLES_STAFF": {"admin", "region_admin", "attendant", "clerk", "inspector"},
    "ROLES_ANY": {"admin", "region_admin", "attendant", "clerk", "inspector", "resident"},
    "ROLES_PUBLIC": set(),
}

ROUTE_ROW = re.compile(
    r'\{\s*"(GET|POST|PUT|PATCH|DELETE)"\s*,\s*"([^"]+)"\s*,\s*([^,]+?)\s*,\s*(BODY_\w+)\s*,')

# Keyed routes of the contract (api.md, Idempotency): required, and optional.
IDEMPOTENT_REQUIRED = {("POST", "/v1/dropoffs"), ("POST", "/v1/redemptions"),
                       ("POST", "/v1/households/{id}/adjustments"), ("POST", "/v1/shipments"),
                       ("POST", "/v1/sites/{id}/stock-counts"), ("POST", "/v1/outbound"),
                       ("POST", "/v1/inspections")}
IDEMPOTENT_OPTIONAL = {("POST", "/v1/households/import")}


def _read(ctx, *parts):
    with open(os.path.join(ctx.repo, *parts), encoding="utf-8") as f:
        return f.read()


def _roles(expr, defines):
    out = set()
    for tok in re.findall(r"\w+", expr):
        if tok in ROLE_BITS:
            out |= ROLE_BITS[tok]
        elif tok in defines:
            out |= _roles(defines[tok], defines)
        else:
            raise AssertionError("routes.c: unknown role name %r in %r" % (tok, expr))
    return out


def routes_table(ctx):
    """[(METHOD, path, roles set, body kind)] from the rows of api/routes.c."""
    text = _read(ctx, "api", "routes.c")
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    defines = dict(re.findall(r"#define\s+(\w+)\s+\((.*)\)", text))
    rows = [(m.group(1), m.group(2), _roles(m.group(3), defines), m.group(4))
            for m in ROUTE_ROW.finditer(text)]
    assert len(rows) >= 40, "found only %d routes in api/routes.c: is the regex stale?" % len(rows)
    seen = set()
    for method, path, _, _ in rows:
        assert (method, path) not in seen, "routes.c lists %s %s twice" % (method, path)
        seen.add((method, path))
    return rows


def _unquote(s):
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        s = s[1:-1]
        if s.startswith("'") or "''" in s:
            s = s.replace("''", "'")
    return s


def _flow_list(s):
    s = s.strip()
    assert s.startswith("[") and s.endswith("]"), "not a flow list: %r" % s
    inner = s[1:-1].strip()
    return [_unquote(x) for x in inner.split(",")] if inner else []


def openapi_operations(ctx):
    """{(METHOD, path): {"roles": [...] or None, "public": bool, "idem": None|"required"|
    "optional", "line": n}} from the paths: section of docs/openapi.yaml.

    A small reader for this file's layout: `paths:` at column 0, path keys at 2 spaces,
    methods at 4, operation keys at 6 (`x-roles: [..]`, `security: []`), parameter
    references deeper.  Block scalars are always indented below their key, so their lines
    never sit at 2, 4 or 6 spaces inside paths."""
    text = _read(ctx, "docs", "openapi.yaml")
    assert re.search(r"^openapi: '?3\.0\.\d+'?\s*$", text, re.M), "docs/openapi.yaml: no `openapi: 3.0.x`"
    ops = {}
    in_paths = False
    path = None
    cur = None
    for n, raw in enumerate(text.split("\n"), 1):
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        assert not line[indent:].startswith("\t"), "docs/openapi.yaml:%d: tab indentation" % n
        stripped = line.strip()
        if indent == 0:
            in_paths = stripped == "paths:"
            path = cur = None
            continue
        if not in_paths:
            continue
        if indent == 2:
            assert stripped.endswith(":"), "docs/openapi.yaml:%d: a path key must end with ':'" % n
            path = _unquote(stripped[:-1])
            assert path.startswith("/"), "docs/openapi.yaml:%d: path %r" % (n, path)
            cur = None
        elif indent == 4:
            key = stripped.split(":", 1)[0]
            if key in METHODS and path:
                k = (key.upper(), path)
                assert k not in ops, "docs/openapi.yaml:%d: %s %s documented twice" % (n, k[0], k[1])
                cur = ops[k] = {"roles": None, "public": False, "idem": None, "line": n}
            else:
                cur = None
        elif indent == 6 and cur is not None:
            if stripped.startswith("x-roles:"):
                cur["roles"] = _flow_list(stripped.split(":", 1)[1])
            elif re.fullmatch(r"security:\s*\[\s*\]", stripped):
                cur["public"] = True
        elif cur is not None and "#/components/parameters/IdempotencyKey" in stripped:
            optional = "IdempotencyKeyOptional" in stripped
            cur["idem"] = "optional" if optional else "required"
    assert ops, "docs/openapi.yaml: no operations found under paths:"
    return ops


ALL_ROLES = ROLE_BITS["ROLES_ANY"]


def api_md_route_index(ctx):
    """{(METHOD, path): (roles set, line)} from the table under `## Route index` in
    docs/api.md; roles are `none`, `any token`, or role names separated by commas."""
    text = _read(ctx, "docs", "api.md")
    rows = {}
    in_index = False
    for n, line in enumerate(text.split("\n"), 1):
        if line.startswith("## "):
            in_index = line.strip() == "## Route index"
            continue
        m = re.match(r"\|\s*(GET|POST|PUT|PATCH|DELETE)\s*\|\s*`([^`]+)`\s*\|([^|]*)\|", line)
        if not in_index or not m:
            continue
        cell = m.group(3).strip()
        if cell == "none":
            roles = set()
        elif cell == "any token":
            roles = set(ALL_ROLES)
        else:
            roles = {x.strip() for x in cell.split(",")}
            unknown = roles - ALL_ROLES
            assert not unknown, "docs/api.md:%d: unknown roles %s" % (n, sorted(unknown))
        k = (m.group(1), m.group(2))
        assert k not in rows, "docs/api.md:%d: %s %s listed twice in the route index" % (n, k[0], k[1])
        rows[k] = (roles, n)
    assert rows, "docs/api.md: no rows found under `## Route index`"
    return rows


def _sample_path(path):
    return re.sub(r"\{\w+\}", "1", path)


# ----------------------------------------------------------------------------- tests

def test_docs_openapi_documents_every_route_and_no_other(ctx):
    table = {(m, p) for m, p, _, _ in routes_table(ctx)}
    documented = set(openapi_operations(ctx))
    missing = sorted(table - documented)
    extra = sorted(documented - table)
    assert not missing, "routes of api/routes.c missing from docs/openapi.yaml: %s" % \
        ", ".join("%s %s" % x for x in missing)
    assert not extra, "docs/openapi.yaml documents operations routes.c does not have: %s" % \
        ", ".join("%s %s" % x for x in extra)


def test_docs_openapi_roles_and_security_match_route_table(ctx):
    ops = openapi_operations(ctx)
    problems = []
    for method, path, roles, _ in routes_table(ctx):
        o = ops.get((method, path))
        if o is None:
            continue        # reported by the test above
        where = "%s %s (docs/openapi.yaml:%d)" % (method, path, o["line"])
        if o["roles"] is None:
            problems.append("%s: no x-roles" % where)
        elif set(o["roles"]) != roles or len(o["roles"]) != len(set(o["roles"])):
            problems.append("%s: x-roles %s, routes.c says %s" % (where, o["roles"], sorted(roles)))
        if not roles and not o["public"]:
            problems.append("%s: a public route needs `security: []`" % where)
        if roles and o["public"]:
            problems.append("%s: a token route must not have `security: []`" % where)
    assert not problems, "\n".join(problems)


def test_docs_openapi_idempotency_keys_as_the_contract_says(ctx):
    ops = openapi_operations(ctx)
    required = {k for k, o in ops.items() if o["idem"] == "required"}
    optional = {k for k, o in ops.items() if o["idem"] == "optional"}
    table = {(m, p) for m, p, _, _ in routes_table(ctx)}
    assert required == IDEMPOTENT_REQUIRED & table, \
        "Idempotency-Key required on %s; expected %s" % (sorted(required), sorted(IDEMPOTENT_REQUIRED & table))
    assert optional == IDEMPOTENT_OPTIONAL & table, \
        "Idempotency-Key optional on %s; expected %s" % (sorted(optional), sorted(IDEMPOTENT_OPTIONAL & table))


def test_docs_api_md_route_index_matches_route_table(ctx):
    index = api_md_route_index(ctx)
    table = {(m, p): roles for m, p, roles, _ in routes_table(ctx)}
    problems = []
    for k in sorted(set(table) - set(index)):
        problems.append("%s %s: missing from the route index of docs/api.md" % k)
    for k in sorted(set(index) - set(table)):
        problems.append("%s %s (docs/api.md:%d): not in api/routes.c" % (k[0], k[1], index[k][1]))
    for k in sorted(set(index) & set(table)):
        roles, n = index[k]
        if roles != table[k]:
            problems.append("%s %s (docs/api.md:%d): roles %s, routes.c says %s"
                            % (k[0], k[1], n, sorted(roles), sorted(table[k])))
    assert not problems, "\n".join(problems)


def test_docs_every_route_answers_as_the_table_says(ctx):
    """No token: a token route answers 401 unauthorized (so the router found it and
    checked roles' precondition); a public route answers anything but 404/405."""
    problems = []
    for method, path, roles, _ in routes_table(ctx):
        url = _sample_path(path)
        r = ctx.call(method, url)
        if roles:
            try:
                expect_error(r, 401, "unauthorized")
            except AssertionError as e:
                problems.append("%s %s: %s" % (method, url, e))
        elif r.status in (404, 405):
            problems.append("%s %s (public): answered %r" % (method, url, r))
        if not r.headers.get("X-Request-Id"):
            problems.append("%s %s: no X-Request-Id" % (method, url))
    assert not problems, "\n".join(problems)
