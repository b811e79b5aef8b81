#!/usr/bin/env bash
# Installs what gst-p2p needs to build, test and run its demo on Debian 12.
set -euo pipefail
pkgs=(
  build-essential meson ninja-build pkg-config gettext clang
  libclang-rt-dev  # libFuzzer and the sanitizer runtimes for clang; only a Recommends
  libglib2.0-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  libnice-dev libgnutls28-dev libsoup-3.0-dev libjson-glib-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-x
  gstreamer1.0-plugins-bad   # gdppay/gdpdepay: p2p-bench --baseline tcp framing
  valgrind                   # meson test --setup valgrind (tools/ci/run-valgrind-tests.sh)
  glib-networking            # TLS for wss:// trackers
  # GstSwarm-1.0.gir/.typelib and the PyGObject example that uses them
  gobject-introspection libgirepository1.0-dev python3-gi gir1.2-gstreamer-1.0
  # the NAT lab (tests/lab, docs/lab.md): namespaces, NAT, STUN/TURN, delay
  iproute2 iptables coturn libnetfilter-queue-dev
)
# elements/trackers runs the npm bittorrent-tracker server (it installs the
# package itself, tools/install-npm-deps.sh).  A node from elsewhere
# (NodeSource, nvm) is used as it is.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  pkgs+=(nodejs npm)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
