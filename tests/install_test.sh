#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, builds examples/hello.c
# against it through pkg-config (shared and static), and runs both.
set -euo pipefail
build=$1 src=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(ls -d "$prefix"/lib*/ | head -1)
export PKG_CONFIG_PATH="$libdir/pkgconfig"
test -f "$prefix/include/wavetensor/wavetensor.h"
test -x "$prefix/bin/wavetensor"
cc -std=c11 -Wall -Wextra -Werror "$src/examples/hello.c" $(pkg-config --cflags --libs wavetensor) -o "$prefix/hello"
LD_LIBRARY_PATH="$libdir" "$prefix/hello" | tee "$prefix/out.txt"
grep -q "softmax(x W^T) = \[0.075858, 0.924142\]" "$prefix/out.txt"
cc -std=c11 "$src/examples/hello.c" $(pkg-config --cflags "$prefix/lib"*/pkgconfig/wavetensor.pc) \
   "$libdir/libwavetensor.a" $(pkg-config --libs --static wavetensor | sed 's/-lwavetensor//') -o "$prefix/hello-static"
"$prefix/hello-static" | grep -q "0.924142"
echo "install test: headers, shared and static libraries, pkg-config and CLI installed and usable"
