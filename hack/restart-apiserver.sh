#!/usr/bin/env bash
# Restarts the environment's kube-apiserver in place: same binary, flags, port and etcd (so no state is
# lost), as an apiserver crash or upgrade looks to the controller. Used by the chaos test.
# The flags come from the running process, so env-up's (feature gates, runtime config) carry over; the
# kube-controller-manager keeps running and reconnects on its own, as it would in a cluster.
# Env: ECS_ENV_DIR (the environment's state directory, as for env-up.sh).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/env-lib.sh"
pid=$(live_pid kube-apiserver) || { log "ERROR: kube-apiserver of $STATE is not running"; exit 1; }
mapfile -d '' cmd <"/proc/$pid/cmdline"
kill -TERM "$pid"
for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; sleep 0.5; fi
log "stopped kube-apiserver ($pid); starting it again"
# shellcheck disable=SC2016  # expanded by the inner bash, which then execs the command (same pid)
setsid bash -c 'echo $$ > "$0"; exec "$@"' "$PIDS/kube-apiserver.pid" "${cmd[@]}" </dev/null >>"$LOGS/kube-apiserver.log" 2>&1 &
for _ in $(seq 600); do
  if "$K8S_DIR/kubectl" --kubeconfig "$STATE/kubeconfig" --request-timeout=2s get --raw /readyz >/dev/null 2>&1; then
    log "kube-apiserver ready again ($(cat "$PIDS/kube-apiserver.pid"))"
    exit 0
  fi
  sleep 0.1
done
log "ERROR: kube-apiserver did not become ready within 60s (log: $LOGS/kube-apiserver.log)"
exit 1
