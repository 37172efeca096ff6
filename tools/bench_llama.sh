#!/usr/bin/env bash
# Llama throughput: wavetensor (`wavetensor bench llama`) on stories260K and on
# random weights of TinyLlama-1.1B's shapes (f32, bf16, f16; 1 and 2 threads),
# and, when LLAMA2C_DIR points at a directory holding llama2.c's run.c (built
# here into LLAMA2C_DIR/run; never copied into this repository), run.c on the
# same models converted by tools/llama_to_llama2c.py.
#
#   tools/bench_llama.sh [BUILD_DIR]      (default: build)
#   LLAMA2C_DIR=/tmp/llama2c LLAMA2C_1B=1 TOKENS_1B=32 REPS=3 tools/bench_llama.sh /tmp/build
#
# Each line is one JSON object (ours) or "run.c ... tok/s" (theirs). Both
# sides time the same decode steps: ours `--tokens N` after a prefill, run.c
# `-n N+1` (its timer skips the first step). With LLAMA2C_1B the f32 1.1B
# comparison runs ours and run.c alternately REPS times per thread count,
# each line with the 1-minute load average, then prints the medians: on a
# shared machine single runs are noisy, interleaved medians much less so.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
cli="$build/wavetensor"
gold=../shared/golden/llama/stories260K
tokens_1b=${TOKENS_1B:-16}
reps=${REPS:-3}
[ -x "$cli" ] || { echo "bench_llama: $cli not built" >&2; exit 1; }

tiny_cfg=$(mktemp /tmp/wt_tinyllama_XXXXXX.json)
trap 'rm -f "$tiny_cfg"' EXIT
cat >"$tiny_cfg" <<'EOF'
{"hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 22,
 "num_attention_heads": 32, "num_key_value_heads": 4, "vocab_size": 32000,
 "max_position_embeddings": 2048, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
 "tie_word_embeddings": false, "hidden_act": "silu"}
EOF

echo "# stories260K, 511 decode steps from BOS (the whole 512 context)"
for t in 1 2; do
  "$cli" bench llama --config "$gold/config.json" --weights "$gold/model.safetensors" \
    --prompt 1 --tokens 511 --threads "$t" --json
done

echo "# TinyLlama-1.1B shapes, random weights, $tokens_1b decode steps"
for dt in f32 bf16 f16; do
  for t in 1 2; do
    "$cli" bench llama --config "$tiny_cfg" --dtype "$dt" --prompt 8 --tokens "$tokens_1b" \
      --threads "$t" --json
  done
done

if [ -n "${LLAMA2C_DIR:-}" ]; then
  d=$LLAMA2C_DIR
  [ -f "$d/run.c" ] || { echo "bench_llama: $d/run.c missing" >&2; exit 1; }
  [ -x "$d/run" ] || gcc -Ofast -march=native -fopenmp "$d/run.c" -o "$d/run" -lm
  [ -f "$d/stories260K.bin" ] || python3 tools/llama_to_llama2c.py "$gold" "$d/stories260K.bin" \
    --tokenizer-out "$d/tok512.bin"
  echo "# run.c (gcc -Ofast -march=native -fopenmp), stories260K, 512 steps from BOS"
  for t in 1 2; do
    printf 'run.c stories260K threads %s: ' "$t"
    OMP_NUM_THREADS=$t "$d/run" "$d/stories260K.bin" -z "$d/tok512.bin" -t 0 -n 512 2>&1 |
      grep -o 'achieved tok/s: [0-9.]*'
  done
  if [ -n "${LLAMA2C_1B:-}" ]; then
    [ -f "$d/tinyllama-shapes.bin" ] || python3 tools/llama_to_llama2c.py --random "$tiny_cfg" \
      "$d/tinyllama-shapes.bin" --tokenizer-out "$d/tok32000.bin"
    echo "# TinyLlama-1.1B shapes f32, ours and run.c alternately, $tokens_1b timed steps, $reps rounds"
    res=$(mktemp /tmp/wt_bench_llama_XXXXXX)
    trap 'rm -f "$tiny_cfg" "$res"' EXIT
    for r in $(seq "$reps"); do
      for t in 1 2; do
        load=$(cut -d' ' -f1 /proc/loadavg)
        j=$("$cli" bench llama --config "$tiny_cfg" --dtype f32 --prompt 8 --tokens "$tokens_1b" \
          --threads "$t" --json)
        tps=$(grep -o '"decode_tok_s": [0-9.]*' <<<"$j" | grep -o '[0-9.]*$')
        gbs=$(grep -o '"weights_gb_s": [0-9.]*' <<<"$j" | grep -o '[0-9.]*$')
        cp=$(grep -o '"mem_copy_gb_s": [0-9.]*' <<<"$j" | grep -o '[0-9.]*$')
        echo "ours  f32 threads $t: $tps tok/s, weights $gbs GB/s, copy loop $cp GB/s (load $load)"
        echo "ours $t $tps" >>"$res"
        load=$(cut -d' ' -f1 /proc/loadavg)
        tps=$(OMP_NUM_THREADS=$t "$d/run" "$d/tinyllama-shapes.bin" -z "$d/tok32000.bin" -t 0 \
          -n $((tokens_1b + 1)) 2>&1 | grep -o 'achieved tok/s: [0-9.]*' | grep -o '[0-9.]*$')
        echo "run.c f32 threads $t: $tps tok/s (load $load)"
        echo "run.c $t $tps" >>"$res"
      done
    done
    for side in ours run.c; do
      for t in 1 2; do
        med=$(awk -v s="$side" -v t="$t" '$1 == s && $2 == t {print $3}' "$res" | sort -g |
          awk '{v[NR] = $1} END {if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}')
        echo "median $side f32 threads $t: $med tok/s"
      done
    done
  fi
fi
