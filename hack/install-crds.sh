#!/usr/bin/env bash
# Applies crds/ to the cluster in $KUBECONFIG (server-side, so re-running upgrades them) and waits until
# the API server serves every kind.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
kubectl apply --server-side --force-conflicts -f "$ROOT/crds/" >/dev/null
kubectl wait --for=condition=Established --timeout=60s -f "$ROOT/crds/" >/dev/null
echo "[install-crds] $(kubectl get crd -o name | grep -c ecs.kubefargate.dev) ecs.kubefargate.dev CRDs established"
