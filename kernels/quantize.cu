/* Nearest codebook entry (the residual vector quantizer's search): for each
 * row x[n] of x [N, D], argmin_k |e_k|^2 - 2 x[n].e_k over codebook e [K, D].
 * One block per row: the row is staged in dynamic shared memory, threads
 * stride over entries, and a (distance, index) block reduction keeps the
 * first index among equal distances. */
#include "kernels/common.cuh"

__global__ void wt_codebook_argmin_kernel(wt_kt idx, wt_kt x, wt_kt e, wt_kt norm2) {
    WT_DYN_SHARED(float, row);
    __shared__ float sd[32];
    __shared__ int64_t si[32];
    int64_t n_rows = x.shape[0], d_n = x.shape[1], k_n = e.shape[0];
    const float *xd = static_cast<const float *>(x.data), *ed = static_cast<const float *>(e.data);
    const float *nd = static_cast<const float *>(norm2.data);
    int lane = threadIdx.x & 31, wp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int64_t n = blockIdx.x; n < n_rows; n += gridDim.x) {
        __syncthreads(); /* the previous row is no longer read */
        for (int64_t j = threadIdx.x; j < d_n; j += blockDim.x) row[j] = xd[n * x.stride[0] + j * x.stride[1]];
        __syncthreads();
        float best = INFINITY;
        int64_t at = INT64_MAX;
        for (int64_t k = threadIdx.x; k < k_n; k += blockDim.x) {
            const float *er = ed + k * e.stride[0];
            float dot = 0.0f;
            for (int64_t j = 0; j < d_n; j++) dot += row[j] * er[j * e.stride[1]];
            float dist = nd[k * norm2.stride[0]] - 2.0f * dot;
            if (dist < best || at == INT64_MAX) {
                best = dist;
                at = k;
            }
        }
        for (int off = 16; off > 0; off >>= 1) {
            float u = __shfl_xor_sync(WT_FULL_MASK, best, off);
            int64_t k = __shfl_xor_sync(WT_FULL_MASK, at, off);
            if (u < best || (u == best && k < at)) {
                best = u;
                at = k;
            }
        }
        if (lane == 0) {
            sd[wp] = best;
            si[wp] = at;
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            for (int w = 1; w < nw; w++)
                if (sd[w] < best || (sd[w] == best && si[w] < at)) {
                    best = sd[w];
                    at = si[w];
                }
            static_cast<int64_t *>(idx.data)[n * idx.stride[0]] = at;
        }
    }
}

wt_status wt_k_codebook_argmin(void *stream, wt_tensor *idx, const wt_tensor *x,
                               const wt_tensor *codebook, const wt_tensor *norm2) {
    wt_kt xk = wt_kt_of(x);
    if (xk.shape[0] == 0) return WT_OK;
    size_t smem = sizeof(float) * (size_t)xk.shape[1];
    WT_LAUNCH(wt_codebook_argmin_kernel, wt_k_blocks(xk.shape[0], 1),
              wt_k_row_threads(codebook->shape[0], 256), smem, (cudaStream_t)stream, wt_kt_of(idx),
              xk, wt_kt_of(codebook), wt_kt_of(norm2));
    return wt_k_status("codebook_argmin");
}
