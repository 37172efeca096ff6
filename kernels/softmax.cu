/* Softmax over the last dim of x * scale + mask with causal and
 * sliding-window masks: one block per row, three passes over the row
 * (max, sum of exponentials, write) with block reductions, so any row length
 * works without shared-memory limits. */
#include "kernels/common.cuh"

/* rows = numel / tk; tq = size of the second-to-last dim (1 for vectors);
 * [first, last] is the visible key range of each query (see wt_softmax). */
__global__ void wt_softmax_kernel(wt_kt dst, wt_kt x, wt_kt mask, int has_mask, float scale,
                                  int causal, int64_t window) {
    __shared__ float red[32];
    int64_t tk = x.shape[x.ndim - 1];
    int64_t tq = x.ndim >= 2 ? x.shape[x.ndim - 2] : 1;
    int64_t rows = tk ? x.numel / tk : 0;
    int64_t xs = x.stride[x.ndim - 1], ys = dst.stride[dst.ndim - 1];
    int64_t ms = has_mask ? mask.stride[mask.ndim - 1] : 0;
    const float *xd = static_cast<const float *>(x.data);
    const float *md = static_cast<const float *>(mask.data);
    float *yd = static_cast<float *>(dst.data);
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        int64_t q = (r % tq) + tk - tq; /* this query's position among the keys */
        int64_t last = causal ? (q < tk - 1 ? q : tk - 1) : tk - 1;
        int64_t first = window > 0 ? q - window + 1 : 0;
        if (first < 0) first = 0;
        const float *xr = xd + wt_kt_offset(x, r * tk);
        const float *mr = has_mask ? md + wt_kt_offset(mask, r * tk) : NULL;
        float *yr = yd + wt_kt_offset(dst, r * tk);
        float m = -INFINITY;
        for (int64_t j = first + threadIdx.x; j <= last; j += blockDim.x) {
            float z = xr[j * xs] * scale + (mr ? mr[j * ms] : 0.0f);
            m = fmaxf(m, z);
        }
        m = wt_block_max(m, red);
        float s = 0.0f;
        if (m != -INFINITY)
            for (int64_t j = first + threadIdx.x; j <= last; j += blockDim.x) {
                float z = xr[j * xs] * scale + (mr ? mr[j * ms] : 0.0f);
                s += expf(z - m);
            }
        s = wt_block_sum(s, red);
        /* every key hidden: zeros, not NaN */
        float inv = (m == -INFINITY || s == 0.0f) ? 0.0f : 1.0f / s;
        for (int64_t j = threadIdx.x; j < tk; j += blockDim.x) {
            float v = 0.0f;
            if (j >= first && j <= last && inv != 0.0f) {
                float z = xr[j * xs] * scale + (mr ? mr[j * ms] : 0.0f);
                v = expf(z - m) * inv;
            }
            yr[j * ys] = v;
        }
    }
}

wt_status wt_k_softmax(void *stream, wt_tensor *dst, const wt_tensor *x, float scale,
                       const wt_tensor *mask, wt_mask_kind kind, int64_t window) {
    wt_kt d = wt_kt_of(dst), xk = wt_kt_of(x);
    if (d.numel == 0) return WT_OK;
    if (x->ndim == 0) { /* a scalar is one row with one key */
        d.ndim = xk.ndim = 1;
    }
    wt_kt mk = mask ? wt_kt_of(mask) : xk;
    if (mask && mask->ndim == 0) mk.ndim = 1;
    int64_t tk = xk.shape[xk.ndim - 1], rows = xk.numel / tk;
    unsigned threads = wt_k_row_threads(tk, 256);
    WT_LAUNCH(wt_softmax_kernel, wt_k_blocks(rows, 1), threads, 0, (cudaStream_t)stream, d, xk, mk,
              mask ? 1 : 0, scale, kind == WT_MASK_CAUSAL ? 1 : 0, window);
    return wt_k_status("softmax");
}
