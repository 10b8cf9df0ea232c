#!/usr/bin/env bash
# Backtest of one simulated day: `lakectl rules backtest` over the 24 h window of a lake filled with
# `generate --duration 25h` at the default density of 10 transactions/s (what `--backfill 24h --rate 10` makes
# per day; written to a file, unpaced), the first hour lying before the window for the warm-up, through a
# `lakectl serve` of that lake. Target: under 60 s, warm-up included, memory bounded.
#
#   bench/backtest.sh                  # lake kept in ${BENCH_DIR:-$TMPDIR/finlake-backtest-bench}
#   CANDIDATE=my.yaml bench/backtest.sh
#
# The lake is built once (generator file -> the job's --replay -> ingest.LoadReplay, as the notebook fixture
# does) and reused. Prints the wall time of the backtest, the peak RSS (VmHWM) of lakectl and of the job's
# JVM (sampled every 0.2 s from /proc), and the load average before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${FINLAKE_BIN:-bin/lakectl}
JAR=${FINLAKE_FLINK_JAR:-flinkjob/target/finlake-flinkjob.jar}
DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/finlake-backtest-bench}
CANDIDATE=${CANDIDATE:-config/rules.yaml}
[ -x "$BIN" ] || { echo "no $BIN: run 'just build'" >&2; exit 1; }
[ -f "$JAR" ] || { echo "no $JAR: run 'just flink-jar'" >&2; exit 1; }
mkdir -p "$DIR"
if [ ! -f "$DIR/lake.ready" ]; then
    rm -rf "$DIR/lake" "$DIR/out"
    echo "building the lake in $DIR (once)..." >&2
    # A fixed start so the lake and the window are the same on every run (00:00 UTC of some past day).
    "$BIN" generate --seed 1 --start 2026-11-20T23:00:00Z --duration 25h --output "$DIR/gen.jsonl" \
        --labels "$DIR/labels.jsonl" --http off --progress=false 2>/dev/null
    java -Xmx3g -jar "$JAR" --replay "$DIR/gen.jsonl" --rules config/rules.yaml --fx config/fx_rates.yaml \
        --out "$DIR/out" 2>"$DIR/replay.log"
    go run ./cmd/notebookfixture --data "$DIR/lake" --replay "$DIR/out" --commits 24
    touch "$DIR/lake.ready"
fi
ready=$(mktemp)
"$BIN" --data "$DIR/lake" serve --listen 127.0.0.1:0 --http off --ready-file "$ready" >"$DIR/serve.log" 2>&1 &
serve=$!
trap 'kill $serve 2>/dev/null; rm -f "$ready"' EXIT
for _ in $(seq 100); do [ -s "$ready" ] && break; sleep 0.2; done
[ -s "$ready" ] || { echo "lakectl serve did not start: $(tail -5 "$DIR/serve.log")" >&2; exit 1; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2

hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || true; }
start=$(date +%s.%N)
"$BIN" rules backtest "$CANDIDATE" --fx config/fx_rates.yaml --flink-jar "$JAR" --flight "grpc://$(cat "$ready")" \
    --from 2026-11-21T00:00:00Z --to 2026-11-22T00:00:00Z --labels "$DIR/labels.jsonl" --format json \
    >"$DIR/report.json" 2>"$DIR/backtest.err" &
bt=$!
lk=0; jv=0
while kill -0 $bt 2>/dev/null; do
    v=$(hwm $bt); [ -n "$v" ] && [ "$v" -gt "$lk" ] && lk=$v
    for c in $(pgrep -P $bt || true); do v=$(hwm "$c"); [ -n "$v" ] && [ "$v" -gt "$jv" ] && jv=$v; done
    sleep 0.2
done
wait $bt || { echo "backtest failed:" >&2; cat "$DIR/backtest.err" >&2; exit 1; }
end=$(date +%s.%N)
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 - "$DIR/report.json" "$start" "$end" "$lk" "$jv" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
wall = float(sys.argv[3]) - float(sys.argv[2])
print(f"window {r['window']['from']} .. {r['window']['to']}: {r['window']['transactions']} transactions; "
      f"warm-up {r['warm_up']['velocity_events']} real + {r['warm_up']['synthetic_events']} synthetic events")
print(f"identical: {r['identical']}; replay {r['replay']['records']} records, job {r['replay']['job_seconds']:.1f} s "
      f"(JVM incl. start {r['replay']['seconds']:.1f} s)")
print(f"backtest wall {wall:.1f} s; peak RSS lakectl {int(sys.argv[4])//1024} MiB, job JVM {int(sys.argv[5])//1024} MiB")
PY
grep -E "wrote|replay done" "$DIR/backtest.err" >&2 || true
