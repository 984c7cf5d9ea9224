#!/bin/bash
# Build a private FreeRADIUS config dir for the benchmark from the packaged
# one (adapted from ../shared/bench/freeradius/mkraddb.sh: scenario B only,
# ports from the environment).
# usage: mkraddb.sh OUTDIR    with AUTH_PORT, ACCT_PORT, REDIS_PORT set
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
: "${AUTH_PORT:?}" "${ACCT_PORT:?}" "${REDIS_PORT:?}"
src=${FR_SRC:-/etc/freeradius/3.0}
rm -rf "$out"; mkdir -p "$out"
cp -rL "$src"/. "$out"/ 2>/dev/null || cp -r "$src"/. "$out"/
mkdir -p "$out/log" "$out/run"
# Run as the invoking user with log/run dirs inside OUTDIR; no proxying
# (it would open a socket on 0.0.0.0); room in the duplicate-detection
# table for rate × cleanup_delay (the default 16384 drops requests at these
# rates).
sed -i -E \
  -e "s|^logdir = .*|logdir = $out/log|" \
  -e "s|^run_dir = .*|run_dir = $out/run|" \
  -e "s|^proxy_requests\s*=.*|proxy_requests = no|" \
  -e "s|^max_requests = .*|max_requests = ${FR_MAX_REQUESTS:-1048576}|" \
  -e "s|^(\s*)(user\|group) = freerad|\1#\2 = freerad|" \
  "$out/radiusd.conf"
cp "$here/clients.conf" "$out/clients.conf"
rm -rf "$out/sites-enabled"; mkdir "$out/sites-enabled"
sed -e "s/@AUTH_PORT@/$AUTH_PORT/" -e "s/@ACCT_PORT@/$ACCT_PORT/" "$here/site-B" > "$out/sites-enabled/bench"
rm -rf "$out/mods-enabled"; mkdir "$out/mods-enabled"
for m in always pap expr; do cp "$out/mods-available/$m" "$out/mods-enabled/$m"; done
sed -e "s/@REDIS_PORT@/$REDIS_PORT/" "$here/redis.mod" > "$out/mods-enabled/redis"
