#!/usr/bin/env python3
"""Per-viewer playout slack from a p2p-bench --logs directory.

Run the benchmark with GST_DEBUG=swarm-viewer:6 (the viewer logs, per segment, how
long before its playout it arrived: "slack N us") and --logs DIR, then:

    tools/bench/bench-slack.py DIR

prints, per viewer, where it started (segment and newest known), the
segments it missed, the playout moves (net and earlier, ms), and its slack
after the first ten segments: min, p5, p50, max (ms).
"""
import glob
import re
import sys


def summarise(path):
    slack, missed, start, net, earlier = [], 0, None, 0, 0
    with open(path, errors="replace") as f:
        for line in f:
            m = re.search(r"slack (-?\d+) us", line)
            if m:
                slack.append(int(m.group(1)) / 1000)
                continue
            m = re.search(r"starting at segment (\d+) \(newest known (\d+)\)",
                          line)
            if m:
                start = (int(m.group(1)), int(m.group(2)))
            elif "missed its deadline" in line:
                missed += 1
            m = re.search(r"playout moves (earlier|later) by (\d+) ms", line)
            if m:
                step = int(m.group(2))
                net += step if m.group(1) == "later" else -step
                earlier += step if m.group(1) == "earlier" else 0
    return slack, missed, start, net, earlier


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    logs = glob.glob(sys.argv[1] + "/*viewer-*.log")
    if not logs:
        sys.exit("no viewer logs in " + sys.argv[1])
    logs.sort(key=lambda p: int(re.findall(r"viewer-(\d+)", p)[-1]))
    print("viewer  start-behind  missed  net-ms  earlier-ms"
          "   min    p5   p50   max")
    for path in logs:
        vid = re.findall(r"viewer-(\d+)", path)[-1]
        slack, missed, start, net, earlier = summarise(path)
        behind = start[1] - start[0] if start else -1
        q = sorted(slack[10:] or slack)
        if not q:
            print(f"{vid:>6}  no slack samples (GST_DEBUG=swarm-viewer:6?)")
            continue
        print(f"{vid:>6}  {behind:>12}  {missed:>6}  {net:>6}  {earlier:>10}"
              f"  {q[0]:>5.0f} {q[len(q) // 20]:>5.0f} {q[len(q) // 2]:>5.0f}"
              f" {q[-1]:>5.0f}")


if __name__ == "__main__":
    main()
