/* wavetensor Mimi neural audio codec (Kyutai): 24 kHz mono <-> 12.5 Hz frames
 * of residual-VQ codes, whole clip and streaming (1920 samples per frame).
 * Owns: the config, the weights (tensor names of the published checkpoint,
 * weight-norm variants folded by the loader), the offline encode/decode and
 * the streaming encoder/decoder objects with their persistent state and step
 * arena. A streaming step never allocates: every buffer comes from an arena
 * planned by a dry run at setup, and state lives in tensors allocated then.
 * Thread safety: a model may be shared by several threads for offline work
 * (each with its own context) and by several streams; one stream object is
 * used by one thread at a time. Streaming steps are real-time safe (no
 * allocation, no I/O, no locks); everything else is not.
 * Backends: a model lives on one backend (the CPU, or a device such as
 * CUDA) and every pass runs there; its streams inherit it. On a device a
 * streaming step is one fixed sequence of ops on fixed tensors (inputs
 * uploaded before, outputs downloaded after), replayed as a recorded graph
 * where the backend records them (wavetensor/graph.h). */
#ifndef WAVETENSOR_MIMI_H
#define WAVETENSOR_MIMI_H

#include <stdbool.h>
#include <stdint.h>

#include "wavetensor/config.h"
#include "wavetensor/ctx.h"
#include "wavetensor/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WT_MIMI_MAX_RATIOS 8

/* Architecture (schema: ../shared/golden/mimi/README.md, presets/mimi-v0.1.json). */
typedef struct wt_mimi_config {
    int sample_rate;     /* 24000 */
    double frame_rate;   /* 12.5 */
    int channels;        /* 1 */
    int num_codebooks;   /* default codebooks used by encode/decode */
    /* seanet */
    int dimension;       /* latent width D */
    int n_filters;
    int n_residual_layers;
    int ratios[WT_MIMI_MAX_RATIOS]; /* decoder order (8,6,5,4) */
    int n_ratios;
    int kernel_size, residual_kernel_size, last_kernel_size;
    int dilation_base, compress;
    /* transformer (encoder and decoder share the shape) */
    int num_heads, num_layers, dim_feedforward, context;
    double max_period;
    /* quantizer */
    int q_dimension;     /* codebook vector width Dq */
    int n_q;             /* codebooks in the weights: 1 semantic + n_q-1 acoustic */
    int bins;
} wt_mimi_config;

/* Parses a config (the error names the file and key). Unsupported variants
 * (non-causal, norms other than none/layer_norm, gating, ...) are refused. */
wt_status wt_mimi_config_from(const wt_config *c, wt_mimi_config *out);
wt_status wt_mimi_config_load(const char *path, wt_mimi_config *out);
/* Samples per frame (sample_rate / frame_rate = 1920) and the product of the
 * ratios times 2 (25 Hz -> 12.5 Hz); they must agree for a valid config. */
int wt_mimi_frame_size(const wt_mimi_config *cfg);

typedef struct wt_mimi wt_mimi;

/* Loads weights from a safetensors file (published names). `dtype` is the
 * dtype of the transformer matrices and conv / conv-transpose weights (f32,
 * f16 or bf16); norms, biases, projections and codebooks are kept in f32. NULL on error (wt_last_error names file, tensor and shapes). */
wt_mimi *wt_mimi_load(const wt_mimi_config *cfg, const char *weights_path, wt_dtype dtype);
/* Random weights of the config's shapes (benchmarks), deterministic in seed. */
wt_mimi *wt_mimi_new_random(const wt_mimi_config *cfg, wt_dtype dtype, uint64_t seed);
/* The same with the weights on backend `be` (NULL: the CPU, as above);
 * random values are drawn on the host, equal on every backend, and uploaded. */
wt_mimi *wt_mimi_load_on(const wt_backend *be, const wt_mimi_config *cfg, const char *weights_path,
                         wt_dtype dtype);
wt_mimi *wt_mimi_new_random_on(const wt_backend *be, const wt_mimi_config *cfg, wt_dtype dtype,
                               uint64_t seed);
void wt_mimi_free(wt_mimi *m);
/* The backend the weights live on (never NULL). */
const wt_backend *wt_mimi_backend(const wt_mimi *m);

const wt_mimi_config *wt_mimi_get_config(const wt_mimi *m);
/* 64-bit identifier of the weights: a hash of every tensor's name, dtype,
 * shape and bytes as stored in the file (random models: of the seed). */
uint64_t wt_mimi_model_id(const wt_mimi *m);
/* Bytes of weights one streaming encode / decode step reads. */
size_t wt_mimi_weight_bytes(const wt_mimi *m, int encoder);

/* Intermediate tensors of the whole-clip passes (tests, tools). Any member
 * may be left NULL by the caller; filled ones live in the call's context. */
typedef struct wt_mimi_trace {
    wt_tensor *enc_seanet_out, *enc_transformer_out, *latent;    /* encode */
    wt_tensor *semantic_proj_in, *acoustic_proj_in;              /* encode */
    wt_tensor *quantized, *dec_upsample_out, *dec_transformer_out; /* decode */
} wt_mimi_trace;

/* Whole clip. pcm f32 [B, 1, T] (T a multiple of the frame size) -> codes
 * i64 [B, n_codebooks, T/1920]; 1 <= n_codebooks <= n_q. Allocates from ctx,
 * which must be a context of the model's backend, as must the input tensor
 * (the caller uploads it); otherwise an error on ctx naming both backends. */
wt_tensor *wt_mimi_encode(wt_mimi *m, wt_ctx *ctx, const wt_tensor *pcm, int n_codebooks,
                          wt_mimi_trace *trace);
/* codes i64 [B, K, F] (1 <= K <= n_q, every code < bins) -> f32 [B, 1, F*1920].
 * The codes are range-checked on the host (downloaded first on a device). */
wt_tensor *wt_mimi_decode(wt_mimi *m, wt_ctx *ctx, const wt_tensor *codes, wt_mimi_trace *trace);

/* ---- streaming ---- */

typedef struct wt_mimi_encoder_stream wt_mimi_encoder_stream;
typedef struct wt_mimi_decoder_stream wt_mimi_decoder_stream;

/* Streams for `batch` independent entries using `n_codebooks` codebooks, on
 * the model's backend. Plans and reserves the step arena (dry run) and the
 * state; `threads` is the step's thread count on the CPU (1 for real time;
 * ignored on a device). NULL on error. Steps are replayed as a graph on
 * backends that record them (the first step runs eagerly, the second is
 * captured) unless turned off by *_set_graphs or WT_GRAPHS=0. */
wt_mimi_encoder_stream *wt_mimi_encoder_stream_new(wt_mimi *m, int batch, int n_codebooks,
                                                   int threads);
void wt_mimi_encoder_stream_free(wt_mimi_encoder_stream *s);
/* One frame: pcm [batch][1920] -> codes [batch][n_codebooks]. active has
 * `batch` entries (0 = this entry is frozen: its state does not change and
 * its codes are not written) or is NULL (all active). Real-time safe. */
wt_status wt_mimi_encoder_stream_step(wt_mimi_encoder_stream *s, const float *pcm,
                                      const uint8_t *active, int64_t *codes);
/* Restarts entry b (b < 0: all) as a fresh stream; the others are untouched.
 * Between steps only. Real-time safe. */
void wt_mimi_encoder_stream_reset(wt_mimi_encoder_stream *s, int b);
/* Graph replay of the steps on (default) or off (eager: every step runs the
 * ops one by one); only matters on backends that record graphs. Between
 * steps only; the next step with graphs on is captured again. 0 or an error. */
wt_status wt_mimi_encoder_stream_set_graphs(wt_mimi_encoder_stream *s, bool on);
/* The step arena (for allocation accounting in tests). */
const wt_ctx *wt_mimi_encoder_stream_ctx(const wt_mimi_encoder_stream *s);
/* The last step's latent before quantization, f32 [batch, D, 1], a fixed
 * tensor of the stream on the model's backend (download it on a device),
 * rewritten by every step (tests, tools). */
const wt_tensor *wt_mimi_encoder_stream_latent(const wt_mimi_encoder_stream *s);

wt_mimi_decoder_stream *wt_mimi_decoder_stream_new(wt_mimi *m, int batch, int n_codebooks,
                                                   int threads);
void wt_mimi_decoder_stream_free(wt_mimi_decoder_stream *s);
/* One frame: codes [batch][n_codebooks] -> pcm [batch][1920]; active as for
 * the encoder (a frozen entry's pcm is not written). Codes out of range are
 * an error (WT_ERR_INVALID) and leave every state unchanged. Real-time safe. */
wt_status wt_mimi_decoder_stream_step(wt_mimi_decoder_stream *s, const int64_t *codes,
                                      const uint8_t *active, float *pcm);
void wt_mimi_decoder_stream_reset(wt_mimi_decoder_stream *s, int b);
wt_status wt_mimi_decoder_stream_set_graphs(wt_mimi_decoder_stream *s, bool on);
const wt_ctx *wt_mimi_decoder_stream_ctx(const wt_mimi_decoder_stream *s);

#ifdef __cplusplus
}
#endif
#endif
