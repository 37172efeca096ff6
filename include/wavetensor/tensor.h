/* wavetensor tensors: a dtype, a shape, strides and a pointer into backend storage.
 * Owns: tensor descriptors and views. Views never copy or allocate data: their
 * descriptor comes from the context (heap or arena) and shares the storage. */
#ifndef WAVETENSOR_TENSOR_H
#define WAVETENSOR_TENSOR_H

#include <stdbool.h>
#include <stdint.h>

#include "wavetensor/dtype.h"
#include "wavetensor/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WT_MAX_DIMS 8

struct wt_backend;
typedef struct wt_ctx wt_ctx;

/* A tensor. `data` points at element (0,...,0) in the memory of `backend`
 * (host memory for the CPU backend, device memory for CUDA); strides count
 * elements, may be 0 (broadcast) and are never negative. Shapes are
 * PyTorch-ordered: shape[ndim-1] is the fastest-moving dimension of a
 * contiguous tensor. A tensor of ndim 0 is a scalar with one element. */
typedef struct wt_tensor {
    wt_dtype dtype;
    int ndim;
    int64_t shape[WT_MAX_DIMS];
    int64_t stride[WT_MAX_DIMS];
    void *data;
    const struct wt_backend *backend;
} wt_tensor;

/* Number of elements (1 for a scalar, 0 if any dimension is 0). */
int64_t wt_numel(const wt_tensor *t);
/* Bytes of numel elements (what a contiguous copy would take). */
size_t wt_nbytes(const wt_tensor *t);
/* True when strides are the row-major strides of the shape. */
bool wt_is_contiguous(const wt_tensor *t);
/* Resolves a possibly negative dimension index (-1 = last); -1 when out of range. */
int wt_dim(const wt_tensor *t, int dim);
/* Size of dimension `dim` (negative counts from the end); -1 when out of range. */
int64_t wt_size(const wt_tensor *t, int dim);
/* Equal dtype and shape. */
bool wt_same_shape(const wt_tensor *a, const wt_tensor *b);
/* Writes "[2, 3, 4]" into buf (always NUL-terminated); returns buf. */
char *wt_shape_str(const wt_tensor *t, char *buf, size_t n);

/* Wraps caller-owned host memory as a CPU tensor descriptor (contiguous). The
 * descriptor lives in ctx; the memory stays the caller's. */
wt_tensor *wt_tensor_wrap(wt_ctx *ctx, wt_dtype dtype, int ndim, const int64_t *shape, void *data);

/* New contiguous tensor with uninitialised data, allocated from ctx. */
wt_tensor *wt_tensor_new(wt_ctx *ctx, wt_dtype dtype, int ndim, const int64_t *shape);
/* Convenience forms for common ranks. */
wt_tensor *wt_tensor_new1(wt_ctx *ctx, wt_dtype dtype, int64_t n0);
wt_tensor *wt_tensor_new2(wt_ctx *ctx, wt_dtype dtype, int64_t n0, int64_t n1);
wt_tensor *wt_tensor_new3(wt_ctx *ctx, wt_dtype dtype, int64_t n0, int64_t n1, int64_t n2);
wt_tensor *wt_tensor_new4(wt_ctx *ctx, wt_dtype dtype, int64_t n0, int64_t n1, int64_t n2, int64_t n3);

/* ---- views (share storage; descriptor allocated from ctx) ---- */

/* Elements [start, start+len) of dimension dim. */
wt_tensor *wt_narrow(wt_ctx *ctx, const wt_tensor *t, int dim, int64_t start, int64_t len);
/* Swap two dimensions. */
wt_tensor *wt_transpose(wt_ctx *ctx, const wt_tensor *t, int d0, int d1);
/* Reorder dimensions: result dim i is input dim perm[i]; perm has t->ndim entries. */
wt_tensor *wt_permute(wt_ctx *ctx, const wt_tensor *t, const int *perm);
/* New shape with the same numel; one entry may be -1 (inferred). Needs a
 * layout compatible with a view (contiguous, or splits/merges that keep the
 * strides regular); otherwise use wt_reshape which copies when needed. */
wt_tensor *wt_view(wt_ctx *ctx, const wt_tensor *t, int ndim, const int64_t *shape);
/* Broadcast to `shape` (size-1 dims get stride 0, new leading dims added). */
wt_tensor *wt_broadcast_to(wt_ctx *ctx, const wt_tensor *t, int ndim, const int64_t *shape);
/* Remove dimension dim (must have size 1); insert a size-1 dimension at dim
 * (dim may equal ndim, or be negative: -1 appends). */
wt_tensor *wt_squeeze(wt_ctx *ctx, const wt_tensor *t, int dim);
wt_tensor *wt_unsqueeze(wt_ctx *ctx, const wt_tensor *t, int dim);

/* ---- host access helpers (CPU backend tensors only; for tests and tools) ---- */

/* Element at a flat row-major index of the logical shape, converted to double. */
double wt_get_flat(const wt_tensor *t, int64_t i);
/* Store v (converted to the dtype) at a flat row-major index. */
void wt_set_flat(wt_tensor *t, int64_t i, double v);

#ifdef __cplusplus
}
#endif
#endif
