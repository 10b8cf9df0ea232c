# syntax=docker/dockerfile:1
# The one image of every Go role (generate, ingest, serve, rules watch, topics):
# bin/lakectl built exactly as `just build` builds it, on a slim runtime.
# Multi-arch without arch-specific downloads: DuckDB's static libraries come
# from the Go module cache for the build platform (linux/arm64 or linux/amd64).

FROM golang:1.26-trixie AS build
WORKDIR /src
# Same switches as the justfile's build recipe: cgo for DuckDB, duckdb_arrow
# for DuckDB's Arrow interface used by the Flight SQL server.
ENV CGO_ENABLED=1
ARG VERSION=docker
COPY . .
# The module cache mount keeps DuckDB's ~100 MB static library between builds.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -tags duckdb_arrow -trimpath -ldflags "-X main.version=${VERSION}" -o bin/lakectl ./cmd/lakectl \
    && install -D bin/lakectl /out/lakectl

FROM debian:trixie-slim
# curl for the compose healthchecks; ca-certificates for TLS to a remote catalog.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home finlake \
    && mkdir -p /data /config \
    && chown finlake:finlake /data
COPY --from=build /out/lakectl /usr/local/bin/lakectl
# A named volume mounted on /data takes this ownership on first use, so the
# non-root user can write the catalog and the warehouse.
USER finlake
WORKDIR /data
ENV FINLAKE_DATA=/data \
    FINLAKE_LOG_FORMAT=json
ENTRYPOINT ["lakectl"]
CMD ["--help"]
