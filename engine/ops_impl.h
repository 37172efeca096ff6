/* Private helpers shared by the ops front-end (engine/ops_*.c).
 * Owns: sticky-error and NULL propagation, dimension resolution, broadcast
 * shapes, dtype checks, output allocation and turning a backend failure into
 * the context's error. Never does math and never allocates except from ctx. */
#ifndef WT_ENGINE_OPS_IMPL_H
#define WT_ENGINE_OPS_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/backend.h"
#include "wavetensor/ctx.h"
#include "wavetensor/ops.h"

/* True when the op may run: ctx has no sticky error, no input is NULL and
 * every input lives on ctx's backend. Records an error on ctx otherwise (a
 * NULL input with no earlier error is WT_ERR_INVALID). */
bool wt_ops_ready_(wt_ctx *ctx, int n, const wt_tensor *const *ts);
/* Same, naming the op in the message ("wt_matmul: input 2 is NULL"). */
bool wt_ops_ready_named_(wt_ctx *ctx, const char *op, int n, const wt_tensor *const *ts);

/* New contiguous tensor from ctx (NULL with ctx's error set on failure). */
wt_tensor *wt_ops_out_(wt_ctx *ctx, wt_dtype dt, int ndim, const int64_t *shape);

/* Resolves a possibly negative dim of t; -1 and WT_ERR_INVALID on ctx when
 * out of range ("op: dimension 5 out of range for a rank-3 tensor [2, 3, 4]"). */
int wt_ops_dim_(wt_ctx *ctx, const char *op, const wt_tensor *t, int dim);

/* t's dtype must be `want`; WT_ERR_INVALID naming `what` otherwise. */
bool wt_ops_dtype_(wt_ctx *ctx, const char *op, const char *what, const wt_tensor *t, wt_dtype want);

/* NumPy broadcast of a's and b's shapes into (ndim, shape); WT_ERR_INVALID
 * naming both shapes when they do not broadcast. */
bool wt_ops_broadcast_shape_(wt_ctx *ctx, const char *op, const wt_tensor *a, const wt_tensor *b,
                             int *ndim, int64_t *shape);

/* View of t broadcast to (ndim, shape) with stride 0 where expanded (t itself
 * when the shape is already equal); WT_ERR_INVALID naming both shapes. */
const wt_tensor *wt_ops_expand_(wt_ctx *ctx, const char *op, const wt_tensor *t, int ndim,
                                const int64_t *shape);

/* Like wt_ops_expand_ but writes the view into *out (no descriptor from
 * ctx); false with WT_ERR_INVALID naming both shapes. */
bool wt_ops_expand_into_(wt_ctx *ctx, const char *op, const wt_tensor *t, int ndim,
                         const int64_t *shape, wt_tensor *out);

/* True when a and b have equal shapes (dtype ignored). */
bool wt_ops_same_dims_(const wt_tensor *a, const wt_tensor *b);

/* Fails with WT_ERR_INVALID "op: <what_a> shape [..] and <what_b> shape [..] <why>". */
void wt_ops_shape_error_(wt_ctx *ctx, const char *op, const char *what_a, const wt_tensor *a,
                         const char *what_b, const wt_tensor *b, const char *why);

/* Records a backend op's failure on ctx (keeping the backend's message, with
 * the op's name in front); returns true when s is WT_OK. */
bool wt_ops_check_(wt_ctx *ctx, const char *op, wt_status s);

/* The backend that runs ops for ctx. */
static inline const wt_backend *wt_ops_be_(const wt_ctx *ctx) { return wt_ctx_backend(ctx); }

/* The context's worker pool for heavy ops (NULL: run inline; engine/ctx.c). */
struct wt_pool *wt_ctx_pool_(const wt_ctx *ctx);

#endif
