#!/bin/bash
# make profile: where hotspotd and its Redis spend their time under load.
# Starts a private redis-server and hotspotd (bench/hotspotd.yaml.in), runs
# one radload scenario, and meanwhile takes a CPU and an allocation profile
# from the daemon's /debug/pprof (admin.pprof) and Redis's per-command
# statistics. See bench/README.md.
#
#   PROFILE_SCENARIO  auth, mac-auth or acct (default acct)
#   PROFILE_SECONDS   seconds profiled (default 10)
#   BENCH_DEVICES     devices (default 10000)
#   BENCH_CONC        requests in flight (default 64)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

SC=${PROFILE_SCENARIO:-acct}
SECS=${PROFILE_SECONDS:-10}
DEVICES=${BENCH_DEVICES:-10000}
CONC=${BENCH_CONC:-64}
OUT=bench/out
WORK=$OUT/profile-work
rm -rf "$WORK"
mkdir -p "$WORK"
trap stop_all EXIT
trap 'exit 130' INT TERM
[ -x "$BIN/hotspotd" ] && [ -x "$BIN/radload" ] || { echo "profile: build $BIN/hotspotd and $BIN/radload first (make profile does)" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "profile: redis-server is missing (make bench installs it)" >&2; exit 1; }

PORT=$(free_port)
start_redis "$WORK/redis" "$PORT"; RPID=$REDIS_PID
hotspot_config bench/hotspotd.yaml.in "$WORK/hotspotd.yaml" "$PORT"
start_hotspotd "$WORK/hotspotd.yaml" "$WORK/hotspotd.log"
"$BIN/radload" setup -hotspot-config "$WORK/hotspotd.yaml" -devices "$DEVICES" -o "$WORK/devices.csv"

echo "profile: $SC for $((SECS + 4))s, $CONC in flight; profiling ${SECS}s of it"
"$BIN/radload" run -label hotspotd -scenario "$SC" -c "$CONC" -d "$((SECS + 2))s" -warmup 2s -progress 0 \
  -hotspot-config "$WORK/hotspotd.yaml" -devices "$WORK/devices.csv" \
  -watch "server=$HS_PID" -watch "redis=$RPID" -json "$OUT/profile-$SC-run.json" > "$WORK/radload.txt" &
LOAD=$!
sleep 3
redis-cli -p "$PORT" config resetstat > /dev/null
auth=(-H "Authorization: Bearer bench-operator-token")
base=http://127.0.0.1:$ADMIN_PORT
curl -sf "${auth[@]}" -o "$WORK/allocs-before.pb.gz" "$base/debug/pprof/allocs"
curl -sf "${auth[@]}" -o "$OUT/profile-$SC-cpu.pb.gz" "$base/debug/pprof/profile?seconds=$SECS"
curl -sf "${auth[@]}" -o "$OUT/profile-$SC-allocs.pb.gz" "$base/debug/pprof/allocs"
redis-cli -p "$PORT" info commandstats > "$OUT/profile-$SC-redis.txt"
wait "$LOAD"
cat "$WORK/radload.txt"

echo
echo "== hotspotd CPU, top 25 by cumulative time ($OUT/profile-$SC-cpu.pb.gz)"
go tool pprof -top -cum -nodecount=25 "$OUT/profile-$SC-cpu.pb.gz" 2>/dev/null | tail -n +5
echo
echo "== hotspotd allocations in the profiled ${SECS}s, top 15 by bytes"
go tool pprof -top -sample_index=alloc_space -nodecount=15 -base "$WORK/allocs-before.pb.gz" "$OUT/profile-$SC-allocs.pb.gz" 2>/dev/null | tail -n +5
echo
echo "== Redis commands in the profiled ${SECS}s ($OUT/profile-$SC-redis.txt)"
awk -F'[:=,]' '/^cmdstat_/ {printf "%-28s calls %9d  µs/call %7.2f  µs total %11d\n", substr($1, 9), $3, $7, $5}' "$OUT/profile-$SC-redis.txt" | sort -k6 -nr
