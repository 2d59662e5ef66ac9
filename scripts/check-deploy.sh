#!/usr/bin/env bash
# make check-deploy: what CI validates of the deployment files, none of which can run here (no
# Docker engine, no Kubernetes cluster): shellcheck on every script; the Dockerfile's runtime
# stages against the libraries the binaries load (`ldd`); compose.yaml and each profile
# (docker-compose config); every Kubernetes overlay rendered by kustomize and validated offline
# (kubernetes-validate --strict); every example configuration through `fraiseql-observer validate`.
# Needs the debug build (`swift build`). Installs shellcheck, docker-compose and the Python
# packages it needs when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
if ! command -v shellcheck >/dev/null; then apt-get install -y -qq shellcheck >/dev/null; fi
echo "--- shellcheck"
mapfile -t scripts < <(find scripts .ci k8s deploy -type f \( -name '*.sh' -o -name run \) | sort)
shellcheck "${scripts[@]}"
echo "ok   ${#scripts[@]} scripts"
echo "--- the image's runtime libraries"
python3 scripts/check-image-libs.py "$(swift build --show-bin-path)"
echo "--- compose"
scripts/check-compose.sh
echo "--- Kubernetes"
scripts/check-k8s.sh
echo "--- example configurations"
for file in examples/*.toml deploy/config/*.toml; do
    [[ $file == examples/demo*.toml ]] && continue # templates: scripts/demo.sh fills them in
    "$(swift build --show-bin-path)/fraiseql-observer" validate --config "$file" >/dev/null
    echo "ok   $file"
done
echo "check-deploy: all checks passed"
