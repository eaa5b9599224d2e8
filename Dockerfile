# syntax=docker/dockerfile:1
# The ecs-controller image: a release build on Debian bookworm, run from distroless (glibc, CA
# certificates, no shell) as the nonroot user 65532.
#
#   docker build -t ghcr.io/kubefargate/ecs-controller:0.1.0 .
#   docker buildx build --platform linux/amd64,linux/arm64 -t ghcr.io/kubefargate/ecs-controller:0.1.0 --push .
#
# Needs BuildKit (the default builder since Docker 23) for the cache mounts. The builder and the
# runtime share Debian 12, so the binary's glibc matches the one distroless ships.

ARG RUST_VERSION=1

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /src
# Only what the build reads (.dockerignore allows nothing else): the workspace manifests, the lock
# file and the controller crate. tests/ is a workspace member, so its manifest and lib must exist.
COPY Cargo.toml Cargo.lock ./
COPY controller/ controller/
COPY tests/Cargo.toml tests/Cargo.toml
COPY tests/src/ tests/src/
# --locked: exactly Cargo.lock's versions. The registry and target/ are cache mounts, so rebuilds
# after a source change reuse compiled dependencies; the binary is copied out of the cache.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release -p ecs-controller --locked \
 && install -D -m 0755 target/release/ecs-controller /out/ecs-controller \
 && /out/ecs-controller --version

FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="ecs-controller" \
      org.opencontainers.image.description="Declare AWS ECS and Fargate in Kubernetes" \
      org.opencontainers.image.source="https://github.com/kubefargate/ecs-controller" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /out/ecs-controller /ecs-controller
USER 65532:65532
# /metrics, /healthz, /readyz (--metrics-bind-address)
EXPOSE 8080
ENTRYPOINT ["/ecs-controller"]
CMD ["run"]
