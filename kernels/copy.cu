/* Fill, copy with dtype conversion, and pad: any dtype, any strides. */
#include "kernels/common.cuh"

__global__ void wt_fill_kernel(wt_kt dst, double v) {
    WT_GRID_STRIDE(i, dst.numel) {
        int64_t off = wt_kt_offset(dst, i);
        if (dst.dtype == WT_I64) static_cast<int64_t *>(dst.data)[off] = wt_f_to_i64_dev(v);
        else if (dst.dtype == WT_U8) static_cast<uint8_t *>(dst.data)[off] = wt_f_to_u8_dev(v);
        else wt_stf(dst, off, (float)v);
    }
}

__global__ void wt_copy_kernel(wt_kt dst, wt_kt src) {
    WT_GRID_STRIDE(i, dst.numel) wt_move(dst, wt_kt_offset(dst, i), src, wt_kt_offset(src, i));
}

/* dst has x's shape except dim, which is left + n + right long. */
__global__ void wt_pad_kernel(wt_kt dst, wt_kt x, int dim, int64_t left, int mode, double value) {
    int64_t n = x.shape[dim];
    WT_GRID_STRIDE(i, dst.numel) {
        int64_t c = 0;
        int64_t doff = wt_kt_offset_at(dst, dst, i, dim, 0, &c);
        doff += c * dst.stride[dim];
        int64_t j = c - left;
        if (j < 0 || j >= n) {
            if (mode == WT_PAD_CONSTANT) {
                if (dst.dtype == WT_I64) static_cast<int64_t *>(dst.data)[doff] = wt_f_to_i64_dev(value);
                else if (dst.dtype == WT_U8) static_cast<uint8_t *>(dst.data)[doff] = wt_f_to_u8_dev(value);
                else wt_stf(dst, doff, (float)value);
                continue;
            }
            if (mode == WT_PAD_REPLICATE) j = j < 0 ? 0 : n - 1;
            else j = j < 0 ? -j : 2 * (n - 1) - j; /* reflect, without repeating the edge */
        }
        wt_move(dst, doff, x, wt_kt_offset_at(dst, x, i, dim, j, NULL));
    }
}

wt_status wt_k_fill(void *stream, wt_tensor *dst, double v) {
    wt_kt d = wt_kt_of(dst);
    if (d.numel == 0) return WT_OK;
    WT_LAUNCH(wt_fill_kernel, wt_k_blocks(d.numel, WT_K_THREADS), WT_K_THREADS, 0,
              (cudaStream_t)stream, d, v);
    return wt_k_status("fill");
}

wt_status wt_k_copy(void *stream, wt_tensor *dst, const wt_tensor *src) {
    wt_kt d = wt_kt_of(dst);
    if (d.numel == 0) return WT_OK;
    WT_LAUNCH(wt_copy_kernel, wt_k_blocks(d.numel, WT_K_THREADS), WT_K_THREADS, 0,
              (cudaStream_t)stream, d, wt_kt_of(src));
    return wt_k_status("copy");
}

wt_status wt_k_pad(void *stream, wt_tensor *dst, const wt_tensor *x, int dim, int64_t left,
                   wt_pad_mode mode, double value) {
    wt_kt d = wt_kt_of(dst);
    if (d.numel == 0) return WT_OK;
    WT_LAUNCH(wt_pad_kernel, wt_k_blocks(d.numel, WT_K_THREADS), WT_K_THREADS, 0,
              (cudaStream_t)stream, d, wt_kt_of(x), dim, left, (int)mode, value);
    return wt_k_status("pad");
}
