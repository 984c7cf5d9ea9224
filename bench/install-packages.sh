#!/bin/bash
# Install what `make bench` needs from Debian: FreeRADIUS 3.2 with rlm_redis
# (the reference peer), radclient, redis-server and redis-cli, ss (free
# ports, listening sockets). Nothing is installed when
# everything is there already. The packages' postinst must not start daemons
# on the default ports (our tests run their own redis-server), so a
# policy-rc.d refuses every start while apt runs.
set -euo pipefail
need=()
command -v freeradius >/dev/null 2>&1 || need+=(freeradius)
command -v radclient >/dev/null 2>&1 || need+=(freeradius-utils)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
ls /usr/lib/freeradius/rlm_redis.so >/dev/null 2>&1 || need+=(freeradius-redis)
command -v ss >/dev/null 2>&1 || need+=(iproute2)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "bench: missing packages: ${need[*]}" >&2
  echo "bench: install them with: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "bench: installing ${need[*]}"
prc=/usr/sbin/policy-rc.d
backup=""
if [ -e "$prc" ]; then backup=$(mktemp); cp -p "$prc" "$backup"; fi
printf '#!/bin/sh\nexit 101\n' > "$prc"; chmod 755 "$prc"
restore() { if [ -n "$backup" ]; then cp -p "$backup" "$prc"; rm -f "$backup"; else rm -f "$prc"; fi; }
trap restore EXIT
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Without systemd (containers) postinst may still have started nothing; with
# it, policy-rc.d kept the units stopped. Either way, make sure no packaged
# daemon holds the default ports.
for svc in freeradius redis-server; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done
