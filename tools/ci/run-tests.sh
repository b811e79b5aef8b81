#!/usr/bin/env bash
# Fresh Debian 12 → every test: installs, builds, runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/install-deps.sh
tools/build.sh
meson test -C build --print-errorlogs --num-processes 2 "$@"
