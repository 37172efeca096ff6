#!/usr/bin/env bash
# The live demonstration (run by tools/main.sh after the build): plays a
# bundled speech clip through `wavetensor live codec` and `wavetensor live
# denoise` on a JACK server, records their outputs to out/live-*.wav, and
# prints each run's latency, CPU load (real-time factor), xruns and
# underruns. Without a running JACK server it starts a dummy one (unique
# name, no sound card needed) and stops it again by its pid.
#
#   usage: tools/live_demo.sh [path/to/wavetensor]
#   env:   WT_DEMO_FREEWHEEL=1  run the JACK graph as fast as it goes (no deadlines)
#          WT_DEMO_RATE=48000   the dummy server's rate; WT_DEMO_PERIOD=256 its period
#          WT_DEMO_HEADROOM=0   extra output buffering in ms (see README, Live audio)
#          WT_GOLDEN_DIR        reference data (default ../shared/golden)
set -euo pipefail
cd "$(dirname "$0")/.."

WT=${1:-build/wavetensor}
GOLDEN=${WT_GOLDEN_DIR:-../shared/golden}
CLIP=data/speech/p287_002.wav
RATE=${WT_DEMO_RATE:-48000}
PERIOD=${WT_DEMO_PERIOD:-256}
HEADROOM=${WT_DEMO_HEADROOM:-0}
FREEWHEEL=()
[ "${WT_DEMO_FREEWHEEL:-0}" = 1 ] && FREEWHEEL=(--freewheel)
mkdir -p out

for f in "$WT" "$CLIP" "$GOLDEN/mimi/tiny-speech/model.safetensors" \
         "$GOLDEN/demucs/tiny-noisy/model.safetensors"; do
  [ -e "$f" ] || { echo "live demo: missing $f" >&2; exit 1; }
done

jackd_pid=""
live_pid=""
cleanup() {
  # Only what this script started, by pid.
  [ -n "$live_pid" ] && kill -TERM "$live_pid" 2>/dev/null && wait "$live_pid" 2>/dev/null
  if [ -n "$jackd_pid" ]; then
    kill -TERM "$jackd_pid" 2>/dev/null || true
    wait "$jackd_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

# A JACK server: the running one ($JACK_DEFAULT_SERVER or default), else a
# dummy one of our own under a name nobody else uses.
server=${JACK_DEFAULT_SERVER:-default}
if [ "$(jack_wait -s "$server" -c 2>/dev/null)" = "running" ]; then
  echo "== JACK: using the running server '$server'"
else
  server="wt_demo_$$_$RANDOM"
  echo "== JACK: no server running; starting a dummy one ('$server', $RATE Hz, period $PERIOD)"
  jackd -n "$server" -d dummy -r "$RATE" -p "$PERIOD" >out/jackd.log 2>&1 &
  jackd_pid=$!
  for _ in $(seq 100); do
    [ "$(jack_wait -s "$server" -c 2>/dev/null)" = "running" ] && break
    kill -0 "$jackd_pid" 2>/dev/null || { echo "live demo: jackd failed (see out/jackd.log)" >&2; exit 1; }
    sleep 0.1
  done
  [ "$(jack_wait -s "$server" -c 2>/dev/null)" = "running" ] || { echo "live demo: jackd did not start" >&2; exit 1; }
fi

echo "   weights: the golden tiny test models from $GOLDEN (mimi tiny-speech,"
echo "   demucs tiny-noisy). No trained weights are available offline, so the"
echo "   output audio is not meaningful speech: the demo shows the real-time"
echo "   path (latency, load, xruns), not model quality."

# Runs one live mode, plays the clip through it, records its output.
run_mode() { # mode out.wav weights config extra-args...
  local mode=$1 wav=$2 weights=$3 config=$4
  shift 4
  local client="wt_$mode"
  echo
  echo "== live $mode: $CLIP -> wavetensor live $mode -> $wav"
  "$WT" live "$mode" --jack --server "$server" --name "$client" --headroom "$HEADROOM" \
    --weights "$weights" --config "$config" --no-status "$@" >"out/live-$mode.log" 2>&1 &
  live_pid=$!
  for _ in $(seq 200); do
    jack_lsp -s "$server" 2>/dev/null | grep -qx "$client:out" && break
    kill -0 "$live_pid" 2>/dev/null || break
    sleep 0.05
  done
  if ! jack_lsp -s "$server" 2>/dev/null | grep -qx "$client:out"; then
    cat "out/live-$mode.log" >&2
    echo "live demo: wavetensor live $mode did not start" >&2
    exit 1
  fi
  "$WT" playrec "$CLIP" -o "$wav" --server "$server" --name "wt_demo_$mode" \
    --to "$client:in" --from "$client:out" "${FREEWHEEL[@]}"
  kill -TERM "$live_pid"
  local rc=0
  wait "$live_pid" || rc=$?
  live_pid=""
  sed 's/^/   wavetensor: /' "out/live-$mode.log"
  [ "$rc" -eq 0 ] || { echo "live demo: wavetensor live $mode exited with $rc" >&2; exit 1; }
}

run_mode codec out/live-codec.wav "$GOLDEN/mimi/tiny-speech/model.safetensors" \
  "$GOLDEN/mimi/tiny-speech/config.json"
run_mode denoise out/live-denoise.wav "$GOLDEN/demucs/tiny-noisy/model.safetensors" \
  "$GOLDEN/demucs/configs/tiny.json"

echo
echo "== live demo done: out/live-codec.wav, out/live-denoise.wav"
echo "   (load = model compute time / audio time, so 1/load is the real-time"
echo "   headroom; underruns = periods the model was late; xruns = JACK's own)"
