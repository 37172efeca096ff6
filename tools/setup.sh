#!/usr/bin/env bash
# Installs the Debian packages wavetensor needs, only those missing.
# Sourced by tools/main.sh and tools/test.sh; safe to run again.
set -euo pipefail

WT_PACKAGES=(
  cmake gcc pkg-config          # build
  check libsubunit-dev          # unit tests (Check)
  libcjson-dev                  # JSON configs
  libopenblas-dev               # CPU GEMM (CBLAS)
  libsndfile1-dev               # audio files
  libsamplerate0-dev            # resampling
  libjack-jackd2-dev jackd2     # real-time audio (JACK client; jackd for the tests)
  portaudio19-dev               # real-time audio without JACK
  lv2-dev                       # LV2 plugin headers (plugin/)
  lilv-utils jalv lv2proc       # LV2 hosts for the plugin tests
)

missing=()
for p in "${WT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "wavetensor setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
