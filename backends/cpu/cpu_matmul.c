/* CPU matrix product: dst [.., M, N] f32 = a [.., M, K] f32 x b [.., K, N]
 * (f32, f16 or bf16), f32 accumulation.
 *
 * Every 2-D slice is classified by its strides, never copied: a slice whose
 * rows or columns are contiguous is handed to OpenBLAS as is (a transposed
 * view becomes CblasTrans). Half-precision weights have their own kernels:
 * the decode case y = x W^T (W [N, K] rows contiguous, few rows of x) is dot
 * products of x with W's rows, four rows at a time, converting on the fly;
 * larger products convert W in small stack tiles and run sgemm on each tile.
 * Slices with strides BLAS cannot describe (stride-0 rows, non-unit strides on
 * both axes) take a plain loop. Nothing here allocates: tiles live on the
 * stack. Batch dims that only a and dst walk through (b broadcast, as for a
 * linear layer over [B, T, K]) are folded into M so they become one GEMM. */
#include <cblas.h>
#include <limits.h>
#include <string.h>

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

/* Rows of x below which half-precision weights use the dot kernel rather
 * than tile conversion + sgemm (the kernel re-reads W per row of x). */
#define WT_MM_DOT_MAX_M 4
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

/* ---- half weights, few rows: dot products with contiguous rows of W ---- */

/* Four dot products of x [K] with rows w0..w3 (dtype dt, contiguous). */
static void dot4_half(const float *x, const uint16_t *w0, const uint16_t *w1, const uint16_t *w2,
                      const uint16_t *w3, int64_t K, wt_dtype dt, float out[4]) {
    int64_t k = 0;
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#ifdef WT_MM_AVX2
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    if (dt == WT_BF16) {
#define WT_BF16X8(p) \
    _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(p))), 16))
        for (; k + 8 <= K; k += 8) {
            __m256 xv = _mm256_loadu_ps(x + k);
            a0 = _mm256_fmadd_ps(WT_BF16X8(w0 + k), xv, a0);
            a1 = _mm256_fmadd_ps(WT_BF16X8(w1 + k), xv, a1);
            a2 = _mm256_fmadd_ps(WT_BF16X8(w2 + k), xv, a2);
            a3 = _mm256_fmadd_ps(WT_BF16X8(w3 + k), xv, a3);
        }
#undef WT_BF16X8
    } else {
#define WT_F16X8(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
        for (; k + 8 <= K; k += 8) {
            __m256 xv = _mm256_loadu_ps(x + k);
            a0 = _mm256_fmadd_ps(WT_F16X8(w0 + k), xv, a0);
            a1 = _mm256_fmadd_ps(WT_F16X8(w1 + k), xv, a1);
            a2 = _mm256_fmadd_ps(WT_F16X8(w2 + k), xv, a2);
            a3 = _mm256_fmadd_ps(WT_F16X8(w3 + k), xv, a3);
        }
#undef WT_F16X8
    }
    /* horizontal sums of the four accumulators at once */
    __m256 h01 = _mm256_hadd_ps(a0, a1), h23 = _mm256_hadd_ps(a2, a3);
    __m256 h = _mm256_hadd_ps(h01, h23); /* [s0 s1 s2 s3 | s0 s1 s2 s3] halves */
    __m128 r = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    float t[4];
    _mm_storeu_ps(t, r);
    s0 = t[0];
    s1 = t[1];
    s2 = t[2];
    s3 = t[3];
#endif
    for (; k < K; k++) {
        float xv = x[k];
        s0 += xv * half_elem(w0, dt, k);
        s1 += xv * half_elem(w1, dt, k);
        s2 += xv * half_elem(w2, dt, k);
        s3 += xv * half_elem(w3, dt, k);
    }
    out[0] = s0;
    out[1] = s1;
    out[2] = s2;
    out[3] = s3;
}

#if defined(WT_MM_AVX2) && defined(__AVX512F__)
#define WT_MM_ROWS 8
/* Eight dot products of x [K] with rows w + r*ldw: eight weight streams in
 * flight keep the memory system busy, which is what a mat-vec is bound by. */
static void dot8_half(const float *x, const uint16_t *w, int64_t ldw, int64_t K, wt_dtype dt,
                      float *out) {
    __m512 acc[8];
    for (int r = 0; r < 8; r++) acc[r] = _mm512_setzero_ps();
    int64_t k = 0;
    if (dt == WT_BF16) {
        for (; k + 16 <= K; k += 16) {
            __m512 xv = _mm512_loadu_ps(x + k);
            for (int r = 0; r < 8; r++) {
                __m256i h = _mm256_loadu_si256((const __m256i *)(w + r * ldw + k));
                __m512 wv = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
                acc[r] = _mm512_fmadd_ps(wv, xv, acc[r]);
            }
        }
    } else {
        for (; k + 16 <= K; k += 16) {
            __m512 xv = _mm512_loadu_ps(x + k);
            for (int r = 0; r < 8; r++) {
                __m256i h = _mm256_loadu_si256((const __m256i *)(w + r * ldw + k));
                acc[r] = _mm512_fmadd_ps(_mm512_cvtph_ps(h), xv, acc[r]);
            }
        }
    }
    for (int r = 0; r < 8; r++) {
        float s = _mm512_reduce_add_ps(acc[r]);
        for (int64_t kk = k; kk < K; kk++) s += x[kk] * half_elem(w + r * ldw, dt, kk);
        out[r] = s;
    }
}
#else
#define WT_MM_ROWS 4
#endif

static float dot1_half(const float *x, const uint16_t *w, int64_t K, wt_dtype dt) {
    float o[4];
    dot4_half(x, w, w, w, w, K, dt, o);
    return o[0];
}

typedef struct {
    float *c;
    int64_t ldc;
    const float *a;
    int64_t lda;
    const uint16_t *w; /* row n of W (column n of b) at w + n * ldw */
    int64_t ldw;
    wt_dtype dt;
    int64_t M, K;
} dot_job;

static void dot_rows(void *arg, int64_t n0, int64_t n1) {
    const dot_job *j = arg;
    int64_t n = n0;
#if WT_MM_ROWS == 8
    for (; n + 8 <= n1; n += 8) {
        const uint16_t *w = j->w + n * j->ldw;
        for (int64_t m = 0; m < j->M; m++)
            dot8_half(j->a + m * j->lda, w, j->ldw, j->K, j->dt, j->c + m * j->ldc + n);
    }
#endif
    for (; n + 4 <= n1; n += 4) {
        const uint16_t *w = j->w + n * j->ldw;
        for (int64_t m = 0; m < j->M; m++)
            dot4_half(j->a + m * j->lda, w, w + j->ldw, w + 2 * j->ldw, w + 3 * j->ldw, j->K, j->dt,
                      j->c + m * j->ldc + n);
    }
    for (; n < n1; n++)
        for (int64_t m = 0; m < j->M; m++)
            j->c[m * j->ldc + n] = dot1_half(j->a + m * j->lda, j->w + n * j->ldw, j->K, j->dt);
}

/* ---- half weights, n-contiguous rows of b: axpy over columns ---- */

typedef struct {
    float *c;
    int64_t ldc;
    const float *a;
    int64_t lda;
    const uint16_t *b; /* row k of b at b + k * ldb, contiguous along n */
    int64_t ldb;
    wt_dtype dt;
    int64_t M, K;
} axpy_job;

static void axpy_cols(void *arg, int64_t n0, int64_t n1) {
    const axpy_job *j = arg;
    for (int64_t m = 0; m < j->M; m++) {
        float *c = j->c + m * j->ldc;
        for (int64_t n = n0; n < n1; n++) c[n] = 0;
        for (int64_t k = 0; k < j->K; k++) {
            float av = j->a[m * j->lda + k];
            const uint16_t *br = j->b + k * j->ldb;
            if (j->dt == WT_BF16)
                for (int64_t n = n0; n < n1; n++) c[n] += av * bf16_to_f32(br[n]);
            else
                for (int64_t n = n0; n < n1; n++) c[n] += av * half_elem(br, WT_F16, n);
        }
    }
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
                     enum CBLAS_TRANSPOSE ta, int64_t lda, int nthreads) {
    tiled_job j = {c, ldc, a, b, M, N, K, lda, ta};
    blas_threads(1);
    wt_cpu_parallel_for(nthreads, N, WT_MM_TILE_N, tiled_cols, &j);
}

static int threads_for(int nthreads, int64_t work) {
    int64_t most = work / WT_MM_MIN_WORK_PER_THREAD;
    if (most < 1) most = 1;
    return nthreads < most ? nthreads : (int)most;
}

/* One 2-D product; dst slice c is [M, N] with row stride crs, column stride ccs. */
static void mm_2d(float *c, int64_t crs, int64_t ccs, mat2d a, mat2d b, int64_t M, int64_t N,
                  int64_t K, int nthreads) {
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
    if (b.dt == WT_F32 && mm_blas_f32(c, ldc, a, b, M, N, K, nthreads)) return;
    const float *ap = a.p;
    int a_rows = a.cs == 1 || K == 1; /* rows of a contiguous */
    if (b.dt != WT_F32 && M <= WT_MM_DOT_MAX_M && a_rows) {
        int nt = threads_for(nthreads, M * N * K);
        int64_t lda = M == 1 ? K : a.rs;
        if (b.rs == 1 || K == 1) { /* W = b^T has contiguous rows */
            dot_job j = {c, ldc, ap, lda, b.p, b.cs, b.dt, M, K};
            wt_cpu_parallel_for(nt, N, WT_MM_ROWS, dot_rows, &j);
            return;
        }
        if (b.cs == 1) {
            axpy_job j = {c, ldc, ap, lda, b.p, b.rs, b.dt, M, K};
            wt_cpu_parallel_for(nt, N, 16, axpy_cols, &j);
            return;
        }
    }
    enum CBLAS_TRANSPOSE ta;
    int64_t lda;
    if (blas_layout(M, K, a.rs, a.cs, &ta, &lda)) {
        mm_tiled(c, ldc, a, b, M, N, K, ta, lda, threads_for(nthreads, M * N * K));
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

wt_status wt_cpu_matmul(wt_tensor *dst, const wt_tensor *a, const wt_tensor *b, int nthreads) {
    int nd = dst->ndim;
    if (nd < 2 || a->ndim != nd || b->ndim != nd || a->dtype != WT_F32 || dst->dtype != WT_F32 ||
        (b->dtype != WT_F32 && b->dtype != WT_F16 && b->dtype != WT_BF16))
        return wt_error(WT_ERR_INVALID, "cpu matmul: operands must be rank-matched f32 x f32/f16/bf16");
    if (nthreads < 1) nthreads = 1;
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
        mm_2d((float *)dst->data + co, crs, dst->stride[nd - 1], am, bm, M, N, K, nthreads);
        int i = nb - 1;
        for (; i >= 0; i--) {
            if (++idx[i] < dst->shape[i]) break;
            idx[i] = 0;
        }
        if (i < 0) break;
    }
    return WT_OK;
}
