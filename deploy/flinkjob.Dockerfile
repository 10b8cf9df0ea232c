# syntax=docker/dockerfile:1
# The Flink job image: flinkjob/target/finlake-flinkjob.jar, built by Maven
# exactly as `just build` does, on the official Flink image of the job's
# version (Java 17). The compose file runs it twice: as the JobManager in
# application mode (standalone-job) and as the TaskManager.

ARG FLINK_IMAGE=flink:2.2.1-java17

FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY flinkjob/ flinkjob/
# The .m2 cache mount keeps Flink's and the connector's jars between builds.
RUN --mount=type=cache,target=/root/.m2 \
    mvn -B -q -f flinkjob/pom.xml -DskipTests package \
    && test -f flinkjob/target/finlake-flinkjob.jar

FROM ${FLINK_IMAGE}
USER root
# curl for the compose healthchecks against Flink's REST API.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /data/flink/checkpoints \
    && chown -R flink:flink /data
# usrlib/ is where application mode (standalone-job) finds the job's jar.
COPY --from=build --chown=flink:flink /src/flinkjob/target/finlake-flinkjob.jar /opt/flink/usrlib/finlake-flinkjob.jar
USER flink
