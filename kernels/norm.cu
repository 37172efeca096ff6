/* rms_norm and layer_norm over the last dim (one block per row) and
 * group_norm (one block per (batch, group)). Statistics use block
 * reductions; the variance takes a second pass over the data (x - mean),
 * which keeps f32 accuracy for rows with large offsets. */
#include "kernels/common.cuh"

/* kind 0: rms_norm, 1: layer_norm. w, b have has_w / has_b set when present. */
__global__ void wt_row_norm_kernel(wt_kt dst, wt_kt x, wt_kt w, wt_kt b, int has_w, int has_b,
                                   float eps, int kind) {
    __shared__ float red[32];
    int64_t c = x.shape[x.ndim - 1], rows = c ? x.numel / c : 0;
    int64_t xs = x.stride[x.ndim - 1], ys = dst.stride[dst.ndim - 1];
    const float *xd = static_cast<const float *>(x.data);
    const float *wd = static_cast<const float *>(w.data), *bd = static_cast<const float *>(b.data);
    float *yd = static_cast<float *>(dst.data);
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *xr = xd + wt_kt_offset(x, r * c);
        float *yr = yd + wt_kt_offset(dst, r * c);
        float mean = 0.0f;
        if (kind == 1) {
            float s = 0.0f;
            for (int64_t j = threadIdx.x; j < c; j += blockDim.x) s += xr[j * xs];
            mean = wt_block_sum(s, red) / (float)c;
        }
        float ss = 0.0f;
        for (int64_t j = threadIdx.x; j < c; j += blockDim.x) {
            float v = xr[j * xs] - mean;
            ss += v * v;
        }
        float inv = rsqrtf(wt_block_sum(ss, red) / (float)c + eps);
        for (int64_t j = threadIdx.x; j < c; j += blockDim.x) {
            float v = (xr[j * xs] - mean) * inv;
            if (has_w) v *= wd[j * w.stride[0]];
            if (has_b) v += bd[j * b.stride[0]];
            yr[j * ys] = v;
        }
    }
}

/* x [B, C, ...]: block (n, g) normalises channels [g*C/G, (g+1)*C/G) and all trailing dims. */
__global__ void wt_group_norm_kernel(wt_kt dst, wt_kt x, int groups, wt_kt w, wt_kt b, int has_w,
                                     int has_b, float eps) {
    __shared__ float red[32];
    int64_t nb = x.shape[0], c = x.shape[1], l = (nb * c) != 0 ? x.numel / (nb * c) : 0;
    int64_t cg = c / groups, len = cg * l;
    const float *xd = static_cast<const float *>(x.data);
    const float *wd = static_cast<const float *>(w.data), *bd = static_cast<const float *>(b.data);
    float *yd = static_cast<float *>(dst.data);
    for (int64_t blk = blockIdx.x; blk < nb * groups; blk += gridDim.x) {
        int64_t base = (blk / groups * c + blk % groups * cg) * l; /* flat index of the group's first element */
        float s = 0.0f;
        for (int64_t k = threadIdx.x; k < len; k += blockDim.x) s += xd[wt_kt_offset(x, base + k)];
        float mean = wt_block_sum(s, red) / (float)len;
        float ss = 0.0f;
        for (int64_t k = threadIdx.x; k < len; k += blockDim.x) {
            float v = xd[wt_kt_offset(x, base + k)] - mean;
            ss += v * v;
        }
        float inv = rsqrtf(wt_block_sum(ss, red) / (float)len + eps);
        for (int64_t k = threadIdx.x; k < len; k += blockDim.x) {
            int64_t ch = blk % groups * cg + k / l;
            float v = (xd[wt_kt_offset(x, base + k)] - mean) * inv;
            if (has_w) v *= wd[ch * w.stride[0]];
            if (has_b) v += bd[ch * b.stride[0]];
            yd[wt_kt_offset(dst, base + k)] = v;
        }
    }
}

static wt_status row_norm(void *stream, wt_tensor *dst, const wt_tensor *x, const wt_tensor *w,
                          const wt_tensor *b, float eps, int kind) {
    wt_kt d = wt_kt_of(dst), xk = wt_kt_of(x);
    if (d.numel == 0) return WT_OK;
    int64_t c = xk.shape[xk.ndim - 1];
    WT_LAUNCH(wt_row_norm_kernel, wt_k_blocks(xk.numel / c, 1), wt_k_row_threads(c, 256), 0,
              (cudaStream_t)stream, d, xk, w ? wt_kt_of(w) : xk, b ? wt_kt_of(b) : xk, w ? 1 : 0,
              b ? 1 : 0, eps, kind);
    return wt_k_status(kind ? "layer_norm" : "rms_norm");
}

wt_status wt_k_rms_norm(void *stream, wt_tensor *dst, const wt_tensor *x, const wt_tensor *w,
                        float eps) {
    return row_norm(stream, dst, x, w, NULL, eps, 0);
}

wt_status wt_k_layer_norm(void *stream, wt_tensor *dst, const wt_tensor *x, const wt_tensor *w,
                          const wt_tensor *b, float eps) {
    return row_norm(stream, dst, x, w, b, eps, 1);
}

wt_status wt_k_group_norm(void *stream, wt_tensor *dst, const wt_tensor *x, int groups,
                          const wt_tensor *w, const wt_tensor *b, float eps) {
    wt_kt d = wt_kt_of(dst), xk = wt_kt_of(x);
    if (d.numel == 0) return WT_OK;
    int64_t len = xk.numel / (xk.shape[0] * groups);
    WT_LAUNCH(wt_group_norm_kernel, wt_k_blocks(xk.shape[0] * groups, 1), wt_k_row_threads(len, 256), 0,
              (cudaStream_t)stream, d, xk, groups, w ? wt_kt_of(w) : xk, b ? wt_kt_of(b) : xk,
              w ? 1 : 0, b ? 1 : 0, eps);
    return wt_k_status("group_norm");
}
