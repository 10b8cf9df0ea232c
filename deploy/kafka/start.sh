#!/bin/bash
# Starts Apache Kafka in KRaft combined mode (broker and controller in one
# JVM), as `lakectl kafka run` does for `just dev`, configured by the
# environment the way the apache/kafka image is: every KAFKA_FOO_BAR
# variable becomes the server property foo.bar. CLUSTER_ID formats an empty
# KAFKA_LOG_DIRS once; a formatted one is left alone so its data survives.
set -euo pipefail

home=/opt/kafka
conf=$home/config/server.properties
: "${CLUSTER_ID:?set CLUSTER_ID: a base64url 16-byte UUID (kafka-storage random-uuid)}"
: "${KAFKA_LOG_DIRS:?set KAFKA_LOG_DIRS}"

{
    echo "# Written by start.sh from the KAFKA_* environment on every start."
    env | LC_ALL=C sort | while IFS='=' read -r name value; do
        case $name in
        KAFKA_HEAP_OPTS | KAFKA_JVM_PERFORMANCE_OPTS | KAFKA_OPTS) continue ;;
        KAFKA_*)
            key=${name#KAFKA_}
            echo "$(tr 'A-Z_' 'a-z.' <<<"$key")=$value"
            ;;
        esac
    done
} >"$conf"

cat >"$home/config/log4j2.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <Console name="stdout" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d{ISO8601}] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
    <Root level="INFO"><AppenderRef ref="stdout"/></Root>
  </Loggers>
</Configuration>
XML

# shellcheck disable=SC2206 # the options are word lists, as in Kafka's scripts
jvm=(${KAFKA_HEAP_OPTS:--Xmx384m -Xms64m} ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseSerialGC} ${KAFKA_OPTS:-}
    -Dlog4j2.configurationFile="$home/config/log4j2.xml" -cp "$home/libs/*")

if [ ! -f "$KAFKA_LOG_DIRS/meta.properties" ]; then
    java "${jvm[@]}" -XX:TieredStopAtLevel=1 kafka.tools.StorageTool format --ignore-formatted \
        -t "$CLUSTER_ID" -c "$conf"
fi
exec java "${jvm[@]}" kafka.Kafka "$conf"
