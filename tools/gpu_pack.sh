#!/usr/bin/env bash
# Packs programs built here for a run on a GPU machine that lacks our
# Debian libraries: gpu_pack.sh DEST PROGRAM... writes DEST/pack.tar.xz
# holding bin/ (the programs), lib/ (every shared library they need except
# the C runtime and CUDA's, which that machine has matching its driver) and,
# with WT_PACK_GOLDEN=1, golden/ (../shared/golden, which does not travel
# with the repository). Compressed because the trip is limited to 64 MiB.
# tools/gpu_env.sh unpacks it there.
set -euo pipefail
dest=$1; shift
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib" "$dest"
skip='^(linux-vdso|ld-linux|libc\.|libm\.|libdl\.|libpthread\.|librt\.|libstdc\+\+|libgcc_s|libcuda|libcudart|libcublas)'
for p in "$@"; do
    cp -f "$p" "$stage/bin/"
    ldd "$p" | awk '$3 ~ /^\// {print $1, $3}' | while read -r name path; do
        [[ $name =~ $skip ]] && continue
        cp -fL "$path" "$stage/lib/$name"
    done
done
if [ "${WT_PACK_GOLDEN:-0}" = 1 ]; then
    cp -r "$(dirname "$0")/../../shared/golden" "$stage/golden"
fi
tar -C "$stage" -cf - . | xz -T2 -6 > "$dest/pack.tar.xz"
du -h "$dest/pack.tar.xz"
