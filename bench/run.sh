#!/usr/bin/env bash
# bench/run.sh - `make bench`: load the real stack on 127.0.0.1 and, in the
# same run, measure the raw rates of the same Redis and MariaDB, so every
# figure has its ceiling beside it.
#
# Private services in a temporary folder (never var/ nor the system ones);
# everything it starts is stopped on exit.  Bounded: each load runs
# BENCH_SECONDS (10) with BENCH_CONNS (64) connections.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BENCH_BIN:-bin}
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNS:-64}
DIR=$(mktemp -d /tmp/wbbench.XXXXXX)
SERVER_PID=

cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    scripts/services.sh stop "$DIR" >/dev/null 2>&1 || true
    rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

# The redo log sized as a busy ledger's must be: at ~9,000 drop-offs/s
# InnoDB writes ~15 MB/s of redo, so the 96 MB default wraps in 6 s and
# the page cleaner's forced flushing stalls commits for 10-60 ms a few
# times a second (docs/operations.md, "Sizing MariaDB").
WB_DB_LOG_SIZE=${BENCH_DB_LOG_SIZE:-1G} scripts/services.sh start "$DIR" >/dev/null
set -a
. "$DIR/services.env"
WB_JWT_SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
WB_QR_SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
WB_LOGIN_LIMIT_PER_MIN=100000
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
WB_LISTEN=127.0.0.1:$PORT
WB_WORKERS=${BENCH_WORKERS:-$((2 * $(nproc)))}
WB_LEDGER_THREADS=${BENCH_LEDGER_THREADS:-$(( $(nproc) / 2 > 0 ? $(nproc) / 2 : 1 ))}
BENCH_DIR=$DIR
set +a
"$BIN/wbctl" migrate >/dev/null
PW=$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
printf '%s\n' "$PW" | "$BIN/wbctl" create-admin --username bench >/dev/null

"$BIN/wastebankd" 2>"$DIR/server.log" &
SERVER_PID=$!
for _ in $(seq 100); do
    curl -sf "http://$WB_LISTEN/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
URL="http://$WB_LISTEN"
TOKEN=$(curl -sf -X POST "$URL/v1/auth/login" -H 'Content-Type: application/json' \
        -d "{\"username\":\"bench\",\"password\":\"$PW\"}" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

# wrk_run NAME URL [wrk args...]: prints "NAME rate p50 p99" (ms)
wrk_run() {
    local name=$1 url=$2
    shift 2
    local out
    out=$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$@" "$url")
    local rate p50 p99 errs
    rate=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    errs=$(awk '/Non-2xx/ {print $5}' <<<"$out")
    printf '%-28s %10.0f req/s   p50 %-9s p99 %-9s%s\n' "$name" "$rate" "$p50" "$p99" \
        "${errs:+  non-2xx: $errs}"
    eval "RATE_${name//[^A-Za-z0-9]/_}=$rate"
}

echo "wastebank bench: $(nproc) cores, $CONNS connections, ${SECS}s each, server $BIN/wastebankd, redo log ${BENCH_DB_LOG_SIZE:-1G}"
echo
echo "== raw stores =="
REDIS_OUT=$(redis-benchmark -s "$WB_REDIS_SOCKET" -t get,incr -n 300000 -c 16 -q 2>/dev/null | tr '\r' '\n')
REDIS_GET=$(awk -F'[: ]+' '/^GET/ {print $2}' <<<"$REDIS_OUT" | tail -1)
REDIS_INCR=$(awk -F'[: ]+' '/^INCR/ {print $2}' <<<"$REDIS_OUT" | tail -1)
printf '%-28s %10.0f ops/s\n' "redis GET (16 clients)" "$REDIS_GET"
printf '%-28s %10.0f ops/s\n' "redis INCR (16 clients)" "$REDIS_INCR"
DB_OUT=$("$BIN/dbrate" --clients 16 --seconds "$SECS" insert)
DB_RATE=$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<<"$DB_OUT")
printf '%-28s %10.0f tx/s    (%s)\n' "mariadb 1-row tx (16 cl.)" "$DB_RATE" "$DB_OUT"
echo
echo "== server =="
wrk_run healthz "$URL/healthz"
wrk_run auth_me "$URL/v1/auth/me" -H "Authorization: Bearer $TOKEN"

echo
echo "== drop-offs and balances =="
python3 bench/setup.py "$URL" "$PW" "$DIR"
. "$DIR/bench.env"
export ATT_TOKEN CLERK_TOKEN
printf 'world: %s households in one village, %d server workers, %d ledger threads\n' \
    "$HOUSEHOLDS" "$WB_WORKERS" "$WB_LEDGER_THREADS"
# a short untimed warm-up: the world was just written, let InnoDB settle
wrk -t2 -c"$CONNS" -d2s -s bench/dropoff.lua "$URL/v1/dropoffs" >/dev/null
metric() { curl -sf "$URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
G0=$(metric wastebank_dropoff_groups_total); N0=$(metric wastebank_dropoffs_grouped_total)
wrk_run dropoffs "$URL/v1/dropoffs" -s bench/dropoff.lua
G1=$(metric wastebank_dropoff_groups_total); N1=$(metric wastebank_dropoffs_grouped_total)
# the server credits the drop-offs a worker reads in one turn together:
# measure the raw rate of that same grouped transaction too
GROUP=$(( (N1 - N0 + (G1 - G0) / 2) / (G1 - G0 > 0 ? G1 - G0 : 1) ))
[ "$GROUP" -ge 1 ] || GROUP=1
printf '%-28s %10.1f drop-offs a transaction\n' "server groups (mean)" \
    "$(python3 -c "print(($N1 - $N0) / max(1, $G1 - $G0))")"
RAW_G=$("$BIN/dbrate" --clients "$WB_LEDGER_THREADS" --seconds "$SECS" dropoff --village "$VILLAGE" \
        --site "$SITE" --attendant "$ATTENDANT" --category bench_mixed --group "$GROUP")
RAW_W=$("$BIN/dbrate" --clients "$WB_WORKERS" --seconds "$SECS" dropoff --village "$VILLAGE" \
        --site "$SITE" --attendant "$ATTENDANT" --category bench_mixed)
RAW_64=$("$BIN/dbrate" --clients "$CONNS" --seconds "$SECS" dropoff --village "$VILLAGE" \
        --site "$SITE" --attendant "$ATTENDANT" --category bench_mixed)
RAW_G_RATE=$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<<"$RAW_G")
RAW_W_RATE=$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<<"$RAW_W")
RAW_64_RATE=$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<<"$RAW_64")
printf '%-28s %10.0f /s      (%s)\n' "raw grouped tx ($WB_LEDGER_THREADS cl.)" "$RAW_G_RATE" "$RAW_G"
printf '%-28s %10.0f tx/s    (%s)\n' "raw drop-off tx ($WB_WORKERS cl.)" "$RAW_W_RATE" "$RAW_W"
printf '%-28s %10.0f tx/s    (%s)\n' "raw drop-off tx ($CONNS cl.)" "$RAW_64_RATE" "$RAW_64"
wrk_run retry_storm "$URL/v1/dropoffs" -s bench/dropoff_twice.lua
wrk_run balance_reads "$URL/v1/residents/me/balance" -s bench/balance.lua
wrk_run redemptions "$URL/v1/redemptions" -s bench/redeem.lua
RAW_R=$("$BIN/dbrate" --clients "$WB_WORKERS" --seconds "$SECS" redeem --village "$VILLAGE" \
        --shop "$SHOP" --clerk "$CLERK")
RAW_R_RATE=$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<<"$RAW_R")
printf '%-28s %10.0f tx/s    (%s)\n' "raw redemption tx ($WB_WORKERS cl.)" "$RAW_R_RATE" "$RAW_R"
CHECK=$("$BIN/wbctl" reconcile | tail -1 || true)
echo "ledger after the run: $CHECK"


echo
echo "== ratios =="
python3 - "$RATE_healthz" "$RATE_auth_me" "$REDIS_GET" "$DB_RATE" "$RATE_dropoffs" \
          "$RAW_W_RATE" "$RAW_64_RATE" "$RATE_balance_reads" "$RATE_redemptions" "$RAW_R_RATE" \
          "$RAW_G_RATE" "$RATE_retry_storm" <<'PY'
import sys
healthz, me, rget, db, drop, raw_w, raw_64, bal, red, raw_r, raw_g, storm = map(float, sys.argv[1:])
print(f"auth/me / healthz             {me / healthz:6.2f}  (token verify + revocation check)")
print(f"auth/me / redis GET           {me / rget:6.2f}  (each auth/me reads Redis once: MGET of 2 keys)")
print(f"drop-offs / raw grouped tx    {drop / raw_g:6.2f}  (the server's grouped transaction, as many clients as ledger threads)")
print(f"drop-offs / raw drop-off tx   {drop / raw_w:6.2f}  (one drop-off a transaction, as many clients as workers)")
print(f"drop-offs / raw (64 clients)  {drop / raw_64:6.2f}")
print(f"raw drop-off / 1-row tx       {raw_w / db:6.2f}  (the drop-off's share of a bare commit)")
print(f"balance reads / healthz       {bal / healthz:6.2f}  (token verify + one MGET of 3 keys: the token's two and the balance)")
print(f"balance reads / redis GET     {bal / rget:6.2f}")
print(f"redemptions / raw redemption  {red / raw_r:6.2f}  (same transaction, as many clients as workers)")
print(f"retry storm / drop-offs       {storm / drop:6.2f}  (every drop-off sent twice at once; half the answers are replays)")
PY
if grep -qE 'AddressSanitizer|runtime error' "$DIR/server.log"; then
    echo "bench: the server log shows sanitizer errors" >&2
    exit 1
fi
