#!/usr/bin/env bash
# Usage: hack/check-versions.sh [VERSION]
# The crate's version, the chart's version and appVersion, and the chart's default image tag are one
# version (and equal to VERSION, a release tag without its `v`, when given). `make test` runs it; the
# release workflow runs it with the tag.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
crate=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -1)
chart=$(sed -n 's/^version: *//p' "$root/charts/ecs-controller/Chart.yaml")
app=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$root/charts/ecs-controller/Chart.yaml")
want=${1:-$crate}
fail=0
for pair in "Cargo.toml version:$crate" "Chart.yaml version:$chart" "Chart.yaml appVersion:$app"; do
  if [[ ${pair##*:} != "$want" ]]; then
    echo "[check-versions] ${pair%:*} is ${pair##*:}, expected $want" >&2
    fail=1
  fi
done
# The image tag defaults to appVersion; a pinned tag in values.yaml would drift from it.
if grep -qE '^  tag: *"?[0-9]' "$root/charts/ecs-controller/values.yaml"; then
  echo "[check-versions] values.yaml pins image.tag; leave it empty so it follows appVersion" >&2
  fail=1
fi
[[ $fail -eq 0 ]] && echo "[check-versions] $want everywhere" >&2
exit $fail
