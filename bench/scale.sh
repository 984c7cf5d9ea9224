#!/bin/bash
# make bench-scale: what 100k devices and 100k sessions cost, and a mixed
# run of 100k roaming devices whose ledger must equal what was sent.
#
#   1. 100k devices accept the terms (grants and remembered devices made
#      through the store, as the portal makes them): Redis memory per
#      remembered device, with and without its grant.
#   2. Each opens a session (Accounting Start and one Interim-Update):
#      Redis memory per active session, with the device's ledger and the
#      indexes; hotspotd's RSS.
#   3. The 10-minute-equivalent mixed run: 100k devices across 1,000 access
#      points on 10 controllers, one Interim-Update a virtual minute, a move
#      to another access point every 5 virtual minutes (Stop, MAC
#      authentication, Start), 1% retransmits and stale interims; the
#      ledger must gain exactly the octets the generator sent.
#
#   SCALE_DEVICES (default 100000), SCALE_MINUTES (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

N=${SCALE_DEVICES:-100000}
MINUTES=${SCALE_MINUTES:-10}
OUT=bench/out
WORK=$OUT/scale-work
rm -rf "$WORK"; mkdir -p "$WORK"
trap stop_all EXIT
trap 'exit 130' INT TERM
command -v redis-server >/dev/null && command -v redis-cli >/dev/null || bench/install-packages.sh
[ -x "$BIN/hotspotd" ] && [ -x "$BIN/radload" ] || { echo "bench: build $BIN/hotspotd and $BIN/radload first (make bench-scale does)" >&2; exit 1; }
started=$(date +%s)

RPORT=$(free_port)
start_redis "$WORK/redis" "$RPORT"; RPID=$REDIS_PID
hotspot_config bench/hotspotd-scale.yaml.in "$WORK/hotspotd.yaml" "$RPORT"
start_hotspotd "$WORK/hotspotd.yaml" "$WORK/hotspotd.log"
HS=$HS_PID
rcli() { redis-cli -p "$RPORT" "$@"; }
used() { rcli info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }
rss() { awk '/^VmRSS/ {print $2 * 1024}' "/proc/$HS/status"; }
hwm() { awk '/^VmHWM/ {print $2 * 1024}' "/proc/$HS/status"; }
per() { awk -v a="$1" -v b="$2" -v n="$N" 'BEGIN { printf "%.0f", (b - a) / n }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

quiet_note
m0=$(used); rss0=$(rss)
"$BIN/radload" setup -hotspot-config "$WORK/hotspotd.yaml" -devices "$N" -o "$WORK/devices.csv"
m1=$(used)
# Grants live for grant_ttl; what stays is the remembered device.
rcli --scan --pattern '{d:*}:g:*' | sed 's/^/UNLINK /' > "$WORK/grants.cmd"
rcli < "$WORK/grants.cmd" > /dev/null
m2=$(used)
echo "scale: $N devices: $(per "$m0" "$m1") B each with a fresh grant, $(per "$m0" "$m2") B each once the grant is gone"

"$BIN/radload" run -hotspot-config "$WORK/hotspotd.yaml" -devices "$WORK/devices.csv" -label hotspotd \
  -scenario acct -rounds 1 -interims 1 -stop=false -aps 1000 -c 64 -progress 5s \
  -watch "server=$HS" -watch "redis=$RPID" -json "$OUT/scale-sessions.json" | sed 's/^/  /'
m3=$(used); rss1=$(rss)
echo "scale: $N active sessions: $(per "$m2" "$m3") B of Redis each; hotspotd RSS $(mib "$rss1") MiB"

echo "scale: mixed run: $N devices, 1000 access points, 10 controllers, $MINUTES virtual minutes"
t0=$(date +%s)
"$BIN/radload" run -hotspot-config "$WORK/hotspotd.yaml" -devices "$WORK/devices.csv" -label hotspotd \
  -scenario mixed -minutes "$MINUTES" -roam 5 -aps 1000 -dup 0.01 -c 64 -progress 10s -verify \
  -watch "server=$HS" -watch "redis=$RPID" -json "$OUT/scale-mixed.json" | sed 's/^/  /'
t1=$(date +%s)
m4=$(used); rss2=$(rss); hwm2=$(hwm)
keys=$(rcli dbsize)
quiet_note
stop_all

cat > "$OUT/scale.json" <<JSON
{
  "devices": $N,
  "redis_used_memory_bytes": {"start": $m0, "devices_with_grants": $m1, "devices": $m2, "sessions": $m3, "after_mixed": $m4},
  "redis_bytes_per_remembered_device": $(per "$m0" "$m2"),
  "redis_bytes_per_device_with_grant": $(per "$m0" "$m1"),
  "redis_bytes_per_active_session": $(per "$m2" "$m3"),
  "redis_keys_after_mixed": $keys,
  "hotspotd_rss_bytes": {"start": $rss0, "sessions": $rss1, "after_mixed": $rss2, "peak": $hwm2},
  "mixed_wall_seconds": $((t1 - t0)),
  "mixed_virtual_minutes": $MINUTES
}
JSON
echo
echo "scale: Redis per remembered device $(per "$m0" "$m2") B ($(per "$m0" "$m1") B with its grant)"
echo "scale: Redis per active session     $(per "$m2" "$m3") B (target ≤ 1024 B)"
echo "scale: hotspotd RSS                 $(mib "$rss1") MiB with $N sessions, $(mib "$rss2") MiB after the mixed run (peak $(mib "$hwm2") MiB)"
echo "scale: mixed run                    $((t1 - t0)) s of wall time for $MINUTES virtual minutes; ledger: $(grep -o '"equal": [a-z]*' "$OUT/scale-mixed.json")"
echo "scale: results in $OUT/scale.json, $OUT/scale-sessions.json, $OUT/scale-mixed.json ($(( $(date +%s) - started ))s)"
