#!/usr/bin/env bash
# Empties moto (POST /moto-api/reset drops every resource, all regions) and re-seeds the VPC,
# subnets and security group, rewriting their ids in .local/env. Needs hack/env-up.sh first.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/env-lib.sh"
[[ -f "$STATE/env" ]] || { log "ERROR: no $STATE/env: run hack/env-up.sh first"; exit 1; }
# shellcheck disable=SC1091
. "$STATE/env"
python3 -c 'import sys, urllib.request as u
u.build_opener(u.ProxyHandler({})).open(u.Request(sys.argv[1], data=b"", method="POST"), timeout=30)' \
  "$MOTO_URL/moto-api/reset"
seed=$("$MOTO_DIR/bin/python" "$ROOT/hack/moto-seed.py")
while IFS='=' read -r k v; do sed -i "s|^export $k=.*|export $k=$v|" "$STATE/env"; done <<<"$seed"
log "moto reset; re-seeded:"
echo "$seed"
