#!/usr/bin/env bash
# The whole suite under valgrind memcheck (meson test --setup valgrind, see
# tests/check/meson.build): any memory error or definite leak fails a test.
# Uses ./build (as tools/run-tests.sh does); about 3 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
tools/build.sh
meson test -C build --setup valgrind --print-errorlogs --num-processes 2 "$@"
