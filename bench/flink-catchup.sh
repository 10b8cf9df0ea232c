#!/usr/bin/env bash
# How the streaming Flink job works through a backlog, per configuration: one fresh broker and job per
# configuration, `lakectl generate --backfill ${HOURS}h --rate 10` loaded first, then the job started on
# it and sampled every STEP s until it has decided every transaction:
#   - transactions decided (the engine's counter) and the job's event time (the engine's output
#     watermark, lowest over its subtasks), so how far behind the backlog's end it is;
#   - RocksDB's estimate of the live state (rocksdb.estimate-live-data-size, summed);
#   - CPU seconds of the JVM (/proc/<pid>/stat utime + stime).
# At the end, per configuration: wall time to the end of the backlog, transactions/s and CPU ms per 1,000
# transactions in the first and last quarter of the transactions (a job whose cost per record grows with
# its state slows down as it goes), and the peak live state. The configurations run one after the other
# on the same backlog (same seed); the load average is printed with each.
#
#   bench/flink-catchup.sh                                         # aligned (the default) vs --max-drift off
#   HOURS=12 CONFIGS="aligned" bench/flink-catchup.sh
#   CONFIGS="new old" ARGS_new="" JAR_old=/tmp/old.jar bench/flink-catchup.sh   # two builds side by side
#
# A configuration LABEL runs the job jar ${JAR_LABEL:-$JAR} with the extra arguments ${ARGS_LABEL} (defaults:
# aligned none, unaligned "--max-drift off") and a 512 MB heap. Work files in a temporary directory on disk,
# removed at the end (KEEP=1 keeps them).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/flinkjob-lib.sh
HOURS=${HOURS:-6}
STEP=${STEP:-5}
CONFIGS=${CONFIGS:-"aligned unaligned"}
ARGS_aligned=${ARGS_aligned:-}
ARGS_unaligned=${ARGS_unaligned:-"--max-drift off"}
need_tools
DEFAULT_JAR=$JAR
work=$(mktemp -d "${TMPDIR_ON_DISK:-/var/tmp}/flink-catchup.XXXXXX")
cleanup() {
    [ -n "${JOB_PID:-}" ] && stop_pid "$JOB_PID"
    [ -n "${BROKER_PID:-}" ] && stop_pid "$BROKER_PID"
    [ "${KEEP:-0}" = 1 ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

# sample: "<unix s> <transactions> <watermark ms> <live state bytes> <cpu s>" of the running job.
sample() {
    local cpu
    cpu=$(awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$JOB_PID/stat")
    curl -fsS "$REST/jobs/$JOB_ID" | python3 -c '
import json, sys, time, urllib.request
rest, jid, cpu = sys.argv[1], sys.argv[2], sys.argv[3]
def get(u): return json.load(urllib.request.urlopen(u))
tx, wm, live = 0, None, 0
for v in json.load(sys.stdin)["vertices"]:
    base = f"{rest}/jobs/{jid}/vertices/{v['"'"'id'"'"']}/subtasks/metrics"
    ids = [m["id"] for m in get(base) if m["id"].endswith(".rocksdb_estimate-live-data-size")
           or m["id"].endswith(".finlake.transactions")
           or (m["id"].startswith("rules-engine.") and m["id"].endswith(".currentOutputWatermark"))]
    if not ids:
        continue
    for m in get(base + "?agg=sum,min&get=" + ",".join(ids)):
        if m["id"].endswith("finlake.transactions"):
            tx += int(m["sum"])
        elif m["id"].endswith("currentOutputWatermark"):
            wm = int(m["min"]) if abs(m["min"]) < 9e18 else None
        else:
            live += int(m["sum"])
print(int(time.time()), tx, wm if wm is not None else -1, live, cpu)' "$REST" "$JOB_ID" "$cpu"
}

summary=()
for c in $CONFIGS; do
    dir="$work/$c"
    args_var="ARGS_$c" jar_var="JAR_$c"
    JAR=${!jar_var:-$DEFAULT_JAR}
    [ -f "$JAR" ] || { echo "no job jar $JAR for $c" >&2; exit 1; }
    # shellcheck disable=SC2206
    args=(${!args_var:-})
    echo "== $c (${args[*]:-default arguments}, $JAR): broker, ${HOURS}h backfill at 10 tx/s" >&2
    start_broker "$dir"
    t0=$(date +%s)
    "$BIN" --log-level error generate --brokers "$BROKERS" --backfill "${HOURS}h" --rate 10 --duration "${HOURS}h" \
        --seed 1 --http off --progress=false
    end_ms=$(($(date +%s) * 1000))
    echo "   backfill produced in $(($(date +%s) - t0)) s; starting the job" >&2
    load0=$(cut -d' ' -f1 /proc/loadavg)
    start_job "$dir" 512 --flink metrics.fetcher.update-interval=1000 "${args[@]}"
    : >"$dir/samples"
    last=-1 same=0
    while [ "$same" -lt 3 ]; do
        sleep "$STEP"
        s=$(sample)
        echo "$s" >>"$dir/samples"
        read -r _ tx wm live _ <<<"$s"
        printf '   %s: %9d tx decided, event time %s behind the backlog'"'"'s end, live state %.1f MiB\n' "$c" "$tx" \
            "$(python3 -c "import sys; w=int(sys.argv[1]); print('-' if w < 0 else f'{(int(sys.argv[2]) - w) / 3.6e6:.2f} h')" "$wm" "$end_ms")" \
            "$(python3 -c "print($live / 1048576)")" >&2
        if [ "$tx" = "$last" ] && [ "$tx" != 0 ]; then same=$((same + 1)); else same=0; fi
        last=$tx
    done
    line=$(python3 - "$c" "$dir/samples" "$load0" "$(cut -d' ' -f1 /proc/loadavg)" <<'EOF'
import sys
name, path, load0, load1 = sys.argv[1:]
rows = [list(map(float, l.split())) for l in open(path) if l.strip()]
total = rows[-1][1]
# The run ends where the count last moved (the last samples only confirm it has stopped).
end = next(i for i, r in enumerate(rows) if r[1] == total)
rows = rows[: end + 1]
def at(frac):  # first sample at or past frac of the transactions
    return next(r for r in rows if r[1] >= frac * total)
def quarter(a, b):
    r0, r1 = at(a), at(b)
    dt, dn, dc = r1[0] - r0[0], r1[1] - r0[1], r1[4] - r0[4]
    return dn / dt if dt else float("nan"), 1000 * dc / dn * 1000 if dn else float("nan")
(f_rate, f_cpu), (l_rate, l_cpu) = quarter(0.05, 0.30), quarter(0.70, 0.95)
wall = rows[-1][0] - rows[0][0]
peak = max(r[3] for r in rows) / 1048576
print(f"{name:10} {int(total):8d} tx in {wall:5.0f} s | tx/s first quarter {f_rate:6.0f}, last {l_rate:6.0f} "
      f"({l_rate / f_rate:4.2f}x) | CPU ms per 1,000 tx first {f_cpu:6.0f}, last {l_cpu:6.0f} | "
      f"peak live state {peak:6.1f} MiB | load {load0} -> {load1}")
EOF
)
    echo "$line"
    summary+=("$line")
    stop_pid "$JOB_PID"
    JOB_PID=
    stop_pid "$BROKER_PID"
    BROKER_PID=
done
echo
echo "a ${HOURS} h backlog at 10 tx/s worked through by the streaming job (samples every ${STEP} s):"
printf '%s\n' "${summary[@]}"
