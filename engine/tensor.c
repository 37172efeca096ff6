/* Tensor descriptors, construction and views. */
#include "wavetensor/tensor.h"

#include <stdio.h>
#include <string.h>

#include "engine/ctx_impl.h"

int64_t wt_numel(const wt_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

size_t wt_nbytes(const wt_tensor *t) { return (size_t)wt_numel(t) * wt_dtype_size(t->dtype); }

bool wt_is_contiguous(const wt_tensor *t) {
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->stride[i] != s) return false;
        s *= t->shape[i];
    }
    return true;
}

int wt_dim(const wt_tensor *t, int dim) {
    int d = dim < 0 ? dim + t->ndim : dim;
    return (d >= 0 && d < t->ndim) ? d : -1;
}

int64_t wt_size(const wt_tensor *t, int dim) {
    int d = wt_dim(t, dim);
    return d < 0 ? -1 : t->shape[d];
}

bool wt_same_shape(const wt_tensor *a, const wt_tensor *b) {
    if (a->dtype != b->dtype || a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

char *wt_shape_str(const wt_tensor *t, char *buf, size_t n) {
    size_t k = 0;
    if (n == 0) return buf;
    buf[0] = '\0';
    k += (size_t)snprintf(buf + k, k < n ? n - k : 0, "[");
    for (int i = 0; i < t->ndim; i++)
        k += (size_t)snprintf(buf + (k < n ? k : n - 1), k < n ? n - k : 0, i ? ", %lld" : "%lld",
                              (long long)t->shape[i]);
    snprintf(buf + (k < n ? k : n - 1), k < n ? n - k : 0, "]");
    return buf;
}

static void set_contiguous_strides(wt_tensor *t) {
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        t->stride[i] = s;
        s *= t->shape[i];
    }
}

static bool check_shape(wt_ctx *ctx, int ndim, const int64_t *shape) {
    if (ndim < 0 || ndim > WT_MAX_DIMS) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "tensor rank %d outside 0..%d", ndim, WT_MAX_DIMS);
        return false;
    }
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) {
            wt_ctx_fail(ctx, WT_ERR_INVALID, "negative size %lld in dimension %d",
                        (long long)shape[i], i);
            return false;
        }
    }
    return true;
}

/* A contiguous descriptor of a valid dtype and shape, data not yet set. */
static wt_tensor *contiguous_desc(wt_ctx *ctx, wt_dtype dtype, int ndim, const int64_t *shape) {
    if (ctx->status != WT_OK || !check_shape(ctx, ndim, shape)) return NULL;
    if (wt_dtype_size(dtype) == 0) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "invalid dtype %d", (int)dtype);
        return NULL;
    }
    wt_tensor *t = wt_ctx_new_desc(ctx);
    if (!t) return NULL;
    t->dtype = dtype;
    t->ndim = ndim;
    if (ndim > 0) memcpy(t->shape, shape, sizeof(int64_t) * (size_t)ndim);
    set_contiguous_strides(t);
    return t;
}

wt_tensor *wt_tensor_wrap(wt_ctx *ctx, wt_dtype dtype, int ndim, const int64_t *shape, void *data) {
    wt_tensor *t = contiguous_desc(ctx, dtype, ndim, shape);
    if (!t) return NULL;
    t->data = data;
    t->backend = wt_cpu_backend();
    return t;
}

wt_tensor *wt_tensor_new(wt_ctx *ctx, wt_dtype dtype, int ndim, const int64_t *shape) {
    wt_tensor *t = contiguous_desc(ctx, dtype, ndim, shape);
    if (!t) return NULL;
    t->data = wt_ctx_alloc(ctx, wt_nbytes(t));
    return t->data ? t : NULL;
}

wt_tensor *wt_tensor_new1(wt_ctx *ctx, wt_dtype dtype, int64_t n0) {
    int64_t s[1] = {n0};
    return wt_tensor_new(ctx, dtype, 1, s);
}
wt_tensor *wt_tensor_new2(wt_ctx *ctx, wt_dtype dtype, int64_t n0, int64_t n1) {
    int64_t s[2] = {n0, n1};
    return wt_tensor_new(ctx, dtype, 2, s);
}
wt_tensor *wt_tensor_new3(wt_ctx *ctx, wt_dtype dtype, int64_t n0, int64_t n1, int64_t n2) {
    int64_t s[3] = {n0, n1, n2};
    return wt_tensor_new(ctx, dtype, 3, s);
}
wt_tensor *wt_tensor_new4(wt_ctx *ctx, wt_dtype dtype, int64_t n0, int64_t n1, int64_t n2,
                          int64_t n3) {
    int64_t s[4] = {n0, n1, n2, n3};
    return wt_tensor_new(ctx, dtype, 4, s);
}

/* ---- views ---- */

static wt_tensor *view_of(wt_ctx *ctx, const wt_tensor *t) {
    if (!t || ctx->status != WT_OK) return NULL;
    wt_tensor *v = wt_ctx_new_desc(ctx);
    if (v) *v = *t;
    return v;
}

static int resolve_dim(wt_ctx *ctx, const wt_tensor *t, int dim, const char *op) {
    int d = wt_dim(t, dim);
    if (d < 0)
        wt_ctx_fail(ctx, WT_ERR_INVALID, "%s: dimension %d out of range for a rank-%d tensor", op,
                    dim, t->ndim);
    return d;
}

wt_tensor *wt_narrow(wt_ctx *ctx, const wt_tensor *t, int dim, int64_t start, int64_t len) {
    if (!t || ctx->status != WT_OK) return NULL;
    int d = resolve_dim(ctx, t, dim, "narrow");
    if (d < 0) return NULL;
    if (start < 0 || len < 0 || start + len > t->shape[d]) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "narrow: range [%lld, %lld) outside dimension %d of size %lld",
                    (long long)start, (long long)(start + len), d, (long long)t->shape[d]);
        return NULL;
    }
    wt_tensor *v = view_of(ctx, t);
    if (!v) return NULL;
    v->shape[d] = len;
    if (len > 0) v->data = (char *)t->data + (size_t)(start * t->stride[d]) * wt_dtype_size(t->dtype);
    return v;
}

wt_tensor *wt_transpose(wt_ctx *ctx, const wt_tensor *t, int d0, int d1) {
    if (!t || ctx->status != WT_OK) return NULL;
    int a = resolve_dim(ctx, t, d0, "transpose");
    int b = a < 0 ? -1 : resolve_dim(ctx, t, d1, "transpose");
    if (b < 0) return NULL;
    wt_tensor *v = view_of(ctx, t);
    if (!v) return NULL;
    v->shape[a] = t->shape[b];
    v->stride[a] = t->stride[b];
    v->shape[b] = t->shape[a];
    v->stride[b] = t->stride[a];
    return v;
}

wt_tensor *wt_permute(wt_ctx *ctx, const wt_tensor *t, const int *perm) {
    if (!t || ctx->status != WT_OK) return NULL;
    int seen[WT_MAX_DIMS] = {0};
    int p[WT_MAX_DIMS];
    for (int i = 0; i < t->ndim; i++) {
        p[i] = resolve_dim(ctx, t, perm[i], "permute");
        if (p[i] < 0) return NULL;
        if (seen[p[i]]++) {
            wt_ctx_fail(ctx, WT_ERR_INVALID, "permute: dimension %d repeated", p[i]);
            return NULL;
        }
    }
    wt_tensor *v = view_of(ctx, t);
    if (!v) return NULL;
    for (int i = 0; i < t->ndim; i++) {
        v->shape[i] = t->shape[p[i]];
        v->stride[i] = t->stride[p[i]];
    }
    return v;
}

/* Resolves one -1 entry of `shape` against numel; false on mismatch. */
static bool infer_shape(wt_ctx *ctx, int64_t numel, int ndim, const int64_t *shape, int64_t *out) {
    int infer = -1;
    int64_t known = 1;
    if (ndim < 0 || ndim > WT_MAX_DIMS) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "reshape: rank %d outside 0..%d", ndim, WT_MAX_DIMS);
        return false;
    }
    for (int i = 0; i < ndim; i++) {
        out[i] = shape[i];
        if (shape[i] == -1) {
            if (infer >= 0) {
                wt_ctx_fail(ctx, WT_ERR_INVALID, "reshape: more than one -1 in the new shape");
                return false;
            }
            infer = i;
        } else if (shape[i] < 0) {
            wt_ctx_fail(ctx, WT_ERR_INVALID, "reshape: negative size %lld", (long long)shape[i]);
            return false;
        } else {
            known *= shape[i];
        }
    }
    if (infer >= 0) {
        if (known == 0 || numel % known) {
            wt_ctx_fail(ctx, WT_ERR_INVALID, "reshape: cannot infer a size for %lld elements",
                        (long long)numel);
            return false;
        }
        out[infer] = numel / known;
        known *= out[infer];
    }
    if (known != numel) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "reshape: %lld elements do not fit the new shape",
                    (long long)numel);
        return false;
    }
    return true;
}

/* Strides that let `shape` view t's storage, if any: old dimensions are
 * grouped into chunks that are contiguous among themselves, and each chunk
 * must be exactly covered by consecutive new dimensions. */
static bool view_strides(const wt_tensor *t, int ndim, const int64_t *shape, int64_t *stride) {
    if (wt_numel(t) == 0 || t->ndim == 0) {
        int64_t s = 1;
        for (int i = ndim - 1; i >= 0; i--) {
            stride[i] = s;
            s *= shape[i] ? shape[i] : 1;
        }
        return true;
    }
    int vd = ndim - 1;
    int64_t base = t->stride[t->ndim - 1];
    int64_t old_n = 1, new_n = 1;
    for (int od = t->ndim - 1; od >= 0; od--) {
        old_n *= t->shape[od];
        bool chunk_ends = od == 0 ||
                          (t->shape[od - 1] != 1 && t->stride[od - 1] != old_n * base);
        if (!chunk_ends) continue;
        while (vd >= 0 && (new_n < old_n || shape[vd] == 1)) {
            stride[vd] = new_n * base;
            new_n *= shape[vd];
            vd--;
        }
        if (new_n != old_n) return false;
        if (od > 0) {
            base = t->stride[od - 1];
            old_n = 1;
            new_n = 1;
        }
    }
    return vd == -1;
}

wt_tensor *wt_view(wt_ctx *ctx, const wt_tensor *t, int ndim, const int64_t *shape) {
    if (!t || ctx->status != WT_OK) return NULL;
    int64_t s[WT_MAX_DIMS], st[WT_MAX_DIMS];
    if (!infer_shape(ctx, wt_numel(t), ndim, shape, s)) return NULL;
    if (!view_strides(t, ndim, s, st)) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "view: the tensor's strides do not allow this shape without a copy (use wt_reshape)");
        return NULL;
    }
    wt_tensor *v = view_of(ctx, t);
    if (!v) return NULL;
    v->ndim = ndim;
    memcpy(v->shape, s, sizeof(int64_t) * (size_t)ndim);
    memcpy(v->stride, st, sizeof(int64_t) * (size_t)ndim);
    return v;
}

wt_tensor *wt_broadcast_to(wt_ctx *ctx, const wt_tensor *t, int ndim, const int64_t *shape) {
    if (!t || ctx->status != WT_OK) return NULL;
    if (ndim < t->ndim || ndim > WT_MAX_DIMS) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "broadcast: cannot broadcast rank %d to rank %d", t->ndim, ndim);
        return NULL;
    }
    wt_tensor *v = view_of(ctx, t);
    if (!v) return NULL;
    int off = ndim - t->ndim;
    for (int i = ndim - 1; i >= 0; i--) {
        int j = i - off;
        int64_t have = j >= 0 ? t->shape[j] : 1;
        int64_t str = j >= 0 ? t->stride[j] : 0;
        if (have == shape[i]) {
            v->stride[i] = str;
        } else if (have == 1) {
            v->stride[i] = 0;
        } else {
            char a[96];
            wt_ctx_fail(ctx, WT_ERR_INVALID, "broadcast: shape %s cannot broadcast to size %lld in dimension %d",
                        wt_shape_str(t, a, sizeof a), (long long)shape[i], i);
            return NULL;
        }
        v->shape[i] = shape[i];
    }
    v->ndim = ndim;
    return v;
}

wt_tensor *wt_squeeze(wt_ctx *ctx, const wt_tensor *t, int dim) {
    if (!t || ctx->status != WT_OK) return NULL;
    int d = resolve_dim(ctx, t, dim, "squeeze");
    if (d < 0) return NULL;
    if (t->shape[d] != 1) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "squeeze: dimension %d has size %lld, not 1", d,
                    (long long)t->shape[d]);
        return NULL;
    }
    wt_tensor *v = view_of(ctx, t);
    if (!v) return NULL;
    for (int i = d; i < t->ndim - 1; i++) {
        v->shape[i] = t->shape[i + 1];
        v->stride[i] = t->stride[i + 1];
    }
    v->ndim = t->ndim - 1;
    return v;
}

wt_tensor *wt_unsqueeze(wt_ctx *ctx, const wt_tensor *t, int dim) {
    if (!t || ctx->status != WT_OK) return NULL;
    int d = dim < 0 ? dim + t->ndim + 1 : dim;
    if (d < 0 || d > t->ndim || t->ndim >= WT_MAX_DIMS) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "unsqueeze: dimension %d out of range for rank %d", dim, t->ndim);
        return NULL;
    }
    wt_tensor *v = view_of(ctx, t);
    if (!v) return NULL;
    for (int i = t->ndim; i > d; i--) {
        v->shape[i] = t->shape[i - 1];
        v->stride[i] = t->stride[i - 1];
    }
    v->shape[d] = 1;
    v->stride[d] = d < t->ndim ? t->shape[d] * t->stride[d] : 1;
    v->ndim = t->ndim + 1;
    return v;
}

/* ---- host element access ---- */

static size_t flat_offset(const wt_tensor *t, int64_t i) {
    int64_t off = 0;
    for (int d = t->ndim - 1; d >= 0; d--) {
        int64_t n = t->shape[d];
        off += (i % n) * t->stride[d];
        i /= n;
    }
    return (size_t)off;
}

double wt_get_flat(const wt_tensor *t, int64_t i) {
    size_t o = flat_offset(t, i);
    switch (t->dtype) {
    case WT_F32: return ((const float *)t->data)[o];
    case WT_F16: return wt_f16_to_f32(((const uint16_t *)t->data)[o]);
    case WT_BF16: return wt_bf16_to_f32(((const uint16_t *)t->data)[o]);
    case WT_I64: return (double)((const int64_t *)t->data)[o];
    case WT_U8: return ((const uint8_t *)t->data)[o];
    default: return 0;
    }
}

void wt_set_flat(wt_tensor *t, int64_t i, double v) {
    size_t o = flat_offset(t, i);
    switch (t->dtype) {
    case WT_F32: ((float *)t->data)[o] = (float)v; break;
    case WT_F16: ((uint16_t *)t->data)[o] = wt_f32_to_f16((float)v); break;
    case WT_BF16: ((uint16_t *)t->data)[o] = wt_f32_to_bf16((float)v); break;
    case WT_I64: ((int64_t *)t->data)[o] = (int64_t)v; break;
    case WT_U8: ((uint8_t *)t->data)[o] = (uint8_t)v; break;
    default: break;
    }
}
