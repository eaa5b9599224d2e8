#!/usr/bin/env bash
# `make image`: builds the controller image from the release binary with buildah, tagged with the
# chart's default image reference (charts/ecs-controller: image.repository, appVersion). No Docker
# engine and no registry: the Containerfile is FROM scratch (see it), storage is vfs under
# $ECS_IMAGE_STORE (default .local-image/), and buildah, podman and runc come from Debian's packages,
# installed here when missing (as root). Prints the image reference.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STORE=${ECS_IMAGE_STORE:-$ROOT/.local-image}
log() { echo "[image] $*" >&2; }

missing=()
for tool in buildah podman runc; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    log "missing: ${missing[*]}; install them with: sudo apt-get install -y buildah podman runc"
    exit 1
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends buildah podman runc >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends buildah podman runc >/dev/null; }
fi

version=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$ROOT/charts/ecs-controller/Chart.yaml")
repository=$(sed -n 's/^  repository: *//p' "$ROOT/charts/ecs-controller/values.yaml" | head -1)
crate=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -1)
[[ $version == "$crate" ]] || { log "the chart's appVersion ($version) is not the crate version ($crate)"; exit 1; }
ref="$repository:$version"

log "release build"
cargo build --release -p ecs-controller --bin ecs-controller >&2
ctx="$STORE/context"
mkdir -p "$STORE"
"$ROOT/hack/image-context.sh" "$ROOT/target/release/ecs-controller" "$ctx"
log "building $ref"
buildah --root "$STORE/storage" --runroot "$STORE/run" --storage-driver vfs \
  bud --quiet --layers=false -f "$ctx/Containerfile" -t "$ref" "$ctx" >/dev/null
# The image this replaced, untagged now, goes.
buildah --root "$STORE/storage" --runroot "$STORE/run" --storage-driver vfs rmi --prune >/dev/null 2>&1 || true
echo "$ref"
