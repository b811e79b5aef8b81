#!/usr/bin/env bash
# Fresh Debian 12 → a live swarm on this machine: installs, builds, then runs
# an origin (test pattern → jpegenc → p2psink) and viewers (p2psrc → jpegdec),
# printing per viewer what arrived and from whom.  Extra args go to p2p-demo
# (--viewers N --duration S --max-peers N --json FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
tools/build.sh
export GST_PLUGIN_PATH="$PWD/build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
exec build/tools/p2p-demo "$@"
