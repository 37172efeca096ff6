/* The cuBLAS emulation (see kernels/emu/cublas_emu.h): argument checks as
 * cuBLAS documents them, then a plain column-major loop with f32
 * accumulation, enqueued on the handle's stream as one single-thread launch
 * so stream order and graph capture treat it like a kernel. */
#include "kernels/emu/cublas_emu.h"

#include <cstdlib>

#include "wavetensor/dtype.h"

struct cublasContext {
    cudaStream_t stream = nullptr;
};

namespace {

uint64_t g_gemms = 0;

bool known_type(cudaDataType_t t) { return t == CUDA_R_32F || t == CUDA_R_16F || t == CUDA_R_16BF; }

size_t type_bytes(cudaDataType_t t) { return t == CUDA_R_32F ? 4 : 2; }

float load(const void *p, cudaDataType_t t, int64_t i) {
    switch (t) {
    case CUDA_R_16F: return wt_f16_to_f32(static_cast<const uint16_t *>(p)[i]);
    case CUDA_R_16BF: return wt_bf16_to_f32(static_cast<const uint16_t *>(p)[i]);
    default: return static_cast<const float *>(p)[i];
    }
}

void store(void *p, cudaDataType_t t, int64_t i, float v) {
    switch (t) {
    case CUDA_R_16F: static_cast<uint16_t *>(p)[i] = wt_f32_to_f16(v); break;
    case CUDA_R_16BF: static_cast<uint16_t *>(p)[i] = wt_f32_to_bf16(v); break;
    default: static_cast<float *>(p)[i] = v; break;
    }
}

/* One GEMM's arguments, copied at enqueue time (as cuBLAS reads alpha and
 * beta from host memory when it is called). */
struct gemm_args {
    cublasOperation_t opa, opb;
    int m, n, k;
    float alpha, beta;
    const void *A, *B;
    void *C;
    cudaDataType_t ta, tb, tc;
    int lda, ldb, ldc;
    long long sa, sb, sc;
    int batches;
};

void run_gemm(const gemm_args &g) {
    size_t ea = type_bytes(g.ta), eb = type_bytes(g.tb), ec = type_bytes(g.tc);
    for (int bi = 0; bi < g.batches; bi++) {
        const char *A = static_cast<const char *>(g.A) + (size_t)(bi * g.sa) * ea;
        const char *B = static_cast<const char *>(g.B) + (size_t)(bi * g.sb) * eb;
        char *C = static_cast<char *>(g.C) + (size_t)(bi * g.sc) * ec;
        for (int j = 0; j < g.n; j++)
            for (int i = 0; i < g.m; i++) {
                float acc = 0.0f;
                for (int l = 0; l < g.k; l++) {
                    /* op(A)(i, l) and op(B)(l, j) of the column-major operands */
                    int64_t ai = g.opa == CUBLAS_OP_N ? i + (int64_t)l * g.lda : l + (int64_t)i * g.lda;
                    int64_t bj = g.opb == CUBLAS_OP_N ? l + (int64_t)j * g.ldb : j + (int64_t)l * g.ldb;
                    acc += load(A, g.ta, ai) * load(B, g.tb, bj);
                }
                int64_t ci = i + (int64_t)j * g.ldc;
                float v = g.alpha * acc;
                if (g.beta != 0.0f) v += g.beta * load(C, g.tc, ci); /* beta 0: C is not read */
                store(C, g.tc, ci, v);
            }
    }
    g_gemms++;
}

cublasStatus_t enqueue(cublasHandle_t h, const gemm_args &g) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    int arows = g.opa == CUBLAS_OP_N ? g.m : g.k, brows = g.opb == CUBLAS_OP_N ? g.k : g.n;
    bool ok = g.m >= 0 && g.n >= 0 && g.k >= 0 && g.batches >= 0 && g.opa != CUBLAS_OP_C &&
              g.opb != CUBLAS_OP_C && g.lda >= (arows > 1 ? arows : 1) &&
              g.ldb >= (brows > 1 ? brows : 1) && g.ldc >= (g.m > 1 ? g.m : 1);
    if (!ok) return CUBLAS_STATUS_INVALID_VALUE;
    if (!known_type(g.ta) || !known_type(g.tb) || !known_type(g.tc) || g.ta != g.tb ||
        (g.tc != CUDA_R_32F && g.tc != g.ta))
        return CUBLAS_STATUS_NOT_SUPPORTED;
    if (g.m == 0 || g.n == 0 || g.batches == 0) return CUBLAS_STATUS_SUCCESS;
    cudaError_t e = wt_emu::submit(dim3(1), dim3(1), 0, h->stream, [g]() { run_gemm(g); });
    return e == cudaSuccess ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
}

} // namespace

namespace wt_emu {
uint64_t gemms_run() { return g_gemms; }
} // namespace wt_emu

cublasStatus_t cublasCreate(cublasHandle_t *h) {
    *h = new cublasContext();
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy(cublasHandle_t h) {
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    h->stream = s;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasGetStream(cublasHandle_t h, cudaStream_t *s) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    *s = h->stream;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t opa, cublasOperation_t opb, int m,
                           int n, int k, const float *alpha, const float *A, int lda,
                           const float *B, int ldb, const float *beta, float *C, int ldc) {
    return cublasSgemmStridedBatched(h, opa, opb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C,
                                     ldc, 0, 1);
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t opa,
                                         cublasOperation_t opb, int m, int n, int k,
                                         const float *alpha, const float *A, int lda,
                                         long long strideA, const float *B, int ldb,
                                         long long strideB, const float *beta, float *C, int ldc,
                                         long long strideC, int batches) {
    gemm_args g = {opa, opb, m, n, k, *alpha, *beta, A, B, C, CUDA_R_32F, CUDA_R_32F,
                   CUDA_R_32F, lda, ldb, ldc, strideA, strideB, strideC, batches};
    return enqueue(h, g);
}

cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t opa, cublasOperation_t opb, int m,
                            int n, int k, const void *alpha, const void *A, cudaDataType_t ta,
                            int lda, const void *B, cudaDataType_t tb, int ldb, const void *beta,
                            void *C, cudaDataType_t tc, int ldc, cublasComputeType_t compute,
                            cublasGemmAlgo_t algo) {
    return cublasGemmStridedBatchedEx(h, opa, opb, m, n, k, alpha, A, ta, lda, 0, B, tb, ldb, 0,
                                      beta, C, tc, ldc, 0, 1, compute, algo);
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t h, cublasOperation_t opa,
                                          cublasOperation_t opb, int m, int n, int k,
                                          const void *alpha, const void *A, cudaDataType_t ta,
                                          int lda, long long strideA, const void *B,
                                          cudaDataType_t tb, int ldb, long long strideB,
                                          const void *beta, void *C, cudaDataType_t tc, int ldc,
                                          long long strideC, int batches,
                                          cublasComputeType_t compute, cublasGemmAlgo_t) {
    /* f32 scalars and accumulation only: that is what the backend asks for */
    if (compute != CUBLAS_COMPUTE_32F && compute != CUBLAS_COMPUTE_32F_FAST_16F &&
        compute != CUBLAS_COMPUTE_32F_FAST_16BF && compute != CUBLAS_COMPUTE_32F_FAST_TF32)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    gemm_args g = {opa, opb, m, n, k, *static_cast<const float *>(alpha),
                   *static_cast<const float *>(beta), A, B, C, ta, tb, tc, lda, ldb, ldc,
                   strideA, strideB, strideC, batches};
    return enqueue(h, g);
}
