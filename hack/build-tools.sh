#!/usr/bin/env bash
# Builds (once per version) the real control-plane binaries from the Go module proxy and the moto venv
# from PyPI, into $HOME/.cache/ecs-controller/. Prints nothing but progress; idempotent.
#   kube-apiserver, kubectl, kube-controller-manager
#                            <- k8s.io/kubernetes@$KUBERNETES_VERSION through a wrapper go.mod
#   etcd                     <- go.etcd.io/etcd/server/v3@$ETCD_VERSION
#   helm                     <- helm.sh/helm/v3@$HELM_VERSION
#   moto venv                <- moto[server]==$MOTO_VERSION
#   actionlint               <- github.com/rhysd/actionlint@$ACTIONLINT_VERSION (lints .github/workflows)
# Usage: hack/build-tools.sh [k8s|etcd|helm|moto|actionlint|all]...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
CACHE=${ECS_CACHE_DIR:-$HOME/.cache/ecs-controller}
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
log() { printf '[build-tools] %s\n' "$*" >&2; }

k8s_dir="$CACHE/kubernetes-$KUBERNETES_VERSION"
etcd_dir="$CACHE/etcd-$ETCD_VERSION"
k8s_minor=${KUBERNETES_VERSION#v1.}; k8s_minor=${k8s_minor%%.*}
# helm defaults its notion of the cluster version at build time (ldflags, as its own Makefile does).
helm_dir="$CACHE/helm-$HELM_VERSION-k8s1.$k8s_minor"
moto_dir="$CACHE/moto-$MOTO_VERSION"
actionlint_dir="$CACHE/actionlint-$ACTIONLINT_VERSION"

# The binaries built from k8s.io/kubernetes, each from k8s.io/kubernetes/cmd/<name>. Each is cached on its
# own: a cache that lacks only one (say kube-controller-manager, added later) builds only that one.
K8S_TOOLS=(kube-apiserver kubectl kube-controller-manager)

build_k8s() {
  local t missing=()
  for t in "${K8S_TOOLS[@]}"; do [[ -x "$k8s_dir/$t" ]] || missing+=("$t"); done
  if ((${#missing[@]} == 0)); then return 0; fi
  local staging_version="v0.${KUBERNETES_VERSION#v1.}"
  local work; work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  log "building ${missing[*]} $KUBERNETES_VERSION (first run on this machine, 2 cores: kube-apiserver and kubectl 10-20 min; kube-controller-manager up to 10 min more after them, 6-30 min alone)"
  local gomod
  gomod=$(cd "$work" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  {
    echo "module ecs-controller.local/controlplane"
    echo
    grep -E '^go [0-9]' "$gomod"
    # godebug settings only count in the main module: restate Kubernetes' own.
    grep -E '^godebug ' "$gomod" || true
    echo
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo
    # Every staging module k8s.io/<name> => ./staging/... becomes its published v0.X.Y tag.
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#replace \1 => \1 '"$staging_version"'#p' "$gomod"
  } > "$work/go.mod"
  cat > "$work/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubectl/pkg/cmd"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
GO
  (cd "$work" && go mod tidy >/dev/null)
  local major=${KUBERNETES_VERSION#v}; major=${major%%.*}
  local minor=${KUBERNETES_VERSION#v*.}; minor=${minor%%.*}
  local ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  mkdir -p "$k8s_dir"
  for t in "${missing[@]}"; do
    local t0=$SECONDS
    # Built beside its final name, then renamed: a cached binary is always a complete one.
    (cd "$work" && go build -trimpath -ldflags "$ldflags" -o "$k8s_dir/.$t.tmp" "k8s.io/kubernetes/cmd/$t")
    mv "$k8s_dir/.$t.tmp" "$k8s_dir/$t"
    log "$t ready in $k8s_dir (built in $((SECONDS - t0))s)"
  done
}

build_etcd() {
  if [[ -x "$etcd_dir/etcd" ]]; then return 0; fi
  # etcd's server module has replace directives too, so `go install pkg@version` refuses it: build it
  # from a wrapper module that requires it (its sibling modules resolve to the same published tags).
  local work; work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  log "building etcd $ETCD_VERSION"
  printf 'module ecs-controller.local/etcd\n\ngo 1.25\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > "$work/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$work/tools.go"
  (cd "$work" && go mod tidy >/dev/null 2>&1 && go build -trimpath -ldflags "-s -w" -o "$etcd_dir.tmp/etcd" go.etcd.io/etcd/server/v3)
  rm -rf "$etcd_dir" && mv "$etcd_dir.tmp" "$etcd_dir"
  log "etcd ready in $etcd_dir"
}

build_helm() {
  if [[ -x "$helm_dir/helm" ]]; then return 0; fi
  log "building helm $HELM_VERSION"
  mkdir -p "$helm_dir.tmp"
  local ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
  done
  GOBIN="$helm_dir.tmp" go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  rm -rf "$helm_dir" && mv "$helm_dir.tmp" "$helm_dir"
  log "helm ready in $helm_dir"
}

build_actionlint() {
  if [[ -x "$actionlint_dir/actionlint" ]]; then return 0; fi
  log "building actionlint $ACTIONLINT_VERSION"
  mkdir -p "$actionlint_dir.tmp"
  GOBIN="$actionlint_dir.tmp" go install -trimpath -ldflags "-s -w" "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
  rm -rf "$actionlint_dir" && mv "$actionlint_dir.tmp" "$actionlint_dir"
  log "actionlint ready in $actionlint_dir"
}

build_moto() {
  # A venv records its own path, so it is built in place; a marker says it finished.
  if [[ -f "$moto_dir/.complete" ]]; then return 0; fi
  log "creating the moto $MOTO_VERSION venv"
  rm -rf "$moto_dir"
  python3 -m venv "$moto_dir"
  "$moto_dir/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
  touch "$moto_dir/.complete"
  log "moto ready in $moto_dir"
}

targets=("$@"); [[ ${#targets[@]} -gt 0 ]] || targets=(all)
for t in "${targets[@]}"; do
  case "$t" in
    k8s) build_k8s ;;
    etcd) build_etcd ;;
    helm) build_helm ;;
    moto) build_moto ;;
    actionlint) build_actionlint ;;
    all) build_moto; build_etcd; build_k8s; build_helm; build_actionlint ;;
    *) echo "unknown target $t" >&2; exit 2 ;;
  esac
done
