/* Llama golden references (wt_test_llama.h). */
#include "wt_test_llama.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wt_test.h"

float *wt_test_llama_logits(const char *dir, const char *name, int64_t rows, int64_t vocab) {
    char path[1024], rel[512];
    snprintf(rel, sizeof rel, "llama/%s/logits.safetensors", dir);
    wt_st_file *f = wt_st_open(wt_test_golden(path, sizeof path, rel));
    ck_assert_msg(f != NULL, "%s", wt_last_error());
    const wt_st_entry *e = wt_st_find(f, name);
    ck_assert_msg(e != NULL, "no logits %s", name);
    ck_assert_int_eq(e->dtype, WT_F32);
    ck_assert_int_eq(e->shape[1], vocab);
    ck_assert_int_ge(e->shape[0], rows);
    float *out = malloc((size_t)(rows * vocab) * sizeof *out);
    memcpy(out, e->data, (size_t)(rows * vocab) * sizeof *out);
    wt_st_close(f);
    return out;
}

void wt_test_llama_generate_check(wt_llama *m, const char *name, const int32_t *prompt, int64_t np,
                                  int64_t steps, const int32_t *expect, int64_t ne, int64_t nfwd,
                                  const char *stop, int32_t *got, int64_t cap) {
    wt_llama_gen r;
    wt_status st = wt_llama_generate(m, prompt, np, steps, NULL, false, got, cap, NULL, NULL, &r);
    ck_assert_msg(st == WT_OK, "%s: %s", name, wt_last_error());
    ck_assert_msg(r.n_generated == ne, "%s: %lld ids, expected %lld", name,
                  (long long)r.n_generated, (long long)ne);
    for (int64_t i = 0; i < ne; i++)
        ck_assert_msg(got[i] == expect[i], "%s: id %lld is %d, expected %d", name, (long long)i,
                      got[i], expect[i]);
    ck_assert_int_eq(r.n_forward, nfwd);
    ck_assert_str_eq(r.stop == WT_LLAMA_STOP_BOS ? "bos" : "steps", stop);
}

void wt_test_llama_logits_check(wt_llama *m, const char *name, const char *dir, const char *tensor,
                                const int32_t *toks, int64_t rows) {
    int64_t V = wt_llama_cfg(m)->vocab;
    float *ref = wt_test_llama_logits(dir, tensor, rows, V);
    float *all = malloc((size_t)(rows * V) * sizeof *all);
    wt_llama_reset(m);
    ck_assert_msg(wt_llama_prefill(m, toks, rows, all) == WT_OK, "%s", wt_last_error());
    double dpre = wt_test_max_abs_diff(all, ref, rows * V);
    double dlast = wt_test_max_abs_diff(wt_llama_logits(m), ref + (rows - 1) * V, V);
    wt_llama_reset(m);
    double dstep = 0;
    for (int64_t p = 0; p < rows; p++) {
        ck_assert_msg(wt_llama_step(m, toks[p]) == WT_OK, "%s", wt_last_error());
        double d = wt_test_max_abs_diff(wt_llama_logits(m), ref + p * V, V);
        if (d > dstep) dstep = d;
    }
    ck_assert_msg(dpre <= 1e-4, "%s: prefill logits off by %g", name, dpre);
    ck_assert_msg(dlast <= 1e-4, "%s: last prefill logits off by %g", name, dlast);
    ck_assert_msg(dstep <= 1e-4, "%s: step logits off by %g", name, dstep);
    free(all);
    free(ref);
}
