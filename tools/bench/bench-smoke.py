#!/usr/bin/env python3
"""bench-smoke: a short p2p-bench run whose JSON must hold real figures.

    bench-smoke.py PATH/TO/p2p-bench WORKDIR

Two viewers, the origin serving one (max-peers 1), so the second viewer can
only be fed by the first: offload must be above zero.  Also checks that no
child process outlives the controller.

    bench-smoke.py PATH/TO/p2p-bench WORKDIR --lab

The same in the NAT lab (root; exit 77 where it is unavailable): three
viewers on a cone and a symmetric site, 2 % loss and 40 ms RTT on every
path; the lab's settings and each viewer's site are in the JSON, the
origin measured the RTT, and no namespace is left behind.

Both also run tools/bench/bench-slack.py over the children's logs (swarm-viewer at
debug level 6): a row per viewer, slack quantiles in order.
SPDX-License-Identifier: LGPL-2.1-or-later
"""
import json
import math
import os
import re
import subprocess
import sys

KEYS = ["viewers", "bitrate_kbps", "duration_s", "origin_upload_copies",
        "offload", "continuity_mean", "continuity_min", "startup_ms_p50",
        "startup_ms_p95", "latency_ms_p50", "latency_ms_p99",
        "cpu_s_per_mbit", "rss_mb_max"]


def children_of(pid):
    """Processes still carrying the controller's pid on their command line."""
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


def namespaces():
    try:
        out = subprocess.run(["ip", "netns", "list"], capture_output=True,
                             text=True, check=False).stdout
    except OSError:
        return set()
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def check_slack(logs, nviewers, never_played, failures):
    """tools/bench/bench-slack.py reads every viewer's log: a line per viewer with
    its slack quantiles in order (none only for a viewer that never
    played, which the JSON checks report on their own)."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "bench-slack.py")
    out = subprocess.run([sys.executable, script, logs], capture_output=True,
                         text=True, check=False)
    rows = [line.split() for line in out.stdout.splitlines()[1:]]
    if out.returncode != 0 or len(rows) != nviewers:
        failures.append(f"bench-slack.py: rc {out.returncode}, {len(rows)} "
                        f"rows: {out.stdout!r} {out.stderr!r}")
        return
    without = [row for row in rows if "no" in row]
    if len(without) > never_played:
        failures.append(f"bench-slack.py: no slack for {without}")
    for row in rows:
        if row in without:
            continue
        try:
            low, p5, p50, high = (float(x) for x in row[-4:])
        except ValueError:
            failures.append(f"bench-slack.py: no slack in {row}")
            continue
        if not low <= p5 <= p50 <= high:
            failures.append(f"bench-slack.py: quantiles out of order {row}")


def show_silent_viewers(d, logs):
    """The swarm library's own account (INFO: links, partners, trackers) of
    each viewer that never played, for a failure seen only in CI."""
    for v in d.get("per_viewer", []):
        if v.get("rendered"):
            continue
        i = v.get("id")
        path = os.path.join(logs, f"p2p-viewer-{i}.log")
        try:
            with open(path, errors="replace") as f:
                lines = [ln.rstrip() for ln in f if " swarm " in ln]
        except OSError:
            continue
        print(f"--- viewer {i} never played; its swarm log "
              f"(last 60 of {len(lines)} lines):")
        for ln in lines[-60:]:
            print(re.sub(r"\x1b\[[0-9;]*m", "", ln))


def check_lab(d, logs, failures):
    """--lab: the sites, impairments and per-viewer sites are reported, and
    the delay really was on the path (the origin measured the RTT)."""
    lab = d.get("lab") or {}
    if lab.get("sites") != ["cone", "symmetric"]:
        failures.append(f"lab.sites is {lab.get('sites')!r}")
    if lab.get("loss_pct") != 2 or lab.get("rtt_ms") != 40:
        failures.append(f"lab loss/rtt are {lab.get('loss_pct')!r}/"
                        f"{lab.get('rtt_ms')!r}")
    if not str(lab.get("turn", "")).startswith("turn://"):
        failures.append(f"lab.turn is {lab.get('turn')!r}")
    sites = [(v.get("site"), v.get("nat")) for v in d["per_viewer"]]
    if sites != [(1, "cone"), (1, "cone"), (2, "symmetric")]:
        failures.append(f"per-viewer sites are {sites}")
    rtts = []
    with open(os.path.join(logs, "p2p-origin.log"), errors="replace") as f:
        for line in f:
            m = re.match(r"partner \S+: rtt (\d+) ms", line)
            # 0 = no sample yet (a partner that just joined)
            if m and int(m.group(1)) > 0:
                rtts.append(int(m.group(1)))
    if not rtts or min(rtts) < 35:
        failures.append(f"origin's partners' RTTs {rtts}: want >= 35 ms "
                        "(40 ms on every path)")


def main():
    bench, workdir = sys.argv[1], sys.argv[2]
    lab = "--lab" in sys.argv[3:]
    os.makedirs(workdir, exist_ok=True)
    name = "bench-lab-smoke" if lab else "bench-smoke"
    out = os.path.join(workdir, name + ".json")
    logs = os.path.join(workdir, name + "-logs")
    if os.path.exists(out):
        os.remove(out)
    # in the lab a viewer's join through NATs and the relay takes 1-2.5 s,
    # now and then almost 5: enough time that each one plays
    seconds = 8 if lab else 5
    cmd = [bench, "--viewers", "2", "--duration", str(seconds),
           "--max-peers", "1",
           "--json", out, "--plot", os.path.join(workdir, name + ".svg"),
           "--logs", logs]
    if lab:
        # three viewers on a cone and a symmetric site, 2 % loss and 40 ms
        # RTT on every path
        cmd[1:3] = ["--viewers", "3"]
        cmd += ["--sites", "cone,symmetric", "--viewers-per-site", "2",
                "--loss", "2", "--rtt", "40", "--latency", "1000"]
    before = namespaces()
    print(" ".join(cmd), flush=True)
    # p2psrc's per-segment slack lines, for tools/bench/bench-slack.py
    env = dict(os.environ)
    # and the swarm library's INFO lines, shown for a viewer that never
    # played
    env["GST_DEBUG"] = env.get("GST_DEBUG", "*:1") + ",swarm*:4,swarm-viewer:6,p2psrc:6"
    proc = subprocess.Popen(cmd, env=env)
    rc = proc.wait(timeout=150)
    if lab and rc == 77:
        print("SKIP: p2p-bench says the NAT lab is not available here")
        sys.exit(77)
    failures = []
    if rc != 0:
        failures.append(f"p2p-bench exited with {rc}")
    if lab and namespaces() - before:
        failures.append(f"namespaces left behind: {namespaces() - before}")
    if children_of(proc.pid):
        failures.append(f"stray children: {children_of(proc.pid)}")
    with open(out) as f:
        d = json.load(f)

    for k in KEYS:
        v = d.get(k)
        if not isinstance(v, (int, float)) or isinstance(v, bool) \
                or not math.isfinite(v):
            failures.append(f"{k} is not a number: {v!r}")
    if failures:
        sys.exit("FAIL: " + "; ".join(failures))

    def check(cond, what):
        if not cond:
            failures.append(f"{what} (got {what.split()[0]} = "
                            f"{d.get(what.split()[0])})")

    if lab:
        check_lab(d, logs, failures)
    nviewers = 3 if lab else 2
    check(d["viewers"] == nviewers, f"viewers == {nviewers}")
    check(d["bitrate_kbps"] == 1000, "bitrate_kbps == 1000")
    check(seconds - 0.5 <= d["duration_s"] <= seconds + 2,
          f"duration_s within {seconds - 0.5}..{seconds + 2}")
    check(0.3 < d["origin_upload_copies"] <= 2.5,
          "origin_upload_copies within 0.3..2.5")
    check(0 < d["offload"] <= 1, "offload within (0, 1]")
    check(0.5 < d["continuity_mean"] <= 1, "continuity_mean above 0.5")
    check(0 <= d["continuity_min"] <= d["continuity_mean"],
          "continuity_min at most the mean")
    check(0 < d["startup_ms_p50"] <= d["startup_ms_p95"] < 5000,
          "startup_ms_p50 positive, below p95 and 5 s")
    check(0 < d["latency_ms_p50"] <= d["latency_ms_p99"] < 10000,
          "latency_ms_p50 positive, below p99 and 10 s")
    check(0 < d["cpu_s_per_mbit"] < 10, "cpu_s_per_mbit within (0, 10)")
    check(1 < d["rss_mb_max"] < 1000, "rss_mb_max within 1..1000 MB")
    check(d["delivered_mbit"] > 2, "delivered_mbit above 2 (2 viewers, 5 s)")
    check(d["buffers_corrupt"] == 0, "buffers_corrupt == 0")
    check(d["viewers_never_played"] == 0, "viewers_never_played == 0")
    check(len(d["per_viewer"]) == nviewers,
          f"per_viewer has {nviewers} entries")
    check(len(d["timeline"]) >= 3, "timeline has samples")
    check_slack(logs, nviewers, d["viewers_never_played"], failures)
    if failures:
        show_silent_viewers(d, logs)
        sys.exit("FAIL: " + "; ".join(failures))
    print("ok: " + ", ".join(f"{k}={d[k]}" for k in KEYS))


if __name__ == "__main__":
    main()
