#!/usr/bin/env bash
# The main job: set up, build, run the engine self-check (loads golden
# weights and runs a small model op by op, printing each step), then the
# live demonstration (tools/live_demo.sh: a bundled speech clip through
# `wavetensor live codec` and `wavetensor live denoise` on a JACK server,
# a dummy one when none runs; outputs in out/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
./build/wavetensor selfcheck
bash tools/live_demo.sh build/wavetensor
