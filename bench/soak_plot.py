#!/usr/bin/env python3
"""Plot a soak run's curves: bench/soak_plot.py bench/results/soak-<date>.json [out.png].

One panel per group of curves (Flink state and checkpoints, the job's records/s, live heaps, RSS,
table metadata, files per partition, disk, storage latency, query latency) against hours of event
time, with the steady-state start (TTL + a quarter) marked. What the job holds (the panels titled
"job clock") is drawn against the event time the job had reached (job_event_hours: the rules
engine's output watermark), as the soak judges it, since a job lagging the generator reaches its
steady state later; the rest against the generator's (sim_hours), with the end of generation
marked. Runs recorded before the job's event time was sampled fall back to sim_hours.
Writes <json without .json>.png by default.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MIB = 1 << 20


def series(samples, get, x):
    xs, ys = [], []
    for s in samples:
        h = x(s)
        if h is None:
            continue
        try:
            v = get(s)
        except (KeyError, TypeError):
            continue
        if v is None:
            continue
        xs.append(h)
        ys.append(v)
    return xs, ys


def clocks(samples):
    """The x of a sample on the generator's clock and on the job's (None before the job's first
    watermark); the job's is the generator's for a run that did not record it."""
    gen = lambda s: s["sim_hours"]  # noqa: E731
    if not any(s.get("job_event_hours", 0) > 0 for s in samples):
        return gen, gen, False
    return gen, lambda s: s["job_event_hours"] if s.get("job_event_hours", 0) > 0 else None, True


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
    # (title, on the job's clock, curves)
    panels = [
        ("Flink state / checkpoint (MiB)", True, [
            ("state size", lambda s: s["flink_state_bytes"] / MIB),
            ("live state", lambda s: s.get("flink_live_state_bytes", 0) / MIB),
            ("sst files", lambda s: s.get("flink_sst_bytes", 0) / MIB),
            ("checkpointed size", lambda s: s["flink_checkpointed_bytes"] / MIB),
            ("checkpoints on disk", lambda s: s["disk_bytes"]["checkpoints"] / MIB),
        ]),
        ("Flink checkpoint MiB/s, write MiB/s", True, [
            ("checkpoint bytes/s", lambda s: s["flink_checkpoint_bytes_per_s"] / MIB),
            ("process write_bytes/s", lambda s: s["flink_write_bytes_per_s"] / MIB),
        ]),
        ("Flink live heap after full GC, RSS (MiB)", True, [
            ("live heap", lambda s: s["live_heap_bytes"]["flink"] / MIB),
            ("RSS", lambda s: s["rss_bytes"]["flink"] / MIB),
        ]),
        ("Flink checkpoint duration (s)", True, [
            ("checkpoint duration", lambda s: s["flink_checkpoint_ms"] / 1000),
        ]),
        ("job records decided per wall second", True, [
            ("valid + dead-lettered", lambda s: s["job_records_per_s"]),
        ]),
        ("Kafka live heap after full GC (MiB)", False, [
            ("kafka", lambda s: s["live_heap_bytes"]["kafka"] / MIB),
        ]),
        ("RSS (MiB)", False, [
            (p, (lambda p: lambda s: s["rss_bytes"][p] / MIB)(p)) for p in procs if p != "flink"
        ]),
        ("metadata.json (KiB)", False, [
            (t, (lambda t: lambda s: s["tables"][t]["metadata_json_bytes"] / 1024)(t)) for t in tables
        ]),
        ("snapshots", False, [(t, (lambda t: lambda s: s["tables"][t]["snapshots"])(t)) for t in tables]),
        ("max data files per partition", False, [
            (t, (lambda t: lambda s: s["tables"][t]["max_files_per_partition"])(t)) for t in tables
        ]),
        ("disk (MiB)", False, [
            (d, (lambda d: lambda s: s["disk_bytes"][d] / MIB)(d)) for d in ("warehouse", "kafka")
        ]),
        ("storage latency, commit p95 (s)", False, [
            ("p50", lambda s: s["storage_latency_p50_s"]),
            ("p95", lambda s: s["storage_latency_p95_s"]),
            ("commit p95", lambda s: s.get("commit_p95_s", 0)),  # absent before the commit histogram
        ]),
        ("query latency (ms)", False, [
            (q, (lambda q: lambda s: s["query_ms"][q])(q))
            for q in ("count", "group_by", "point_lookup", "day_scan", "as_of")
        ]),
    ]
    gen_x, job_x, has_job = clocks(samples)
    span = plan["span_ns"] / 3.6e12
    cols = 2
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(13, 3.2 * rows), sharex=True)
    for ax, (title, on_job, curves) in zip(axes.flat, panels):
        x = job_x if on_job else gen_x
        for label, get in curves:
            xs, ys = series(samples, get, x)
            if xs:
                ax.plot(xs, ys, label=label, linewidth=1.2)
        ax.axvline(steady, color="grey", linestyle="--", linewidth=0.8)
        if not on_job:
            ax.axvline(span, color="grey", linestyle=":", linewidth=0.8)
        if on_job and has_job:
            title += " (job clock)"
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper left")
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("event hours: the generator's, or the job's on job-clock panels\n"
                      "(dashed: steady state; dotted: end of generation)")
    fig.suptitle(f"finlake soak ({plan['mode']}, event time x{plan['speed']:.0f}) {run['summary']['date']}")
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / (3.2 * rows)))  # room for the suptitle
    fig.savefig(out, dpi=90)
    print(out)


if __name__ == "__main__":
    main()
