#!/usr/bin/env bash
# State cost of the streaming Flink job after N simulated hours of traffic, per state backend: one fresh
# broker per backend, `lakectl generate --backfill ${HOURS}h --rate 10` loaded and processed, then
#   - bytes the Flink JVM writes to disk per second (/proc/<pid>/io write_bytes: checkpoints, RocksDB
#     flushes and compactions, logs) over QUIET s with no input, and over LIVE s at 10 tx/s;
#   - checkpoint duration p50/p95 over the live phase (Flink REST /jobs/<id>/checkpoints);
#   - checkpointed state size (full size of the latest checkpoint) per transaction and per account
#     in state (the engine's counters: transactions, accounts_created - accounts_expired; all
#     transactions of the run are within the 48 h lifecycle TTL when HOURS <= 48);
#   - live heap after a full GC (jcmd GC.run; GC.heap_info) before and after the live phase, and RSS.
#
#   bench/flink-state.sh                                  # rocksdb and hashmap, 24 simulated hours
#   HOURS=48 BACKENDS=rocksdb bench/flink-state.sh
#   INTERVAL=2s BACKENDS=hashmap HEAP_hashmap=768 bench/flink-state.sh
#
# Prints one line per backend and, at the end, the lines side by side. Work files in a temporary
# directory on disk (write_bytes does not see tmpfs), removed at the end (KEEP=1 keeps them).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/flinkjob-lib.sh
HOURS=${HOURS:-24}
QUIET=${QUIET:-30}
LIVE=${LIVE:-60}
INTERVAL=${INTERVAL:-1s}
BACKENDS=${BACKENDS:-"rocksdb hashmap"}
# The heap each backend runs with: the hashmap backend keeps all state on it (the stack's 768 MB);
# RocksDB keeps it native, in 128 MB of managed memory.
HEAP_rocksdb=${HEAP_rocksdb:-512}
HEAP_hashmap=${HEAP_hashmap:-768}
need_tools
work=$(mktemp -d "${TMPDIR_ON_DISK:-/var/tmp}/flink-state.XXXXXX")
cleanup() {
    [ -n "${JOB_PID:-}" ] && stop_pid "$JOB_PID"
    [ -n "${GEN_PID:-}" ] && stop_pid "$GEN_PID"
    [ -n "${BROKER_PID:-}" ] && stop_pid "$BROKER_PID"
    [ "${KEEP:-0}" = 1 ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

checkpoint_stats() { # SINCE_MS: p50/p95/max duration of completed checkpoints triggered since then, and the latest sizes
    curl -fsS "$REST/jobs/$JOB_ID/checkpoints" | python3 -c '
import json, sys
since = int(sys.argv[1])
c = json.load(sys.stdin)
d = sorted(h["end_to_end_duration"] for h in c.get("history", [])
           if h["status"] == "COMPLETED" and h["trigger_timestamp"] >= since)
def q(p): return d[min(len(d) - 1, int(len(d) * p))] if d else -1
last = c["latest"]["completed"] or {}
print(len(d), q(0.5), q(0.95), d[-1] if d else -1, last.get("state_size", 0), last.get("checkpointed_size", 0))' "$1"
}

results=()
for backend in $BACKENDS; do
    dir="$work/$backend"
    heap_var="HEAP_$backend"
    heap=${!heap_var}
    echo "== $backend: broker, ${HOURS}h backfill at 10 tx/s" >&2
    start_broker "$dir"
    t0=$(date +%s)
    "$BIN" --log-level error generate --brokers "$BROKERS" --backfill "${HOURS}h" --rate 10 --duration "${HOURS}h" \
        --seed 1 --http off --progress=false
    echo "   backfill produced in $(($(date +%s) - t0)) s; starting the job (heap ${heap} MB)" >&2
    start_job "$dir" "$heap" --state-backend "$backend" --checkpoint-interval "$INTERVAL" \
        --flink web.checkpoints.history=1000
    t0=$(date +%s)
    wait_caught_up
    echo "   backlog processed in $(($(date +%s) - t0)) s" >&2
    sleep 5
    heap_before=$(live_heap_mb "$JOB_PID")
    w0=$(write_bytes "$JOB_PID")
    sleep "$QUIET"
    w1=$(write_bytes "$JOB_PID")
    live_since=$(($(date +%s) * 1000))
    "$BIN" --log-level error generate --brokers "$BROKERS" --rate 10 --duration "${LIVE}s" --http off \
        --progress=false &
    GEN_PID=$!
    w2=$(write_bytes "$JOB_PID")
    l0=$(date +%s.%N)
    wait "$GEN_PID"
    GEN_PID=
    w3=$(write_bytes "$JOB_PID")
    live_secs=$(python3 -c "import sys; print(round($(date +%s.%N) - $l0, 1))")
    read -r n p50 p95 pmax state_size ckpt_size < <(checkpoint_stats "$live_since")
    heap_after=$(live_heap_mb "$JOB_PID")
    rss=$(rss_mb "$JOB_PID")
    tx=$(engine_metric transactions)
    accounts=$(($(engine_metric accounts_created) - $(engine_metric accounts_expired)))
    disk=$(du -sb "$dir/checkpoints" | cut -f1)
    line=$(python3 -c '
import sys
b, q, l, n, p50, p95, pmax, st, ck, disk, hb, ha, rss, tx, acc, quiet, live = sys.argv[1:]
mb = lambda x: float(x) / 1e6
print(f"{b:8} write quiet {mb(q)/float(quiet):6.2f} MB/s  live {mb(l)/float(live):6.2f} MB/s | "
      f"checkpoints n={n} p50={p50} ms p95={p95} ms max={pmax} ms | state {mb(st):6.1f} MB "
      f"(last increment {mb(ck):.2f} MB, dir {mb(disk):.1f} MB), {int(st)/max(1,int(tx)):.0f} B/tx, "
      f"{int(st)/max(1,int(acc)):.0f} B/account ({tx} tx, {acc} accounts) | live heap {hb} -> {ha} MB, RSS {rss} MB")' \
        "$backend" $((w1 - w0)) $((w3 - w2)) "$n" "$p50" "$p95" "$pmax" "$state_size" "$ckpt_size" "$disk" \
        "$heap_before" "$heap_after" "$rss" "$tx" "$accounts" "$QUIET" "$live_secs")
    echo "$line"
    results+=("$line")
    stop_pid "$JOB_PID"; JOB_PID=
    stop_pid "$BROKER_PID"; BROKER_PID=
    rm -rf "$dir"
done
echo
echo "after ${HOURS} simulated hours at 10 tx/s, checkpoint interval $INTERVAL (quiet ${QUIET}s, live ${LIVE}s):"
printf '%s\n' "${results[@]}"
