# The one image of every Go role (generate, ingest, serve, rules watch,
# topics): lakectl built inside, exactly as `just build` builds it (cgo for
# DuckDB, tag duckdb_arrow), FROM finlake's own Debian base
# (deploy/base/build.sh). Nothing architecture-specific: the Go toolchain is
# the one of the build machine's architecture, from the Go module proxy, and
# DuckDB's static library comes from the module cache for that architecture.
ARG BASE=finlake/base:bookworm

FROM ${BASE} AS build
# ca-certificates for the Go module proxy; gcc/g++ for cgo (DuckDB is C++).
# FINLAKE_EXTRA_CA (an optional build secret) is trusted in this build stage
# only: for networks that intercept TLS. It never reaches the image.
RUN --mount=type=secret,id=extra_ca \
    apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl unzip gcc g++ libc6-dev \
    && rm -rf /var/lib/apt/lists/* \
    && if [ -s /run/secrets/extra_ca ]; then \
        awk '/BEGIN CERTIFICATE/{n++} n{print > ("/usr/local/share/ca-certificates/finlake-extra-" n ".crt")}' /run/secrets/extra_ca \
        && update-ca-certificates >/dev/null; fi
# Bookworm's Go (1.19) cannot switch toolchains, but the Go module proxy
# serves the toolchain itself as the module golang.org/toolchain.
ARG GO_VERSION=1.26.8
ARG GOPROXY=https://proxy.golang.org
RUN arch=$(dpkg --print-architecture) \
    && v=v0.0.1-go${GO_VERSION}.linux-${arch} \
    && curl -fsSL -o /tmp/go.zip "${GOPROXY%%,*}/golang.org/toolchain/@v/${v}.zip" \
    && unzip -q /tmp/go.zip -d /tmp/go \
    && mv "/tmp/go/golang.org/toolchain@${v}" /usr/local/go \
    && rm -rf /tmp/go /tmp/go.zip \
    && /usr/local/go/bin/go version
ENV PATH=/usr/local/go/bin:/root/go/bin:$PATH \
    CGO_ENABLED=1 \
    GOTOOLCHAIN=local \
    GOFLAGS=-buildvcs=false
WORKDIR /src
# Modules first: a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/root/go/pkg/mod \
    go mod download
COPY . .
ARG VERSION=docker
RUN --mount=type=cache,target=/root/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -tags duckdb_arrow -trimpath -ldflags "-X main.version=${VERSION}" -o /out/lakectl ./cmd/lakectl

FROM ${BASE} AS lakectl
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
