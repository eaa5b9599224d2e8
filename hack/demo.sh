#!/usr/bin/env bash
# The demo after `make env-up install-crds`: (re)starts the controller in the background, applies
# examples/, waits until every object is Ready, runs the CronJob of examples/jobs/ once (through the
# FargateProfile) until its Job completes, and prints `kubectl get ecs` and the Jobs. Idempotent.
# Usage: hack/demo.sh PATH-TO-ecs-controller
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/env-lib.sh"
BIN=$1
# shellcheck disable=SC1091
. "$STATE/env"

if pid=$(live_pid ecs-controller); then
  log "restarting the controller (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 100); do live_pid ecs-controller >/dev/null || break; sleep 0.1; done
fi
mkdir -p "$PIDS" "$LOGS"
nohup "$BIN" run --resync-period "${RESYNC:-30s}" --metrics-bind-address "${METRICS_ADDR:-127.0.0.1:8080}" >"$LOGS/controller.log" 2>&1 &
echo $! >"$PIDS/ecs-controller.pid"
log "controller running (pid $!, log $LOGS/controller.log)"

# Examples may name the local subnets and security group as ${ECS_TEST_SUBNET_0} etc.
IFS=, read -r ECS_TEST_SUBNET_0 ECS_TEST_SUBNET_1 _ <<<"$ECS_TEST_SUBNETS,"
export ECS_TEST_SUBNET_0 ECS_TEST_SUBNET_1 ECS_TEST_SECURITY_GROUP_0="${ECS_TEST_SECURITY_GROUPS%%,*}"
for f in "$ROOT"/examples/*.yaml; do
  python3 -c 'import os, sys; sys.stdout.write(os.path.expandvars(open(sys.argv[1]).read()))' "$f"
  echo "---"
done | kubectl apply -f - 
# The files one by one: `-f examples/` would also read examples/jobs/ (a CronJob has no Ready condition).
ready_files=()
for f in "$ROOT"/examples/*.yaml; do ready_files+=(-f "$f"); done
if ! kubectl wait --for=condition=Ready --timeout=120s "${ready_files[@]}" >/dev/null; then
  kubectl get ecs -A -o wide
  log "not everything became Ready in 120s; the controller log is $LOGS/controller.log"
  exit 1
fi
# A CronJob on Fargate through the FargateProfile: run it once now and wait for the Job to complete.
kubectl apply -f "$ROOT/examples/jobs/"
kubectl delete job report-now --ignore-not-found --wait=true >/dev/null
kubectl create job --from=cronjob/report report-now >/dev/null
if ! kubectl wait --for=condition=complete --timeout=120s job/report-now >/dev/null; then
  kubectl get job report-now -o yaml
  log "the CronJob's Job did not complete in 120s; the controller log is $LOGS/controller.log"
  exit 1
fi
echo
kubectl get ecs -A -o wide
echo
kubectl get jobs -o wide
echo
echo "Everything is Ready, and the CronJob's Job ran on Fargate. Try:  source $STATE/env && kubectl get ecs -A"
echo "Stop it all with:  make env-down"
