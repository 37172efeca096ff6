/* wavetensor LV2 plugins, the part that knows no LV2: a loaded streaming
 * model inside a real-time engine, the dry delay line that keeps dry/wet
 * mixing and bypass phase-aligned with the model's latency, and the search
 * for a model's config next to its weights.
 * Owns: one wt_rt_model, its wt_rt_engine and the mixing scratch.
 * wt_lv2_core_process (the audio path) never allocates, locks, logs or does
 * I/O, except in free-wheel mode, where it waits for the engine's worker
 * (hosts only free-wheel when rendering faster than real time). Everything
 * else here loads files and allocates: never from run(). */
#ifndef WAVETENSOR_PLUGIN_LV2_CORE_H
#define WAVETENSOR_PLUGIN_LV2_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wavetensor/rt.h"
#include "wavetensor/rt_models.h"

#define WT_LV2_PATH_MAX 1024

typedef enum wt_lv2_kind {
    WT_LV2_DENOISE = 0,
    WT_LV2_CODEC = 1,
} wt_lv2_kind;

/* Largest host block the engine is planned for when the host does not say
 * (no options feature); longer blocks are cut into pieces of this size. */
#define WT_LV2_DEFAULT_MAX_BLOCK 1024

typedef struct wt_lv2_core {
    wt_lv2_kind kind;
    int codebooks;     /* codec: codebooks in use; denoise: 0 */
    int max_codebooks; /* codec: codebooks in the weights */
    wt_rt_model *model;
    wt_rt_processor proc;
    /* Set by wt_lv2_core_start, cleared by wt_lv2_core_stop. */
    wt_rt_engine *engine;
    int host_rate, max_block;
    int latency;     /* host frames: out[t] answers in[t - latency] */
    float *wet;      /* max_block samples of engine output */
    float *delay;    /* dry input history, a power of two long */
    int64_t delay_mask, delay_pos;
} wt_lv2_core;

/* The config for a model whose weights are `weights`: `config` when given
 * (non-empty), else config.json or <stem>.json beside the weights, else
 * `fallback`. Writes into buf (n bytes); returns buf, or NULL when nothing
 * was found. Reads the file system; not callback safe. */
const char *wt_lv2_find_config(const char *weights, const char *config, const char *fallback,
                               char *buf, size_t n);

/* Loads the model (codebooks: codec only; <= 0 means the config's default).
 * NULL on error, wt_last_error says why. Not callback safe. */
wt_lv2_core *wt_lv2_core_new(wt_lv2_kind kind, const char *config, const char *weights,
                             int codebooks);
/* Stops the engine if running, frees everything. Not callback safe. */
void wt_lv2_core_free(wt_lv2_core *c);

/* Resets the model's stream and starts an engine for this host rate and
 * largest block; stops a running one first. Not callback safe. */
wt_status wt_lv2_core_start(wt_lv2_core *c, int host_rate, int max_block);
void wt_lv2_core_stop(wt_lv2_core *c);

/* One host block (any length; in and out may alias). out = dry + gain * (wet
 * - dry), dry being the input delayed by the latency; *gain moves toward
 * `target` by at most `step` per sample (click-free dry/wet and bypass).
 * Free-wheeling, waits for the worker after each piece so the output is the
 * model's exactly; otherwise never waits. Returns true when the model was
 * behind (fallback output) during this block. The engine must be started. */
bool wt_lv2_core_process(wt_lv2_core *c, const float *in, float *out, int n, float *gain,
                         float target, float step, bool freewheel);

#endif
