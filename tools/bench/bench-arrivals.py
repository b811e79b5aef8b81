#!/usr/bin/env python3
"""bench-arrivals: where a viewer's segments came from and how long they took.

    bench-arrivals.py LOGDIR [--skip-s SECONDS]

LOGDIR is a p2p-bench --logs directory from a run with GST_DEBUG swarm*:5
(each received segment logs a "segment N done from …" line).  Per viewer,
and for all of them together: segments received, the share pushed (not asked
for), the share taken straight from the origin, the share that needed
chunks asked for again, and quantiles of

  age    ms from the publisher cutting the segment to its last chunk here
         (both clocks are the machine's own in p2p-bench)
  whole  ms from asking (or the first pushed chunk) to the last chunk

The age's upper quantiles are what playout has to wait for: with playout
control holding the second smallest slack of 50 segments, a viewer's latency
is about segment duration + age p96 + the slack floor.  --skip-s leaves out
each viewer's first seconds (its join), default 10.
SPDX-License-Identifier: LGPL-2.1-or-later
"""
import glob
import os
import re
import sys

DONE = re.compile(r"segment (\d+) done from (\S+): (pushed|asked), (\d+) "
                  r"chunks, (\d+) asked again, first chunk after (-?\d+) ms, "
                  r"whole after (-?\d+) ms, age (-?\d+) ms")
READY = re.compile(r"partner (\S+) ready \(origin")
STAMP = re.compile(r"^(\d+):(\d+):(\d+\.\d+)")


def quantile(xs, q):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def read_viewer(path, skip_s):
    origin_ids = set()
    rows = []
    first_t = None
    with open(path, errors="replace") as f:
        for line in f:
            line = re.sub(r"\x1b\[[0-9;]*m", "", line)
            m = READY.search(line)
            if m:
                origin_ids.add(m.group(1))
            m = DONE.search(line)
            if not m:
                continue
            st = STAMP.match(line)
            t = (int(st.group(1)) * 3600 + int(st.group(2)) * 60
                 + float(st.group(3))) if st else 0.0
            if first_t is None:
                first_t = t
            if t - first_t < skip_s:
                continue
            rows.append({"from": m.group(2), "pushed": m.group(3) == "pushed",
                         "again": int(m.group(5)),
                         "whole": int(m.group(7)), "age": int(m.group(8))})
    return rows, origin_ids


def summary(name, rows, origin_ids):
    n = len(rows)
    if n == 0:
        return f"{name:>7} {0:6d}"
    ages = [r["age"] for r in rows]
    wholes = [r["whole"] for r in rows]
    pushed = sum(r["pushed"] for r in rows) / n
    origin = sum(r["from"] in origin_ids for r in rows) / n
    again = sum(r["again"] > 0 for r in rows) / n
    return (f"{name:>7} {n:6d} {pushed:7.2f} {origin:7.2f} {again:7.2f} "
            f"{quantile(ages, 0.5):7.0f} {quantile(ages, 0.9):7.0f} "
            f"{quantile(ages, 0.96):7.0f} {max(ages):7.0f} "
            f"{quantile(wholes, 0.5):7.0f} {quantile(wholes, 0.96):7.0f}")


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    skip_s = 10.0
    if "--skip-s" in args:
        i = args.index("--skip-s")
        skip_s = float(args[i + 1])
        del args[i:i + 2]
    logdir = args[0]
    paths = glob.glob(os.path.join(logdir, "p2p-viewer-*.log"))
    paths.sort(key=lambda p: int(re.search(r"(\d+)\.log$", p).group(1)))
    print(f"{'viewer':>7} {'segs':>6} {'pushed':>7} {'origin':>7} "
          f"{'again':>7} {'age50':>7} {'age90':>7} {'age96':>7} "
          f"{'agemax':>7} {'whole50':>7} {'whole96':>7}")
    everything, all_origins = [], set()
    for path in paths:
        vid = re.search(r"(\d+)\.log$", path).group(1)
        rows, origin_ids = read_viewer(path, skip_s)
        everything += rows
        all_origins |= origin_ids
        print(summary(vid, rows, origin_ids))
    print(summary("all", everything, all_origins))


if __name__ == "__main__":
    main()
