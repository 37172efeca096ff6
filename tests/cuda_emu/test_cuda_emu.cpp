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
}

#include "kernels/common.cuh"

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
                { wt_status st_ = K::wt_k_copy(NULL, got, xa); bad += st_ != WT_OK; if (st_ && getenv("WT_EMU_DEBUG")) fprintf(stderr, "copy st %d->%d: %s\n", a, b, wt_last_error()); }
                bad += !same_values(got, ref);
                if (getenv("WT_EMU_DEBUG") && !same_values(got, ref)) for (int64_t q = 0; q < wt_numel(ref); q++) if (wt_get_flat(got,q)!=wt_get_flat(ref,q)) {fprintf(stderr, "copy %d->%d [%ld] %.9g %.9g src %.9g\n", a, b, q, wt_get_flat(got,q), wt_get_flat(ref,q), wt_get_flat(xa,q)); break;}
            }
            wt_tensor *g = empty_like(f.ctx, xa, a), *r = empty_like(f.ctx, xa, a);
            wt_fill_(f.ctx, r, -2.75);
            bad += K::wt_k_fill(NULL, g, -2.75) != WT_OK;
            bad += !same_values(g, r);
            if (getenv("WT_EMU_DEBUG") && !same_values(g, r)) fprintf(stderr, "fill %d %g %g\n", a, wt_get_flat(g,0), wt_get_flat(r,0));
        }
        /* strided source (transposed) and broadcast source (stride 0) */
        if (s.size() >= 2) {
            wt_tensor *xt = wt_transpose(f.ctx, x, 0, -1);
            wt_tensor *ref = wt_contiguous(f.ctx, xt), *got = empty_like(f.ctx, xt);
            bad += K::wt_k_copy(NULL, got, xt) != WT_OK;
            bad += !same_values(got, ref);
            if (getenv("WT_EMU_DEBUG") && !same_values(got, ref)) fprintf(stderr, "transp\n");
            wt_tensor *row = wt_narrow(f.ctx, x, 0, 0, 1);
            wt_tensor *bc = wt_broadcast_to(f.ctx, row, x->ndim, x->shape);
            ref = wt_contiguous(f.ctx, bc);
            got = empty_like(f.ctx, x);
            bad += K::wt_k_copy(NULL, got, bc) != WT_OK;
            bad += !same_values(got, ref);
            if (getenv("WT_EMU_DEBUG") && !same_values(got, ref)) fprintf(stderr, "bcast\n");
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
                if (getenv("WT_EMU_DEBUG") && !same_values(got, ref)) fprintf(stderr, "pad dim %d mode %d nd %zu %g %g\n", dim, mode, s.size(), wt_get_flat(got,0), wt_get_flat(ref,0));
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
            if (getenv("WT_EMU_DEBUG") && nmse(got, ref) > kEltBound) fprintf(stderr, "unary %d nd %zu: %g\n", op, s.size(), nmse(got, ref));
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

int main(void) {
    Suite *s = suite_create("cuda_emu");
    TCase *tc = tcase_create("kernels");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_emu_primitives);
    tcase_add_test(tc, test_emu_fill_copy_cast);
    tcase_add_test(tc, test_emu_pad);
    tcase_add_test(tc, test_emu_unary_binary_affine_glu);
    suite_add_tcase(s, tc);
    return wt_test_run(s);
}
