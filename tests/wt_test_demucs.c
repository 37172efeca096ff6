/* Demucs golden cases (wt_test_demucs.h). */
#include "wt_test_demucs.h"

#include <stdlib.h>
#include <string.h>

#include "wt_test.h"
#include "wt_test_proc.h"

const char *const WT_TEST_DEMUCS_CASES[] = {"tiny-noisy", "small-h12-noisy"};

float *io_f32(const golden *g, const char *name, int64_t *n) {
    const wt_st_entry *e = wt_st_find(g->io, name);
    ck_assert_msg(e != NULL, "golden tensor %s missing", name);
    ck_assert_int_eq(e->dtype, WT_F32);
    *n = (int64_t)(e->nbytes / 4);
    float *p = malloc(e->nbytes ? e->nbytes : 4);
    memcpy(p, e->data, e->nbytes);
    return p;
}

int64_t *io_i64(const golden *g, const char *name, int64_t *n) {
    const wt_st_entry *e = wt_st_find(g->io, name);
    ck_assert_msg(e != NULL, "golden tensor %s missing", name);
    ck_assert_int_eq(e->dtype, WT_I64);
    *n = (int64_t)(e->nbytes / 8);
    int64_t *p = malloc(e->nbytes ? e->nbytes : 8);
    memcpy(p, e->data, e->nbytes);
    return p;
}

double tolerance(const golden *g, const char *name) {
    cJSON *t = cJSON_GetObjectItem(cJSON_GetObjectItem(g->meta, "tolerance"), "per_tensor");
    cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(t, name), "max_abs_over_rms");
    ck_assert_msg(cJSON_IsNumber(v), "no tolerance for %s", name);
    return v->valuedouble;
}

int64_t meta_int(const golden *g, const char *obj, const char *sub, const char *key) {
    cJSON *o = cJSON_GetObjectItem(g->meta, obj);
    if (sub) o = cJSON_GetObjectItem(o, sub);
    cJSON *v = key ? cJSON_GetObjectItem(o, key) : o;
    ck_assert_msg(cJSON_IsNumber(v), "case.json: %s.%s missing", obj, key ? key : "");
    return (int64_t)v->valuedouble;
}

double err_over_rms(const float *y, const float *ref, int64_t n) {
    return wt_test_max_abs_diff(y, ref, n) / wt_test_rms(ref, n);
}

void demucs_golden_open(golden *g, int i, const wt_backend *be) {
    memset(g, 0, sizeof *g);
    char rel[256], path[1200];
    snprintf(rel, sizeof rel, "demucs/%s", WT_TEST_DEMUCS_CASES[i]);
    wt_test_golden(g->dir, sizeof g->dir, rel);
    snprintf(path, sizeof path, "%s/case.json", g->dir);
    char *text = wt_test_read_text(path);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    g->meta = cJSON_Parse(text);
    free(text);
    ck_assert_ptr_nonnull(g->meta);
    const char *cfg = cJSON_GetObjectItem(g->meta, "config")->valuestring;
    snprintf(rel, sizeof rel, "demucs/%s", cfg);
    ck_assert_msg(wt_demucs_config_load(wt_test_golden(path, sizeof path, rel), &g->cfg) == WT_OK,
                  "%s", wt_last_error());
    snprintf(path, sizeof path, "%s/model.safetensors", g->dir);
    g->model = wt_demucs_new_on(be, &g->cfg, path, WT_F32);
    ck_assert_msg(g->model != NULL, "%s", wt_last_error());
    snprintf(path, sizeof path, "%s/io.safetensors", g->dir);
    g->io = wt_st_open(path);
    ck_assert_msg(g->io != NULL, "%s", wt_last_error());
    g->noisy = io_f32(g, "noisy", &g->T);
    ck_assert_int_eq(g->T, meta_int(g, "T", NULL, NULL));
}

void demucs_golden_close(golden *g) {
    wt_demucs_free(g->model);
    wt_st_close(g->io);
    cJSON_Delete(g->meta);
    free(g->noisy);
}
