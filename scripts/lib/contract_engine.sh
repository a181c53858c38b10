# shellcheck shell=bash
# A live engine for the contract tests (newman, schemathesis): one oee-api and
# one oee-worker on free loopback ports, over a database and a Redis namespace
# of their own, with API keys required and an instant, never-failing venue.
# Sourced after scripts/lib/stores.sh; the caller runs from the repository root.
#
#   contract_engine_up DIR    starts it, logging to DIR; sets CONTRACT_URL,
#                             CONTRACT_ADMIN_KEY (scopes admin) and
#                             CONTRACT_TRADE_KEY (trade,read)
#   contract_engine_down      stops it and drops its database and namespace;
#                             installed as an EXIT trap by contract_engine_up
#
# The binaries come from ${OEE_BIN_DIR:-target/debug}; nothing is built here.
# Every wait is bounded: OEE_CONTRACT_READY_TIMEOUT seconds (default 60).

CONTRACT_PIDS=()
CONTRACT_DB=
CONTRACT_NS=

# The status of GET $1 within 2 s, or 000.
http_status() {
  curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true
}

contract_engine_up() {
  local dir=$1 bin api_port worker_port url tag
  bin=${OEE_BIN_DIR:-target/debug}
  [ -x "$bin/oee-api" ] && [ -x "$bin/oee-worker" ] ||
    die "no oee-api and oee-worker in $bin: run cargo build --bins first (or set OEE_BIN_DIR)"
  mkdir -p "$dir"
  ensure_postgres
  ensure_redis

  tag="$$_$(date +%s)"
  CONTRACT_DB="oee_contract_$tag"
  CONTRACT_NS="contract-$tag"
  trap contract_engine_down EXIT
  pg_query "CREATE DATABASE \"$CONTRACT_DB\"" >/dev/null

  api_port=$(free_port)
  worker_port=$(free_port)
  url="http://127.0.0.1:$api_port"
  export DATABASE_URL="postgres://postgres@$PG_HOST:$PG_PORT/$CONTRACT_DB"
  export REDIS_URL="redis://$PG_HOST:$REDIS_PORT"
  export OEE_NAMESPACE=$CONTRACT_NS OEE_AUTH=required
  export OEE_VENUE_LATENCY=instant OEE_VENUE_FAILURE_RATE=0
  # The fuzzer sends many bad keys on purpose: let failed authentication through
  # (still counted), so that its answers stay 401 and not 429.
  export OEE_AUTH_FAILURE_RATE=1000000 OEE_AUTH_FAILURE_BURST=1000000
  export OEE_SHUTDOWN_DELAY_MS=0 OEE_SHUTDOWN_GRACE_MS=2000 RUST_LOG=${RUST_LOG:-warn}

  "$bin/oee-api" migrate >"$dir/migrate.log" 2>&1 || { cat "$dir/migrate.log" >&2; die "migrations failed"; }
  CONTRACT_ADMIN_KEY=$(key_of "$("$bin/oee-api" keys create --account contract-admin --scopes admin \
    --rate 1000000 --burst 1000000)") || die "could not create the admin key"
  CONTRACT_TRADE_KEY=$(key_of "$("$bin/oee-api" keys create --account contract-trader --scopes trade,read \
    --rate 1000000 --burst 1000000)") || die "could not create the trading key"

  OEE_HTTP_ADDR="127.0.0.1:$api_port" "$bin/oee-api" serve </dev/null >"$dir/api.log" 2>&1 &
  CONTRACT_PIDS+=($!)
  OEE_METRICS_ADDR="127.0.0.1:$worker_port" "$bin/oee-worker" </dev/null >"$dir/worker.log" 2>&1 &
  CONTRACT_PIDS+=($!)

  local deadline=$((SECONDS + ${OEE_CONTRACT_READY_TIMEOUT:-60}))
  until [ "$(http_status "$url/ready")" = 200 ] && [ "$(http_status "http://127.0.0.1:$worker_port/ready")" = 200 ]; do
    local pid
    for pid in "${CONTRACT_PIDS[@]}"; do
      kill -0 "$pid" 2>/dev/null || { tail -n 20 "$dir/api.log" "$dir/worker.log" >&2; die "the contract engine exited"; }
    done
    [ "$SECONDS" -lt "$deadline" ] || { tail -n 20 "$dir/api.log" "$dir/worker.log" >&2; die "the contract engine was not ready in time"; }
    sleep 0.2
  done
  CONTRACT_URL=$url
  export CONTRACT_URL CONTRACT_ADMIN_KEY CONTRACT_TRADE_KEY
  log "contract engine ready at $url (database $CONTRACT_DB, namespace $CONTRACT_NS, logs in $dir)"
}

# The `key` of `oee-api keys create`'s JSON line $1.
key_of() {
  python3 -c 'import json, sys; print(json.loads(sys.argv[1])["key"])' "$1"
}

contract_engine_down() {
  local pid deadline
  for pid in "${CONTRACT_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  deadline=$((SECONDS + 10))
  for pid in "${CONTRACT_PIDS[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  CONTRACT_PIDS=()
  if [ -n "$CONTRACT_DB" ]; then
    pg_query "DROP DATABASE IF EXISTS \"$CONTRACT_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
    CONTRACT_DB=
  fi
  if [ -n "$CONTRACT_NS" ]; then
    if command -v redis-cli >/dev/null; then
      redis-cli -h "$PG_HOST" -p "$REDIS_PORT" --scan --pattern "$CONTRACT_NS:*" |
        xargs -r redis-cli -h "$PG_HOST" -p "$REDIS_PORT" del >/dev/null 2>&1 || true
    fi
    CONTRACT_NS=
  fi
}
