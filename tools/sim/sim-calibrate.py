#!/usr/bin/env python3
"""sim-calibrate: one scenario run for real (p2p-bench) and simulated
(p2p-sim, over several seeds), side by side, against issue 14's bounds.

    sim-calibrate.py P2P-BENCH P2P-SIM WORKDIR [--seeds N] [--check KEYS]
                     [--real-json FILE] -- SCENARIO OPTIONS...

The scenario options (--viewers 16 --loss 2 --rtt 100 --duration 60 ...)
go to both tools.  Options only the simulator knows (--relayed, which
stands for the NAT lab's symmetric sites) follow a second "--": they are
given to p2p-sim alone.  --real-json reuses a p2p-bench JSON already made
(the lab's run takes minutes and root).

Bounds (docs/sim.md, "Calibration"): offload within 0.02, continuity
within 0.01, latency p50/p99 within 20 %, startup p50 within 25 %, the
simulator's figure being the mean over the seeds.  Prints a table and
writes WORKDIR/calibration.json; exits 1 if a figure named by --check
(comma-separated; default offload_useful,continuity_mean: offload over
the bytes viewers used, see add_useful_offload) is out of bounds.
"""
import argparse
import json
import os
import subprocess
import sys

BOUNDS = [
    # key, kind, bound
    ("offload", "abs", 0.02),
    ("offload_useful", "abs", 0.02),
    ("continuity_mean", "abs", 0.01),
    ("latency_ms_p50", "rel", 0.20),
    ("latency_ms_p99", "rel", 0.20),
    ("startup_ms_p50", "rel", 0.25),
]


def run_json(argv, path, env=None):
    subprocess.run(argv + ["--quiet", "--json", path], check=True, env=env,
                   stdout=subprocess.DEVNULL, timeout=3600)
    with open(path) as f:
        return json.load(f)


def add_useful_offload(figures):
    """Offload over the bytes the viewers used: received less wasted
    (chunks nothing took, or that came twice).  Real viewers on a busy
    machine waste more than the simulator's, whose participants never wait
    for a CPU (a push queued behind a descheduled process crosses the
    request sent meanwhile to another partner): up to a tenth of the bytes
    in p2p-bench --viewers 8, against under 1 % simulated.  That waste
    lifts the plain offload by up to 0.02 with the swarm otherwise the
    same, so the check is on this one; both are printed."""
    used = (figures.get("viewers_bytes_received") or 0) - \
        (figures.get("viewers_bytes_wasted") or 0)
    sent = figures.get("origin_bytes_sent")
    figures["offload_useful"] = (round(1.0 - sent / used, 4)
                                 if used > 0 and sent is not None else None)
    return figures


def within(kind, bound, real, sim):
    if real is None or sim is None:
        return None
    if kind == "abs":
        return abs(sim - real) <= bound
    return abs(sim - real) <= bound * abs(real)


def main():
    argv = sys.argv[1:]
    scenario, sim_only = [], []
    if "--" in argv:
        i = argv.index("--")
        argv, scenario = argv[:i], argv[i + 1:]
        if "--" in scenario:
            j = scenario.index("--")
            scenario, sim_only = scenario[:j], scenario[j + 1:]
    p = argparse.ArgumentParser()
    p.add_argument("bench")
    p.add_argument("sim")
    p.add_argument("workdir")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--check", default="offload_useful,continuity_mean")
    p.add_argument("--real-json")
    args = p.parse_args(argv)
    os.makedirs(args.workdir, exist_ok=True)

    if args.real_json:
        with open(args.real_json) as f:
            real = json.load(f)
    else:
        real = run_json([args.bench] + scenario,
                        os.path.join(args.workdir, "calibration-real.json"))
    sims = [run_json([args.sim] + scenario + sim_only + ["--seed", str(s)],
                     os.path.join(args.workdir,
                                  "calibration-sim-%d.json" % s))
            for s in range(1, args.seeds + 1)]

    add_useful_offload(real)
    for s in sims:
        add_useful_offload(s)
    checked = [k for k in args.check.split(",") if k]
    rows, failed = [], []
    print("%-16s %10s %10s %22s  %s" % ("figure", "real", "sim mean",
                                       "sim seeds", "within"))
    for key, kind, bound in BOUNDS:
        values = [s.get(key) for s in sims]
        mean = (sum(values) / len(values)
                if all(v is not None for v in values) else None)
        ok = within(kind, bound, real.get(key), mean)
        rows.append({"figure": key, "real": real.get(key), "sim_mean": mean,
                     "sim": values, "bound": bound, "kind": kind,
                     "within": ok})
        print("%-16s %10s %10s %22s  %s (%s %g)" % (
            key, real.get(key), None if mean is None else round(mean, 4),
            "/".join(str(v) for v in values), ok,
            "±" if kind == "abs" else "±%", bound if kind == "abs"
            else bound * 100))
        if key in checked and ok is not True:
            failed.append(key)
    out = {"scenario": scenario, "sim_only": sim_only, "seeds": args.seeds,
           "figures": rows, "checked": checked, "failed": failed}
    with open(os.path.join(args.workdir, "calibration.json"), "w") as f:
        json.dump(out, f, indent=2)
    if failed:
        print("out of bounds: %s" % ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
