#!/bin/bash
# Runs as root inside the stock-kernel VM (stock-kernel.test.ts), where xt_recent is a loadable module.
# First a jail of capacity 10,000 applied before anything loaded the module: apply writes
# /etc/modprobe.d/xtban.conf and loads the module with it. Then what an administrator does when the module
# was already loaded with its default (100: shards) and `xtban apply` asks for a larger ip_list_tot: the
# jail holds bans, is taken down, the module is reloaded (reading the file apply wrote), and apply and
# restore give the jail one list a family with every ban in it; real packets show the bans enforced. REPO (this checkout,
# built) and OUT (the directory read back) come from the caller; every result lands in OUT.
set -euo pipefail
BANS=${BANS:-10000}
config=$OUT/xtban.toml
xtban() { node "$REPO/dist/main.js" --config "$config" --state-dir /var/lib/xtban-vm "$@"; }
step() { printf 'xtban-vm: %s\n' "$*"; }

cat > "$config" <<'EOF'
[safelist]
own_addresses = false

[jails.web]
ports = [8080]
window = "1h"
capacity = 10000
EOF

if [[ -e /sys/module/xt_recent ]]; then echo loaded > "$OUT/module-at-boot"; else echo absent > "$OUT/module-at-boot"; fi

step "apply with the module not loaded yet"
xtban apply --json > "$OUT/apply-0.json"
cat /sys/module/xt_recent/parameters/ip_list_tot > "$OUT/ip-list-tot-0"
ls /proc/net/xt_recent > "$OUT/lists-0"
xtban teardown --json > /dev/null
modprobe -r xt_recent
rm /etc/modprobe.d/xtban.conf

step "apply under the module's default (loaded before, by another tool or an earlier boot)"
modprobe xt_recent
xtban apply --json > "$OUT/apply-1.json"
cat /sys/module/xt_recent/parameters/ip_list_tot > "$OUT/ip-list-tot-1"
cp /etc/modprobe.d/xtban.conf "$OUT/modprobe-conf"
xtban status --json > "$OUT/status-1.json"
ls /proc/net/xt_recent | wc -l > "$OUT/lists-1"

step "ban $BANS addresses a family"
python3 - "$BANS" > /tmp/banned.txt <<'EOF'
import sys
n = int(sys.argv[1])
for i in range(n):
    print(f"198.18.{i >> 8}.{i & 0xff}")
    print(f"2001:db8:b::{i:x}")
EOF
split -l 5000 /tmp/banned.txt /tmp/banned.
for chunk in /tmp/banned.??; do
  mapfile -t addresses < "$chunk"
  xtban ban "${addresses[@]}" > /dev/null
done

step "teardown, reload the module"
xtban teardown --json > "$OUT/teardown.json"
modprobe -r xt_recent
modprobe xt_recent
cat /sys/module/xt_recent/parameters/ip_list_tot > "$OUT/ip-list-tot-2"

step "apply and restore under the new value"
xtban apply --json > "$OUT/apply-2.json"
xtban restore --json > "$OUT/restore.json"
xtban status --json > "$OUT/status-2.json"
ls /proc/net/xt_recent > "$OUT/lists-2"
for list in /proc/net/xt_recent/*; do printf '%s %s\n' "${list##*/}" "$(wc -l < "$list")"; done > "$OUT/list-entries-2"

step "real packets: 200 banned and 200 other sources a family, spoofed from a namespace"
ip netns add client
ip link add xtb-vm0 type veth peer name xtb-vm1 netns client
ip addr add 192.0.2.1/24 dev xtb-vm0
ip addr add 2001:db8::1/64 dev xtb-vm0 nodad
ip link set xtb-vm0 up
ip -n client link set xtb-vm1 up
sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.xtb-vm0.rp_filter=0
# What passes the jail reaches this rule.
iptables -A INPUT -p tcp --dport 8080
ip6tables -A INPUT -p tcp --dport 8080
iptables -Z
ip6tables -Z
mac=$(cat /sys/class/net/xtb-vm0/address)
{
  awk 'NR % 100 == 1 || NR % 100 == 2' /tmp/banned.txt
  for i in $(seq 0 199); do printf '198.19.%d.%d\n2001:db8:c::%x\n' $((i >> 8)) $((i & 255)) "$i"; done
} | ip netns exec client python3 "$REPO/test/kernel/helpers/spoof-syn.py" xtb-vm1 "$mac" 192.0.2.1 2001:db8::1 8080 > "$OUT/sent"
sleep 1
iptables-save -c > "$OUT/iptables-save"
ip6tables-save -c > "$OUT/ip6tables-save"
step done
