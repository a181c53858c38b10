# shellcheck shell=bash
# A private Prometheus for soaks and fault tests: Debian's `prometheus`, run as
# the caller's own process on a free loopback port, scraping the given oee
# processes every second and evaluating the rules the project ships
# (deploy/prometheus/alerts.yml) every second, with its data under a directory
# of the caller's. Sourced (it sources scripts/lib/stores.sh too):
#
#   prom_start DIR JOB=HOST:PORT...
#       Writes DIR/prometheus.yml, keeps its data in DIR/data and its log in
#       DIR/prometheus.log, starts Prometheus and waits until it is ready. Sets
#       PROM_URL (http://127.0.0.1:PORT, also written to DIR/url) and PROM_PID.
#       JOB is the scrape job: oee-api or oee-worker, as the rules expect
#       (e.g. oee-api=127.0.0.1:8001 oee-worker=127.0.0.1:9101). A target may
#       be down when it starts; Prometheus keeps trying it.
#   prom_wait_scraped [SECONDS]
#       Waits (default 30 s) until every target has been scraped at least once.
#   prom_stop
#       Stops it (SIGTERM, SIGKILL after 10 s). Call it from the caller's EXIT
#       trap: nothing else stops it.
#
# PROM_RULES names another rules file (default: the repository's alerts.yml).
# scripts/lib/prom_report.py reads what it recorded: the dashboard's queries,
# and which alerts fired after which fault.

# shellcheck source-path=SCRIPTDIR source=stores.sh
source "$(dirname "${BASH_SOURCE[0]}")/stores.sh"

PROM_URL=
PROM_PID=

prom_start() {
  [ "$#" -ge 2 ] || die "usage: prom_start DIR JOB=HOST:PORT..."
  [ -z "$PROM_PID" ] || die "prom_start: a Prometheus is already running (pid $PROM_PID)"
  ensure_prometheus
  local dir=$1 rules=${PROM_RULES:-$(dirname "${BASH_SOURCE[0]}")/../../deploy/prometheus/alerts.yml}
  shift
  mkdir -p "$dir/data"
  dir=$(cd "$dir" && pwd)
  rules=$(cd "$(dirname "$rules")" && pwd)/$(basename "$rules")
  [ -f "$rules" ] || die "prom_start: no rules file $rules"

  # One scrape job per JOB, in the order first named.
  local target job jobs=() config=$dir/prometheus.yml
  declare -A targets=()
  for target in "$@"; do
    [[ $target =~ ^([A-Za-z0-9_-]+)=([^=[:space:]]+:[0-9]+)$ ]] ||
      die "prom_start: $target is not JOB=HOST:PORT"
    job=${BASH_REMATCH[1]}
    [ -n "${targets[$job]:-}" ] || jobs+=("$job")
    targets[$job]+="\"${BASH_REMATCH[2]}\", "
  done
  {
    printf '%s\n' "# Written by prom_start (scripts/lib/prometheus.sh)." \
      "global:" "  scrape_interval: 1s" "  scrape_timeout: 1s" "  evaluation_interval: 1s" \
      "rule_files:" "  - \"$rules\"" "scrape_configs:"
    for job in "${jobs[@]}"; do
      printf '  - job_name: %s\n    static_configs:\n      - targets: [%s]\n' "$job" "${targets[$job]%, }"
    done
  } >"$config"
  promtool check config "$config" >"$dir/check-config.log" 2>&1 ||
    { cat "$dir/check-config.log" >&2; die "prom_start: promtool rejected $config"; }

  # A port nothing answers on; Prometheus may still lose it to a race, then
  # another is tried.
  local port attempt
  for attempt in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
    prometheus --config.file="$config" --storage.tsdb.path="$dir/data" \
      --storage.tsdb.retention.time=1d --web.listen-address="127.0.0.1:$port" \
      >>"$dir/prometheus.log" 2>&1 &
    PROM_PID=$!
    PROM_URL=http://127.0.0.1:$port
    for _ in $(seq 1 120); do
      if curl -fsS "$PROM_URL/-/ready" >/dev/null 2>&1; then
        printf '%s\n' "$PROM_URL" >"$dir/url"
        log "Prometheus on $PROM_URL (pid $PROM_PID; $dir)"
        return 0
      fi
      kill -0 "$PROM_PID" 2>/dev/null || break
      sleep 0.25
    done
    if kill -0 "$PROM_PID" 2>/dev/null; then
      prom_stop
      die "prom_start: Prometheus did not become ready in 30 s (see $dir/prometheus.log)"
    fi
    wait "$PROM_PID" 2>/dev/null || true
    PROM_PID='' PROM_URL=''
    grep -q 'address already in use' "$dir/prometheus.log" ||
      { tail -n 20 "$dir/prometheus.log" >&2; die "prom_start: Prometheus exited (see $dir/prometheus.log)"; }
    log "port $port was taken (attempt $attempt); trying another"
  done
  die "prom_start: found no free port for Prometheus"
}

prom_wait_scraped() {
  local timeout=${1:-30} deadline
  [ -n "$PROM_URL" ] || die "prom_wait_scraped: no Prometheus (prom_start first)"
  deadline=$((SECONDS + timeout))
  while [ "$SECONDS" -lt "$deadline" ]; do
    curl -fsS "$PROM_URL/api/v1/targets?state=active" 2>/dev/null | python3 -c '
import json, sys
targets = json.load(sys.stdin)["data"]["activeTargets"]
sys.exit(0 if targets and all(not t["lastScrape"].startswith("0001-") for t in targets) else 1)
' && return 0
    sleep 0.5
  done
  die "prom_wait_scraped: not every target was scraped within $timeout s ($PROM_URL/targets)"
}

prom_stop() {
  [ -n "$PROM_PID" ] || return 0
  if kill -0 "$PROM_PID" 2>/dev/null; then
    kill -TERM "$PROM_PID" 2>/dev/null || true
    for _ in $(seq 1 40); do
      kill -0 "$PROM_PID" 2>/dev/null || break
      sleep 0.25
    done
    kill -KILL "$PROM_PID" 2>/dev/null || true
  fi
  wait "$PROM_PID" 2>/dev/null || true
  PROM_PID='' PROM_URL=''
}
