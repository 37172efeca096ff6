/* wavetensor weight loader ("var builder"): hierarchical names over one or more
 * safetensors files.
 * Owns: the open files and a prefix path. Loads tensors by name into a
 * context, converts dtypes, checks shapes (the error names the tensor and both
 * shapes) and folds weight norm (name.weight_g / name.weight_v pairs, or the
 * PyTorch parametrizations original0/original1 form) when the plain weight
 * is absent. Not callback safe (I/O at load time only). */
#ifndef WAVETENSOR_WEIGHTS_H
#define WAVETENSOR_WEIGHTS_H

#include <stdbool.h>

#include "wavetensor/ctx.h"
#include "wavetensor/safetensors.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wt_weights wt_weights;

/* Opens a safetensors file; tensors are loaded into ctx (the model's
 * persistent context) converted to `dtype` when they are float tensors. */
wt_weights *wt_weights_open(const char *path, wt_ctx *ctx, wt_dtype dtype);
void wt_weights_close(wt_weights *w);

/* Push/pop a name component: after push("encoder") and push("model.0"),
 * get("weight") reads "encoder.model.0.weight". Printf-style. */
void wt_weights_push(wt_weights *w, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void wt_weights_pop(wt_weights *w);

/* Loads prefix + name and checks its shape against `shape` (ndim entries;
 * an entry of -1 matches any size). NULL on error, recorded on ctx and as the
 * thread's last error: "model.safetensors: encoder.model.0.conv.conv.weight:
 * expected shape [4, 1, 7], found [4, 1, 5]". Weight-norm pairs are folded:
 * weight = g * v / ||v|| (norm over all dims but 0). */
wt_tensor *wt_weights_get(wt_weights *w, const char *name, int ndim, const int64_t *shape);
/* Same, but a missing tensor returns NULL without an error (optional biases). */
wt_tensor *wt_weights_get_opt(wt_weights *w, const char *name, int ndim, const int64_t *shape);
/* Whether prefix + name (or its weight-norm pair) exists. */
bool wt_weights_has(const wt_weights *w, const char *name);
/* Dtype to load into; may be changed between gets (e.g. norms kept f32). */
void wt_weights_set_dtype(wt_weights *w, wt_dtype dtype);
/* The underlying file (for metadata and hashes). */
const wt_st_file *wt_weights_file(const wt_weights *w);

#ifdef __cplusplus
}
#endif
#endif
