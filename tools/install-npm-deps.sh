#!/usr/bin/env bash
# Installs the npm packages the tests run (the bittorrent-tracker server)
# into PREFIX/node_modules, once; later calls return at once.  The tests
# call it themselves; CI only needs node and npm (tools/install-deps.sh).
#
#   tools/install-npm-deps.sh PREFIX
#
# Exit 77 (meson's "skipped") if node or npm is missing; any other failure
# (no registry, say) is an error, so a broken install never hides as a skip.
set -euo pipefail
prefix=${1:?usage: install-npm-deps.sh PREFIX}
package=bittorrent-tracker@11.2.3
marker="$prefix/node_modules/bittorrent-tracker/server.js"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "install-npm-deps: $tool not found (Debian: apt-get install nodejs npm)" >&2
    exit 77
  fi
done

mkdir -p "$prefix"
# Tests start in parallel: one installs, the others wait for it.
exec 9>"$prefix/.install-lock"
flock 9
if [ -f "$marker" ] && grep -q '"version": "11.2.3"' \
    "$prefix/node_modules/bittorrent-tracker/package.json"; then
  exit 0
fi
# --ignore-scripts: a WebRTC dependency's install script downloads a
# prebuilt binary from outside the registry; the server does not need it.
npm install --ignore-scripts --no-audit --no-fund --no-save \
  --prefix "$prefix" "$package" >&2
test -f "$marker"
