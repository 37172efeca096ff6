/* cuBLAS emulation for machines without a GPU (tests only).
 * Owns: the subset of the cuBLAS v2 API that backends/cuda calls, with the
 * same names, enums and column-major semantics, so the backend's host code
 * compiles with the host C++ compiler (-DWT_CUDA_EMU) and its GEMMs run as a
 * plain loop with f32 accumulation (CUBLAS_COMPUTE_32F). Each GEMM is
 * enqueued on the handle's stream as one emulated launch, so it runs in
 * stream order and is recorded by a stream capture like any kernel. It
 * never allocates while a GEMM runs and never reads C when beta is 0 (as
 * cuBLAS). The runtime lives in tests/cuda_emu/cublas_emu.cpp. */
#ifndef WT_CUBLAS_EMU_H
#define WT_CUBLAS_EMU_H

#include "kernels/emu/cuda_emu.h"

typedef enum cublasStatus_t {
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_INVALID_VALUE = 7,
    CUBLAS_STATUS_NOT_SUPPORTED = 15,
} cublasStatus_t;

typedef enum cublasOperation_t { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUBLAS_OP_C = 2 } cublasOperation_t;

/* Values as in library_types.h. */
typedef enum cudaDataType_t { CUDA_R_32F = 0, CUDA_R_16F = 2, CUDA_R_16BF = 14 } cudaDataType_t;

typedef enum cublasComputeType_t {
    CUBLAS_COMPUTE_16F = 64,
    CUBLAS_COMPUTE_32F = 68,
    CUBLAS_COMPUTE_32F_FAST_16F = 74,
    CUBLAS_COMPUTE_32F_FAST_16BF = 75,
    CUBLAS_COMPUTE_32F_FAST_TF32 = 77,
} cublasComputeType_t;

typedef enum cublasGemmAlgo_t { CUBLAS_GEMM_DEFAULT = -1, CUBLAS_GEMM_DEFAULT_TENSOR_OP = 99 } cublasGemmAlgo_t;

typedef struct cublasContext *cublasHandle_t;

cublasStatus_t cublasCreate(cublasHandle_t *h);
cublasStatus_t cublasDestroy(cublasHandle_t h);
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s);
cublasStatus_t cublasGetStream(cublasHandle_t h, cudaStream_t *s);

/* C = alpha op(A) op(B) + beta C, column-major, A m x k after op, B k x n. */
cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t opa, cublasOperation_t opb, int m,
                           int n, int k, const float *alpha, const float *A, int lda,
                           const float *B, int ldb, const float *beta, float *C, int ldc);
cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t opa,
                                         cublasOperation_t opb, int m, int n, int k,
                                         const float *alpha, const float *A, int lda,
                                         long long strideA, const float *B, int ldb,
                                         long long strideB, const float *beta, float *C, int ldc,
                                         long long strideC, int batches);
/* Mixed types: A and B of one of f32/f16/bf16, C f32 or of A's type; alpha
 * and beta are floats (compute type 32F). */
cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t opa, cublasOperation_t opb, int m,
                            int n, int k, const void *alpha, const void *A, cudaDataType_t ta,
                            int lda, const void *B, cudaDataType_t tb, int ldb, const void *beta,
                            void *C, cudaDataType_t tc, int ldc, cublasComputeType_t compute,
                            cublasGemmAlgo_t algo);
cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t h, cublasOperation_t opa,
                                          cublasOperation_t opb, int m, int n, int k,
                                          const void *alpha, const void *A, cudaDataType_t ta,
                                          int lda, long long strideA, const void *B,
                                          cudaDataType_t tb, int ldb, long long strideB,
                                          const void *beta, void *C, cudaDataType_t tc, int ldc,
                                          long long strideC, int batches,
                                          cublasComputeType_t compute, cublasGemmAlgo_t algo);

namespace wt_emu {
/* GEMMs run (eagerly or replayed), for tests. */
uint64_t gemms_run();
} // namespace wt_emu

#endif
