#!/usr/bin/env bash
# Replay throughput of the Flink job (flinkjob/) over generator output: the same operators as the
# streaming job, one record per line. Target: 50,000 records/s for 1,000,000 records on 2 cores.
#
#   bench/flinkjob-replay.sh                 # 1,000,000 records, seed 1
#   N=200000 JAVA_OPTS=-Xmx1g bench/flinkjob-replay.sh
#   JAR=/tmp/old.jar DIGEST=1 bench/flinkjob-replay.sh   # another build; DIGEST=1 also prints
#                                                         # bench/replay_digest.py of the output (stderr)
#
# Prints the job's JSON summary: records_per_second = records / job_seconds (the job's net run time,
# without the ~3 s of starting the local Flink cluster, which "seconds" includes). On stderr, the JVM's
# wall and CPU time (user+sys): on a shared machine CPU per record is the steadier figure (an empty
# input costs ~10 s of CPU for starting the cluster and JIT; subtract it).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${FINLAKE_BIN:-bin/lakectl}
N=${N:-1000000}
JAR=${JAR:-flinkjob/target/finlake-flinkjob.jar}
[ -x "$BIN" ] || { echo "no $BIN: run 'just build' (or set FINLAKE_BIN)" >&2; exit 1; }
[ -f "$JAR" ] || [ "$JAR" != flinkjob/target/finlake-flinkjob.jar ] || mvn -q -B -f flinkjob/pom.xml -DskipTests package
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$BIN" generate --count "$N" --seed 1 --output "$dir/in.jsonl" --http off --progress=false 2>/dev/null
echo "input: $N records, $(du -h "$dir/in.jsonl" | cut -f1)" >&2
TIMEFORMAT='replay JVM: wall %Rs, cpu user %Us + sys %Ss'
# shellcheck disable=SC2086
time java ${JAVA_OPTS:--Xmx2g} -jar "$JAR" --replay "$dir/in.jsonl" --rules config/rules.yaml \
    --fx config/fx_rates.yaml --out "$dir/out"
if [ "${DIGEST:-0}" = 1 ]; then
    echo "digest: $(python3 bench/replay_digest.py "$dir/out")" >&2
fi
