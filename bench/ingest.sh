#!/usr/bin/env bash
# Ingest benchmarks (not tests): Kafka → Iceberg throughput with the default commit settings, and storage
# latency percentiles at 10 records/s with the defaults. Each starts its own full-speed local Kafka broker.
#   bench/ingest.sh                      both
#   FINLAKE_BENCH_ROWS=1000000 bench/ingest.sh throughput
#   FINLAKE_BENCH_SECONDS=120  bench/ingest.sh latency
# Targets (2 cores): ≥ 50,000 rows/s; storage latency p95 < 10 s.
set -euo pipefail
cd "$(dirname "$0")/.."
which="${1:-all}"
run() { go test -tags duckdb_arrow -count=1 -run '^$' -bench "$1" -benchtime 1x ./ingest 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)|bench_test.go'; }
echo "# $(date -u +%FT%TZ) $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
case "$which" in
  throughput) run BenchmarkIngestThroughput ;;
  latency) run BenchmarkStorageLatencyAt10PerSec ;;
  all) run BenchmarkIngestThroughput; run BenchmarkStorageLatencyAt10PerSec ;;
  *) echo "usage: bench/ingest.sh [throughput|latency|all]" >&2; exit 2 ;;
esac
