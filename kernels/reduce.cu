/* Reductions over one dim: sum, mean, max, min, argmax, argmin (i64). One
 * block per output element; arg-reductions combine (value, index) pairs so
 * the first index wins among equal values and the first NaN wins (PyTorch). */
#include "kernels/common.cuh"

/* Is (v2, i2) preferred over (v1, i1)? */
__device__ __forceinline__ bool wt_arg_better(float v1, int64_t i1, float v2, int64_t i2, bool want_max) {
    bool n1 = v1 != v1, n2 = v2 != v2;
    if (n1 || n2) return n2 && (!n1 || i2 < i1);
    if (v2 == v1) return i2 < i1;
    return want_max ? v2 > v1 : v2 < v1;
}

/* dst has the keepdim shape; output o reduces x over dim at o's other coordinates. */
__global__ void wt_reduce_kernel(wt_kt dst, wt_kt x, int dim, int op) {
    __shared__ float sv[32];
    __shared__ int64_t si[32];
    int64_t len = x.shape[dim], xs = x.stride[dim];
    bool is_arg = op == WT_REDUCE_ARGMAX || op == WT_REDUCE_ARGMIN;
    bool want_max = op == WT_REDUCE_MAX || op == WT_REDUCE_ARGMAX;
    const float *xd = static_cast<const float *>(x.data);
    int lane = threadIdx.x & 31, wp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int64_t o = blockIdx.x; o < dst.numel; o += gridDim.x) {
        const float *xr = xd + wt_kt_offset_at(dst, x, o, dim, 0, NULL);
        if (op == WT_REDUCE_SUM || op == WT_REDUCE_MEAN) {
            float s = 0.0f;
            for (int64_t j = threadIdx.x; j < len; j += blockDim.x) s += xr[j * xs];
            s = wt_block_sum(s, sv);
            if (threadIdx.x == 0)
                static_cast<float *>(dst.data)[wt_kt_offset(dst, o)] =
                    op == WT_REDUCE_MEAN ? (len ? s / (float)len : NAN) : s;
            continue;
        }
        float v = NAN;
        int64_t at = INT64_MAX; /* no element yet: loses to every real one */
        for (int64_t j = threadIdx.x; j < len; j += blockDim.x) {
            float u = xr[j * xs];
            if (at == INT64_MAX || wt_arg_better(v, at, u, j, want_max)) {
                v = u;
                at = j;
            }
        }
        for (int off = 16; off > 0; off >>= 1) {
            float u = __shfl_xor_sync(WT_FULL_MASK, v, off);
            int64_t k = __shfl_xor_sync(WT_FULL_MASK, at, off);
            if (k != INT64_MAX && (at == INT64_MAX || wt_arg_better(v, at, u, k, want_max))) {
                v = u;
                at = k;
            }
        }
        __syncthreads(); /* sv/si may still be read by the previous output */
        if (lane == 0) {
            sv[wp] = v;
            si[wp] = at;
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            for (int k = 1; k < nw; k++)
                if (si[k] != INT64_MAX && (at == INT64_MAX || wt_arg_better(v, at, sv[k], si[k], want_max))) {
                    v = sv[k];
                    at = si[k];
                }
            int64_t off = wt_kt_offset(dst, o);
            if (is_arg) static_cast<int64_t *>(dst.data)[off] = at;
            else static_cast<float *>(dst.data)[off] = v;
        }
    }
}

wt_status wt_k_reduce(void *stream, wt_reduce_op op, wt_tensor *dst, const wt_tensor *x, int dim) {
    wt_kt d = wt_kt_of(dst), xk = wt_kt_of(x);
    if (d.numel == 0) return WT_OK;
    WT_LAUNCH(wt_reduce_kernel, wt_k_blocks(d.numel, 1), wt_k_row_threads(xk.shape[dim], 256), 0,
              (cudaStream_t)stream, d, xk, dim, (int)op);
    return wt_k_status("reduce");
}
