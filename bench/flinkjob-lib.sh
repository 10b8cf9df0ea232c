# Shared by bench/flink-state.sh and bench/alert-latency.sh: a throwaway broker and the streaming job,
# all on 127.0.0.1, under one work directory that the caller removes. Source it; it defines functions only.

BIN=${FINLAKE_BIN:-bin/lakectl}
JAR=${JAR:-flinkjob/target/finlake-flinkjob.jar}

need_tools() {
    [ -x "$BIN" ] || { echo "no $BIN: run 'just build' (or set FINLAKE_BIN)" >&2; exit 1; }
    [ -f "$JAR" ] || mvn -q -B -f flinkjob/pom.xml -DskipTests package
    command -v jcmd >/dev/null || { echo "jcmd (JDK 17) is needed" >&2; exit 1; }
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_broker DIR: a fresh broker in DIR; sets BROKER_PID and BROKERS, creates the topics and the rules.
start_broker() {
    local dir=$1
    mkdir -p "$dir"
    "$BIN" kafka run --dir "$dir/kafka" --port 0 --ready-file "$dir/kafka.ready" --quiet >"$dir/kafka.log" 2>&1 &
    BROKER_PID=$!
    for _ in $(seq 1 900); do
        [ -s "$dir/kafka.ready" ] && break
        kill -0 "$BROKER_PID" 2>/dev/null || { echo "broker died, see $dir/kafka.log" >&2; exit 1; }
        sleep 0.2
    done
    BROKERS=$(cat "$dir/kafka.ready")
    "$BIN" --log-level error topics create --brokers "$BROKERS" >/dev/null
    "$BIN" --log-level error rules apply --brokers "$BROKERS" --fx config/fx_rates.yaml config/rules.yaml >/dev/null
}

# start_job DIR HEAP_MB ARGS...: the job jar as the stack runs it (fixed, pre-touched heap, serial GC);
# sets JOB_PID and REST (base URL), waits until the job is RUNNING.
start_job() {
    local dir=$1 heap=$2
    shift 2
    local port
    port=$(free_port)
    java -Xms"${heap}m" -Xmx"${heap}m" -XX:+AlwaysPreTouch -XX:+UseSerialGC -jar "$JAR" --bootstrap "$BROKERS" \
        --checkpoint-dir "$dir/checkpoints" --rest-port "$port" "$@" >"$dir/job.log" 2>&1 &
    JOB_PID=$!
    REST="http://127.0.0.1:$port"
    for _ in $(seq 1 600); do
        if curl -fsS "$REST/jobs/overview" 2>/dev/null | grep -q '"state":"RUNNING"'; then
            JOB_ID=$(curl -fsS "$REST/jobs/overview" | python3 -c 'import json,sys; print(json.load(sys.stdin)["jobs"][0]["jid"])')
            return
        fi
        kill -0 "$JOB_PID" 2>/dev/null || { echo "job died, see $dir/job.log" >&2; tail -20 "$dir/job.log" >&2; exit 1; }
        sleep 0.5
    done
    echo "job not RUNNING after 5 minutes, see $dir/job.log" >&2
    exit 1
}

# engine_metric NAME: the rules-engine's counter finlake.NAME, summed over its subtasks.
engine_metric() {
    curl -fsS "$REST/jobs/$JOB_ID" | python3 -c '
import json, sys, urllib.request
rest, jid, name = sys.argv[1], sys.argv[2], sys.argv[3]
job = json.load(sys.stdin)
vid = next(v["id"] for v in job["vertices"] if "rules-engine" in v["name"])
base = f"{rest}/jobs/{jid}/vertices/{vid}/subtasks/metrics"
ids = [m["id"] for m in json.load(urllib.request.urlopen(base)) if m["id"].endswith(".finlake." + name)]
if not ids:
    print(0); sys.exit()
vals = json.load(urllib.request.urlopen(base + "?agg=sum&get=" + ",".join(ids)))
print(int(sum(float(v["sum"]) for v in vals)))' "$REST" "$JOB_ID" "$1"
}

# wait_caught_up: until the engine has seen no new transaction for 10 s (the backlog is processed).
wait_caught_up() {
    local last=-1 same=0 n
    while [ "$same" -lt 5 ]; do
        sleep 2
        n=$(engine_metric transactions)
        if [ "$n" = "$last" ] && [ "$n" != 0 ]; then same=$((same + 1)); else same=0; fi
        last=$n
    done
}

write_bytes() { awk '/^write_bytes/ {print $2}' "/proc/$1/io"; }
rss_mb() { awk '/^VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

# live_heap_mb PID: heap in use right after a full GC.
live_heap_mb() {
    jcmd "$1" GC.run >/dev/null
    jcmd "$1" GC.heap_info | python3 -c '
import re, sys
t = sys.stdin.read()
m = re.findall(r"used (\d+)K", t)
# Serial GC prints the generations (young, old) then metaspace; the heap is the first two.
print(round(sum(int(x) for x in m[:2]) / 1024))'
}

stop_pid() {
    local pid=$1
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
}
