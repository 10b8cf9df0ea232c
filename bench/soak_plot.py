#!/usr/bin/env python3
"""Plot a soak run's curves: bench/soak_plot.py bench/results/soak-<date>.json [out.png].

One panel per group of curves (Flink state and checkpoints, live heaps, RSS, table metadata,
files per partition, disk, storage latency, query latency) against simulated hours, with the
steady-state start (TTL + a quarter) marked. Writes <json without .json>.png by default.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MIB = 1 << 20


def series(samples, get):
    xs, ys = [], []
    for s in samples:
        try:
            v = get(s)
        except (KeyError, TypeError):
            continue
        if v is None:
            continue
        xs.append(s["sim_hours"])
        ys.append(v)
    return xs, ys


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: soak_plot.py SOAK.json [OUT.png]")
    src = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else src.rsplit(".json", 1)[0] + ".png"
    with open(src) as f:
        run = json.load(f)
    samples, plan = run["samples"], run["plan"]
    if not samples:
        sys.exit(f"{src}: no samples to plot")
    steady = plan["steady_from_ns"] / 3.6e12
    tables = sorted({t for s in samples for t in s.get("tables", {})})
    procs = sorted({p for s in samples for p in s.get("rss_bytes", {})})
    panels = [
        ("Flink state / checkpoint (MiB)", [
            ("state size", lambda s: s["flink_state_bytes"] / MIB),
            ("live state", lambda s: s.get("flink_live_state_bytes", 0) / MIB),
            ("checkpointed size", lambda s: s["flink_checkpointed_bytes"] / MIB),
        ]),
        ("Flink checkpoint MiB/s, write MiB/s", [
            ("checkpoint bytes/s", lambda s: s["flink_checkpoint_bytes_per_s"] / MIB),
            ("process write_bytes/s", lambda s: s["flink_write_bytes_per_s"] / MIB),
        ]),
        ("Live heap after full GC (MiB)", [
            (j, (lambda j: lambda s: s["live_heap_bytes"][j] / MIB)(j)) for j in ("flink", "kafka")
        ]),
        ("RSS (MiB)", [(p, (lambda p: lambda s: s["rss_bytes"][p] / MIB)(p)) for p in procs]),
        ("metadata.json (KiB)", [
            (t, (lambda t: lambda s: s["tables"][t]["metadata_json_bytes"] / 1024)(t)) for t in tables
        ]),
        ("snapshots", [(t, (lambda t: lambda s: s["tables"][t]["snapshots"])(t)) for t in tables]),
        ("max data files per partition", [
            (t, (lambda t: lambda s: s["tables"][t]["max_files_per_partition"])(t)) for t in tables
        ]),
        ("disk (MiB)", [
            (d, (lambda d: lambda s: s["disk_bytes"][d] / MIB)(d)) for d in ("warehouse", "kafka", "checkpoints")
        ]),
        ("storage latency, commit p95, Flink checkpoint (s)", [
            ("p50", lambda s: s["storage_latency_p50_s"]),
            ("p95", lambda s: s["storage_latency_p95_s"]),
            ("commit p95", lambda s: s.get("commit_p95_s", 0)),  # absent before the commit histogram
            ("checkpoint duration", lambda s: s["flink_checkpoint_ms"] / 1000),
        ]),
        ("query latency (ms)", [
            (q, (lambda q: lambda s: s["query_ms"][q])(q))
            for q in ("count", "group_by", "point_lookup", "day_scan", "as_of")
        ]),
    ]
    cols = 2
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(13, 3.2 * rows), sharex=True)
    for ax, (title, curves) in zip(axes.flat, panels):
        for label, get in curves:
            xs, ys = series(samples, get)
            if xs:
                ax.plot(xs, ys, label=label, linewidth=1.2)
        ax.axvline(steady, color="grey", linestyle="--", linewidth=0.8)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("simulated hours (dashed: steady state)")
    fig.suptitle(f"finlake soak ({plan['mode']}, event time x{plan['speed']:.0f}) {run['summary']['date']}")
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    print(out)


if __name__ == "__main__":
    main()
