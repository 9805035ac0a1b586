#!/usr/bin/env python3
"""bench/setup.py URL ADMIN_PASSWORD OUTDIR: build the bench's world through
the API - a region tree, a drop-off site, an attendant, an uncapped
category with a rate, N households (CSV import), PINs and resident tokens
for some of them - and write for wrk:
  OUTDIR/codes.txt      one card payload a line
  OUTDIR/residents.txt  one resident token a line
  OUTDIR/bench.env      ids and the attendant token, as shell variables
Python standard library only."""
import json
import os
import random
import sys
import urllib.request

URL, ADMIN_PW, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
N = int(os.environ.get("BENCH_HOUSEHOLDS", "2000"))
RESIDENTS = int(os.environ.get("BENCH_RESIDENTS", "200"))


def call(method, path, body=None, token=None, ctype="application/json"):
    data = None
    headers = {}
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = ctype
    if token:
        headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request(URL + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=60) as r:
        text = r.read()
        return json.loads(text) if text else None


def code12():
    return "".join(random.choice("0123456789") for _ in range(12))


admin = call("POST", "/v1/auth/login", {"username": "bench", "password": ADMIN_PW})["token"]
prov = call("POST", "/v1/regions", {"parent_id": None, "name": "压测省", "level": "province", "code": code12()}, admin)
county = call("POST", "/v1/regions", {"parent_id": prov["id"], "name": "压测县", "level": "county", "code": code12()}, admin)
town = call("POST", "/v1/regions", {"parent_id": county["id"], "name": "压测镇", "level": "town", "code": code12()}, admin)
village = call("POST", "/v1/regions", {"parent_id": town["id"], "name": "压测村", "level": "village", "code": code12()}, admin)
site = call("POST", "/v1/sites", {"region_id": town["id"], "name": "压测回收点", "tier": "dropoff",
                                  "network": "integrated", "address": "压测镇1号"}, admin)
att_pw = "bench-attendant-" + code12()
att = call("POST", "/v1/staff", {"username": "bench_att", "password": att_pw, "role": "attendant",
                                 "region_id": town["id"], "site_id": site["id"]}, admin)
shop = call("POST", "/v1/shops", {"region_id": town["id"], "name": "压测商店", "address": "压测镇2号"}, admin)
clerk_pw = "bench-clerk-" + code12()
clerk = call("POST", "/v1/staff", {"username": "bench_clerk", "password": clerk_pw, "role": "clerk",
                                   "region_id": town["id"], "shop_id": shop["id"]}, admin)
call("POST", "/v1/categories", {"code": "bench_mixed", "name": "Mixed (bench)", "name_zh": "压测混合",
                                "unit": "g", "daily_cap": None}, admin)
call("POST", "/v1/rates", {"category": "bench_mixed", "region_id": None, "points_per_unit": 40,
                           "effective_from": "2020-01-01T00:00:00+08:00"}, admin)

csv = ["region_code,head_name,address,phone,members"]
for i in range(N):
    csv.append(f"{village['code']},户主{i},压测村{i}号,,{1 + i % 5}")
call("POST", "/v1/households/import", ("\n".join(csv) + "\n").encode(), admin, "text/csv")

codes, ids = [], []
cursor = None
while True:
    q = f"/v1/households?region_id={village['id']}&limit=500" + (f"&cursor={cursor}" if cursor else "")
    page = call("GET", q, token=admin)
    for h in page["items"]:
        codes.append(h["code"])
        ids.append(h["id"])
    cursor = page["next_cursor"]
    if not cursor:
        break

residents = []
for hid, code in list(zip(ids, codes))[:RESIDENTS]:
    call("PUT", f"/v1/households/{hid}/pin", {"pin": "4821"}, admin)
    residents.append(call("POST", "/v1/auth/resident", {"code": code, "pin": "4821"})["token"])

att_token = call("POST", "/v1/auth/login", {"username": "bench_att", "password": att_pw})["token"]
clerk_token = call("POST", "/v1/auth/login", {"username": "bench_clerk", "password": clerk_pw})["token"]
with open(os.path.join(OUT, "pin_codes.txt"), "w") as f:
    f.write("\n".join(codes[:RESIDENTS]) + "\n")
with open(os.path.join(OUT, "codes.txt"), "w") as f:
    f.write("\n".join(codes) + "\n")
with open(os.path.join(OUT, "residents.txt"), "w") as f:
    f.write("\n".join(residents) + "\n")
with open(os.path.join(OUT, "bench.env"), "w") as f:
    f.write(f"VILLAGE={village['id']}\nSITE={site['id']}\nATTENDANT={att['id']}\n"
            f"ATT_TOKEN={att_token}\nHOUSEHOLDS={len(codes)}\nSHOP={shop['id']}\n"
            f"CLERK={clerk['id']}\nCLERK_TOKEN={clerk_token}\n")
