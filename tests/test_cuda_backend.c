/* Every op of the CUDA backend against the CPU backend on random inputs of
 * several shapes and dtypes (odd sizes, strided and broadcast views), with a
 * normalised error bound per op as ggml's test-backend-ops does:
 * sum (y - ref)^2 / sum ref^2. Inputs go to the device and results come
 * back only through the backend's upload/download (device tensors cannot be
 * read with wt_get_flat). Then a streaming step (conv with a state tail,
 * norms, f16/bf16 projections, rope, a KV ring shifted in place, ring
 * attention, positions in device state) run 200 times eagerly and 200 times
 * as one captured graph replayed: equal bit for bit, and equal to the CPU
 * backend within the bound, with no allocation per replayed step.
 *
 * Without a device (or without a CUDA build) the program prints
 * "skipped: no CUDA device" and exits 77, which ctest reports as skipped.
 * Built with WT_TEST_CUDA_EMU (tests/cuda_emu) the same suite runs on the
 * emulated backend: the real host code and kernels over the fiber emulation. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "wavetensor/graph.h"
#include "wt_test.h"

#include "wt_test_dev.h"

/* Bounds on the normalised squared error. Elementwise ops differ by libm
 * ulps; reductions by summation order; a GEMM with f16/bf16 weights runs
 * with the activations rounded to that type (cuBLAS takes one input type),
 * so its bound is that rounding's: 2^-11 and 2^-8 relative per product. */
#define B_EXACT 0.0
#define B_ELT 1e-10
#define B_RED 1e-9
#define B_MM_F32 1e-9
#define B_MM_F16 3e-6
#define B_MM_BF16 2e-4

typedef struct fx {
    const wt_backend *be;
    wt_ctx *cpu, *dev;
    wt_test_rng rng;
    int bad;       /* failed calls, transfers or shapes */
    double worst;  /* worst nmse / bound seen (must stay <= 1) */
    char what[160];
} fx;

static void fx_init(fx *f, uint64_t seed) {
    f->be = dev_backend();
    f->cpu = wt_ctx_new_heap(NULL);
    f->dev = wt_ctx_new_heap(f->be);
    wt_test_rng_seed(&f->rng, seed);
    f->bad = 0;
    f->worst = 0;
    f->what[0] = 0;
}

static void fx_deinit(fx *f) {
    wt_ctx_free(f->cpu);
    wt_ctx_free(f->dev);
}

/* A device copy of a CPU tensor (any strides), contiguous. */
static wt_tensor *up(fx *f, const wt_tensor *h) {
    if (!h) return NULL;
    wt_tensor *c = wt_contiguous(f->cpu, h);
    wt_tensor *d = c ? wt_tensor_new(f->dev, c->dtype, c->ndim, c->shape) : NULL;
    if (!d || f->be->upload(d->data, c->data, wt_nbytes(c)) != WT_OK) {
        f->bad++;
        return NULL;
    }
    return d;
}

/* A CPU copy of a device tensor (any strides). */
static wt_tensor *down(fx *f, const wt_tensor *d) {
    if (!d) return NULL;
    const wt_tensor *c = wt_is_contiguous(d) ? d : wt_contiguous(f->dev, d);
    wt_tensor *h = c ? wt_tensor_new(f->cpu, c->dtype, c->ndim, c->shape) : NULL;
    if (!h || f->be->download(h->data, c->data, wt_nbytes(c)) != WT_OK) {
        f->bad++;
        return NULL;
    }
    return h;
}

static wt_tensor *rnd(fx *f, wt_dtype dt, int nd, const int64_t *shape, float lo, float hi) {
    wt_tensor *t = wt_tensor_new(f->cpu, WT_F32, nd, shape);
    if (!t) return NULL;
    wt_test_fill_uniform(t, &f->rng, lo, hi);
    return dt == WT_F32 ? t : wt_to_dtype(f->cpu, t, dt);
}

/* sum (a - ref)^2 / sum ref^2 over CPU tensors; infinity when shapes differ
 * or a NaN appears where ref has none. */
static double nmse(const wt_tensor *a, const wt_tensor *ref) {
    if (!a || !ref || a->ndim != ref->ndim) return INFINITY;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != ref->shape[d]) return INFINITY;
    double num = 0, den = 0;
    int64_t n = wt_numel(ref);
    for (int64_t i = 0; i < n; i++) {
        double x = wt_get_flat(a, i), y = wt_get_flat(ref, i);
        if (x == y || (isnan(x) && isnan(y))) continue;
        double e = x - y;
        num += e * e;
        den += y * y;
    }
    if (isnan(num)) return INFINITY;
    return den > 0 ? num / den : num;
}

/* Records the device result `d` against the CPU result `ref` under `bound`
 * (0: every element equal). */
static void check(fx *f, const char *what, const wt_tensor *d, const wt_tensor *ref, double bound) {
    wt_tensor *h = down(f, d);
    double e = nmse(h, ref);
    double r = bound > 0 ? e / bound : (e == 0 ? 0 : INFINITY);
    if (!(r <= f->worst) && r > 0) {
        f->worst = r;
        snprintf(f->what, sizeof f->what, "%s: nmse %.3g (bound %.3g)", what, e, bound);
    }
    if (!h || !ref) f->bad++;
}

/* Asserts after the work (Check's bookkeeping stays out of the loops). */
#define FX_END(f)                                                                   \
    do {                                                                            \
        ck_assert_msg(wt_ctx_status((f)->cpu) == WT_OK, "cpu: %s", wt_ctx_error((f)->cpu)); \
        ck_assert_msg(wt_ctx_status((f)->dev) == WT_OK, "device: %s", wt_ctx_error((f)->dev)); \
        ck_assert_int_eq((f)->bad, 0);                                              \
        ck_assert_msg((f)->worst <= 1.0, "worst: %s", (f)->what);                   \
        fx_deinit(f);                                                               \
    } while (0)

typedef struct shp { int nd; int64_t s[4]; } shp;
static const shp kShapes[] = {{1, {1}}, {1, {7}}, {2, {33, 5}}, {3, {3, 129, 2}}, {3, {2, 3, 300}}};
#define NSHAPES (int)(sizeof kShapes / sizeof kShapes[0])

/* ---- data movement ---- */

START_TEST(test_copy_fill_cast) {
    fx f;
    fx_init(&f, 101);
    const wt_dtype dts[] = {WT_F32, WT_F16, WT_BF16, WT_I64, WT_U8};
    for (int si = 0; si < NSHAPES; si++) {
        const shp *s = &kShapes[si];
        wt_tensor *x = rnd(&f, WT_F32, s->nd, s->s, -300.0f, 300.0f);
        for (int a = 0; a < 5; a++) {
            wt_tensor *xa = wt_to_dtype(f.cpu, x, dts[a]), *xd = up(&f, xa);
            for (int b = 0; b < 5; b++)
                check(&f, "copy", wt_to_dtype(f.dev, xd, dts[b]), wt_to_dtype(f.cpu, xa, dts[b]), B_EXACT);
            wt_tensor *fd = wt_tensor_new(f.dev, dts[a], s->nd, s->s), *fc = wt_tensor_new(f.cpu, dts[a], s->nd, s->s);
            check(&f, "fill", wt_fill_(f.dev, fd, -2.75), wt_fill_(f.cpu, fc, -2.75), B_EXACT);
        }
        if (s->nd >= 2) { /* strided and broadcast sources */
            wt_tensor *xd = up(&f, x);
            check(&f, "copy transposed", wt_contiguous(f.dev, wt_transpose(f.dev, xd, 0, -1)),
                  wt_contiguous(f.cpu, wt_transpose(f.cpu, x, 0, -1)), B_EXACT);
            wt_tensor *rowc = wt_narrow(f.cpu, x, 0, 0, 1), *rowd = wt_narrow(f.dev, xd, 0, 0, 1);
            wt_tensor *dd = wt_tensor_new(f.dev, WT_F32, s->nd, s->s), *dc = wt_tensor_new(f.cpu, WT_F32, s->nd, s->s);
            check(&f, "copy broadcast", wt_copy_(f.dev, dd, rowd), wt_copy_(f.cpu, dc, rowc), B_EXACT);
            const wt_tensor *pc[2] = {x, x}, *pd[2] = {xd, xd};
            check(&f, "cat", wt_cat(f.dev, pd, 2, 1), wt_cat(f.cpu, pc, 2, 1), B_EXACT);
        }
        for (int dim = 0; dim < s->nd; dim++)
            for (int mode = 0; mode < 3; mode++) {
                int64_t n = s->s[dim];
                int64_t l = mode == WT_PAD_REFLECT ? (n > 1 ? n - 1 : 0) : 3;
                int64_t r = mode == WT_PAD_REFLECT ? (n > 2 ? 1 : 0) : 2;
                wt_tensor *xd = up(&f, x);
                check(&f, "pad", wt_pad(f.dev, xd, dim, l, r, (wt_pad_mode)mode, 1.5),
                      wt_pad(f.cpu, x, dim, l, r, (wt_pad_mode)mode, 1.5), B_EXACT);
            }
    }
    FX_END(&f);
}
END_TEST

/* ---- elementwise ---- */

START_TEST(test_elementwise) {
    fx f;
    fx_init(&f, 102);
    for (int si = 0; si < NSHAPES; si++) {
        const shp *s = &kShapes[si];
        for (int op = 0; op < WT_UNARY_COUNT; op++) {
            bool pos = op == WT_UNARY_LOG || op == WT_UNARY_SQRT || op == WT_UNARY_RSQRT || op == WT_UNARY_RECIP;
            wt_tensor *x = rnd(&f, WT_F32, s->nd, s->s, pos ? 0.1f : -3.0f, 3.0f), *xd = up(&f, x);
            check(&f, "unary", wt_unary(f.dev, (wt_unary_op)op, xd, 0.7f), wt_unary(f.cpu, (wt_unary_op)op, x, 0.7f), B_ELT);
        }
        wt_tensor *a = rnd(&f, WT_F32, s->nd, s->s, -2.0f, 2.0f), *ad = up(&f, a);
        int64_t bs[4];
        memcpy(bs, s->s, sizeof bs);
        bs[0] = 1; /* broadcast along the first dim */
        wt_tensor *b = rnd(&f, WT_F32, s->nd, bs, 0.5f, 2.0f), *bd = up(&f, b);
        for (int op = 0; op < WT_BINARY_COUNT; op++)
            check(&f, "binary", wt_binary(f.dev, (wt_binary_op)op, ad, bd), wt_binary(f.cpu, (wt_binary_op)op, a, b), B_ELT);
        check(&f, "affine", wt_affine(f.dev, ad, -1.25f, 0.5f), wt_affine(f.cpu, a, -1.25f, 0.5f), B_ELT);
        for (int dim = 0; dim < s->nd; dim++)
            if (s->s[dim] % 2 == 0) check(&f, "glu", wt_glu(f.dev, ad, dim), wt_glu(f.cpu, a, dim), B_ELT);
        if (s->nd >= 2)
            check(&f, "unary strided", wt_unary(f.dev, WT_UNARY_TANH, wt_transpose(f.dev, ad, 0, -1), 0),
                  wt_unary(f.cpu, WT_UNARY_TANH, wt_transpose(f.cpu, a, 0, -1), 0), B_ELT);
    }
    FX_END(&f);
}
END_TEST

/* ---- matmul (cuBLAS) ---- */

START_TEST(test_matmul) {
    fx f;
    fx_init(&f, 103);
    /* M <= 8 against a [N, K] weight runs the gemv kernel (8-wide loads
     * when K allows: 512, 96), larger M cuBLAS */
    const int64_t dims[][3] = {{1, 1, 1}, {1, 64, 7}, {5, 33, 17}, {7, 129, 65}, {32, 96, 40}, {1, 512, 96}, {8, 96, 33}};
    const wt_dtype dts[] = {WT_F32, WT_F16, WT_BF16};
    const double bounds[] = {B_MM_F32, B_MM_F16, B_MM_BF16};
    for (int di = 0; di < (int)(sizeof dims / sizeof dims[0]); di++) {
        int64_t M = dims[di][0], K = dims[di][1], N = dims[di][2];
        for (int t = 0; t < 3; t++) {
            int64_t as[2] = {M, K}, bs[2] = {K, N}, ws[2] = {N, K};
            wt_tensor *a = rnd(&f, WT_F32, 2, as, -1.0f, 1.0f), *ad = up(&f, a);
            wt_tensor *b = rnd(&f, dts[t], 2, bs, -1.0f, 1.0f), *bd = up(&f, b);
            check(&f, "matmul", wt_matmul(f.dev, ad, bd), wt_matmul(f.cpu, a, b), bounds[t]);
            /* y = x W^T through a transposed view */
            wt_tensor *w = rnd(&f, dts[t], 2, ws, -1.0f, 1.0f), *wd = up(&f, w);
            check(&f, "linear", wt_linear(f.dev, ad, wd, NULL), wt_linear(f.cpu, a, w, NULL), bounds[t]);
            /* a transposed activation (unit stride on rows) */
            wt_tensor *at = wt_transpose(f.cpu, wt_contiguous(f.cpu, wt_transpose(f.cpu, a, 0, 1)), 0, 1);
            wt_tensor *atd = wt_transpose(f.dev, up(&f, wt_transpose(f.cpu, a, 0, 1)), 0, 1);
            check(&f, "matmul a^T", wt_matmul(f.dev, atd, bd), wt_matmul(f.cpu, at, b), bounds[t]);
            /* batched: [2, 3, M, K] x [K, N] (shared weights) and x [2, 3, K, N] */
            int64_t a4[4] = {2, 3, M, K}, b4[4] = {2, 3, K, N};
            wt_tensor *ab = rnd(&f, WT_F32, 4, a4, -1.0f, 1.0f), *abd = up(&f, ab);
            check(&f, "matmul batched shared", wt_matmul(f.dev, abd, bd), wt_matmul(f.cpu, ab, b), bounds[t]);
            wt_tensor *bb = rnd(&f, dts[t], 4, b4, -1.0f, 1.0f), *bbd = up(&f, bb);
            check(&f, "matmul batched", wt_matmul(f.dev, abd, bbd), wt_matmul(f.cpu, ab, bb), bounds[t]);
            /* a batch dim broadcast in the middle: [2, 1, K, N] against [2, 3, M, K] */
            int64_t b41[4] = {2, 1, K, N};
            wt_tensor *bm = rnd(&f, dts[t], 4, b41, -1.0f, 1.0f), *bmd = up(&f, bm);
            check(&f, "matmul batched broadcast", wt_matmul(f.dev, abd, bmd), wt_matmul(f.cpu, ab, bm), bounds[t]);
        }
    }
    FX_END(&f);
}
END_TEST

/* ---- indexing ---- */

START_TEST(test_index_scatter) {
    fx f;
    fx_init(&f, 104);
    const wt_dtype dts[] = {WT_F32, WT_F16, WT_BF16};
    for (int si = 0; si < NSHAPES; si++) {
        const shp *s = &kShapes[si];
        wt_tensor *x32 = rnd(&f, WT_F32, s->nd, s->s, -2.0f, 2.0f);
        for (int t = 0; t < 3; t++) {
            wt_tensor *x = wt_to_dtype(f.cpu, x32, dts[t]), *xd = up(&f, x);
            for (int dim = 0; dim < s->nd; dim++) {
                int64_t n = s->s[dim];
                wt_tensor *idx = wt_tensor_new1(f.cpu, WT_I64, 5);
                for (int64_t i = 0; i < 5; i++) wt_set_flat(idx, i, (double)((i * 7 + 3) % n));
                wt_tensor *idxd = up(&f, idx);
                check(&f, "index_select", wt_index_select(f.dev, xd, dim, idxd), wt_index_select(f.cpu, x, dim, idx), B_EXACT);
                int64_t k = n < 4 ? n : 4;
                wt_tensor *sidx = wt_tensor_new1(f.cpu, WT_I64, k);
                for (int64_t i = 0; i < k; i++) wt_set_flat(sidx, i, (double)(n - 1 - i));
                wt_tensor *sidxd = up(&f, sidx);
                wt_tensor *tc = wt_contiguous(f.cpu, x), *td = up(&f, x);
                wt_scatter_set_(f.cpu, tc, dim, sidx, wt_narrow(f.cpu, x, dim, 0, k));
                wt_scatter_set_(f.dev, td, dim, sidxd, wt_narrow(f.dev, xd, dim, 0, k));
                check(&f, "scatter_set", td, tc, B_EXACT);
            }
        }
    }
    FX_END(&f);
}
END_TEST

/* ---- softmax and norms ---- */

START_TEST(test_softmax_norms) {
    fx f;
    fx_init(&f, 105);
    const shp ss[] = {{1, {7}}, {2, {5, 5}}, {3, {2, 3, 33}}, {3, {2, 4, 300}}, {3, {1, 3, 1000}}};
    for (int si = 0; si < 5; si++) {
        const shp *s = &ss[si];
        wt_tensor *x = rnd(&f, WT_F32, s->nd, s->s, -4.0f, 4.0f), *xd = up(&f, x);
        for (int kind = 0; kind < 2; kind++)
            for (int64_t win = 0; win <= 3; win += 3)
                check(&f, "softmax", wt_softmax(f.dev, xd, 0.8f, NULL, (wt_mask_kind)kind, win),
                      wt_softmax(f.cpu, x, 0.8f, NULL, (wt_mask_kind)kind, win), B_RED);
        int64_t ms[4] = {1, 1, 1, 1};
        ms[s->nd - 1] = s->s[s->nd - 1];
        wt_tensor *mask = rnd(&f, WT_F32, s->nd, ms, -1.0f, 1.0f);
        for (int64_t j = 0; j < ms[s->nd - 1]; j += 3) wt_set_flat(mask, j, -INFINITY);
        wt_tensor *maskd = up(&f, mask);
        check(&f, "softmax mask", wt_softmax(f.dev, xd, 1.0f, maskd, WT_MASK_CAUSAL, 0),
              wt_softmax(f.cpu, x, 1.0f, mask, WT_MASK_CAUSAL, 0), B_RED);
        /* an offset makes a one-pass variance lose digits */
        wt_tensor *y = wt_affine(f.cpu, x, 1.0f, 100.0f), *yd = up(&f, y);
        int64_t c = s->s[s->nd - 1];
        wt_tensor *w = rnd(&f, WT_F32, 1, &c, 0.5f, 1.5f), *b = rnd(&f, WT_F32, 1, &c, -1.0f, 1.0f);
        wt_tensor *wd = up(&f, w), *bd = up(&f, b);
        check(&f, "rms_norm", wt_rms_norm(f.dev, yd, wd, 1e-5f), wt_rms_norm(f.cpu, y, w, 1e-5f), B_RED);
        check(&f, "layer_norm", wt_layer_norm(f.dev, yd, wd, bd, 1e-5f), wt_layer_norm(f.cpu, y, w, b, 1e-5f), B_RED);
        check(&f, "layer_norm plain", wt_layer_norm(f.dev, yd, NULL, NULL, 1e-5f),
              wt_layer_norm(f.cpu, y, NULL, NULL, 1e-5f), B_RED);
    }
    const shp gs[] = {{3, {1, 4, 7}}, {3, {2, 12, 33}}, {4, {3, 8, 5, 9}}, {3, {1, 4, 700}}};
    for (int si = 0; si < 4; si++)
        for (int groups = 1; groups <= 4; groups *= 2) {
            const shp *s = &gs[si];
            wt_tensor *x = rnd(&f, WT_F32, s->nd, s->s, -2.0f, 2.0f), *xd = up(&f, x);
            wt_tensor *w = rnd(&f, WT_F32, 1, &s->s[1], 0.5f, 1.5f), *b = rnd(&f, WT_F32, 1, &s->s[1], -1.0f, 1.0f);
            check(&f, "group_norm", wt_group_norm(f.dev, xd, groups, up(&f, w), up(&f, b), 1e-5f),
                  wt_group_norm(f.cpu, x, groups, w, b, 1e-5f), B_RED);
        }
    FX_END(&f);
}
END_TEST

START_TEST(test_reduce) {
    fx f;
    fx_init(&f, 106);
    for (int si = 0; si < NSHAPES; si++) {
        const shp *s = &kShapes[si];
        wt_tensor *x = rnd(&f, WT_F32, s->nd, s->s, -2.0f, 2.0f);
        if (wt_numel(x) > 4) wt_set_flat(x, 3, wt_get_flat(x, 1)); /* ties: the first index wins */
        wt_tensor *xd = up(&f, x);
        for (int dim = 0; dim < s->nd; dim++)
            for (int op = 0; op < WT_REDUCE_COUNT; op++) {
                bool exact = op != WT_REDUCE_SUM && op != WT_REDUCE_MEAN;
                check(&f, "reduce", wt_reduce(f.dev, (wt_reduce_op)op, xd, dim, op % 2 == 0),
                      wt_reduce(f.cpu, (wt_reduce_op)op, x, dim, op % 2 == 0), exact ? B_EXACT : B_RED);
            }
    }
    FX_END(&f);
}
END_TEST

START_TEST(test_rope) {
    fx f;
    fx_init(&f, 107);
    const int64_t ss[][4] = {{1, 1, 1, 2}, {2, 3, 4, 8}, {1, 5, 3, 64}, {3, 7, 2, 6}};
    for (int si = 0; si < 4; si++) {
        wt_tensor *x = rnd(&f, WT_F32, 4, ss[si], -2.0f, 2.0f), *xd = up(&f, x);
        wt_tensor *pos = wt_tensor_new2(f.cpu, WT_I64, ss[si][0], ss[si][1]);
        for (int64_t i = 0; i < ss[si][0] * ss[si][1]; i++) wt_set_flat(pos, i, (double)(i * 977 % 20011));
        wt_tensor *posd = up(&f, pos);
        for (int layout = 0; layout < 2; layout++)
            check(&f, "rope", wt_rope(f.dev, xd, posd, 10000.0f, (wt_rope_layout)layout),
                  wt_rope(f.cpu, x, pos, 10000.0f, (wt_rope_layout)layout), B_RED);
    }
    FX_END(&f);
}
END_TEST

START_TEST(test_conv) {
    fx f;
    fx_init(&f, 108);
    struct cfg { int64_t b, cin, cout, t, k; int stride, pl, pr, dil, groups; };
    /* groups > 1 or < 8 outputs run the direct kernels, the rest the GEMM form (im2col
     * or col2im around cuBLAS), incl. codec-like sizes split over batch */
    const struct cfg cfgs[] = {{1, 1, 1, 1, 1, 1, 0, 0, 1, 1},    {2, 3, 5, 37, 3, 1, 2, 0, 1, 1},
                               {1, 4, 6, 300, 4, 2, 3, 0, 1, 2},  {2, 8, 8, 65, 7, 1, 6, 0, 3, 8},
                               {1, 6, 4, 20, 5, 3, 1, 2, 2, 2},   {3, 33, 17, 130, 7, 1, 6, 0, 1, 1},
                               {2, 16, 40, 96, 8, 4, 4, 0, 1, 1}, {2, 12, 9, 41, 3, 1, 4, 0, 2, 1}};
    const wt_dtype dts[] = {WT_F32, WT_F16, WT_BF16};
    /* the GEMM form rounds activations to the weights' dtype (cuBLAS takes
     * one input type), so its bounds are the matmul ones */
    const double bounds[] = {B_MM_F32, B_MM_F16, B_MM_BF16};
    for (int ci = 0; ci < (int)(sizeof cfgs / sizeof cfgs[0]); ci++) {
        const struct cfg *c = &cfgs[ci];
        int64_t xs[3] = {c->b, c->cin, c->t}, ws[3] = {c->cout, c->cin / c->groups, c->k};
        int64_t wts[3] = {c->cin, c->cout / c->groups, c->k};
        wt_tensor *x = rnd(&f, WT_F32, 3, xs, -1.0f, 1.0f), *xd = up(&f, x);
        wt_tensor *bias = rnd(&f, WT_F32, 1, &c->cout, -1.0f, 1.0f), *biasd = up(&f, bias);
        for (int t = 0; t < 3; t++) {
            wt_tensor *w = rnd(&f, dts[t], 3, ws, -1.0f, 1.0f), *wd = up(&f, w);
            check(&f, "conv1d", wt_conv1d(f.dev, xd, wd, biasd, c->stride, c->pl, c->pr, c->dil, c->groups),
                  wt_conv1d(f.cpu, x, w, bias, c->stride, c->pl, c->pr, c->dil, c->groups), bounds[t]);
            wt_tensor *wt = rnd(&f, dts[t], 3, wts, -1.0f, 1.0f), *wtd = up(&f, wt);
            int padding = c->k > 2 ? 1 : 0, op = c->stride > 1 ? 1 : 0;
            check(&f, "conv_transpose1d",
                  wt_conv_transpose1d(f.dev, xd, wtd, t ? NULL : biasd, c->stride, padding, op, c->dil, c->groups),
                  wt_conv_transpose1d(f.cpu, x, wt, t ? NULL : bias, c->stride, padding, op, c->dil, c->groups),
                  bounds[t]);
        }
    }
    FX_END(&f);
}
END_TEST

/* ---- attention over a cache ---- */

START_TEST(test_attention) {
    fx f;
    fx_init(&f, 109);
    /* B, n, H, KVH, hd, S, window, ring, batched cache, transposed ([S, hd]) cache */
    const int64_t cfgs[][10] = {{1, 1, 1, 1, 1, 1, 0, 0, 0, 0},   {1, 1, 4, 2, 8, 40, 0, 0, 0, 0},
                                {2, 3, 4, 1, 16, 300, 0, 0, 1, 0}, {1, 5, 8, 2, 64, 70, 7, 0, 0, 1},
                                {3, 2, 2, 2, 6, 33, 0, 1, 1, 0},  {1, 4, 6, 3, 12, 16, 5, 1, 0, 1}};
    for (int ci = 0; ci < 6; ci++) {
        const int64_t *c = cfgs[ci];
        int64_t B = c[0], n = c[1], H = c[2], KVH = c[3], hd = c[4], S = c[5], win = c[6];
        bool ring = c[7], batched = c[8], tr = c[9];
        int64_t qs[4] = {B, n, H, hd}, ks[4] = {B, KVH, hd, S}, kts[4] = {B, KVH, S, hd};
        wt_tensor *q = rnd(&f, WT_F32, 4, qs, -1.0f, 1.0f);
        int kn = batched ? 4 : 3;
        const int64_t *kshape = tr ? kts + (batched ? 0 : 1) : ks + (batched ? 0 : 1);
        wt_tensor *k = rnd(&f, WT_F32, kn, kshape, -1.0f, 1.0f), *v = rnd(&f, WT_F32, kn, kshape, -1.0f, 1.0f);
        wt_tensor *kd = up(&f, k), *vd = up(&f, v), *qd = up(&f, q);
        const wt_tensor *kc = k, *vc = v, *kdd = kd, *vdd = vd;
        if (tr) { /* [.., S, hd] storage seen as [.., hd, S]: slot stride hd */
            kc = wt_transpose(f.cpu, k, -1, -2);
            vc = wt_transpose(f.cpu, v, -1, -2);
            kdd = wt_transpose(f.dev, kd, -1, -2);
            vdd = wt_transpose(f.dev, vd, -1, -2);
        }
        int64_t ps[2] = {B, n};
        wt_tensor *pos = wt_tensor_new(f.cpu, WT_I64, 2, ps);
        for (int64_t i = 0; i < B * n; i++)
            wt_set_flat(pos, i, ring ? (double)(S + 3 * i) : (double)((S - 1) - (i * 5) % S));
        wt_tensor *posd = up(&f, pos);
        if (!ring) {
            check(&f, "attention_cached", wt_attention_cached(f.dev, qd, kdd, vdd, posd, 0.3f, win),
                  wt_attention_cached(f.cpu, q, kc, vc, pos, 0.3f, win), B_RED);
        } else {
            int64_t sps[2] = {B, S};
            wt_tensor *sp = wt_tensor_new(f.cpu, WT_I64, 2, sps);
            for (int64_t b = 0; b < B; b++)
                for (int64_t s = 0; s < S; s++) /* wrapped ring, some empty slots */
                    wt_set_flat(sp, b * S + s, s % 5 == 4 ? -1.0 : (double)(s + S + b));
            check(&f, "attention_ring", wt_attention_ring(f.dev, qd, kdd, vdd, posd, up(&f, sp), 0.3f, win),
                  wt_attention_ring(f.cpu, q, kc, vc, pos, sp, 0.3f, win), B_RED);
        }
    }
    FX_END(&f);
}
END_TEST

/* ---- a streaming step: eager vs captured graph vs CPU ---- */

enum { C_IN = 4, T_FR = 4, C_HID = 8, NH = 2, HD = 4, SLOTS = 8, TAIL = 2, KW = 3 };

/* A step's persistent state and weights on one backend (fixed addresses). */
typedef struct step_model {
    wt_ctx *hold;                     /* state and weights (heap) */
    wt_tensor *x_in, *y_out;          /* [1, C_IN, T_FR], [1, T_FR, C_HID] */
    wt_tensor *tail;                  /* conv state [1, C_IN, TAIL] */
    wt_tensor *kc, *vc;               /* [C_HID, SLOTS] rings shifted in place */
    wt_tensor *slotf, *posf;          /* f32 positions: slots [SLOTS], queries [T_FR] */
    wt_tensor *cw, *ln_w, *wq, *wk, *wv, *wo;
} step_model;

static wt_tensor *to_be(wt_ctx *hold, const wt_backend *be, const wt_tensor *h) {
    wt_tensor *d = wt_tensor_new(hold, h->dtype, h->ndim, h->shape);
    if (d && be->upload(d->data, h->data, wt_nbytes(h)) != WT_OK) return NULL;
    return d;
}

static bool step_model_init(step_model *m, const wt_backend *be, uint64_t seed) {
    wt_ctx *tmp = wt_ctx_new_heap(NULL);
    wt_test_rng r;
    wt_test_rng_seed(&r, seed);
    m->hold = wt_ctx_new_heap(be);
    int64_t cws[3] = {C_HID, C_IN, KW};
    wt_tensor *cw = wt_tensor_new(tmp, WT_F32, 3, cws), *lw = wt_tensor_new1(tmp, WT_F32, C_HID);
    wt_tensor *w[4];
    for (int i = 0; i < 4; i++) w[i] = wt_tensor_new2(tmp, WT_F32, C_HID, C_HID);
    wt_test_fill_uniform(cw, &r, -0.5f, 0.5f);
    wt_test_fill_uniform(lw, &r, 0.5f, 1.5f);
    for (int i = 0; i < 4; i++) wt_test_fill_uniform(w[i], &r, -0.4f, 0.4f);
    m->cw = to_be(m->hold, be, cw);
    m->ln_w = to_be(m->hold, be, lw);
    m->wq = to_be(m->hold, be, wt_to_dtype(tmp, w[0], WT_F16));
    m->wk = to_be(m->hold, be, wt_to_dtype(tmp, w[1], WT_BF16));
    m->wv = to_be(m->hold, be, w[2]);
    m->wo = to_be(m->hold, be, wt_to_dtype(tmp, w[3], WT_F16));
    int64_t xs[3] = {1, C_IN, T_FR}, ys[3] = {1, T_FR, C_HID}, ts[3] = {1, C_IN, TAIL};
    m->x_in = wt_tensor_new(m->hold, WT_F32, 3, xs);
    m->y_out = wt_tensor_new(m->hold, WT_F32, 3, ys);
    m->tail = wt_fill_(m->hold, wt_tensor_new(m->hold, WT_F32, 3, ts), 0.0);
    m->kc = wt_fill_(m->hold, wt_tensor_new2(m->hold, WT_F32, C_HID, SLOTS), 0.0);
    m->vc = wt_fill_(m->hold, wt_tensor_new2(m->hold, WT_F32, C_HID, SLOTS), 0.0);
    m->slotf = wt_fill_(m->hold, wt_tensor_new1(m->hold, WT_F32, SLOTS), -1.0); /* empty */
    wt_tensor *p0 = wt_tensor_new1(tmp, WT_F32, T_FR);
    for (int i = 0; i < T_FR; i++) wt_set_flat(p0, i, i);
    m->posf = to_be(m->hold, be, p0);
    wt_ctx_free(tmp);
    return wt_ctx_status(m->hold) == WT_OK && m->posf && m->wo;
}

/* Shift a ring left by `by` slots along its last dim and write `fresh` at
 * its end (static addresses; no index op, so no host read). */
static void ring_push(wt_ctx *c, wt_tensor *ring, const wt_tensor *fresh, int64_t by) {
    int64_t s = wt_size(ring, -1);
    wt_tensor *keep = wt_contiguous(c, wt_narrow(c, ring, -1, by, s - by));
    wt_copy_(c, wt_narrow(c, ring, -1, 0, s - by), keep);
    wt_copy_(c, wt_narrow(c, ring, -1, s - by, by), fresh);
}

/* One frame: x_in -> causal conv (tail state) -> GELU -> layer norm ->
 * q (f16, rope), k (bf16, rope), v (f32) -> KV ring push -> ring attention
 * at positions from device state -> output projection (f16) + residual ->
 * y_out; positions advance on the device. Only ops on fixed buffers and an
 * arena: capturable. */
static void step_run(step_model *m, wt_ctx *c) {
    const wt_tensor *parts[2] = {m->tail, m->x_in};
    wt_tensor *xx = wt_cat(c, parts, 2, 2);                                /* [1, C_IN, TAIL+T_FR] */
    wt_copy_(c, m->tail, wt_narrow(c, xx, 2, T_FR, TAIL));
    wt_tensor *h = wt_conv1d(c, xx, m->cw, NULL, 1, 0, 0, 1, 1);            /* [1, C_HID, T_FR] */
    h = wt_unary(c, WT_UNARY_GELU_ERF, h, 0);
    h = wt_contiguous(c, wt_transpose(c, h, 1, 2));                        /* [1, T_FR, C_HID] */
    h = wt_layer_norm(c, h, m->ln_w, NULL, 1e-5f);
    wt_tensor *pos = wt_to_dtype(c, m->posf, WT_I64);                      /* [T_FR] */
    const int64_t q4[4] = {1, T_FR, NH, HD};
    wt_tensor *q = wt_rope(c, wt_view(c, wt_linear(c, h, m->wq, NULL), 4, q4), pos, 10000.0f, WT_ROPE_INTERLEAVED);
    wt_tensor *k = wt_rope(c, wt_view(c, wt_linear(c, h, m->wk, NULL), 4, q4), pos, 10000.0f, WT_ROPE_HALVES);
    wt_tensor *v = wt_linear(c, h, m->wv, NULL);
    const int64_t kv2[2] = {T_FR, C_HID};
    ring_push(c, m->kc, wt_transpose(c, wt_view(c, k, 2, kv2), 0, 1), T_FR);
    ring_push(c, m->vc, wt_transpose(c, wt_view(c, v, 2, kv2), 0, 1), T_FR);
    ring_push(c, m->slotf, m->posf, T_FR);
    wt_tensor *slots_new = wt_to_dtype(c, m->slotf, WT_I64);
    wt_tensor *a = wt_attention_ring(c, q, m->kc, m->vc, pos, slots_new, 0.5f, 6); /* [1, T_FR, C_HID] */
    wt_tensor *y = wt_add(c, wt_linear(c, a, m->wo, NULL), h);
    wt_copy_(c, m->y_out, y);
    wt_affine_(c, m->posf, 1.0f, (float)T_FR);
}

static void frame_in(float *x, int step) {
    for (int i = 0; i < C_IN * T_FR; i++) x[i] = sinf(0.37f * (float)(step + 1) * (float)(i + 1)) + 0.01f * (float)i;
}

START_TEST(test_graph_replay_equals_eager) {
    enum { STEPS = 200, NY = T_FR * C_HID };
    const wt_backend *be = dev_backend();
    static float eager[STEPS][NY], replay[STEPS][NY], cpu[STEPS][NY];
    float xin[C_IN * T_FR];
    int bad = 0;
    /* the CPU reference and the device, eagerly, each on an arena planned by a dry run */
    for (int pass = 0; pass < 2; pass++) {
        step_model m;
        const wt_backend *b = pass ? be : wt_cpu_backend();
        ck_assert(step_model_init(&m, b, 7));
        wt_ctx *heap = wt_ctx_new_heap(b);
        step_run(&m, heap); /* dry run; then start over */
        ck_assert_msg(wt_ctx_status(heap) == WT_OK, "%s", wt_ctx_error(heap));
        wt_ctx *arena = wt_ctx_new_arena_like(heap);
        wt_ctx_free(heap);
        wt_ctx_free(m.hold);
        ck_assert(step_model_init(&m, b, 7));
        for (int t = 0; t < STEPS; t++) {
            frame_in(xin, t);
            bad += b->upload(m.x_in->data, xin, sizeof xin) != WT_OK;
            wt_ctx_reset(arena);
            step_run(&m, arena);
            bad += wt_ctx_status(arena) != WT_OK;
            bad += b->download(pass ? eager[t] : cpu[t], m.y_out->data, sizeof eager[t]) != WT_OK;
        }
        wt_ctx_free(arena);
        wt_ctx_free(m.hold);
    }
    ck_assert_int_eq(bad, 0);
    /* the device step captured once and replayed */
    step_model m;
    ck_assert(step_model_init(&m, be, 7));
    wt_ctx *heap = wt_ctx_new_heap(be);
    step_model dry;
    ck_assert(step_model_init(&dry, be, 7));
    step_run(&dry, heap);
    wt_ctx *arena = wt_ctx_new_arena_like(heap);
    wt_ctx_free(heap);
    wt_ctx_free(dry.hold);
    ck_assert_int_eq(dev_sync(), WT_OK);
    ck_assert_int_eq(dev_capture_begin(), WT_OK);
    wt_ctx_reset(arena);
    step_run(&m, arena);
    void *g = dev_capture_end();
    ck_assert_msg(g != NULL, "capture: %s", wt_last_error());
    ck_assert_msg(wt_ctx_status(arena) == WT_OK, "%s", wt_ctx_error(arena));
    uint64_t allocs = wt_test_alloc_calls();
    for (int t = 0; t < STEPS; t++) {
        frame_in(xin, t);
        bad += be->upload(m.x_in->data, xin, sizeof xin) != WT_OK;
        bad += dev_graph_launch(g) != WT_OK;
        bad += be->download(replay[t], m.y_out->data, sizeof replay[t]) != WT_OK;
    }
    uint64_t replay_allocs = wt_test_alloc_calls() - allocs;
    dev_graph_free(g);
    wt_ctx_free(arena);
    wt_ctx_free(m.hold);
    ck_assert_int_eq(bad, 0);
    ck_assert_uint_eq(replay_allocs, 0);
    ck_assert_int_eq(memcmp(eager, replay, sizeof eager), 0);
    double num = 0, den = 0, moved = 0;
    for (int t = 0; t < STEPS; t++)
        for (int i = 0; i < NY; i++) {
            num += (eager[t][i] - cpu[t][i]) * (double)(eager[t][i] - cpu[t][i]);
            den += (double)cpu[t][i] * cpu[t][i];
            if (t) moved += fabs(cpu[t][i] - cpu[t - 1][i]);
        }
    /* the f16/bf16 projections round the activations on the device */
    ck_assert_msg(num / den <= B_MM_BF16, "device vs cpu nmse %g", num / den);
    ck_assert(moved > 1.0); /* the step really changes with input and position */
}
END_TEST

/* ---- wt_step_graph: warm-up, capture, replay; and the eager switch ---- */

typedef struct acc_step {
    wt_ctx *arena;
    wt_tensor *in, *acc, *out; /* fixed tensors: input, state, output */
    int calls;
} acc_step;

/* acc = acc * 0.5 + in; out = tanh(acc) + 1 */
static wt_status acc_run(void *user) {
    acc_step *a = user;
    a->calls++;
    wt_ctx_reset(a->arena);
    wt_tensor *h = wt_affine(a->arena, a->acc, 0.5f, 0.0f);
    wt_add_(a->arena, h, a->in);
    wt_copy_(a->arena, a->acc, h);
    wt_copy_(a->arena, a->out, wt_affine(a->arena, wt_unary(a->arena, WT_UNARY_TANH, h, 0.0f), 1.0f, 1.0f));
    return wt_ctx_status(a->arena);
}

START_TEST(test_step_graph) {
    const wt_backend *be = dev_backend();
    enum { N = 37, RUNS = 12 };
    float in[N], out[2][RUNS][N], ref[RUNS][N], acc[N] = {0};
    int calls[2], bad = 0;
    for (int t = 0; t < RUNS; t++)
        for (int i = 0; i < N; i++) {
            in[i] = (float)sin(0.3 * i + t);
            acc[i] = acc[i] * 0.5f + in[i];
            ref[t][i] = tanhf(acc[i]) + 1.0f;
        }
    for (int use = 0; use < 2; use++) {
        wt_ctx *hold = wt_ctx_new_heap(be);
        acc_step a = {.arena = wt_ctx_new_arena(be, 1 << 16, 64)};
        a.in = wt_tensor_new1(hold, WT_F32, N);
        a.acc = wt_fill_(hold, wt_tensor_new1(hold, WT_F32, N), 0.0);
        a.out = wt_tensor_new1(hold, WT_F32, N);
        wt_step_graph *g = wt_step_graph_new(be, use == 1);
        bad += !g || !a.in || !a.acc || !a.out;
        for (int t = 0; g && a.out && t < RUNS; t++) {
            for (int i = 0; i < N; i++) in[i] = (float)sin(0.3 * i + t);
            bad += be->upload(a.in->data, in, sizeof in) != WT_OK;
            bad += wt_step_graph_run(g, acc_run, &a) != WT_OK;
            bad += be->download(out[use][t], a.out->data, sizeof out[use][t]) != WT_OK;
        }
        calls[use] = a.calls;
        wt_step_graph_free(g);
        wt_ctx_free(a.arena);
        wt_ctx_free(hold);
    }
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(calls[0], RUNS);
    /* graphs: one warm-up run, one captured, every later run a replay */
    ck_assert_int_eq(calls[1], getenv("WT_GRAPHS") && strcmp(getenv("WT_GRAPHS"), "0") == 0 ? RUNS : 2);
    for (int t = 0; t < RUNS; t++)
        for (int i = 0; i < N; i++) {
            ck_assert_float_eq(out[1][t][i], out[0][t][i]);
            ck_assert_float_eq_tol(out[0][t][i], ref[t][i], 1e-5f);
        }
}
END_TEST

/* A step that synchronises cannot be captured: the runner falls back to
 * running it eagerly, with the same results. */
static wt_status acc_run_syncing(void *user) {
    acc_step *a = user;
    wt_status s = acc_run(user);
    float probe;
    /* a host read of device memory: spoils a capture */
    wt_status d = wt_ctx_backend(a->arena)->download(&probe, a->out->data, sizeof probe);
    return s != WT_OK ? s : d;
}

START_TEST(test_step_graph_spoiled_capture) {
    const wt_backend *be = dev_backend();
    enum { N = 16, RUNS = 5 };
    float in[N], out[RUNS][N], ref[RUNS][N], acc[N] = {0};
    int bad = 0;
    for (int t = 0; t < RUNS; t++)
        for (int i = 0; i < N; i++) {
            in[i] = (float)cos(0.7 * i - t);
            acc[i] = acc[i] * 0.5f + in[i];
            ref[t][i] = tanhf(acc[i]) + 1.0f;
        }
    wt_ctx *hold = wt_ctx_new_heap(be);
    acc_step a = {.arena = wt_ctx_new_arena(be, 1 << 16, 64)};
    a.in = wt_tensor_new1(hold, WT_F32, N);
    a.acc = wt_fill_(hold, wt_tensor_new1(hold, WT_F32, N), 0.0);
    a.out = wt_tensor_new1(hold, WT_F32, N);
    wt_step_graph *g = wt_step_graph_new(be, true);
    bool wanted = g && wt_step_graph_enabled(g);
    for (int t = 0; g && a.out && t < RUNS; t++) {
        for (int i = 0; i < N; i++) in[i] = (float)cos(0.7 * i - t);
        bad += be->upload(a.in->data, in, sizeof in) != WT_OK;
        bad += wt_step_graph_run(g, acc_run_syncing, &a) != WT_OK;
        bad += be->download(out[t], a.out->data, sizeof out[t]) != WT_OK;
    }
    bool still = g && wt_step_graph_enabled(g);
    wt_step_graph_free(g);
    wt_ctx_free(a.arena);
    wt_ctx_free(hold);
    ck_assert_int_eq(bad, 0);
    if (wanted) ck_assert(!still); /* graphs off after the spoiled capture */
    ck_assert_int_eq(a.calls, wanted ? RUNS + 1 : RUNS); /* + the spoiled capture */
    for (int t = 0; t < RUNS; t++)
        for (int i = 0; i < N; i++) ck_assert_float_eq_tol(out[t][i], ref[t][i], 1e-5f);
}
END_TEST

/* On a device the front-end cannot range-check indices: an out-of-range one
 * selects a zero row and scatters nothing (engine/backend.h). */
START_TEST(test_device_index_out_of_range) {
    fx f;
    fx_init(&f, 707);
    const int64_t sh[2] = {5, 3};
    wt_tensor *src = rnd(&f, WT_F32, 2, sh, -1, 1), *sd = up(&f, src);
    int64_t ids[4] = {4, -1, 5, 0};
    wt_tensor *ih = wt_tensor_wrap(f.cpu, WT_I64, 1, (int64_t[]){4}, ids), *id = up(&f, ih);
    wt_tensor *sel = down(&f, wt_index_select(f.dev, sd, 0, id));
    const int64_t rsh[2] = {4, 3};
    wt_tensor *rows = rnd(&f, WT_F32, 2, rsh, 2, 3), *rd = up(&f, rows);
    wt_tensor *dst = up(&f, src);
    wt_scatter_set_(f.dev, dst, 0, id, rd);
    wt_tensor *sc = down(&f, dst);
    ck_assert_ptr_nonnull(sel);
    ck_assert_ptr_nonnull(sc);
    for (int j = 0; j < 3; j++) {
        ck_assert_float_eq(wt_get_flat(sel, 0 * 3 + j), wt_get_flat(src, 4 * 3 + j));
        ck_assert_float_eq(wt_get_flat(sel, 1 * 3 + j), 0.0);
        ck_assert_float_eq(wt_get_flat(sel, 2 * 3 + j), 0.0);
        ck_assert_float_eq(wt_get_flat(sel, 3 * 3 + j), wt_get_flat(src, j));
        ck_assert_float_eq(wt_get_flat(sc, 4 * 3 + j), wt_get_flat(rows, j));
        ck_assert_float_eq(wt_get_flat(sc, 0 * 3 + j), wt_get_flat(rows, 3 * 3 + j));
        for (int r = 1; r < 4; r++) ck_assert_float_eq(wt_get_flat(sc, r * 3 + j), wt_get_flat(src, r * 3 + j));
    }
    FX_END(&f);
}
END_TEST

int main(void) {
    if (!dev_suite_start()) return SKIP_CODE;
    /* the models' golden cases on the device: tests/test_cuda_{mimi,demucs,llama}.c */
    Suite *s = suite_create("cuda_backend");
    TCase *tc = tcase_create("ops");
    tcase_set_timeout(tc, 1200);
    tcase_add_test(tc, test_copy_fill_cast);
    tcase_add_test(tc, test_elementwise);
    tcase_add_test(tc, test_matmul);
    tcase_add_test(tc, test_index_scatter);
    tcase_add_test(tc, test_softmax_norms);
    tcase_add_test(tc, test_reduce);
    tcase_add_test(tc, test_rope);
    tcase_add_test(tc, test_conv);
    tcase_add_test(tc, test_attention);
    tcase_add_test(tc, test_graph_replay_equals_eager);
    tcase_add_test(tc, test_step_graph);
    tcase_add_test(tc, test_step_graph_spoiled_capture);
    tcase_add_test(tc, test_device_index_out_of_range);
    suite_add_tcase(s, tc);
    return wt_test_run(s);
}
