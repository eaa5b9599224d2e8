#!/usr/bin/env bash
# Starts the local test environment, all on 127.0.0.1 with free ports:
#   etcd + kube-apiserver (like controller-runtime's envtest; admin = client cert in system:masters),
#     with the beta MutatingAdmissionPolicy API (admissionregistration.k8s.io/v1beta1) switched on
#   kube-controller-manager with only the controllers the tests need: cronjob, job, garbage collector,
#     ttl-after-finished, namespace (no kubelet or scheduler: the pods the job controller creates stay Pending)
#   moto_server (MOTO_ECS_SERVICE_RUNNING=1), seeded with a VPC, two subnets and a security group.
# State lives in .local/: pids/, logs/, certs/, etcd/, kubeconfig (the admin's),
# kube-controller-manager.kubeconfig, and env (`source .local/env`).
# Idempotent: a healthy environment is only re-printed; stale state is torn down and restarted.
# Env: AWS_REGION (default us-east-1), ENV_UP_TIMEOUT (seconds per wait, default 90).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/env-lib.sh"
REGION=${AWS_REGION:-us-east-1}
TIMEOUT=${ENV_UP_TIMEOUT:-90}

summary() {
  (
    # shellcheck disable=SC1091
    . "$STATE/env"
    echo "local environment up (state in $STATE, logs in $LOGS):"
    echo "  kube-apiserver  $KUBE_APISERVER_URL ($(kubectl version -o json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])' || echo '?'))"
    echo "  kube-controller-manager  $KUBE_CONTROLLER_MANAGER_URL (controllers: $KCM_CONTROLLERS)"
    echo "  moto_server     $MOTO_URL (region $AWS_REGION)"
    echo "  subnets         $ECS_TEST_SUBNETS"
    echo "  security group  $ECS_TEST_SECURITY_GROUPS"
    echo "use it with:  source $STATE/env"
  )
}

healthy() {
  [[ -f "$STATE/env" ]] || return 1
  for c in "${COMPONENTS[@]}"; do live_pid "$c" >/dev/null || return 1; done
  (
    # shellcheck disable=SC1091
    . "$STATE/env"
    kubectl get --raw /readyz >/dev/null 2>&1 && http_ok "$MOTO_URL/moto-api/" &&
      http_ok "$KUBE_CONTROLLER_MANAGER_URL/healthz" "$STATE/certs/ca.crt"
  )
}

# die MESSAGE [COMPONENT]: reports, shows the component's log tail; the EXIT trap then tears down.
die() {
  log "ERROR: $1"
  if [[ -n "${2:-}" && -f "$LOGS/$2.log" ]]; then
    log "last lines of $LOGS/$2.log:"
    tail -n 25 "$LOGS/$2.log" >&2
  fi
  exit 1
}

# start NAME CMD...: runs CMD in its own session (it outlives this script), pid in pids/NAME.pid.
start() {
  local name=$1; shift
  rm -f "$PIDS/$name.pid"
  # shellcheck disable=SC2016  # expanded by the inner bash, which then execs CMD (same pid)
  setsid bash -c 'echo $$ > "$0"; exec "$@"' "$PIDS/$name.pid" "$@" </dev/null >"$LOGS/$name.log" 2>&1 &
  for _ in $(seq 50); do [[ -s "$PIDS/$name.pid" ]] && return 0; sleep 0.1; done
  die "$name did not start" "$name"
}

# wait_for NAME WHAT CMD...: polls CMD until it succeeds; fails fast if NAME's process died.
wait_for() {
  local name=$1 what=$2 deadline=$((SECONDS + TIMEOUT)); shift 2
  until "$@"; do
    live_pid "$name" >/dev/null || die "$name exited while waiting for $what" "$name"
    ((SECONDS < deadline)) || die "timed out after ${TIMEOUT}s waiting for $what" "$name"
    sleep 0.3
  done
}

kubectl_ok() { "$K8S_DIR/kubectl" --kubeconfig "$STATE/kubeconfig" --request-timeout=5s "$@" >/dev/null 2>&1; }

# CA, apiserver serving cert (127.0.0.1/localhost), admin client cert, kube-controller-manager cert (client
# as the user system:kube-controller-manager, and serving for its /healthz), service-account RSA key.
make_certs() {
  local d="$STATE/certs"
  rm -rf "$d" && mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 -subj "/CN=ecs-controller-local-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$d/ca.key" -out "$d/ca.crt"
  leaf() { # leaf NAME SUBJECT EXTENSIONS
    openssl req -new -newkey rsa:2048 -nodes -subj "$2" -keyout "$d/$1.key" -out "$d/$1.csr"
    printf '%s\n' "$3" >"$d/$1.ext"
    openssl x509 -req -in "$d/$1.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 3650 \
      -sha256 -extfile "$d/$1.ext" -out "$d/$1.crt"
  }
  leaf apiserver "/CN=kube-apiserver" "subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes.default.svc
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth"
  leaf admin "/O=system:masters/CN=admin" "keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
  leaf kube-controller-manager "/CN=system:kube-controller-manager" "subjectAltName=IP:127.0.0.1,DNS:localhost
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth"
  openssl genrsa -out "$d/sa.key" 2048
  openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub"
  # set -e does not apply under `make_certs || die`: check the results instead.
  for f in ca.crt apiserver.crt apiserver.key admin.crt admin.key kube-controller-manager.crt \
    kube-controller-manager.key sa.key sa.pub; do [[ -s "$d/$f" ]] || return 1; done
}

# write_kubeconfig FILE CERT USER: a kubeconfig for $API_URL authenticating with certs/CERT.{crt,key}.
write_kubeconfig() {
  local d="$STATE/certs" file=$1 cert=$2 user=$3
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: ecs-local
  cluster:
    server: $API_URL
    certificate-authority-data: $(base64 -w0 <"$d/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 <"$d/$cert.crt")
    client-key-data: $(base64 -w0 <"$d/$cert.key")
contexts:
- name: ecs-local
  context: {cluster: ecs-local, user: $user, namespace: default}
current-context: ecs-local
EOF
  chmod 600 "$file"
}

# exports NAME VALUE...: `export NAME=VALUE` lines; VALUE unquoted when safe (easy for non-shell readers).
exports() {
  while (($#)); do
    if [[ "$2" =~ ^[A-Za-z0-9_./:,@+-]*$ ]]; then echo "export $1=$2"; else printf 'export %s=%q\n' "$1" "$2"; fi
    shift 2
  done
}

write_env() {
  local path_prefix="$K8S_DIR"
  [[ -x "$HELM_DIR/helm" ]] && path_prefix+=":$HELM_DIR"
  # shellcheck disable=SC2016  # $NO_PROXY and $PATH expand when the file is sourced
  {
    echo "# Written by hack/env-up.sh; removed by hack/env-down.sh. Use: source .local/env"
    exports \
      KUBECONFIG "$STATE/kubeconfig" KUBE_APISERVER_URL "$API_URL" \
      KUBE_CONTROLLER_MANAGER_URL "$KCM_URL" KCM_CONTROLLERS "$KCM_CONTROLLERS" \
      MOTO_URL "$MOTO_URL" AWS_ENDPOINT_URL "$MOTO_URL" AWS_REGION "$REGION" AWS_DEFAULT_REGION "$REGION" \
      AWS_ACCESS_KEY_ID testing AWS_SECRET_ACCESS_KEY testing AWS_EC2_METADATA_DISABLED true \
      ECS_TEST_VPC "$ECS_TEST_VPC" ECS_TEST_SUBNETS "$ECS_TEST_SUBNETS" \
      ECS_TEST_SECURITY_GROUPS "$ECS_TEST_SECURITY_GROUPS" \
      ECS_TEST_PYTHON "$MOTO_DIR/bin/python"
    echo "unset AWS_PROFILE AWS_SESSION_TOKEN  # keep the SDKs on the dummy credentials above"
    echo 'export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"'
    printf 'export PATH=%q:"$PATH"\n' "$path_prefix"
  } >"$STATE/env.tmp"
  mv "$STATE/env.tmp" "$STATE/env"
}

# --- already up? -------------------------------------------------------------------------------
if healthy; then
  log "already running and healthy"
  summary
  exit 0
fi
if [[ -n "$(find "$STATE" -mindepth 1 -maxdepth 1 ! -name logs ! -name .gitignore -print -quit 2>/dev/null)" ]]; then
  log "stale state in $STATE: cleaning up first"
  "$ROOT/hack/env-down.sh"
fi

# --- prerequisites -----------------------------------------------------------------------------
if ! command -v openssl >/dev/null; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    log "openssl missing: installing it with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
  else
    log "ERROR: openssl is required (apt-get install -y openssl)"; exit 1
  fi
fi
"$ROOT/hack/build-tools.sh" k8s etcd moto

t0=$SECONDS
mkdir -p "$PIDS" "$LOGS"
echo '*' >"$STATE/.gitignore" # .local/ ignores itself
trap 'rc=$?; if ((rc)); then log "start-up failed (logs in $LOGS): stopping what was started"; "$ROOT/hack/env-down.sh" || true; fi' EXIT

read -r ETCD_PORT PEER_PORT API_PORT KCM_PORT MOTO_PORT < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(5)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
ETCD_URL="http://127.0.0.1:$ETCD_PORT" PEER_URL="http://127.0.0.1:$PEER_PORT"
API_URL="https://127.0.0.1:$API_PORT" KCM_URL="https://127.0.0.1:$KCM_PORT" MOTO_URL="http://127.0.0.1:$MOTO_PORT"
# Canonical names (the short aliases cronjob, job, garbagecollector, ttl-after-finished, namespace mean the same).
KCM_CONTROLLERS=cronjob-controller,job-controller,garbage-collector-controller,ttl-after-finished-controller,namespace-controller

make_certs >"$LOGS/certs.log" 2>&1 || die "openssl failed" certs
write_kubeconfig "$STATE/kubeconfig" admin admin
write_kubeconfig "$STATE/kube-controller-manager.kubeconfig" kube-controller-manager system:kube-controller-manager

# --- start everything (moto comes up alongside etcd and kube-apiserver) -------------------------
start etcd "$ETCD_DIR/etcd" --name local --data-dir "$STATE/etcd" --unsafe-no-fsync \
  --listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
  --listen-peer-urls "$PEER_URL" --initial-advertise-peer-urls "$PEER_URL" --initial-cluster "local=$PEER_URL"
MOTO_ECS_SERVICE_RUNNING=${MOTO_ECS_SERVICE_RUNNING:-1} \
  start moto_server "$MOTO_DIR/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT"
wait_for etcd "etcd $ETCD_URL/health" http_ok "$ETCD_URL/health"

# kube-apiserver takes its advertise address from the default route's interface and refuses to
# start without one. Then give it an address explicitly: it is only published (as the endpoint of
# the `kubernetes` Service, which must not be loopback), never bound or dialled.
advertise=()
if ! awk 'NR > 1 && $2 == "00000000" { found = 1 } END { exit !found }' /proc/net/route 2>/dev/null; then
  advertise=(--advertise-address=192.0.2.1) # TEST-NET-1 (RFC 5737)
fi
c="$STATE/certs"
start kube-apiserver "$K8S_DIR/kube-apiserver" --etcd-servers="$ETCD_URL" \
  --cert-dir="$c" --tls-cert-file="$c/apiserver.crt" --tls-private-key-file="$c/apiserver.key" \
  --secure-port="$API_PORT" --bind-address=127.0.0.1 "${advertise[@]}" \
  --service-cluster-ip-range=10.0.0.0/24 --allow-privileged=true \
  --disable-admission-plugins=ServiceAccount --authorization-mode=RBAC \
  --feature-gates=MutatingAdmissionPolicy=true --runtime-config=admissionregistration.k8s.io/v1beta1=true \
  --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$c/sa.pub" \
  --service-account-signing-key-file="$c/sa.key" --client-ca-file="$c/ca.crt"

# Seed moto while the apiserver starts.
wait_for moto_server "moto $MOTO_URL/moto-api/" http_ok "$MOTO_URL/moto-api/"
seed=$(AWS_ENDPOINT_URL="$MOTO_URL" AWS_REGION="$REGION" "$MOTO_DIR/bin/python" "$ROOT/hack/moto-seed.py" \
  2>>"$LOGS/moto_server.log") || die "hack/moto-seed.py failed" moto_server
while IFS='=' read -r k v; do printf -v "$k" '%s' "$v"; done <<<"$seed"

wait_for kube-apiserver "kube-apiserver $API_URL/readyz" kubectl_ok get --raw /readyz
wait_for kube-apiserver "the default namespace" kubectl_ok get namespace default

# kube-controller-manager runs every controller as one user, system:kube-controller-manager
# (--use-service-account-credentials=false: no service accounts or tokens needed). That user's own
# bootstrap role only lists and watches; give it the bootstrap roles of the controllers it runs, which a
# cluster grants to each controller's service account (system:controller:<name>).
for role in cronjob-controller job-controller generic-garbage-collector ttl-after-finished-controller namespace-controller; do
  printf -- '---\n%s\n' "apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: 'ecs-local:kube-controller-manager:$role'}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: 'system:controller:$role'}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: 'system:kube-controller-manager'}]"
done | "$K8S_DIR/kubectl" --kubeconfig "$STATE/kubeconfig" --request-timeout=10s apply -f - >"$LOGS/rbac.log" 2>&1 ||
  die "binding the controllers' roles to system:kube-controller-manager failed" rbac
kcm_kubeconfig="$STATE/kube-controller-manager.kubeconfig"
# Its own HTTPS port (for /healthz) trusts client certificates from our CA; the CA is given rather than
# looked up because the apiserver has no request-header CA to publish (the lookup would log errors forever).
start kube-controller-manager "$K8S_DIR/kube-controller-manager" --kubeconfig="$kcm_kubeconfig" \
  --authentication-kubeconfig="$kcm_kubeconfig" --authorization-kubeconfig="$kcm_kubeconfig" \
  --client-ca-file="$c/ca.crt" --authentication-skip-lookup=true \
  --use-service-account-credentials=false --leader-elect=false --controllers="$KCM_CONTROLLERS" \
  --bind-address=127.0.0.1 --secure-port="$KCM_PORT" \
  --tls-cert-file="$c/kube-controller-manager.crt" --tls-private-key-file="$c/kube-controller-manager.key"
wait_for kube-controller-manager "kube-controller-manager $KCM_URL/healthz" http_ok "$KCM_URL/healthz" "$c/ca.crt"

write_env
trap - EXIT
log "started in $((SECONDS - t0))s"
summary
