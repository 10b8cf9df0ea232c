#!/usr/bin/env bash
# Figures of the laptop deployment (docker-compose.yml), measured on this machine, into
# bench/results/compose-<date>.md: image build time (cached; with --scratch also from scratch, the
# builder cache and images removed first), image sizes, `just up` to all healthy on empty volumes,
# `docker stats` memory of every container beside its limit after --minutes (10) at the generator's
# 10 tx/s, recovery after a SIGKILL inside the ingest and flink containers, `just compose-down`'s stop
# time, and the load average at each step (the machine is shared). Owns the finlake compose project
# and its volumes: they are removed first and at the end.
#
#   bench/compose.sh [--scratch] [--minutes N]
set -euo pipefail
cd "$(dirname "$0")/.."

scratch=0 minutes=10
while (($#)); do
  case $1 in
    --scratch) scratch=1 ;;
    --minutes) minutes=$2; shift ;;
    *) echo "usage: bench/compose.sh [--scratch] [--minutes N]" >&2; exit 2 ;;
  esac
  shift
done

export DOCKER_BUILDKIT=1
out=bench/results/compose-$(date -u +%F).md
mkdir -p bench/results
load() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }
lines=()
row() { lines+=("| $1 | $2 | $(load) |"); printf '%s: %s (load %s)\n' "$1" "$2" "$(load)" >&2; }

healthy_all() {
  local svc
  for svc in kafka rules-watcher flink ingest flight generator jupyter; do
    [[ $(docker inspect -f '{{.State.Health.Status}}' "$(docker compose ps -q "$svc")" 2>/dev/null) == healthy ]] || return 1
  done
}

# kill_recover SVC: SIGKILL of the container's main process from the host (a crash: the restart
# policy applies, unlike `docker kill`), then seconds until the container is healthy again.
kill_recover() {
  local id pid n0 t0
  id=$(docker compose ps -q "$1")
  pid=$(docker inspect -f '{{.State.Pid}}' "$id")
  n0=$(docker inspect -f '{{.RestartCount}}' "$id")
  t0=$(now)
  kill -KILL "$pid"
  until [[ $(docker inspect -f '{{.RestartCount}}' "$id") -gt $n0 &&
    $(docker inspect -f '{{.State.Health.Status}}' "$id") == healthy ]]; do
    sleep 0.5
  done
  secs "$t0" "$(now)"
}

docker compose down --volumes --remove-orphans --timeout 60 >/dev/null 2>&1 || true

if ((scratch)); then
  docker image rm -f finlake/lakectl:local finlake/kafka:local finlake/flinkjob:local finlake/jupyter:local \
    finlake/base:bookworm >/dev/null 2>&1 || true
  docker builder prune -af >/dev/null
  t0=$(now)
  deploy/base/build.sh >&2
  row "base image (debootstrap + import)" "$(secs "$t0" "$(now)") s"
  t0=$(now)
  docker compose build flight flink >&2 && docker compose build >&2
  row "docker compose build, from scratch (no cache, no images)" "$(secs "$t0" "$(now)") s"
fi
t0=$(now)
deploy/base/build.sh >&2
docker compose build flight flink >&2 && docker compose build >&2
row "just up's build step, cached (no change)" "$(secs "$t0" "$(now)") s"

sizes=$(docker image ls --format '| {{.Repository}}:{{.Tag}} | {{.Size}} |' | grep '^| finlake/' | sort)

t0=$(now)
just up >&2
row "just up to all healthy (images built, empty volumes)" "$(secs "$t0" "$(now)") s"

sleep $((minutes * 60))
stats=$(docker stats --no-stream --format '{{.Name}} {{.MemUsage}}' | sort)
mem_rows=() total=0 limits=0
while read -r name used _ limit; do
  mib() { numfmt --from=iec-i --to-unit=Mi "${1%B}" 2>/dev/null || numfmt --from=iec --to-unit=Mi "${1%B}"; }
  u=$(mib "$used") l=$(mib "$limit")
  total=$((total + u)) limits=$((limits + l))
  mem_rows+=("| $name | $u MiB | $l MiB |")
done <<<"$stats"
row "memory of all containers after ${minutes} min at 10 tx/s" "$total MiB (limits $limits MiB)"
landed=$(FINLAKE_TOKEN=${FINLAKE_ADMIN_TOKEN:-finlake-admin} bin/lakectl query --format csv 'SELECT count(*) FROM lake.transactions' | tail -1)

for svc in ingest flink; do
  row "recovery after SIGKILL inside $svc (to healthy)" "$(kill_recover "$svc") s"
done
until healthy_all; do sleep 1; done

t0=$(now)
just compose-down >&2
row "just compose-down" "$(secs "$t0" "$(now)") s"

t0=$(now)
just up >&2
row "just up to all healthy (second start, volumes kept)" "$(secs "$t0" "$(now)") s"
docker compose down --volumes --remove-orphans --timeout 60 >/dev/null 2>&1

{
  echo "# Compose figures, $(date -u +%F)"
  echo
  echo "\`bench/compose.sh$( ((scratch)) && echo ' --scratch') --minutes $minutes\` on $(nproc) cores, $(docker version -f 'Docker Engine {{.Server.Version}}'),"
  echo "shared with other work (load average beside each figure: 1, 5, 15 min). $landed transactions landed in the run."
  echo
  echo "| step | figure | load |"
  echo "|---|---|---|"
  printf '%s\n' "${lines[@]}"
  echo
  echo "## Memory (docker stats) after ${minutes} min at 10 tx/s"
  echo
  echo "| container | used | limit |"
  echo "|---|---|---|"
  printf '%s\n' "${mem_rows[@]}"
  echo "| **total** | **$total MiB** | $limits MiB |"
  echo
  echo "## Image sizes"
  echo
  echo "| image | size |"
  echo "|---|---|"
  echo "$sizes"
} >"$out"
echo "wrote $out" >&2
