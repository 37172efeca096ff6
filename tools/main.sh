#!/usr/bin/env bash
# The main job: set up, build, then run the engine self-check (loads golden
# weights and runs a small model op by op, printing each step).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
./build/wavetensor selfcheck
