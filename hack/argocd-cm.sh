#!/usr/bin/env bash
# Prints the argocd-cm ConfigMap entries that install the Argo CD health checks of gitops/argocd/: one
# `resource.customizations.health.<group>_<Kind>` key per kind, holding that kind's health.lua.
# Server-side apply takes only these keys and leaves the rest of argocd-cm alone:
#   hack/argocd-cm.sh | kubectl apply --server-side --field-manager=ecs-controller -f -
# ARGOCD_NAMESPACE (default argocd) sets the namespace. docs/gitops.md shows the output; the e2e test
# `argocd` fails when that copy is out of date.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cat <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: ${ARGOCD_NAMESPACE:-argocd}
  labels:
    app.kubernetes.io/name: argocd-cm
    app.kubernetes.io/part-of: argocd
data:
YAML
for script in "$ROOT"/gitops/argocd/*/*/health.lua; do
  kind=$(basename "$(dirname "$script")")
  group=$(basename "$(dirname "$(dirname "$script")")")
  echo "  resource.customizations.health.${group}_${kind}: |"
  sed 's/^./    &/' "$script" # indent non-empty lines into the block scalar
done
