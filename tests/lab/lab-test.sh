#!/usr/bin/env bash
# lab-test.sh CASE: one NAT-lab test (see docs/lab.md for the cases).
# Builds its own lab, runs a p2psink origin and p2psrc viewers (lab-peer)
# in it, and passes if every viewer plays the stream byte for byte over
# the expected kind of path.  Exit 77 (skipped) without root or namespaces.
#
# Env: LAB_PEER (lab-peer program), LAB_DELAY_BIN (lab-delay), both set by
# meson; LAB_KEEP=1 keeps the logs directory.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab.sh
. "$HERE/lab.sh"

CASE=${1:?usage: lab-test.sh CASE}
: "${LAB_PEER:?LAB_PEER must name the lab-peer program}"
lab_require

RUN_DIR=$(mktemp -d /tmp/p2p-lab.XXXXXX)
TRACKER_PORT=8800
VIEWER_TIMEOUT_S=${LAB_VIEWER_TIMEOUT_S:-60}
declare -a VIEWERS=()

finish() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
    echo "---- logs of the failed run ($RUN_DIR/logs) ----" >&2
    for f in "$RUN_DIR"/logs/*.log; do
      [ -f "$f" ] || continue
      echo "== $(basename "$f")" >&2
      tail -n 60 "$f" >&2
    done
  fi
  if [ "${LAB_COUNT:-0}" = 1 ]; then
    for ns in $(cat "$RUN_DIR/namespaces"); do
      echo "== $ns" >> "$RUN_DIR/logs/counters.txt"
      ip netns exec "$ns" iptables -t mangle -L -v -n -x >> "$RUN_DIR/logs/counters.txt" 2>&1 || true
      ip netns exec "$ns" iptables -L -v -n -x >> "$RUN_DIR/logs/counters.txt" 2>&1 || true
    done
  fi
  lab_down
  [ "${LAB_KEEP:-0}" = 1 ] || rm -rf "$RUN_DIR"
  exit "$rc"
}

# Killed (meson's timeout sends SIGTERM to the whole process group, then
# SIGKILL half a second later): tear down from a new session, which that
# SIGKILL does not reach.
on_signal() {
  trap - EXIT INT TERM
  setsid bash -c ". '$HERE/lab.sh'; LAB_DIR='$RUN_DIR'; LAB_PREFIX='$LAB_PREFIX';
      lab_down; rm -rf '$RUN_DIR' || { sleep 1; rm -rf '$RUN_DIR'; }" \
      < /dev/null > /dev/null 2>&1 &
  exit 143
}
trap finish EXIT
trap on_signal INT TERM

export CK_FORK=no
# The sanitizer setup preloads ASan for our programs; ip, iptables and
# turnserver are not built with it.
PEER_PRELOAD=${LD_PRELOAD:-}
unset LD_PRELOAD
export GST_REGISTRY=${GST_REGISTRY:-$RUN_DIR/registry.bin}
# One registry for all the processes, written before they start.
LD_PRELOAD=$PEER_PRELOAD gst-inspect-1.0 p2psink > /dev/null 2>&1 || true

lab_new "$RUN_DIR" $$

STUN=$(lab_stun_uri)
TURN=$(lab_turn_uri)

# start_origin NODE ADDRESS [SINK_PROPS]: sets ORIGIN_URI.
start_origin() {
  local node=$1 address=$2 props=${3:-} i
  lab_spawn "$node" origin env LD_PRELOAD="$PEER_PRELOAD" LAB_ROLE=origin \
    LAB_ADDRESS="$address" \
    LAB_SINK_PROPS="port=$TRACKER_PORT stats-interval=500 $props" "$LAB_PEER"
  for i in $(seq 1 200); do
    ORIGIN_URI=$(awk '/^LAB-URI /{print $2; exit}' "$RUN_DIR/logs/origin.log" 2>/dev/null || true)
    [ -n "$ORIGIN_URI" ] && return 0
    if ! kill -0 "$(lab_pid origin)" 2>/dev/null; then
      echo "origin exited before publishing" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "origin did not publish within 20 s" >&2
  return 1
}

# start_viewer NAME NODE URI SRC_PROPS EXPECT [extra VAR=value...]
start_viewer() {
  local name=$1 node=$2 uri=$3 props=$4 expect=$5
  shift 5
  lab_spawn "$node" "$name" env LD_PRELOAD="$PEER_PRELOAD" LAB_ROLE=viewer \
    LAB_URI="$uri" \
    LAB_SRC_PROPS="latency=1500 join-timeout=$((VIEWER_TIMEOUT_S * 1000)) stats-interval=500 $props" \
    LAB_EXPECT="$expect" LAB_TIMEOUT_S="$VIEWER_TIMEOUT_S" "$@" "$LAB_PEER"
  VIEWERS+=("$name")
}

# Waits until every viewer is done (or one fails), then stops them all and
# the origin.  Viewers keep serving their partners until then.
finish_viewers() {
  local name pid failed=0 pending deadline=$((SECONDS + 2 * VIEWER_TIMEOUT_S + 30))
  while :; do
    pending=0
    for name in "${VIEWERS[@]}"; do
      grep -qs '^LAB-DONE' "$RUN_DIR/logs/$name.log" && continue
      pid=$(lab_pid "$name")
      if ! kill -0 "$pid" 2>/dev/null; then
        failed=1
        continue
      fi
      pending=$((pending + 1))
    done
    [ "$pending" -eq 0 ] || [ "$failed" -ne 0 ] && break
    if [ "$SECONDS" -gt "$deadline" ]; then
      echo "FAIL: viewers still running after $((deadline - SECONDS)) s" >&2
      failed=1
      break
    fi
    sleep 0.2
  done
  for name in "${VIEWERS[@]}" origin; do
    kill -TERM "$(lab_pid "$name")" 2>/dev/null || true
  done
  for name in "${VIEWERS[@]}" origin; do
    if ! wait "$(lab_pid "$name")"; then
      echo "FAIL: $name" >&2
      grep -E ':F:|:E:' "$RUN_DIR/logs/$name.log" >&2 || true
      failed=1
    fi
  done
  for name in origin "${VIEWERS[@]}"; do
    sed -n "s/^\(LAB-PEER\|LAB-VIEWER\|LAB-ORIGIN\|LAB-STAT\)/$name: \1/p" \
      "$RUN_DIR/logs/$name.log"
  done
  return $failed
}

# check_tbf NODE DEV MIN_BYTES: NODE's DEV has a tbf qdisc that sent at
# least MIN_BYTES and held packets back (overlimits: a packet found the
# bucket empty); prints its counters.
check_tbf() {
  local node=$1 dev=$2 min=$3 out sent over
  out=$(lab_x "$node" tc -s qdisc show dev "$dev")
  echo "$node $dev: $(echo "$out" | tr -s ' \n' ' ')"
  if ! echo "$out" | grep -q '^qdisc tbf '; then
    echo "FAIL: no tbf qdisc on $node $dev" >&2
    return 1
  fi
  sent=$(echo "$out" | awk '$1 == "Sent" {print $2; exit}')
  if [ "${sent:-0}" -lt "$min" ]; then
    echo "FAIL: the tbf on $node $dev sent ${sent:-0} bytes, expected at least $min" >&2
    return 1
  fi
  over=$(echo "$out" | sed -n 's/.*overlimits \([0-9]*\).*/\1/p' | head -1)
  if [ "${over:-0}" -eq 0 ]; then
    echo "FAIL: the tbf on $node $dev never held a packet back" >&2
    return 1
  fi
}

# The published URI names the origin's own address; behind a NAT viewers
# reach its tracker at the forwarded public address.
uri_at() { echo "$1" | sed "s|^p2p://[^/]*/|p2p://$2/|"; }

case $CASE in
  # Origin on the public side, serving one viewer (max-peers=1): the other
  # viewer gets the stream from the first, so the site-to-site path carries
  # it.  Both viewers have STUN and TURN; the relay must be used only where
  # no direct path exists.
  cone-cone | cone-symmetric | symmetric-symmetric)
    mode1=${CASE%-*} mode2=${CASE#*-}
    lab_site 1 "$mode1"
    lab_site 2 "$mode2"
    lab_turn
    if [ "$CASE" = cone-cone ]; then
      between="viewer=direct:srflx|prflx"
    else
      # a port-restricted cone NAT drops what a symmetric NAT sends from
      # the fresh port it picked for the cone peer: no direct path
      between="viewer=relay"
    fi
    start_origin pubhost "$LAB_PUBHOST_IP" "max-peers=1"
    start_viewer v1 h1 "$ORIGIN_URI" "stun-server=$STUN turn-server=$TURN" \
      "origin=direct:host? $between"
    sleep 1
    start_viewer v2 h2 "$ORIGIN_URI" "stun-server=$STUN turn-server=$TURN" \
      "origin=direct:host? $between"
    finish_viewers
    ;;

  # Viewers given only a TURN server whose sites let UDP reach nothing but
  # that server (turn-udp) or send no UDP at all (turn-tcp: TURN over TCP).
  # Every path, to the origin too, is relayed.
  turn-udp | turn-tcp)
    lab_site 1 cone
    lab_site 2 symmetric
    lab_turn
    transport=${CASE#turn-}
    [ "$transport" = udp ] && turn_uri=$(lab_turn_uri) ||
      turn_uri=$(lab_turn_uri tcp)
    lab_turn_only 1 "$([ "$transport" = tcp ] && echo tcp)"
    lab_turn_only 2 "$([ "$transport" = tcp ] && echo tcp)"
    start_origin pubhost "$LAB_PUBHOST_IP" "max-peers=1"
    start_viewer v1 h1 "$ORIGIN_URI" "turn-server=$turn_uri" \
      "origin=relay? viewer=relay"
    sleep 1
    start_viewer v2 h2 "$ORIGIN_URI" "turn-server=$turn_uri" \
      "origin=relay? viewer=relay"
    finish_viewers
    ;;

  # The origin behind a cone NAT (its tracker port forwarded), viewers on
  # the public side, behind a cone and behind a symmetric NAT.  The ICE
  # servers reach the viewers through the p2p:// URI.
  origin-nat)
    lab_site 1 cone
    lab_site 2 cone
    lab_site 3 symmetric
    lab_site 4 open
    lab_forward 1 "$TRACKER_PORT"
    lab_turn
    start_origin h1 10.0.1.2 "stun-server=$STUN turn-server=$TURN"
    uri=$(uri_at "$ORIGIN_URI" "$LAB_NET.11:$TRACKER_PORT")
    q="?stun-server=$(printf %s "$STUN" | sed 's|:|%3A|g; s|/|%2F|g')"
    q="$q&turn-server=$(printf %s "$TURN" | sed 's|:|%3A|g; s|/|%2F|g; s|@|%40|g')"
    start_viewer v2 h2 "$uri$q" "" "origin=direct:srflx|prflx"
    start_viewer v3 h3 "$uri$q" "" "origin=relay"
    start_viewer v4 h4 "$uri$q" "" "origin=direct:srflx|prflx"
    finish_viewers
    ;;

  # A lossy, slow path: 2 % loss each way and 50 ms each way (lab-delay) on
  # a viewer's uplink.  Recovery must still deliver every buffer intact,
  # and the origin, seeing the loss, follows segments with parity that
  # rebuilds lost chunks without asking.
  lossy)
    if [ ! -x "${LAB_DELAY_BIN:-}" ]; then
      echo "SKIP: lab-delay was not built (libnetfilter-queue-dev missing)" >&2
      exit 77
    fi
    lab_site 1 cone
    lab_turn
    lab_loss h1 "${LAB_LOSS_PCT:-2}"
    [ "${LAB_DELAY_MS:-50}" -gt 0 ] && lab_delay h1 "${LAB_DELAY_MS:-50}"
    start_origin pubhost "$LAB_PUBHOST_IP"
    start_viewer v1 h1 "$ORIGIN_URI" \
      "stun-server=$STUN latency=2000" "origin=direct:host" LAB_BUFFERS=500 \
      LAB_MIN_CONTINUITY=1.0 "LAB_MIN_STATS=chunks-rebuilt=1 parity-received=1 chunks-repaired=0"
    finish_viewers
    ;;

  # An access link of LAB_RATE (default 2mbit) each way (tc tbf on n1's
  # wan and lan) for the viewer the origin serves (max-peers=1): it takes
  # the stream (1.25 Mbit/s of payload) in through its downlink and passes
  # it on to the viewer in site 2 through its uplink.  Both must play it
  # intact with every segment on time (at 1.5mbit they still do; 1mbit,
  # under the stream's rate, fails), and the tbf counters must show that
  # the stream went through both limiters and was held back by them.
  rate)
    lab_site 1 cone
    lab_site 2 cone
    lab_turn
    lab_rate n1 "${LAB_RATE:-2mbit}" both
    start_origin pubhost "$LAB_PUBHOST_IP" "max-peers=1"
    start_viewer v1 h1 "$ORIGIN_URI" "stun-server=$STUN turn-server=$TURN" \
      "origin=direct:host viewer=direct:srflx|prflx" LAB_BUFFERS=500 \
      LAB_MIN_CONTINUITY=1.0
    sleep 1
    start_viewer v2 h2 "$ORIGIN_URI" "stun-server=$STUN turn-server=$TURN" \
      "origin=direct:host? viewer=direct:srflx|prflx" LAB_BUFFERS=500 \
      LAB_MIN_CONTINUITY=1.0
    finish_viewers
    # 500 buffers are 780 KB of payload; each viewer played at least that
    # through one of n1's limiters (v1 through lan, v2 from v1 through wan)
    check_tbf n1 wan 700000
    check_tbf n1 lan 700000
    ;;

  # Two viewers behind one cone NAT, h1 and h1-2, the origin on pubhost
  # serving one of them (max-peers=1).
  # same-nat: on one LAN, they must reach each other directly at their
  # private host addresses: no relay, and no hairpin through the NAT
  # (which this one does not do).
  # same-nat-isolated: not on one LAN (isolated bridge ports: two LANs of
  # one router, or two subscribers of a carrier NAT).  Neither host
  # address reaches the other and the NAT does not hairpin, so their link
  # must go through the relay, while each still reaches the origin
  # directly.
  same-nat | same-nat-isolated)
    lab_site 1 cone
    lab_host 1 2 > /dev/null
    expect="origin=direct:host? viewer=direct:host"
    if [ "$CASE" = same-nat-isolated ]; then
      lab_isolate 1
      if lab_x h1 ping -c 1 -W 1 10.0.1.3 > /dev/null 2>&1; then
        echo "h1 still reaches h1-2 on the LAN: isolation failed" >&2
        exit 1
      fi
      expect="origin=direct:host? viewer=relay"
    fi
    lab_turn
    start_origin pubhost "$LAB_PUBHOST_IP" "max-peers=1"
    start_viewer v1 h1 "$ORIGIN_URI" "stun-server=$STUN turn-server=$TURN" \
      "$expect"
    sleep 1
    start_viewer v2 h1-2 "$ORIGIN_URI" "stun-server=$STUN turn-server=$TURN" \
      "$expect"
    finish_viewers
    ;;

  *)
    echo "unknown case $CASE" >&2
    exit 2
    ;;
esac
