#!/usr/bin/env bash
# Usage: hack/image-context.sh BINARY DIR
# Gathers the build context of the Containerfile in DIR: the binary at rootfs/usr/local/bin, the shared
# libraries it links (as `ldd` resolves them here: a glibc build needs libc, libm, libgcc_s and the
# loader), the CA bundle, and /etc/passwd and /etc/group with the non-root user 65532 ("nonroot", as in
# distroless). Nothing is downloaded.
set -euo pipefail
bin=${1:?usage: $0 BINARY DIR}
dir=${2:?usage: $0 BINARY DIR}
root="$dir/rootfs"
# Only a directory this script made before is replaced.
if [[ -e $dir && ! -f $dir/Containerfile ]]; then
  echo "[image-context] $dir exists and is not a build context; choose another directory" >&2
  exit 1
fi
rm -rf "$dir"
mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/tmp"
install -m 0755 "$bin" "$root/usr/local/bin/ecs-controller"
# Every library ldd names with a path, copied to the same path (symlinks resolved).
ldd "$bin" | grep -o '/[^ ]*' | sort -u | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
ca=/etc/ssl/certs/ca-certificates.crt
[[ -f $ca ]] || { echo "[image-context] no CA bundle at $ca (apt-get install ca-certificates)" >&2; exit 1; }
cp -L "$ca" "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
chmod 1777 "$root/tmp"
cp "$(dirname "$0")/../Containerfile" "$dir/Containerfile"
echo "[image-context] $dir: $(du -sh "$root" | cut -f1) ($(find "$root" -type f | wc -l) files)" >&2
