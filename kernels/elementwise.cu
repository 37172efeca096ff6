/* f32 elementwise ops: unary, binary with broadcasting (stride-0 operands),
 * affine and the gated linear unit. One grid-stride loop each. */
#include "kernels/common.cuh"

__device__ __forceinline__ float wt_unary_f(int op, float v, float a) {
    switch (op) {
    case WT_UNARY_EXP: return expf(v);
    case WT_UNARY_LOG: return logf(v);
    case WT_UNARY_SIN: return sinf(v);
    case WT_UNARY_COS: return cosf(v);
    case WT_UNARY_SQRT: return sqrtf(v);
    case WT_UNARY_RSQRT: return 1.0f / sqrtf(v);
    case WT_UNARY_TANH: return tanhf(v);
    case WT_UNARY_SIGMOID: return 1.0f / (1.0f + expf(-v));
    case WT_UNARY_RELU: return v > 0.0f ? v : 0.0f;
    case WT_UNARY_ELU: return v > 0.0f ? v : a * expm1f(v);
    case WT_UNARY_GELU_ERF: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    case WT_UNARY_GELU_TANH: {
        float u = 0.7978845608028654f * (v + 0.044715f * v * v * v);
        return 0.5f * v * (1.0f + tanhf(u));
    }
    case WT_UNARY_SILU: return v / (1.0f + expf(-v));
    case WT_UNARY_ABS: return fabsf(v);
    case WT_UNARY_NEG: return -v;
    case WT_UNARY_SQR: return v * v;
    default: return 1.0f / v; /* WT_UNARY_RECIP */
    }
}

__device__ __forceinline__ float wt_binary_f(int op, float a, float b) {
    switch (op) {
    case WT_BINARY_ADD: return a + b;
    case WT_BINARY_SUB: return a - b;
    case WT_BINARY_MUL: return a * b;
    case WT_BINARY_DIV: return a / b;
    /* NaN propagates, as torch.maximum / minimum */
    case WT_BINARY_MAX: return (a != a || b != b) ? a + b : fmaxf(a, b);
    default: return (a != a || b != b) ? a + b : fminf(a, b);
    }
}

__global__ void wt_unary_kernel(wt_kt dst, wt_kt x, int op, float param) {
    float *y = static_cast<float *>(dst.data);
    const float *xs = static_cast<const float *>(x.data);
    WT_GRID_STRIDE(i, dst.numel) y[wt_kt_offset(dst, i)] = wt_unary_f(op, xs[wt_kt_offset(x, i)], param);
}

__global__ void wt_binary_kernel(wt_kt dst, wt_kt a, wt_kt b, int op) {
    float *y = static_cast<float *>(dst.data);
    const float *as = static_cast<const float *>(a.data), *bs = static_cast<const float *>(b.data);
    WT_GRID_STRIDE(i, dst.numel) {
        float va = as[wt_kt_offset(a, i)], vb = bs[wt_kt_offset(b, i)];
        y[wt_kt_offset(dst, i)] = wt_binary_f(op, va, vb);
    }
}

__global__ void wt_affine_kernel(wt_kt dst, wt_kt x, float scale, float bias) {
    float *y = static_cast<float *>(dst.data);
    const float *xs = static_cast<const float *>(x.data);
    WT_GRID_STRIDE(i, dst.numel) y[wt_kt_offset(dst, i)] = xs[wt_kt_offset(x, i)] * scale + bias;
}

/* dst has x's shape with dim halved: a = first half, b = second half. */
__global__ void wt_glu_kernel(wt_kt dst, wt_kt x, int dim) {
    int64_t half = dst.shape[dim];
    float *y = static_cast<float *>(dst.data);
    const float *xs = static_cast<const float *>(x.data);
    WT_GRID_STRIDE(i, dst.numel) {
        int64_t c = 0;
        int64_t aoff = wt_kt_offset_at(dst, x, i, dim, 0, &c);
        aoff += c * x.stride[dim];
        float a = xs[aoff], b = xs[aoff + half * x.stride[dim]];
        y[wt_kt_offset(dst, i)] = a / (1.0f + expf(-b));
    }
}

wt_status wt_k_unary(void *stream, wt_unary_op op, wt_tensor *dst, const wt_tensor *x, float param) {
    wt_kt d = wt_kt_of(dst);
    if (d.numel == 0) return WT_OK;
    WT_LAUNCH(wt_unary_kernel, wt_k_blocks(d.numel, WT_K_THREADS), WT_K_THREADS, 0,
              (cudaStream_t)stream, d, wt_kt_of(x), (int)op, param);
    return wt_k_status("unary");
}

wt_status wt_k_binary(void *stream, wt_binary_op op, wt_tensor *dst, const wt_tensor *a,
                      const wt_tensor *b) {
    wt_kt d = wt_kt_of(dst);
    if (d.numel == 0) return WT_OK;
    WT_LAUNCH(wt_binary_kernel, wt_k_blocks(d.numel, WT_K_THREADS), WT_K_THREADS, 0,
              (cudaStream_t)stream, d, wt_kt_of(a), wt_kt_of(b), (int)op);
    return wt_k_status("binary");
}

wt_status wt_k_affine(void *stream, wt_tensor *dst, const wt_tensor *x, float scale, float bias) {
    wt_kt d = wt_kt_of(dst);
    if (d.numel == 0) return WT_OK;
    WT_LAUNCH(wt_affine_kernel, wt_k_blocks(d.numel, WT_K_THREADS), WT_K_THREADS, 0,
              (cudaStream_t)stream, d, wt_kt_of(x), scale, bias);
    return wt_k_status("affine");
}

wt_status wt_k_glu(void *stream, wt_tensor *dst, const wt_tensor *x, int dim) {
    wt_kt d = wt_kt_of(dst);
    if (d.numel == 0) return WT_OK;
    WT_LAUNCH(wt_glu_kernel, wt_k_blocks(d.numel, WT_K_THREADS), WT_K_THREADS, 0,
              (cudaStream_t)stream, d, wt_kt_of(x), dim);
    return wt_k_status("glu");
}
