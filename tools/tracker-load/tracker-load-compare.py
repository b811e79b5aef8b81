#!/usr/bin/env python3
"""tracker-load-compare: the same crowd against our embedded tracker and the
npm bittorrent-tracker, side by side (docs/tracker-load.md).

    tracker-load-compare.py BUILD_DIR OUT_DIR [--peers N] [--ramp S]
                            [--duration S] [--swarms K]
                            [--trackers ours,bittorrent-tracker]

For each tracker (ours: started by p2p-tracker-load itself; bittorrent-tracker:
tools/bittorrent-tracker.mjs, which asks for the same 120 s interval,
installed by tools/install-npm-deps.sh into BUILD_DIR/npm) and each way of
connecting
(every client from 127.0.0.1, then each from an address of its own in
127.0.0.0/8), runs

    BUILD_DIR/tools/tracker-load/p2p-tracker-load --peers N --ramp S
        --duration S --swarms K [--spread-addresses]
        [--tracker ws://127.0.0.1:PORT/announce --tracker-pid PID]
        --quiet --json OUT_DIR/NAME.json

one after the other, and prints a Markdown table of the figures.
SPDX-License-Identifier: LGPL-2.1-or-later
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def start_bittorrent_tracker(build):
    prefix = os.path.join(build, "npm")
    subprocess.run([os.path.join(ROOT, "tools", "install-npm-deps.sh"),
                    prefix], check=True)
    # its default interval option, 600 s, asks WebSocket peers for a fifth
    # of it: 120 s, our tracker's interval
    node = subprocess.Popen(
        ["node", os.path.join(ROOT, "tools", "bittorrent-tracker.mjs"),
         os.path.join(prefix, "node_modules")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    port = int(node.stdout.readline())
    return node, port


def run(build, out, name, args, tracker=None):
    cmd = [os.path.join(build, "tools", "tracker-load", "p2p-tracker-load")]
    cmd += args
    node = None
    if tracker == "bittorrent-tracker":
        node, port = start_bittorrent_tracker(build)
        cmd += ["--tracker", f"ws://127.0.0.1:{port}/announce",
                "--tracker-pid", str(node.pid)]
    path = os.path.join(out, name + ".json")
    cmd += ["--quiet", "--json", path]
    shown = " ".join(c if not c.startswith(ROOT) else
                     os.path.relpath(c, ROOT) for c in cmd)
    print(f"$ {shown}", file=sys.stderr)
    try:
        subprocess.run(cmd, check=True, stdout=sys.stderr)
    finally:
        if node:
            node.stdin.close()
            node.wait(timeout=30)
    with open(path) as f:
        return json.load(f)


def row(label, fig):
    t = fig["tracker"]
    lat = fig["announce_latency_ms"]
    con = fig["connect_ms"]
    errors = ", ".join(f"{k} {v}" for k, v in fig["errors_by_kind"].items()
                       if v) or "none"
    return (f"| {label} | {fig['peers_connected']}/{fig['peers']} | "
            f"{fig['announces']} | {fig['errors']} ({errors}) | "
            f"{lat['p50']:.1f} / {lat['p99']:.1f} | "
            f"{con['p50']:.1f} / {con['p99']:.1f} | "
            f"{t.get('cpu_seconds_ramp', 0):.2f} | "
            f"{t.get('cpu_per_second_held', 0):.3f} | "
            f"{t.get('rss_kb', 0) / 1024:.1f} | "
            f"{t.get('rss_kb_max', 0) / 1024:.1f} |")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("build")
    p.add_argument("out")
    p.add_argument("--peers", type=int, default=10000)
    p.add_argument("--ramp", type=int, default=60)
    p.add_argument("--duration", type=int, default=150)
    p.add_argument("--swarms", type=int, default=1)
    p.add_argument("--trackers", default="ours,bittorrent-tracker")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    base = ["--peers", str(a.peers), "--ramp", str(a.ramp), "--duration",
            str(a.duration), "--swarms", str(a.swarms)]
    rows = []
    for tracker in a.trackers.split(","):
        for spread in (False, True):
            name = f"{tracker}-{'spread' if spread else 'one-address'}"
            fig = run(a.build, a.out, name,
                      base + (["--spread-addresses"] if spread else []),
                      tracker)
            label = (f"{'embedded (ours)' if tracker == 'ours' else tracker}"
                     f", {'127.0.0.0/8' if spread else 'one address'}")
            rows.append(row(label, fig))
    print("| tracker, clients from | connected | announces answered | "
          "errors | announce ms p50 / p99 | connect ms p50 / p99 | "
          "CPU s in the ramp | CPU s per s held | RSS MB at the end | "
          "RSS MB peak |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
