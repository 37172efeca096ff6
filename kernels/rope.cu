/* Rotary position embedding, interleaved pairs (2i, 2i+1) or halves
 * (i, i + hd/2); positions come from an i64 device tensor so one captured
 * step serves every position. The angle is formed and reduced modulo 2 pi in
 * double (positions reach 10^5 and more), then rotated in f32. */
#include "kernels/common.cuh"

/* x, dst [B, T, H, hd]; pos [B, T]; one thread per pair. */
__global__ void wt_rope_kernel(wt_kt dst, wt_kt x, wt_kt pos, float base, int halves) {
    int64_t hd = x.shape[3], half = hd / 2, npairs = x.numel / 2;
    const float *xd = static_cast<const float *>(x.data);
    float *yd = static_cast<float *>(dst.data);
    const int64_t *pd = static_cast<const int64_t *>(pos.data);
    WT_GRID_STRIDE(p, npairs) {
        int64_t i = p % half, row = p / half; /* row = ((b*T + t)*H + h) */
        int64_t h = row % x.shape[2], bt = row / x.shape[2];
        int64_t t = bt % x.shape[1], b = bt / x.shape[1];
        int64_t j0 = halves ? i : 2 * i, j1 = halves ? i + half : 2 * i + 1;
        int64_t xo = b * x.stride[0] + t * x.stride[1] + h * x.stride[2];
        int64_t yo = b * dst.stride[0] + t * dst.stride[1] + h * dst.stride[2];
        double ang = (double)pd[b * pos.stride[0] + t * pos.stride[1]] *
                     pow((double)base, -2.0 * (double)i / (double)hd);
        const double two_pi = 6.283185307179586476925;
        ang -= two_pi * floor(ang / two_pi);
        float sn, cs;
        sincosf((float)ang, &sn, &cs);
        float a = xd[xo + j0 * x.stride[3]], c = xd[xo + j1 * x.stride[3]];
        yd[yo + j0 * dst.stride[3]] = a * cs - c * sn;
        yd[yo + j1 * dst.stride[3]] = a * sn + c * cs;
    }
}

wt_status wt_k_rope(void *stream, wt_tensor *dst, const wt_tensor *x, const wt_tensor *pos,
                    float base, wt_rope_layout layout) {
    wt_kt d = wt_kt_of(dst), xk = wt_kt_of(x), pk = wt_kt_of(pos);
    if (d.numel == 0) return WT_OK;
    if (pos->ndim == 1) { /* [T]: shared by every batch entry */
        pk.shape[1] = pk.shape[0];
        pk.stride[1] = pk.stride[0];
        pk.shape[0] = 1;
        pk.stride[0] = 0;
        pk.ndim = 2;
    }
    WT_LAUNCH(wt_rope_kernel, wt_k_blocks(d.numel / 2, WT_K_THREADS), WT_K_THREADS, 0,
              (cudaStream_t)stream, d, xk, pk, base, layout == WT_ROPE_HALVES ? 1 : 0);
    return wt_k_status("rope");
}
