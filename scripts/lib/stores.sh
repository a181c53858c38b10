# shellcheck shell=bash
# Makes sure PostgreSQL and Redis answer on loopback (127.0.0.1:5432, :6379),
# installing them from Debian's packages and starting them where missing, and
# that nginx is installed for scripts/cluster, Prometheus for the alerting
# rules, Python 3 with venv and Node.js with npm for the pinned tools of
# scripts/check-deploy and scripts/contract.
# Sourced by scripts/up, scripts/cluster, scripts/contract and scripts/test;
# changes nothing that already works.

PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_PORT=6379

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# A TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# free_ports_from N: a port P such that P, P+1, ..., P+N-1 are all free now
# (for scripts/cluster, which lays its processes out from P).
free_ports_from() {
  python3 - "$1" <<'PY'
import socket, sys
n = int(sys.argv[1])
for _ in range(200):
    probe = socket.socket(); probe.bind(("127.0.0.1", 0)); base = probe.getsockname()[1]; probe.close()
    held = []
    try:
        for p in range(base, base + n):
            s = socket.socket(); held.append(s); s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        for s in held: s.close()
    print(base); sys.exit(0)
sys.exit("no run of free ports found")
PY
}

# cpu_ticks PID: the process's user + system CPU time so far, in clock ticks.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"
  else sudo -u postgres sh -c "$*"
  fi
}

apt_install() {
  command -v apt-get >/dev/null || die "apt-get not found: install $* by hand"
  if [ -z "${OEE_APT_UPDATED:-}" ]; then
    log "apt-get update"
    as_root apt-get update -qq
    OEE_APT_UPDATED=1
  fi
  log "installing $* from Debian's packages"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

pg_query() {
  psql "postgres://postgres@$PG_HOST:$PG_PORT/postgres" -v ON_ERROR_STOP=1 -qtAX -c "$1"
}

ensure_postgres() {
  if ! command -v psql >/dev/null || ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
    apt_install postgresql postgresql-client
  fi
  if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
    local version
    version=$(ls /usr/lib/postgresql | sort -V | tail -n1)
    if [ ! -d "/etc/postgresql/$version/main" ]; then
      log "creating PostgreSQL $version cluster 'main'"
      as_root pg_createcluster "$version" main >/dev/null
    fi
    log "starting PostgreSQL $version on $PG_HOST:$PG_PORT"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 1 60); do pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && break; sleep 0.5; done
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT" || die "PostgreSQL did not start (see /var/log/postgresql/)"
  fi
  if ! pg_query 'SELECT 1' >/dev/null 2>&1; then
    # Debian asks loopback clients for a password; the engine's defaults (and its
    # tests) connect as postgres without one. Trust loopback only.
    local hba
    hba=$(as_postgres "psql -qtAX -c 'SHOW hba_file'")
    log "allowing passwordless postgres logins from loopback in $hba"
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    as_postgres "psql -qtAX -c 'SELECT pg_reload_conf()'" >/dev/null
    sleep 0.5
    pg_query 'SELECT 1' >/dev/null || die "cannot log in to PostgreSQL at $PG_HOST:$PG_PORT as postgres"
  fi
}

redis_ping() {
  if command -v redis-cli >/dev/null; then
    [ "$(redis-cli -h "$PG_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]
  else
    (exec 3<>"/dev/tcp/$PG_HOST/$REDIS_PORT" && printf 'PING\r\n' >&3 && timeout 1 head -c 5 <&3 | grep -q PONG) 2>/dev/null
  fi
}

ensure_redis() {
  # The binary is needed even when a Redis already answers: fault tests start their own.
  command -v redis-server >/dev/null || apt_install redis-server
  redis_ping && return 0
  log "starting Redis on $PG_HOST:$REDIS_PORT"
  local dir=/var/lib/redis
  [ -w "$dir" ] || dir=$(mktemp -d)
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
    --dir "$dir" --logfile "$dir/oee-redis.log" >/dev/null
  for _ in $(seq 1 40); do redis_ping && return 0; sleep 0.25; done
  die "Redis did not start (see $dir/oee-redis.log)"
}

ensure_rust() {
  command -v cargo >/dev/null || die "cargo not found: install a Rust toolchain (rustup) first"
}

nginx_bin() {
  command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; }
}

# Installs packages whose service must not run here: scripts start their own
# copy, with their own configuration, on their own port. Debian starts a
# package's service as soon as it is installed unless /usr/sbin/policy-rc.d says
# no, so one saying no is put in place for the install where there is none. A
# service started anyway (an existing policy allowed it) is stopped, and a
# systemd machine is told not to start it at boot either.
#   apt_install_stopped SERVICE PACKAGE...
apt_install_stopped() {
  local service=$1 policy=/usr/sbin/policy-rc.d rc=0
  shift
  if [ -e "$policy" ]; then
    apt_install "$@" || rc=$?
  else
    as_root sh -c "printf '#!/bin/sh\\nexit 101\\n' >$policy && chmod 755 $policy"
    apt_install "$@" || rc=$?
    as_root rm -f "$policy"
  fi
  if [ -d /run/systemd/system ]; then
    as_root systemctl disable --now "$service" >/dev/null 2>&1 || true
  elif [ -x "/etc/init.d/$service" ] && as_root "/etc/init.d/$service" status >/dev/null 2>&1; then
    log "stopping the $service service the package started"
    as_root "/etc/init.d/$service" stop >/dev/null 2>&1 || true
  fi
  return "$rc"
}

# nginx's binary only, for scripts/cluster (its service would take :80).
ensure_nginx() {
  [ -n "$(nginx_bin)" ] && return 0
  if ! apt_install_stopped nginx nginx || [ -z "$(nginx_bin)" ]; then die "could not install nginx"; fi
}

# Prometheus and promtool, for the alerting rules' checks and tests
# (scripts/check-deploy) and the private Prometheus of scripts/lib/prometheus.sh.
# The package's own service (on :9090, with /etc/prometheus's configuration) is
# not left running.
ensure_prometheus() {
  command -v prometheus >/dev/null && command -v promtool >/dev/null && return 0
  if ! apt_install_stopped prometheus prometheus || ! command -v prometheus >/dev/null ||
    ! command -v promtool >/dev/null; then
    die "could not install prometheus"
  fi
}

# Python 3 with venv, for scripts/check-deploy's pinned tools (Debian splits
# venv and ensurepip into python3-venv).
ensure_python() {
  if command -v python3 >/dev/null && python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    return 0
  fi
  apt_install python3 python3-venv || die "could not install python3 and python3-venv"
}

# Node.js 18 or later with npm, for scripts/contract's pinned tools (scripts/js).
ensure_node() {
  if command -v node >/dev/null && command -v npm >/dev/null &&
    [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 18 ]; then
    return 0
  fi
  apt_install nodejs npm || die "could not install nodejs and npm"
  [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 18 ] || die "Node.js 18 or later is needed"
}

# node_modules in scripts/js, as its package-lock.json pins it, installed once
# (the contract tools, the dashboard's type check and browser test).
node_tools() {
  ensure_node
  local lock=scripts/js/package-lock.json stamp=scripts/js/node_modules/.installed-lock
  if ! cmp -s "$lock" "$stamp" 2>/dev/null; then
    log "npm ci (scripts/js)"
    (cd scripts/js && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci failed in scripts/js"
    cp "$lock" "$stamp"
  fi
}

# Chromium from Debian's packages, for the dashboard's browser test (nothing
# downloads a browser of its own).
ensure_chromium() {
  command -v chromium >/dev/null && return 0
  apt_install chromium || die "could not install chromium"
}
