#!/usr/bin/env bash
# run.sh - what `make run` does after building: start the private Redis and
# MariaDB under var/, make secrets on first start, migrate, create the demo
# admin and seed the demo province on first start, then serve on
# 127.0.0.1:8080 in the foreground.  Ctrl-C stops the server; `make stop`
# stops the services.
set -euo pipefail
cd "$(dirname "$0")/.."
VAR=${WB_VAR:-var}
BIN=${WB_BIN:-bin}
mkdir -p "$VAR"
chmod 700 "$VAR"

scripts/services.sh start "$VAR"

# Secrets: random, made once, kept in a 0600 file never committed.
secrets="$VAR/secrets.env"
if [ ! -s "$secrets" ]; then
    umask 077
    {
        echo "WB_JWT_SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
        echo "WB_QR_SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
    } > "$secrets.tmp"
    mv "$secrets.tmp" "$secrets"
    echo "run: generated new secrets in $secrets"
fi

set -a
. "$VAR/services.env"
. "$secrets"
WB_LISTEN=${WB_LISTEN:-127.0.0.1:8080}
WB_LOG=${WB_LOG:-text}
set +a

"$BIN/wbctl" migrate

# Demo admin and demo data, once.
creds="$VAR/demo-credentials.txt"
if [ ! -s "$creds" ]; then
    pw=$(od -An -tx1 -N9 /dev/urandom | tr -d ' \n')
    printf '%s\n' "$pw" | "$BIN/wbctl" create-admin --username admin --display-name "Demo admin" >/dev/null
    umask 077
    {
        echo "admin  admin  $pw"
    } > "$creds"
    if "$BIN/wbctl" help 2>/dev/null | grep -q seed-demo; then
        "$BIN/wbctl" seed-demo >> "$creds"
    fi
fi

echo
echo "wastebank is starting on http://$WB_LISTEN"
echo "sign in (role  username  password), also kept in $creds:"
sed 's/^/  /' "$creds"
echo "try:  curl -s http://$WB_LISTEN/readyz"
echo "Ctrl-C stops the server; 'make stop' stops Redis and MariaDB."
echo
exec "$BIN/wastebankd"
