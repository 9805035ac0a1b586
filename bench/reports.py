#!/usr/bin/env python3
"""bench/reports.py - the report timings of `make bench-reports` (standard library only).

  reports.py measure URL USER PASSWORD --county ID --province ID --world NAME --out FILE
             [--requests N] [--province-requests N]
             [--db-socket S --db-user U --db-password P --db-name D]
  reports.py compare FILE...

measure: N requests (20) of every report, after three untimed ones, for one county and
one month, and for the whole province and one year (the leaderboard ranks one month, so
its province figure is the province and one month); p50 and p95 in ms.  With the --db-*
options it also times the brute-force SQL of the collection report over the raw
drop-offs, so each figure has the cost of reading the history beside it.
compare: the worlds side by side, and county x month at the largest world against the
smallest (the goal: at most 1.5x).
"""
import datetime
import http.client
import json
import subprocess
import sys
import time
import zoneinfo

GOALS = {"county_month": 100.0, "province_year": 1000.0}
LOCAL = zoneinfo.ZoneInfo("Asia/Shanghai")


def percentile(values, p):
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


class Api:
    def __init__(self, url):
        host, port = url.split("//", 1)[1].rstrip("/").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=120)
        self.token = None

    def call(self, method, path, body=None):
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        self.conn.request(method, path, body=json.dumps(body) if body else None,
                          headers=headers)
        r = self.conn.getresponse()
        data = r.read()
        return r.status, data


def periods():
    today = datetime.datetime.now(LOCAL).date()
    yesterday = today - datetime.timedelta(days=1)
    last_month_end = today.replace(day=1) - datetime.timedelta(days=1)
    month = last_month_end.strftime("%Y-%m")
    year_from = yesterday - datetime.timedelta(days=364)
    m0 = (yesterday.year * 12 + yesterday.month - 1) - 11
    return {
        "month": month,
        "month_from": last_month_end.replace(day=1).isoformat(),
        "month_to": last_month_end.isoformat(),
        "year_from": year_from.isoformat(),
        "year_to": yesterday.isoformat(),
        "year_from_month": "%04d-%02d" % (m0 // 12, m0 % 12 + 1),
        "year_to_month": yesterday.strftime("%Y-%m"),
    }


def queries(county, province, p):
    cm = "region_id=%d&from=%s&to=%s" % (county, p["month_from"], p["month_to"])
    py = "region_id=%d&from=%s&to=%s" % (province, p["year_from"], p["year_to"])
    return [
        ("collection", "county_month", "/v1/reports/collection?" + cm),
        ("collection", "province_year", "/v1/reports/collection?" + py),
        ("participation", "county_month",
         "/v1/reports/participation?region_id=%d&month=%s" % (county, p["month"])),
        ("participation", "province_year",
         "/v1/reports/participation?region_id=%d&from_month=%s&to_month=%s"
         % (province, p["year_from_month"], p["year_to_month"])),
        ("leaderboard", "county_month",
         "/v1/reports/leaderboard?region_id=%d&month=%s" % (county, p["month"])),
        ("leaderboard", "province_year",
         "/v1/reports/leaderboard?region_id=%d&month=%s" % (province, p["month"])),
        ("flows", "county_month", "/v1/reports/flows?" + cm),
        ("flows", "province_year", "/v1/reports/flows?" + py),
        ("points", "county_month", "/v1/reports/points?" + cm),
        ("points", "province_year", "/v1/reports/points?" + py),
    ]


def raw_sql(args, county_path, p):
    """Brute force over the raw rows: the collection totals, distinct households too."""
    def run(sql):
        t = time.monotonic()
        out = subprocess.run(["mariadb", "--no-defaults", "--socket=" + args["db-socket"],
                              "-u" + args["db-user"], "-p" + args["db-password"], "-N", "-B",
                              args["db-name"], "-e", sql],
                             capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise SystemExit("raw SQL failed: " + out.stderr)
        return (time.monotonic() - t) * 1000.0
    base = ("SELECT COUNT(*), SUM(d.grams), SUM(d.points), COUNT(DISTINCT d.household_id) "
            "FROM dropoffs d JOIN sites s ON s.id = d.site_id JOIN regions g ON g.id = s.region_id "
            "WHERE d.status = 'ok' AND d.local_day BETWEEN '%s' AND '%s'")
    return {
        "county_month": run((base + " AND g.path LIKE '%s%%'")
                            % (p["month_from"], p["month_to"], county_path)),
        "province_year": run(base % (p["year_from"], p["year_to"])),
    }


def measure(argv):
    url, user, password = argv[:3]
    opts = dict(zip([a[2:] for a in argv[3::2]], argv[4::2]))
    n = int(opts.get("requests", "20"))
    n_wide = int(opts.get("province-requests", str(n)))
    county, province = int(opts["county"]), int(opts["province"])
    api = Api(url)
    status, data = api.call("POST", "/v1/auth/login", {"username": user, "password": password})
    if status != 200:
        raise SystemExit("login failed: %d %s" % (status, data[:200]))
    api.token = json.loads(data)["token"]
    p = periods()
    status, data = api.call("GET", "/v1/regions/%d" % county)
    county_path = ""
    if status == 200:
        # the region's ancestors, itself last: its materialised path
        ids = [a["id"] for a in json.loads(data).get("path", [])]
        county_path = "/" + "".join("%d/" % i for i in ids) if ids else ""
    results = []
    print("%-14s %-14s %9s %9s %9s  %s" % ("report", "scope", "p50 ms", "p95 ms", "bytes", "goal"))
    for report, scope, path in queries(county, province, p):
        t = time.monotonic()
        status, data = api.call("GET", path)
        if status != 200:
            # a report the server gave up on (its statement time limit): say so, go on
            ms = (time.monotonic() - t) * 1000.0
            results.append({"report": report, "scope": scope, "path": path, "failed": status,
                            "after_ms": ms, "goal_ms": GOALS[scope], "met": False})
            print("%-14s %-14s   answered %d after %.0f ms: %s" % (report, scope, status, ms,
                                                                 data[:120].decode(errors="replace")))
            continue
        for _ in range(2):      # two more untimed: the pages and the statements warm
            api.call("GET", path)
        times = []
        for _ in range(n if scope == "county_month" else n_wide):
            t = time.monotonic()
            status, data = api.call("GET", path)
            times.append((time.monotonic() - t) * 1000.0)
            if status != 200:
                raise SystemExit("%s: %d %s" % (path, status, data[:300]))
        p50, p95 = percentile(times, 50), percentile(times, 95)
        ok = p95 < GOALS[scope]
        results.append({"report": report, "scope": scope, "path": path, "p50": p50, "p95": p95,
                        "bytes": len(data), "goal_ms": GOALS[scope], "met": ok})
        print("%-14s %-14s %9.1f %9.1f %9d  < %d ms %s" % (report, scope, p50, p95, len(data),
                                                          GOALS[scope], "met" if ok else "NOT MET"))
    raw = None
    if "db-socket" in opts and county_path:
        raw = raw_sql(opts, county_path, p)
        print("raw SQL over the drop-offs (collection totals, one run): county x month %.0f ms, "
              "province x year %.0f ms" % (raw["county_month"], raw["province_year"]))
    with open(opts["out"], "w") as f:
        json.dump({"world": opts.get("world", ""), "periods": p, "results": results, "raw": raw},
                  f, indent=1)


def compare(files):
    worlds = [json.load(open(f)) for f in files]
    if len(worlds) < 2:
        return
    small, large = worlds[0], worlds[-1]
    print("county x month, %s against %s (goal: at most 1.5x)" % (large["world"], small["world"]))
    for a, b in zip(small["results"], large["results"]):
        if a["scope"] != "county_month" or "p95" not in a or "p95" not in b:
            continue
        ratio = b["p95"] / a["p95"] if a["p95"] > 0 else 0.0
        r50 = b["p50"] / a["p50"] if a["p50"] > 0 else 0.0
        # a report of a few milliseconds moves by its noise: the p50 ratio beside it
        print("  %-14s p95 %7.1f ms -> %7.1f ms  %.2fx %-8s (p50 %.1f -> %.1f ms, %.2fx)"
              % (a["report"], a["p95"], b["p95"], ratio, "met" if ratio <= 1.5 else "NOT MET",
                 a["p50"], b["p50"], r50))


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "measure":
        measure(sys.argv[2:])
    elif len(sys.argv) >= 2 and sys.argv[1] == "compare":
        compare(sys.argv[2:])
    else:
        raise SystemExit(__doc__)
