import json, time
from lib import *
from test_ledger import *

def test_ledger_probe(ctx):
    t0=time.monotonic()
    g = mk_category(ctx, "g"); set_rate(ctx, g, 1000)
    nor = mk_category(ctx, "g")
    t = build_tree(ctx, second_county=False)
    wait_catalog(t0)
    h = mk_household(ctx, t.VA["id"])
    tok = t.at_a.token
    def p(body, **kw):
        r = post_dropoff(ctx, tok, body, **kw); print(r); return r
    p(dropoff_body(h["code"], [{"category": nor, "grams": 100}]))
    p(dropoff_body(h["code"], [{"category": g, "grams": 100}], recorded_at=when(seconds=-60).replace("+08:00", ".123+08:00")))
    p(dropoff_body(h["code"], [{"category": g, "grams": 100}], recorded_at="2026-01-01T00:00:00z"))
    p(dropoff_body(h["code"], [{"category": g, "grams": 100}], note=None))
    p(None, raw='{"code": "%s", "items": [{"category": "%s", "grams": 1}], "code": "x"}' % (h["code"], g))
    p(dropoff_body(h["code"], [{"category": g, "grams": 100}]), headers={"Content-Type": "text/plain"})
    big = {"dropoffs": [dict(dropoff_body(h["code"], [{"category": g, "grams": 1}], note="注"*200), client_ref=new_key()) for _ in range(500)]}
    print(len(json.dumps(big)))
    r = ctx.post("/v1/dropoffs/batch", big, token=tok); print(r.status, r.text[:200])
    big = {"dropoffs": [dict(dropoff_body(h["code"], [{"category": g, "grams": 1}]*20, note="注"*200), client_ref=new_key()) for _ in range(500)]}
    print(len(json.dumps(big)))
    r = ctx.post("/v1/dropoffs/batch", big, token=tok); print(r.status, r.text[:200])
    print(ctx.get("/v1/households/%d/ledger" % h["id"], token=ctx.admin_token).text[:300])
    r = ctx.post("/v1/dropoffs/1/reverse", {"reason": "x"}, token=ctx.admin_token); print(r)
