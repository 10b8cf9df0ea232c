#!/usr/bin/env bash
# Alert latency of the streaming job at a real rate on a warm stream, per rule type: the time from the raw
# record's produce time (its Kafka timestamp, which the alert record carries over) to the alert being
# visible to a read_committed consumer, i.e. committed by the checkpoint after the decision.
#
#   bench/alert-latency.sh                      # 10 tx/s, checkpoints every 1 s, 60 s warm-up, 180 s measured
#   INTERVAL=2s bench/alert-latency.sh          # the old checkpoint interval, for comparison
#   RATE=50 SECONDS_MEASURED=120 bench/alert-latency.sh
#
# A live generator (event time = wall clock) runs for the whole time, so the stream is never idle and the
# watermark trails the newest event by the 2 s out-of-orderness bound. --fraud-rate 0.05 injects enough
# scenarios for a few hundred alerts. threshold, time_of_day and velocity reached on arrival are decided
# at once; new_country always waits for the watermark, so its latency cannot be below the bound: the
# consumer (bench/AlertLatency.java) fails when one is. quiet_hours (time_of_day) fires only for event
# times between 01:00 and 05:00 UTC, so it shows up only when run at those hours.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/flinkjob-lib.sh
RATE=${RATE:-10}
INTERVAL=${INTERVAL:-1s}
WARM=${WARM:-60}
SECONDS_MEASURED=${SECONDS_MEASURED:-180}
OOO_MS=${OOO_MS:-2000}
need_tools
work=$(mktemp -d "${TMPDIR_ON_DISK:-/var/tmp}/alert-latency.XXXXXX")
cleanup() {
    [ -n "${GEN_PID:-}" ] && stop_pid "$GEN_PID"
    [ -n "${JOB_PID:-}" ] && stop_pid "$JOB_PID"
    [ -n "${BROKER_PID:-}" ] && stop_pid "$BROKER_PID"
    [ "${KEEP:-0}" = 1 ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
start_broker "$work"
start_job "$work" "${HEAP:-512}" --checkpoint-interval "$INTERVAL" --out-of-orderness "${OOO_MS}ms" "$@"
"$BIN" --log-level error generate --brokers "$BROKERS" --rate "$RATE" --fraud-rate 0.05 --malformed-rate 0 \
    --http off --progress=false &
GEN_PID=$!
sleep "$WARM"
echo "rate $RATE tx/s, checkpoint interval $INTERVAL, out-of-orderness ${OOO_MS} ms, measured ${SECONDS_MEASURED} s:"
java -cp "$JAR" bench/AlertLatency.java "$BROKERS" "$SECONDS_MEASURED" "$OOO_MS"
