/* CPU elementwise ops: fill, copy with dtype conversion, unary, binary,
 * affine and reductions. Each op walks its tensors as rows (cpu_iter.h); the
 * row kernels have a unit-stride branch the compiler vectorises and a strided
 * fallback. Float -> integer conversions truncate toward zero and saturate
 * (NaN gives 0). A copy between overlapping regions of one storage is safe
 * when rows are unit stride (memmove) or dst lies before src (a shift left). */
#include <math.h>
#include <string.h>

#include "backends/cpu/cpu_iter.h"
#include "backends/cpu/cpu_math.h"
#include "backends/cpu/cpu_ops.h"

#define CHUNK 256

/* ---- scalar conversions ---- */

static int64_t f_to_i64(double v) {
    if (!(v == v)) return 0;
    if (v >= 9223372036854775807.0) return INT64_MAX;
    if (v <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)v;
}

static uint8_t f_to_u8(double v) {
    if (!(v > 0)) return 0; /* also NaN */
    if (v >= 255) return 255;
    return (uint8_t)v;
}

/* Element pointer: base + off elements of size es. */
static inline void *elem(void *base, int64_t off, size_t es) {
    return (char *)base + (ptrdiff_t)off * (ptrdiff_t)es;
}

/* ---- fill ---- */

wt_status wt_cpu_fill(wt_tensor *dst, double v) {
    unsigned char pat[8];
    size_t es = wt_dtype_size(dst->dtype);
    switch (dst->dtype) {
    case WT_F32: { float f = (float)v; memcpy(pat, &f, 4); break; }
    case WT_F16: { uint16_t h = wt_f32_to_f16((float)v); memcpy(pat, &h, 2); break; }
    case WT_BF16: { uint16_t h = wt_f32_to_bf16((float)v); memcpy(pat, &h, 2); break; }
    case WT_I64: { int64_t i = f_to_i64(v); memcpy(pat, &i, 8); break; }
    case WT_U8: pat[0] = f_to_u8(v); break;
    default: return wt_error(WT_ERR_INVALID, "fill: invalid dtype %d", (int)dst->dtype);
    }
    wt_cpu_iter it;
    wt_cpu_iter_flat(&it, 1, (const wt_tensor *const[]){dst});
    while (wt_cpu_iter_next(&it)) {
        int64_t n = it.len, s = it.inc[0];
        void *p = elem(dst->data, it.off[0], es);
        switch (es) {
        case 1: {
            uint8_t *q = p;
            if (s == 1) memset(q, pat[0], (size_t)n);
            else for (int64_t i = 0; i < n; i++) q[i * s] = pat[0];
            break;
        }
        case 2: {
            uint16_t *q = p, x;
            memcpy(&x, pat, 2);
            for (int64_t i = 0; i < n; i++) q[i * s] = x;
            break;
        }
        case 4: {
            uint32_t *q = p, x;
            memcpy(&x, pat, 4);
            for (int64_t i = 0; i < n; i++) q[i * s] = x;
            break;
        }
        default: {
            uint64_t *q = p, x;
            memcpy(&x, pat, 8);
            for (int64_t i = 0; i < n; i++) q[i * s] = x;
            break;
        }
        }
    }
    return WT_OK;
}

/* ---- copy ---- */

/* out[i*os] = (float)src[i*ss] for n elements of dtype st. */
static void load_f32(const void *src, int64_t ss, wt_dtype st, float *out, int64_t os, int64_t n) {
    switch (st) {
    case WT_F32: {
        const float *x = src;
        if (ss == 1 && os == 1) memcpy(out, x, sizeof(float) * (size_t)n);
        else for (int64_t i = 0; i < n; i++) out[i * os] = x[i * ss];
        break;
    }
    case WT_F16: {
        const uint16_t *x = src;
        for (int64_t i = 0; i < n; i++) out[i * os] = wt_f16_to_f32(x[i * ss]);
        break;
    }
    case WT_BF16: {
        const uint16_t *x = src;
        if (ss == 1 && os == 1) {
            for (int64_t i = 0; i < n; i++) {
                uint32_t u = (uint32_t)x[i] << 16;
                memcpy(&out[i], &u, 4);
            }
        } else {
            for (int64_t i = 0; i < n; i++) out[i * os] = wt_bf16_to_f32(x[i * ss]);
        }
        break;
    }
    case WT_I64: {
        const int64_t *x = src;
        for (int64_t i = 0; i < n; i++) out[i * os] = (float)x[i * ss];
        break;
    }
    case WT_U8: {
        const uint8_t *x = src;
        for (int64_t i = 0; i < n; i++) out[i * os] = (float)x[i * ss];
        break;
    }
    default: break;
    }
}

/* dst[i*ds] = convert(in[i*is]) for n elements into dtype dt. */
static void store_f32(const float *in, int64_t is, void *dst, int64_t ds, wt_dtype dt, int64_t n) {
    switch (dt) {
    case WT_F32: {
        float *y = dst;
        if (is == 1 && ds == 1) memcpy(y, in, sizeof(float) * (size_t)n);
        else for (int64_t i = 0; i < n; i++) y[i * ds] = in[i * is];
        break;
    }
    case WT_F16: {
        uint16_t *y = dst;
        for (int64_t i = 0; i < n; i++) y[i * ds] = wt_f32_to_f16(in[i * is]);
        break;
    }
    case WT_BF16: {
        uint16_t *y = dst;
        for (int64_t i = 0; i < n; i++) y[i * ds] = wt_f32_to_bf16(in[i * is]);
        break;
    }
    case WT_I64: {
        int64_t *y = dst;
        for (int64_t i = 0; i < n; i++) y[i * ds] = f_to_i64(in[i * is]);
        break;
    }
    case WT_U8: {
        uint8_t *y = dst;
        for (int64_t i = 0; i < n; i++) y[i * ds] = f_to_u8(in[i * is]);
        break;
    }
    default: break;
    }
}

/* Same-dtype strided copy of n elements of size es. */
static void copy_raw(void *dst, int64_t ds, const void *src, int64_t ss, size_t es, int64_t n) {
    if (ds == 1 && ss == 1) {
        memmove(dst, src, (size_t)n * es);
        return;
    }
    switch (es) {
    case 1: { uint8_t *y = dst; const uint8_t *x = src; for (int64_t i = 0; i < n; i++) y[i * ds] = x[i * ss]; break; }
    case 2: { uint16_t *y = dst; const uint16_t *x = src; for (int64_t i = 0; i < n; i++) y[i * ds] = x[i * ss]; break; }
    case 4: { uint32_t *y = dst; const uint32_t *x = src; for (int64_t i = 0; i < n; i++) y[i * ds] = x[i * ss]; break; }
    default: { uint64_t *y = dst; const uint64_t *x = src; for (int64_t i = 0; i < n; i++) y[i * ds] = x[i * ss]; break; }
    }
}

/* Integer sources convert exactly between integer dtypes (not through f32). */
static void copy_int(void *dst, int64_t ds, wt_dtype dt, const void *src, int64_t ss, wt_dtype st,
                     int64_t n) {
    if (st == WT_I64 && dt == WT_U8) {
        const int64_t *x = src;
        uint8_t *y = dst;
        for (int64_t i = 0; i < n; i++) {
            int64_t v = x[i * ss];
            y[i * ds] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    } else { /* u8 -> i64 */
        const uint8_t *x = src;
        int64_t *y = dst;
        for (int64_t i = 0; i < n; i++) y[i * ds] = x[i * ss];
    }
}

static bool is_int(wt_dtype t) { return t == WT_I64 || t == WT_U8; }

static void copy_row(void *dst, int64_t ds, wt_dtype dt, const void *src, int64_t ss, wt_dtype st,
                     int64_t n) {
    if (dt == st) {
        copy_raw(dst, ds, src, ss, wt_dtype_size(dt), n);
    } else if (is_int(dt) && is_int(st)) {
        copy_int(dst, ds, dt, src, ss, st, n);
    } else if (dt == WT_F32) {
        load_f32(src, ss, st, dst, ds, n);
    } else if (st == WT_F32) {
        store_f32(src, ss, dst, ds, dt, n);
    } else {
        /* f16/bf16/int <-> each other through f32 (exact for f16/bf16/u8 sources) */
        float buf[CHUNK];
        size_t des = wt_dtype_size(dt), ses = wt_dtype_size(st);
        for (int64_t i = 0; i < n; i += CHUNK) {
            int64_t m = n - i < CHUNK ? n - i : CHUNK;
            load_f32((const char *)src + (size_t)(i * ss) * ses, ss, st, buf, 1, m);
            store_f32(buf, 1, (char *)dst + (size_t)(i * ds) * des, ds, dt, m);
        }
    }
}

#define TILE 32

/* Same-dtype transpose of one km x jm block through a stack buffer: every
 * cache line of src and dst is touched in one burst, so power-of-two
 * strides (which map all rows of a block to one cache set) do not thrash. */
#define TRANSPOSE_BLOCK(T)                                                          \
    do {                                                                            \
        T buf[TILE][TILE];                                                          \
        const T *x = sp;                                                            \
        T *y = dp;                                                                  \
        for (int64_t j = 0; j < jm; j++)                                            \
            for (int64_t k = 0; k < km; k++) buf[j][k] = x[j * sj + k];             \
        for (int64_t k = 0; k < km; k++)                                            \
            for (int64_t j = 0; j < jm; j++) y[k * dk + j] = buf[j][k];             \
    } while (0)

static void transpose_block(void *dp, int64_t dk, const void *sp, int64_t sj, size_t es, int64_t km,
                            int64_t jm) {
    switch (es) {
    case 1: TRANSPOSE_BLOCK(uint8_t); break;
    case 2: TRANSPOSE_BLOCK(uint16_t); break;
    case 4: TRANSPOSE_BLOCK(uint32_t); break;
    default: TRANSPOSE_BLOCK(uint64_t); break;
    }
}

/* A transposing copy: dst is unit stride along the row, src along outer dim
 * k. Works in TILE x TILE blocks so both sides' cache lines stay in use. */
static void copy_tiled(wt_tensor *dst, const wt_tensor *src, const wt_cpu_iter *it, int k) {
    size_t des = wt_dtype_size(dst->dtype), ses = wt_dtype_size(src->dtype);
    bool same = dst->dtype == src->dtype;
    wt_cpu_iter o = *it;
    int64_t nk = it->shape[k], dk = it->stride[0][k], sk = it->stride[1][k];
    o.rows = it->rows / nk;
    o.shape[k] = 1;
    while (wt_cpu_iter_next(&o)) {
        for (int64_t kb = 0; kb < nk; kb += TILE) {
            int64_t km = nk - kb < TILE ? nk - kb : TILE;
            for (int64_t jb = 0; jb < it->len; jb += TILE) {
                int64_t jm = it->len - jb < TILE ? it->len - jb : TILE;
                void *dp = elem(dst->data, o.off[0] + jb + kb * dk, des);
                const void *sp = elem(src->data, o.off[1] + jb * it->inc[1] + kb, ses);
                if (same) {
                    transpose_block(dp, dk, sp, it->inc[1], des, km, jm);
                    continue;
                }
                for (int64_t j = 0; j < jm; j++)
                    copy_row((char *)dp + (size_t)j * des, dk, dst->dtype,
                             (const char *)sp + (size_t)(j * it->inc[1]) * ses, sk, src->dtype, km);
            }
        }
    }
}

wt_status wt_cpu_copy(wt_tensor *dst, const wt_tensor *src) {
    if (wt_dtype_size(dst->dtype) == 0 || wt_dtype_size(src->dtype) == 0)
        return wt_error(WT_ERR_INVALID, "copy: invalid dtype");
    wt_cpu_iter it;
    wt_cpu_iter_flat(&it, 2, (const wt_tensor *const[]){dst, src});
    size_t des = wt_dtype_size(dst->dtype), ses = wt_dtype_size(src->dtype);
    if (it.len >= TILE && it.inc[0] == 1 && it.inc[1] > 1) {
        for (int k = it.nd - 1; k >= 0; k--) {
            if (it.stride[1][k] == 1 && it.shape[k] >= TILE) {
                copy_tiled(dst, src, &it, k);
                return WT_OK;
            }
        }
    }
    while (wt_cpu_iter_next(&it))
        copy_row(elem(dst->data, it.off[0], des), it.inc[0], dst->dtype,
                 elem(src->data, it.off[1], ses), it.inc[1], src->dtype, it.len);
    return WT_OK;
}

/* ---- unary ---- */

/* The activations below are straight-line code (no libm call per element),
 * so the unit-stride loops vectorise; each is accurate to a few f32 ulp. */

/* x Phi(x) with Phi the standard normal CDF (GELU, erf form). Phi is
 * evaluated so that neither tail cancels: for |x| <= 1.5 as 1/2 + x A(x^2),
 * and beyond from the upper tail q = Phi(-|x|) = exp(-x^2 / 2) B(u) u with
 * u = 1/|x| (Phi = q below 0, 1 - q above). A and B are polynomial fits
 * (Chebyshev interpolation of erf / erfc in long double, relative error
 * under 2e-7 in f32): A(y) = (Phi(sqrt y) - 1/2) / sqrt y on y in
 * [0, 2.25], B(u) = Phi(-1/u) exp(1/(2u^2)) / u on u in [1/12, 2/3] in the
 * variable s = (24u - 9) / 7 mapped to [-1, 1] (u is clamped there: beyond
 * |x| = 12 the factor exp(-x^2/2) leaves q under 1e-31 anyway). */
static inline float gelu_erf(float x) {
    float a = fabsf(x), y = x * x;
    float pa = 3.989422804e-01f + y * (-6.649038001e-02f + y * (9.973556314e-03f +
               y * (-1.187325021e-03f + y * (1.154273117e-04f + y * (-9.435032616e-06f +
               y * (6.585214177e-07f + y * (-3.780303400e-08f + y * 1.385186260e-09f)))))));
    float near = 0.5f + x * pa;
    float u = 1.0f / (a > 1.5f ? a : 1.5f);
    float s = (u > 1.0f / 12 ? u : 1.0f / 12) * (24.0f / 7) - 9.0f / 7;
    float pb = 3.575763642e-01f + s * (-4.932573370e-02f + s * (-3.175238741e-03f +
               s * (5.268500239e-03f + s * (-2.088070994e-03f + s * (4.097707932e-04f +
               s * (8.255602696e-05f + s * (-1.221796812e-04f + s * (5.373151546e-05f +
               s * -8.696217346e-06f))))))));
    float q = wt_cpu_exp_nonpos(-0.5f * y) * pb * u;
    float far = x < 0 ? q : 1.0f - q;
    return x * (a <= 1.5f ? near : far);
}

/* 0.5 x (1 + tanh(z)) = x sigmoid(2z): no cancellation for negative x. */
static inline float gelu_tanh(float x) {
    const float k = 0.7978845608028654f; /* sqrt(2/pi) */
    return x * wt_cpu_sigmoid(2.0f * k * (x + 0.044715f * x * x * x));
}

/* x sigmoid(x) with one division; silu(-inf) is -inf * 0 = NaN as in PyTorch. */
static inline float silu(float x) {
    float e = wt_cpu_exp_nonpos(-fabsf(x));
    return (x >= 0 ? x : x * e) / (1.0f + e);
}

/* a expm1(x) below 0; NaN passes through. */
static inline float elu(float x, float a) {
    return x > 0 ? x : a * wt_cpu_expm1_nonpos(x > 0 ? 0.0f : x);
}

/* One row: y[i*ys] = op(x[i*xs]). The unit-stride case is written apart so
 * the compiler can vectorise the simple ones. */
#define UNARY_ROW(EXPR)                                                         \
    do {                                                                        \
        if (xs == 1 && ys == 1) {                                               \
            for (int64_t i = 0; i < n; i++) { float v = x[i]; y[i] = (EXPR); }  \
        } else {                                                                \
            for (int64_t i = 0; i < n; i++) {                                   \
                float v = x[i * xs];                                            \
                y[i * ys] = (EXPR);                                             \
            }                                                                   \
        }                                                                       \
    } while (0)

static void unary_row(wt_unary_op op, float *y, int64_t ys, const float *x, int64_t xs, int64_t n,
                      float a) {
    switch (op) {
    case WT_UNARY_EXP: UNARY_ROW(wt_cpu_exp(v)); break;
    case WT_UNARY_LOG: UNARY_ROW(logf(v)); break;
    case WT_UNARY_SIN: UNARY_ROW(sinf(v)); break;
    case WT_UNARY_COS: UNARY_ROW(cosf(v)); break;
    case WT_UNARY_SQRT: UNARY_ROW(sqrtf(v)); break;
    case WT_UNARY_RSQRT: UNARY_ROW(1.0f / sqrtf(v)); break;
    case WT_UNARY_TANH: UNARY_ROW(wt_cpu_tanh(v)); break;
    case WT_UNARY_SIGMOID: UNARY_ROW(wt_cpu_sigmoid(v)); break;
    case WT_UNARY_RELU: UNARY_ROW(v > 0.0f ? v : 0.0f); break;
    case WT_UNARY_ELU: UNARY_ROW(elu(v, a)); break;
    case WT_UNARY_GELU_ERF: UNARY_ROW(gelu_erf(v)); break;
    case WT_UNARY_GELU_TANH: UNARY_ROW(gelu_tanh(v)); break;
    case WT_UNARY_SILU: UNARY_ROW(silu(v)); break;
    case WT_UNARY_ABS: UNARY_ROW(fabsf(v)); break;
    case WT_UNARY_NEG: UNARY_ROW(-v); break;
    case WT_UNARY_SQR: UNARY_ROW(v * v); break;
    case WT_UNARY_RECIP: UNARY_ROW(1.0f / v); break;
    default: break;
    }
}

wt_status wt_cpu_unary(wt_unary_op op, wt_tensor *dst, const wt_tensor *x, float param) {
    if ((unsigned)op >= WT_UNARY_COUNT) return wt_error(WT_ERR_INVALID, "unary: unknown op %d", (int)op);
    wt_cpu_iter it;
    wt_cpu_iter_flat(&it, 2, (const wt_tensor *const[]){dst, x});
    float *yd = dst->data;
    const float *xd = x->data;
    while (wt_cpu_iter_next(&it))
        unary_row(op, yd + it.off[0], it.inc[0], xd + it.off[1], it.inc[1], it.len, param);
    return WT_OK;
}

/* ---- binary ---- */

/* Fast cases: all unit stride, or b a scalar along the row (stride 0), or a
 * scalar along the row; anything else strided. */
#define BINARY_ROW(EXPR)                                                                     \
    do {                                                                                     \
        if (ys == 1 && as == 1 && bs == 1) {                                                 \
            for (int64_t i = 0; i < n; i++) { float u = a[i], v = b[i]; y[i] = (EXPR); }     \
        } else if (ys == 1 && as == 1 && bs == 0) {                                          \
            const float v = b[0];                                                            \
            for (int64_t i = 0; i < n; i++) { float u = a[i]; y[i] = (EXPR); }               \
        } else if (ys == 1 && as == 0 && bs == 1) {                                          \
            const float u = a[0];                                                            \
            for (int64_t i = 0; i < n; i++) { float v = b[i]; y[i] = (EXPR); }               \
        } else {                                                                             \
            for (int64_t i = 0; i < n; i++) {                                                \
                float u = a[i * as], v = b[i * bs];                                          \
                y[i * ys] = (EXPR);                                                          \
            }                                                                                \
        }                                                                                    \
    } while (0)

static void binary_row(wt_binary_op op, float *y, int64_t ys, const float *a, int64_t as,
                       const float *b, int64_t bs, int64_t n) {
    switch (op) {
    case WT_BINARY_ADD: BINARY_ROW(u + v); break;
    case WT_BINARY_SUB: BINARY_ROW(u - v); break;
    case WT_BINARY_MUL: BINARY_ROW(u * v); break;
    case WT_BINARY_DIV: BINARY_ROW(u / v); break;
    /* NaN propagates as in PyTorch's maximum/minimum */
    case WT_BINARY_MAX: BINARY_ROW(u != u || u > v ? u : v); break;
    case WT_BINARY_MIN: BINARY_ROW(u != u || u < v ? u : v); break;
    default: break;
    }
}

wt_status wt_cpu_binary(wt_binary_op op, wt_tensor *dst, const wt_tensor *a, const wt_tensor *b) {
    if ((unsigned)op >= WT_BINARY_COUNT) return wt_error(WT_ERR_INVALID, "binary: unknown op %d", (int)op);
    wt_cpu_iter it;
    wt_cpu_iter_flat(&it, 3, (const wt_tensor *const[]){dst, a, b});
    float *yd = dst->data;
    const float *ad = a->data, *bd = b->data;
    while (wt_cpu_iter_next(&it))
        binary_row(op, yd + it.off[0], it.inc[0], ad + it.off[1], it.inc[1], bd + it.off[2],
                   it.inc[2], it.len);
    return WT_OK;
}

wt_status wt_cpu_affine(wt_tensor *dst, const wt_tensor *x, float scale, float bias) {
    wt_cpu_iter it;
    wt_cpu_iter_flat(&it, 2, (const wt_tensor *const[]){dst, x});
    float *yd = dst->data;
    const float *xd = x->data;
    while (wt_cpu_iter_next(&it)) {
        float *y = yd + it.off[0];
        const float *xr = xd + it.off[1];
        int64_t n = it.len, ys = it.inc[0], xs = it.inc[1];
        if (xs == 1 && ys == 1)
            for (int64_t i = 0; i < n; i++) y[i] = xr[i] * scale + bias;
        else
            for (int64_t i = 0; i < n; i++) y[i * ys] = xr[i * xs] * scale + bias;
    }
    return WT_OK;
}

/* ---- reductions ---- */

/* Reduces `len` values x[r*rs] (r < len); stores into *out as f32 or i64. */
static void reduce_one(wt_reduce_op op, const float *x, int64_t rs, int64_t len, void *out) {
    switch (op) {
    case WT_REDUCE_SUM:
    case WT_REDUCE_MEAN: {
        double s = 0;
        for (int64_t r = 0; r < len; r++) s += x[r * rs];
        if (op == WT_REDUCE_MEAN) s = len ? s / (double)len : NAN;
        *(float *)out = (float)s;
        break;
    }
    case WT_REDUCE_MAX:
    case WT_REDUCE_MIN:
    case WT_REDUCE_ARGMAX:
    case WT_REDUCE_ARGMIN: {
        bool want_max = op == WT_REDUCE_MAX || op == WT_REDUCE_ARGMAX;
        float m = x[0];
        int64_t at = 0;
        /* the first NaN wins (PyTorch), otherwise the first extreme value */
        for (int64_t r = 1; r < len && m == m; r++) {
            float v = x[r * rs];
            if (v != v || (want_max ? v > m : v < m)) {
                m = v;
                at = r;
            }
        }
        if (op == WT_REDUCE_MAX || op == WT_REDUCE_MIN) *(float *)out = m;
        else *(int64_t *)out = at;
        break;
    }
    default: break;
    }
}

wt_status wt_cpu_reduce(wt_reduce_op op, wt_tensor *dst, const wt_tensor *x, int dim) {
    if ((unsigned)op >= WT_REDUCE_COUNT) return wt_error(WT_ERR_INVALID, "reduce: unknown op %d", (int)op);
    int64_t len = x->shape[dim], rs = x->stride[dim];
    if (len == 0 && op != WT_REDUCE_SUM && op != WT_REDUCE_MEAN)
        return wt_error(WT_ERR_INVALID, "reduce: empty dimension %d", dim);
    /* walk dst together with x collapsed to size 1 along dim */
    wt_tensor xs = *x;
    xs.shape[dim] = 1;
    wt_cpu_iter it;
    wt_cpu_iter_flat(&it, 2, (const wt_tensor *const[]){dst, &xs});
    const float *xd = x->data;
    size_t des = wt_dtype_size(dst->dtype);
    bool sums = op == WT_REDUCE_SUM || op == WT_REDUCE_MEAN;
    while (wt_cpu_iter_next(&it)) {
        int64_t n = it.len, ys = it.inc[0], xi = it.inc[1];
        const float *xr = xd + it.off[1];
        if (sums && xi == 1 && rs != 1 && n > 1) {
            /* reducing a non-inner dim: accumulate whole rows so reads stay
             * sequential (double accumulators, CHUNK at a time) */
            float *y = (float *)dst->data + it.off[0];
            for (int64_t j0 = 0; j0 < n; j0 += CHUNK) {
                int64_t m = n - j0 < CHUNK ? n - j0 : CHUNK;
                double acc[CHUNK] = {0};
                for (int64_t r = 0; r < len; r++) {
                    const float *row = xr + j0 + r * rs;
                    for (int64_t j = 0; j < m; j++) acc[j] += row[j];
                }
                for (int64_t j = 0; j < m; j++) {
                    double s = acc[j];
                    if (op == WT_REDUCE_MEAN) s = len ? s / (double)len : NAN;
                    y[(j0 + j) * ys] = (float)s;
                }
            }
            continue;
        }
        for (int64_t j = 0; j < n; j++)
            reduce_one(op, xr + j * xi, rs, len, elem(dst->data, it.off[0] + j * ys, des));
    }
    return WT_OK;
}
