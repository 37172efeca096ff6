/* wavetensor Llama: a decoder-only transformer with a preallocated KV cache.
 * Owns: the Hugging Face config, the weights (f32/f16/bf16 as loaded), the KV
 * cache, the step arena, token sampling and the two tokenizer formats
 * (llama2.c tokenizer.bin, Hugging Face tokenizer.json). A decode step never
 * allocates: it runs on an arena planned at load time by a dry run, and every
 * growing quantity (position, valid cache length) is a state value, not an
 * allocation. The model runs on one backend (the CPU by default, or a
 * device such as CUDA): weights, cache and step state live there, the host
 * keeps only the ids it checks, the logits it downloads and the sampler. On
 * a device the decode step is captured once and replayed as a graph.
 * No function here is callback safe; a model object is used by one thread
 * at a time. */
#ifndef WAVETENSOR_LLAMA_H
#define WAVETENSOR_LLAMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wavetensor/config.h"
#include "wavetensor/ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- configuration (Hugging Face LlamaConfig) ---- */

typedef struct wt_llama_config {
    int64_t hidden;        /* hidden_size */
    int64_t intermediate;  /* intermediate_size */
    int64_t layers;        /* num_hidden_layers */
    int64_t heads;         /* num_attention_heads */
    int64_t kv_heads;      /* num_key_value_heads (default: heads) */
    int64_t head_dim;      /* head_dim (default: hidden / heads) */
    int64_t vocab;         /* vocab_size */
    int64_t max_pos;       /* max_position_embeddings */
    double rms_eps;        /* rms_norm_eps */
    double rope_theta;     /* rope_theta */
    bool tie_embeddings;   /* tie_word_embeddings (lm_head = embed_tokens) */
    int64_t bos, eos;      /* bos_token_id, eos_token_id */
} wt_llama_config;

/* Reads and checks a config (positive sizes, heads divisible by kv_heads, no
 * rope_scaling, silu activation). Errors name the file and the key. */
wt_status wt_llama_config_from(const wt_config *c, const char *name, wt_llama_config *out);
wt_status wt_llama_config_load(const char *path, wt_llama_config *out);
/* Parameter count and bytes of the weights in `dtype` (norms counted as f32). */
int64_t wt_llama_param_count(const wt_llama_config *cfg);

/* ---- the model ---- */

typedef struct wt_llama_options {
    /* Weight dtype for the matrices: WT_F32, WT_F16, WT_BF16, or
     * WT_DTYPE_COUNT to keep each tensor's dtype from the file. Norm weights
     * are always f32. On CUDA a matrix kept in f16/bf16 multiplies the
     * activations rounded to that dtype (the GEMM takes one input type), so
     * its logits differ from the CPU's by that rounding; WT_F32 converts at
     * load and keeps f32 arithmetic. */
    wt_dtype dtype;
    int64_t context;       /* KV cache length; 0 = max_position_embeddings */
    int threads;           /* threads for matmuls; 0 = 1 */
    int64_t prefill_chunk; /* prompt tokens per batched forward; 0 = 128 */
    /* Attention composed of generic ops (batched matmul, softmax over the
     * valid part of the cache) instead of the wt_attention_cached op: a
     * cross-check, and a path for a backend without that op. Its shapes grow
     * with the position, so the decode step is then not static. */
    bool op_attention;
    /* Backend of the weights, cache and every op (wt_backend_by_name("cuda")
     * for a GPU); NULL = the CPU. */
    const wt_backend *backend;
    /* Replay the decode step as a captured graph on backends that record
     * them (CUDA); false runs every step eagerly, as does the environment
     * variable WT_GRAPHS=0, and op_attention (its shapes change per step). */
    bool graphs;
} wt_llama_options;

/* Defaults: dtype as stored, full context, 1 thread, chunks of 128,
 * attention by wt_attention_cached (a static decode step), the CPU backend,
 * graphs on. */
wt_llama_options wt_llama_options_default(void);

typedef struct wt_llama wt_llama;

/* Loads a checkpoint (HF tensor names) and plans the step arena. Every shape
 * is checked against the config: a mismatch is an error naming the tensor,
 * the expected and the found shape. NULL on error (wt_last_error says why). */
wt_llama *wt_llama_new(const wt_llama_config *cfg, const char *weights_path,
                       const wt_llama_options *opt);
/* Same shapes with deterministic pseudo-random weights (benchmarks). */
wt_llama *wt_llama_new_random(const wt_llama_config *cfg, uint64_t seed,
                              const wt_llama_options *opt);
void wt_llama_free(wt_llama *m);

const wt_llama_config *wt_llama_cfg(const wt_llama *m);
int64_t wt_llama_context(const wt_llama *m);
/* The backend the model runs on, and whether its decode steps are replayed
 * graphs (false on the CPU, with graphs off, or with WT_GRAPHS=0). */
const wt_backend *wt_llama_backend(const wt_llama *m);
bool wt_llama_graphs(const wt_llama *m);
/* Switches graph replay on or off (the next step runs eagerly; with graphs
 * on, the one after it is captured). Allocates: not between steps of a
 * real-time loop. */
wt_status wt_llama_set_graphs(wt_llama *m, bool on);
/* Bytes of weights one decode step reads (every matrix once, plus norms). */
size_t wt_llama_weight_bytes(const wt_llama *m);
void wt_llama_set_threads(wt_llama *m, int threads);

/* Forget the cache: the next token is at position 0. Never allocates. */
void wt_llama_reset(wt_llama *m);
/* Tokens in the cache (the position of the next token). */
int64_t wt_llama_pos(const wt_llama *m);

/* Runs n tokens at positions pos..pos+n-1 in batched forwards (causal mask)
 * and appends them to the cache. `all_logits` (n * vocab floats) receives the
 * logits of every position when not NULL; the last position's logits are
 * always available through wt_llama_logits. Errors: ids outside the
 * vocabulary, n == 0, pos + n past the context. On the CPU it allocates (a
 * heap context per call); a device runs the chunks in an arena planned at
 * load. Not for the real-time path. */
wt_status wt_llama_prefill(wt_llama *m, const int32_t *ids, int64_t n, float *all_logits);
/* One decode step: `token` at position pos; zero allocations. The token is
 * checked on the host, then token and position are uploaded, the step runs
 * (replayed as a graph on a device after two eager runs) and the logits are
 * downloaded. Errors: id outside the vocabulary, position past the context. */
wt_status wt_llama_step(wt_llama *m, int32_t token);
/* Logits (vocab floats, host memory owned by the model) of the last
 * position run; valid until the next prefill/step/reset. */
const float *wt_llama_logits(const wt_llama *m);

/* ---- sampling ---- */

typedef struct wt_llama_sampler wt_llama_sampler;

/* temperature 0 = greedy (argmax, lowest index among equal maxima); else
 * softmax(logits / temperature), restricted to the smallest set of most
 * likely tokens whose mass reaches top_p when 0 < top_p < 1. The RNG is
 * xorshift64* seeded with `seed` (same seed, same tokens). Scratch for
 * vocab entries is reserved here, so sampling never allocates. */
wt_llama_sampler *wt_llama_sampler_new(int64_t vocab, float temperature, float top_p,
                                       uint64_t seed);
void wt_llama_sampler_free(wt_llama_sampler *s);
int32_t wt_llama_sample(wt_llama_sampler *s, const float *logits);
/* Index of the largest value (lowest index among equal maxima). */
int32_t wt_llama_argmax(const float *logits, int64_t n);

/* ---- generation (the loop of llama2.c's generate()) ---- */

typedef enum wt_llama_stop { WT_LLAMA_STOP_STEPS, WT_LLAMA_STOP_BOS, WT_LLAMA_STOP_EOS } wt_llama_stop;

typedef struct wt_llama_gen {
    int64_t n_generated;
    int64_t n_forward;     /* positions run (prompt included) */
    wt_llama_stop stop;
    double prefill_s, decode_s; /* wall time of the prompt and of the decode steps */
} wt_llama_gen;

/* Token callback: called with each emitted id; return false to stop early. */
typedef bool (*wt_llama_emit_fn)(void *user, int32_t id);

/* Resets the model, prefills prompt[0..n_prompt) (prompt[0] usually BOS),
 * then picks and emits tokens until `steps` forward passes have run, a BOS
 * pick (not emitted), an EOS pick when stop_on_eos (not emitted), or the
 * callback says stop. steps must be within the context and >= n_prompt.
 * `out` (capacity cap, may be NULL) receives the emitted ids. */
wt_status wt_llama_generate(wt_llama *m, const int32_t *prompt, int64_t n_prompt, int64_t steps,
                            wt_llama_sampler *s, bool stop_on_eos, int32_t *out, int64_t cap,
                            wt_llama_emit_fn emit, void *user, wt_llama_gen *res);

/* ---- tokenizers ---- */

typedef struct wt_llama_tokenizer wt_llama_tokenizer;

/* llama2.c's tokenizer.bin: int32 max_token_length, then per token a float
 * score, an int32 length and the bytes. `vocab` must match the model. */
wt_llama_tokenizer *wt_llama_tokenizer_load_bin(const char *path, int64_t vocab);
/* Hugging Face tokenizer.json with a BPE model (merges, byte_fallback) as
 * Llama 2 / TinyLlama ship it. */
wt_llama_tokenizer *wt_llama_tokenizer_load_json(const char *path);
void wt_llama_tokenizer_free(wt_llama_tokenizer *t);
int64_t wt_llama_tokenizer_vocab(const wt_llama_tokenizer *t);

/* Text to ids (SentencePiece conventions: a leading space is added, spaces
 * become U+2581, unknown bytes use <0xNN> byte tokens). Writes up to cap ids
 * and sets *n to the count (an error when cap is too small); BOS is
 * prepended when add_bos. */
wt_status wt_llama_encode(const wt_llama_tokenizer *t, const char *text, bool add_bos,
                          int32_t *ids, int64_t cap, int64_t *n);
/* The text of one id following `prev` (the leading space after BOS is
 * dropped, byte tokens give their byte). The string belongs to the
 * tokenizer; NULL for an id outside the vocabulary. Bytes may form partial
 * UTF-8 sequences: print them raw. */
const char *wt_llama_decode(const wt_llama_tokenizer *t, int32_t prev, int32_t id, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
