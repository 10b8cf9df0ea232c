#!/bin/bash
# Healthy when the broker answers a Kafka protocol request: an ApiVersions
# request (v0) on the given port, answered with error code 0. Plain bash, so
# a check every few seconds costs no JVM start.
set -euo pipefail
port=${1:-19092}
exec 3<>"/dev/tcp/127.0.0.1/$port"
# size 10 | api key 18 (ApiVersions) | version 0 | correlation id 7 | client id ""
printf '\x00\x00\x00\x0a\x00\x12\x00\x00\x00\x00\x00\x07\x00\x00' >&3
# size (4 bytes) | correlation id (4) | error code (2)
reply=$(timeout 5 head -c 10 <&3 | od -An -tx1 | tr -d ' \n')
exec 3>&-
[ "${reply:8:8}" = 00000007 ] && [ "${reply:16:4}" = 0000 ] || {
    echo "broker on :$port answered ApiVersions with '$reply'" >&2
    exit 1
}
