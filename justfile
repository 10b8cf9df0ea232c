# finlake task runner. `just dev` runs the pipeline without Docker; `just test` runs every test.
# On a fresh machine `./finlake dev` / `./finlake test` install what is missing first (just included).

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
test: build test-go test-postgres test-compose test-notebooks test-flink test-e2e test-soak test-compose-up

# Go unit and integration tests (real Kafka broker, DuckDB, iceberg-go); FINLAKE_BIN is the built binary.
test-go: build
    FINLAKE_BIN={{bin}} go test -tags {{tags}} -count=1 -timeout 30m ./...

# FINLAKE_TEST_CATALOG=postgres://USER@HOST:PORT/DB uses that server instead (USER may CREATE DATABASE; one per test).
# The catalog's tests on a real PostgreSQL cluster they start (initdb): SIGKILL exactly-once, maintenance, time travel, evolve, PyIceberg, Spark.
test-postgres: build
    FINLAKE_BIN={{bin}} FINLAKE_TEST_CATALOG=${FINLAKE_TEST_CATALOG:-postgres} go test -tags {{tags}} -count=1 -timeout 30m ./lake/ ./ingest/ ./flight/
    FINLAKE_BIN={{bin}} FINLAKE_TEST_CATALOG=${FINLAKE_TEST_CATALOG:-postgres} go test -tags {{tags}} -count=1 -timeout 10m -run 'TestQueryCommands|TestDescribe' ./cmd/lakectl/

# Spark fetches its Iceberg runtime and JDBC drivers from Maven Central on its first run (~/.ivy2.5.2).
# Spark (Iceberg's JdbcCatalog) and PyIceberg read the lake as `lakectl serve` answers, on SQLite then PostgreSQL.
test-interop: build
    FINLAKE_BIN={{bin}} go test -tags {{tags}} -count=1 -timeout 15m -run 'TestSparkReads|TestPyIceberg' -v ./ingest/
    FINLAKE_BIN={{bin}} FINLAKE_TEST_CATALOG=postgres go test -tags {{tags}} -count=1 -timeout 15m -run 'TestSparkReads|TestPyIceberg' -v ./ingest/

# Build the Flink job's shaded jar, flinkjob/target/finlake-flinkjob.jar.
flink-jar:
    mvn -q -B -f flinkjob/pom.xml -DskipTests package

# The job's jar, rebuilt only when flinkjob/ changed since it was built.
[private]
jar:
    if [ ! -f flinkjob/target/finlake-flinkjob.jar ] || [ -n "$(find flinkjob/src flinkjob/pom.xml -newer flinkjob/target/finlake-flinkjob.jar -print -quit)" ]; then just flink-jar; fi

# Flink job tests (JUnit, MiniCluster, golden rule cases) and its Kafka integration test against a real broker.
test-flink: build
    FINLAKE_BIN={{bin}} mvn -f flinkjob/pom.xml verify

# The changelog state backend's restart test (5 SIGKILLs with CLAIM restores; ~8 min, not in `just test`: the default
# backend's double SIGKILL runs in test-flink's KafkaExactlyOnceIT).
test-flink-restarts: build
    FINLAKE_BIN={{bin}} mvn -f flinkjob/pom.xml verify -Dit.test=CheckpointRestartsIT

# gofmt and go vet.
lint:
    test -z "$(gofmt -l $(git ls-files '*.go'))" || { gofmt -l $(git ls-files '*.go'); exit 1; }
    go vet -tags {{tags}} ./...

# Build lakectl and the Flink jar, run the pipeline without Docker (Ctrl-C stops; `just dev --detach` backgrounds).
dev *ARGS: build jar
    {{bin}} kafka fetch >/dev/null
    {{bin}} stack up {{ARGS}}

# Stop the pipeline that `just dev --detach` started; all state stays in ./data.
down:
    {{bin}} stack down

# Docker: the base image every image builds FROM (finlake/base:bookworm, Debian bookworm minbase by debootstrap; kept once made).
base:
    deploy/base/build.sh

# Behind a TLS-intercepting proxy: FINLAKE_EXTRA_CA=/path/to/ca.pem just up (the builds trust it; no image keeps it).
# Docker: build the images and run the whole pipeline (MacBook Air M1 8 GB is enough); waits until healthy, prints the URLs.
up: base
    # flight and flink first: the jupyter image copies lakectl and the job's jar from their images.
    DOCKER_BUILDKIT=1 docker compose build flight flink
    DOCKER_BUILDKIT=1 docker compose build
    docker compose up --detach --wait --wait-timeout 600
    @echo "finlake is up (all ports on 127.0.0.1 only):"
    @echo "  Jupyter       http://127.0.0.1:8888/lab?token=${JUPYTER_TOKEN:-finlake}"
    @echo "  Flink UI      http://127.0.0.1:8081"
    @echo "  Flight SQL    grpc://127.0.0.1:32010   (FINLAKE_TOKEN=${FINLAKE_ADMIN_TOKEN:-finlake-admin} bin/lakectl query 'SELECT count(*) FROM lake.transactions')"
    @echo "  generator     http://127.0.0.1:8091/status   ingest http://127.0.0.1:8092/status   flight http://127.0.0.1:8093/status"
    @echo "  Kafka         127.0.0.1:9092"
    @echo "Edit config/rules.yaml and the running job applies it; 'just compose-down' stops, 'just nuke' also deletes the data."

# Docker: stop the pipeline gracefully; Kafka data, Flink checkpoints and the lake stay in their volumes.
compose-down:
    docker compose down

# Docker: stop the pipeline and DELETE its volumes (Kafka data, Flink checkpoints, the lake), after asking.
[confirm("Delete finlake's Docker volumes: Kafka data, Flink checkpoints and the whole lake? [y/N]")]
nuke:
    docker compose down --volumes --remove-orphans

# Check docker-compose.yml without Docker (compose-go loader, the dev stack's flags and sizes).
test-compose: build
    FINLAKE_BIN={{bin}} go test -count=1 ./deploy/

# `just up` from clean, health, flow, lakectl query/--as-of from the host, a notebook in the Jupyter container, a rule
# edit, SIGKILL in the ingest and flink containers, 90 s paused, compose-down, up again, exactly once throughout. It owns
# the default ports and the finlake compose project, and removes its volumes at the end (FINLAKE_COMPOSE_KEEP=1 keeps them).
# The compose stack for real in Docker, used and faulted as on a laptop (~15 min with built images).
test-compose-up: build
    FINLAKE_BIN={{bin}} go test -tags "{{tags}} e2e compose" -count=1 -timeout 60m -v -run '^TestComposeUp$' ./e2e/

# Start-up times, memory per container at 10 tx/s after 10 min, stop and recovery times, image sizes, build times.
# Docker figures: bench/results/compose-<date>.md (~20 min; --scratch also builds every image from scratch).
bench-compose *ARGS: build
    bench/compose.sh {{ARGS}}

# Run the five notebooks headless (nbclient) against the Flight SQL server of a pipeline (lakectl stack on free
# ports) that filled its lake for a minute or two; fails on any failing cell. FINLAKE_NOTEBOOK_LAKE=fixture fills it
# without Kafka instead (generator file -> the job's --replay -> ingest's append path; faster);
# FINLAKE_FLIGHT=grpc://... uses a running server (after `just up` or `just dev`).
test-notebooks: build jar
    .venv/bin/pip install -q --disable-pip-version-check -r e2e/notebooks/requirements.txt
    FINLAKE_BIN={{bin}} .venv/bin/python -m pytest -q -p no:cacheprovider e2e/notebooks

# End-to-end tests of the whole stack with faults (about 10 minutes; needs java 17 and mvn).
test-e2e: build jar
    FINLAKE_BIN={{bin}} go test -tags "{{tags}} e2e" -count=1 -timeout 25m -v ./e2e/

# Benchmark the whole stack: bench/results/<date>.json and .md (about 10 minutes).
bench: build jar
    bench/run.sh

# Flight SQL server benchmarks on 1M and 10M transaction rows (lakes kept in $TMPDIR/finlake-flightbench).
bench-flight:
    go run -tags {{tags}} ./cmd/flightbench -rows 1000000,10000000

# Backtest one simulated day (bench/backtest.sh): wall time, peak RSS of lakectl and the job; lake built once in $TMPDIR.
bench-backtest: build jar
    bench/backtest.sh

# Soak: `just soak` is a week in about an hour (event time x160, every cadence scaled alike), `just soak --days 2`
# fewer days, `just soak --real 1h` a real hour at 10 tx/s. Records every simulated hour; writes
# bench/results/soak-<date>[-real].md, .json and .png (matplotlib into .venv).
soak *ARGS: build jar
    bench/soak.sh {{ARGS}}

# The short soak (~5 min): 4 simulated days at 1 tx/s with TTL and retention scaled down; fails when Flink state, a
# live heap, metadata.json, files per partition or disk grows past its bound after the steady state.
test-soak: build jar
    FINLAKE_BIN={{bin}} FINLAKE_SOAK=short go test -tags "{{tags}} e2e" -run '^TestSoak$' -count=1 -timeout 15m -v ./e2e/
