#!/usr/bin/env bash
# Generator benchmarks: generation + JSON encoding in records/s (target 500,000
# on 2 cores), and produce throughput to a local Kafka broker beside Kafka's own
# kafka-producer-perf-test on the same broker and record size (target 100,000).
# Usage: bench/generator.sh [RECORDS]   (records for the produce benchmark, default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
export FINLAKE_BENCH_RECORDS="${1:-1000000}"
echo "== generation + encoding (one generator; one per core)"
go test -tags duckdb_arrow -run '^$' -bench 'GenerateAndEncode' -benchtime 3000000x -count 1 ./generator/ |
  grep -E '^Benchmark'
echo "== produce to a local broker (${FINLAKE_BENCH_RECORDS} records)"
go test -tags duckdb_arrow -run '^$' -bench 'ProduceToLocalBroker' -benchtime 1x -count 1 -timeout 20m ./generator/ |
  grep -E '^(Benchmark|produce|  )'
