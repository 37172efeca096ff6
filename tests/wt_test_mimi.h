/* The Mimi golden cases (../shared/golden/mimi, its README) for the CPU and
 * device suites: the model on a chosen backend, io.safetensors, and the
 * README's comparison rules for audio/latents and codes. Results may live on
 * the model's backend; they are copied to the host to be compared. Failures
 * fail the calling Check test. */
#ifndef WT_TEST_MIMI_H
#define WT_TEST_MIMI_H

#include <stdint.h>

#include "wavetensor/mimi.h"
#include "wavetensor/safetensors.h"

typedef struct golden {
    wt_mimi_config cfg;
    const wt_backend *be; /* the model's */
    wt_mimi *m;
    wt_st_file *io;
    wt_ctx *cpu, *dev;    /* host tensors; tensors on the model's backend */
    int64_t b, frames, k, fs;
} golden;

/* Case `name` ("tiny-speech", "tiny-batch2") with its f32 model on `be`
 * (NULL: the CPU). */
void mimi_golden_open(golden *g, const char *name, const wt_backend *be);
/* The same with the weights held in dtype (f32, bf16 or f16). */
void mimi_golden_open_as(golden *g, const char *name, const wt_backend *be, wt_dtype dtype);
void mimi_golden_close(golden *g);
/* A golden tensor in host memory (g->cpu). */
wt_tensor *io_get(golden *g, const char *name);
/* A host copy of a tensor of the model's backend (any strides). */
wt_tensor *down(golden *g, const wt_tensor *d, const char *what);
/* max|a - e| / rms(e) over n values (NaN counts as infinite). */
double rel_err_arr(const float *a, const float *e, int64_t n);
/* An f32 result against golden tensor `name`: max|a - e| / rms(e) <= tol. */
void check_float(golden *g, const wt_tensor *a, const char *name, double tol);
/* The code rule: at most one (batch, frame) column with a difference, or
 * >= 99% semantic and >= 95% of all codes equal. Codes are [B, K, F]
 * arrays; `act` [F, B] selects columns (NULL = all). */
void check_codes_arr(const int64_t *got, const int64_t *exp, int64_t b, int64_t k, int64_t f,
                     const uint8_t *act, const char *what);
/* i64 codes [B, K, F] against golden tensor `name` by that rule. */
void check_codes(golden *g, const wt_tensor *codes, const char *name);
/* A copy of a host tensor on the model's backend (in g->dev). */
wt_tensor *up(golden *g, const wt_tensor *h);

/* The checks every backend runs, each a whole test on the case's model:
 * whole-clip encode and decode with every intermediate of the trace (and an
 * out-of-range code refused), streaming encode (codes and latents) and
 * decode of the golden codes one frame per step (out-of-range codes
 * refused), and the batch-2 masked/reset schedule for its first `steps`
 * steps (at most the golden's) with its active steps compared with the
 * golden outputs and with plain streaming of the same chunk. */
/* The golden codes decoded one frame per step: [B, 1, frames * 1920] in g->cpu. */
wt_tensor *mimi_stream_decode(golden *g);
void mimi_check_offline_encode(golden *g);
void mimi_check_offline_decode(golden *g);
void mimi_check_stream_encode(golden *g);
void mimi_check_stream_decode(golden *g);
void mimi_check_stream_masked(golden *g, int64_t steps);

#endif
