/* CPU matrix product: dst [.., M, N] f32 = a [.., M, K] f32 x b [.., K, N]
 * (f32, f16 or bf16), f32 accumulation.
 *
 * Every 2-D slice is classified by its strides, never copied. The linear
 * layer case b = W^T (W [N, K] with contiguous rows) with few rows of x (a
 * streaming step) runs on the register-blocked kernels of cpu_kern.h: up to
 * 4 rows dot every row of W with them (W read once), up to 64 rows pack x^T
 * in panels, any weight dtype converted on load. Larger f32 products go to
 * OpenBLAS as they are (a transposed view becomes CblasTrans); larger
 * half-precision ones convert W in small stack tiles and run sgemm on each.
 * Slices with strides BLAS cannot describe (stride-0 rows, non-unit strides on
 * both axes) take a plain loop. Nothing here allocates: tiles live on the
 * stack. Batch dims that only a and dst walk through (b broadcast, as for a
 * linear layer over [B, T, K]) are folded into M so they become one GEMM. */
#include <cblas.h>
#include <limits.h>
#include <string.h>

#include "backends/cpu/cpu_kern.h"
#include "backends/cpu/cpu_ops.h"
#include "backends/cpu/cpu_parallel.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#define WT_MM_AVX2 1
#endif

/* A 2-D slice: element (r, c) at p[r * rs + c * cs] (in elements of dt). */
typedef struct {
    const void *p;
    wt_dtype dt;
    int64_t rs, cs;
} mat2d;

/* Rows of a up to which b with n-contiguous rows (weights stored [K, N],
 * attention's values) is streamed once, row by row, rather than handed to
 * OpenBLAS or tile conversion: for the few rows of a streaming step a
 * library call costs more than the product (attention over a 250-slot ring:
 * 2 x 250 x 64 per head). */
#define WT_MM_AB_MAX_M 4
/* Rows of x up to which any weights use the dot kernel, and up to which
 * they use the packed-panel kernel rather than OpenBLAS (whose packing of
 * the weights costs more than the product for few rows). */
#define WT_MM_KERN_DOT_MAX_M 4
#define WT_MM_KERN_WX_MAX_M 64
/* Stack tile for converted weights: NB columns x KC depth (64 KiB). */
#define WT_MM_TILE_N 64
#define WT_MM_TILE_K 256
/* Multiply-adds per thread below which splitting costs more than it saves. */
#define WT_MM_MIN_WORK_PER_THREAD (1 << 21)

static inline float bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline float half_elem(const void *p, wt_dtype dt, int64_t i) {
    switch (dt) {
#ifdef WT_MM_AVX2
    case WT_F16: return _cvtsh_ss(((const uint16_t *)p)[i]); /* F16C: exact */
#else
    case WT_F16: return wt_f16_to_f32(((const uint16_t *)p)[i]);
#endif
    case WT_BF16: return bf16_to_f32(((const uint16_t *)p)[i]);
    default: return ((const float *)p)[i];
    }
}

/* CBLAS description of a slice (rows x cols) in row-major order: NoTrans
 * with leading dimension rs when columns are contiguous, Trans with leading
 * dimension cs when rows are. Strides of size-1 axes do not matter. */
static int blas_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs,
                       enum CBLAS_TRANSPOSE *tr, int64_t *ld) {
    int64_t mr = rows > 1 ? rows : 1, mc = cols > 1 ? cols : 1;
    if (rows > INT_MAX || cols > INT_MAX) return 0;
    if ((cols <= 1 || cs == 1) && (rows <= 1 || (rs >= mc && rs <= INT_MAX))) {
        *tr = CblasNoTrans;
        *ld = rows <= 1 ? mc : rs;
        return 1;
    }
    if ((rows <= 1 || rs == 1) && (cols <= 1 || (cs >= mr && cs <= INT_MAX))) {
        *tr = CblasTrans;
        *ld = cols <= 1 ? mr : cs;
        return 1;
    }
    return 0;
}

static void blas_threads(int nthreads) {
    if (openblas_get_num_threads() != nthreads) openblas_set_num_threads(nthreads);
}

/* ---- plain loop: any strides, any weight dtype ---- */

static void mm_generic(float *c, int64_t crs, int64_t ccs, mat2d a, mat2d b, int64_t M,
                       int64_t N, int64_t K) {
    const float *ap = a.p;
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            float s = 0;
            for (int64_t k = 0; k < K; k++)
                s += ap[m * a.rs + k * a.cs] * half_elem(b.p, b.dt, k * b.rs + n * b.cs);
            c[m * crs + n * ccs] = s;
        }
}

/* ---- f32 weights: OpenBLAS ---- */

static int mm_blas_f32(float *c, int64_t ldc, mat2d a, mat2d b, int64_t M, int64_t N, int64_t K,
                       int nthreads) {
    enum CBLAS_TRANSPOSE ta, tb;
    int64_t lda, ldb;
    if (!blas_layout(M, K, a.rs, a.cs, &ta, &lda) || !blas_layout(K, N, b.rs, b.cs, &tb, &ldb))
        return 0;
    const float *ap = a.p, *bp = b.p;
    blas_threads(nthreads);
    if (M == 1 && (K == 1 || a.cs != 0)) {
        /* y[n] = sum_k a[k] b(k, n): b^T a, or W a when b is the view W^T */
        int inca = K == 1 ? 1 : (int)a.cs;
        if (tb == CblasNoTrans)
            cblas_sgemv(CblasRowMajor, CblasTrans, (int)K, (int)N, 1.0f, bp, (int)ldb, ap, inca,
                        0.0f, c, 1);
        else
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)N, (int)K, 1.0f, bp, (int)ldb, ap, inca,
                        0.0f, c, 1);
        return 1;
    }
    if (N == 1 && (K == 1 || b.rs != 0) && ldc <= INT_MAX) {
        int incb = K == 1 ? 1 : (int)b.rs;
        if (ta == CblasNoTrans)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)M, (int)K, 1.0f, ap, (int)lda, bp, incb,
                        0.0f, c, (int)ldc);
        else
            cblas_sgemv(CblasRowMajor, CblasTrans, (int)K, (int)M, 1.0f, ap, (int)lda, bp, incb,
                        0.0f, c, (int)ldc);
        return 1;
    }
    cblas_sgemm(CblasRowMajor, ta, tb, (int)M, (int)N, (int)K, 1.0f, ap, (int)lda, bp, (int)ldb,
                0.0f, c, (int)ldc);
    return 1;
}

/* ---- few rows of a against n-contiguous rows of b: b streamed once ---- */

typedef struct {
    float *c;
    int64_t ldc;
    mat2d a, b;
    int64_t M, K;
} ab_job;

static void ab_emit(void *arg, int64_t m0, int mr, int64_t j0, int nj, const float *tile) {
    const ab_job *j = arg;
    for (int mi = 0; mi < mr; mi++)
        memcpy(j->c + (m0 + mi) * j->ldc + j0, tile + mi * WT_KERN_NR, sizeof(float) * (size_t)nj);
}

static void ab_cols(void *arg, int64_t n0, int64_t n1) {
    const ab_job *j = arg;
    wt_kern_ab(j->M, j->K, n0, n1, j->a.p, j->a.rs, j->a.cs, j->b.p, j->b.dt, j->b.rs, ab_emit,
               (void *)j);
}

/* ---- any weights, many rows: convert stack tiles of b, sgemm each ---- */

typedef struct {
    float *c;
    int64_t ldc;
    mat2d a, b;
    int64_t M, N, K, lda;
    enum CBLAS_TRANSPOSE ta;
} tiled_job;

/* Columns [n0, n1) of the product, one stack tile of b at a time. */
static void tiled_cols(void *arg, int64_t n_lo, int64_t n_hi) {
    const tiled_job *j = arg;
    float tile[WT_MM_TILE_N * WT_MM_TILE_K];
    mat2d b = j->b;
    /* keep the copy's reads sequential: k-contiguous b is tiled as [n][k] */
    int k_major = b.rs == 1 && b.cs != 1;
    const float *ap = j->a.p;
    for (int64_t n0 = n_lo; n0 < n_hi; n0 += WT_MM_TILE_N) {
        int64_t nb = n_hi - n0 < WT_MM_TILE_N ? n_hi - n0 : WT_MM_TILE_N;
        for (int64_t k0 = 0; k0 < j->K; k0 += WT_MM_TILE_K) {
            int64_t kb = j->K - k0 < WT_MM_TILE_K ? j->K - k0 : WT_MM_TILE_K;
            if (k_major) {
                for (int64_t n = 0; n < nb; n++)
                    for (int64_t k = 0; k < kb; k++)
                        tile[n * kb + k] = half_elem(b.p, b.dt, (k0 + k) * b.rs + (n0 + n) * b.cs);
            } else {
                for (int64_t k = 0; k < kb; k++)
                    for (int64_t n = 0; n < nb; n++)
                        tile[k * nb + n] = half_elem(b.p, b.dt, (k0 + k) * b.rs + (n0 + n) * b.cs);
            }
            const float *ak = j->ta == CblasNoTrans ? ap + k0 : ap + k0 * j->lda;
            cblas_sgemm(CblasRowMajor, j->ta, k_major ? CblasTrans : CblasNoTrans, (int)j->M, (int)nb,
                        (int)kb, 1.0f, ak, (int)j->lda, tile, k_major ? (int)kb : (int)nb,
                        k0 == 0 ? 0.0f : 1.0f, j->c + n0, (int)j->ldc);
        }
    }
}

/* Any weights, many rows: convert stack tiles of b and run sgemm on each.
 * Our threads split the columns; each runs single-threaded sgemm. */
static void mm_tiled(float *c, int64_t ldc, mat2d a, mat2d b, int64_t M, int64_t N, int64_t K,
                     enum CBLAS_TRANSPOSE ta, int64_t lda, wt_pool *pool, int nthreads) {
    tiled_job j = {c, ldc, a, b, M, N, K, lda, ta};
    blas_threads(1);
    wt_cpu_parallel_for(pool, nthreads, N, WT_MM_TILE_N, tiled_cols, &j);
}

static int threads_for(int nthreads, int64_t work) {
    int64_t most = work / WT_MM_MIN_WORK_PER_THREAD;
    if (most < 1) most = 1;
    return nthreads < most ? nthreads : (int)most;
}

/* ---- register-blocked kernels (cpu_kern.h) for W = b^T with contiguous rows ---- */

typedef struct {
    float *c;
    int64_t ldc;
    const float *a;
    int64_t lda;
    const void *w; /* row n of W (column n of b) at element n * ldw */
    int64_t ldw;
    wt_dtype dt;
    int64_t M, K;
    int64_t acs, N; /* wx only: a's column stride, W's rows */
} kern_job;

static void kern_dot_rows(void *arg, int64_t n0, int64_t n1) {
    const kern_job *j = arg;
    const char *w = (const char *)j->w + (size_t)(n0 * j->ldw) * wt_dtype_size(j->dt);
    wt_kern_dot(n1 - n0, (int)j->M, j->K, w, j->dt, j->ldw, j->a, j->lda, j->c + n0, 1, j->ldc, 0);
}

/* x^T panel: buf[p][m] = a(m0 + m, p0 + p). */
static void pack_xt(const void *arg, int64_t p0, int64_t kc, int64_t m0, int64_t mm, float *buf) {
    const kern_job *j = arg;
    for (int64_t p = 0; p < kc; p++) {
        float *d = buf + p * WT_KERN_NR;
        const float *s = j->a + (p0 + p) * j->acs + m0 * j->lda;
        for (int64_t m = 0; m < mm; m++) d[m] = s[m * j->lda];
        for (int64_t m = mm; m < WT_KERN_NR; m++) d[m] = 0;
    }
}

static void kern_wx_cols(void *arg, int64_t m0, int64_t m1) {
    const kern_job *j = arg;
    wt_kern_wx(j->N, j->K, m0, m1, j->w, j->dt, j->ldw, 1, pack_xt, j, j->c, 1, j->ldc, NULL, 0);
}

/* One 2-D product; dst slice c is [M, N] with row stride crs, column stride ccs. */
static void mm_2d(float *c, int64_t crs, int64_t ccs, mat2d a, mat2d b, int64_t M, int64_t N,
                  int64_t K, wt_pool *pool) {
    int nthreads = wt_pool_threads(pool);
    if (M == 0 || N == 0) return;
    if (K == 0) {
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) c[m * crs + n * ccs] = 0;
        return;
    }
    /* dst must be a row-major matrix for every fast path */
    int c_ok = (N == 1 || ccs == 1) && (M == 1 || crs >= N) && crs <= INT_MAX && N <= INT_MAX &&
               M <= INT_MAX && K <= INT_MAX;
    int64_t ldc = M == 1 ? N : crs;
    if (!c_ok) {
        mm_generic(c, crs, ccs, a, b, M, N, K);
        return;
    }
    const float *ap = a.p;
    int a_rows = a.cs == 1 || K == 1; /* rows of a contiguous */
    if ((b.rs == 1 || K == 1) && a_rows && M <= WT_MM_KERN_DOT_MAX_M) {
        /* few rows of x against W = b^T: each row of W read once */
        kern_job j = {c, ldc, ap, M == 1 ? K : a.rs, b.p, N == 1 ? K : b.cs, b.dt, M, K, 1, N};
        int64_t wbytes = N * K * (int64_t)wt_dtype_size(b.dt);
        wt_cpu_parallel_for(pool, wt_cpu_threads_for_bytes(nthreads, wbytes), N, 8, kern_dot_rows, &j);
        return;
    }
    if ((b.rs == 1 || K == 1) && M <= WT_MM_KERN_WX_MAX_M) {
        /* C^T = W x^T with x^T packed in panels */
        kern_job j = {c, ldc, ap, a.rs, b.p, N == 1 ? K : b.cs, b.dt, M, K, a.cs, N};
        wt_cpu_parallel_for(pool, threads_for(nthreads, M * N * K), M, WT_KERN_NR, kern_wx_cols, &j);
        return;
    }
    if (b.cs == 1 && M <= WT_MM_AB_MAX_M) {
        ab_job j = {c, ldc, a, b, M, K};
        int64_t bbytes = N * K * (int64_t)wt_dtype_size(b.dt);
        wt_cpu_parallel_for(pool, wt_cpu_threads_for_bytes(nthreads, bbytes), N, WT_KERN_NR, ab_cols,
                            &j);
        return;
    }
    if (b.dt == WT_F32 && mm_blas_f32(c, ldc, a, b, M, N, K, nthreads)) return;
    enum CBLAS_TRANSPOSE ta;
    int64_t lda;
    if (blas_layout(M, K, a.rs, a.cs, &ta, &lda)) {
        mm_tiled(c, ldc, a, b, M, N, K, ta, lda, pool, threads_for(nthreads, M * N * K));
        return;
    }
    mm_generic(c, crs, ccs, a, b, M, N, K);
}

/* Folds batch dims into M while b does not move along them and a and dst
 * step through them exactly as one more block of rows. */
static int fold_batch(int nb, const int64_t *shape, const int64_t *as, const int64_t *bs,
                      const int64_t *cs, int64_t *M, int64_t *ars, int64_t *crs) {
    while (nb > 0) {
        int i = nb - 1;
        if (shape[i] != 1) {
            if (bs[i] != 0) break;
            if (*M != 1 && (as[i] != *M * *ars || cs[i] != *M * *crs)) break;
            if (*M == 1) {
                *ars = as[i];
                *crs = cs[i];
            }
            *M *= shape[i];
        }
        nb--;
    }
    return nb;
}

wt_status wt_cpu_matmul(wt_tensor *dst, const wt_tensor *a, const wt_tensor *b, wt_pool *pool) {
    int nd = dst->ndim;
    if (nd < 2 || a->ndim != nd || b->ndim != nd || a->dtype != WT_F32 || dst->dtype != WT_F32 ||
        (b->dtype != WT_F32 && b->dtype != WT_F16 && b->dtype != WT_BF16))
        return wt_error(WT_ERR_INVALID, "cpu matmul: operands must be rank-matched f32 x f32/f16/bf16");
    int64_t M = dst->shape[nd - 2], N = dst->shape[nd - 1], K = a->shape[nd - 1];
    if (wt_numel(dst) == 0) return WT_OK;
    int64_t ars = a->stride[nd - 2], crs = dst->stride[nd - 2];
    int nb = fold_batch(nd - 2, dst->shape, a->stride, b->stride, dst->stride, &M, &ars, &crs);
    size_t bsz = wt_dtype_size(b->dtype);
    int64_t idx[WT_MAX_DIMS] = {0};
    for (;;) {
        int64_t ao = 0, bo = 0, co = 0;
        for (int i = 0; i < nb; i++) {
            ao += idx[i] * a->stride[i];
            bo += idx[i] * b->stride[i];
            co += idx[i] * dst->stride[i];
        }
        mat2d am = {(const float *)a->data + ao, WT_F32, ars, a->stride[nd - 1]};
        mat2d bm = {(const char *)b->data + (size_t)bo * bsz, b->dtype, b->stride[nd - 2],
                    b->stride[nd - 1]};
        mm_2d((float *)dst->data + co, crs, dst->stride[nd - 1], am, bm, M, N, K, pool);
        int i = nb - 1;
        for (; i >= 0; i--) {
            if (++idx[i] < dst->shape[i]) break;
            idx[i] = 0;
        }
        if (i < 0) break;
    }
    return WT_OK;
}
