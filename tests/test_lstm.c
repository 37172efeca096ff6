/* LSTM layer against a plain double-precision loop of PyTorch's equations
 * (gates i, f, g, o; c' = f c + i g; h' = o tanh c'), written here
 * independently of engine/nn/lstm.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wavetensor/lstm.h"
#include "wt_test.h"

enum { T_LEN = 6, BATCH = 2, IN = 5, HID = 4, LAYERS = 2 };

/* Reference weights as plain arrays, index k = layer * dirs + dir. */
typedef struct ref_lstm {
    int dirs;
    float *w_ih[4], *w_hh[4], *b_ih[4], *b_hh[4];
    int in_size[4];
} ref_lstm;

static double sigm(double x) { return 1.0 / (1.0 + exp(-x)); }

/* One direction over x [T][B][in] -> y [T][B][H], state h, c [B][H] updated. */
static void ref_dir(const ref_lstm *r, int k, bool reverse, const double *x, int in, double *y,
                    double *h, double *c) {
    for (int s = 0; s < T_LEN; s++) {
        int t = reverse ? T_LEN - 1 - s : s;
        for (int b = 0; b < BATCH; b++) {
            double g[4 * HID];
            for (int n = 0; n < 4 * HID; n++) {
                double a = r->b_ih[k][n] + r->b_hh[k][n];
                for (int i = 0; i < in; i++) a += r->w_ih[k][n * in + i] * x[(t * BATCH + b) * in + i];
                for (int i = 0; i < HID; i++) a += r->w_hh[k][n * HID + i] * h[b * HID + i];
                g[n] = a;
            }
            for (int u = 0; u < HID; u++) {
                double ig = sigm(g[u]), fg = sigm(g[HID + u]), gg = tanh(g[2 * HID + u]),
                       og = sigm(g[3 * HID + u]);
                c[b * HID + u] = fg * c[b * HID + u] + ig * gg;
                h[b * HID + u] = og * tanh(c[b * HID + u]);
            }
            for (int u = 0; u < HID; u++) y[(t * BATCH + b) * HID + u] = h[b * HID + u];
        }
    }
}

/* Full multi-layer reference; h, c [L*dirs][B][H]. Returns y [T][B][dirs*H]. */
static double *ref_forward(const ref_lstm *r, const float *xf, double *h, double *c) {
    int dirs = r->dirs;
    double *x = malloc(sizeof(double) * T_LEN * BATCH * IN);
    for (int i = 0; i < T_LEN * BATCH * IN; i++) x[i] = xf[i];
    int in = IN;
    for (int l = 0; l < LAYERS; l++) {
        double *y = calloc((size_t)T_LEN * BATCH * dirs * HID, sizeof(double));
        for (int d = 0; d < dirs; d++) {
            double yd[T_LEN * BATCH * HID];
            int k = l * dirs + d;
            ref_dir(r, k, d == 1, x, in, yd, h + k * BATCH * HID, c + k * BATCH * HID);
            for (int t = 0; t < T_LEN * BATCH; t++)
                for (int u = 0; u < HID; u++) y[t * dirs * HID + d * HID + u] = yd[t * HID + u];
        }
        free(x);
        x = y;
        in = dirs * HID;
    }
    return x;
}

/* Builds random weights as both engine tensors and reference arrays. */
static void make_weights(wt_ctx *ctx, wt_test_rng *rng, bool bi, wt_lstm *l, ref_lstm *r) {
    int dirs = bi ? 2 : 1;
    memset(r, 0, sizeof *r);
    r->dirs = dirs;
    *l = (wt_lstm){.input_size = IN, .hidden_size = HID, .num_layers = LAYERS, .bidirectional = bi};
    for (int k = 0; k < LAYERS * dirs; k++) {
        int in = k < dirs ? IN : dirs * HID;
        r->in_size[k] = in;
        wt_tensor *wih = wt_tensor_new2(ctx, WT_F32, 4 * HID, in);
        wt_tensor *whh = wt_tensor_new2(ctx, WT_F32, 4 * HID, HID);
        wt_tensor *bih = wt_tensor_new1(ctx, WT_F32, 4 * HID);
        wt_tensor *bhh = wt_tensor_new1(ctx, WT_F32, 4 * HID);
        wt_test_fill_uniform(wih, rng, -0.6f, 0.6f);
        wt_test_fill_uniform(whh, rng, -0.6f, 0.6f);
        wt_test_fill_uniform(bih, rng, -0.3f, 0.3f);
        wt_test_fill_uniform(bhh, rng, -0.3f, 0.3f);
        l->w_ih[k] = wih;
        l->w_hh[k] = whh;
        l->b_ih[k] = bih;
        l->b_hh[k] = bhh;
        r->w_ih[k] = wih->data;
        r->w_hh[k] = whh->data;
        r->b_ih[k] = bih->data;
        r->b_hh[k] = bhh->data;
    }
}

static void check_against_ref(bool bi, bool with_state) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng rng;
    wt_test_rng_seed(&rng, bi ? 11 : 7);
    wt_lstm l;
    ref_lstm r;
    make_weights(ctx, &rng, bi, &l, &r);
    int dirs = bi ? 2 : 1;
    wt_tensor *x = wt_tensor_new3(ctx, WT_F32, T_LEN, BATCH, IN);
    wt_test_fill_uniform(x, &rng, -1.5f, 1.5f);
    int ns = LAYERS * dirs * BATCH * HID;
    double *h = calloc((size_t)ns, sizeof(double)), *c = calloc((size_t)ns, sizeof(double));
    wt_tensor *th = NULL, *tc = NULL;
    if (with_state) {
        th = wt_tensor_new3(ctx, WT_F32, LAYERS * dirs, BATCH, HID);
        tc = wt_tensor_new3(ctx, WT_F32, LAYERS * dirs, BATCH, HID);
        wt_test_fill_uniform(th, &rng, -0.8f, 0.8f);
        wt_test_fill_uniform(tc, &rng, -0.8f, 0.8f);
        for (int i = 0; i < ns; i++) {
            h[i] = ((float *)th->data)[i];
            c[i] = ((float *)tc->data)[i];
        }
    }
    double *ref = ref_forward(&r, x->data, h, c);
    wt_tensor *y = wt_lstm_forward(ctx, &l, x, th, tc);
    ck_assert_msg(y != NULL, "%s", wt_ctx_error(ctx));
    ck_assert_int_eq(y->shape[0], T_LEN);
    ck_assert_int_eq(y->shape[1], BATCH);
    ck_assert_int_eq(y->shape[2], dirs * HID);
    for (int i = 0; i < T_LEN * BATCH * dirs * HID; i++)
        ck_assert_msg(fabs(wt_get_flat(y, i) - ref[i]) < 2e-6, "y[%d] = %g, ref %g", i,
                      wt_get_flat(y, i), ref[i]);
    if (with_state) {
        for (int i = 0; i < ns; i++) {
            ck_assert(fabs(((float *)th->data)[i] - h[i]) < 2e-6);
            ck_assert(fabs(((float *)tc->data)[i] - c[i]) < 4e-6);
        }
    }
    free(ref);
    free(h);
    free(c);
    wt_ctx_free(ctx);
}

START_TEST(test_uni_zero_state) { check_against_ref(false, false); }
END_TEST
START_TEST(test_uni_with_state) { check_against_ref(false, true); }
END_TEST
START_TEST(test_bi_zero_state) { check_against_ref(true, false); }
END_TEST
START_TEST(test_bi_with_state) { check_against_ref(true, true); }
END_TEST

/* A sequence split in two with the state carried equals the whole sequence. */
START_TEST(test_state_carry) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 3);
    wt_lstm l;
    ref_lstm r;
    make_weights(ctx, &rng, false, &l, &r);
    wt_tensor *x = wt_tensor_new3(ctx, WT_F32, T_LEN, BATCH, IN);
    wt_test_fill_uniform(x, &rng, -1, 1);
    wt_tensor *h = wt_tensor_new3(ctx, WT_F32, LAYERS, BATCH, HID);
    wt_tensor *c = wt_tensor_new3(ctx, WT_F32, LAYERS, BATCH, HID);
    wt_fill_(ctx, h, 0);
    wt_fill_(ctx, c, 0);
    wt_tensor *whole = wt_lstm_forward(ctx, &l, x, NULL, NULL);
    wt_tensor *a = wt_lstm_forward(ctx, &l, wt_narrow(ctx, x, 0, 0, 2), h, c);
    wt_tensor *b = wt_lstm_forward(ctx, &l, wt_contiguous(ctx, wt_narrow(ctx, x, 0, 2, T_LEN - 2)), h, c);
    ck_assert_ptr_nonnull(whole);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    int64_t half = 2 * BATCH * HID;
    for (int64_t i = 0; i < half; i++)
        ck_assert_float_eq_tol(wt_get_flat(a, i), wt_get_flat(whole, i), 1e-6);
    for (int64_t i = 0; i < (T_LEN - 2) * BATCH * HID; i++)
        ck_assert_float_eq_tol(wt_get_flat(b, i), wt_get_flat(whole, half + i), 1e-6);
    wt_ctx_free(ctx);
}
END_TEST

START_TEST(test_bad_input) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 5);
    wt_lstm l;
    ref_lstm r;
    make_weights(ctx, &rng, false, &l, &r);
    wt_tensor *x = wt_tensor_new3(ctx, WT_F32, 3, 1, IN + 1);
    ck_assert_ptr_null(wt_lstm_forward(ctx, &l, x, NULL, NULL));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "lstm"));
    wt_ctx_free(ctx);
}
END_TEST

int main(void) {
    Suite *s = suite_create("lstm");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_uni_zero_state);
    tcase_add_test(tc, test_uni_with_state);
    tcase_add_test(tc, test_bi_zero_state);
    tcase_add_test(tc, test_bi_with_state);
    tcase_add_test(tc, test_state_carry);
    tcase_add_test(tc, test_bad_input);
    suite_add_tcase(s, tc);
    return wt_test_run(s);
}
