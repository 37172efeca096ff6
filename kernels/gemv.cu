/* y [M, N] = a [M, K] w^T for a few rows (M <= 8: a decode token, a
 * streaming frame at batch 1), w [N, K] with f32, f16 or bf16 rows read at
 * their own width and sums in f32 with f32 activations, as the CPU backend
 * computes (cuBLAS would take the activations rounded to w's dtype). Such a
 * product only streams w once, so it is built for bandwidth: one warp per
 * output row, 16-byte loads of 8 weights per lane, every row of `a` reused
 * from L1 for each weight loaded. */
#include "kernels/common.cuh"

/* 16 bytes moved by one load instruction where the address allows it. */
struct alignas(16) wt_v16 {
    uint32_t u[4];
};

/* Eight consecutive weights from 16-byte aligned rows. */
__device__ __forceinline__ void wt_gemv_load8(const void *w, int wdt, int64_t off, float *v) {
    if (wdt == WT_F32) {
        const wt_v16 *p = reinterpret_cast<const wt_v16 *>(static_cast<const float *>(w) + off);
        wt_v16 a = p[0], b = p[1];
        for (int i = 0; i < 4; i++) {
            v[i] = __uint_as_float(a.u[i]);
            v[4 + i] = __uint_as_float(b.u[i]);
        }
        return;
    }
    wt_v16 a = *reinterpret_cast<const wt_v16 *>(static_cast<const uint16_t *>(w) + off);
    for (int i = 0; i < 4; i++) {
        uint16_t lo = (uint16_t)(a.u[i] & 0xffffu), hi = (uint16_t)(a.u[i] >> 16);
        v[2 * i] = wdt == WT_BF16 ? wt_bf16_to_f32_dev(lo) : wt_f16_to_f32_dev(lo);
        v[2 * i + 1] = wdt == WT_BF16 ? wt_bf16_to_f32_dev(hi) : wt_f16_to_f32_dev(hi);
    }
}

__device__ __forceinline__ float wt_gemv_load1(const void *w, int wdt, int64_t off) {
    if (wdt == WT_F32) return static_cast<const float *>(w)[off];
    uint16_t h = static_cast<const uint16_t *>(w)[off];
    return wdt == WT_BF16 ? wt_bf16_to_f32_dev(h) : wt_f16_to_f32_dev(h);
}

/* vec: rows of w and a start 16-byte aligned, so lanes take 8 columns at a
 * time; the columns past the last multiple of 8 go one per lane. */
__global__ void wt_gemv_kernel(float *y, int64_t ldy, const float *a, int64_t lda, const void *w, int wdt,
                               int64_t ldw, int m_rows, int64_t n_rows, int64_t k_len, int vec) {
    int lane = (int)threadIdx.x & 31, warp = (int)threadIdx.x >> 5, nw = (int)blockDim.x >> 5;
    int64_t k8 = vec ? k_len / 8 * 8 : 0;
    for (int64_t n = (int64_t)blockIdx.x * nw + warp; n < n_rows; n += (int64_t)gridDim.x * nw) {
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int64_t k = (int64_t)lane * 8; k < k8; k += 256) {
            float wv[8];
            wt_gemv_load8(w, wdt, n * ldw + k, wv);
            for (int m = 0; m < 8; m++) {
                if (m >= m_rows) break;
                const wt_v16 *ap = reinterpret_cast<const wt_v16 *>(a + m * lda + k);
                wt_v16 x0 = ap[0], x1 = ap[1];
                float s = 0.0f;
                for (int i = 0; i < 4; i++)
                    s += __uint_as_float(x0.u[i]) * wv[i] + __uint_as_float(x1.u[i]) * wv[4 + i];
                acc[m] += s;
            }
        }
        for (int64_t k = k8 + lane; k < k_len; k += 32) {
            float wv = wt_gemv_load1(w, wdt, n * ldw + k);
            for (int m = 0; m < 8; m++) {
                if (m >= m_rows) break;
                acc[m] += a[m * lda + k] * wv;
            }
        }
        for (int m = 0; m < 8; m++) {
            if (m >= m_rows) break;
            float s = wt_warp_sum(acc[m]);
            if (lane == 0) y[m * ldy + n] = s;
        }
    }
}

wt_status wt_k_gemv(void *stream, float *y, int64_t ldy, const float *a, int64_t lda, const void *w,
                    wt_dtype wdt, int64_t ldw, int m_rows, int64_t n_rows, int64_t k_len) {
    if (m_rows < 1 || m_rows > 8)
        return wt_error(WT_ERR_UNSUPPORTED, "cuda gemv: %d rows (1..8 supported)", m_rows);
    if (n_rows == 0) return WT_OK;
    size_t es = wdt == WT_F32 ? 4 : 2;
    int vec = ((uintptr_t)w % 16 == 0) && ((size_t)ldw * es % 16 == 0) && ((uintptr_t)a % 16 == 0) &&
              ((size_t)lda * 4 % 16 == 0);
    const int threads = 256, per_block = threads / 32;
    int64_t blocks = (n_rows + per_block - 1) / per_block;
    WT_LAUNCH(wt_gemv_kernel, (unsigned)(blocks > 65535 ? 65535 : blocks), threads, 0, (cudaStream_t)stream, y,
              ldy, a, lda, w, (int)wdt, ldw, m_rows, n_rows, k_len, vec);
    return wt_k_status("gemv");
}
