# finlake task runner. `just dev` runs the pipeline without Docker; `just test` runs every test.

set shell := ["bash", "-euo", "pipefail", "-c"]

export CGO_ENABLED := "1"
# duckdb_arrow: DuckDB's Arrow interface, used by the Flight SQL server.
tags := "duckdb_arrow"
bin := justfile_directory() / "bin/lakectl"
version := `git describe --tags --always --dirty 2>/dev/null || echo dev`

default:
    @just --list

# Build bin/lakectl, the one binary of every Go role.
build:
    go build -tags {{tags}} -ldflags "-X main.version={{version}}" -o {{bin}} ./cmd/lakectl

# Run every test.
test: build test-go

# Go unit and integration tests (real Kafka broker, DuckDB, iceberg-go); FINLAKE_BIN is the built binary.
test-go: build
    FINLAKE_BIN={{bin}} go test -tags {{tags}} -count=1 -timeout 30m ./...

# gofmt and go vet.
lint:
    test -z "$(gofmt -l $(git ls-files '*.go'))" || { gofmt -l $(git ls-files '*.go'); exit 1; }
    go vet -tags {{tags}} ./...

# Build lakectl and the Flink jar, run the pipeline without Docker (Ctrl-C stops; `just dev --detach` backgrounds).
dev *ARGS: build
    if [ ! -f flinkjob/target/finlake-flinkjob.jar ] || [ -n "$(find flinkjob/src flinkjob/pom.xml -newer flinkjob/target/finlake-flinkjob.jar -print -quit)" ]; then mvn -q -B -f flinkjob/pom.xml -DskipTests package; fi
    {{bin}} stack up {{ARGS}}

# Stop the pipeline that `just dev --detach` started; all state stays in ./data.
down:
    {{bin}} stack down
