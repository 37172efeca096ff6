/* The CUDA backend: device memory, one stream, cuBLAS GEMM and the op table
 * mapped onto the kernels (kernels/wt_kernels.h).
 * Owns: device selection (WT_CUDA_DEVICE, default 0), the backend's stream
 * and cuBLAS handle, and a scratch buffer reserved at first use for GEMMs
 * whose weights are f16/bf16 (cuBLAS wants A and B of one type, so the f32
 * activations are converted into it; accumulation stays f32). Ops only
 * launch work on the stream: they never allocate, synchronise or read device
 * memory, so a step made of them can be captured as a CUDA graph. upload and
 * download synchronise (they are setup and result paths, not step paths).
 * The state is process-wide because the op table has no context argument;
 * it is created once, thread-safely (C++ static initialisation).
 * Status: compiles; untested on hardware (the kernels are tested through the
 * emulation in tests/cuda_emu). */
#ifdef WT_CUDA_EMU
/* tests: the same host code over the emulated runtime and cuBLAS (the
 * wrapper in tests/cuda_emu puts this file in a namespace of its own) */
#include "kernels/emu/cublas_emu.h"
#define WT_CUDA_API
#else
#include <cublas_v2.h>
#include <cuda_runtime.h>
#define WT_CUDA_API extern "C"
#endif

#include <stdio.h>
#include <stdlib.h>

#include "backends/cuda/cuda_backend.h"
#include "engine/backend.h"
#include "kernels/wt_kernels.h"

namespace {

constexpr size_t kGemmScratchBytes = (size_t)64 << 20;

struct cuda_state {
    bool ok = false;
    cudaStream_t stream = nullptr;
    cublasHandle_t blas = nullptr;
    void *scratch = nullptr; /* f16/bf16 copy of GEMM activations */
    char why[160] = "";

    cuda_state() {
        int n = 0, dev = 0;
        const char *env = getenv("WT_CUDA_DEVICE");
        if (env) dev = atoi(env);
        cudaError_t e = cudaGetDeviceCount(&n);
        if (e != cudaSuccess || n == 0) {
            snprintf(why, sizeof why, "no CUDA device (%s)", e == cudaSuccess ? "none found" : cudaGetErrorString(e));
            return;
        }
        if (dev < 0 || dev >= n) {
            snprintf(why, sizeof why, "WT_CUDA_DEVICE=%d but %d device(s) present", dev, n);
            return;
        }
        if ((e = cudaSetDevice(dev)) != cudaSuccess ||
            (e = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking)) != cudaSuccess ||
            (e = cudaMalloc(&scratch, kGemmScratchBytes)) != cudaSuccess) {
            snprintf(why, sizeof why, "CUDA setup failed: %s", cudaGetErrorString(e));
            return;
        }
        if (cublasCreate(&blas) != CUBLAS_STATUS_SUCCESS || cublasSetStream(blas, stream) != CUBLAS_STATUS_SUCCESS) {
            snprintf(why, sizeof why, "cuBLAS setup failed");
            return;
        }
        ok = true;
    }
};

cuda_state &state() {
    static cuda_state s;
    return s;
}

void *s_stream() { return state().stream; }

void *cuda_alloc(size_t bytes) {
    void *p = nullptr;
    if (cudaMalloc(&p, bytes ? bytes : 64) != cudaSuccess) return nullptr;
    return p;
}

void cuda_free(void *p) {
    if (p) cudaFree(p);
}

wt_status cuda_upload(void *dst, const void *src, size_t bytes) {
    cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, state().stream);
    if (e == cudaSuccess) e = cudaStreamSynchronize(state().stream);
    return e == cudaSuccess ? WT_OK : wt_error(WT_ERR_IO, "cuda upload of %zu bytes: %s", bytes, cudaGetErrorString(e));
}

wt_status cuda_download(void *dst, const void *src, size_t bytes) {
    cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, state().stream);
    if (e == cudaSuccess) e = cudaStreamSynchronize(state().stream);
    return e == cudaSuccess ? WT_OK : wt_error(WT_ERR_IO, "cuda download of %zu bytes: %s", bytes, cudaGetErrorString(e));
}

wt_status k_fill(wt_tensor *dst, double v) { return wt_k_fill(s_stream(), dst, v); }
wt_status k_copy(wt_tensor *dst, const wt_tensor *src) { return wt_k_copy(s_stream(), dst, src); }
wt_status k_unary(wt_unary_op op, wt_tensor *dst, const wt_tensor *x, float param) {
    return wt_k_unary(s_stream(), op, dst, x, param);
}
wt_status k_binary(wt_binary_op op, wt_tensor *dst, const wt_tensor *a, const wt_tensor *b) {
    return wt_k_binary(s_stream(), op, dst, a, b);
}
wt_status k_affine(wt_tensor *dst, const wt_tensor *x, float scale, float bias) {
    return wt_k_affine(s_stream(), dst, x, scale, bias);
}
wt_status k_index_select(wt_tensor *dst, const wt_tensor *src, int dim, const wt_tensor *idx) {
    return wt_k_index_select(s_stream(), dst, src, dim, idx);
}
wt_status k_scatter_set(wt_tensor *dst, int dim, const wt_tensor *idx, const wt_tensor *src) {
    return wt_k_scatter_set(s_stream(), dst, dim, idx, src);
}
wt_status k_softmax(wt_tensor *dst, const wt_tensor *x, float scale, const wt_tensor *mask,
                    wt_mask_kind kind, int64_t window) {
    return wt_k_softmax(s_stream(), dst, x, scale, mask, kind, window);
}
wt_status k_attention(wt_tensor *dst, const wt_tensor *q, const wt_tensor *k, const wt_tensor *v,
                      const wt_tensor *pos, const wt_tensor *slot_pos, float scale, int64_t window, struct wt_pool *) {
    return wt_k_attention(s_stream(), dst, q, k, v, pos, slot_pos, scale, window, state().scratch,
                          kGemmScratchBytes);
}
wt_status k_rms_norm(wt_tensor *dst, const wt_tensor *x, const wt_tensor *w, float eps) {
    return wt_k_rms_norm(s_stream(), dst, x, w, eps);
}
wt_status k_layer_norm(wt_tensor *dst, const wt_tensor *x, const wt_tensor *w, const wt_tensor *b, float eps) {
    return wt_k_layer_norm(s_stream(), dst, x, w, b, eps);
}
wt_status k_group_norm(wt_tensor *dst, const wt_tensor *x, int groups, const wt_tensor *w,
                       const wt_tensor *b, float eps) {
    return wt_k_group_norm(s_stream(), dst, x, groups, w, b, eps);
}
wt_status k_reduce(wt_reduce_op op, wt_tensor *dst, const wt_tensor *x, int dim) {
    return wt_k_reduce(s_stream(), op, dst, x, dim);
}
wt_status k_rope(wt_tensor *dst, const wt_tensor *x, const wt_tensor *pos, float base, wt_rope_layout layout) {
    return wt_k_rope(s_stream(), dst, x, pos, base, layout);
}
cudaDataType_t blas_type(wt_dtype t);

/* A contiguous [n, rows, cols] tensor of dtype dt over raw device memory. */
wt_tensor raw3(void *data, wt_dtype dt, int64_t n, int64_t rows, int64_t cols) {
    wt_tensor t = {};
    t.dtype = dt;
    t.ndim = 3;
    t.shape[0] = n;
    t.shape[1] = rows;
    t.shape[2] = cols;
    t.stride[2] = 1;
    t.stride[1] = cols;
    t.stride[0] = rows * cols;
    t.data = data;
    return t;
}

/* Batch entries [b0, b0 + n) of a [B, ...] tensor. */
wt_tensor batch_slice(const wt_tensor *t, int64_t b0, int64_t n) {
    wt_tensor v = *t;
    v.shape[0] = n;
    v.data = (char *)t->data + b0 * t->stride[0] * (int64_t)wt_dtype_size(t->dtype);
    return v;
}

/* The GEMM form pays for writing K copies of the input; with few output
 * channels (Demucs' 1-channel resampling filters) the direct kernel reads
 * the input in place and wins. */
bool conv_gemm_ok(const wt_tensor *dst, const wt_tensor *w, int groups) {
    return groups == 1 && dst->shape[1] >= 8 && wt_is_contiguous(w) && dst->stride[2] == 1 &&
           dst->stride[1] >= dst->shape[2];
}

/* conv1d as GEMMs: per batch entry y [Cout, To] = w [Cout, Cin*K] cols [Cin*K, To],
 * the taps laid out by im2col in the scratch (in the weights' dtype: cuBLAS
 * takes one input type, as in k_matmul), as many entries per call as fit;
 * the bias is broadcast into y first and the GEMM adds to it. */
wt_status k_conv1d(wt_tensor *dst, const wt_tensor *x, const wt_tensor *w, const wt_tensor *bias,
                   int stride, int pad_left, int dilation, int groups, struct wt_pool *) {
    cuda_state &st = state();
    int64_t B = dst->shape[0], cout = dst->shape[1], to = dst->shape[2], ck = w->shape[1] * w->shape[2];
    size_t es = wt_dtype_size(w->dtype), item = (size_t)(ck * to) * es;
    int64_t chunk = item ? (int64_t)(kGemmScratchBytes / item) : 0;
    if (!conv_gemm_ok(dst, w, groups) || chunk == 0 || wt_numel(dst) == 0)
        return wt_k_conv1d(st.stream, dst, x, w, bias, stride, pad_left, dilation, groups);
    float beta = 0.0f;
    if (bias) { /* y = bias broadcast over batch and time */
        wt_tensor bv = *dst;
        bv.dtype = bias->dtype;
        bv.data = bias->data;
        bv.stride[0] = 0;
        bv.stride[1] = bias->stride[0];
        bv.stride[2] = 0;
        wt_status ws = wt_k_copy(st.stream, dst, &bv);
        if (ws != WT_OK) return ws;
        beta = 1.0f;
    }
    const float one = 1.0f;
    for (int64_t b0 = 0; b0 < B; b0 += chunk) {
        int64_t n = B - b0 < chunk ? B - b0 : chunk;
        wt_tensor cols = raw3(st.scratch, w->dtype, n, ck, to), xs = batch_slice(x, b0, n);
        wt_status ws = wt_k_im2col(st.stream, &cols, &xs, stride, pad_left, dilation);
        if (ws != WT_OK) return ws;
        /* column-major: y^T [To, Cout] = cols^T [To, CK] w^T [CK, Cout] */
        cublasStatus_t cs = cublasGemmStridedBatchedEx(
            st.blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)to, (int)cout, (int)ck, &one, cols.data,
            blas_type(w->dtype), (int)to, ck * to, w->data, blas_type(w->dtype), (int)ck, 0, &beta,
            (float *)dst->data + b0 * dst->stride[0], CUDA_R_32F, (int)dst->stride[1], dst->stride[0], (int)n,
            CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        if (cs != CUBLAS_STATUS_SUCCESS)
            return wt_error(WT_ERR_UNSUPPORTED, "cuda conv1d: cuBLAS status %d", (int)cs);
    }
    return WT_OK;
}

/* conv_transpose1d as GEMMs: per batch entry cols [Cout*K, T] = w^T [Cout*K, Cin]
 * x [Cin, T] (x converted to the weights' dtype in the scratch when they are
 * f16/bf16), then col2im overlap-adds the taps into y and adds the bias. */
wt_status k_conv_transpose1d(wt_tensor *dst, const wt_tensor *x, const wt_tensor *w,
                             const wt_tensor *bias, int stride, int padding, int dilation, int groups) {
    cuda_state &st = state();
    int64_t B = x->shape[0], cin = x->shape[1], t = x->shape[2], cok = w->shape[1] * w->shape[2];
    bool cast = w->dtype != WT_F32;
    size_t xb = cast ? (size_t)(cin * t) * wt_dtype_size(w->dtype) : 0, item = (size_t)(cok * t) * 4 + xb;
    int64_t chunk = item ? (int64_t)(kGemmScratchBytes / item) : 0;
    if (!conv_gemm_ok(dst, w, groups) || (!cast && (x->stride[2] != 1 || x->stride[1] < t)) || chunk == 0 || wt_numel(dst) == 0)
        return wt_k_conv_transpose1d(st.stream, dst, x, w, bias, stride, padding, dilation, groups);
    const float one = 1.0f, zero = 0.0f;
    for (int64_t b0 = 0; b0 < B; b0 += chunk) {
        int64_t n = B - b0 < chunk ? B - b0 : chunk;
        wt_tensor xs = batch_slice(x, b0, n), ys = batch_slice(dst, b0, n);
        wt_tensor cols = raw3(st.scratch, WT_F32, n, cok, t);
        const void *a = xs.data;
        int64_t lda = xs.stride[1], sa = xs.stride[0];
        if (cast) {
            wt_tensor xc = raw3((char *)st.scratch + (size_t)n * cok * t * 4, w->dtype, n, cin, t);
            wt_status ws = wt_k_copy(st.stream, &xc, &xs);
            if (ws != WT_OK) return ws;
            a = xc.data;
            lda = t;
            sa = cin * t;
        }
        /* column-major: cols^T [T, CoutK] = x^T [T, Cin] w [Cin, CoutK] */
        cublasStatus_t cs = cublasGemmStridedBatchedEx(
            st.blas, CUBLAS_OP_N, CUBLAS_OP_T, (int)t, (int)cok, (int)cin, &one, a, blas_type(w->dtype),
            (int)lda, sa, w->data, blas_type(w->dtype), (int)cok, 0, &zero, cols.data, CUDA_R_32F, (int)t,
            cok * t, (int)n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        if (cs != CUBLAS_STATUS_SUCCESS)
            return wt_error(WT_ERR_UNSUPPORTED, "cuda conv_transpose1d: cuBLAS status %d", (int)cs);
        wt_status ws = wt_k_col2im(st.stream, &ys, &cols, bias, stride, padding, dilation);
        if (ws != WT_OK) return ws;
    }
    return WT_OK;
}
wt_status k_glu(wt_tensor *dst, const wt_tensor *x, int dim) { return wt_k_glu(s_stream(), dst, x, dim); }
wt_status k_pad(wt_tensor *dst, const wt_tensor *x, int dim, int64_t left, wt_pad_mode mode, double value) {
    return wt_k_pad(s_stream(), dst, x, dim, left, mode, value);
}

/* A row-major [R, C] slice as cuBLAS's column-major operand: unit stride on
 * C is a plain matrix (ld = row stride), unit stride on R a transposed one. */
bool as_blas(int64_t rs, int64_t cs, int64_t rows, int64_t cols, cublasOperation_t *op, int64_t *ld) {
    if (cs == 1 && (rs >= cols || rows == 1)) {
        *op = CUBLAS_OP_N;
        *ld = rs > cols ? rs : cols;
        return true;
    }
    if (rs == 1 && (cs >= rows || cols == 1)) {
        *op = CUBLAS_OP_T;
        *ld = cs > rows ? cs : rows;
        return true;
    }
    return false;
}

cudaDataType_t blas_type(wt_dtype t) {
    return t == WT_F16 ? CUDA_R_16F : t == WT_BF16 ? CUDA_R_16BF : CUDA_R_32F;
}

/* The element stride between consecutive flat batch indices of t's leading
 * dims (shapes of `shp`), when one stride walks them all (contiguous
 * leading dims, or stride 0 throughout for a shared operand). */
bool batch_stride(const wt_tensor *t, const wt_tensor *shp, int64_t *out) {
    int nd = shp->ndim;
    int64_t s = -1;
    for (int d = nd - 3; d >= 0; d--) {
        if (shp->shape[d] == 1) continue;
        if (s < 0) {
            s = t->stride[d];
            *out = s;
        } else if (t->stride[d] != s) {
            return false;
        }
        s *= shp->shape[d];
    }
    if (s < 0) *out = 0;
    return true;
}

/* dst [.., M, N] = a [.., M, K] x b [.., K, N]: row-major C = A B is
 * column-major C^T = B^T A^T, so cuBLAS gets (b, a) with m = N, n = M. */
wt_status k_matmul(wt_tensor *dst, const wt_tensor *a, const wt_tensor *b, struct wt_pool *) {
    cuda_state &st = state();
    int nd = dst->ndim;
    int64_t m = a->shape[nd - 2], k = a->shape[nd - 1], n = b->shape[nd - 1];
    if (dst->stride[nd - 1] != 1 || dst->stride[nd - 2] < n)
        return wt_error(WT_ERR_UNSUPPORTED, "cuda matmul: the output must have contiguous rows");
    int64_t batches = 1;
    for (int d = 0; d < nd - 2; d++) batches *= dst->shape[d];
    /* a few rows times a weight matrix stored [N, K] (b is its transposed
     * view): the bandwidth-bound product, with f32 activations kept */
    if (batches == 1 && m <= 8 && b->stride[nd - 2] == 1 && b->stride[nd - 1] >= k &&
        a->stride[nd - 1] == 1 && a->stride[nd - 2] >= k)
        return wt_k_gemv(st.stream, (float *)dst->data, dst->stride[nd - 2], (const float *)a->data,
                         a->stride[nd - 2], b->data, b->dtype, b->stride[nd - 1], (int)m, n, k);
    const wt_tensor *aa = a;
    wt_tensor conv;
    if (b->dtype != WT_F32) { /* cuBLAS needs one input type: a in b's dtype, in the scratch */
        if ((size_t)wt_numel(a) * 2 > kGemmScratchBytes)
            return wt_error(WT_ERR_UNSUPPORTED, "cuda matmul: activations exceed the %zu-byte scratch", kGemmScratchBytes);
        conv = *a;
        conv.dtype = b->dtype;
        conv.data = st.scratch;
        int64_t s = 1;
        for (int d = nd - 1; d >= 0; d--) {
            conv.stride[d] = s;
            s *= a->shape[d];
        }
        wt_status ws = wt_k_copy(st.stream, &conv, a);
        if (ws != WT_OK) return ws;
        aa = &conv;
    }
    cublasOperation_t opa, opb;
    int64_t lda, ldb;
    if (!as_blas(b->stride[nd - 2], b->stride[nd - 1], k, n, &opb, &ldb) ||
        !as_blas(aa->stride[nd - 2], aa->stride[nd - 1], m, k, &opa, &lda))
        return wt_error(WT_ERR_UNSUPPORTED, "cuda matmul: operands need unit stride in one of the last two dims");
    /* row-major op N on b is column-major [N, K] with op N, and likewise for a */
    size_t ea = wt_dtype_size(aa->dtype), eb = wt_dtype_size(b->dtype);
    const float one = 1.0f, zero = 0.0f;
    int64_t sa, sb, sd;
    if (batches > 1 && batch_stride(aa, dst, &sa) && batch_stride(b, dst, &sb) && batch_stride(dst, dst, &sd)) {
        /* one call for every batch (heads of an attention, stacked streams) */
        cublasStatus_t cs = cublasGemmStridedBatchedEx(
            st.blas, opb, opa, (int)n, (int)m, (int)k, &one, b->data, blas_type(b->dtype), (int)ldb, sb,
            aa->data, blas_type(aa->dtype), (int)lda, sa, &zero, dst->data, CUDA_R_32F,
            (int)dst->stride[nd - 2], sd, (int)batches, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        if (cs != CUBLAS_STATUS_SUCCESS)
            return wt_error(WT_ERR_UNSUPPORTED, "cuda matmul: cuBLAS status %d", (int)cs);
        return WT_OK;
    }
    for (int64_t bi = 0; bi < batches; bi++) {
        int64_t rem = bi, oa = 0, ob = 0, od = 0;
        for (int d = nd - 3; d >= 0; d--) {
            int64_t c = rem % dst->shape[d];
            rem /= dst->shape[d];
            oa += c * aa->stride[d];
            ob += c * b->stride[d];
            od += c * dst->stride[d];
        }
        cublasStatus_t cs = cublasGemmEx(
            st.blas, opb, opa, (int)n, (int)m, (int)k, &one, (const char *)b->data + ob * (int64_t)eb,
            blas_type(b->dtype), (int)ldb, (const char *)aa->data + oa * (int64_t)ea, blas_type(aa->dtype),
            (int)lda, &zero, (float *)dst->data + od, CUDA_R_32F, (int)dst->stride[nd - 2],
            CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        if (cs != CUBLAS_STATUS_SUCCESS)
            return wt_error(WT_ERR_UNSUPPORTED, "cuda matmul: cuBLAS status %d", (int)cs);
    }
    return WT_OK;
}

wt_status k_sync();
wt_status k_capture_begin();
void *k_capture_end();
wt_status k_graph_launch(void *g);
void k_graph_free(void *g);

wt_backend make_table() {
    wt_backend b = {};
    b.name = "cuda";
    b.host = false;
    b.sync = k_sync;
    b.capture_begin = k_capture_begin;
    b.capture_end = k_capture_end;
    b.graph_launch = k_graph_launch;
    b.graph_free = k_graph_free;
    b.alloc = cuda_alloc;
    b.free = cuda_free;
    b.upload = cuda_upload;
    b.download = cuda_download;
    b.fill = k_fill;
    b.copy = k_copy;
    b.unary = k_unary;
    b.binary = k_binary;
    b.affine = k_affine;
    b.matmul = k_matmul;
    b.index_select = k_index_select;
    b.scatter_set = k_scatter_set;
    b.softmax = k_softmax;
    b.attention = k_attention;
    b.rms_norm = k_rms_norm;
    b.layer_norm = k_layer_norm;
    b.group_norm = k_group_norm;
    b.reduce = k_reduce;
    b.rope = k_rope;
    b.conv1d = k_conv1d;
    b.conv_transpose1d = k_conv_transpose1d;
    b.glu = k_glu;
    b.pad = k_pad;
    return b;
}

} // namespace

WT_CUDA_API const wt_backend *wt_cuda_backend(void) {
    static const wt_backend table = make_table();
    if (!state().ok) {
        wt_error(WT_ERR_UNSUPPORTED, "cuda backend: %s", state().why);
        return nullptr;
    }
    return &table;
}

WT_CUDA_API void *wt_cuda_stream(void) { return state().ok ? state().stream : nullptr; }

WT_CUDA_API wt_status wt_cuda_sync(void) {
    if (!state().ok) return wt_error(WT_ERR_UNSUPPORTED, "cuda backend: %s", state().why);
    cudaError_t e = cudaStreamSynchronize(state().stream);
    if (e == cudaSuccess) e = cudaGetLastError();
    return e == cudaSuccess ? WT_OK : wt_error(WT_ERR_IO, "cuda: %s", cudaGetErrorString(e));
}

struct wt_cuda_graph {
    cudaGraph_t graph;
    cudaGraphExec_t exec;
};

/* Global mode: any allocation or synchronisation anywhere in the process
 * while the step is recorded spoils the capture, which is the rule a
 * static step must follow. */
WT_CUDA_API wt_status wt_cuda_capture_begin(void) {
    if (!state().ok) return wt_error(WT_ERR_UNSUPPORTED, "cuda backend: %s", state().why);
    cudaError_t e = cudaStreamBeginCapture(state().stream, cudaStreamCaptureModeGlobal);
    return e == cudaSuccess ? WT_OK : wt_error(WT_ERR_UNSUPPORTED, "cuda capture: %s", cudaGetErrorString(e));
}

WT_CUDA_API wt_cuda_graph *wt_cuda_capture_end(void) {
    if (!state().ok) {
        wt_error(WT_ERR_UNSUPPORTED, "cuda backend: %s", state().why);
        return nullptr;
    }
    cudaGraph_t g = nullptr;
    cudaGraphExec_t x = nullptr;
    cudaError_t e = cudaStreamEndCapture(state().stream, &g);
    if (e == cudaSuccess) e = cudaGraphInstantiate(&x, g, 0);
    wt_cuda_graph *r = e == cudaSuccess ? static_cast<wt_cuda_graph *>(malloc(sizeof *r)) : nullptr;
    if (!r) {
        if (x) cudaGraphExecDestroy(x);
        if (g) cudaGraphDestroy(g);
        cudaGetLastError(); /* the failure is reported here, not by the next op */
        wt_error(e == cudaSuccess ? WT_ERR_NOMEM : WT_ERR_UNSUPPORTED,
                 "cuda capture: %s (a captured step must not allocate, synchronise or read device memory)",
                 e == cudaSuccess ? "out of memory" : cudaGetErrorString(e));
        return nullptr;
    }
    r->graph = g;
    r->exec = x;
    return r;
}

WT_CUDA_API wt_status wt_cuda_graph_launch(wt_cuda_graph *g) {
    cudaError_t e = cudaGraphLaunch(g->exec, state().stream);
    return e == cudaSuccess ? WT_OK : wt_error(WT_ERR_IO, "cuda graph launch: %s", cudaGetErrorString(e));
}

WT_CUDA_API void wt_cuda_graph_free(wt_cuda_graph *g) {
    if (!g) return;
    cudaGraphExecDestroy(g->exec);
    cudaGraphDestroy(g->graph);
    free(g);
}

namespace {
wt_status k_sync() { return wt_cuda_sync(); }
wt_status k_capture_begin() { return wt_cuda_capture_begin(); }
void *k_capture_end() { return wt_cuda_capture_end(); }
wt_status k_graph_launch(void *g) { return wt_cuda_graph_launch(static_cast<wt_cuda_graph *>(g)); }
void k_graph_free(void *g) { wt_cuda_graph_free(static_cast<wt_cuda_graph *>(g)); }
} // namespace
