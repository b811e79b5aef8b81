#!/usr/bin/env bash
# Fresh Debian 12 → every test (the README's promise).  The CI scripts live
# in tools/ci/; this path stays for people who type it.
exec "$(dirname "$0")/ci/run-tests.sh" "$@"
