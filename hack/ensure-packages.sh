#!/usr/bin/env bash
# Installs the Debian packages the tests use when they are missing: lua5.1 (Argo CD health checks run
# under Lua 5.1, as gopher-lua does) and openssl (the local control plane's certificates).
set -euo pipefail
missing=()
command -v lua5.1 >/dev/null || missing+=(lua5.1)
command -v openssl >/dev/null || missing+=(openssl)
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
  echo "[ensure-packages] missing: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "[ensure-packages] installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq "${missing[@]}" >/dev/null
