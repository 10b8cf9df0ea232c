#!/usr/bin/env bash
# The soak (`just soak`): the whole local stack for a compressed week or a real span, recording every
# simulated hour Flink's state and checkpoints, live heaps after GC, RSS, table metadata and files per
# partition, disk, commit and query latency (e2e/soak_test.go, package e2e/soak), then plotting it.
#   bench/soak.sh [--days N]        N simulated days (default 7) at 10 tx/s, ~9 wall minutes a day
#   bench/soak.sh --real 1h         a real hour at 10 tx/s, real cadences, a sample every 3 minutes
#   bench/soak.sh --short           the short soak of `just test-soak` (asserts), with the plot
# Writes bench/results/soak-<date>[-real|-short].md, .json and .png. Needs bin/lakectl and the Flink jar.
set -euo pipefail
cd "$(dirname "$0")/.."
spec="days:7"
timeout=30m
while [ $# -gt 0 ]; do
    case "$1" in
        --days) spec="days:${2:?--days needs N}"; shift 2 ;;
        --days=*) spec="days:${1#--days=}"; shift ;;
        --real) spec="real:${2:?--real needs a duration like 1h}"; shift 2 ;;
        --real=*) spec="real:${1#--real=}"; shift ;;
        --short) spec="short"; shift ;;
        *) echo "soak: unknown argument $1 (want --days N, --real DURATION or --short)" >&2; exit 2 ;;
    esac
done
case "$spec" in
    days:*) n="${spec#days:}"; [[ "$n" =~ ^[0-9]+$ ]] || { echo "soak: --days $n: want a whole number" >&2; exit 2; }
            timeout="$((n * 12 + 40))m" ;;
    real:*) d="${spec#real:}"
            case "$d" in
                *h) timeout="$(( ${d%h} * 60 + 40 ))m" ;;
                *m) timeout="$(( ${d%m} + 40 ))m" ;;
                *) echo "soak: --real $d: want whole hours or minutes, like 1h or 90m" >&2; exit 2 ;;
            esac ;;
esac
export FINLAKE_BIN="${FINLAKE_BIN:-$PWD/bin/lakectl}"
export FINLAKE_SOAK="$spec" FINLAKE_SOAK_OUT="${FINLAKE_SOAK_OUT:-$PWD/bench/results}"
rc=0
CGO_ENABLED=1 go test -tags "duckdb_arrow e2e" -run '^TestSoak$' -count=1 -timeout "$timeout" -v ./e2e/ || rc=$?
latest="$(ls -t "$FINLAKE_SOAK_OUT"/soak-*.json 2>/dev/null | head -1 || true)"
if [ -n "$latest" ]; then
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -r bench/requirements.txt
    .venv/bin/python bench/soak_plot.py "$latest"
fi
exit $rc
