/* Causal Demucs (facebookresearch/denoiser): config, weights and the offline
 * forward pass, in the order of the paper: normalize, upsample, encoder,
 * LSTM, decoder with skips, downsample, denormalize. */
#include "engine/models/demucs_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "engine/ctx_impl.h"
#include "wavetensor/ops.h"
#include "wavetensor/weights.h"

/* ---- config ---- */

void wt_demucs_config_default(wt_demucs_config *c) {
    *c = (wt_demucs_config){.chin = 1, .chout = 1, .hidden = 48, .depth = 5, .kernel_size = 8,
                            .stride = 4, .causal = true, .resample = 4, .growth = 2.0,
                            .max_hidden = 10000, .normalize = true, .glu = true,
                            .rescale = 0.1, .floor = 1e-3, .sample_rate = 16000};
}

static wt_status get_int(const wt_config *j, const char *key, int *out) {
    if (!wt_config_has(j, key)) return WT_OK;
    int64_t v;
    wt_status s = wt_config_int(j, key, &v);
    if (s != WT_OK) return s;
    if (v < -2147483647 || v > 2147483647)
        return wt_error(WT_ERR_FORMAT, "demucs config: '%s' out of range", key);
    *out = (int)v;
    return WT_OK;
}

static wt_status get_double(const wt_config *j, const char *key, double *out) {
    return wt_config_has(j, key) ? wt_config_double(j, key, out) : WT_OK;
}

static wt_status get_bool(const wt_config *j, const char *key, bool *out) {
    return wt_config_has(j, key) ? wt_config_bool(j, key, out) : WT_OK;
}

wt_status wt_demucs_config_from_json(const wt_config *j, wt_demucs_config *c) {
    wt_demucs_config_default(c);
    struct { const char *key; int *v; } ints[] = {
        {"chin", &c->chin}, {"chout", &c->chout}, {"hidden", &c->hidden},
        {"depth", &c->depth}, {"kernel_size", &c->kernel_size}, {"stride", &c->stride},
        {"resample", &c->resample}, {"max_hidden", &c->max_hidden},
        {"sample_rate", &c->sample_rate},
    };
    struct { const char *key; double *v; } dbls[] = {
        {"growth", &c->growth}, {"rescale", &c->rescale}, {"floor", &c->floor},
    };
    struct { const char *key; bool *v; } bools[] = {
        {"causal", &c->causal}, {"normalize", &c->normalize}, {"glu", &c->glu},
    };
    wt_status s = WT_OK;
    for (size_t i = 0; s == WT_OK && i < sizeof ints / sizeof ints[0]; i++)
        s = get_int(j, ints[i].key, ints[i].v);
    for (size_t i = 0; s == WT_OK && i < sizeof dbls / sizeof dbls[0]; i++)
        s = get_double(j, dbls[i].key, dbls[i].v);
    for (size_t i = 0; s == WT_OK && i < sizeof bools / sizeof bools[0]; i++)
        s = get_bool(j, bools[i].key, bools[i].v);
    if (s != WT_OK) return s;
    return wt_demucs_config_validate(c);
}

wt_status wt_demucs_config_load(const char *path, wt_demucs_config *c) {
    wt_config *j = wt_config_load(path);
    if (!j) return WT_ERR_FORMAT; /* wt_last_error names the file */
    wt_status s = wt_demucs_config_from_json(j, c);
    wt_config_free(j);
    if (s != WT_OK && !strstr(wt_last_error(), path))
        return wt_error(s, "%s: %s", path, wt_last_error());
    return s;
}

int wt_demucs_channels(const wt_demucs_config *c, int layer) {
    int h = c->hidden;
    for (int i = 0; i < layer; i++) {
        /* int(growth * h) as the reference: truncation, then the cap. */
        int next = (int)(c->growth * h);
        h = next < c->max_hidden ? next : c->max_hidden;
    }
    return h;
}

wt_status wt_demucs_config_validate(const wt_demucs_config *c) {
    const char *bad = NULL;
    if (c->chin < 1) bad = "chin must be >= 1";
    else if (c->chout < 1) bad = "chout must be >= 1";
    else if (c->hidden < 1) bad = "hidden must be >= 1";
    else if (c->depth < 1 || c->depth > WT_DEMUCS_MAX_DEPTH) bad = "depth must be in 1..16";
    else if (c->kernel_size < 1) bad = "kernel_size must be >= 1";
    else if (c->stride < 1) bad = "stride must be >= 1";
    else if (c->resample != 1 && c->resample != 2 && c->resample != 4)
        bad = "resample must be 1, 2 or 4";
    else if (!(c->growth > 0) || c->growth > 1e3) bad = "growth must be positive";
    else if (c->max_hidden < 1) bad = "max_hidden must be >= 1";
    else if (!(c->floor >= 0) || !isfinite(c->floor)) bad = "floor must be >= 0";
    else if (c->sample_rate < 1) bad = "sample_rate must be >= 1";
    if (bad) return wt_error(WT_ERR_INVALID, "demucs config: %s", bad);
    int64_t params = wt_demucs_param_count(c);
    for (int i = 0; i < c->depth; i++)
        if (wt_demucs_channels(c, i) < 1)
            return wt_error(WT_ERR_INVALID, "demucs config: layer %d has no channels", i);
    if (params <= 0 || params > ((int64_t)1 << 34))
        return wt_error(WT_ERR_INVALID, "demucs config: unreasonable model size");
    return WT_OK;
}

int64_t wt_demucs_valid_length(const wt_demucs_config *c, int64_t length) {
    int64_t L = length * c->resample;
    int64_t K = c->kernel_size, S = c->stride;
    for (int i = 0; i < c->depth; i++) {
        /* ceil((L - K) / S) + 1, with Python's ceil of a possibly negative ratio */
        int64_t num = L - K;
        int64_t q = num >= 0 ? (num + S - 1) / S : -((-num) / S);
        L = q + 1 > 1 ? q + 1 : 1;
    }
    for (int i = 0; i < c->depth; i++) L = (L - 1) * S + K;
    return (L + c->resample - 1) / c->resample;
}

int64_t wt_demucs_param_count(const wt_demucs_config *c) {
    int64_t n = 0, K = c->kernel_size, g = c->glu ? 2 : 1;
    int64_t cin = c->chin, cout = c->chout;
    for (int i = 0; i < c->depth; i++) {
        int64_t h = wt_demucs_channels(c, i);
        n += h * cin * K + h + g * h * h + g * h;     /* encoder i */
        n += g * h * h + g * h + h * cout * K + cout; /* decoder for encoder i */
        cin = h;
        cout = h;
    }
    int64_t C = cin, dirs = c->causal ? 1 : 2;
    for (int l = 0; l < 2; l++) {
        int64_t in = l == 0 ? C : dirs * C;
        n += dirs * (4 * C * in + 4 * C * C + 8 * C);
    }
    if (!c->causal) n += C * 2 * C + C;
    return n;
}

/* ---- the sinc kernel ---- */

/* The reference kernel_upsample2(zeros): a sinc at half-integer offsets
 * windowed by the odd samples of a symmetric Hann window of 4*zeros+1 points.
 * Computed in double and rounded once to f32 (the reference rounds at each
 * float32 step; the two differ by an ulp, far below the tolerances). */
static void sinc_kernel(float *k, int zeros) {
    const double pi = 3.14159265358979323846;
    int n_win = 4 * zeros + 1;
    for (int i = 0; i < 2 * zeros; i++) {
        int widx = 2 * i + 1; /* win[1::2] */
        double win = 0.5 - 0.5 * cos(2.0 * pi * widx / (n_win - 1));
        double t = (-zeros + 0.5 + i) * pi;
        k[i] = (float)(sin(t) / t * win);
    }
}

/* ---- weights ---- */

static wt_status load_weights(wt_demucs *m, wt_weights *w, wt_dtype wd) {
    const wt_demucs_config *c = &m->cfg;
    int64_t K = c->kernel_size, g = c->glu ? 2 : 1;
    int cin = c->chin, cout = c->chout;
    for (int i = 0; i < c->depth; i++) {
        int64_t h = wt_demucs_channels(c, i);
        int j = c->depth - 1 - i;
        wt_demucs_enc *e = &m->enc[i];
        wt_demucs_dec *d = &m->dec[j];
        int64_t s_conv[3] = {h, cin, K}, s_h[1] = {h}, s_pw[3] = {g * h, h, 1}, s_g[1] = {g * h};
        int64_t s_tr[3] = {h, cout, K}, s_c[1] = {cout};
        wt_weights_push(w, "encoder.%d", i);
        wt_weights_set_dtype(w, wd);
        e->conv_w = wt_weights_get(w, "0.weight", 3, s_conv);
        e->pw_w = wt_weights_get(w, "2.weight", 3, s_pw);
        wt_weights_set_dtype(w, WT_F32);
        e->conv_b = wt_weights_get(w, "0.bias", 1, s_h);
        e->pw_b = wt_weights_get(w, "2.bias", 1, s_g);
        wt_weights_pop(w);
        wt_weights_push(w, "decoder.%d", j);
        wt_weights_set_dtype(w, wd);
        d->pw_w = wt_weights_get(w, "0.weight", 3, s_pw);
        d->convtr_w = wt_weights_get(w, "2.weight", 3, s_tr);
        wt_weights_set_dtype(w, WT_F32);
        d->pw_b = wt_weights_get(w, "0.bias", 1, s_g);
        d->convtr_b = wt_weights_get(w, "2.bias", 1, s_c);
        wt_weights_pop(w);
        d->cout = cout;
        d->relu = i > 0;
        if (wt_ctx_status(m->wctx) != WT_OK) return wt_ctx_status(m->wctx);
        cin = (int)h;
        cout = (int)h;
    }
    wt_weights_push(w, "lstm.lstm");
    wt_status s = wt_lstm_load(&m->lstm, w, cin, cin, 2, !c->causal, wd);
    wt_weights_pop(w);
    if (s != WT_OK) return s;
    if (!c->causal) {
        int64_t s_lw[2] = {cin, 2 * (int64_t)cin}, s_lb[1] = {cin};
        wt_weights_set_dtype(w, wd);
        m->lin_w = wt_weights_get(w, "lstm.linear.weight", 2, s_lw);
        wt_weights_set_dtype(w, WT_F32);
        m->lin_b = wt_weights_get(w, "lstm.linear.bias", 1, s_lb);
    }
    return wt_ctx_status(m->wctx);
}

/* A new tensor of the model's context holding a copy of host tensor h
 * (one upload; a memcpy on the CPU). */
static const wt_tensor *to_model(wt_demucs *m, const wt_tensor *h) {
    if (!h) return NULL;
    wt_tensor *t = wt_tensor_new(m->wctx, h->dtype, h->ndim, h->shape);
    if (!t) return NULL;
    wt_status st = m->be->upload(t->data, h->data, wt_nbytes(h));
    if (st != WT_OK) {
        wt_ctx_fail(m->wctx, st, "demucs: weight upload failed: %s", wt_last_error());
        return NULL;
    }
    return t;
}

static wt_demucs *model_alloc(const wt_backend *be, const wt_demucs_config *cfg) {
    if (wt_demucs_config_validate(cfg) != WT_OK) return NULL;
    wt_demucs *m = calloc(1, sizeof *m);
    if (!m) {
        wt_error(WT_ERR_NOMEM, "demucs: out of memory");
        return NULL;
    }
    m->cfg = *cfg;
    m->be = be ? be : wt_cpu_backend();
    m->wctx = wt_ctx_new_heap(m->be);
    if (m->wctx) wt_ctx_hold_weights_(m->wctx);
    float k[2 * WT_DEMUCS_SINC_ZEROS];
    sinc_kernel(k, WT_DEMUCS_SINC_ZEROS);
    int64_t shape[3] = {1, 1, 2 * WT_DEMUCS_SINC_ZEROS};
    if (m->wctx) {
        m->sinc = wt_tensor_new(m->wctx, WT_F32, 3, shape);
        if (m->sinc && m->be->upload(m->sinc->data, k, sizeof k) != WT_OK) m->sinc = NULL;
    }
    if (!m->sinc) {
        wt_demucs_free(m);
        return NULL;
    }
    return m;
}

/* convtr weights [Cin, Cout, K] repacked as [Cout*K, Cin] for a device's
 * streaming step, which runs the transposed convs as matrix products (only
 * when K is a multiple of S, which the overlap-add needs); the CPU's conv
 * op needs no copy. */
static wt_status pack_convtr(wt_demucs *m) {
    if (m->be->host || m->cfg.kernel_size % m->cfg.stride) return WT_OK;
    static const int perm[3] = {1, 2, 0};
    for (int j = 0; j < m->cfg.depth; j++) {
        wt_demucs_dec *d = &m->dec[j];
        int64_t shape[2] = {(int64_t)d->cout * m->cfg.kernel_size, d->convtr_w->shape[0]};
        d->convtr_packed = wt_reshape(m->wctx, wt_contiguous(m->wctx, wt_permute(m->wctx, d->convtr_w, perm)), 2, shape);
    }
    return wt_ctx_status(m->wctx);
}

/* Bytes of the tensors a forward pass reads (the packed convtr copies
 * replace the originals in a streaming step, so count those once). */
static void count_bytes(wt_demucs *m) {
    size_t n = 0;
    for (int i = 0; i < m->cfg.depth; i++) {
        const wt_demucs_enc *e = &m->enc[i];
        const wt_demucs_dec *d = &m->dec[i];
        const wt_tensor *ts[] = {e->conv_w, e->conv_b, e->pw_w, e->pw_b,
                                 d->pw_w,   d->pw_b,   d->convtr_w, d->convtr_b};
        for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) n += ts[k] ? wt_nbytes(ts[k]) : 0;
    }
    int dirs = m->lstm.bidirectional ? 2 : 1;
    for (int k = 0; k < m->lstm.num_layers * dirs; k++) {
        const wt_tensor *ts[] = {m->lstm.w_ih[k], m->lstm.w_hh[k], m->lstm.b_ih[k], m->lstm.b_hh[k]};
        for (size_t q = 0; q < 4; q++) n += ts[q] ? wt_nbytes(ts[q]) : 0;
    }
    if (m->lin_w) n += wt_nbytes(m->lin_w) + (m->lin_b ? wt_nbytes(m->lin_b) : 0);
    m->weight_bytes = n;
}

wt_demucs *wt_demucs_new(const wt_demucs_config *cfg, const char *weights_path,
                         wt_dtype weight_dtype) {
    return wt_demucs_new_on(NULL, cfg, weights_path, weight_dtype);
}

wt_demucs *wt_demucs_new_on(const wt_backend *be, const wt_demucs_config *cfg,
                            const char *weights_path, wt_dtype weight_dtype) {
    if (weight_dtype != WT_F32 && weight_dtype != WT_F16 && weight_dtype != WT_BF16) {
        wt_error(WT_ERR_INVALID, "demucs: weights must be held in f32, f16 or bf16");
        return NULL;
    }
    /* the loader (wt_st_load) converts on the host and uploads to be */
    wt_demucs *m = model_alloc(be, cfg);
    if (!m) return NULL;
    wt_weights *w = wt_weights_open(weights_path, m->wctx, weight_dtype);
    if (!w) {
        wt_demucs_free(m);
        return NULL;
    }
    wt_status s = load_weights(m, w, weight_dtype);
    wt_weights_close(w);
    if (s != WT_OK) {
        /* Keep the loader's message (it names the file and tensor). */
        wt_error(s, "%s", wt_ctx_error(m->wctx)[0] ? wt_ctx_error(m->wctx) : wt_last_error());
        wt_demucs_free(m);
        return NULL;
    }
    if (pack_convtr(m) != WT_OK || wt_ctx_pack_(m->wctx) != WT_OK) {
        wt_demucs_free(m);
        return NULL;
    }
    count_bytes(m);
    return m;
}

/* xorshift64* uniform in [-b, b). */
static float rand_sym(uint64_t *s, double b) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    double u = (double)((*s * 2685821657736338717ull) >> 11) / 9007199254740992.0;
    return (float)((2.0 * u - 1.0) * b);
}

/* A tensor of the model's context with `shape` uniform values in +-bound
 * (divided by `divide`), drawn in f32 and converted to dtype on the host
 * context tmp, then uploaded. */
static const wt_tensor *rand_tensor(wt_demucs *m, wt_ctx *tmp, uint64_t *seed, wt_dtype dt,
                                    int ndim, const int64_t *shape, double bound, double divide) {
    wt_tensor *t = wt_tensor_new(tmp, WT_F32, ndim, shape);
    if (!t) return NULL;
    float *p = t->data;
    for (int64_t i = 0; i < wt_numel(t); i++) p[i] = (float)(rand_sym(seed, bound) / divide);
    const wt_tensor *r = to_model(m, dt == WT_F32 ? t : wt_to_dtype(tmp, t, dt));
    wt_ctx_reset(tmp);
    return r;
}

/* PyTorch's default conv init (bound 1/sqrt(fan_in)) followed by the
 * reference's rescale_module: weight and bias divided by
 * sqrt(std(weight) / rescale), std of a uniform being bound/sqrt(3). */
static void rand_conv(wt_demucs *m, wt_ctx *tmp, uint64_t *seed, wt_dtype dt,
                      const int64_t *shape, int64_t fan_in, int64_t nbias, const wt_tensor **w,
                      const wt_tensor **b) {
    double bound = 1.0 / sqrt((double)fan_in);
    double div = m->cfg.rescale > 0 ? sqrt(bound / sqrt(3.0) / m->cfg.rescale) : 1.0;
    *w = rand_tensor(m, tmp, seed, dt, 3, shape, bound, div);
    *b = rand_tensor(m, tmp, seed, WT_F32, 1, &nbias, bound, div);
}

wt_demucs *wt_demucs_new_random(const wt_demucs_config *cfg, uint64_t seed, wt_dtype dt) {
    return wt_demucs_new_random_on(NULL, cfg, seed, dt);
}

wt_demucs *wt_demucs_new_random_on(const wt_backend *be, const wt_demucs_config *cfg,
                                   uint64_t seed, wt_dtype dt) {
    if (dt != WT_F32 && dt != WT_F16 && dt != WT_BF16) {
        wt_error(WT_ERR_INVALID, "demucs: weights must be held in f32, f16 or bf16");
        return NULL;
    }
    wt_demucs *m = model_alloc(be, cfg);
    if (!m) return NULL;
    /* values are drawn on the host (same numbers on every backend) */
    wt_ctx *tmp = wt_ctx_new_heap(NULL);
    if (!tmp) {
        wt_demucs_free(m);
        return NULL;
    }
    const wt_demucs_config *c = &m->cfg;
    uint64_t s = seed ? seed : 0x9E3779B97F4A7C15ull;
    int64_t K = c->kernel_size, g = c->glu ? 2 : 1;
    int64_t cin = c->chin, cout = c->chout;
    for (int i = 0; i < c->depth; i++) {
        int64_t h = wt_demucs_channels(c, i);
        wt_demucs_enc *e = &m->enc[i];
        wt_demucs_dec *d = &m->dec[c->depth - 1 - i];
        int64_t s_conv[3] = {h, cin, K}, s_pw[3] = {g * h, h, 1}, s_tr[3] = {h, cout, K};
        rand_conv(m, tmp, &s, dt, s_conv, cin * K, h, &e->conv_w, &e->conv_b);
        rand_conv(m, tmp, &s, dt, s_pw, h, g * h, &e->pw_w, &e->pw_b);
        rand_conv(m, tmp, &s, dt, s_pw, h, g * h, &d->pw_w, &d->pw_b);
        /* ConvTranspose1d's fan_in is computed from weight.size(1) * K. */
        rand_conv(m, tmp, &s, dt, s_tr, cout * K, cout, &d->convtr_w, &d->convtr_b);
        d->cout = (int)cout;
        d->relu = i > 0;
        cin = h;
        cout = h;
    }
    int64_t C = cin, dirs = c->causal ? 1 : 2;
    double bound = 1.0 / sqrt((double)C);
    m->lstm = (wt_lstm){.input_size = (int)C, .hidden_size = (int)C, .num_layers = 2,
                        .bidirectional = !c->causal};
    for (int k = 0; k < 2 * dirs; k++) {
        int64_t in = k < dirs ? C : dirs * C;
        int64_t s_ih[2] = {4 * C, in}, s_hh[2] = {4 * C, C}, s_b = 4 * C;
        m->lstm.w_ih[k] = rand_tensor(m, tmp, &s, dt, 2, s_ih, bound, 1.0);
        m->lstm.w_hh[k] = rand_tensor(m, tmp, &s, dt, 2, s_hh, bound, 1.0);
        m->lstm.b_ih[k] = rand_tensor(m, tmp, &s, WT_F32, 1, &s_b, bound, 1.0);
        m->lstm.b_hh[k] = rand_tensor(m, tmp, &s, WT_F32, 1, &s_b, bound, 1.0);
    }
    if (!c->causal) {
        int64_t s_lw[2] = {C, 2 * C};
        double lb = 1.0 / sqrt(2.0 * (double)C);
        m->lin_w = rand_tensor(m, tmp, &s, dt, 2, s_lw, lb, 1.0);
        m->lin_b = rand_tensor(m, tmp, &s, WT_F32, 1, &C, lb, 1.0);
    }
    bool ok = wt_ctx_status(tmp) == WT_OK;
    wt_ctx_free(tmp);
    /* a failed context op has also set the thread's last error */
    if (!ok || wt_ctx_status(m->wctx) != WT_OK || pack_convtr(m) != WT_OK ||
        wt_ctx_pack_(m->wctx) != WT_OK) {
        wt_demucs_free(m);
        return NULL;
    }
    count_bytes(m);
    return m;
}

void wt_demucs_free(wt_demucs *m) {
    if (!m) return;
    wt_ctx_free(m->wctx);
    free(m);
}

const wt_demucs_config *wt_demucs_get_config(const wt_demucs *m) { return &m->cfg; }
const wt_backend *wt_demucs_get_backend(const wt_demucs *m) { return m->be; }
size_t wt_demucs_weight_bytes(const wt_demucs *m) { return m->weight_bytes; }

/* ---- building blocks ---- */

wt_tensor *wt_demucs_upsample2(wt_ctx *ctx, const wt_demucs *m, const wt_tensor *x) {
    int z = WT_DEMUCS_SINC_ZEROS;
    /* out[t] = sum_m k[m] x[t + m - (z - 1)]: the reference's padding z with
     * its first output dropped. */
    wt_tensor *out = wt_conv1d(ctx, x, m->sinc, NULL, 1, z - 1, z, 1, 1);
    /* Interleave x and out: y[2t] = x[t], y[2t+1] = out[t]. */
    const wt_tensor *pair[2] = {wt_unsqueeze(ctx, x, -1), wt_unsqueeze(ctx, out, -1)};
    wt_tensor *y = wt_cat(ctx, pair, 2, -1);
    if (!y) return NULL;
    int64_t shape[3] = {x->shape[0], x->shape[1], 2 * x->shape[2]};
    return wt_reshape(ctx, y, 3, shape);
}

wt_tensor *wt_demucs_downsample2(wt_ctx *ctx, const wt_demucs *m, const wt_tensor *x) {
    int z = WT_DEMUCS_SINC_ZEROS;
    if (!x) return NULL;
    if (x->shape[2] % 2) x = wt_pad(ctx, x, -1, 0, 1, WT_PAD_CONSTANT, 0.0);
    if (!x) return NULL;
    int64_t half = x->shape[2] / 2;
    int64_t pairs[4] = {x->shape[0], x->shape[1], half, 2};
    wt_tensor *v = wt_reshape(ctx, x, 4, pairs);
    wt_tensor *even = wt_contiguous(ctx, wt_squeeze(ctx, wt_narrow(ctx, v, -1, 0, 1), -1));
    wt_tensor *odd = wt_contiguous(ctx, wt_squeeze(ctx, wt_narrow(ctx, v, -1, 1, 1), -1));
    /* sum_m k[m] odd[t + m - z]: padding z with the last output dropped. */
    wt_tensor *out = wt_conv1d(ctx, odd, m->sinc, NULL, 1, z, z - 1, 1, 1);
    wt_tensor *y = wt_add_(ctx, even, out);
    return wt_affine_(ctx, y, 0.5f, 0.0f);
}

/* conv1d(x, w, b, stride) for x [1, Cin, T] as a matrix product: the
 * im2col matrix is a strided view (step t, channel c, tap k at
 * x[c, t*S + k]) copied once, then [T_out, Cin*K] x w[Cout, Cin*K]^T. */
static wt_tensor *conv_as_linear(wt_ctx *ctx, const wt_tensor *x, const wt_tensor *w,
                                 const wt_tensor *b, int64_t S) {
    if (!x || !w || wt_ctx_status(ctx) != WT_OK) return NULL;
    int64_t Cin = w->shape[1], K = w->shape[2], Cout = w->shape[0];
    int64_t T_out = (x->shape[2] - K) / S + 1;
    if (x->shape[0] != 1 || x->shape[1] != Cin || T_out < 1) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "demucs: conv input does not fit its weight");
        return NULL;
    }
    wt_tensor *cols = wt_ctx_new_desc(ctx);
    if (!cols) return NULL;
    *cols = *x;
    cols->ndim = 3;
    cols->shape[0] = T_out, cols->stride[0] = S * x->stride[2];
    cols->shape[1] = Cin, cols->stride[1] = x->stride[1];
    cols->shape[2] = K, cols->stride[2] = x->stride[2];
    int64_t flat[2] = {T_out, Cin * K}, wflat[2] = {Cout, Cin * K};
    wt_tensor *xm = wt_reshape(ctx, wt_contiguous(ctx, cols), 2, flat);
    wt_tensor *y = wt_linear(ctx, xm, wt_view(ctx, w, 2, wflat), b); /* [T_out, Cout] */
    wt_tensor *yt = wt_contiguous(ctx, wt_transpose(ctx, y, 0, 1));
    return wt_unsqueeze(ctx, yt, 0);
}

static wt_tensor *conv(wt_ctx *ctx, const wt_tensor *x, const wt_tensor *w, const wt_tensor *b,
                       int stride, bool short_input) {
    /* A streaming step's few output steps: the CPU's conv op reads each
     * weight once for them and writes [C, T] as is; a device runs them as
     * one matrix product (its few-row kernel) over a strided view. */
    if (short_input && !wt_ctx_backend(ctx)->host) return conv_as_linear(ctx, x, w, b, stride);
    return wt_conv1d(ctx, x, w, b, stride, 0, 0, 1, 1);
}

wt_tensor *wt_demucs_encode(wt_ctx *ctx, const wt_demucs *m, int i, const wt_tensor *x,
                            bool short_input) {
    const wt_demucs_enc *e = &m->enc[i];
    wt_tensor *y = conv(ctx, x, e->conv_w, e->conv_b, m->cfg.stride, short_input);
    y = wt_unary_(ctx, WT_UNARY_RELU, y, 0);
    y = conv(ctx, y, e->pw_w, e->pw_b, 1, short_input);
    return m->cfg.glu ? wt_glu(ctx, y, 1) : wt_unary_(ctx, WT_UNARY_RELU, y, 0);
}

wt_tensor *wt_demucs_decode_pw(wt_ctx *ctx, const wt_demucs *m, int j, const wt_tensor *x,
                               bool short_input) {
    const wt_demucs_dec *d = &m->dec[j];
    wt_tensor *y = conv(ctx, x, d->pw_w, d->pw_b, 1, short_input);
    return m->cfg.glu ? wt_glu(ctx, y, 1) : wt_unary_(ctx, WT_UNARY_RELU, y, 0);
}

/* ConvTranspose1d(K, S) for x [1, Cin, T] as one matrix product
 * [T, Cin] x packed[Cout*K, Cin]^T and an overlap-add of its K/S blocks:
 * output block t + j (S samples) gets taps j*S .. j*S+S-1 of input step t. */
static wt_tensor *convtr_as_linear(wt_ctx *ctx, const wt_demucs_dec *d, const wt_tensor *x,
                                   int64_t S) {
    int64_t Cout = d->cout, K = d->convtr_w->shape[2];
    int64_t T = x->shape[2], blocks = T - 1 + K / S;
    wt_tensor *xt = wt_contiguous(ctx, wt_transpose(ctx, wt_squeeze(ctx, x, 0), 0, 1)); /* [T, Cin] */
    wt_tensor *y = wt_linear(ctx, xt, d->convtr_packed, NULL); /* [T, Cout*K] */
    wt_tensor *out = wt_tensor_new3(ctx, WT_F32, 1, Cout, blocks * S);
    if (!y || !out) return NULL;
    wt_copy_(ctx, out, wt_unsqueeze(ctx, d->convtr_b, -1));
    int64_t ov[3] = {Cout, blocks, S}, yv[3] = {T, Cout, K};
    wt_tensor *outb = wt_view(ctx, out, 3, ov);
    wt_tensor *y3 = wt_view(ctx, y, 3, yv);
    static const int cts[3] = {1, 0, 2};
    for (int64_t j = 0; j < K / S; j++) {
        wt_tensor *src = wt_permute(ctx, wt_narrow(ctx, y3, 2, j * S, S), cts); /* [Cout, T, S] */
        wt_add_(ctx, wt_narrow(ctx, outb, 1, j, T), src);
    }
    return out;
}

wt_tensor *wt_demucs_decode_tr(wt_ctx *ctx, const wt_demucs *m, int j, const wt_tensor *x,
                               bool short_input) {
    const wt_demucs_dec *d = &m->dec[j];
    if (!x || wt_ctx_status(ctx) != WT_OK) return NULL;
    if (short_input && d->convtr_packed && x->shape[0] == 1 && !wt_ctx_backend(ctx)->host)
        return convtr_as_linear(ctx, d, x, m->cfg.stride);
    return wt_conv_transpose1d(ctx, x, d->convtr_w, d->convtr_b, m->cfg.stride, 0, 0, 1, 1);
}

wt_tensor *wt_demucs_lstm(wt_ctx *ctx, const wt_demucs *m, const wt_tensor *x, wt_tensor *h,
                          wt_tensor *c) {
    /* [B, C, L] -> [L, B, C], as the reference permutes for nn.LSTM. */
    static const int to_tbc[3] = {2, 0, 1}, to_bcl[3] = {1, 2, 0};
    wt_tensor *seq = wt_contiguous(ctx, wt_permute(ctx, x, to_tbc));
    wt_tensor *y = wt_lstm_forward(ctx, &m->lstm, seq, h, c);
    if (m->lin_w) y = wt_linear(ctx, y, m->lin_w, m->lin_b);
    return wt_contiguous(ctx, wt_permute(ctx, y, to_bcl));
}

/* ---- offline forward ---- */

static void tap_call(wt_demucs_tap tap, void *user, const char *name, const wt_tensor *t) {
    if (tap && t) tap(user, name, t);
}

/* Unbiased std over time of the channel mean, per batch entry, computed in
 * double from the samples on the host (the reference's float32 reduction is
 * accurate to an ulp or so; a naive float sum over minutes would not be).
 * A device input is downloaded once for it; the result [B, 1, 1] goes back
 * to ctx's backend. */
static wt_tensor *input_std(wt_ctx *ctx, const wt_tensor *mix) {
    int64_t B = mix->shape[0], C = mix->shape[1], T = mix->shape[2];
    const wt_backend *be = wt_ctx_backend(ctx);
    wt_tensor *xc = wt_contiguous(ctx, mix);
    wt_tensor *std = wt_tensor_new3(ctx, WT_F32, B, 1, 1);
    if (!xc || !std) return NULL;
    float *host = be->host ? NULL : malloc(wt_nbytes(xc));
    float *out = malloc((size_t)B * sizeof *out);
    wt_status st = !out || (!be->host && !host) ? WT_ERR_NOMEM : WT_OK;
    if (st == WT_OK && host) st = be->download(host, xc->data, wt_nbytes(xc));
    if (st != WT_OK) {
        free(host);
        free(out);
        wt_ctx_fail(ctx, st, "demucs: cannot read the input for its std");
        return NULL;
    }
    const float *p = host ? host : xc->data;
    for (int64_t b = 0; b < B; b++) {
        double sum = 0, sum2 = 0;
        for (int64_t t = 0; t < T; t++) {
            double v = 0;
            for (int64_t c = 0; c < C; c++) v += p[(b * C + c) * T + t];
            /* the reference's channel mean is a float32 tensor */
            float mono = (float)(v / (double)C);
            sum += mono;
        }
        double mean = sum / (double)T;
        for (int64_t t = 0; t < T; t++) {
            double v = 0;
            for (int64_t c = 0; c < C; c++) v += p[(b * C + c) * T + t];
            double d = (double)(float)(v / (double)C) - mean;
            sum2 += d * d;
        }
        out[b] = (float)sqrt(sum2 / (double)(T - 1));
    }
    st = be->upload(std->data, out, (size_t)B * sizeof *out);
    free(host);
    free(out);
    if (st != WT_OK) {
        wt_ctx_fail(ctx, st, "demucs: std upload failed");
        return NULL;
    }
    return std;
}

wt_tensor *wt_demucs_forward(wt_demucs *m, wt_ctx *ctx, const wt_tensor *mix, wt_demucs_tap tap,
                             void *user) {
    const wt_demucs_config *c = &m->cfg;
    if (wt_ctx_status(ctx) != WT_OK) return NULL;
    if (wt_ctx_backend(ctx) != m->be) {
        wt_ctx_fail(ctx, WT_ERR_INVALID,
                    "demucs: the context is on the '%s' backend, the model on '%s'",
                    wt_ctx_backend(ctx)->name, m->be->name);
        return NULL;
    }
    if (!mix || mix->ndim != 3 || mix->dtype != WT_F32 || mix->shape[1] != c->chin ||
        mix->shape[2] < (c->normalize ? 2 : 1) || mix->backend != m->be) {
        char buf[64] = "NULL";
        if (mix) wt_shape_str(mix, buf, sizeof buf);
        wt_ctx_fail(ctx, WT_ERR_INVALID,
                    "demucs: input must be f32 [batch, %d, time >= 2] on the model's backend "
                    "('%s'), got %s%s", c->chin, m->be->name, buf,
                    mix && mix->backend != m->be ? " on another backend" : "");
        return NULL;
    }
    int64_t B = mix->shape[0], T = mix->shape[2];
    const wt_tensor *x = mix;
    tap_call(tap, user, "resample_kernel", m->sinc);
    wt_tensor *std = NULL;
    if (c->normalize) {
        std = input_std(ctx, mix);
        tap_call(tap, user, "offline.norm_std", std);
        /* floor + std in float32, as python float + float32 tensor */
        wt_tensor *den = std ? wt_affine(ctx, std, 1.0f, (float)c->floor) : NULL;
        x = wt_binary(ctx, WT_BINARY_DIV, mix, den);
    }
    int64_t L = wt_demucs_valid_length(c, T);
    x = wt_pad(ctx, x, -1, 0, L - T, WT_PAD_CONSTANT, 0.0);
    tap_call(tap, user, "offline.input_normalized_padded", x);
    if (c->resample > 1) {
        int64_t flat[3] = {B * c->chin, 1, L};
        x = wt_reshape(ctx, x, 3, flat);
        x = wt_demucs_upsample2(ctx, m, x);
        if (c->resample == 4) {
            tap_call(tap, user, "offline.upsample2_1", x);
            x = wt_demucs_upsample2(ctx, m, x);
        }
        int64_t back[3] = {B, c->chin, L * c->resample};
        x = wt_reshape(ctx, x, 3, back);
        tap_call(tap, user, "offline.upsampled", x);
    }
    const wt_tensor *skips[WT_DEMUCS_MAX_DEPTH];
    char name[64];
    /* Each layer's temporaries are freed once its output exists (the
     * outputs themselves are the skips), and the decoder keeps only its
     * latest output: a whole file's pass holds a layer's working set, not
     * every intermediate. */
    for (int i = 0; i < c->depth; i++) {
        wt_ctx_mark layer = wt_ctx_mark_(ctx);
        x = wt_ctx_release_(ctx, layer, wt_demucs_encode(ctx, m, i, x, false));
        skips[i] = x;
        snprintf(name, sizeof name, "offline.encoder.%d", i);
        tap_call(tap, user, name, x);
    }
    wt_ctx_mark decoder = wt_ctx_mark_(ctx);
    x = wt_demucs_lstm(ctx, m, x, NULL, NULL);
    tap_call(tap, user, "offline.lstm_out", x);
    for (int j = 0; j < c->depth; j++) {
        const wt_demucs_dec *d = &m->dec[j];
        const wt_tensor *skip = skips[c->depth - 1 - j];
        if (!x) return NULL;
        x = wt_add(ctx, x, wt_narrow(ctx, skip, -1, 0, x->shape[2]));
        x = wt_demucs_decode_pw(ctx, m, j, x, false);
        x = wt_demucs_decode_tr(ctx, m, j, x, false);
        if (d->relu) x = wt_unary_(ctx, WT_UNARY_RELU, (wt_tensor *)x, 0);
        x = wt_ctx_release_(ctx, decoder, x);
        snprintf(name, sizeof name, "offline.decoder.%d", j);
        tap_call(tap, user, name, x);
    }
    if (!x) return NULL;
    if (c->resample > 1) {
        int64_t len = x->shape[2];
        int64_t flat[3] = {B * c->chout, 1, len};
        x = wt_reshape(ctx, x, 3, flat);
        x = wt_ctx_release_(ctx, decoder, wt_demucs_downsample2(ctx, m, x));
        if (c->resample == 4) {
            tap_call(tap, user, "offline.downsample2_1", x);
            x = wt_ctx_release_(ctx, decoder, wt_demucs_downsample2(ctx, m, x));
        }
        if (!x) return NULL;
        int64_t back[3] = {B, c->chout, x->shape[2]};
        x = wt_reshape(ctx, x, 3, back);
        tap_call(tap, user, "offline.downsampled", x);
    }
    if (!x) return NULL;
    x = wt_narrow(ctx, x, -1, 0, T);
    return std ? wt_mul(ctx, std, x) : wt_contiguous(ctx, x);
}
