#!/bin/bash
# make bench: hotspotd and FreeRADIUS 3.2 + rlm_redis under the same load,
# side by side, on this machine. See bench/README.md.
#
#   BENCH_DURATION  measured seconds per run (default 10)
#   BENCH_ROUNDS    how many times each run is repeated, alternating the
#                   order of the servers; the report takes the median
#                   (default 1)
#   BENCH_DEVICES   devices (grants) / users (default 10000)
#   BENCH_CONC      requests in flight (default 64)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

DUR=${BENCH_DURATION:-10}
ROUNDS=${BENCH_ROUNDS:-1}
DEVICES=${BENCH_DEVICES:-10000}
CONC=${BENCH_CONC:-64}
OUT=bench/out
WORK=$OUT/work
rm -rf "$WORK" "$OUT"/run-*.json
mkdir -p "$WORK"
trap stop_all EXIT
trap 'exit 130' INT TERM

bench/install-packages.sh
[ -x "$BIN/hotspotd" ] && [ -x "$BIN/radload" ] || { echo "bench: build $BIN/hotspotd and $BIN/radload first (make bench does)" >&2; exit 1; }
started=$(date +%s)

# hotspotd on its own redis-server.
HS_REDIS_PORT=$(free_port)
start_redis "$WORK/redis-hotspotd" "$HS_REDIS_PORT"; HS_REDIS_PID=$REDIS_PID
hotspot_config bench/hotspotd.yaml.in "$WORK/hotspotd.yaml" "$HS_REDIS_PORT"
start_hotspotd "$WORK/hotspotd.yaml" "$WORK/hotspotd.log"
"$BIN/radload" setup -hotspot-config "$WORK/hotspotd.yaml" -devices "$DEVICES" -o "$WORK/devices.csv"

# FreeRADIUS, site B (Redis GET per auth, two INCRBY per accounting), on
# its own redis-server.
FR_REDIS_PORT=$(free_port)
start_redis "$WORK/redis-freeradius" "$FR_REDIS_PORT"; FR_REDIS_PID=$REDIS_PID
FR_AUTH=$(free_port); FR_ACCT=$(free_port)
AUTH_PORT=$FR_AUTH ACCT_PORT=$FR_ACCT REDIS_PORT=$FR_REDIS_PORT bench/freeradius/mkraddb.sh "$(pwd)/$WORK/raddb"
freeradius -f -d "$(pwd)/$WORK/raddb" > "$WORK/freeradius.log" 2>&1 &
FR_PID=$!; PIDS+=("$FR_PID")
wait_udp "$FR_AUTH" || { cat "$WORK/freeradius.log" >&2; exit 1; }
"$BIN/radload" setup -plain -redis "redis://127.0.0.1:$FR_REDIS_PORT/0" -devices "$DEVICES" -o "$WORK/users.csv"

# The floor: a layeh/radius server that does nothing.
NULL_AUTH=$(free_port); NULL_ACCT=$(free_port)
"$BIN/radload" null-server -auth "127.0.0.1:$NULL_AUTH" -acct "127.0.0.1:$NULL_ACCT" -secret testing123 > "$WORK/null.log" 2>&1 &
NULL_PID=$!; PIDS+=("$NULL_PID")
wait_udp "$NULL_AUTH"

load() { # LABEL SCENARIO ROUND radload-args...
  local label=$1 sc=$2 round=$3; shift 3
  echo "bench: $label $sc (round $round, ${DUR}s, $CONC in flight)"
  "$BIN/radload" run -label "$label" -scenario "$sc" -c "$CONC" -d "${DUR}s" -warmup 2s -progress 0 \
    -json "$OUT/run-$label-$sc-$round.json" "$@" | sed 's/^/  /'
}
ours()  { load hotspotd "$1" "$2" -hotspot-config "$WORK/hotspotd.yaml" -devices "$WORK/devices.csv" -watch "server=$HS_PID" -watch "redis=$HS_REDIS_PID"; }
peer()  { load freeradius "$1" "$2" -auth "127.0.0.1:$FR_AUTH" -acct "127.0.0.1:$FR_ACCT" -secret testing123 -devices "$WORK/users.csv" -watch "server=$FR_PID" -watch "redis=$FR_REDIS_PID"; }
floor() { load layeh-null "$1" "$2" -auth "127.0.0.1:$NULL_AUTH" -acct "127.0.0.1:$NULL_ACCT" -secret testing123 -devices "$WORK/users.csv" -watch "server=$NULL_PID"; }

quiet_note
for round in $(seq "$ROUNDS"); do
  # Alternate who goes first, so that a change in the machine's load
  # during the bench does not always favour the same server.
  if [ $((round % 2)) = 1 ]; then
    ours auth "$round"; peer auth "$round"; floor auth "$round"
    ours acct "$round"; peer acct "$round"
  else
    peer auth "$round"; ours auth "$round"; floor auth "$round"
    peer acct "$round"; ours acct "$round"
  fi
done
quiet_note
stop_all

echo
"$BIN/radload" report -o "$OUT/bench.json" "$OUT"/run-*.json | tee "$OUT/bench.txt"
echo
echo "bench: results in $OUT/bench.json and $OUT/bench.txt ($(( $(date +%s) - started ))s)"
