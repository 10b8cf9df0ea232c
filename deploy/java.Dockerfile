# The two Java images, built from source with Debian's OpenJDK 17 and Maven,
# FROM finlake's own Debian base (deploy/base/build.sh):
#   --target flinkjob  the Flink job's shaded jar (flinkjob/, built as
#                      `just flink-jar` does), run as `just dev` runs it: one
#                      JVM with Flink's MiniCluster and the web UI on :8081.
#   --target kafka     Apache Kafka in KRaft combined mode from the Maven
#                      Central jars `lakectl kafka fetch` fetches for `just
#                      dev` (stack/kafkalocal/pom.xml.tmpl, its versions from
#                      stack/kafkalocal/jars.go).
ARG BASE=finlake/base:bookworm

FROM ${BASE} AS jdk
# FINLAKE_EXTRA_CA (an optional build secret) is trusted in the build stages
# only, before the JDK is installed so that Java's cacerts holds it too: for
# networks that intercept TLS. It never reaches an image that runs.
RUN --mount=type=secret,id=extra_ca \
    apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && if [ -s /run/secrets/extra_ca ]; then \
        awk '/BEGIN CERTIFICATE/{n++} n{print > ("/usr/local/share/ca-certificates/finlake-extra-" n ".crt")}' /run/secrets/extra_ca \
        && update-ca-certificates >/dev/null; fi \
    && apt-get install -y --no-install-recommends openjdk-17-jdk-headless maven \
    && rm -rf /var/lib/apt/lists/*

FROM jdk AS flinkjob-build
WORKDIR /src
COPY flinkjob/pom.xml flinkjob/pom.xml
COPY flinkjob/src flinkjob/src
# The .m2 cache mount keeps Flink's and the connector's jars between builds.
RUN --mount=type=cache,target=/root/.m2 \
    mvn -B -q -f flinkjob/pom.xml -DskipTests package \
    && test -f flinkjob/target/finlake-flinkjob.jar

FROM jdk AS kafka-jars
WORKDIR /src
COPY stack/kafkalocal/pom.xml.tmpl stack/kafkalocal/jars.go ./
# The pom `lakectl kafka fetch` renders, with the versions it renders it with.
RUN --mount=type=cache,target=/root/.m2 \
    v() { sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*\"\([^\"]*\)\".*/\1/p" jars.go; } \
    && kafka=$(v KafkaVersion) log4j=$(v log4jVersion) slf4j=$(v slf4jVersion) \
    && test -n "$kafka" && test -n "$log4j" && test -n "$slf4j" \
    && sed -e "s/{{.Kafka}}/$kafka/g" -e "s/{{.Log4j}}/$log4j/g" -e "s/{{.Slf4j}}/$slf4j/g" pom.xml.tmpl >pom.xml \
    && mvn -B -q -f pom.xml dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=/out/libs \
    && echo "$kafka" >/out/VERSION \
    && ls /out/libs/kafka_2.13-"$kafka".jar

FROM ${BASE} AS jre
# curl for the healthchecks against Flink's REST API.
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless curl \
    && rm -rf /var/lib/apt/lists/*

FROM jre AS flinkjob
RUN useradd --system --uid 10002 --user-group --home-dir /data --no-create-home flink \
    && mkdir -p /data/flink/checkpoints \
    && chown -R flink:flink /data
# The path the compose file's command names, as `just dev` names its jar.
COPY --from=flinkjob-build /src/flinkjob/target/finlake-flinkjob.jar /opt/flink/usrlib/finlake-flinkjob.jar
USER flink
WORKDIR /data
EXPOSE 8081
ENTRYPOINT ["java"]
CMD ["-jar", "/opt/flink/usrlib/finlake-flinkjob.jar", "--help"]

FROM jre AS kafka
RUN useradd --system --uid 10003 --user-group --home-dir /var/lib/kafka --no-create-home kafka \
    && mkdir -p /var/lib/kafka/data /opt/kafka/config \
    && chown -R kafka:kafka /var/lib/kafka /opt/kafka/config
COPY --from=kafka-jars /out/ /opt/kafka/
COPY deploy/kafka/start.sh deploy/kafka/healthcheck.sh /opt/kafka/bin/
USER kafka
EXPOSE 9092 19092
ENTRYPOINT ["/opt/kafka/bin/start.sh"]
