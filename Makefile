# ecs-controller: every entry point. `make help` lists them.
#
# The two a newcomer needs:
#   make demo   local control plane + moto + controller + examples/, ends with everything Ready
#   make test   fmt + clippy + unit tests + end-to-end tests on a real kube-apiserver and moto
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT        := $(CURDIR)
BIN         := $(ROOT)/target/debug/ecs-controller
CRDS        := crds/ecs.kubefargate.dev.yaml
# The demo environment lives in .local/, the test environment in .local-test/, so one never stops the other.
DEMO_ENV    := $(ROOT)/.local
TEST_ENV    := $(ROOT)/.local-test
IMAGE_STORE := $(ROOT)/.local-image
RESYNC      ?= 30s
include hack/versions.env
ACTIONLINT  := $(HOME)/.cache/ecs-controller/actionlint-$(ACTIONLINT_VERSION)/actionlint

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

.PHONY: tools
tools: ## build kube-apiserver, kubectl, kube-controller-manager, etcd, helm and the moto venv once per version (cached in ~/.cache/ecs-controller)
	hack/build-tools.sh moto etcd k8s helm

.PHONY: build
build: ## build the controller binary
	cargo build -p ecs-controller

.PHONY: crds
crds: build ## regenerate crds/ (and the chart's copy) and docs/api-reference.md from the code
	$(BIN) crd > $(CRDS)
	hack/sync-chart-crds.sh
	$(BIN) api-reference --examples examples > docs/api-reference.md

.PHONY: env-up
env-up: ## start etcd, kube-apiserver, kube-controller-manager and moto on loopback; writes .local/env
	ECS_ENV_DIR=$(DEMO_ENV) hack/env-up.sh

.PHONY: env-down
env-down: ## stop what env-up (and demo) started and remove its state
	ECS_ENV_DIR=$(DEMO_ENV) hack/env-down.sh

.PHONY: install-crds
install-crds: ## apply crds/ to the local apiserver and wait until they are served
	source $(DEMO_ENV)/env && hack/install-crds.sh

.PHONY: run
run: build ## run the controller in the foreground against .local/env
	source $(DEMO_ENV)/env && $(BIN) run --resync-period $(RESYNC)

.PHONY: demo
demo: build env-up install-crds ## the whole thing: environment, CRDs, controller, examples/, all Ready
	ECS_ENV_DIR=$(DEMO_ENV) hack/demo.sh $(BIN)

.PHONY: fmt-check
fmt-check: ## cargo fmt --check
	cargo fmt --all -- --check

.PHONY: clippy
clippy: ## cargo clippy with warnings as errors
	cargo clippy --workspace --all-targets -- -D warnings

.PHONY: unit
unit: ## unit tests (no environment needed)
	cargo test -p ecs-controller

.PHONY: e2e
e2e: build image ## end-to-end tests in their own environment (.local-test), started and stopped here
	hack/ensure-packages.sh
	hack/build-tools.sh k8s etcd moto helm
	cargo test -p ecs-controller-e2e --no-run
	trap 'ECS_ENV_DIR=$(TEST_ENV) hack/env-down.sh' EXIT; \
	ECS_ENV_DIR=$(TEST_ENV) hack/env-up.sh; \
	source $(TEST_ENV)/env; \
	hack/install-crds.sh; \
	ECS_ENV_DIR=$(TEST_ENV) ECS_CONTROLLER_BIN=$(BIN) FAULTPROXY_MOTO_URL=$$MOTO_URL \
	  ECS_TEST_IMAGE_STORE=$(IMAGE_STORE) \
	  cargo test -p ecs-controller-e2e -- --test-threads=4 --include-ignored

BENCH_ENV   := $(ROOT)/.local-bench
# Each N runs in a fresh environment (etcd, kube-apiserver and moto started anew), one after the other.
BENCH_N     ?= 100 500 2000
# Each N runs with the shipped defaults (AWS's throttling buckets at 50%) and with no AWS rate limit.
BENCH_MODES ?= defaults limiter-off
BENCH_OUT   ?= $(ROOT)/bench/results

.PHONY: bench
bench: ## benchmark, not a test (release build): per N in BENCH_N="100 500 2000" and mode in BENCH_MODES="defaults limiter-off", results in bench/results/
	hack/ensure-packages.sh
	hack/build-tools.sh k8s etcd moto
	cargo build --release -p ecs-controller --bin ecs-controller -p ecs-controller-e2e --example bench
	trap 'ECS_ENV_DIR=$(BENCH_ENV) hack/env-down.sh' EXIT; \
	rc=0; \
	for n in $(BENCH_N); do for mode in $(BENCH_MODES); do \
	  case $$mode in defaults) args="";; limiter-off) args="--aws-max-rps 0";; *) echo "unknown mode $$mode"; exit 2;; esac; \
	  ECS_ENV_DIR=$(BENCH_ENV) hack/env-down.sh; \
	  ECS_ENV_DIR=$(BENCH_ENV) hack/env-up.sh; \
	  ( source $(BENCH_ENV)/env && hack/install-crds.sh && \
	    BENCH_OUT=$(BENCH_OUT) BENCH_CONTROLLER_ARGS="$$args $(BENCH_CONTROLLER_ARGS)" \
	    ECS_CONTROLLER_BIN=$(ROOT)/target/release/ecs-controller ECS_ENV_DIR=$(BENCH_ENV) \
	    $(ROOT)/target/release/examples/bench $$n ) || rc=1; \
	done; done; \
	exit $$rc

.PHONY: hot-text
hot-text: ## regenerate controller/hot-text.ld (which code the linker keeps together): the benchmark under valgrind, ~20 min
	hack/hot-text.sh

.PHONY: lint
lint: ## the release path: one version everywhere (hack/check-versions.sh), workflows pass actionlint
	hack/check-versions.sh
	hack/build-tools.sh actionlint
	$(ACTIONLINT) -no-color

.PHONY: image
image: ## the controller image from the release binary (buildah, FROM scratch; stored in .local-image)
	ECS_IMAGE_STORE=$(IMAGE_STORE) hack/image.sh

.PHONY: test
test: fmt-check clippy lint unit e2e ## everything CI runs

.PHONY: clean
clean: env-down ## stop environments and remove build output (keeps the ~/.cache tools)
	ECS_ENV_DIR=$(TEST_ENV) hack/env-down.sh
	rm -rf $(IMAGE_STORE)
	cargo clean
