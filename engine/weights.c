/* Weight loader: a prefix stack over one safetensors file, dtype conversion,
 * shape checks and weight-norm folding. */
#include "wavetensor/weights.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WT_WEIGHTS_MAX_NAME 1024
#define WT_WEIGHTS_MAX_DEPTH 64

struct wt_weights {
    wt_st_file *file;
    wt_ctx *ctx;
    wt_dtype dtype;
    char prefix[WT_WEIGHTS_MAX_NAME];
    size_t len;                             /* strlen(prefix) */
    size_t saved[WT_WEIGHTS_MAX_DEPTH];     /* prefix length before each push */
    int depth;
    int overflow;                           /* pushes beyond capacity, undone by pops */
};

wt_weights *wt_weights_open(const char *path, wt_ctx *ctx, wt_dtype dtype) {
    if (!ctx) {
        wt_error(WT_ERR_INVALID, "%s: weights need a context", path ? path : "(null)");
        return NULL;
    }
    wt_st_file *f = wt_st_open(path);
    if (!f) return NULL; /* wt_last_error names the file and the problem */
    wt_weights *w = calloc(1, sizeof *w);
    if (!w) {
        wt_st_close(f);
        wt_error(WT_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    w->file = f;
    w->ctx = ctx;
    w->dtype = dtype;
    return w;
}

void wt_weights_close(wt_weights *w) {
    if (!w) return;
    wt_st_close(w->file);
    free(w);
}

void wt_weights_push(wt_weights *w, const char *fmt, ...) {
    if (w->depth >= WT_WEIGHTS_MAX_DEPTH) {
        w->overflow++;
        wt_ctx_fail(w->ctx, WT_ERR_INVALID, "weights: prefix nested deeper than %d",
                    WT_WEIGHTS_MAX_DEPTH);
        return;
    }
    w->saved[w->depth++] = w->len;
    char comp[WT_WEIGHTS_MAX_NAME];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(comp, sizeof comp, fmt, ap);
    va_end(ap);
    int k = snprintf(w->prefix + w->len, sizeof w->prefix - w->len, "%s%s", w->len ? "." : "", comp);
    if (k < 0 || (size_t)k >= sizeof w->prefix - w->len) {
        w->prefix[w->len] = '\0';
        wt_ctx_fail(w->ctx, WT_ERR_INVALID, "weights: prefix '%s.%s' too long", w->prefix, comp);
        return;
    }
    w->len += (size_t)k;
}

void wt_weights_pop(wt_weights *w) {
    if (w->overflow > 0) {
        w->overflow--;
        return;
    }
    if (w->depth == 0) return;
    w->len = w->saved[--w->depth];
    w->prefix[w->len] = '\0';
}

void wt_weights_set_dtype(wt_weights *w, wt_dtype dtype) { w->dtype = dtype; }
const wt_st_file *wt_weights_file(const wt_weights *w) { return w->file; }

/* prefix + "." + name (+ suffix) into buf; false when it does not fit. */
static bool full_name(const wt_weights *w, const char *name, const char *suffix, char *buf,
                      size_t n) {
    int k = snprintf(buf, n, "%s%s%s%s", w->prefix, w->len ? "." : "", name, suffix);
    return k >= 0 && (size_t)k < n;
}

/* The two weight-norm tensors standing for `full` (g, v), if the file has
 * them: "<full>_g"/"<full>_v" (old torch weight_norm, for names ending in
 * "weight") or "<stem>.parametrizations.<last>.original0/1" (torch >= 2.1). */
static bool find_weight_norm(const wt_weights *w, const char *full, const wt_st_entry **g,
                             const wt_st_entry **v) {
    char a[WT_WEIGHTS_MAX_NAME + 64], b[WT_WEIGHTS_MAX_NAME + 64];
    size_t n = strlen(full);
    if (n >= 6 && strcmp(full + n - 6, "weight") == 0) {
        snprintf(a, sizeof a, "%s_g", full);
        snprintf(b, sizeof b, "%s_v", full);
        *g = wt_st_find(w->file, a);
        *v = wt_st_find(w->file, b);
        if (*g && *v) return true;
    }
    const char *dot = strrchr(full, '.');
    if (!dot) return false;
    int stem = (int)(dot - full);
    snprintf(a, sizeof a, "%.*s.parametrizations.%s.original0", stem, full, dot + 1);
    snprintf(b, sizeof b, "%.*s.parametrizations.%s.original1", stem, full, dot + 1);
    *g = wt_st_find(w->file, a);
    *v = wt_st_find(w->file, b);
    return *g && *v;
}

bool wt_weights_has(const wt_weights *w, const char *name) {
    char full[WT_WEIGHTS_MAX_NAME];
    if (!w || !name || !full_name(w, name, "", full, sizeof full)) return false;
    const wt_st_entry *g, *v;
    return wt_st_find(w->file, full) || find_weight_norm(w, full, &g, &v);
}

static void shape_text(int ndim, const int64_t *shape, char *buf, size_t n) {
    size_t k = 0;
    buf[0] = '\0';
    k += (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && k < n; i++) {
        if (shape[i] < 0)
            k += (size_t)snprintf(buf + k, n - k, i ? ", *" : "*");
        else
            k += (size_t)snprintf(buf + k, n - k, i ? ", %lld" : "%lld", (long long)shape[i]);
    }
    if (k < n) snprintf(buf + k, n - k, "]");
}

static bool check_shape(const wt_weights *w, const char *full, int have_ndim,
                        const int64_t *have, int ndim, const int64_t *want) {
    if (!want) return true; /* NULL shape: the caller takes whatever is stored */
    bool ok = have_ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = want[i] < 0 || want[i] == have[i];
    if (ok) return true;
    char a[160], b[160];
    shape_text(ndim, want, a, sizeof a);
    shape_text(have_ndim, have, b, sizeof b);
    wt_ctx_fail(w->ctx, WT_ERR_INVALID, "%s: %s: expected shape %s, found %s",
                wt_st_path(w->file), full, a, b);
    return false;
}

static bool is_float(wt_dtype t) { return t == WT_F32 || t == WT_F16 || t == WT_BF16; }

/* weight = g * v / ||v||, norm over every dim but 0, computed in double from
 * f32 copies of g and v, then stored in the loader's dtype. */
static wt_tensor *fold_weight_norm(wt_weights *w, const char *full, const wt_st_entry *ge,
                                   const wt_st_entry *ve) {
    const char *path = wt_st_path(w->file);
    if (!is_float(ge->dtype) || !is_float(ve->dtype) || ve->ndim < 1) {
        wt_ctx_fail(w->ctx, WT_ERR_FORMAT, "%s: %s: weight-norm pair has non-float or scalar tensors",
                    path, full);
        return NULL;
    }
    int64_t out = ve->shape[0];
    int64_t gn = 1;
    for (int i = 0; i < ge->ndim; i++) gn *= ge->shape[i];
    if (gn != out) {
        wt_ctx_fail(w->ctx, WT_ERR_FORMAT,
                    "%s: %s: weight-norm g has %lld elements, v has %lld output channels", path,
                    full, (long long)gn, (long long)out);
        return NULL;
    }
    /* Load both as f32 in a scratch heap context so the model's context only
     * receives the folded result. */
    wt_ctx *tmp = wt_ctx_new_heap(NULL);
    if (!tmp) {
        wt_ctx_fail(w->ctx, WT_ERR_NOMEM, "%s: %s: out of memory", path, full);
        return NULL;
    }
    wt_tensor *g = wt_st_load(tmp, ge, WT_F32);
    wt_tensor *v = g ? wt_st_load(tmp, ve, WT_F32) : NULL;
    wt_tensor *res = v ? wt_tensor_new(tmp, WT_F32, ve->ndim, ve->shape) : NULL;
    if (!res) {
        wt_ctx_fail(w->ctx, wt_ctx_status(tmp), "%s: %s: %s", path, full, wt_ctx_error(tmp));
        wt_ctx_free(tmp);
        return NULL;
    }
    const float *gd = g->data, *vd = v->data;
    float *rd = res->data;
    int64_t inner = out ? wt_numel(v) / out : 0;
    for (int64_t o = 0; o < out; o++) {
        double ss = 0;
        for (int64_t i = 0; i < inner; i++) ss += (double)vd[o * inner + i] * vd[o * inner + i];
        double scale = ss > 0 ? gd[o] / sqrt(ss) : 0.0;
        for (int64_t i = 0; i < inner; i++) rd[o * inner + i] = (float)(vd[o * inner + i] * scale);
    }
    /* Hand the folded values to wt_st_load's conversion path as a fake entry. */
    wt_st_entry folded = {.name = full, .dtype = WT_F32, .ndim = ve->ndim, .data = rd,
                          .nbytes = wt_nbytes(res)};
    memcpy(folded.shape, ve->shape, sizeof folded.shape);
    wt_tensor *t = wt_st_load(w->ctx, &folded, is_float(w->dtype) ? w->dtype : WT_F32);
    wt_ctx_free(tmp);
    return t;
}

static wt_tensor *get_impl(wt_weights *w, const char *name, int ndim, const int64_t *shape,
                           bool optional) {
    if (!w || !name) return NULL;
    if (wt_ctx_status(w->ctx) != WT_OK) return NULL;
    char full[WT_WEIGHTS_MAX_NAME];
    if (!full_name(w, name, "", full, sizeof full)) {
        wt_ctx_fail(w->ctx, WT_ERR_INVALID, "%s: tensor name '%s.%s' too long",
                    wt_st_path(w->file), w->prefix, name);
        return NULL;
    }
    const wt_st_entry *e = wt_st_find(w->file, full);
    const wt_st_entry *ge = NULL, *ve = NULL;
    if (!e && !find_weight_norm(w, full, &ge, &ve)) {
        if (!optional)
            wt_ctx_fail(w->ctx, WT_ERR_NOT_FOUND, "%s: tensor '%s' not found",
                        wt_st_path(w->file), full);
        return NULL;
    }
    if (e) {
        if (!check_shape(w, full, e->ndim, e->shape, ndim, shape)) return NULL;
        wt_dtype to = is_float(e->dtype) && is_float(w->dtype) ? w->dtype : e->dtype;
        return wt_st_load(w->ctx, e, to);
    }
    if (!check_shape(w, full, ve->ndim, ve->shape, ndim, shape)) return NULL;
    return fold_weight_norm(w, full, ge, ve);
}

wt_tensor *wt_weights_get(wt_weights *w, const char *name, int ndim, const int64_t *shape) {
    return get_impl(w, name, ndim, shape, false);
}

wt_tensor *wt_weights_get_opt(wt_weights *w, const char *name, int ndim, const int64_t *shape) {
    return get_impl(w, name, ndim, shape, true);
}
