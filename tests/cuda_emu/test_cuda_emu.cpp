/* Every CUDA kernel (the kernels/ .cu files) run through the fiber emulation and
 * compared with the CPU backend's ops on random inputs of several shapes,
 * including sizes that do not divide the block size and strided views; the
 * error bound is normalised (sum (y - ref)^2 / sum ref^2, as ggml's
 * test-backend-ops). Also the emulator itself (barriers, shuffles, capture
 * rules) and graph record-and-replay of a streaming step against eager runs.
 * Emulated device memory is host memory, so CPU tensors are handed straight
 * to the kernels. */
#include "engine/backend.h"

namespace wt_emu_kernels {
#include "kernels/wt_kernels.h"
#include "backends/cuda/cuda_backend.h"
}

#include "kernels/common.cuh"
#include "kernels/emu/cublas_emu.h"

#include <cmath>
#include <vector>

extern "C" {
#include "wt_test.h"
}

namespace K = wt_emu_kernels;

namespace {

/* Bounds on the normalised squared error: elementwise ops differ from the CPU
 * only by libm ulps; reductions add f32-vs-f64 accumulation. */
constexpr double kEltBound = 1e-10;
constexpr double kRedBound = 1e-9;

wt_tensor *empty_like(wt_ctx *c, const wt_tensor *t, wt_dtype dt = WT_F32) {
    return wt_tensor_new(c, dt, t->ndim, t->shape);
}

/* sum (a - ref)^2 / sum ref^2 over the logical elements (any strides);
 * infinity when shapes differ or a value is NaN where ref is not. */
double nmse(const wt_tensor *a, const wt_tensor *ref) {
    if (!a || !ref || a->ndim != ref->ndim) return INFINITY;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != ref->shape[d]) return INFINITY;
    double num = 0, den = 0;
    int64_t n = wt_numel(ref);
    for (int64_t i = 0; i < n; i++) {
        double x = wt_get_flat(a, i), y = wt_get_flat(ref, i);
        if (x == y || (std::isnan(y) && std::isnan(x))) continue; /* also equal infinities */
        double d = x - y;
        num += d * d;
        den += y * y;
    }
    if (std::isnan(num)) return INFINITY;
    return den > 0 ? num / den : num;
}

/* Exact equality of every element (as doubles; NaN equals NaN). */
bool same_values(const wt_tensor *a, const wt_tensor *ref) {
    if (nmse(a, ref) == INFINITY) return false;
    int64_t n = wt_numel(ref);
    for (int64_t i = 0; i < n; i++) {
        double x = wt_get_flat(a, i), y = wt_get_flat(ref, i);
        if (!(x == y || (std::isnan(x) && std::isnan(y)))) return false;
    }
    return true;
}

struct fixture {
    wt_ctx *ctx;
    wt_test_rng rng;
    fixture(uint64_t seed) : ctx(wt_ctx_new_heap(NULL)) { wt_test_rng_seed(&rng, seed); }
    ~fixture() { wt_ctx_free(ctx); }
};

const std::vector<std::vector<int64_t>> kShapes = {{1}, {7}, {33, 5}, {3, 129, 2}, {2, 3, 300}};

wt_tensor *rand_shape(fixture &f, const std::vector<int64_t> &s, float lo = -2.0f, float hi = 2.0f) {
    wt_tensor *t = wt_tensor_new(f.ctx, WT_F32, (int)s.size(), s.data());
    if (t) wt_test_fill_uniform(t, &f.rng, lo, hi);
    return t;
}

} // namespace

/* ---- the emulator itself ---- */

__global__ void emu_probe_kernel(int *out, float *sums, unsigned *ballots) {
    __shared__ int order[64];
    __shared__ float red[32];
    int t = threadIdx.x;
    /* write, barrier, read a neighbour: wrong without a real barrier */
    order[t] = t * 3 + (int)blockIdx.x;
    __syncthreads();
    out[blockIdx.x * blockDim.x + t] = order[(t + 1) % blockDim.x];
    float s = wt_block_sum((float)(t + 1), red);
    if (t == 0) sums[blockIdx.x] = s;
    unsigned b = __ballot_sync(WT_FULL_MASK, t % 3 == 0);
    if ((t & 31) == 0) ballots[blockIdx.x * 2 + t / 32] = b;
    float down = __shfl_down_sync(WT_FULL_MASK, (float)t, 5);
    if (t == 30) sums[gridDim.x + blockIdx.x] = down; /* lane 30 + 5 is past the warp: own value */
    atomicAdd(out + gridDim.x * blockDim.x, 1);
}

START_TEST(test_emu_primitives) {
    std::vector<int> out(3 * 64 + 1, 0);
    std::vector<float> sums(6, 0);
    std::vector<unsigned> ballots(6, 0);
    WT_LAUNCH(emu_probe_kernel, 3, 64, 0, (cudaStream_t)NULL, out.data(), sums.data(), ballots.data());
    ck_assert_int_eq(cudaGetLastError(), cudaSuccess);
    for (int b = 0; b < 3; b++) {
        for (int t = 0; t < 64; t++) ck_assert_int_eq(out[b * 64 + t], ((t + 1) % 64) * 3 + b);
        ck_assert_float_eq(sums[b], 64.0f * 65.0f / 2.0f);
        ck_assert_float_eq(sums[3 + b], 30.0f);
        unsigned want = 0;
        for (int l = 0; l < 32; l++)
            if (l % 3 == 0) want |= 1u << l;
        ck_assert_uint_eq(ballots[b * 2], want);
        want = 0;
        for (int l = 0; l < 32; l++)
            if ((l + 32) % 3 == 0) want |= 1u << l;
        ck_assert_uint_eq(ballots[b * 2 + 1], want);
    }
    ck_assert_int_eq(out[3 * 64], 3 * 64);
    /* a block larger than the hardware allows is a launch error */
    WT_LAUNCH(emu_probe_kernel, 1, 2048, 0, (cudaStream_t)NULL, out.data(), sums.data(), ballots.data());
    ck_assert_int_eq(cudaGetLastError(), cudaErrorInvalidConfiguration);
}
END_TEST

/* ---- copy.cu ---- */

START_TEST(test_emu_fill_copy_cast) {
    fixture f(11);
    const wt_dtype dts[] = {WT_F32, WT_F16, WT_BF16, WT_I64, WT_U8};
    int bad = 0;
    for (const auto &s : kShapes) {
        wt_tensor *x = rand_shape(f, s, -300.0f, 300.0f);
        /* include values that round at the f16 subnormal and overflow edges */
        wt_set_flat(x, 0, 65519.0);
        if (wt_numel(x) > 1) wt_set_flat(x, 1, 3.0e-8);
        for (wt_dtype a : dts) {
            wt_tensor *xa = wt_to_dtype(f.ctx, x, a);
            for (wt_dtype b : dts) {
                wt_tensor *ref = wt_to_dtype(f.ctx, xa, b);
                wt_tensor *got = empty_like(f.ctx, xa, b);
                bad += K::wt_k_copy(NULL, got, xa) != WT_OK;
                bad += !same_values(got, ref);
            }
            wt_tensor *g = empty_like(f.ctx, xa, a), *r = empty_like(f.ctx, xa, a);
            wt_fill_(f.ctx, r, -2.75);
            bad += K::wt_k_fill(NULL, g, -2.75) != WT_OK;
            bad += !same_values(g, r);
        }
        /* strided source (transposed) and broadcast source (stride 0) */
        if (s.size() >= 2) {
            wt_tensor *xt = wt_transpose(f.ctx, x, 0, -1);
            wt_tensor *ref = wt_contiguous(f.ctx, xt), *got = empty_like(f.ctx, xt);
            bad += K::wt_k_copy(NULL, got, xt) != WT_OK;
            bad += !same_values(got, ref);
            wt_tensor *row = wt_narrow(f.ctx, x, 0, 0, 1);
            wt_tensor *bc = wt_broadcast_to(f.ctx, row, x->ndim, x->shape);
            ref = wt_contiguous(f.ctx, bc);
            got = empty_like(f.ctx, x);
            bad += K::wt_k_copy(NULL, got, bc) != WT_OK;
            bad += !same_values(got, ref);
        }
    }
    ck_assert_int_eq(wt_ctx_status(f.ctx), WT_OK);
    ck_assert_int_eq(bad, 0);
}
END_TEST

START_TEST(test_emu_pad) {
    fixture f(12);
    int bad = 0;
    for (const auto &s : kShapes) {
        wt_tensor *x = rand_shape(f, s);
        for (int dim = 0; dim < (int)s.size(); dim++) {
            int64_t n = s[dim];
            for (int mode = 0; mode < 3; mode++) {
                int64_t l = mode == WT_PAD_REFLECT ? (n > 1 ? n - 1 : 0) : 3, r = mode == WT_PAD_REFLECT ? (n > 2 ? 1 : 0) : 2;
                wt_tensor *ref = wt_pad(f.ctx, x, dim, l, r, (wt_pad_mode)mode, 1.5);
                wt_tensor *got = empty_like(f.ctx, ref);
                bad += K::wt_k_pad(NULL, got, x, dim, l, (wt_pad_mode)mode, 1.5) != WT_OK;
                bad += !same_values(got, ref);
            }
        }
    }
    ck_assert_int_eq(wt_ctx_status(f.ctx), WT_OK);
    ck_assert_int_eq(bad, 0);
}
END_TEST

/* ---- elementwise.cu ---- */

START_TEST(test_emu_unary_binary_affine_glu) {
    fixture f(13);
    double worst = 0;
    int bad = 0;
    for (const auto &s : kShapes) {
        for (int op = 0; op < WT_UNARY_COUNT; op++) {
            bool pos = op == WT_UNARY_LOG || op == WT_UNARY_SQRT || op == WT_UNARY_RSQRT || op == WT_UNARY_RECIP;
            wt_tensor *x = rand_shape(f, s, pos ? 0.1f : -3.0f, 3.0f);
            wt_tensor *ref = wt_unary(f.ctx, (wt_unary_op)op, x, 0.7f), *got = empty_like(f.ctx, x);
            bad += K::wt_k_unary(NULL, (wt_unary_op)op, got, x, 0.7f) != WT_OK;
            worst = std::fmax(worst, nmse(got, ref));
        }
        wt_tensor *a = rand_shape(f, s);
        /* b broadcast along the first dim (stride 0), as the front-end hands it over */
        std::vector<int64_t> bs(s);
        bs[0] = 1;
        wt_tensor *b = rand_shape(f, bs, 0.5f, 2.0f);
        wt_tensor *bb = wt_broadcast_to(f.ctx, b, a->ndim, a->shape);
        for (int op = 0; op < WT_BINARY_COUNT; op++) {
            wt_tensor *ref = wt_binary(f.ctx, (wt_binary_op)op, a, b), *got = empty_like(f.ctx, a);
            bad += K::wt_k_binary(NULL, (wt_binary_op)op, got, a, bb) != WT_OK;
            worst = std::fmax(worst, nmse(got, ref));
        }
        wt_tensor *ref = wt_affine(f.ctx, a, -1.25f, 0.5f), *got = empty_like(f.ctx, a);
        bad += K::wt_k_affine(NULL, got, a, -1.25f, 0.5f) != WT_OK;
        worst = std::fmax(worst, nmse(got, ref));
        for (int dim = 0; dim < (int)s.size(); dim++) {
            if (s[dim] % 2) continue;
            ref = wt_glu(f.ctx, a, dim);
            got = empty_like(f.ctx, ref);
            bad += K::wt_k_glu(NULL, got, a, dim) != WT_OK;
            worst = std::fmax(worst, nmse(got, ref));
        }
        if (s.size() >= 2) { /* strided input */
            wt_tensor *at = wt_transpose(f.ctx, a, 0, -1);
            ref = wt_unary(f.ctx, WT_UNARY_TANH, at, 0);
            got = empty_like(f.ctx, at);
            bad += K::wt_k_unary(NULL, WT_UNARY_TANH, got, at, 0) != WT_OK;
            worst = std::fmax(worst, nmse(got, ref));
        }
    }
    ck_assert_int_eq(wt_ctx_status(f.ctx), WT_OK);
    ck_assert_int_eq(bad, 0);
    ck_assert_msg(worst <= kEltBound, "elementwise nmse %g", worst);
}
END_TEST

/* ---- index.cu ---- */

START_TEST(test_emu_index_scatter) {
    fixture f(14);
    int bad = 0;
    const wt_dtype dts[] = {WT_F32, WT_F16, WT_BF16};
    for (const auto &s : kShapes) {
        wt_tensor *x32 = rand_shape(f, s);
        for (wt_dtype dt : dts) {
            wt_tensor *x = wt_to_dtype(f.ctx, x32, dt);
            for (int dim = 0; dim < (int)s.size(); dim++) {
                int64_t n = s[dim], m = 5;
                wt_tensor *idx = wt_tensor_new1(f.ctx, WT_I64, m);
                for (int64_t i = 0; i < m; i++) wt_set_flat(idx, i, (double)((i * 7 + 3) % n));
                wt_tensor *ref = wt_index_select(f.ctx, x, dim, idx);
                wt_tensor *got = empty_like(f.ctx, ref, ref->dtype);
                bad += K::wt_k_index_select(NULL, got, x, dim, idx) != WT_OK;
                bad += !same_values(got, ref);
                /* scatter a permutation of rows back (distinct targets) */
                int64_t k = n < 4 ? n : 4;
                wt_tensor *sidx = wt_tensor_new1(f.ctx, WT_I64, k);
                for (int64_t i = 0; i < k; i++) wt_set_flat(sidx, i, (double)(n - 1 - i));
                wt_tensor *src = wt_narrow(f.ctx, x, dim, 0, k);
                wt_tensor *d_ref = wt_contiguous(f.ctx, x), *d_got = wt_contiguous(f.ctx, x);
                wt_scatter_set_(f.ctx, d_ref, dim, sidx, src);
                bad += K::wt_k_scatter_set(NULL, d_got, dim, sidx, src) != WT_OK;
                bad += !same_values(d_got, d_ref);
            }
        }
    }
    ck_assert_int_eq(wt_ctx_status(f.ctx), WT_OK);
    ck_assert_int_eq(bad, 0);
}
END_TEST

/* ---- softmax.cu ---- */

START_TEST(test_emu_softmax) {
    fixture f(15);
    const std::vector<std::vector<int64_t>> shapes = {{1}, {7}, {5, 5}, {2, 3, 33}, {2, 4, 300}, {1, 3, 1000}};
    double worst = 0;
    int bad = 0;
    for (const auto &s : shapes) {
        wt_tensor *x = rand_shape(f, s, -4.0f, 4.0f);
        for (int kind = 0; kind < 2; kind++)
            for (int64_t window : {(int64_t)0, (int64_t)3}) {
                wt_tensor *ref = wt_softmax(f.ctx, x, 0.8f, NULL, (wt_mask_kind)kind, window);
                wt_tensor *got = empty_like(f.ctx, x);
                bad += K::wt_k_softmax(NULL, got, x, 0.8f, NULL, (wt_mask_kind)kind, window) != WT_OK;
                worst = std::fmax(worst, nmse(got, ref));
            }
        /* an additive mask broadcast over leading dims, with -inf entries,
         * and a row whose keys are all hidden */
        std::vector<int64_t> ms(s.size(), 1);
        ms.back() = s.back();
        wt_tensor *mask = rand_shape(f, ms, -1.0f, 1.0f);
        for (int64_t j = 0; j < s.back(); j += 3) wt_set_flat(mask, j, -INFINITY);
        wt_tensor *mb = wt_broadcast_to(f.ctx, mask, x->ndim, x->shape);
        wt_tensor *ref = wt_softmax(f.ctx, x, 1.0f, mask, WT_MASK_CAUSAL, 0);
        wt_tensor *got = empty_like(f.ctx, x);
        bad += K::wt_k_softmax(NULL, got, x, 1.0f, mb, WT_MASK_CAUSAL, 0) != WT_OK;
        worst = std::fmax(worst, nmse(got, ref));
        if (s.size() >= 2) { /* transposed input */
            wt_tensor *xt = wt_transpose(f.ctx, x, -1, -2);
            ref = wt_softmax(f.ctx, xt, 1.0f, NULL, WT_MASK_NONE, 0);
            got = empty_like(f.ctx, xt);
            bad += K::wt_k_softmax(NULL, got, xt, 1.0f, NULL, WT_MASK_NONE, 0) != WT_OK;
            worst = std::fmax(worst, nmse(got, ref));
        }
    }
    ck_assert_int_eq(wt_ctx_status(f.ctx), WT_OK);
    ck_assert_int_eq(bad, 0);
    ck_assert_msg(worst <= kRedBound, "softmax nmse %g", worst);
}
END_TEST

/* ---- norm.cu ---- */

START_TEST(test_emu_norms) {
    fixture f(16);
    const std::vector<std::vector<int64_t>> shapes = {{1}, {7}, {5, 33}, {2, 3, 300}, {2, 1500}};
    double worst = 0;
    int bad = 0;
    for (const auto &s : shapes) {
        /* an offset makes a one-pass variance lose digits */
        wt_tensor *x = rand_shape(f, s, 90.0f, 110.0f);
        wt_tensor *w = rand_shape(f, {s.back()}, 0.5f, 1.5f), *b = rand_shape(f, {s.back()});
        wt_tensor *ref = wt_rms_norm(f.ctx, x, w, 1e-5f), *got = empty_like(f.ctx, x);
        bad += K::wt_k_rms_norm(NULL, got, x, w, 1e-5f) != WT_OK;
        worst = std::fmax(worst, nmse(got, ref));
        ref = wt_layer_norm(f.ctx, x, w, b, 1e-5f);
        got = empty_like(f.ctx, x);
        bad += K::wt_k_layer_norm(NULL, got, x, w, b, 1e-5f) != WT_OK;
        worst = std::fmax(worst, nmse(got, ref));
        ref = wt_layer_norm(f.ctx, x, NULL, NULL, 1e-5f);
        got = empty_like(f.ctx, x);
        bad += K::wt_k_layer_norm(NULL, got, x, NULL, NULL, 1e-5f) != WT_OK;
        worst = std::fmax(worst, nmse(got, ref));
    }
    const std::vector<std::vector<int64_t>> gshapes = {{1, 4, 7}, {2, 12, 33}, {3, 8, 5, 9}, {1, 4, 700}};
    for (const auto &s : gshapes)
        for (int groups : {1, 2, 4}) {
            wt_tensor *x = rand_shape(f, s);
            wt_tensor *w = rand_shape(f, {s[1]}, 0.5f, 1.5f), *b = rand_shape(f, {s[1]});
            wt_tensor *ref = wt_group_norm(f.ctx, x, groups, w, b, 1e-5f), *got = empty_like(f.ctx, x);
            bad += K::wt_k_group_norm(NULL, got, x, groups, w, b, 1e-5f) != WT_OK;
            worst = std::fmax(worst, nmse(got, ref));
        }
    ck_assert_int_eq(wt_ctx_status(f.ctx), WT_OK);
    ck_assert_int_eq(bad, 0);
    ck_assert_msg(worst <= kRedBound, "norm nmse %g", worst);
}
END_TEST

/* ---- reduce.cu ---- */

START_TEST(test_emu_reduce) {
    fixture f(17);
    double worst = 0;
    int bad = 0;
    for (const auto &s : kShapes) {
        wt_tensor *x = rand_shape(f, s);
        /* ties: the first index must win */
        if (wt_numel(x) > 4) wt_set_flat(x, 3, wt_get_flat(x, 1));
        for (int dim = 0; dim < (int)s.size(); dim++)
            for (int op = 0; op < WT_REDUCE_COUNT; op++) {
                wt_tensor *ref = wt_reduce(f.ctx, (wt_reduce_op)op, x, dim, true);
                wt_tensor *got = empty_like(f.ctx, ref, ref->dtype);
                bad += K::wt_k_reduce(NULL, (wt_reduce_op)op, got, x, dim) != WT_OK;
                if (op == WT_REDUCE_ARGMAX || op == WT_REDUCE_ARGMIN || op == WT_REDUCE_MAX || op == WT_REDUCE_MIN)
                    bad += !same_values(got, ref);
                else
                    worst = std::fmax(worst, nmse(got, ref));
            }
    }
    ck_assert_int_eq(wt_ctx_status(f.ctx), WT_OK);
    ck_assert_int_eq(bad, 0);
    ck_assert_msg(worst <= kRedBound, "reduce nmse %g", worst);
}
END_TEST

/* ---- rope.cu ---- */

START_TEST(test_emu_rope) {
    fixture f(18);
    const std::vector<std::vector<int64_t>> shapes = {{1, 1, 1, 2}, {2, 3, 4, 8}, {1, 5, 3, 64}, {3, 7, 2, 6}};
    double worst = 0;
    int bad = 0;
    for (const auto &s : shapes) {
        wt_tensor *x = rand_shape(f, s);
        wt_tensor *pos = wt_tensor_new2(f.ctx, WT_I64, s[0], s[1]);
        for (int64_t i = 0; i < s[0] * s[1]; i++) wt_set_flat(pos, i, (double)(i * 977 % 20011));
        for (int layout = 0; layout < 2; layout++) {
            wt_tensor *ref = wt_rope(f.ctx, x, pos, 10000.0f, (wt_rope_layout)layout);
            wt_tensor *got = empty_like(f.ctx, x);
            bad += K::wt_k_rope(NULL, got, x, pos, 10000.0f, (wt_rope_layout)layout) != WT_OK;
            worst = std::fmax(worst, nmse(got, ref));
        }
    }
    ck_assert_int_eq(wt_ctx_status(f.ctx), WT_OK);
    ck_assert_int_eq(bad, 0);
    ck_assert_msg(worst <= kRedBound, "rope nmse %g", worst);
}
END_TEST

/* ---- conv.cu ---- */

START_TEST(test_emu_conv) {
    fixture f(19);
    struct cfg { int64_t b, cin, cout, t, k; int stride, pl, pr, dil, groups; };
    const cfg cfgs[] = {{1, 1, 1, 1, 1, 1, 0, 0, 1, 1},   {2, 3, 5, 37, 3, 1, 2, 0, 1, 1},
                        {1, 4, 6, 300, 4, 2, 3, 0, 1, 2}, {2, 8, 8, 65, 7, 1, 6, 0, 3, 8},
                        {1, 6, 4, 20, 5, 3, 1, 2, 2, 2}};
    double worst = 0;
    int bad = 0;
    for (const cfg &c : cfgs) {
        wt_tensor *x = rand_shape(f, {c.b, c.cin, c.t});
        wt_tensor *w = rand_shape(f, {c.cout, c.cin / c.groups, c.k}), *bias = rand_shape(f, {c.cout});
        wt_tensor *ref = wt_conv1d(f.ctx, x, w, bias, c.stride, c.pl, c.pr, c.dil, c.groups);
        wt_tensor *got = ref ? empty_like(f.ctx, ref) : NULL;
        bad += !got || K::wt_k_conv1d(NULL, got, x, w, bias, c.stride, c.pl, c.dil, c.groups) != WT_OK;
        worst = std::fmax(worst, nmse(got, ref));
        /* transposed: w [Cin, Cout/groups, K] */
        wt_tensor *wt = rand_shape(f, {c.cin, c.cout / c.groups, c.k});
        for (int out_pad : {0, c.stride > 1 ? 1 : 0}) {
            int padding = c.k > 2 ? 1 : 0;
            ref = wt_conv_transpose1d(f.ctx, x, wt, bias, c.stride, padding, out_pad, c.dil, c.groups);
            got = ref ? empty_like(f.ctx, ref) : NULL;
            bad += !got || K::wt_k_conv_transpose1d(NULL, got, x, wt, NULL == bias ? NULL : bias, c.stride,
                                                    padding, c.dil, c.groups) != WT_OK;
            worst = std::fmax(worst, nmse(got, ref));
        }
    }
    ck_assert_int_eq(wt_ctx_status(f.ctx), WT_OK);
    ck_assert_int_eq(bad, 0);
    ck_assert_msg(worst <= kRedBound, "conv nmse %g", worst);
}
END_TEST

/* ---- quantize.cu ---- */

START_TEST(test_emu_codebook_argmin) {
    fixture f(20);
    struct cfg { int64_t n, d, k; };
    const cfg cfgs[] = {{1, 1, 1}, {5, 8, 33}, {17, 32, 300}, {3, 64, 700}};
    int bad = 0, far = 0;
    for (const cfg &c : cfgs) {
        wt_tensor *x = rand_shape(f, {c.n, c.d}), *e = rand_shape(f, {c.k, c.d});
        wt_tensor *norm2 = wt_tensor_new1(f.ctx, WT_F32, c.k);
        for (int64_t k = 0; k < c.k; k++) {
            double s = 0;
            for (int64_t j = 0; j < c.d; j++) s += wt_get_flat(e, k * c.d + j) * wt_get_flat(e, k * c.d + j);
            wt_set_flat(norm2, k, s);
        }
        wt_tensor *idx = wt_tensor_new1(f.ctx, WT_I64, c.n);
        bad += K::wt_k_codebook_argmin(NULL, idx, x, e, norm2) != WT_OK;
        /* reference: exact squared distances in double; the chosen entry must
         * be the nearest up to f32 rounding of the distance */
        for (int64_t n = 0; n < c.n; n++) {
            double best = INFINITY, got_d = INFINITY;
            int64_t got = (int64_t)wt_get_flat(idx, n);
            for (int64_t k = 0; k < c.k; k++) {
                double d2 = 0;
                for (int64_t j = 0; j < c.d; j++) {
                    double v = wt_get_flat(x, n * c.d + j) - wt_get_flat(e, k * c.d + j);
                    d2 += v * v;
                }
                best = std::fmin(best, d2);
                if (k == got) got_d = d2;
            }
            far += !(got_d <= best + 1e-4 * (1.0 + best));
        }
    }
    ck_assert_int_eq(wt_ctx_status(f.ctx), WT_OK);
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(far, 0);
}
END_TEST

/* ---- lstm.cu ---- */

START_TEST(test_emu_lstm_cell) {
    fixture f(21);
    const int64_t cfgs[][2] = {{1, 1}, {3, 37}, {2, 300}};
    double worst = 0;
    int bad = 0;
    for (const auto &c : cfgs) {
        int64_t b = c[0], h = c[1];
        wt_tensor *gates = rand_shape(f, {b, 4 * h}, -3.0f, 3.0f);
        wt_tensor *c0 = rand_shape(f, {b, h});
        wt_tensor *cg = wt_contiguous(f.ctx, c0), *hg = wt_tensor_new2(f.ctx, WT_F32, b, h);
        wt_tensor *cr = wt_tensor_new2(f.ctx, WT_F32, b, h), *hr = wt_tensor_new2(f.ctx, WT_F32, b, h);
        /* plain reference loop (PyTorch's definition), in double */
        for (int64_t i = 0; i < b; i++)
            for (int64_t j = 0; j < h; j++) {
                auto g = [&](int64_t q) { return wt_get_flat(gates, i * 4 * h + q * h + j); };
                auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
                double cn = sig(g(1)) * wt_get_flat(c0, i * h + j) + sig(g(0)) * std::tanh(g(2));
                wt_set_flat(cr, i * h + j, cn);
                wt_set_flat(hr, i * h + j, sig(g(3)) * std::tanh(cn));
            }
        bad += K::wt_k_lstm_cell(NULL, gates, cg, hg) != WT_OK;
        worst = std::fmax(worst, std::fmax(nmse(cg, cr), nmse(hg, hr)));
    }
    ck_assert_int_eq(bad, 0);
    ck_assert_msg(worst <= kRedBound, "lstm nmse %g", worst);
}
END_TEST


/* ---- attention.cu ---- */

START_TEST(test_emu_attention) {
    fixture f(22);
    /* B, n, H, KVH, hd, S, window, ring; odd sizes and caches longer than a chunk */
    const int64_t cfgs[][8] = {{1, 1, 1, 1, 1, 1, 0, 0},   {1, 1, 4, 2, 8, 40, 0, 0},  {2, 3, 4, 1, 16, 300, 0, 0},
                               {1, 5, 8, 2, 64, 70, 7, 0}, {3, 2, 2, 2, 6, 33, 0, 1},  {1, 4, 6, 3, 12, 260, 5, 1},
                               {2, 1, 3, 3, 5, 129, 0, 1}, {1, 1, 4, 2, 16, 1100, 0, 0}, {1, 2, 2, 1, 8, 700, 300, 1}};
    /* with a scratch the cache is split into ranges merged by a second kernel */
    std::vector<float> scratch(1 << 16);
    double worst = 0;
    int bad = 0, nonzero_bad = 0;
    for (const auto &c : cfgs) {
        int64_t B = c[0], n = c[1], H = c[2], KVH = c[3], hd = c[4], S = c[5], win = c[6];
        bool ring = c[7];
        wt_tensor *q = rand_shape(f, {B, n, H, hd});
        /* one cache in the slot-contiguous layout [B, KVH, hd, S], one as a
         * transposed [B, KVH, S, hd] (slot stride hd) */
        wt_tensor *k = rand_shape(f, {B, KVH, hd, S});
        wt_tensor *vs = rand_shape(f, {B, KVH, S, hd});
        wt_tensor *v = wt_transpose(f.ctx, vs, -1, -2);
        wt_tensor *pos = wt_tensor_new2(f.ctx, WT_I64, B, n);
        for (int64_t i = 0; i < B * n; i++)
            wt_set_flat(pos, i, ring ? (double)(S + 3 * i) : (double)((S - 1) - (i * 5) % S));
        wt_tensor *sp = NULL;
        if (ring) {
            sp = wt_tensor_new2(f.ctx, WT_I64, B, S);
            for (int64_t b = 0; b < B; b++)
                for (int64_t s = 0; s < S; s++) wt_set_flat(sp, b * S + s, s % 5 == 4 ? -1.0 : (double)(s + S + b));
        }
        wt_tensor *ref = ring ? wt_attention_ring(f.ctx, q, k, v, pos, sp, 0.3f, win)
                              : wt_attention_cached(f.ctx, q, k, v, pos, 0.3f, win);
        wt_tensor *got = wt_tensor_new4(f.ctx, WT_F32, B, n, H, hd);
        for (int split = 0; split < 2; split++) {
            bad += !ref || !got ||
                   K::wt_k_attention(NULL, got, q, k, v, pos, sp, 0.3f, win, split ? scratch.data() : NULL,
                                     split ? scratch.size() * sizeof(float) : 0) != WT_OK;
            if (ref && got) {
                const int64_t s3[3] = {B, n, H * hd};
                worst = std::fmax(worst, nmse(wt_view(f.ctx, got, 3, s3), ref));
            }
        }
    }
    /* a position outside a linear cache gives a zero row, the others are computed */
    {
        wt_tensor *q = rand_shape(f, {1, 2, 2, 4}), *k = rand_shape(f, {1, 1, 4, 8}), *v = rand_shape(f, {1, 1, 4, 8});
        wt_tensor *pos = wt_tensor_new2(f.ctx, WT_I64, 1, 2);
        wt_set_flat(pos, 0, 8.0);
        wt_set_flat(pos, 1, 3.0);
        wt_tensor *got = wt_tensor_new4(f.ctx, WT_F32, 1, 2, 2, 4);
        bad += K::wt_k_attention(NULL, got, q, k, v, pos, NULL, 1.0f, 0, NULL, 0) != WT_OK;
        for (int64_t i = 0; i < 8; i++) nonzero_bad += wt_get_flat(got, i) != 0.0;
        double second = 0;
        for (int64_t i = 8; i < 16; i++) second += std::fabs(wt_get_flat(got, i));
        nonzero_bad += !(second > 0);
    }
    ck_assert_int_eq(wt_ctx_status(f.ctx), WT_OK);
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(nonzero_bad, 0);
    ck_assert_msg(worst <= kRedBound, "attention nmse %g", worst);
}
END_TEST

/* ---- the backend's matmul over the emulated cuBLAS ---- */

namespace {

/* A copy of a CPU tensor in the emulated backend's memory (host memory, so
 * wt_get_flat reads the results). */
wt_tensor *emu_copy(fixture &f, wt_ctx *ectx, const wt_tensor *h) {
    wt_tensor *c = wt_contiguous(f.ctx, h);
    wt_tensor *d = wt_tensor_new(ectx, c->dtype, c->ndim, c->shape);
    if (d) std::memcpy(d->data, c->data, wt_nbytes(c));
    return d;
}

} // namespace

START_TEST(test_emu_backend_matmul) {
    fixture f(23);
    const wt_backend *be = wt_emu_kernels::wt_cuda_backend();
    ck_assert_ptr_nonnull(be);
    wt_ctx *e = wt_ctx_new_heap(be);
    const int64_t dims[][3] = {{1, 1, 1}, {1, 64, 7}, {5, 33, 17}, {7, 129, 65}, {3, 2, 300}};
    const wt_dtype dts[] = {WT_F32, WT_F16, WT_BF16};
    /* f32 sums in another order; f16/bf16 weights take activations rounded to their type */
    const double bounds[] = {1e-9, 3e-6, 2e-4};
    double worst[3] = {0, 0, 0};
    uint64_t gemms0 = wt_emu::gemms_run();
    int calls = 0;
    for (const auto &d : dims) {
        int64_t M = d[0], K = d[1], N = d[2];
        for (int t = 0; t < 3; t++) {
            wt_tensor *a = rand_shape(f, {M, K}, -1.0f, 1.0f);
            wt_tensor *b = wt_to_dtype(f.ctx, rand_shape(f, {K, N}, -1.0f, 1.0f), dts[t]);
            wt_tensor *w = wt_to_dtype(f.ctx, rand_shape(f, {N, K}, -1.0f, 1.0f), dts[t]);
            wt_tensor *ae = emu_copy(f, e, a), *be_ = emu_copy(f, e, b), *we = emu_copy(f, e, w);
            /* plain, W^T view, transposed activation */
            worst[t] = std::fmax(worst[t], nmse(wt_matmul(e, ae, be_), wt_matmul(f.ctx, a, b)));
            worst[t] = std::fmax(worst[t], nmse(wt_linear(e, ae, we, NULL), wt_linear(f.ctx, a, w, NULL)));
            wt_tensor *at = emu_copy(f, e, wt_transpose(f.ctx, a, 0, 1));
            worst[t] = std::fmax(worst[t], nmse(wt_matmul(e, wt_transpose(e, at, 0, 1), be_), wt_matmul(f.ctx, a, b)));
            /* batched: shared weights (one strided-batched call), per-batch
             * weights, and a broadcast middle dim (a loop of calls) */
            wt_tensor *ab = rand_shape(f, {2, 3, M, K}, -1.0f, 1.0f), *abe = emu_copy(f, e, ab);
            wt_tensor *bb = wt_to_dtype(f.ctx, rand_shape(f, {2, 3, K, N}, -1.0f, 1.0f), dts[t]);
            wt_tensor *bm = wt_to_dtype(f.ctx, rand_shape(f, {2, 1, K, N}, -1.0f, 1.0f), dts[t]);
            worst[t] = std::fmax(worst[t], nmse(wt_matmul(e, abe, be_), wt_matmul(f.ctx, ab, b)));
            worst[t] = std::fmax(worst[t], nmse(wt_matmul(e, abe, emu_copy(f, e, bb)), wt_matmul(f.ctx, ab, bb)));
            worst[t] = std::fmax(worst[t], nmse(wt_matmul(e, abe, emu_copy(f, e, bm)), wt_matmul(f.ctx, ab, bm)));
            calls += 6;
        }
    }
    uint64_t gemms = wt_emu::gemms_run() - gemms0;
    ck_assert_msg(wt_ctx_status(e) == WT_OK, "%s", wt_ctx_error(e));
    ck_assert_int_eq(wt_ctx_status(f.ctx), WT_OK);
    wt_ctx_free(e);
    for (int t = 0; t < 3; t++) ck_assert_msg(worst[t] <= bounds[t], "matmul %s nmse %g", wt_dtype_name(dts[t]), worst[t]);
    /* every product went through the emulated cuBLAS (the broadcast case
     * loops: 2*3 calls instead of one) */
    ck_assert_uint_ge(gemms, (uint64_t)calls);
}
END_TEST

START_TEST(test_emu_cublas_semantics) {
    /* column-major C = alpha op(A) op(B) + beta C against a loop written here */
    float A[6] = {1, 2, 3, 4, 5, 6}; /* 2 x 3, lda 2 */
    float B[6] = {1, 0, -1, 2, 1, 0}; /* 3 x 2, ldb 3 */
    float C[4] = {1, 1, 1, 1};
    cublasHandle_t h;
    ck_assert_int_eq(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
    const float alpha = 2.0f, beta = 0.5f;
    ck_assert_int_eq(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 3, &alpha, A, 2, B, 3, &beta, C, 2),
                     CUBLAS_STATUS_SUCCESS);
    /* A = [[1,3,5],[2,4,6]], B = [[1,2],[0,1],[-1,0]]: AB = [[-4,5],[-4,8]] */
    ck_assert_float_eq(C[0], 2 * -4.0f + 0.5f);
    ck_assert_float_eq(C[1], 2 * -4.0f + 0.5f);
    ck_assert_float_eq(C[2], 2 * 5.0f + 0.5f);
    ck_assert_float_eq(C[3], 2 * 8.0f + 0.5f);
    /* op T on both: C = A^T B^T is 3 x 3 */
    float C2[9];
    std::memset(C2, 0xff, sizeof C2); /* NaN: beta 0 must not read it */
    const float zero = 0.0f, one = 1.0f;
    ck_assert_int_eq(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_T, 3, 3, 2, &one, A, 2, B, 3, &zero, C2, 3),
                     CUBLAS_STATUS_SUCCESS);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            float want = 0;
            for (int l = 0; l < 2; l++) want += A[l + i * 2] * B[j + l * 3];
            ck_assert_float_eq(C2[i + j * 3], want);
        }
    /* a leading dimension smaller than the rows is refused */
    ck_assert_int_eq(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 3, &one, A, 1, B, 3, &zero, C, 2),
                     CUBLAS_STATUS_INVALID_VALUE);
    /* mixed input types are refused (cuBLAS wants one) */
    ck_assert_int_eq(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 3, &one, A, CUDA_R_32F, 2, B, CUDA_R_16F, 3,
                                  &zero, C, CUDA_R_32F, 2, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                     CUBLAS_STATUS_NOT_SUPPORTED);
    /* a GEMM on a capturing stream is recorded, not run */
    cudaStream_t s;
    cudaStreamCreate(&s);
    cublasSetStream(h, s);
    cudaGraph_t g = NULL;
    float C3[4] = {0, 0, 0, 0};
    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    ck_assert_int_eq(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 3, &one, A, 2, B, 3, &zero, C3, 2),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaSuccess);
    ck_assert_float_eq(C3[0], 0.0f);
    cudaGraphExec_t ge;
    ck_assert_int_eq(cudaGraphInstantiate(&ge, g, 0), cudaSuccess);
    ck_assert_int_eq(cudaGraphLaunch(ge, s), cudaSuccess);
    ck_assert_float_eq(C3[0], -4.0f);
    ck_assert_float_eq(C3[3], 8.0f);
    cudaGraphExecDestroy(ge);
    cudaGraphDestroy(g);
    cudaStreamDestroy(s);
    cublasDestroy(h);
}
END_TEST

/* ---- graph record-and-replay of a streaming step ---- */

namespace {

/* Ring attention state, all in device memory at fixed addresses. */
constexpr int64_t kRing = 16, kDim = 40;

__global__ void ring_write_kernel(float *kr, float *vr, float *mask, const float *q, const float *x,
                                  const int64_t *pos) {
    int64_t slot = *pos % kRing;
    for (int64_t d = threadIdx.x; d < kDim; d += blockDim.x) {
        kr[slot * kDim + d] = q[d];
        vr[slot * kDim + d] = x[d];
    }
    if (threadIdx.x == 0) mask[slot] = 0.0f;
}

__global__ void ring_scores_kernel(float *scores, const float *kr, const float *q) {
    int64_t j = threadIdx.x;
    if (j < kRing) {
        float s = 0.0f;
        for (int64_t d = 0; d < kDim; d++) s += kr[j * kDim + d] * q[d];
        scores[j] = s;
    }
}

__global__ void ring_mix_kernel(float *out, const float *p, const float *vr) {
    for (int64_t d = threadIdx.x; d < kDim; d += blockDim.x) {
        float s = 0.0f;
        for (int64_t j = 0; j < kRing; j++) s += p[j] * vr[j * kDim + d];
        out[d] = s;
    }
}

__global__ void advance_kernel(int64_t *pos) {
    if (threadIdx.x == 0) *pos += 1;
}

struct ring_step {
    wt_ctx *ctx;
    cudaStream_t s;
    float *kr, *vr, *mask, *x, *q, *scores, *p, *out, *host_in, *host_out;
    int64_t *pos;
    wt_tensor *tx, *tq, *tpos, *tscores, *tmask, *tp;

    ring_step() : ctx(wt_ctx_new_heap(NULL)) {
        cudaStreamCreate(&s);
        cudaMalloc((void **)&kr, sizeof(float) * kRing * kDim);
        cudaMalloc((void **)&vr, sizeof(float) * kRing * kDim);
        cudaMalloc((void **)&mask, sizeof(float) * kRing);
        cudaMalloc((void **)&x, sizeof(float) * kDim);
        cudaMalloc((void **)&q, sizeof(float) * kDim);
        cudaMalloc((void **)&scores, sizeof(float) * kRing);
        cudaMalloc((void **)&p, sizeof(float) * kRing);
        cudaMalloc((void **)&out, sizeof(float) * kDim);
        cudaMalloc((void **)&pos, sizeof(int64_t));
        cudaMallocHost((void **)&host_in, sizeof(float) * kDim);
        cudaMallocHost((void **)&host_out, sizeof(float) * kDim);
        const int64_t xs[4] = {1, 1, 1, kDim}, ps[2] = {1, 1}, ss[2] = {1, kRing};
        tx = wt_tensor_wrap(ctx, WT_F32, 4, xs, x);
        tq = wt_tensor_wrap(ctx, WT_F32, 4, xs, q);
        tpos = wt_tensor_wrap(ctx, WT_I64, 2, ps, pos);
        tscores = wt_tensor_wrap(ctx, WT_F32, 2, ss, scores);
        tmask = wt_tensor_wrap(ctx, WT_F32, 2, ss, mask);
        tp = wt_tensor_wrap(ctx, WT_F32, 2, ss, p);
    }
    ~ring_step() {
        for (void *m : {(void *)kr, (void *)vr, (void *)mask, (void *)x, (void *)q, (void *)scores,
                        (void *)p, (void *)out, (void *)pos})
            cudaFree(m);
        cudaFreeHost(host_in);
        cudaFreeHost(host_out);
        cudaStreamDestroy(s);
        wt_ctx_free(ctx);
    }
    /* Setup, outside any capture: empty ring, position 0. */
    void reset() {
        std::vector<float> hidden(kRing, -INFINITY);
        cudaMemcpy(mask, hidden.data(), sizeof(float) * kRing, cudaMemcpyHostToDevice);
        cudaMemsetAsync(kr, 0, sizeof(float) * kRing * kDim, s);
        cudaMemsetAsync(vr, 0, sizeof(float) * kRing * kDim, s);
        cudaMemsetAsync(pos, 0, sizeof(int64_t), s);
        cudaStreamSynchronize(s);
    }
    /* One frame: host_in -> rope(x, pos) -> ring write -> attention -> host_out.
     * Only launches and async copies between fixed addresses: capturable. */
    int enqueue() {
        int bad = 0;
        bad += cudaMemcpyAsync(x, host_in, sizeof(float) * kDim, cudaMemcpyHostToDevice, s) != cudaSuccess;
        bad += K::wt_k_rope(s, tq, tx, tpos, 10000.0f, WT_ROPE_INTERLEAVED) != WT_OK;
        WT_LAUNCH(ring_write_kernel, 1, 64, 0, s, kr, vr, mask, q, x, pos);
        WT_LAUNCH(ring_scores_kernel, 1, 32, 0, s, scores, kr, q);
        bad += K::wt_k_softmax(s, tp, tscores, 0.125f, tmask, WT_MASK_NONE, 0) != WT_OK;
        WT_LAUNCH(ring_mix_kernel, 1, 64, 0, s, out, p, vr);
        WT_LAUNCH(advance_kernel, 1, 32, 0, s, pos);
        bad += cudaMemcpyAsync(host_out, out, sizeof(float) * kDim, cudaMemcpyDeviceToHost, s) != cudaSuccess;
        bad += cudaGetLastError() != cudaSuccess;
        return bad;
    }
};

void frame_input(float *in, int step) {
    for (int64_t d = 0; d < kDim; d++) in[d] = std::sin(0.37f * (float)(step + 1) * (float)(d + 1)) + 0.01f * (float)d;
}

} // namespace

START_TEST(test_emu_graph_replay_equals_eager) {
    const int steps = 200;
    ring_step r;
    std::vector<float> eager((size_t)steps * kDim), replay((size_t)steps * kDim);
    int bad = 0;
    r.reset();
    for (int t = 0; t < steps; t++) {
        frame_input(r.host_in, t);
        bad += r.enqueue();
        cudaStreamSynchronize(r.s);
        std::memcpy(&eager[(size_t)t * kDim], r.host_out, sizeof(float) * kDim);
    }
    /* capture one step once (nothing runs while capturing), then replay it */
    r.reset();
    cudaGraph_t g = NULL;
    cudaGraphExec_t ge = NULL;
    uint64_t launches_before = wt_emu::launches_run();
    ck_assert_int_eq(cudaStreamBeginCapture(r.s, cudaStreamCaptureModeGlobal), cudaSuccess);
    bad += r.enqueue();
    ck_assert_int_eq(cudaStreamEndCapture(r.s, &g), cudaSuccess);
    ck_assert_uint_eq(wt_emu::launches_run(), launches_before);
    ck_assert_uint_eq(wt_emu::graph_nodes(g), 8);
    ck_assert_int_eq(cudaGraphInstantiate(&ge, g, 0), cudaSuccess);
    uint64_t allocs = wt_test_alloc_calls();
    int failures = 0;
    for (int t = 0; t < steps; t++) {
        frame_input(r.host_in, t);
        failures += cudaGraphLaunch(ge, r.s) != cudaSuccess;
        failures += cudaStreamSynchronize(r.s) != cudaSuccess;
        std::memcpy(&replay[(size_t)t * kDim], r.host_out, sizeof(float) * kDim);
    }
    uint64_t replay_allocs = wt_test_alloc_calls() - allocs;
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(failures, 0);
    ck_assert_uint_eq(replay_allocs, 0);
    ck_assert_int_eq(std::memcmp(eager.data(), replay.data(), sizeof(float) * eager.size()), 0);
    /* the ring wrapped and attention mixed several frames: step 199's output
     * differs from its own input's value rows */
    double diff = 0;
    frame_input(r.host_in, steps - 1);
    for (int64_t d = 0; d < kDim; d++) diff += std::fabs(replay[(size_t)(steps - 1) * kDim + d] - r.host_in[d]);
    ck_assert(diff > 1e-3);
    cudaGraphExecDestroy(ge);
    cudaGraphDestroy(g);
}
END_TEST

START_TEST(test_emu_capture_rules) {
    ring_step r;
    cudaGraph_t g = NULL;
    void *p = NULL;
    /* an allocation inside a capture fails and spoils the capture */
    ck_assert_int_eq(cudaStreamBeginCapture(r.s, cudaStreamCaptureModeGlobal), cudaSuccess);
    ck_assert_int_eq(cudaMalloc(&p, 64), cudaErrorStreamCaptureUnsupported);
    ck_assert_int_eq(cudaStreamEndCapture(r.s, &g), cudaErrorStreamCaptureInvalidated);
    ck_assert_ptr_null(g);
    cudaGetLastError();
    /* so does a synchronisation (a host read of device results) */
    ck_assert_int_eq(cudaStreamBeginCapture(r.s, cudaStreamCaptureModeGlobal), cudaSuccess);
    ck_assert_int_eq(cudaStreamSynchronize(r.s), cudaErrorStreamCaptureUnsupported);
    ck_assert_int_eq(cudaStreamEndCapture(r.s, &g), cudaErrorStreamCaptureInvalidated);
    cudaGetLastError();
    /* the legacy default stream cannot be captured */
    ck_assert_int_eq(cudaStreamBeginCapture(NULL, cudaStreamCaptureModeGlobal), cudaErrorStreamCaptureUnsupported);
}
END_TEST

int main(void) {
    Suite *s = suite_create("cuda_emu");
    TCase *tc = tcase_create("kernels");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_emu_primitives);
    tcase_add_test(tc, test_emu_fill_copy_cast);
    tcase_add_test(tc, test_emu_pad);
    tcase_add_test(tc, test_emu_unary_binary_affine_glu);
    tcase_add_test(tc, test_emu_index_scatter);
    tcase_add_test(tc, test_emu_softmax);
    tcase_add_test(tc, test_emu_norms);
    tcase_add_test(tc, test_emu_reduce);
    tcase_add_test(tc, test_emu_rope);
    tcase_add_test(tc, test_emu_conv);
    tcase_add_test(tc, test_emu_codebook_argmin);
    tcase_add_test(tc, test_emu_lstm_cell);
    tcase_add_test(tc, test_emu_attention);
    tcase_add_test(tc, test_emu_backend_matmul);
    tcase_add_test(tc, test_emu_cublas_semantics);
    tcase_add_test(tc, test_emu_graph_replay_equals_eager);
    tcase_add_test(tc, test_emu_capture_rules);
    suite_add_tcase(s, tc);
    return wt_test_run(s);
}
