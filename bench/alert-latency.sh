#!/usr/bin/env bash
# Alert latency of the streaming job at a real rate on a warm stream, per rule type: the time from the raw
# record's produce time (its Kafka timestamp, which the alert record carries over) to the alert being
# visible to a read_committed consumer, i.e. committed by the checkpoint after the decision.
#
#   bench/alert-latency.sh                      # 10 tx/s, checkpoints every 1 s, 60 s warm-up, 180 s measured
#   RATE=10000 bench/alert-latency.sh           # 10,000 tx/s (1,000,000 accounts, see below)
#   RATE=10000 GENERATORS=2 bench/alert-latency.sh   # the rate split over two generator processes
#   INTERVAL=2s bench/alert-latency.sh          # the old checkpoint interval, for comparison
#
# Live generators (event time = wall clock) run for the whole time, so the stream is never idle and the
# watermark trails the newest event by the 2 s out-of-orderness bound. FRAUD_RATE (default 0.05, at most
# 25 scenarios a second) injects enough scenarios for hundreds of alerts; ACCOUNTS (default 10,000, or 100
# per tx/s above 100 tx/s) keeps ordinary traffic below the velocity rule (5 in 1 minute), so velocity
# alerts are the bursts'. threshold, time_of_day and velocity reached on arrival are decided at once;
# new_country always waits for the watermark, so its latency cannot be below the bound: the consumer
# (bench/AlertLatency.java) fails when one is. time_of_day: QUIET_PER_S (default 1) transactions a second
# with an event time inside the quiet hours of config/rules.yaml (01:00-05:00 UTC), produced by the
# consumer, so the rule fires whatever the hour (outside those hours they are behind the watermark and
# counted in late_events; time_of_day is decided on arrival either way, see AlertLatency.java).
# Prints the engine's own rate over the measurement beside the generators' (a job that falls behind shows
# growing latencies: compare p50 and max) and the load average before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/flinkjob-lib.sh
RATE=${RATE:-10}
GENERATORS=${GENERATORS:-1}
ACCOUNTS=${ACCOUNTS:-$(python3 -c "print(max(10000, int(100 * float('$RATE'))))")}
FRAUD_RATE=${FRAUD_RATE:-$(python3 -c "print(min(0.05, 25 / float('$RATE')))")}
QUIET_PER_S=${QUIET_PER_S:-1}
INTERVAL=${INTERVAL:-1s}
WARM=${WARM:-60}
SECONDS_MEASURED=${SECONDS_MEASURED:-180}
OOO_MS=${OOO_MS:-2000}
need_tools
work=$(mktemp -d "${TMPDIR_ON_DISK:-/var/tmp}/alert-latency.XXXXXX")
GEN_PIDS=()
cleanup() {
    for p in "${GEN_PIDS[@]}"; do stop_pid "$p"; done
    [ -n "${JOB_PID:-}" ] && stop_pid "$JOB_PID"
    [ -n "${BROKER_PID:-}" ] && stop_pid "$BROKER_PID"
    [ "${KEEP:-0}" = 1 ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
start_broker "$work"
start_job "$work" "${HEAP:-512}" --checkpoint-interval "$INTERVAL" --out-of-orderness "${OOO_MS}ms" "$@"
per=$(python3 -c "print(float('$RATE') / $GENERATORS)")
for _ in $(seq 1 "$GENERATORS"); do
    "$BIN" --log-level error generate --brokers "$BROKERS" --rate "$per" --accounts "$ACCOUNTS" \
        --fraud-rate "$FRAUD_RATE" --malformed-rate 0 --http off --progress=false &
    GEN_PIDS+=($!)
done
sleep "$WARM"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
tx0=$(engine_metric transactions)
late0=$(engine_metric late_events)
t0=$(date +%s.%N)
echo "rate $RATE tx/s ($GENERATORS generator(s), $ACCOUNTS accounts, fraud rate $FRAUD_RATE, $QUIET_PER_S quiet-hour tx/s)," \
    "checkpoint interval $INTERVAL, out-of-orderness ${OOO_MS} ms, measured ${SECONDS_MEASURED} s, $(nproc) cores:"
set +e
java -cp "$JAR" bench/AlertLatency.java "$BROKERS" "$SECONDS_MEASURED" "$OOO_MS" "$QUIET_PER_S"
rc=$?
set -e
t1=$(date +%s.%N)
tx1=$(engine_metric transactions)
late1=$(engine_metric late_events)
python3 -c "print(f'engine: {($tx1 - $tx0) / ($t1 - $t0):.0f} first events/s over the measurement (generators: $RATE tx/s' \
    f' of new transactions, plus their follow-up events); late_events +{$late1 - $late0}')"
echo "load average: before $load0, after $(cut -d' ' -f1-3 /proc/loadavg)"
exit $rc
