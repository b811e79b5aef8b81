#!/usr/bin/env python3
"""tracker-load-smoke: a short p2p-tracker-load run whose JSON must add up.

    tracker-load-smoke.py PATH/TO/p2p-tracker-load

200 clients against our embedded tracker (started by the tool in a child),
from one address and then spread over 127.0.0.0/8: every one connected and
answered, no error of any kind, the tracker measured, and no tracker
process left behind.
SPDX-License-Identifier: LGPL-2.1-or-later
"""
import json
import os
import subprocess
import sys

PEERS = 200


def children_of(pid):
    """Processes still carrying the tool's pid on their command line."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if f"--parent-pid={pid}".encode() in argv:
            found.append(int(entry))
    return found


def run(tool, extra):
    cmd = [tool, "--peers", str(PEERS), "--swarms", "2", "--ramp", "2",
           "--duration", "2", "--quiet", "--json", "-"] + extra
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        sys.exit(f"{' '.join(cmd)}: no result within 60 s")
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit status {proc.returncode}")
    left = children_of(proc.pid)
    if left:
        sys.exit(f"tracker processes left behind: {left}")
    fig = json.loads(out)
    print(json.dumps(fig, indent=1))

    failures = []
    if fig["peers_connected"] != PEERS:
        failures.append(f"peers_connected {fig['peers_connected']} != {PEERS}")
    if fig["errors"] != 0 or any(fig["errors_by_kind"].values()):
        failures.append(f"errors {fig['errors']}: {fig['reasons']}")
    if fig["announces"] < PEERS or fig["connects"] != PEERS:
        failures.append(f"announces {fig['announces']}, connects "
                        f"{fig['connects']}")
    if fig["interval_s"] != 120:
        failures.append(f"interval {fig['interval_s']}, not the tracker's 120")
    lat = fig["announce_latency_ms"]
    if lat["p50"] is None or not 0 <= lat["p50"] <= lat["p99"] <= lat["max"]:
        failures.append(f"announce latency {lat}")
    tracker = fig["tracker"]
    if not tracker["started_here"] or tracker.get("rss_kb", 0) <= 0 \
            or tracker.get("cpu_seconds", -1) < 0:
        failures.append(f"tracker not measured: {tracker}")
    stats = tracker.get("stats", {})
    if stats.get("peers") != PEERS or stats.get("connections_refused") != 0:
        failures.append(f"tracker stats {stats}")
    if failures:
        sys.exit(f"{' '.join(cmd)}:\n  " + "\n  ".join(failures))


def main():
    tool = sys.argv[1]
    run(tool, [])
    run(tool, ["--spread-addresses"])
    print("ok")


if __name__ == "__main__":
    main()
