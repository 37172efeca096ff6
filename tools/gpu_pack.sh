#!/usr/bin/env bash
# Packs programs built here for a run on a GPU machine that lacks our
# Debian libraries: gpu_pack.sh DEST PROGRAM... copies the programs into
# DEST/bin and every shared library they need, except the C runtime and the
# CUDA libraries (the GPU machine has its own, matching its driver), into
# DEST/lib. tools/gpu_check.sh runs them there.
set -euo pipefail
dest=$1; shift
mkdir -p "$dest/bin" "$dest/lib"
skip='^(linux-vdso|ld-linux|libc\.|libm\.|libdl\.|libpthread\.|librt\.|libstdc\+\+|libgcc_s|libcuda|libcudart|libcublas)'
for p in "$@"; do
    cp -f "$p" "$dest/bin/"
    ldd "$p" | awk '$3 ~ /^\// {print $1, $3}' | while read -r name path; do
        [[ $name =~ $skip ]] && continue
        cp -fL "$path" "$dest/lib/$name"
    done
done
du -sh "$dest"
