#!/usr/bin/env bash
# The whole suite under AddressSanitizer and UndefinedBehaviorSanitizer, in
# ./build-asan.  (GStreamer's unaligned-access byte readers are intentional
# on x86, so the alignment check is off.)
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/install-deps.sh
# (no introspection data: g-ir-scanner's dumper would need the ASan
# runtime preloaded; ./build makes and tests it)
[ -f build-asan/build.ninja ] || meson setup build-asan \
  -Db_sanitize=address,undefined -Db_lundef=false -Dintrospection=disabled \
  -Dc_args=-fno-sanitize=alignment -Dc_link_args=-fno-sanitize=alignment
ninja -C build-asan
# registries remember plugins that failed to load: start from none
rm -f build-asan/tests/check/*.registry build-asan/tools/bench/*.registry \
  build-asan/tests/lab/*.registry
meson test -C build-asan --setup sanitizers --print-errorlogs --num-processes 2 "$@"
