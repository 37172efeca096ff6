#!/usr/bin/env bash
# Measures the round trip of `wavetensor live` modes with jack_iodelay (from
# Debian's jackd2) on dummy JACK servers of our own (unique names, stopped by
# pid), next to the latency budget wavetensor computes and the latency it
# reports to JACK. jack_iodelay's signal goes out of jack_delay:out, through
# wavetensor and back into jack_delay:in; that loop is a cycle in the JACK
# graph, which JACK breaks with one period of delay, so wavetensor's own
# share is the measured round trip minus one period. (Its "extra loopback
# latency" line assumes a hardware loop and counts our latency twice: ignore
# it.) jack_iodelay needs its test tones to pass: modes that change the
# signal (the codec; denoise with trained weights) are measured by the
# sample-accurate tests in tests/test_rt_live.c instead; denoise is measured
# here with --dry 1, which passes the input through the streamer's own
# buffering.
#
#   usage: tools/live_latency.sh [path/to/wavetensor]
set -euo pipefail
cd "$(dirname "$0")/.."
WT=${1:-build/wavetensor}
GOLDEN=${WT_GOLDEN_DIR:-../shared/golden}
DEMUCS=(--weights "$GOLDEN/demucs/tiny-noisy/model.safetensors" --config "$GOLDEN/demucs/configs/tiny.json")
log=$(mktemp -d)
jackd_pid="" live_pid="" iod_pid=""
cleanup() {
  for p in "$iod_pid" "$live_pid" "$jackd_pid"; do
    [ -n "$p" ] && { kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; }
  done
  rm -rf "$log"
}
trap cleanup EXIT

measure() { # rate period label live-args...
  local rate=$1 period=$2 label=$3
  shift 3
  local server="wt_lat_$$_$RANDOM"
  jackd -n "$server" -d dummy -r "$rate" -p "$period" >"$log/jackd" 2>&1 &
  jackd_pid=$!
  for _ in $(seq 100); do
    [ "$(jack_wait -s "$server" -c 2>/dev/null)" = running ] && break
    sleep 0.1
  done
  "$WT" live "$@" --jack --server "$server" --name wt_lat --no-status >"$log/live" 2>&1 &
  live_pid=$!
  for _ in $(seq 200); do
    jack_lsp -s "$server" 2>/dev/null | grep -qx wt_lat:out && break
    sleep 0.05
  done
  JACK_DEFAULT_SERVER=$server stdbuf -oL jack_iodelay >"$log/iod" 2>/dev/null &
  iod_pid=$!
  for _ in $(seq 100); do
    jack_lsp -s "$server" 2>/dev/null | grep -qx jack_delay:in && break
    sleep 0.05
  done
  jack_connect -s "$server" jack_delay:out wt_lat:in
  jack_connect -s "$server" wt_lat:out jack_delay:in
  sleep 3
  kill -TERM "$iod_pid"; wait "$iod_pid" 2>/dev/null || true; iod_pid=""
  kill -TERM "$live_pid"; wait "$live_pid" 2>/dev/null || true; live_pid=""
  kill -TERM "$jackd_pid"; wait "$jackd_pid" 2>/dev/null || true; jackd_pid=""
  local budget reported roundtrip
  budget=$(sed -n 's/^latency budget (model samples at \([0-9]*\) Hz): \(.*\) = \([0-9]*\) (.*/\2 = \3 @ \1 Hz/p' "$log/live")
  reported=$(sed -n "s/^JACK client .*latency \([0-9]*\) frames.*/\1/p" "$log/live")
  roundtrip=$(grep 'total roundtrip' "$log/iod" | tail -1 | awk '{printf "%d", $1}')
  if [ -z "$roundtrip" ]; then
    echo "| $label | $rate / $period | $budget | $reported | (no jack_iodelay reading) |"
    return
  fi
  printf '| %s | %s / %s | %s | %s (%.2f ms) | %s - %s = %s (%.2f ms) |\n' "$label" "$rate" "$period" \
    "$budget" "$reported" "$(echo "1000*$reported/$rate" | bc -l)" "$roundtrip" "$period" \
    "$((roundtrip - period))" "$(echo "1000*($roundtrip-$period)/$rate" | bc -l)"
}

echo "| mode | JACK rate / period | budget: frame + period + resampler + lookahead + headroom (model samples) | reported to JACK (frames) | jack_iodelay round trip - one period (frames) |"
echo "|---|---|---|---|---|"
measure 48000 256 "passthrough, model 48 kHz frame 480" passthrough --model-rate 48000
measure 48000 256 "passthrough, model 24 kHz frame 480" passthrough
measure 16000 256 "denoise --dry 1 (tiny), 16 kHz" denoise --dry 1 "${DEMUCS[@]}"
measure 48000 256 "denoise --dry 1 (tiny), 48 kHz" denoise --dry 1 "${DEMUCS[@]}"
measure 48000 128 "denoise --dry 1 (tiny), 48 kHz" denoise --dry 1 "${DEMUCS[@]}"
measure 48000 256 "denoise --dry 1 --headroom 20" denoise --dry 1 --headroom 20 "${DEMUCS[@]}"
