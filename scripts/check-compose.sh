#!/usr/bin/env bash
# compose.yaml checked without a Docker engine (none runs on this project's machines), with
# Debian's docker-compose 1.29:
#   - `docker-compose config -q` with the default profile (.env: fleet) and with each profile
#     (COMPOSE_PROFILES=<p>), and the services each selects, as docker-compose's own project code
#     selects them for `up` (which also refuses a dependency outside the active profiles);
#     each selection is compared with the table EXPECTED below;
#   - every file a service mounts from the repository, its build context and Dockerfile exist;
#     every healthcheck shell command parses;
#   - the host names each mounted configuration (and deploy/prometheus/prometheus.yml) names are
#     services (or network aliases) of every selection that runs it;
#   - `fraiseql-observer validate` on every configuration under deploy/config/ and every other one
#     compose.yaml mounts (skipped with a message when the binary is missing: FRAISEQL_OBSERVER_BIN,
#     default .build/debug/fraiseql-observer);
#   - promtool on the Prometheus configuration and the alert rules, when installed.
# Exits 1 after listing every problem. Installs docker-compose and shellcheck when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

install_missing() { # command package
    if ! command -v "$1" >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    fi
}
install_missing docker-compose docker-compose
install_missing shellcheck shellcheck

BIN=${FRAISEQL_OBSERVER_BIN:-.build/debug/fraiseql-observer}
PROFILES=(default postgres-only postgres-redis nats-distributed multi-database mssql "fleet,mssql")
# What each profile starts (any order). `default` is no --profile and no COMPOSE_PROFILES, so .env's.
declare -A EXPECTED=(
    [default]="nats redis postgres mariadb receiver mailpit prometheus grafana-dashboards grafana
        pg-bridge-install mysql-bridge-install pg-bridge mysql-bridge observer-worker-1 observer-worker-2
        job-worker flight-server metrics-gateway"
    [postgres-only]="postgres receiver mailpit observer-install postgres-only-observer-worker-1
        postgres-only-observer-worker-2"
    [postgres-redis]="redis postgres receiver postgres-redis-observer-install postgres-redis-observer-worker-1
        postgres-redis-observer-worker-2 postgres-redis-job-worker"
    [nats-distributed]="nats redis postgres receiver mailpit nats-distributed-pg-bridge-install
        nats-distributed-pg-bridge-1 nats-distributed-pg-bridge-2 nats-distributed-observer-worker-1
        nats-distributed-observer-worker-2 nats-distributed-job-worker nats-distributed-flight-server
        nats-distributed-metrics-gateway"
    [multi-database]="nats redis postgres mariadb sqlserver sqlserver-init receiver mailpit
        multi-database-pg-bridge-install multi-database-mysql-bridge-install multi-database-mssql-bridge-install
        multi-database-pg-bridge multi-database-mysql-bridge multi-database-mssql-bridge
        multi-database-observer-worker-1 multi-database-observer-worker-2 multi-database-job-worker
        multi-database-flight-server multi-database-metrics-gateway"
    [mssql]="nats sqlserver sqlserver-init mssql-bridge-install mssql-bridge"
)
EXPECTED[fleet,mssql]="${EXPECTED[default]} ${EXPECTED[mssql]}"

failures=0
fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}

# docker-compose's own Python (its project code selects the services) reads the rendered
# configuration: `selection` prints the active profiles and the services `up` would start, then
# checks the host names of their configurations; `files` checks what the services mount and their
# healthchecks; `configs` lists the FraiseQL configurations mounted. Problems: "FAIL …" lines, exit 1.
COMPOSE_PYTHON=$(sed -n '1s/^#! *//p' "$(command -v docker-compose)")
[[ $COMPOSE_PYTHON == */python* ]] || COMPOSE_PYTHON=python3
HELPER=$(
    cat <<'PY'
import os, subprocess, sys, tomllib, urllib.parse
import yaml

mode, rendered = sys.argv[1], sys.argv[2]
ROOT = os.getcwd()
SERVICES = yaml.safe_load(open(rendered))["services"]
CONFIG_TARGET = "/etc/fraiseql/fraiseql.toml"
problems = []


def binds(service):
    """(source, target) of the service's bind mounts."""
    for volume in SERVICES[service].get("volumes", []):
        if isinstance(volume, dict):
            source, target = volume.get("source", ""), volume.get("target", "")
        else:
            source, _, rest = volume.partition(":")
            target = rest.split(":")[0]
        if source.startswith(("/", ".")):
            yield source, target


def url_hosts(url):
    for part in url.split(","):  # a NATS cluster is a list
        host = urllib.parse.urlsplit(part.strip()).hostname
        if host:
            yield host


def config_hosts(path):
    """The servers and endpoints a FraiseQL configuration names, by host."""
    with open(path, "rb") as file:
        config = tomllib.load(file)
    urls = [config.get(s, {}).get("url") for s in ("nats", "redis", "postgres", "mysql", "mssql")]
    urls += [config.get("search", {}).get("elasticsearch_url"), config.get("flight", {}).get("views_url")]
    urls += [a.get("url") for o in config.get("observers", []) for a in o.get("actions", [])]
    urls += [s.get("url") for s in config.get("gateway", {}).get("services", [])]
    hosts = {h for u in urls if isinstance(u, str) for h in url_hosts(u)}
    if "host" in config.get("smtp", {}):
        hosts.add(config["smtp"]["host"])
    return hosts


def prometheus_hosts(path):
    with open(path) as file:
        config = yaml.safe_load(file)
    return {t.rsplit(":", 1)[0] for job in config.get("scrape_configs", [])
            for group in job.get("static_configs", []) for t in group.get("targets", [])}


def selection():
    from docker.errors import NotFound
    from compose.cli.command import get_profiles_from_options, get_project_name
    from compose.config import config
    from compose.config.environment import Environment
    from compose.config.errors import ConfigurationError
    from compose.project import Project

    class NoEngine:
        """The project asks the engine whether legacy networks exist: none does."""
        _version = "1.41"

        def __getattr__(self, name):
            def missing(*args, **kwargs):
                raise NotFound(f"no Docker engine ({name})")
            return missing

    environment = Environment.from_env_file(ROOT)
    details = config.find(ROOT, ["compose.yaml"], environment)
    profiles = get_profiles_from_options({"--profile": []}, environment)
    project = Project.from_config(get_project_name(details.working_dir, None, environment),
                                  config.load(details, True), NoEngine(), enabled_profiles=profiles)
    try:
        selected = [s.name for s in project.get_services(include_deps=True)]
    except ConfigurationError as error:
        print(f"FAIL {error.msg}")
        sys.exit(1)
    print(",".join(profiles) + ": " + " ".join(selected))
    names = set(selected)
    for name in selected:
        networks = SERVICES[name].get("networks") or {}
        names.update(a for n in networks.values() if n for a in n.get("aliases", []))
    reported = set()
    for name in selected:
        for source, target in binds(name):
            if not os.path.isfile(source) or source in reported:
                continue
            reported.add(source)
            if target == CONFIG_TARGET:
                hosts = config_hosts(source)
            elif target.endswith("/prometheus.yml"):
                hosts = prometheus_hosts(source) - {"127.0.0.1", "localhost"}
            else:
                continue
            for host in sorted(hosts - names):
                problems.append(f"{os.path.relpath(source)} (mounted by {name}) names host "
                                f"{host!r}, which no service of this selection answers to")


def files():
    checked = set()
    for name, service in SERVICES.items():
        for source, _ in binds(name):
            relative = os.path.relpath(source, ROOT)
            if relative.startswith(".."):
                problems.append(f"{name}: mounts {source}, outside the repository")
            elif not os.path.exists(source):
                problems.append(f"{name}: mounts {relative}, which does not exist")
            checked.add(relative)
        build = service.get("build")
        if build:
            context = build.get("context", ".")
            dockerfile = os.path.join(context, build.get("dockerfile", "Dockerfile"))
            for path in (context, dockerfile):
                if not os.path.exists(path):
                    problems.append(f"{name}: build needs {os.path.relpath(path, ROOT)}, which does not exist")
                checked.add(os.path.relpath(path, ROOT))
        test = (service.get("healthcheck") or {}).get("test") or []
        # The rendered configuration escapes $ as $$.
        test = [t.replace("$$", "$") for t in test]
        if test[:3] == ["CMD", "bash", "-c"]:
            shell = ["bash", "-n", "-c", test[3]]
        elif test[:1] == ["CMD-SHELL"]:
            shell = ["sh", "-n", "-c", test[1]]
        else:
            continue
        result = subprocess.run(shell, capture_output=True, text=True)
        if result.returncode != 0:
            problems.append(f"{name}: the healthcheck does not parse: {result.stderr.strip()}")
    print(f"{len(checked)} paths exist: " + " ".join(sorted(checked)))


def configs():
    paths = {os.path.relpath(s, ROOT) for n in SERVICES for s, t in binds(n) if t == CONFIG_TARGET}
    print("\n".join(sorted(paths)))


{"selection": selection, "files": files, "configs": configs}[mode]()
for problem in problems:
    print(f"FAIL {problem}")
sys.exit(1 if problems else 0)
PY
)
helper() { "$COMPOSE_PYTHON" -c "$HELPER" "$@"; }

rendered=$(mktemp)
trap 'rm -f "$rendered"' EXIT
echo "--- docker-compose $(docker-compose version --short): compose.yaml"
if ! env -u COMPOSE_PROFILES docker-compose -f compose.yaml config >"$rendered"; then
    fail "docker-compose config"
    exit 1
fi

echo "--- profiles: the services each selects"
for profile in "${PROFILES[@]}"; do
    if [[ $profile == default ]]; then
        run=(env -u COMPOSE_PROFILES)
    else
        run=(env "COMPOSE_PROFILES=$profile")
    fi
    if ! "${run[@]}" docker-compose -f compose.yaml config -q; then
        fail "$profile: docker-compose config -q"
        continue
    fi
    if ! output=$("${run[@]}" "$COMPOSE_PYTHON" -c "$HELPER" selection "$rendered"); then
        echo "$output"
        fail "$profile: the selection"
        continue
    fi
    line=${output%%$'\n'*}
    selected=${line#*: }
    count=$(wc -w <<<"$selected")
    printf '%-17s (COMPOSE_PROFILES=%s) %2d services: %s\n' "$profile" "${line%%: *}" "$count" "$selected"
    if ! difference=$(diff <(tr -s ' \n' '\n' <<<"${EXPECTED[$profile]}" | sed '/^$/d' | sort -u) \
        <(tr ' ' '\n' <<<"$selected" | sort)); then
        fail "$profile: selects other services than EXPECTED ('<' expected only, '>' selected only):"
        echo "$difference"
    fi
done

echo "--- mounted files, build contexts, healthchecks"
if output=$(helper files "$rendered"); then
    echo "ok   $output"
else
    echo "$output"
    fail "mounted files or healthchecks"
fi

echo "--- configurations: fraiseql-observer validate"
mapfile -t configs < <({ ls deploy/config/*.toml; helper configs "$rendered"; } | sort -u)
if [[ -x $BIN ]]; then
    # As the containers see them: without FRAISEQL_* overrides from this shell.
    clean=()
    while IFS= read -r name; do clean+=(-u "$name"); done < <(compgen -e | grep '^FRAISEQL_' || true)
    for config in "${configs[@]}"; do
        if output=$(env "${clean[@]}" "$BIN" validate --config "$config" 2>&1); then
            echo "ok   $config: $output"
        else
            fail "$config: $output"
        fi
    done
else
    echo "skip ${#configs[@]} configurations: $BIN not found (swift build, or set FRAISEQL_OBSERVER_BIN)"
fi

echo "--- Prometheus"
if command -v promtool >/dev/null; then
    if output=$(promtool check config --syntax-only deploy/prometheus/prometheus.yml 2>&1); then
        echo "ok   deploy/prometheus/prometheus.yml"
    else
        fail "deploy/prometheus/prometheus.yml: $output"
    fi
    if output=$(promtool check rules docs/monitoring/alerts.yml 2>&1); then
        echo "ok   docs/monitoring/alerts.yml: $(grep -o '[0-9]* rules found' <<<"$output")"
    else
        fail "docs/monitoring/alerts.yml: $output"
    fi
else
    echo "skip promtool not installed (Debian: apt-get install prometheus)"
fi

if ((failures > 0)); then
    echo "check-compose: $failures problem(s)"
    exit 1
fi
echo "check-compose: all checks passed"
