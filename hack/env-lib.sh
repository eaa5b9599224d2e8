# Shared by env-up.sh, env-down.sh and moto-reset.sh (sourced, not run).
# shellcheck shell=bash disable=SC2034  # the variables are used by the scripts sourcing this
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR
. "$ROOT/hack/versions.env"
CACHE=${ECS_CACHE_DIR:-$HOME/.cache/ecs-controller}
K8S_DIR="$CACHE/kubernetes-$KUBERNETES_VERSION"
ETCD_DIR="$CACHE/etcd-$ETCD_VERSION"
K8S_MINOR=${KUBERNETES_VERSION#v1.}; K8S_MINOR=${K8S_MINOR%%.*}
HELM_DIR="$CACHE/helm-$HELM_VERSION-k8s1.$K8S_MINOR"
MOTO_DIR="$CACHE/moto-$MOTO_VERSION"
STATE="${ECS_ENV_DIR:-$ROOT/.local}"  # make test uses its own (.local-test) so a running demo is left alone
PIDS="$STATE/pids"
LOGS="$STATE/logs"
# Stop order for env-down (the controller-manager before its apiserver, the apiserver before its etcd);
# pid files are named after the binary.
COMPONENTS=(kube-controller-manager kube-apiserver etcd moto_server)

log() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*" >&2; }

# Prints the pid recorded for component $1 if that process is alive and still runs $1
# (its /proc cmdline names the binary; a zombie's cmdline is empty). Fails otherwise.
live_pid() {
  local pid
  pid=$(cat "$PIDS/$1.pid" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ "$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" == *"$1"* ]] || return 1
  echo "$pid"
}

# http_ok URL [CA_FILE]: true if the URL answers 2xx within 2s (python3, so curl is not required; no
# proxies); an https URL's certificate is checked against CA_FILE when given.
http_ok() {
  python3 -c '
import ssl, sys, urllib.request as u
ctx = ssl.create_default_context(cafile=sys.argv[2] if len(sys.argv) > 2 else None)
u.build_opener(u.ProxyHandler({}), u.HTTPSHandler(context=ctx)).open(sys.argv[1], timeout=2)' "$@" >/dev/null 2>&1
}
