#!/usr/bin/env bash
# Runs libFuzzer targets for a bounded time each, one after the other.
#
#   tools/ci/run-fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# TARGET is a name from tests/fuzz/fuzz-NAME.c (wire, segment, uri,
# tracker-message, sdp, sealed, ws, dtls-records); all of them when none is given.  Builds ./build-fuzz
# with clang if needed.  The seeds are copied into a scratch corpus under
# build-fuzz, which keeps growing from run to run and leaves the tree alone.
# Prints the executions of each target; exits non-zero on any finding
# (crash, leak, timeout, out-of-memory) and names the reproducer it wrote.
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-300}
[ $# -gt 0 ] && shift
case "$seconds" in
  ''|*[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 2 ;;
esac
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz-*.c; do
    f=${f##*/fuzz-}
    targets+=("${f%.c}")
  done
fi

tools/install-deps.sh
build=build-fuzz
if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" -Dfuzzing=true -Dtests=disabled \
    -Dintrospection=disabled
fi
ninja -C "$build"

# UBSan findings stop the run like crashes do.  An input taking more than
# 10 s is a hang; the runs are short, so any slow input is worth a look.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export GST_REGISTRY_DISABLE=yes

failed=()
summary=()
for t in "${targets[@]}"; do
  exe=$build/tests/fuzz/fuzz-$t
  if [ ! -x "$exe" ]; then
    echo "run-fuzz: no target $t ($exe)" >&2
    failed+=("$t")
    continue
  fi
  corpus=$build/fuzz-corpus/$t
  artifacts=$build/fuzz-artifacts/$t
  log=$build/fuzz-logs/$t.log
  mkdir -p "$corpus" "$artifacts" "${log%/*}"
  cp -n tests/fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true

  echo "=== fuzz-$t: ${seconds}s, corpus $corpus"
  status=0
  start=$SECONDS
  "$exe" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$artifacts"/ "$corpus" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  line="fuzz-$t: ${runs:-?} executions in $((SECONDS - start))s"
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$log"
    grep -E '^(artifact_prefix|Test unit written to|MS: )' "$log" || true
    line="$line: FINDING (exit $status, log $log)"
    failed+=("$t")
  fi
  echo "$line"
  summary+=("$line")
done

echo "=== summary"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "run-fuzz: findings or errors in: ${failed[*]}" >&2
  exit 1
fi
