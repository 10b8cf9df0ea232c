#!/usr/bin/env bash
# Benchmarks of the whole local stack (`just bench`): the generator alone, the
# pipeline at 10 tx/s, a search for the highest sustained rate (doubling from
# 1,000 tx/s, then bisecting; zero loss checked; what the generator, the job and
# ingest each delivered per step, so the bottleneck shows),
# alert and storage latency percentiles measured from outside the pipeline,
# Flight SQL query and scan figures, and the stack's RSS. Writes
# bench/results/<date>.json and bench/results/<date>.md. Takes about 20-30 minutes.
# Needs bin/lakectl and flinkjob/target/finlake-flinkjob.jar (`just bench` builds both).
set -euo pipefail
cd "$(dirname "$0")/.."
export FINLAKE_BIN="${FINLAKE_BIN:-$PWD/bin/lakectl}"
export FINLAKE_BENCH_OUT="${FINLAKE_BENCH_OUT:-$PWD/bench/results}"
CGO_ENABLED=1 go test -tags "duckdb_arrow e2e" -run '^TestBench$' -count=1 -timeout 60m -v ./e2e/
