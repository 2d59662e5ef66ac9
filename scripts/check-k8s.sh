#!/usr/bin/env bash
# Offline checks of the Kubernetes manifests in k8s/ (no cluster: nothing is applied anywhere).
#
#   scripts/check-k8s.sh
#
# 1. Each copy of an example configuration under k8s/ is byte-identical to its source in
#    examples/ (the table CONFIG_COPIES below; kustomize loads no file outside an overlay's
#    directory, hence the copies). A source that does not exist yet is skipped with a message.
# 2. The PrometheusRule of k8s/components/prometheus-operator has exactly the groups of
#    docs/monitoring/alerts.yml (compared parsed).
# 3. Every kustomization of OVERLAYS is rendered with `kubectl kustomize` and
#    - every built-in resource is validated by kubernetes-validate in strict mode (unknown fields
#      are errors) against the Kubernetes KUBERNETES_VERSION schemas;
#    - the custom resources (ServiceMonitor, PrometheusRule, ScaledObject: no schema there) are
#      checked here: apiVersion, kind, required fields, their references;
#    - references resolve: selectors match pods, named ports exist, ConfigMaps exist (hash
#      suffixes included), Secrets are the ones of the overlay's secret templates, HPA/PDB/KEDA
#      targets exist; every pod meets the restricted Pod Security profile and has requests and
#      limits; a KEDA trigger names the stream and consumer of the configuration it scales.
# 4. The Secret templates (secret.example.yaml) validate strictly and carry CHANGE-ME markers.
# It prints one line per overlay with the number of resources validated and exits 1 on any
# problem. Needs kubectl (kustomize 5) and python3; installs kubernetes-validate and PyYAML with
# pip when missing.
set -euo pipefail

cd "$(dirname "$0")/.."

KUBERNETES_VERSION=1.32.0

# Rendered and validated (k8s/base too: it is a usable kustomization).
OVERLAYS=(
    k8s/base
    k8s/overlays/dev
    k8s/overlays/prod
    k8s/overlays/prod-keda
    k8s/overlays/postgres-only
    k8s/overlays/postgres-redis
    k8s/overlays/nats-distributed
    k8s/overlays/multi-database
)

# Overlays whose images must carry a pinned tag (not `latest`).
PINNED_OVERLAYS=(k8s/overlays/prod k8s/overlays/prod-keda)

# The Secrets an overlay's pods read, created outside kustomize from these templates.
secret_templates_of() {
    case "$1" in
        k8s/overlays/postgres-only) echo k8s/overlays/postgres-only/secret.example.yaml ;;
        k8s/overlays/postgres-redis) echo k8s/overlays/postgres-redis/secret.example.yaml ;;
        k8s/overlays/multi-database)
            echo k8s/base/secret.example.yaml k8s/overlays/multi-database/secret.example.yaml ;;
        *) echo k8s/base/secret.example.yaml ;;
    esac
}

SECRET_TEMPLATES=(
    k8s/base/secret.example.yaml
    k8s/overlays/postgres-only/secret.example.yaml
    k8s/overlays/postgres-redis/secret.example.yaml
    k8s/overlays/multi-database/secret.example.yaml
)

# copy → source: each must be byte-identical to its source.
CONFIG_COPIES=(
    "k8s/base/fraiseql.toml examples/nats-distributed.toml"
    "k8s/overlays/postgres-only/fraiseql.toml examples/postgres-only.toml"
    "k8s/overlays/postgres-redis/fraiseql.toml examples/postgres-redis.toml"
    "k8s/overlays/nats-distributed/fraiseql.toml examples/nats-distributed.toml"
    "k8s/overlays/multi-database/fraiseql.toml examples/multi-database.toml"
    "k8s/overlays/multi-database/multi-database-mysql.toml examples/multi-database-mysql.toml"
    "k8s/overlays/multi-database/multi-database-mssql.toml examples/multi-database-mssql.toml"
)

ALERTS=docs/monitoring/alerts.yml
PROMETHEUS_RULE=k8s/components/prometheus-operator/prometheusrule.yaml

problems=0
fail() {
    echo "FAIL $*"
    problems=$((problems + 1))
}

# --- tools ------------------------------------------------------------------------------------

render() {
    if command -v kubectl >/dev/null 2>&1; then
        kubectl kustomize "$1"
    elif command -v kustomize >/dev/null 2>&1; then
        kustomize build "$1"
    else
        echo "check-k8s: needs kubectl (with kustomize 5) or kustomize on PATH" >&2
        return 2
    fi
}

ensure_python_modules() {
    if python3 -c 'import yaml, kubernetes_validate' >/dev/null 2>&1; then
        return 0
    fi
    echo "check-k8s: installing kubernetes-validate and PyYAML with pip"
    if ! python3 -m pip --version >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null
        else
            echo "check-k8s: python3 has no pip: install python3-pip" >&2
            return 2
        fi
    fi
    # A Debian python3 refuses installs outside a virtual environment (PEP 668) unless told.
    python3 -m pip install -q kubernetes-validate pyyaml 2>/dev/null \
        || python3 -m pip install -q --break-system-packages kubernetes-validate pyyaml
    python3 -c 'import yaml, kubernetes_validate'
}

ensure_python_modules

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- the checks written in Python (PyYAML) ------------------------------------------------------
cat >"$work/check.py" <<'PYTHON'
"""Checks of rendered manifests that a JSON schema cannot make (see scripts/check-k8s.sh)."""
import sys

import yaml

NAMESPACE = "fraiseql"
CUSTOM = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("keda.sh/v1alpha1", "ScaledObject"),
}
CLUSTER_SCOPED = {"Namespace"}
WORKLOADS = {"Deployment", "StatefulSet", "Job"}
FLEET_ARGS = (["--config", "/etc/fraiseql/fraiseql.toml"], ["install", "--config", "/etc/fraiseql/fraiseql.toml"])

errors = []


def error(message):
    errors.append(message)


def load(path):
    with open(path) as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def ident(doc):
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def selects(selector, labels):
    """A LabelSelector (matchLabels, matchExpressions) against a set of labels."""
    if not selector:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def image_tag(image):
    name = image.split("@")[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def check_pod(where, template, configmaps, secrets, pinned, claims=()):
    spec = template["spec"]
    pod_security = spec.get("securityContext") or {}
    volumes = {volume["name"]: volume for volume in spec.get("volumes") or []}
    volumes.update({claim["metadata"]["name"]: {"name": claim["metadata"]["name"]} for claim in claims})
    for volume in volumes.values():
        if "configMap" in volume and volume["configMap"]["name"] not in configmaps:
            error(f"{where}: volume {volume['name']}: no ConfigMap {volume['configMap']['name']}")
        if "secret" in volume and volume["secret"]["secretName"] not in secrets:
            error(f"{where}: volume {volume['name']}: Secret {volume['secret']['secretName']} has no template")
    for container in (spec.get("initContainers") or []) + spec["containers"]:
        at = f"{where} container {container['name']}"
        security = container.get("securityContext") or {}

        def effective(key):
            return security.get(key, pod_security.get(key))

        if effective("runAsNonRoot") is not True:
            error(f"{at}: runAsNonRoot is not true")
        if (effective("seccompProfile") or {}).get("type") != "RuntimeDefault":
            error(f"{at}: seccompProfile is not RuntimeDefault")
        if security.get("allowPrivilegeEscalation") is not False:
            error(f"{at}: allowPrivilegeEscalation is not false")
        if security.get("readOnlyRootFilesystem") is not True:
            error(f"{at}: readOnlyRootFilesystem is not true")
        if "ALL" not in ((security.get("capabilities") or {}).get("drop") or []):
            error(f"{at}: capabilities do not drop ALL")
        resources = container.get("resources") or {}
        for kind in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if resource not in (resources.get(kind) or {}):
                    error(f"{at}: no {kind}.{resource}")
        tag = image_tag(container["image"])
        if tag is None and "@" not in container["image"]:
            error(f"{at}: image {container['image']} has no tag")
        if pinned and tag == "latest":
            error(f"{at}: image {container['image']} is not pinned")
        ports = {port.get("name") for port in container.get("ports") or []}
        for probe_name in ("startupProbe", "livenessProbe", "readinessProbe"):
            probe = container.get(probe_name) or {}
            for handler in ("httpGet", "tcpSocket", "grpc"):
                port = (probe.get(handler) or {}).get("port")
                if isinstance(port, str) and port not in ports:
                    error(f"{at}: {probe_name} names port {port}, which the container does not have")
        mounts = {mount["mountPath"]: mount for mount in container.get("volumeMounts") or []}
        for mount in mounts.values():
            if mount["name"] not in volumes:
                error(f"{at}: mounts volume {mount['name']}, which the pod does not have")
        for source in container.get("envFrom") or []:
            if "configMapRef" in source and source["configMapRef"]["name"] not in configmaps:
                if not source["configMapRef"].get("optional"):
                    error(f"{at}: envFrom: no ConfigMap {source['configMapRef']['name']}")
            if "secretRef" in source and source["secretRef"]["name"] not in secrets:
                error(f"{at}: envFrom: Secret {source['secretRef']['name']} has no template")
        for variable in container.get("env") or []:
            value_from = variable.get("valueFrom") or {}
            if "secretKeyRef" in value_from:
                reference = value_from["secretKeyRef"]
                if reference["key"] not in secrets.get(reference["name"], set()):
                    error(f"{at}: env {variable['name']}: no key {reference['key']} in the template of Secret {reference['name']}")
            if "configMapKeyRef" in value_from:
                reference = value_from["configMapKeyRef"]
                if reference["key"] not in configmaps.get(reference["name"], set()):
                    error(f"{at}: env {variable['name']}: no key {reference['key']} in ConfigMap {reference['name']}")
        if container["image"].startswith("fraiseql/"):
            # The service binary is the entrypoint; it reads the mounted configuration.
            if container.get("command") or container.get("args") not in FLEET_ARGS:
                error(f"{at}: expected args {FLEET_ARGS[0]} (or install …), no command")
            mount = mounts.get("/etc/fraiseql")
            volume = volumes.get(mount["name"]) if mount else None
            if not volume or "configMap" not in volume:
                error(f"{at}: no ConfigMap mounted at /etc/fraiseql")
            elif "fraiseql.toml" not in configmaps.get(volume["configMap"]["name"], set()):
                error(f"{at}: ConfigMap {volume['configMap']['name']} has no key fraiseql.toml")


def check_custom(doc, by_kind):
    kind, spec, at = doc["kind"], doc.get("spec"), ident(doc)
    if not isinstance(spec, dict):
        error(f"{at}: no spec")
        return
    if kind == "ServiceMonitor":
        unknown = set(spec) - {"selector", "namespaceSelector", "endpoints", "jobLabel", "targetLabels",
                               "podTargetLabels", "sampleLimit", "scrapeProtocols", "attachMetadata"}
        if unknown:
            error(f"{at}: unknown spec fields {sorted(unknown)}")
        endpoints = spec.get("endpoints")
        if not isinstance(spec.get("selector"), dict) or not isinstance(endpoints, list) or not endpoints:
            error(f"{at}: spec.selector and a non-empty spec.endpoints are required")
            return
        for endpoint in endpoints:
            if not endpoint.get("port"):
                error(f"{at}: an endpoint without a port name")
        names = set(spec.get("namespaceSelector", {}).get("matchNames") or [doc["metadata"].get("namespace")])
        selected = [service for service in by_kind.get("Service", [])
                    if service["metadata"].get("namespace") in names
                    and selects(spec["selector"], service["metadata"].get("labels") or {})]
        port_names = {endpoint.get("port") for endpoint in endpoints}
        if not any(port["name"] in port_names for service in selected for port in service["spec"]["ports"]):
            error(f"{at}: selects no Service with a port named {sorted(port_names)}")
        for service in by_kind.get("Service", []):
            if any(port.get("name") == "ops" for port in service["spec"]["ports"]) and service not in selected:
                error(f"{at}: does not scrape {ident(service)}, which has an ops port")
    elif kind == "PrometheusRule":
        groups = spec.get("groups")
        if set(spec) != {"groups"} or not isinstance(groups, list) or not groups:
            error(f"{at}: spec must hold a non-empty `groups` and nothing else")
            return
        seen = set()
        for group in groups:
            if group.get("name") in seen or not group.get("name"):
                error(f"{at}: group name missing or repeated: {group.get('name')}")
            seen.add(group.get("name"))
            if set(group) - {"name", "interval", "rules", "limit", "partial_response_strategy", "query_offset"}:
                error(f"{at}: group {group.get('name')}: unknown fields")
            for rule in group.get("rules") or []:
                if ("alert" in rule) == ("record" in rule):
                    error(f"{at}: a rule needs exactly one of alert and record: {rule}")
                if not isinstance(rule.get("expr"), str) or not rule["expr"].strip():
                    error(f"{at}: rule {rule.get('alert') or rule.get('record')}: no expr")
                if set(rule) - {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"}:
                    error(f"{at}: rule {rule.get('alert') or rule.get('record')}: unknown fields")
    elif kind == "ScaledObject":
        target = spec.get("scaleTargetRef") or {}
        deployments = {d["metadata"]["name"]: d for d in by_kind.get("Deployment", [])}
        if target.get("kind", "Deployment") != "Deployment" or target.get("name") not in deployments:
            error(f"{at}: scaleTargetRef names no Deployment of the render")
            return
        for hpa in by_kind.get("HorizontalPodAutoscaler", []):
            if hpa["spec"]["scaleTargetRef"]["name"] == target["name"]:
                error(f"{at}: {ident(hpa)} scales the same Deployment (KEDA owns its own HPA)")
        if not 0 <= spec.get("minReplicaCount", 0) <= spec.get("maxReplicaCount", 100):
            error(f"{at}: minReplicaCount above maxReplicaCount")
        triggers = spec.get("triggers")
        if not isinstance(triggers, list) or not triggers:
            error(f"{at}: no triggers")
            return
        for trigger in triggers:
            metadata = trigger.get("metadata")
            if not trigger.get("type") or not isinstance(metadata, dict):
                error(f"{at}: a trigger needs type and metadata")
                continue
            if not all(isinstance(value, str) for value in metadata.values()):
                error(f"{at}: trigger {trigger['type']}: KEDA metadata values must be strings")
            if trigger["type"] == "nats-jetstream":
                check_jetstream_trigger(at, metadata, deployments[target["name"]], by_kind)


def config_of(deployment, by_kind):
    """The parsed fraiseql.toml mounted by a Deployment (None without tomllib)."""
    try:
        import tomllib
    except ImportError:
        print("check-k8s: python3 has no tomllib (3.11+): KEDA trigger names not compared with the config")
        return None
    spec = deployment["spec"]["template"]["spec"]
    names = [volume["configMap"]["name"] for volume in spec.get("volumes") or [] if "configMap" in volume]
    for configmap in by_kind.get("ConfigMap", []):
        if configmap["metadata"]["name"] in names and "fraiseql.toml" in (configmap.get("data") or {}):
            return tomllib.loads(configmap["data"]["fraiseql.toml"])
    return {}


def check_jetstream_trigger(at, metadata, deployment, by_kind):
    for key in ("natsServerMonitoringEndpoint", "account", "stream", "consumer", "lagThreshold"):
        if not metadata.get(key):
            error(f"{at}: nats-jetstream trigger without {key}")
    host, _, port = metadata.get("natsServerMonitoringEndpoint", "").partition(":")
    service_name, _, rest = host.partition(".")
    if rest and not rest.startswith(f"{NAMESPACE}.svc"):
        error(f"{at}: natsServerMonitoringEndpoint is not in namespace {NAMESPACE}")
    services = {s["metadata"]["name"]: s for s in by_kind.get("Service", [])}
    service = services.get(service_name)
    if not service or not any(str(p["port"]) == port for p in service["spec"]["ports"]):
        error(f"{at}: natsServerMonitoringEndpoint {host}:{port} is no Service port of the render")
    config = config_of(deployment, by_kind)
    if config is None:
        return
    stream = config.get("nats", {}).get("stream", {}).get("name")
    consumer = config.get("observer", {}).get("consumer")
    if metadata.get("stream") != stream:
        error(f"{at}: trigger stream {metadata.get('stream')!r}, the config's nats.stream.name is {stream!r}")
    if metadata.get("consumer") != consumer:
        error(f"{at}: trigger consumer {metadata.get('consumer')!r}, the config's observer.consumer is {consumer!r}")


def overlay(rendered, builtin_out, pinned, templates):
    docs = load(rendered)
    secrets = {}
    for template in templates:
        for doc in load(template):
            if doc.get("kind") == "Secret":
                secrets[doc["metadata"]["name"]] = set(doc.get("stringData") or {}) | set(doc.get("data") or {})
    by_kind, seen = {}, set()
    for doc in docs:
        for field in ("apiVersion", "kind"):
            if not doc.get(field):
                error(f"a resource without {field}: {doc}")
        metadata = doc.get("metadata") or {}
        if not metadata.get("name"):
            error(f"{doc.get('kind')} without a name")
        key = (doc.get("kind"), metadata.get("namespace"), metadata.get("name"))
        if key in seen:
            error(f"{ident(doc)} twice")
        seen.add(key)
        if doc.get("kind") in CLUSTER_SCOPED:
            if doc["kind"] == "Namespace" and metadata.get("name") != NAMESPACE:
                error(f"unexpected {ident(doc)}")
        elif metadata.get("namespace") != NAMESPACE:
            error(f"{ident(doc)} is not in namespace {NAMESPACE}")
        by_kind.setdefault(doc.get("kind"), []).append(doc)
    if [ns["metadata"]["name"] for ns in by_kind.get("Namespace", [])] != [NAMESPACE]:
        error(f"the render must hold the Namespace {NAMESPACE} once")
    configmaps = {cm["metadata"]["name"]: set(cm.get("data") or {}) | set(cm.get("binaryData") or {})
                  for cm in by_kind.get("ConfigMap", [])}
    templates_by_kind = {}
    for kind in WORKLOADS:
        for workload in by_kind.get(kind, []):
            template = workload["spec"]["template"]
            labels = template.get("metadata", {}).get("labels") or {}
            selector = workload["spec"].get("selector")
            if kind != "Job" and not selects(selector, labels):
                error(f"{ident(workload)}: its selector does not match its pod template's labels")
            claims = workload["spec"].get("volumeClaimTemplates") or []
            check_pod(ident(workload), template, configmaps, secrets, pinned, claims)
            templates_by_kind.setdefault(kind, []).append((workload, labels))
    pods = [(workload, labels) for kind in ("Deployment", "StatefulSet") for workload, labels in templates_by_kind.get(kind, [])]
    for service in by_kind.get("Service", []):
        matched = [workload for workload, labels in pods if selects({"matchLabels": service["spec"].get("selector") or {}}, labels)]
        if not matched:
            error(f"{ident(service)}: selects no pods")
            continue
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            if isinstance(target, str):
                names = {p.get("name") for w in matched for c in w["spec"]["template"]["spec"]["containers"] for p in c.get("ports") or []}
                if target not in names:
                    error(f"{ident(service)}: targetPort {target} is no container port of its pods")
    services = {service["metadata"]["name"] for service in by_kind.get("Service", [])}
    for statefulset in by_kind.get("StatefulSet", []):
        if statefulset["spec"].get("serviceName") not in services:
            error(f"{ident(statefulset)}: serviceName {statefulset['spec'].get('serviceName')} is no Service")
    for pdb in by_kind.get("PodDisruptionBudget", []):
        if not any(selects(pdb["spec"]["selector"], labels) for _, labels in pods):
            error(f"{ident(pdb)}: selects no pods")
    targets = {(w["kind"], w["metadata"]["name"]) for w, _ in pods}
    for hpa in by_kind.get("HorizontalPodAutoscaler", []):
        reference = hpa["spec"]["scaleTargetRef"]
        if (reference["kind"], reference["name"]) not in targets:
            error(f"{ident(hpa)}: scaleTargetRef {reference['kind']}/{reference['name']} is not in the render")
        if hpa["spec"].get("minReplicas", 1) > hpa["spec"]["maxReplicas"]:
            error(f"{ident(hpa)}: minReplicas above maxReplicas")
    builtin, custom = [], []
    for doc in docs:
        if (doc.get("apiVersion"), doc.get("kind")) in CUSTOM:
            check_custom(doc, by_kind)
            custom.append(doc)
        elif "." in doc.get("apiVersion", "").split("/")[0] and not doc["apiVersion"].split("/")[0].endswith("k8s.io"):
            error(f"{ident(doc)}: custom resource of {doc['apiVersion']} that this script does not check")
        else:
            builtin.append(doc)
    with open(builtin_out, "w") as handle:
        yaml.safe_dump_all(builtin, handle, sort_keys=False)
    kinds = sorted({doc["kind"] for doc in custom})
    print(f"{len(docs)} {len(builtin)} {len(custom)} {','.join(kinds) or '-'}")


def alerts(rule_file, alerts_file):
    rule = [doc for doc in load(rule_file) if doc.get("kind") == "PrometheusRule"]
    source = load(alerts_file)
    if len(rule) != 1 or len(source) != 1:
        error(f"{rule_file}: expected one PrometheusRule; {alerts_file}: one document")
        return
    if rule[0].get("spec", {}).get("groups") != source[0].get("groups"):
        ours = {g.get("name"): g for g in rule[0].get("spec", {}).get("groups") or []}
        theirs = {g.get("name"): g for g in source[0].get("groups") or []}
        differing = sorted(name for name in set(ours) | set(theirs) if ours.get(name) != theirs.get(name))
        error(f"{rule_file}: spec.groups differ from the groups of {alerts_file} (groups {differing}): copy them again")


def secret_template(path):
    docs = load(path)
    if not docs or any(doc.get("kind") != "Secret" for doc in docs):
        error(f"{path}: expected Secret documents only")
    with open(path) as handle:
        if "CHANGE-ME" not in handle.read():
            error(f"{path}: no CHANGE-ME placeholder")
    print(len(docs))


def main():
    command, arguments = sys.argv[1], sys.argv[2:]
    if command == "overlay":
        overlay(arguments[0], arguments[1], arguments[2] == "pinned", arguments[3:])
    elif command == "alerts":
        alerts(*arguments)
    elif command == "secret-template":
        secret_template(*arguments)
    for message in errors:
        print(f"  {message}", file=sys.stderr)
    sys.stderr.flush()
    sys.exit(1 if errors else 0)


main()
PYTHON

# Strict schema validation of built-in resources; any line it prints (an error, or a warning
# that a kind has no schema) is a failure.
validate_builtin() {
    local output
    if ! output=$(python3 -m kubernetes_validate --strict --quiet -k "$KUBERNETES_VERSION" "$1" 2>&1) \
        || [ -n "$output" ]; then
        printf '%s\n' "$output" | sed 's/^/  /' | head -40
        return 1
    fi
}

# --- 1. configuration copies --------------------------------------------------------------------
missing_sources=()
for entry in "${CONFIG_COPIES[@]}"; do
    read -r copy source <<<"$entry"
    if [ ! -f "$source" ]; then
        echo "SKIP $copy: its source $source does not exist yet"
        missing_sources+=("$source")
    elif [ ! -f "$copy" ]; then
        fail "$copy is missing: cp $source $copy"
    elif ! cmp -s "$copy" "$source"; then
        fail "$copy differs from $source: cp $source $copy"
    else
        echo "ok   $copy = $source"
    fi
done

# --- 2. PrometheusRule = docs/monitoring/alerts.yml ---------------------------------------------
if python3 "$work/check.py" alerts "$PROMETHEUS_RULE" "$ALERTS" 2>&1; then
    echo "ok   $PROMETHEUS_RULE: spec.groups = groups of $ALERTS"
else
    fail "$PROMETHEUS_RULE does not match $ALERTS"
fi

# --- 3. overlays ----------------------------------------------------------------------------------
for dir in "${OVERLAYS[@]}"; do
    name=${dir//\//_}
    rendered="$work/$name.yaml"
    builtin="$work/$name.builtin.yaml"
    if ! render "$dir" >"$rendered" 2>"$work/$name.err"; then
        sed 's/^/  /' "$work/$name.err"
        fail "$dir: kustomize could not render it"
        continue
    fi
    policy=any
    for pinned in "${PINNED_OVERLAYS[@]}"; do
        if [ "$pinned" = "$dir" ]; then policy=pinned; fi
    done
    read -r -a templates <<<"$(secret_templates_of "$dir")"
    if ! summary=$(python3 "$work/check.py" overlay "$rendered" "$builtin" "$policy" "${templates[@]}" \
        2>"$work/$name.problems"); then
        cat "$work/$name.problems"
        fail "$dir: the checks of the rendered resources failed (above)"
        continue
    fi
    read -r total builtin_count custom_count custom_kinds <<<"$summary"
    if ! validate_builtin "$builtin"; then
        fail "$dir: kubernetes-validate --strict (Kubernetes $KUBERNETES_VERSION) failed"
        continue
    fi
    if [ "$custom_count" = 0 ]; then
        custom_note="no custom resources"
    else
        custom_note="$custom_count custom checked here: $custom_kinds"
    fi
    printf 'ok   %-29s %3d resources validated (%d built-in, strict, Kubernetes %s; %s)\n' \
        "$dir" "$total" "$builtin_count" "$KUBERNETES_VERSION" "$custom_note"
done

# --- 4. Secret templates --------------------------------------------------------------------------
for template in "${SECRET_TEMPLATES[@]}"; do
    if count=$(python3 "$work/check.py" secret-template "$template" 2>&1) && validate_builtin "$template"; then
        echo "ok   $template: $count Secret template(s), strict, with CHANGE-ME placeholders"
    else
        fail "$template"
    fi
done

if [ "${#missing_sources[@]}" -gt 0 ]; then
    echo "NOTE not compared, their sources do not exist yet: ${missing_sources[*]}"
fi
if [ "$problems" -gt 0 ]; then
    echo "check-k8s: $problems problem(s)"
    exit 1
fi
echo "check-k8s: all checks passed"
