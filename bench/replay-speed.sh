#!/usr/bin/env bash
# Replay throughput, one build against another (or one set of job flags against another), side by side:
# the variants run alternately (A B, then B A, ...) on the same input on the same machine, so a shared,
# loaded machine slows both alike. Prints per variant the median of the job's own records_per_second, of
# its job_seconds, of the JVM's wall time and of its CPU time (user+sys), and the load average before and
# after; checks that every variant wrote the same output (bench/replay_digest.py: wall-clock fields
# masked, lines per account in order) and exits 1 if not.
#
#   bench/replay-speed.sh OLD.jar flinkjob/target/finlake-flinkjob.jar          # two builds
#   ROUNDS=5 bench/replay-speed.sh 'A.jar --parallelism 1' 'A.jar --parallelism 2'   # two flag sets
#   IN=/tmp/in.jsonl bench/replay-speed.sh A.jar B.jar                             # a given input
#   CONCURRENT=1 bench/replay-speed.sh A.jar B.jar   # each round runs the variants at the same time
#
# CONCURRENT=1 is for a machine whose load swings within minutes (other jobs starting and stopping):
# variants running at once share whatever the machine gives, so the ratio holds while the absolute
# figures are those of a machine with the others' load plus one more replay.
#
# The default input is the issue's: `lakectl generate --backfill 24h --rate 1 --seed 3` (~162 k records;
# the backfill ends now, so the exact count varies by a few records from day to day).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${FINLAKE_BIN:-bin/lakectl}
ROUNDS=${ROUNDS:-4}
[ $# -ge 2 ] || { echo "usage: $0 'JAR [FLAGS]' 'JAR [FLAGS]' ..." >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
IN=${IN:-}
if [ -z "$IN" ]; then
    [ -x "$BIN" ] || { echo "no $BIN: run 'just build' (or set FINLAKE_BIN, or IN=FILE)" >&2; exit 1; }
    IN=$dir/in.jsonl
    "$BIN" generate --backfill 24h --rate 1 --seed 3 --output "$IN" --http off --progress=false 2>/dev/null
fi
echo "input: $IN, $(wc -l <"$IN") records; $ROUNDS rounds; load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

run() { # run I VARIANT: one replay, appends "rps job_s wall_s cpu_s" to $dir/I.tsv, digest to $dir/I.digest
    local i=$1 spec=$2 out=$dir/out$1 t0 t1 s
    # shellcheck disable=SC2206
    local words=($spec)
    rm -rf "$out"
    t0=$(date +%s.%N)
    # shellcheck disable=SC2086
    s=$( { /usr/bin/time -f '%U %S' -o "$dir/time$i" java ${JAVA_OPTS:--Xmx2g} -jar "${words[0]}" "${words[@]:1}" \
        --replay "$IN" --rules config/rules.yaml --fx config/fx_rates.yaml --out "$out"; } 2>"$dir/err$i" \
        | grep '^{"records"' ) || { echo "variant $i failed:" >&2; tail -20 "$dir/err$i" >&2; exit 1; }
    t1=$(date +%s.%N)
    python3 - "$s" "$t0" "$t1" "$(cat "$dir/time$i")" >>"$dir/$i.tsv" <<'PY'
import json, sys
s = json.loads(sys.argv[1]); u, sy = map(float, sys.argv[4].split())
print(s["records_per_second"], s["job_seconds"], round(float(sys.argv[3]) - float(sys.argv[2]), 3), round(u + sy, 2))
PY
    python3 bench/replay_digest.py "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["all"])' >>"$dir/$i.digest"
}

n=$#
for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then order=$(seq 1 "$n"); else order=$(seq "$n" -1 1); fi
    if [ "${CONCURRENT:-0}" = 1 ]; then
        for i in $order; do run "$i" "${!i}" & done
        wait
    else
        for i in $order; do run "$i" "${!i}"; done
    fi
    echo "round $r done, load $(cut -d' ' -f1 /proc/loadavg)" >&2
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

same=1
first=$(sort -u "$dir/1.digest")
for i in $(seq 1 "$n"); do
    python3 - "${!i}" "$dir/$i.tsv" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[2])]
med = [statistics.median(c) for c in zip(*rows)]
print(f"{sys.argv[1]}: median records/s {med[0]:.0f} (runs: {', '.join(f'{r[0]:.0f}' for r in rows)}), "
      f"job {med[1]:.2f} s, wall {med[2]:.2f} s, cpu {med[3]:.2f} s")
PY
    [ "$(sort -u "$dir/$i.digest")" = "$first" ] || same=0
    [ "$(sort -u "$dir/$i.digest" | wc -l)" = 1 ] || same=0
done
if [ "$same" = 1 ]; then echo "output: identical across all runs ($first)"; else
    echo "output DIFFERS between runs:" >&2; for i in $(seq 1 "$n"); do echo "${!i}: $(sort -u "$dir/$i.digest" | tr '\n' ' ')" >&2; done; exit 1; fi
