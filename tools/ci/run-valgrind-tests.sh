#!/usr/bin/env bash
# The suite under valgrind memcheck (meson test --setup valgrind, see
# tests/check/meson.build): any memory error or definite leak fails a test.
# Leaves out the NAT lab, the Python example and the 'crowd' suite (five or
# more peers in one process, too slow under memcheck for its real-time
# checks on a busy machine); `--suite crowd` runs those alone.
# Uses ./build (as tools/ci/run-tests.sh does); about 15 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/install-deps.sh
tools/build.sh
meson test -C build --setup valgrind --print-errorlogs --num-processes 2 "$@"
