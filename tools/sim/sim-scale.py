#!/usr/bin/env python3
"""sim-scale: one scenario at several swarm sizes, figures and plots
against size (docs/sim.md, "What the swarm does at that size").

    sim-scale.py P2P-SIM WORKDIR [--sizes 100,1000,10000] [--seed N]
                 [--reuse] [--svg FILE] [--markdown FILE]
                 -- SCENARIO OPTIONS...

Runs `P2P-SIM --viewers SIZE SCENARIO... --json WORKDIR/scale-SIZE.json`
for each size (--reuse keeps a JSON already there: the 10,000-viewer run
takes minutes), then prints a Markdown table (and writes it with
--markdown) and draws, with --svg, four panels against size on a log
axis: what the origin uploads (copies of the stream), continuity (mean
and minimum), startup (p50 and p95) and glass-to-glass latency (p50 and
p99), each with the issue's target as a dashed line.

Needs nothing beyond Python's standard library: the SVG is written by
hand, so the script runs wherever p2p-sim does.
"""
import argparse
import json
import math
import os
import subprocess
import sys

# (key, label) per panel; the target is issue 14's for the rough scenario
PANELS = [
    ("Origin upload (copies)", [("origin_upload_copies", "copies")],
     2.0, "target ≤ 2"),
    ("Continuity", [("continuity_mean", "mean"), ("continuity_min", "min")],
     0.99, "target mean ≥ 0.99"),
    ("Startup (ms)", [("startup_ms_p50", "p50"), ("startup_ms_p95", "p95")],
     2000.0, "target p50 ≤ 2 s"),
    ("Glass to glass (ms)", [("latency_ms_p50", "p50"),
                             ("latency_ms_p99", "p99")],
     2500.0, "target p99 ≤ 2.5 s"),
]
COLOURS = ["#1f77b4", "#d62728"]


def run_size(sim, workdir, size, seed, scenario, reuse):
    path = os.path.join(workdir, "scale-%d.json" % size)
    if not (reuse and os.path.exists(path)):
        argv = [sim, "--viewers", str(size), "--seed", str(seed)] + \
            scenario + ["--json", path]
        print("running:", " ".join(argv), file=sys.stderr, flush=True)
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    with open(path) as f:
        return json.load(f)


def fmt(v, digits=3):
    if v is None:
        return "–"
    if isinstance(v, float) and v < 10:
        return "%.*f" % (digits, v)
    return "%d" % round(v)


def markdown(sizes, runs):
    lines = ["| viewers (started) | origin copies | offload | continuity "
             "mean / min | never played (failed to) | startup p50 / p95 | latency "
             "p50 / p99 | tree depth mean | wall | peak RSS |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for size, r in zip(sizes, runs):
        sim = r.get("sim", {})
        lines.append(
            "| %s (%s) | %s | %s | %s / %s | %s (%s) | %s / %s ms | %s / %s ms "
            "| %s | %s s | %s MB |" % (
                "{:,}".format(size), "{:,}".format(r["viewers_started"]),
                fmt(r["origin_upload_copies"], 2), fmt(r["offload"]),
                fmt(r["continuity_mean"], 4), fmt(r["continuity_min"]),
                r["viewers_never_played"],
                r.get("viewers_failed_to_play", "–"),
                fmt(r["startup_ms_p50"]), fmt(r["startup_ms_p95"]),
                fmt(r["latency_ms_p50"]), fmt(r["latency_ms_p99"]),
                fmt(sim.get("tree_depth_mean"), 1),
                fmt(sim.get("wall_seconds")),
                fmt((sim.get("peak_rss_kb") or 0) / 1024)))
    return "\n".join(lines) + "\n"


def svg(sizes, runs, title):
    pw, ph, margin = 320, 220, 56          # one panel, and room for axes
    width, height = 2 * (pw + margin) + 20, 2 * (ph + margin) + 50
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="11">' % (width, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="20" font-size="14" text-anchor="middle">%s</text>'
           % (width / 2, title)]
    lx = [math.log10(s) for s in sizes]
    x0, x1 = min(lx) - 0.15, max(lx) + 0.15
    for n, (name, series, target, target_label) in enumerate(PANELS):
        ox = margin + (n % 2) * (pw + margin)
        oy = 40 + (n // 2) * (ph + margin)
        values = [r.get(k) for k, _ in series for r in runs
                  if r.get(k) is not None]
        top = max(values + [target]) * 1.15
        bottom = 0.0
        if name == "Continuity":
            bottom = min(values + [target]) - 0.02
            bottom = max(0.0, math.floor(bottom * 50) / 50)
            top = 1.0 + (1.0 - bottom) * 0.05

        def px(v):
            return ox + (v - x0) / (x1 - x0) * pw

        def py(v):
            return oy + ph - (v - bottom) / (top - bottom) * ph

        out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" '
                   'stroke="#888"/>' % (ox, oy, pw, ph))
        out.append('<text x="%d" y="%d" font-size="12">%s</text>'
                   % (ox, oy - 6, name))
        for size, v in zip(sizes, lx):
            out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>'
                       % (px(v), oy + ph + 14, "{:,}".format(size)))
        for i in range(5):
            v = bottom + (top - bottom) * i / 4
            label = ("%.3f" % v) if top <= 1.5 else ("%.2f" % v
                                                     if top < 10 else
                                                     "%d" % v)
            out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>'
                       % (ox - 4, py(v) + 4, label))
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#2a2" '
                   'stroke-dasharray="5,4"/>' % (ox, ox + pw, py(target),
                                                 py(target)))
        out.append('<text x="%d" y="%.1f" fill="#2a2" text-anchor="end">%s'
                   '</text>' % (ox + pw - 4, py(target) - 4, target_label))
        for j, (key, label) in enumerate(series):
            pts = [(px(x), py(r[key])) for x, r in zip(lx, runs)
                   if r.get(key) is not None]
            out.append('<polyline fill="none" stroke="%s" stroke-width="2" '
                       'points="%s"/>' % (COLOURS[j], " ".join(
                           "%.1f,%.1f" % p for p in pts)))
            for p in pts:
                out.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>'
                           % (p[0], p[1], COLOURS[j]))
            out.append('<text x="%d" y="%d" fill="%s">%s</text>'
                       % (ox + 8 + 70 * j, oy + 14, COLOURS[j], label))
    out.append('<text x="%d" y="%d" text-anchor="middle">viewers (log '
               'scale)</text>' % (width / 2, height - 8))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    argv = sys.argv[1:]
    scenario = []
    if "--" in argv:
        i = argv.index("--")
        argv, scenario = argv[:i], argv[i + 1:]
    p = argparse.ArgumentParser()
    p.add_argument("sim")
    p.add_argument("workdir")
    p.add_argument("--sizes", default="100,1000,10000")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--reuse", action="store_true")
    p.add_argument("--svg")
    p.add_argument("--markdown")
    p.add_argument("--title", default="p2p-sim: " + " ".join(
        a for a in scenario if a != "--quiet"))
    args = p.parse_args(argv)
    os.makedirs(args.workdir, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    runs = [run_size(args.sim, args.workdir, s, args.seed, scenario,
                     args.reuse) for s in sizes]
    table = markdown(sizes, runs)
    print(table, end="")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table)
    if args.svg:
        with open(args.svg, "w") as f:
            f.write(svg(sizes, runs, args.title))


if __name__ == "__main__":
    main()
