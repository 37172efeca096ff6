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
