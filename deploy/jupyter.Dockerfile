# syntax=docker/dockerfile:1
# Jupyter for analysts: the notebooks' requirements (ADBC Flight SQL, pyarrow,
# pandas, polars, matplotlib) on the official Python image. The notebooks are
# mounted, not copied, so edits stay on the laptop.
FROM python:3.12-slim
COPY notebooks/requirements.txt /tmp/requirements.txt
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --disable-pip-version-check -r /tmp/requirements.txt \
    && useradd --create-home --uid 1000 analyst \
    && mkdir -p /home/analyst/notebooks \
    && chown analyst:analyst /home/analyst/notebooks
USER analyst
WORKDIR /home/analyst/notebooks
EXPOSE 8888
CMD ["jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser", "--ServerApp.root_dir=/home/analyst/notebooks"]
