#!/usr/bin/env bash
# A NAT lab for gst-p2p: network namespaces joined by a bridge standing for
# the Internet, NAT routers in front of each site, coturn on the public side,
# and impairments (loss, rate, delay).  Needs root.  See docs/lab.md.
#
#   hN   (10.0.N.2)     --+
#   hN-K (10.0.N.(K+1)) --+-- nN [NAT] 198.51.100.(10+N) --+
#       (bridge "lan" in nN)                               br0 in "pub":
#                                                          198.51.100.1 = STUN/TURN
#   pubhost (198.51.100.100) ------------------------------+
#
# As a command (state kept in LAB_DIR, default /tmp/p2p-lab):
#   lab.sh up MODE...           one site per MODE: cone | symmetric | open
#   lab.sh turn                 coturn in pub: stun://198.51.100.1:3478,
#                               turn://user:pass@198.51.100.1:3478 (UDP and TCP)
#   lab.sh host N [K]           one more host on site N's LAN: hN-K at
#                               10.0.N.(K+1) (K: the next free, from 2)
#   lab.sh isolate N            site N's hosts stop reaching each other
#                               (bridge port isolation): like two LANs, or
#                               two subscribers of one carrier NAT
#   lab.sh exec NODE CMD...     NODE: pub, pubhost, n1, h1, h1-2, n2, ...
#   lab.sh loss NODE PCT        random loss both ways on NODE's uplink
#   lab.sh rate NODE RATE [both] tbf rate limit on NODE's uplink (e.g. 2mbit);
#                               with "both" on a router, downlink too
#   lab.sh delay NODE MS        NFQUEUE delay both ways (needs lab-delay)
#   lab.sh turn-only NODE [tcp] site NODE may reach only TURN (and TCP)
#   lab.sh forward N PORT       forward TCP PORT on site N's NAT to hN
#   lab.sh down                 kill what the lab started, delete namespaces
#   lab.sh status
# As a library: source it, then lab_new, lab_site, ... (lab-test.sh does).
#
# Every namespace is named after a per-lab prefix, so labs can run side by
# side.  Each lab registers in /run/p2p-lab with its owner's pid; a later
# lab_new tears down labs whose owner died without cleaning up.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

LAB_NET=198.51.100
LAB_TURN_IP=$LAB_NET.1
LAB_PUBHOST_IP=$LAB_NET.100
LAB_TURN_PORT=3478
LAB_TURN_USER=user
LAB_TURN_PASS=pass
LAB_REGISTRY=/run/p2p-lab
LAB_DELAY_BIN=${LAB_DELAY_BIN:-lab-delay}

lab_log() { echo "lab: $*" >&2; }

lab_ns() { echo "${LAB_PREFIX}$1"; }

lab_x() { local ns; ns=$(lab_ns "$1"); shift; ip netns exec "$ns" "$@"; }

# Exit status 77 (skipped) unless namespaces, veth and iptables work here.
lab_require() {
  local probe
  if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: the NAT lab needs root (network namespaces)" >&2
    exit 77
  fi
  for tool in ip iptables tc turnserver; do
    if ! command -v "$tool" >/dev/null; then
      echo "SKIP: $tool is not installed (tools/install-deps.sh)" >&2
      exit 77
    fi
  done
  probe="plprobe$$"
  if ! ip netns add "$probe" 2>/dev/null; then
    echo "SKIP: 'ip netns add' failed: network namespaces unavailable" >&2
    exit 77
  fi
  if ! ip netns exec "$probe" iptables -t nat -A POSTROUTING -j MASQUERADE \
      --random-fully 2>/dev/null; then
    ip netns del "$probe"
    echo "SKIP: iptables NAT does not work in a network namespace here" >&2
    exit 77
  fi
  ip netns del "$probe"
}

# Process start time, so a recycled pid is not taken for a live owner.
lab_start_time() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null; }

# Tears down labs whose owner process is gone.
lab_reap_stale() {
  local entry owner started dir
  [ -d "$LAB_REGISTRY" ] || return 0
  for entry in "$LAB_REGISTRY"/*; do
    [ -f "$entry" ] || continue
    read -r owner started dir < "$entry" || continue
    if [ -n "$owner" ] && [ "$(lab_start_time "$owner")" = "$started" ]; then
      continue
    fi
    lab_log "reaping stale lab $(basename "$entry") (owner $owner gone)"
    ( LAB_DIR=$dir; LAB_PREFIX=$(basename "$entry"); lab_down )
    rm -f "$entry"
  done
}

# lab_new DIR [OWNER_PID]: an empty lab: the "Internet" (namespace pub with
# bridge br0) and a public host (pubhost).
lab_new() {
  LAB_DIR=$1
  local owner=${2:-$$} i
  mkdir -p "$LAB_DIR/logs" "$LAB_REGISTRY"
  lab_reap_stale
  for i in 1 2 3 4 5 6 7 8; do
    LAB_PREFIX=$(printf 'pl%04x' $((RANDOM ^ ($$ & 0xffff))))
    [ -e "/run/netns/${LAB_PREFIX}pub" ] || [ -e "$LAB_REGISTRY/$LAB_PREFIX" ] \
      || break
  done
  echo "$LAB_PREFIX" > "$LAB_DIR/prefix"
  echo "$owner $(lab_start_time "$owner") $LAB_DIR" > "$LAB_REGISTRY/$LAB_PREFIX"
  : > "$LAB_DIR/pids"
  : > "$LAB_DIR/namespaces"

  lab_add_ns pub
  lab_x pub ip link add br0 type bridge
  lab_x pub ip addr add "$LAB_TURN_IP/24" dev br0
  lab_x pub ip link set br0 up
  lab_x pub sysctl -qw net.ipv4.ip_forward=1
  # The rest of the Internet: a default route into a link with no carrier,
  # where packets vanish the way ones to a private address do out there.
  # Without it, coturn relaying a check to a peer's private host address
  # gets ENETUNREACH and drops the whole allocation.
  lab_x pub ip link add void type veth peer name void-peer
  lab_x pub ip link set void up
  lab_x pub ip neigh add 192.0.2.2 lladdr 02:00:00:00:00:02 dev void nud permanent
  lab_x pub ip route add default via 192.0.2.2 dev void onlink

  lab_add_ns pubhost
  ip link add eth0 netns "$(lab_ns pubhost)" type veth \
    peer name ph netns "$(lab_ns pub)"
  lab_x pub ip link set ph master br0 up
  lab_x pubhost ip addr add "$LAB_PUBHOST_IP/24" dev eth0
  lab_x pubhost ip link set eth0 up
  lab_x pubhost ip route add default via "$LAB_TURN_IP"
  lab_log "lab $LAB_PREFIX up in $LAB_DIR"
}

lab_add_ns() {
  local ns
  ns=$(lab_ns "$1")
  ip netns add "$ns"
  echo "$ns" >> "$LAB_DIR/namespaces"
  ip netns exec "$ns" ip link set lo up
}

# lab_site N MODE: router nN and host hN (10.0.N.2).
#   cone       MASQUERADE: Linux keeps the source port, so the mapping is
#              endpoint-independent; conntrack admits only replies from
#              where a packet went: a port-restricted cone NAT
#   symmetric  MASQUERADE --random-fully: a new port per destination
#   open       no NAT, routed (a host with a public address)
lab_site() {
  local n=$1 mode=$2 wan=$LAB_NET.$((10 + $1)) lan=10.0.$1
  lab_add_ns "n$n"
  ip link add wan netns "$(lab_ns "n$n")" type veth \
    peer name "n$n" netns "$(lab_ns pub)"
  lab_x pub ip link set "n$n" master br0 up
  lab_x "n$n" ip addr add "$wan/24" dev wan
  lab_x "n$n" ip link set wan up
  lab_x "n$n" ip route add default via "$LAB_TURN_IP"
  # The site's LAN: a bridge, so more hosts can join it (lab_host).
  lab_x "n$n" ip link add lan type bridge forward_delay 0
  lab_x "n$n" ip addr add "$lan.1/24" dev lan
  lab_x "n$n" ip link set lan up
  lab_x "n$n" sysctl -qw net.ipv4.ip_forward=1
  echo "$mode" > "$LAB_DIR/site$n"
  lab_host "$n" 1 > /dev/null

  if [ "${LAB_COUNT:-0}" = 1 ]; then
    lab_x "n$n" iptables -t mangle -A POSTROUTING -o wan -p udp -d "$LAB_TURN_IP" --dport "$LAB_TURN_PORT"
    lab_x "n$n" iptables -t mangle -A POSTROUTING -o wan -p udp -d "$LAB_TURN_IP" ! --dport "$LAB_TURN_PORT"
    lab_x "n$n" iptables -t mangle -A POSTROUTING -o wan -p udp ! -d "$LAB_TURN_IP"
    lab_x "n$n" iptables -t mangle -A PREROUTING -i lan -p udp
    lab_x "n$n" iptables -t mangle -A PREROUTING -i wan -p udp -s "$LAB_TURN_IP" --sport "$LAB_TURN_PORT"
    lab_x "n$n" iptables -t mangle -A PREROUTING -i wan -p udp -s "$LAB_TURN_IP" ! --sport "$LAB_TURN_PORT"
    lab_x "n$n" iptables -t mangle -A PREROUTING -i wan -p udp ! -s "$LAB_TURN_IP"
    lab_x "n$n" iptables -A FORWARD -i wan -o lan -p udp
  fi
  case $mode in
    cone)
      lab_x "n$n" iptables -t nat -A POSTROUTING -o wan -j MASQUERADE ;;
    symmetric)
      lab_x "n$n" iptables -t nat -A POSTROUTING -o wan -j MASQUERADE \
        --random-fully ;;
    open)
      lab_x pub ip route add "$lan.0/24" via "$wan"
      return 0 ;;
    *)
      lab_log "unknown NAT mode '$mode' (cone, symmetric, open)"
      return 1 ;;
  esac
  # A stateful firewall: from outside only replies come in, and nothing
  # unsolicited reaches the router itself (an unconfirmed conntrack entry
  # left by a stray packet would make the NAT pick another port later).
  lab_x "n$n" iptables -A FORWARD -i wan -o lan -m conntrack \
    --ctstate ESTABLISHED,RELATED -j ACCEPT
  lab_x "n$n" iptables -A FORWARD -i wan -o lan -j DROP
  lab_x "n$n" iptables -A INPUT -i wan -m conntrack \
    --ctstate ESTABLISHED,RELATED -j ACCEPT
  lab_x "n$n" iptables -A INPUT -i wan -j DROP
}

# lab_host N [K]: host K of site N on the site's LAN (bridge "lan" in nN)
# at 10.0.N.(K+1); host 1 is hN (lab_site makes it), host K > 1 is hN-K.
# K defaults to the next free one.  Prints the node name and address.
lab_host() {
  local n=$1 k=${2:-} node
  [ -f "$LAB_DIR/site$n" ] || { lab_log "no site $n"; return 1; }
  if [ -z "$k" ]; then
    k=$(( $(sort -n "$LAB_DIR/hosts$n" 2>/dev/null | tail -1) + 1 ))
  fi
  if [ "$k" -lt 1 ] || [ "$k" -gt 250 ] ||
     grep -qx "$k" "$LAB_DIR/hosts$n" 2>/dev/null; then
    lab_log "site $n: host $k exists or is out of range (1-250)"
    return 1
  fi
  node=$(lab_host_node "$n" "$k")
  lab_add_ns "$node"
  # the router's end is the bridge port lanK
  ip link add "lan$k" netns "$(lab_ns "n$n")" type veth \
    peer name eth0 netns "$(lab_ns "$node")"
  lab_x "n$n" ip link set "lan$k" master lan up
  lab_x "$node" ip addr add "10.0.$n.$((k + 1))/24" dev eth0
  lab_x "$node" ip link set eth0 up
  lab_x "$node" ip route add default via "10.0.$n.1"
  echo "$k" >> "$LAB_DIR/hosts$n"
  echo "$node 10.0.$n.$((k + 1))"
}

lab_host_node() { [ "$2" = 1 ] && echo "h$1" || echo "h$1-$2"; }

# lab_isolate N: the hosts of site N reach the router, not each other
# (isolated bridge ports), so two of them share the NAT but not a LAN:
# each other's host address is unreachable, and the NAT (Linux
# MASQUERADE) does not hairpin, so only a relay joins them.
lab_isolate() {
  local n=$1 k
  [ -f "$LAB_DIR/hosts$n" ] || { lab_log "no site $n"; return 1; }
  for k in $(cat "$LAB_DIR/hosts$n"); do
    lab_x "n$n" bridge link set dev "lan$k" isolated on
  done
}

# lab_site_mode N: the mode site N was built with.
lab_site_mode() { cat "$LAB_DIR/site$1"; }

# lab_forward N PORT: TCP PORT of site N's public address goes to hN.
lab_forward() {
  local n=$1 port=$2
  lab_x "n$n" iptables -t nat -A PREROUTING -i wan -p tcp --dport "$port" \
    -j DNAT --to-destination "10.0.$n.2:$port"
  lab_x "n$n" iptables -I FORWARD -i wan -o lan -p tcp -d "10.0.$n.2" \
    --dport "$port" -j ACCEPT
}

# lab_turn_only N [tcp]: site N may send UDP only to the TURN server (or,
# with tcp, no UDP at all): every path to a peer must be relayed.
lab_turn_only() {
  local n=$1
  if [ "${2:-}" = tcp ]; then
    lab_x "n$n" iptables -I FORWARD -i lan -o wan -p udp -j DROP
  else
    lab_x "n$n" iptables -I FORWARD -i lan -o wan -p udp ! -d "$LAB_TURN_IP" \
      -j DROP
  fi
}

# lab_spawn NODE NAME CMD...: runs CMD in NODE's namespace in the background,
# output in logs/NAME.log; prints nothing, records the pid (lab_pid NAME).
lab_spawn() {
  local node=$1 name=$2 ns
  shift 2
  ns=$(lab_ns "$node")
  ip netns exec "$ns" "$@" > "$LAB_DIR/logs/$name.log" 2>&1 &
  echo "$! $name" >> "$LAB_DIR/pids"
}

lab_pid() { awk -v n="$1" '$2 == n {print $1}' "$LAB_DIR/pids" | tail -1; }

lab_turn() {
  local conf=$LAB_DIR/turnserver.conf
  cat > "$conf" <<EOF
listening-ip=$LAB_TURN_IP
relay-ip=$LAB_TURN_IP
listening-port=$LAB_TURN_PORT
min-port=49152
max-port=65535
realm=lab.p2p.test
lt-cred-mech
user=$LAB_TURN_USER:$LAB_TURN_PASS
userdb=$LAB_DIR/turndb
fingerprint
no-tls
no-dtls
no-cli
no-rfc5780
no-multicast-peers
no-software-attribute
no-stdout-log
simple-log
log-file=$LAB_DIR/logs/turnserver.log
pidfile=$LAB_DIR/turnserver.pid
EOF
  [ "${LAB_TURN_VERBOSE:-0}" = 1 ] && echo verbose >> "$conf"
  lab_spawn pub turnserver turnserver -c "$conf"
  # Ready once it answers a binding request on UDP and listens on TCP.
  local i
  for i in $(seq 1 50); do
    if lab_x pub ss -Hltn "sport = :$LAB_TURN_PORT" | grep -q . &&
       lab_x pub ss -Hlun "sport = :$LAB_TURN_PORT" | grep -q .; then
      return 0
    fi
    sleep 0.1
  done
  lab_log "turnserver did not start:"
  cat "$LAB_DIR/logs/turnserver.log" >&2 || true
  return 1
}

lab_stun_uri() { echo "stun://$LAB_TURN_IP:$LAB_TURN_PORT"; }
lab_turn_uri() {
  echo "turn://$LAB_TURN_USER:$LAB_TURN_PASS@$LAB_TURN_IP:$LAB_TURN_PORT${1:+?transport=$1}"
}

# The interface a node uses to reach the rest of the lab.
lab_uplink() {
  case $1 in
    pub) echo br0 ;;
    n*) echo wan ;;
    *) echo eth0 ;;
  esac
}

# lab_loss NODE PCT: drops PCT % of packets each way on NODE's uplink.
lab_loss() {
  local dev p
  dev=$(lab_uplink "$1")
  p=$(awk -v pct="$2" 'BEGIN { printf "%.4f", pct / 100 }')
  # first in the chain: a packet back from lab-delay's queue skips the
  # rules after NFQUEUE
  lab_x "$1" iptables -t mangle -I PREROUTING 1 -i "$dev" \
    -m statistic --mode random --probability "$p" -j DROP
  lab_x "$1" iptables -t mangle -I POSTROUTING 1 -o "$dev" \
    -m statistic --mode random --probability "$p" -j DROP
}

# lab_rate NODE RATE [both]: NODE's uplink sends at most RATE (tc tbf).
# With "both" on a NAT router nN, what it forwards into its site is
# limited as well: an access link of RATE each way.
lab_rate() {
  local dev
  dev=$(lab_uplink "$1")
  lab_x "$1" tc qdisc replace dev "$dev" root tbf rate "$2" burst 32kbit \
    latency 400ms
  if [ "${3:-}" = both ]; then
    case $1 in
      n*) lab_x "$1" tc qdisc replace dev lan root tbf rate "$2" \
            burst 32kbit latency 400ms ;;
      *) lab_log "rate ... both: only on a NAT router (nN)"; return 1 ;;
    esac
  fi
}

# lab_delay NODE MS: every packet through NODE's uplink, either way, waits
# MS in lab-delay (this kernel has no netem).  Queue 0 is per namespace.
lab_delay() {
  local node=$1 ms=$2 dev
  dev=$(lab_uplink "$node")
  lab_spawn "$node" "delay-$node" "$LAB_DELAY_BIN" --queue 0 --delay-ms "$ms"
  # The tool binds the queue before traffic is sent to it; --queue-bypass
  # lets packets through while nothing listens.
  sleep 0.3
  lab_x "$node" iptables -t mangle -A PREROUTING -i "$dev" \
    -j NFQUEUE --queue-num 0 --queue-bypass
  lab_x "$node" iptables -t mangle -A POSTROUTING -o "$dev" \
    -j NFQUEUE --queue-num 0 --queue-bypass
}

# Kills what the lab started (whatever runs inside its namespaces) and
# deletes the namespaces.  Safe to run twice.
lab_down() {
  local pid name ns left i
  [ -n "${LAB_DIR:-}" ] || return 0
  [ -n "${LAB_PREFIX:-}" ] || LAB_PREFIX=$(cat "$LAB_DIR/prefix" 2>/dev/null)
  [ -n "$LAB_PREFIX" ] || return 0
  # Everything the lab started runs inside its namespaces: find it there,
  # never by a recorded pid, which may belong to someone else by now.
  # the recorded list, and by prefix in case the lab died while adding one
  local all
  all=$( { cat "$LAB_DIR/namespaces" 2>/dev/null
           ip netns list | awk -v p="$LAB_PREFIX" 'index($1, p) == 1 {print $1}'
         } | awk '!seen[$0]++')
  if [ -n "$all" ]; then
    for ns in $all; do
      [ -e "/run/netns/$ns" ] || continue
      for pid in $(ip netns pids "$ns" 2>/dev/null); do
        kill -TERM "$pid" 2>/dev/null || true
      done
    done
    for i in $(seq 1 30); do
      left=""
      for ns in $all; do
        [ -e "/run/netns/$ns" ] && left="$left$(ip netns pids "$ns" 2>/dev/null)"
      done
      [ -z "$left" ] && break
      sleep 0.1
    done
    for ns in $all; do
      [ -e "/run/netns/$ns" ] || continue
      for pid in $(ip netns pids "$ns" 2>/dev/null); do
        kill -KILL "$pid" 2>/dev/null || true
      done
    done
    # tac: hosts and routers before pub, whose bridge the veths hang on
    for ns in $(echo "$all" | tac); do
      [ -e "/run/netns/$ns" ] && ip netns del "$ns" 2>/dev/null
    done
    : 2>/dev/null > "$LAB_DIR/namespaces" || true
  fi
  rm -f "$LAB_REGISTRY/$LAB_PREFIX"
  return 0
}

lab_status() {
  local f
  echo "lab $LAB_PREFIX in $LAB_DIR"
  for f in "$LAB_DIR"/site*; do
    [ -f "$f" ] || continue
    f=${f##*/site}
    echo "site $f: $(lab_site_mode "$f"), behind n$f $LAB_NET.$((10 + f)):" \
      $(sort -n "$LAB_DIR/hosts$f" 2>/dev/null | while read -r k; do
          echo "$(lab_host_node "$f" "$k") 10.0.$f.$((k + 1))"; done)
  done
  ip netns list | grep "^$LAB_PREFIX" || true
  cat "$LAB_DIR/pids" 2>/dev/null || true
}

lab_main() {
  set -euo pipefail
  LAB_DIR=${LAB_DIR:-/tmp/p2p-lab}
  local cmd=${1:-status} n owner
  shift || true
  if [ "$cmd" != up ] && [ -f "$LAB_DIR/prefix" ]; then
    LAB_PREFIX=$(cat "$LAB_DIR/prefix")
  fi
  case $cmd in
    up)
      lab_require
      lab_new "$LAB_DIR" "$PPID"
      # a hand-run lab belongs to no process: keep it until "down";
      # a program driving the lab names itself (LAB_OWNER=pid), so the
      # lab is reaped if it dies without "down"
      owner=${LAB_OWNER:-1}
      echo "$owner $(lab_start_time "$owner") $LAB_DIR" \
        > "$LAB_REGISTRY/$LAB_PREFIX"
      n=1
      for mode in "$@"; do lab_site "$n" "$mode"; n=$((n + 1)); done ;;
    turn) lab_turn; echo "$(lab_stun_uri) $(lab_turn_uri)" ;;
    exec) node=$1; shift; lab_x "$node" "$@" ;;
    loss) lab_loss "$@" ;;
    rate) lab_rate "$@" ;;
    delay) lab_delay "$@" ;;
    turn-only) lab_turn_only "${1#n}" "${2:-}" ;;
    forward) lab_forward "$@" ;;
    host) lab_host "$@" ;;
    down) lab_down ;;
    status) lab_status ;;
    isolate) lab_isolate "$@" ;;
    *) sed -n '2,30p' "$0"; exit 1 ;;
  esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  lab_main "$@"
fi
