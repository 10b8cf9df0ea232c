# Jupyter for analysts: the notebooks' requirements (ADBC Flight SQL,
# pyarrow, pandas, polars, matplotlib) from PyPI in a virtualenv, on Debian's
# Python 3.11, FROM finlake's own Debian base (deploy/base/build.sh). The
# notebooks are mounted, not copied, so edits stay on the laptop.
ARG BASE=finlake/base:bookworm

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
COPY --from=build /opt/venv /opt/venv
RUN useradd --create-home --uid 1000 analyst \
    && mkdir -p /home/analyst/notebooks \
    && chown analyst:analyst /home/analyst/notebooks
ENV PATH=/opt/venv/bin:$PATH
USER analyst
WORKDIR /home/analyst/notebooks
EXPOSE 8888
CMD ["jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser", "--ServerApp.root_dir=/home/analyst/notebooks"]
