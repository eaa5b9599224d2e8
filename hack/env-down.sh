#!/usr/bin/env bash
# Stops what hack/env-up.sh started -- exactly the pids recorded in .local/pids/, and only while
# they still run the expected binary -- then removes .local/ except logs/. Idempotent.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/env-lib.sh"

# stop NAME: SIGTERM, up to 10s to exit, then SIGKILL.
stop() {
  local name=$1 pid
  pid=$(live_pid "$name") || { rm -f "$PIDS/$name.pid"; return 0; }
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do live_pid "$name" >/dev/null || return 0; sleep 0.1; done
  log "$name (pid $pid) still running after 10s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 20); do live_pid "$name" >/dev/null || return 0; sleep 0.1; done
  log "WARNING: $name (pid $pid) survived SIGKILL"
}

for c in ecs-controller "${COMPONENTS[@]}"; do stop "$c"; done # known order: the controller, then apiserver before etcd
for f in "$PIDS"/*.pid; do if [[ -e "$f" ]]; then stop "$(basename "$f" .pid)"; fi; done

if [[ -d "$STATE" ]]; then
  find "$STATE" -mindepth 1 -maxdepth 1 ! -name logs ! -name .gitignore -exec rm -rf {} +
  log "environment down (logs kept in $LOGS)"
fi
