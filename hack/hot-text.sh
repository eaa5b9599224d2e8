#!/usr/bin/env bash
# Regenerates controller/hot-text.ld: which functions the linker places first in `.text`, together.
#
# Runs the benchmark's phases (tests/examples/bench: converge, restart, steady state, drift, a change
# during a resync, deletion, FargateTasks) at N = $HOT_TEXT_N (default 20), once with the shipped
# defaults and once without an AWS rate limit, with every controller process under valgrind's
# callgrind (the profiling build, which has symbols), in an environment of its own that is stopped at
# the end; then hack/hot-text.py turns the profiles into the linker script. About 20 minutes on 2
# cores once the tools are built. Rerun it when the code a running controller executes has changed
# much: a function missing from the script still runs, from the cold part of the binary.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
N="${HOT_TEXT_N:-20}"
ENV_DIR="$ROOT/.local-hot-text"
OUT="$(mktemp -d /tmp/hot-text.XXXXXX)"

if ! command -v valgrind >/dev/null; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "[hot-text] valgrind missing: installing it with apt-get" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
  else
    echo "[hot-text] valgrind is required (apt-get install -y valgrind)" >&2; exit 1
  fi
fi
hack/ensure-packages.sh
hack/build-tools.sh k8s etcd moto
cargo build --profile profiling -p ecs-controller --bin ecs-controller
cargo build --release -p ecs-controller-e2e --example bench

cat >"$OUT/controller" <<EOF
#!/bin/sh
exec valgrind --quiet --tool=callgrind --demangle=no --dump-instr=no \
  --callgrind-out-file=$OUT/callgrind.out.%p $ROOT/target/profiling/ecs-controller "\$@"
EOF
chmod +x "$OUT/controller"

trap 'ECS_ENV_DIR="$ENV_DIR" hack/env-down.sh' EXIT
for args in "" "--aws-max-rps 0"; do
  ECS_ENV_DIR="$ENV_DIR" hack/env-down.sh
  ECS_ENV_DIR="$ENV_DIR" hack/env-up.sh
  # Under valgrind the controller runs 10 to 50 times slower: the phases get more time.
  ( source "$ENV_DIR/env" && hack/install-crds.sh &&
    BENCH_OUT="$OUT/results" BENCH_TIMEOUT=1800 BENCH_CONTROLLER_ARGS="$args" \
    ECS_CONTROLLER_BIN="$OUT/controller" ECS_ENV_DIR="$ENV_DIR" \
    target/release/examples/bench "$N" )
done
hack/hot-text.py "$OUT"/callgrind.out.* >controller/hot-text.ld
echo "[hot-text] wrote controller/hot-text.ld ($(grep -c '^    \*(\.text\.[^ ]*)$' controller/hot-text.ld) functions) from $OUT" >&2
