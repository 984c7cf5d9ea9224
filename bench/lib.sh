# Helpers shared by bench/run.sh and bench/scale.sh: free ports, private
# redis-servers, waiting for listeners, and stopping exactly the processes
# this script started.

BIN=${BIN:-bin}
PIDS=()

# stop_all ends every process this script started, by its PID.
stop_all() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  PIDS=()
}

# stop PID ends one process started here and waits for it.
stop() {
  local pid=$1
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

# free_port prints a port that nothing listens on (TCP or UDP) and that no
# earlier call of this script handed out, below the kernel's ephemeral
# range (ip_local_port_range, 32768 and up by default): a port picked
# there could be taken by some client's connection before the server
# binds it.
USED_PORTS=" "
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    case "$USED_PORTS" in *" $p "*) continue ;; esac
    if ! ss -Htuln "sport = :$p" 2>/dev/null | grep -q .; then
      USED_PORTS="$USED_PORTS$p "
      echo "$p"
      return
    fi
  done
}

# wait_udp PORT waits until something listens on 127.0.0.1:PORT/udp.
wait_udp() {
  for _ in $(seq 100); do
    ss -Hun -l "sport = :$1" 2>/dev/null | grep -q . && return 0
    sleep 0.1
  done
  echo "bench: nothing listens on udp port $1" >&2
  return 1
}

# start_redis DIR PORT starts a private redis-server (no persistence) and
# sets REDIS_PID.
start_redis() {
  local dir=$1 port=$2
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$dir" --protected-mode yes --loglevel warning > "$dir/redis.log" 2>&1 &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  for _ in $(seq 100); do
    redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.1
  done
  echo "bench: redis-server on port $port did not start:" >&2
  cat "$dir/redis.log" >&2
  return 1
}

# hotspot_config TEMPLATE OUT REDIS_PORT fills in a hotspotd config and
# sets AUTH_PORT, ACCT_PORT and ADMIN_PORT.
hotspot_config() {
  AUTH_PORT=$(free_port); ACCT_PORT=$(free_port); ADMIN_PORT=$(free_port)
  sed -e "s/@REDIS_PORT@/$3/" \
      -e "s/@AUTH_PORT@/$AUTH_PORT/" -e "s/@ACCT_PORT@/$ACCT_PORT/" \
      -e "s/@PORTAL_PORT@/$(free_port)/" -e "s/@ADMIN_PORT@/$ADMIN_PORT/" \
      -e "s|@SPOOL@|$(cd "$(dirname "$2")" && pwd)/spool-$(basename "$2" .yaml)|" "$1" > "$2"
}

# start_hotspotd CONFIG LOG starts the daemon and sets HS_PID.
start_hotspotd() {
  "$BIN/hotspotd" -config "$1" > "$2" 2>&1 &
  HS_PID=$!
  PIDS+=("$HS_PID")
  if ! wait_udp "$AUTH_PORT"; then cat "$2" >&2; return 1; fi
}

quiet_note() {
  local l
  l=$(cut -d' ' -f1 /proc/loadavg)
  echo "bench: load average now $l on $(nproc) CPUs (other work on the machine skews absolute numbers; compare ratios)"
}
