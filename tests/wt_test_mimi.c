/* Mimi golden cases (wt_test_mimi.h). */
#include "wt_test_mimi.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "wt_test.h"

void mimi_golden_open(golden *g, const char *name, const wt_backend *be) {
    mimi_golden_open_as(g, name, be, WT_F32);
}

void mimi_golden_open_as(golden *g, const char *name, const wt_backend *be, wt_dtype dtype) {
    char p[512], rel[128];
    memset(g, 0, sizeof *g);
    snprintf(rel, sizeof rel, "mimi/%s/config.json", name);
    ck_assert_msg(wt_mimi_config_load(wt_test_golden(p, sizeof p, rel), &g->cfg) == WT_OK, "%s",
                  wt_last_error());
    snprintf(rel, sizeof rel, "mimi/%s/model.safetensors", name);
    g->m = wt_mimi_load_on(be, &g->cfg, wt_test_golden(p, sizeof p, rel), dtype);
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

wt_tensor *up(golden *g, const wt_tensor *h) {
    wt_tensor *d = wt_tensor_new(g->dev, h->dtype, h->ndim, h->shape);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(g->be->upload(d->data, h->data, wt_nbytes(h)), WT_OK);
    return d;
}

void mimi_check_offline_encode(golden *g) {
    wt_mimi_trace tr = {0};
    wt_tensor *codes = wt_mimi_encode(g->m, g->dev, up(g, io_get(g, "pcm")), (int)g->k, &tr);
    ck_assert_msg(codes != NULL, "%s", wt_ctx_error(g->dev));
    check_float(g, tr.enc_seanet_out, "enc_seanet_out", 1e-4);
    check_float(g, tr.enc_transformer_out, "enc_transformer_out", 1e-4);
    check_float(g, tr.latent, "latent_pre_quant", 1e-4);
    check_float(g, tr.semantic_proj_in, "semantic_proj_in", 1e-4);
    check_float(g, tr.acoustic_proj_in, "acoustic_proj_in", 1e-4);
    check_codes(g, codes, "codes");
}

void mimi_check_offline_decode(golden *g) {
    wt_mimi_trace tr = {0};
    wt_tensor *pcm = wt_mimi_decode(g->m, g->dev, up(g, io_get(g, "codes")), &tr);
    ck_assert_msg(pcm != NULL, "%s", wt_ctx_error(g->dev));
    check_float(g, tr.quantized, "quantized", 1e-5);
    check_float(g, tr.dec_upsample_out, "dec_upsample_out", 1e-4);
    check_float(g, tr.dec_transformer_out, "dec_transformer_out", 1e-4);
    check_float(g, pcm, "decoded", 1e-4);
    /* a code out of range is refused (on the host, before any kernel) */
    wt_tensor *bad = wt_contiguous(g->cpu, io_get(g, "codes"));
    ((int64_t *)bad->data)[wt_numel(bad) - 1] = g->cfg.bins;
    ck_assert_ptr_null(wt_mimi_decode(g->m, g->dev, up(g, bad), NULL));
    ck_assert_int_eq(wt_ctx_status(g->dev), WT_ERR_INVALID);
    ck_assert_msg(strstr(wt_ctx_error(g->dev), "outside") != NULL, "%s", wt_ctx_error(g->dev));
}

void mimi_check_stream_encode(golden *g) {
    wt_mimi_encoder_stream *s = wt_mimi_encoder_stream_new(g->m, (int)g->b, (int)g->k, 1);
    ck_assert_msg(s != NULL, "%s", wt_last_error());
    wt_tensor *pcm = io_get(g, "pcm");
    int64_t b = g->b, k = g->k, f = g->frames, fs = g->fs, d = g->cfg.dimension;
    wt_tensor *codes = wt_tensor_new3(g->cpu, WT_I64, b, k, f);
    wt_tensor *lat = wt_tensor_new3(g->cpu, WT_F32, b, d, f);
    float *in = malloc(sizeof(float) * (size_t)(b * fs));
    int64_t *out = malloc(sizeof(int64_t) * (size_t)(b * k));
    float *l = malloc(sizeof(float) * (size_t)(b * d));
    for (int64_t t = 0; t < f; t++) {
        for (int64_t i = 0; i < b; i++)
            memcpy(in + i * fs, (float *)pcm->data + i * f * fs + t * fs, sizeof(float) * (size_t)fs);
        ck_assert_msg(wt_mimi_encoder_stream_step(s, in, NULL, out) == WT_OK, "%s", wt_last_error());
        const wt_tensor *ld = wt_mimi_encoder_stream_latent(s);
        ck_assert_int_eq(g->be->download(l, ld->data, sizeof(float) * (size_t)(b * d)), WT_OK);
        for (int64_t i = 0; i < b; i++) {
            for (int64_t c = 0; c < k; c++) ((int64_t *)codes->data)[(i * k + c) * f + t] = out[i * k + c];
            for (int64_t c = 0; c < d; c++) ((float *)lat->data)[(i * d + c) * f + t] = l[i * d + c];
        }
    }
    check_float(g, lat, "latent_pre_quant_stream", 1e-4);
    check_codes(g, codes, "codes_stream");
    free(in);
    free(out);
    free(l);
    wt_mimi_encoder_stream_free(s);
}

/* Frames of the golden codes through s, into [B, 1, frames * fs]. */
static wt_tensor *stream_decode_with(golden *g, wt_mimi_decoder_stream *s) {
    wt_tensor *codes = io_get(g, "codes");
    int64_t b = g->b, k = g->k, f = g->frames, fs = g->fs;
    wt_tensor *pcm = wt_tensor_new3(g->cpu, WT_F32, b, 1, f * fs);
    int64_t *in = malloc(sizeof(int64_t) * (size_t)(b * k));
    float *out = malloc(sizeof(float) * (size_t)(b * fs));
    for (int64_t t = 0; t < f; t++) {
        for (int64_t i = 0; i < b; i++)
            for (int64_t c = 0; c < k; c++) in[i * k + c] = ((int64_t *)codes->data)[(i * k + c) * f + t];
        ck_assert_msg(wt_mimi_decoder_stream_step(s, in, NULL, out) == WT_OK, "%s", wt_last_error());
        for (int64_t i = 0; i < b; i++)
            memcpy((float *)pcm->data + i * f * fs + t * fs, out + i * fs, sizeof(float) * (size_t)fs);
    }
    free(in);
    free(out);
    return pcm;
}

wt_tensor *mimi_stream_decode(golden *g) {
    wt_mimi_decoder_stream *s = wt_mimi_decoder_stream_new(g->m, (int)g->b, (int)g->k, 1);
    ck_assert_msg(s != NULL, "%s", wt_last_error());
    wt_tensor *pcm = stream_decode_with(g, s);
    wt_mimi_decoder_stream_free(s);
    return pcm;
}

void mimi_check_stream_decode(golden *g) {
    wt_mimi_decoder_stream *s = wt_mimi_decoder_stream_new(g->m, (int)g->b, (int)g->k, 1);
    ck_assert_msg(s != NULL, "%s", wt_last_error());
    check_float(g, stream_decode_with(g, s), "decoded_stream", 1e-4);
    /* a code out of range is refused on the host before any state moves
     * (device kernels would read a zero row instead of failing) */
    int64_t *in = calloc((size_t)(g->b * g->k), sizeof *in);
    float *out = malloc(sizeof(float) * (size_t)(g->b * g->fs));
    in[0] = g->cfg.bins;
    ck_assert_int_eq(wt_mimi_decoder_stream_step(s, in, NULL, out), WT_ERR_INVALID);
    in[0] = -1;
    ck_assert_int_eq(wt_mimi_decoder_stream_step(s, in, NULL, out), WT_ERR_INVALID);
    free(in);
    free(out);
    wt_mimi_decoder_stream_free(s);
}

void mimi_check_stream_masked(golden *g, int64_t max_steps) {
    wt_tensor *act = io_get(g, "stream_active"), *rst = io_get(g, "stream_reset");
    wt_tensor *chunk = io_get(g, "stream_chunk_index");
    wt_tensor *pin = io_get(g, "stream_pcm_in"), *cin = io_get(g, "stream_codes_in");
    wt_tensor *cout_e = io_get(g, "stream_codes_out"), *dout_e = io_get(g, "stream_decoded_out");
    wt_tensor *cstream = io_get(g, "codes_stream");
    int64_t b = g->b, k = g->k, fs = g->fs, all = act->shape[0];
    int64_t steps = all < max_steps ? all : max_steps;
    wt_mimi_encoder_stream *enc = wt_mimi_encoder_stream_new(g->m, (int)b, (int)k, 1);
    wt_mimi_decoder_stream *dec = wt_mimi_decoder_stream_new(g->m, (int)b, (int)k, 1);
    ck_assert_ptr_nonnull(enc);
    ck_assert_ptr_nonnull(dec);
    int64_t *cout = calloc((size_t)(b * k * steps), sizeof(int64_t));
    float *dout = calloc((size_t)(b * steps * fs), sizeof(float));
    float *pcm = malloc(sizeof(float) * (size_t)(b * fs));
    int64_t *codes = malloc(sizeof(int64_t) * (size_t)(b * k));
    int64_t *got = malloc(sizeof(int64_t) * (size_t)(b * k));
    uint8_t *mask = malloc((size_t)b);
    int resets = 0, replayed = 0;
    for (int64_t t = 0; t < steps; t++) {
        for (int64_t i = 0; i < b; i++) {
            mask[i] = ((uint8_t *)act->data)[t * b + i];
            if (((uint8_t *)rst->data)[t * b + i]) {
                wt_mimi_encoder_stream_reset(enc, (int)i);
                wt_mimi_decoder_stream_reset(dec, (int)i);
                resets++;
            }
            memcpy(pcm + i * fs, (float *)pin->data + i * all * fs + t * fs, sizeof(float) * (size_t)fs);
            for (int64_t c = 0; c < k; c++) codes[i * k + c] = ((int64_t *)cin->data)[(i * k + c) * all + t];
        }
        ck_assert_int_eq(wt_mimi_encoder_stream_step(enc, pcm, mask, got), WT_OK);
        for (int64_t i = 0; i < b; i++)
            if (mask[i])
                for (int64_t c = 0; c < k; c++) cout[(i * k + c) * steps + t] = got[i * k + c];
        ck_assert_int_eq(wt_mimi_decoder_stream_step(dec, codes, mask, pcm), WT_OK);
        for (int64_t i = 0; i < b; i++)
            if (mask[i]) memcpy(dout + i * steps * fs + t * fs, pcm + i * fs, sizeof(float) * (size_t)fs);
        /* an active step of entry i equals plain streaming of that chunk */
        for (int64_t i = 0; i < b; i++) {
            int64_t ch = ((int64_t *)chunk->data)[t * b + i];
            if (!mask[i] || ch < 0) continue;
            replayed++;
            for (int64_t c = 0; c < k; c++)
                ck_assert_int_eq(got[i * k + c], ((int64_t *)cstream->data)[(i * k + c) * g->frames + ch]);
        }
    }
    ck_assert_int_eq(resets, 1);
    ck_assert_int_gt(replayed, 0);
    /* the golden outputs of the steps run, in the [B, K, steps] layout */
    int64_t *ce = malloc(sizeof(int64_t) * (size_t)(b * k * steps));
    for (int64_t r = 0; r < b * k; r++)
        memcpy(ce + r * steps, (int64_t *)cout_e->data + r * all, sizeof(int64_t) * (size_t)steps);
    check_codes_arr(cout, ce, b, k, steps, act->data, "stream_codes_out");
    free(ce);
    /* decoded: active steps only, rms over those steps */
    double m = 0, s2 = 0;
    int64_t n = 0;
    for (int64_t i = 0; i < b; i++)
        for (int64_t t = 0; t < steps; t++) {
            if (!((uint8_t *)act->data)[t * b + i]) continue;
            for (int64_t j = 0; j < fs; j++) {
                double e = ((float *)dout_e->data)[i * all * fs + t * fs + j];
                double d = fabs(dout[i * steps * fs + t * fs + j] - e);
                if (!(d <= m)) m = isnan(d) ? INFINITY : d;
                s2 += e * e;
                n++;
            }
        }
    double err = m / sqrt(s2 / (double)n);
    ck_assert_msg(err <= 1e-4, "stream_decoded_out: err %.3g", err);
    free(cout);
    free(dout);
    free(pcm);
    free(codes);
    free(got);
    free(mask);
    wt_mimi_encoder_stream_free(enc);
    wt_mimi_decoder_stream_free(dec);
}
