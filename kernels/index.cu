/* index_select (embedding lookup) and scatter_set (KV ring writes): any
 * dtype; index_select converts f16/bf16 rows to an f32 destination. The
 * front-end cannot range-check device indices, so an out-of-range one is
 * absent: a zero row selected, nothing scattered. */
#include "kernels/common.cuh"

/* dst has src's shape with dim replaced by numel(idx) entries. */
__global__ void wt_index_select_kernel(wt_kt dst, wt_kt src, int dim, wt_kt idx) {
    const int64_t *ix = static_cast<const int64_t *>(idx.data);
    WT_GRID_STRIDE(i, dst.numel) {
        int64_t j = 0;
        int64_t doff = wt_kt_offset_at(dst, dst, i, dim, 0, &j);
        doff += j * dst.stride[dim];
        int64_t row = ix[wt_kt_offset(idx, j)];
        if (row < 0 || row >= src.shape[dim]) { /* unchecked on a device: absent */
            wt_stf(dst, doff, 0.0f);
            continue;
        }
        wt_move(dst, doff, src, wt_kt_offset_at(dst, src, i, dim, row, NULL));
    }
}

/* One thread per src element: dst.select(dim, idx[j]) = src.select(dim, j). */
__global__ void wt_scatter_set_kernel(wt_kt dst, int dim, wt_kt idx, wt_kt src) {
    const int64_t *ix = static_cast<const int64_t *>(idx.data);
    WT_GRID_STRIDE(i, src.numel) {
        int64_t j = 0;
        int64_t soff = wt_kt_offset_at(src, src, i, dim, 0, &j);
        soff += j * src.stride[dim];
        int64_t row = ix[wt_kt_offset(idx, j)];
        if (row < 0 || row >= dst.shape[dim]) continue; /* unchecked on a device: absent */
        wt_move(dst, wt_kt_offset_at(src, dst, i, dim, row, NULL), src, soff);
    }
}

wt_status wt_k_index_select(void *stream, wt_tensor *dst, const wt_tensor *src, int dim,
                            const wt_tensor *idx) {
    wt_kt d = wt_kt_of(dst);
    if (d.numel == 0) return WT_OK;
    WT_LAUNCH(wt_index_select_kernel, wt_k_blocks(d.numel, WT_K_THREADS), WT_K_THREADS, 0,
              (cudaStream_t)stream, d, wt_kt_of(src), dim, wt_kt_of(idx));
    return wt_k_status("index_select");
}

wt_status wt_k_scatter_set(void *stream, wt_tensor *dst, int dim, const wt_tensor *idx,
                           const wt_tensor *src) {
    wt_kt s = wt_kt_of(src);
    if (s.numel == 0) return WT_OK;
    WT_LAUNCH(wt_scatter_set_kernel, wt_k_blocks(s.numel, WT_K_THREADS), WT_K_THREADS, 0,
              (cudaStream_t)stream, wt_kt_of(dst), dim, wt_kt_of(idx), s);
    return wt_k_status("scatter_set");
}
