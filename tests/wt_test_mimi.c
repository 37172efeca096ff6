/* Mimi golden cases (wt_test_mimi.h). */
#include "wt_test_mimi.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "wt_test.h"

void mimi_golden_open(golden *g, const char *name, const wt_backend *be) {
    char p[512], rel[128];
    memset(g, 0, sizeof *g);
    snprintf(rel, sizeof rel, "mimi/%s/config.json", name);
    ck_assert_msg(wt_mimi_config_load(wt_test_golden(p, sizeof p, rel), &g->cfg) == WT_OK, "%s",
                  wt_last_error());
    snprintf(rel, sizeof rel, "mimi/%s/model.safetensors", name);
    g->m = wt_mimi_load_on(be, &g->cfg, wt_test_golden(p, sizeof p, rel), WT_F32);
    ck_assert_msg(g->m != NULL, "%s", wt_last_error());
    g->be = wt_mimi_backend(g->m);
    snprintf(rel, sizeof rel, "mimi/%s/io.safetensors", name);
    g->io = wt_st_open(wt_test_golden(p, sizeof p, rel));
    ck_assert_msg(g->io != NULL, "%s", wt_last_error());
    g->cpu = wt_ctx_new_heap(NULL);
    g->dev = wt_ctx_new_heap(g->be);
    ck_assert_ptr_nonnull(g->dev);
    const wt_st_entry *c = wt_st_find(g->io, "codes");
    ck_assert_ptr_nonnull(c);
    g->b = c->shape[0];
    g->k = c->shape[1];
    g->frames = c->shape[2];
    g->fs = wt_mimi_frame_size(&g->cfg);
}

void mimi_golden_close(golden *g) {
    wt_ctx_free(g->dev);
    wt_ctx_free(g->cpu);
    wt_st_close(g->io);
    wt_mimi_free(g->m);
}

wt_tensor *io_get(golden *g, const char *name) {
    const wt_st_entry *e = wt_st_find(g->io, name);
    ck_assert_msg(e != NULL, "io.safetensors lacks %s", name);
    wt_tensor *t = wt_st_load(g->cpu, e, e->dtype);
    ck_assert_msg(t != NULL, "%s", wt_last_error());
    return t;
}

wt_tensor *down(golden *g, const wt_tensor *d, const char *what) {
    ck_assert_msg(d != NULL, "%s not produced: %s", what, wt_ctx_error(g->dev));
    ck_assert_ptr_eq(d->backend, g->be);
    const wt_tensor *c = wt_is_contiguous(d) ? d : wt_contiguous(g->dev, d);
    ck_assert_ptr_nonnull(c);
    wt_tensor *h = wt_tensor_new(g->cpu, c->dtype, c->ndim, c->shape);
    ck_assert_int_eq(g->be->download(h->data, c->data, wt_nbytes(c)), WT_OK);
    return h;
}

double rel_err_arr(const float *a, const float *e, int64_t n) {
    double m = 0, s = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - e[i]);
        if (!(d <= m)) m = isnan(d) ? INFINITY : d;
        s += (double)e[i] * e[i];
    }
    return m / sqrt(s / (double)n);
}

void check_float(golden *g, const wt_tensor *a, const char *name, double tol) {
    ck_assert_msg(a != NULL, "%s not produced", name);
    const wt_tensor *h = a->backend == g->be ? down(g, a, name) : a;
    wt_tensor *e = io_get(g, name);
    ck_assert_int_eq(h->dtype, WT_F32);
    ck_assert_int_eq(h->ndim, e->ndim);
    for (int d = 0; d < e->ndim; d++)
        ck_assert_msg(h->shape[d] == e->shape[d], "%s: shape mismatch at dim %d", name, d);
    double err = rel_err_arr(h->data, e->data, wt_numel(e));
    if (getenv("WT_TEST_VERBOSE")) fprintf(stderr, "  %-24s err %.3g (tol %.0e)\n", name, err, tol);
    ck_assert_msg(err <= tol, "%s: err %.3g > %.3g", name, err, tol);
}

void check_codes_arr(const int64_t *got, const int64_t *exp, int64_t b, int64_t k, int64_t f,
                     const uint8_t *act, const char *what) {
    int64_t bad_cols = 0, cols = 0, eq = 0, eq_sem = 0;
    for (int64_t i = 0; i < b; i++)
        for (int64_t t = 0; t < f; t++) {
            if (act && !act[t * b + i]) continue;
            cols++;
            int bad = 0;
            for (int64_t c = 0; c < k; c++) {
                int same = got[(i * k + c) * f + t] == exp[(i * k + c) * f + t];
                eq += same;
                eq_sem += c == 0 && same;
                bad |= !same;
            }
            bad_cols += bad;
        }
    ck_assert_int_gt(cols, 0);
    int ok = bad_cols <= 1 || ((double)eq_sem / (double)cols >= 0.99 &&
                               (double)eq / (double)(cols * k) >= 0.95);
    ck_assert_msg(ok, "%s: %lld of %lld frames differ (%lld/%lld codes equal)", what,
                  (long long)bad_cols, (long long)cols, (long long)eq, (long long)(cols * k));
}

void check_codes(golden *g, const wt_tensor *codes, const char *name) {
    ck_assert_msg(codes != NULL, "%s not produced", name);
    const wt_tensor *h = codes->backend == g->be ? down(g, codes, name) : codes;
    wt_tensor *e = io_get(g, name);
    ck_assert_int_eq(h->dtype, WT_I64);
    ck_assert_int_eq(h->shape[0], g->b);
    ck_assert_int_eq(h->shape[1], g->k);
    ck_assert_int_eq(h->shape[2], g->frames);
    check_codes_arr(h->data, e->data, g->b, g->k, g->frames, NULL, name);
}
