/* The model inside the engine, and phase-aligned dry/wet mixing. */
#define _POSIX_C_SOURCE 200809L
#include "lv2_core.h"

#include "wavetensor/mimi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool readable(const char *path) { return path && path[0] && access(path, R_OK) == 0; }

const char *wt_lv2_find_config(const char *weights, const char *config, const char *fallback,
                               char *buf, size_t n) {
    if (config && config[0]) {
        snprintf(buf, n, "%s", config);
        return buf;
    }
    if (weights && weights[0]) {
        const char *slash = strrchr(weights, '/');
        int dir_len = slash ? (int)(slash - weights) : 0;
        /* config.json in the weights' folder: the golden and published layout */
        snprintf(buf, n, "%.*s%sconfig.json", dir_len, weights, slash ? "/" : "");
        if (readable(buf)) return buf;
        /* model.safetensors -> model.json */
        const char *dot = strrchr(weights, '.');
        int stem = dot && (!slash || dot > slash) ? (int)(dot - weights) : (int)strlen(weights);
        snprintf(buf, n, "%.*s.json", stem, weights);
        if (readable(buf)) return buf;
    }
    if (fallback && fallback[0]) {
        snprintf(buf, n, "%s", fallback);
        return buf;
    }
    return NULL;
}

wt_lv2_core *wt_lv2_core_new(wt_lv2_kind kind, const char *config, const char *weights,
                             int codebooks) {
    if (!weights || !weights[0]) {
        wt_error(WT_ERR_NOT_FOUND, "no weights file set");
        return NULL;
    }
    if (!config || !config[0]) {
        wt_error(WT_ERR_NOT_FOUND, "%s: no model config found beside the weights", weights);
        return NULL;
    }
    wt_lv2_core *c = calloc(1, sizeof *c);
    if (!c) {
        wt_error(WT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    c->kind = kind;
    /* The model's own dry mix stays 0: the plugin mixes dry itself, so the
     * control can move while running. */
    wt_status st = kind == WT_LV2_DENOISE
                       ? wt_rt_denoise_new(config, weights, 0.0f, &c->proc, &c->model)
                       : wt_rt_codec_new(config, weights, codebooks, &c->proc, &c->model);
    if (st) {
        free(c);
        return NULL;
    }
    if (kind == WT_LV2_CODEC) {
        wt_mimi_config mc;
        c->codebooks = codebooks;
        if (wt_mimi_config_load(config, &mc) == WT_OK) {
            if (codebooks <= 0) c->codebooks = mc.num_codebooks;
            c->max_codebooks = mc.n_q;
        }
    }
    return c;
}

void wt_lv2_core_stop(wt_lv2_core *c) {
    if (!c) return;
    wt_rt_engine_free(c->engine);
    c->engine = NULL;
    free(c->wet);
    free(c->delay);
    c->wet = c->delay = NULL;
}

void wt_lv2_core_free(wt_lv2_core *c) {
    if (!c) return;
    wt_lv2_core_stop(c);
    wt_rt_model_free(c->model);
    free(c);
}

wt_status wt_lv2_core_start(wt_lv2_core *c, int host_rate, int max_block) {
    wt_lv2_core_stop(c);
    if (c->proc.reset) c->proc.reset(c->proc.user);
    wt_rt_config cfg = wt_rt_config_default(host_rate, max_block);
    /* While the model is late, the listener hears the input rather than
     * holes (the dry input is delayed by the same latency). */
    cfg.fallback = WT_RT_FALLBACK_DRY;
    wt_status st = wt_rt_engine_new(&c->proc, &cfg, &c->engine);
    if (st) return st;
    c->host_rate = host_rate;
    c->max_block = max_block;
    c->latency = wt_rt_engine_latency(c->engine)->host_frames;
    int64_t len = 1;
    while (len < (int64_t)c->latency + max_block + 1) len <<= 1;
    c->delay_mask = len - 1;
    c->delay_pos = 0;
    c->wet = calloc((size_t)max_block, sizeof(float));
    c->delay = calloc((size_t)len, sizeof(float));
    if (!c->wet || !c->delay) {
        wt_lv2_core_stop(c);
        return wt_error(WT_ERR_NOMEM, "out of memory");
    }
    return WT_OK;
}

bool wt_lv2_core_process(wt_lv2_core *c, const float *in, float *out, int n, float *gain,
                         float target, float step, bool freewheel) {
    wt_rt_stats before, after;
    wt_rt_engine_stats(c->engine, &before);
    float g = *gain;
    for (int done = 0; done < n;) {
        int len = n - done < c->max_block ? n - done : c->max_block;
        const float *x = in + done;
        float *y = out + done;
        /* The engine reads all of x before we write y: they may alias. */
        wt_rt_engine_process(c->engine, x, c->wet, len);
        if (freewheel) wt_rt_engine_sync(c->engine);
        for (int i = 0; i < len; i++) {
            int64_t w = c->delay_pos++;
            c->delay[w & c->delay_mask] = x[i];
            float dry = c->delay[(w - c->latency) & c->delay_mask];
            if (g < target) g = g + step < target ? g + step : target;
            else if (g > target) g = g - step > target ? g - step : target;
            /* this form is exact at g = 0 (dry) and g = 1 (the model) */
            y[i] = g * c->wet[i] + (1.0f - g) * dry;
        }
        done += len;
    }
    *gain = g;
    wt_rt_engine_stats(c->engine, &after);
    return after.underruns != before.underruns;
}
