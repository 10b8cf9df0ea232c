#!/usr/bin/env bash
# State cost of the streaming Flink job after N simulated hours of traffic, per configuration: one fresh
# broker and job per configuration, `lakectl generate --backfill ${HOURS}h --rate 10` loaded and
# processed by each, then, all jobs kept running and measured in turn (ROUNDS times, alternating, so the
# machine's load falls on every configuration alike):
#   - bytes the Flink JVM writes to disk per second (/proc/<pid>/io write_bytes: checkpoints, RocksDB
#     flushes and compactions, changelog, logs) over QUIET s with no input, and over LIVE s at 10 tx/s
#     (SPLIT=1: the live window split by thread, bench/write-split.py);
#   - checkpoint duration p50/p95 over the live windows (Flink REST /jobs/<id>/checkpoints);
#   - checkpointed state size (full size of the latest checkpoint) per transaction and per account
#     in state (the engine's counters: transactions, accounts_created - accounts_expired; all
#     transactions of the run are within the 48 h lifecycle TTL when HOURS <= 48), and the bytes on disk
#     under the checkpoint directory (with the changelog) and the working directory;
#   - live heap after a full GC (jcmd GC.run; GC.heap_info) before and after, and RSS.
#
#   bench/flink-state.sh                                  # rocksdb, changelog and hashmap, 24 simulated hours
#   HOURS=48 BACKENDS=rocksdb bench/flink-state.sh
#   INTERVAL=2s BACKENDS=hashmap HEAP_hashmap=768 bench/flink-state.sh
#   BACKENDS="rocksdb big" BACKEND_big=rocksdb ARGS_big="--flink state.backend.rocksdb.writebuffer.size=64mb" \
#       bench/flink-state.sh                              # a labelled configuration of a backend
#   BACKENDS="rocksdb old_rocksdb" BACKEND_old_rocksdb=rocksdb JAR_old_rocksdb=/tmp/old.jar \
#       bench/flink-state.sh                              # another build of the job, side by side
#
# A configuration LABEL runs --state-backend ${BACKEND_LABEL:-LABEL} with the extra job arguments
# ${ARGS_LABEL}, a ${HEAP_LABEL:-512} MB heap and the job jar ${JAR_LABEL:-$JAR} (default
# flinkjob/target/finlake-flinkjob.jar). Prints one line per configuration and round and, at
# the end, the lines side by side with the load average. Work files in a temporary directory on disk
# (write_bytes does not see tmpfs), removed at the end (KEEP=1 keeps them).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/flinkjob-lib.sh
HOURS=${HOURS:-24}
QUIET=${QUIET:-30}
LIVE=${LIVE:-60}
ROUNDS=${ROUNDS:-2}
INTERVAL=${INTERVAL:-1s}
BACKENDS=${BACKENDS:-"rocksdb changelog hashmap"}
# The heap each configuration runs with: the hashmap backend keeps all state on it (the stack's 768 MB);
# RocksDB (also under the changelog) keeps it native, in 128 MB of managed memory.
HEAP_hashmap=${HEAP_hashmap:-768}
need_tools
DEFAULT_JAR=$JAR
work=$(mktemp -d "${TMPDIR_ON_DISK:-/var/tmp}/flink-state.XXXXXX")
declare -A JOBPID REST_OF JOBID_OF BROKERS_OF
cleanup() {
    [ -n "${GEN_PID:-}" ] && stop_pid "$GEN_PID"
    for c in "${!JOBPID[@]}"; do stop_pid "${JOBPID[$c]}"; done
    for p in ${BROKER_PIDS:-}; do stop_pid "$p"; done
    [ "${KEEP:-0}" = 1 ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

checkpoint_stats() { # SINCE_MS UNTIL_MS: n, p50/p95/max duration of completed checkpoints triggered in the window, and the latest sizes
    curl -fsS "$REST/jobs/$JOB_ID/checkpoints" | python3 -c '
import json, sys
since, until = int(sys.argv[1]), int(sys.argv[2])
c = json.load(sys.stdin)
d = sorted(h["end_to_end_duration"] for h in c.get("history", [])
           if h["status"] == "COMPLETED" and since <= h["trigger_timestamp"] < until)
def q(p): return d[min(len(d) - 1, int(len(d) * p))] if d else -1
last = c["latest"]["completed"] or {}
print(len(d), q(0.5), q(0.95), d[-1] if d else -1, last.get("state_size", 0), last.get("checkpointed_size", 0))' "$1" "$2"
}

use() { # CONFIG: point the lib's globals at that configuration's job
    JOB_PID=${JOBPID[$1]} REST=${REST_OF[$1]} JOB_ID=${JOBID_OF[$1]} BROKERS=${BROKERS_OF[$1]}
}

du_mb() { du -sb "$@" 2>/dev/null | awk '{s += $1} END {printf "%.1f", s / 1e6}'; }

declare -A HEAP_BEFORE
for c in $BACKENDS; do
    dir="$work/$c"
    backend_var="BACKEND_$c" heap_var="HEAP_$c" args_var="ARGS_$c" jar_var="JAR_$c"
    backend=${!backend_var:-$c}
    JAR=${!jar_var:-$DEFAULT_JAR} # start_job runs $JAR
    [ -f "$JAR" ] || { echo "no job jar $JAR for $c" >&2; exit 1; }
    heap=${!heap_var:-512}
    # shellcheck disable=SC2206
    args=(${!args_var:-})
    echo "== $c (--state-backend $backend ${args[*]}, $JAR): broker, ${HOURS}h backfill at 10 tx/s" >&2
    start_broker "$dir"
    BROKER_PIDS="${BROKER_PIDS:-} $BROKER_PID"
    t0=$(date +%s)
    "$BIN" --log-level error generate --brokers "$BROKERS" --backfill "${HOURS}h" --rate 10 --duration "${HOURS}h" \
        --seed 1 --http off --progress=false
    echo "   backfill produced in $(($(date +%s) - t0)) s; starting the job (heap ${heap} MB)" >&2
    start_job "$dir" "$heap" --state-backend "$backend" --checkpoint-interval "$INTERVAL" \
        --flink web.checkpoints.history=1000 "${args[@]}"
    JOBPID[$c]=$JOB_PID REST_OF[$c]=$REST JOBID_OF[$c]=$JOB_ID BROKERS_OF[$c]=$BROKERS
    t0=$(date +%s)
    wait_caught_up
    echo "   backlog processed in $(($(date +%s) - t0)) s" >&2
    sleep 5
    HEAP_BEFORE[$c]=$(live_heap_mb "$JOB_PID")
done

results=()
for round in $(seq 1 "$ROUNDS"); do
    for c in $BACKENDS; do
        use "$c"
        dir="$work/$c"
        load=$(cut -d' ' -f1 /proc/loadavg)
        w0=$(write_bytes "$JOB_PID")
        sleep "$QUIET"
        w1=$(write_bytes "$JOB_PID")
        live_since=$(($(date +%s) * 1000))
        "$BIN" --log-level error generate --brokers "$BROKERS" --rate 10 --duration "${LIVE}s" --http off \
            --progress=false &
        GEN_PID=$!
        w2=$(write_bytes "$JOB_PID")
        l0=$(date +%s.%N)
        if [ "${SPLIT:-0}" = 1 ]; then
            echo "   $c round $round, live window:" >&2
            bench/write-split.py "$JOB_PID" "$LIVE" >&2 || true
        fi
        wait "$GEN_PID"
        GEN_PID=
        w3=$(write_bytes "$JOB_PID")
        live_secs=$(python3 -c "import sys; print(round($(date +%s.%N) - $l0, 1))")
        read -r n p50 p95 pmax state_size ckpt_size < <(checkpoint_stats "$live_since" $(($(date +%s) * 1000)))
        rss=$(rss_mb "$JOB_PID")
        tx=$(engine_metric transactions)
        accounts=$(($(engine_metric accounts_created) - $(engine_metric accounts_expired)))
        disk=$(du_mb "$dir/checkpoints")
        wd=$(du_mb "$dir"/checkpoints.*)
        line=$(python3 -c '
import sys
b, r, q, l, n, p50, p95, pmax, st, ck, disk, wd, rss, tx, acc, quiet, live, load = sys.argv[1:]
mb = lambda x: float(x) / 1e6
print(f"{b:10} r{r} write quiet {mb(q)/float(quiet):6.2f} MB/s  live {mb(l)/float(live):6.2f} MB/s | "
      f"checkpoints n={n} p50={p50} ms p95={p95} ms max={pmax} ms | state {mb(st):6.1f} MB "
      f"(last increment {mb(ck):.2f} MB; on disk: checkpoints {disk} MB, working {wd} MB), "
      f"{int(st)/max(1,int(tx)):.0f} B/tx, {int(st)/max(1,int(acc)):.0f} B/account ({tx} tx, {acc} accounts) | "
      f"RSS {rss} MB | load {load}")' \
            "$c" "$round" $((w1 - w0)) $((w3 - w2)) "$n" "$p50" "$p95" "$pmax" "$state_size" "$ckpt_size" "$disk" \
            "$wd" "$rss" "$tx" "$accounts" "$QUIET" "$live_secs" "$load")
        echo "$line"
        results+=("$line")
    done
done
for c in $BACKENDS; do
    use "$c"
    results+=("$(printf '%-10s live heap after full GC %s -> %s MB, RSS %s MB' "$c" "${HEAP_BEFORE[$c]}" \
        "$(live_heap_mb "$JOB_PID")" "$(rss_mb "$JOB_PID")")")
done
echo
echo "after ${HOURS} simulated hours at 10 tx/s, checkpoint interval $INTERVAL (quiet ${QUIET}s, live ${LIVE}s, $ROUNDS rounds):"
printf '%s\n' "${results[@]}"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
