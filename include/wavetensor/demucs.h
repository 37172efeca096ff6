/* wavetensor causal Demucs speech enhancement (facebookresearch/denoiser):
 * the model, its offline forward pass and a streamer that reproduces the
 * reference DemucsStreamer sample for sample.
 * Owns: the config (the reference constructor's keyword names), the weights
 * (state_dict names of the published checkpoints), the offline forward, and
 * the streamer's persistent state and step arena. A streaming step
 * (wt_demucs_stream_feed/flush) never allocates: every buffer is reserved by
 * wt_demucs_stream_new. Not thread safe per object; not for an audio callback
 * (a step takes milliseconds: run it on a worker thread).
 * Backends: a model lives on one backend (the CPU unless created with a
 * _new_on function); its streamers and offline passes run there. On a
 * device the streamer keeps its host-side bookkeeping (pending input,
 * running variance, dry/wet mix) in host arrays, uploads each window into a
 * fixed device tensor, runs the network step (replayed as a captured graph
 * where the backend records them) and downloads the step's output. */
#ifndef WAVETENSOR_DEMUCS_H
#define WAVETENSOR_DEMUCS_H

#include <stdbool.h>
#include <stdint.h>

#include "wavetensor/config.h"
#include "wavetensor/ctx.h"
#include "wavetensor/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WT_DEMUCS_MAX_DEPTH 16

/* The reference Demucs(**kwargs). rescale only matters at initialisation
 * (it scaled the weights before training), so inference ignores it. */
typedef struct wt_demucs_config {
    int chin, chout, hidden, depth, kernel_size, stride;
    bool causal;
    int resample; /* 1, 2 or 4 */
    double growth;
    int max_hidden;
    bool normalize, glu;
    double rescale, floor;
    int sample_rate;
} wt_demucs_config;

/* The reference defaults (dns48's shape). */
void wt_demucs_config_default(wt_demucs_config *c);
/* Reads the keys present in j over the defaults and validates the result
 * (unknown keys are ignored; wrong types and impossible values are errors
 * naming the key). */
wt_status wt_demucs_config_from_json(const wt_config *j, wt_demucs_config *c);
wt_status wt_demucs_config_load(const char *path, wt_demucs_config *c);
wt_status wt_demucs_config_validate(const wt_demucs_config *c);
/* Channels of encoder layer i (hidden, then growth per layer, capped). */
int wt_demucs_channels(const wt_demucs_config *c, int layer);
/* The reference valid_length(): the padded input length the network uses. */
int64_t wt_demucs_valid_length(const wt_demucs_config *c, int64_t length);
/* Parameters of the model (weights and biases). */
int64_t wt_demucs_param_count(const wt_demucs_config *c);

typedef struct wt_demucs wt_demucs;

/* Loads the model from a safetensors file with the reference's state_dict
 * names. LSTM matrices and conv weights are held in weight_dtype (f32, f16
 * or bf16), all biases in f32; files of another dtype are converted on load. NULL on error
 * (wt_last_error names the file and tensor). */
wt_demucs *wt_demucs_new(const wt_demucs_config *cfg, const char *weights_path,
                         wt_dtype weight_dtype);
/* The same on backend be (NULL = the CPU): the weights are converted on the
 * host and uploaded. */
wt_demucs *wt_demucs_new_on(const wt_backend *be, const wt_demucs_config *cfg,
                            const char *weights_path, wt_dtype weight_dtype);
/* A model with random weights (PyTorch's default init, uniform
 * +-1/sqrt(fan_in), from a fixed seed): for benchmarks and tests of shape. */
wt_demucs *wt_demucs_new_random(const wt_demucs_config *cfg, uint64_t seed,
                                wt_dtype weight_dtype);
/* The same on backend be (NULL = the CPU): the values are drawn on the host
 * (the same numbers on every backend) and uploaded. */
wt_demucs *wt_demucs_new_random_on(const wt_backend *be, const wt_demucs_config *cfg,
                                   uint64_t seed, wt_dtype weight_dtype);
void wt_demucs_free(wt_demucs *m);
const wt_demucs_config *wt_demucs_get_config(const wt_demucs *m);
/* The backend the model's weights live on (and its passes run on). */
const wt_backend *wt_demucs_get_backend(const wt_demucs *m);
/* Bytes of weights the model holds (what one streaming step reads). */
size_t wt_demucs_weight_bytes(const wt_demucs *m);

/* Optional observer of intermediate tensors ("offline.encoder.0", ...,
 * "stream.frame.input"), for tests and debugging. */
typedef void (*wt_demucs_tap)(void *user, const char *name, const wt_tensor *t);

/* Offline enhancement of mix [B, chin, T] (f32, T >= 2 when normalize);
 * returns [B, chout, T] allocated from ctx, NULL on error (on ctx). ctx and
 * mix must be on the model's backend (the caller uploads mix and downloads
 * the result; a tap then sees device tensors). The ctx may be a heap
 * context: this allocates freely. */
wt_tensor *wt_demucs_forward(wt_demucs *m, wt_ctx *ctx, const wt_tensor *mix, wt_demucs_tap tap,
                             void *user);

/* ---- streaming (DemucsStreamer; chin = chout = 1, causal models) ---- */

typedef struct wt_demucs_stream wt_demucs_stream;

typedef struct wt_demucs_stream_info {
    int64_t frame_length;  /* valid_length(1) + total_stride * (num_frames - 1) */
    int64_t total_length;  /* frame_length + resample_lookahead: the window per step */
    int64_t stride;        /* samples consumed and emitted per step */
    int64_t total_stride;  /* stride ** depth / resample */
    int64_t resample_lookahead, resample_buffer;
    int num_frames;
} wt_demucs_stream_info;

/* A streamer over m (borrowed; must outlive it; on m's backend) with dry/wet
 * mix `dry` (0 = fully enhanced) and num_frames >= 1 network frames per
 * step. Plans the step arena by a dry run and reserves all state. The
 * steady-state step runs as a wt_step_graph (include/wavetensor/graph.h):
 * replayed from a capture on backends that record graphs, eager otherwise.
 * NULL on error. */
wt_demucs_stream *wt_demucs_stream_new(wt_demucs *m, float dry, int num_frames);
void wt_demucs_stream_free(wt_demucs_stream *s);
const wt_demucs_stream_info *wt_demucs_stream_get_info(const wt_demucs_stream *s);

/* Samples the next feed of n input samples will return (a multiple of
 * stride; output n is aligned with input n, the latency is the buffering). */
int64_t wt_demucs_stream_out_count(const wt_demucs_stream *s, int64_t n);
/* Appends n samples and runs one step per complete window, writing the
 * output to out (capacity out_cap, at least wt_demucs_stream_out_count(s, n);
 * otherwise nothing is consumed and WT_ERR_INVALID returned). Any chunking
 * of the input gives the same output. Allocation-free (with graphs on a
 * device: once the third step has captured the graph). */
wt_status wt_demucs_stream_feed(wt_demucs_stream *s, const float *in, int64_t n, float *out,
                                int64_t out_cap, int64_t *n_out);
/* Samples flush() will return: the ones still pending. */
int64_t wt_demucs_stream_pending(const wt_demucs_stream *s);
/* The reference flush(): resets the network state (conv and LSTM; keeps the
 * resampler history, variance and frame count), feeds total_length zeros and
 * returns the pending samples' output. The stream may be fed again after
 * (as the reference allows). Allocation-free. */
wt_status wt_demucs_stream_flush(wt_demucs_stream *s, float *out, int64_t out_cap, int64_t *n_out);
/* Back to the state of a new streamer. Allocation-free. */
void wt_demucs_stream_reset(wt_demucs_stream *s);

/* Running variance after the last step and steps run so far. */
float wt_demucs_stream_variance(const wt_demucs_stream *s);
int64_t wt_demucs_stream_frames(const wt_demucs_stream *s);
/* Observer of each step's "stream.input", "stream.out", "stream.extra"
 * (NULL to remove); called inside the step with tensors on the model's
 * backend. While a tap is set, steps run eagerly (a replayed graph would
 * not call it). */
void wt_demucs_stream_set_tap(wt_demucs_stream *s, wt_demucs_tap tap, void *user);
/* Graph replay of the steady-state step on or off (on by default; the
 * environment's WT_GRAPHS=0 also turns it off). No effect on backends
 * without graphs. Allocates (call it outside the real-time path). */
wt_status wt_demucs_stream_set_graphs(wt_demucs_stream *s, bool on);
/* Whether steady-state steps are (or will be) replayed graphs. */
bool wt_demucs_stream_graphs(const wt_demucs_stream *s);
/* The step context's threads (1 by default, for a real-time worker). */
void wt_demucs_stream_set_threads(wt_demucs_stream *s, int n);

#ifdef __cplusplus
}
#endif
#endif
