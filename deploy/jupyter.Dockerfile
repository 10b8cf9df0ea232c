# Jupyter for analysts: the notebooks' requirements (ADBC Flight SQL,
# pyarrow, pandas, polars, matplotlib) from PyPI in a virtualenv, on Debian's
# Python 3.11, FROM finlake's own Debian base (deploy/base/build.sh). The
# notebooks are mounted, not copied, so edits stay on the laptop.
#
# Notebook 05 backtests rules: it runs `lakectl rules backtest`, which runs
# the Flink job's replay mode, so the image carries lakectl and the job's jar
# (copied from the images the flight and flink services run: the very same
# builds) and a JRE. Those images must be built first: `just up` builds the
# flight and flink services before the rest (compose's additional_contexts
# would say it here, but Engine 20.10's BuildKit refuses named contexts).
ARG BASE=finlake/base:bookworm
ARG LAKECTL_IMAGE=finlake/lakectl:local
ARG FLINKJOB_IMAGE=finlake/flinkjob:local

FROM ${LAKECTL_IMAGE} AS lakectl
FROM ${FLINKJOB_IMAGE} AS flinkjob

FROM ${BASE} AS python
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 ca-certificates \
    && rm -rf /var/lib/apt/lists/*

FROM python AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-venv \
    && rm -rf /var/lib/apt/lists/*
COPY notebooks/requirements.txt /tmp/requirements.txt
# FINLAKE_EXTRA_CA (an optional build secret) is trusted, beside the
# system's CAs, by pip only, in this stage: for networks that intercept TLS. It never reaches the image.
RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=secret,id=extra_ca \
    python3 -m venv /opt/venv \
    && if [ -s /run/secrets/extra_ca ]; then \
        cat /etc/ssl/certs/ca-certificates.crt /run/secrets/extra_ca >/tmp/ca.pem && export PIP_CERT=/tmp/ca.pem; fi \
    && /opt/venv/bin/pip install --disable-pip-version-check --only-binary=:all: -r /tmp/requirements.txt \
    && rm -f /tmp/ca.pem

FROM python AS jupyter
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/venv /opt/venv
COPY --from=lakectl /usr/local/bin/lakectl /usr/local/bin/lakectl
COPY --from=flinkjob /opt/flink/usrlib/finlake-flinkjob.jar /opt/finlake/finlake-flinkjob.jar
RUN useradd --create-home --uid 1000 analyst \
    && mkdir -p /home/analyst/notebooks \
    && chown analyst:analyst /home/analyst/notebooks
ENV PATH=/opt/venv/bin:$PATH
USER analyst
WORKDIR /home/analyst/notebooks
EXPOSE 8888
CMD ["jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser", "--ServerApp.root_dir=/home/analyst/notebooks"]
