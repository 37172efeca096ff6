/* wavetensor LV2 plugins: Denoise (causal Demucs) and Codec (Mimi encode ->
 * decode). The LV2 glue only: ports, features, state, worker, log. The model
 * runs on the real-time engine's worker thread (lv2_core.c); run() moves
 * samples and never allocates, locks or logs. Hosts without urid:map, the
 * worker or options (lv2apply) still get a working plugin: the model comes
 * from the environment or the default path, and changes that need loading
 * wait for the next activation. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lv2/atom/atom.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/core/lv2.h>
#include <lv2/log/log.h>
#include <lv2/log/logger.h>
#include <lv2/options/options.h>
#include <lv2/state/state.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include "lv2_core.h"
#include "wavetensor/mimi.h"

#define WT_LV2_URI "urn:wavetensor:lv2:"
#define WT_LV2_DENOISE_URI WT_LV2_URI "denoise"
#define WT_LV2_CODEC_URI WT_LV2_URI "codec"
#define WT_LV2_WEIGHTS_URI WT_LV2_URI "weights"
#define WT_LV2_CONFIG_URI WT_LV2_URI "config"

/* The port indices of wavetensor.ttl; the codec has one more. */
enum {
    PORT_IN = 0,
    PORT_OUT,
    PORT_MIX,
    PORT_ENABLED,
    PORT_FREEWHEEL,
    PORT_LATENCY,
    PORT_STATUS,
    PORT_CODEBOOKS,
};

/* The status output port. */
enum { STATUS_OK = 0, STATUS_NO_MODEL = 1, STATUS_LATE = 2 };

/* Seconds a dry/wet or bypass change takes: short, but no click. */
#define RAMP_SECONDS 0.02f

/* Worker messages. */
typedef struct job {
    enum { JOB_LOAD, JOB_FREE } op;
    int codebooks;
    wt_lv2_core *core;
} job;

typedef struct wt_lv2 {
    wt_lv2_kind kind;
    /* ports */
    const float *in;
    float *out;
    const float *mix, *enabled, *freewheel, *codebooks;
    float *latency, *status;
    /* host */
    double rate;
    int max_block;
    LV2_URID_Map *map;
    LV2_Log_Logger logger;
    LV2_Worker_Schedule *worker;
    LV2_URID atom_path, key_weights, key_config;
    /* model: paths change only in instantiate and restore */
    char weights[WT_LV2_PATH_MAX], config[WT_LV2_PATH_MAX], fallback_config[WT_LV2_PATH_MAX];
    wt_lv2_core *core;    /* NULL: no model, audio passes dry */
    wt_lv2_core *garbage; /* replaced model the worker could not take yet */
    bool active;
    bool job_pending; /* audio thread only */
    float gain;       /* current wet gain (ramped) */
    int late_hold;    /* samples the "late" status stays up */
} wt_lv2;

static void say(wt_lv2 *p, bool error, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char line[1400];
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    const char *name = p->kind == WT_LV2_DENOISE ? "Denoise" : "Codec";
    if (error) lv2_log_error(&p->logger, "wavetensor %s: %s\n", name, line);
    else lv2_log_note(&p->logger, "wavetensor %s: %s\n", name, line);
}

static const void *feature(const LV2_Feature *const *features, const char *uri) {
    for (int i = 0; features && features[i]; i++)
        if (!strcmp(features[i]->URI, uri)) return features[i]->data;
    return NULL;
}

/* The default weights: the environment (WT_LV2_DENOISE_WEIGHTS, ...), else
 * $XDG_DATA_HOME/wavetensor/lv2/denoise.safetensors (or ~/.local/share). */
static void default_paths(wt_lv2 *p, const char *bundle) {
    const char *stem = p->kind == WT_LV2_DENOISE ? "DENOISE" : "CODEC";
    const char *file = p->kind == WT_LV2_DENOISE ? "denoise" : "codec";
    char var[64];
    snprintf(var, sizeof var, "WT_LV2_%s_WEIGHTS", stem);
    const char *w = getenv(var);
    snprintf(var, sizeof var, "WT_LV2_%s_CONFIG", stem);
    const char *c = getenv(var);
    if (w && w[0]) {
        snprintf(p->weights, sizeof p->weights, "%s", w);
    } else {
        const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
        if (xdg && xdg[0])
            snprintf(p->weights, sizeof p->weights, "%s/wavetensor/lv2/%s.safetensors", xdg, file);
        else
            snprintf(p->weights, sizeof p->weights, "%s/.local/share/wavetensor/lv2/%s.safetensors",
                     home ? home : "", file);
    }
    snprintf(p->config, sizeof p->config, "%s", c ? c : "");
    size_t bl = strlen(bundle);
    snprintf(p->fallback_config, sizeof p->fallback_config, "%s%s%s-default.json", bundle,
             bl && bundle[bl - 1] == '/' ? "" : "/", file);
}

static int requested_codebooks(const wt_lv2 *p) {
    if (p->kind != WT_LV2_CODEC || !p->codebooks) return 0;
    float v = *p->codebooks;
    return isfinite(v) && v >= 1 ? (int)lrintf(v) : 1;
}

/* The codebooks to use: the control, clamped to what the weights have. */
static int clamp_codebooks(const wt_lv2 *p, int max) {
    int k = requested_codebooks(p);
    return k && max && k > max ? max : k;
}

/* Loads a model for the current paths. */
static wt_lv2_core *load_core(wt_lv2 *p, int codebooks) {
    char cfg[WT_LV2_PATH_MAX];
    const char *cp = wt_lv2_find_config(p->weights, p->config, p->fallback_config, cfg, sizeof cfg);
    wt_mimi_config mc;
    if (p->kind == WT_LV2_CODEC && cp && codebooks > 0 && wt_mimi_config_load(cp, &mc) == WT_OK &&
        codebooks > mc.n_q)
        codebooks = mc.n_q;
    wt_clear_error();
    wt_lv2_core *c = wt_lv2_core_new(p->kind, cp, p->weights, codebooks);
    if (!c)
        say(p, true, "cannot load the model (%s); passing audio through dry", wt_last_error());
    return c;
}

static wt_status start_core(wt_lv2 *p, wt_lv2_core *c) {
    wt_status st = wt_lv2_core_start(c, (int)lrint(p->rate), p->max_block);
    if (st) say(p, true, "cannot run the model at %.0f Hz (%s); passing audio through dry", p->rate,
                wt_last_error());
    return st;
}

static LV2_Handle instantiate(const LV2_Descriptor *d, double rate, const char *bundle,
                              const LV2_Feature *const *features) {
    wt_lv2 *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->kind = strcmp(d->URI, WT_LV2_CODEC_URI) ? WT_LV2_DENOISE : WT_LV2_CODEC;
    p->rate = rate;
    p->max_block = WT_LV2_DEFAULT_MAX_BLOCK;
    p->map = (LV2_URID_Map *)feature(features, LV2_URID__map);
    LV2_Log_Log *log = (LV2_Log_Log *)feature(features, LV2_LOG__log);
    /* Without urid:map the logger writes to stderr. */
    lv2_log_logger_init(&p->logger, log ? p->map : NULL, p->map ? log : NULL);
    p->worker = (LV2_Worker_Schedule *)feature(features, LV2_WORKER__schedule);
    if (p->map) {
        p->atom_path = p->map->map(p->map->handle, LV2_ATOM__Path);
        p->key_weights = p->map->map(p->map->handle, WT_LV2_WEIGHTS_URI);
        p->key_config = p->map->map(p->map->handle, WT_LV2_CONFIG_URI);
        const LV2_Options_Option *opt = feature(features, LV2_OPTIONS__options);
        LV2_URID max_len = p->map->map(p->map->handle, LV2_BUF_SIZE__maxBlockLength);
        LV2_URID a_int = p->map->map(p->map->handle, LV2_ATOM__Int);
        for (; opt && opt->key; opt++)
            if (opt->key == max_len && opt->type == a_int && opt->value) {
                int v = *(const int32_t *)opt->value;
                if (v >= 1 && v <= 8192) p->max_block = v;
            }
    }
    default_paths(p, bundle ? bundle : "");
    p->core = load_core(p, 0);
    return p;
}

/* The latency port: also written outside run(), for hosts that read it
 * right after activation (lv2proc) instead of after a first run. */
static void publish_latency(wt_lv2 *p) {
    if (p->latency) *p->latency = p->core && p->core->engine ? (float)p->core->latency : 0.0f;
}

static void connect_port(LV2_Handle h, uint32_t port, void *data) {
    wt_lv2 *p = h;
    switch (port) {
    case PORT_IN: p->in = data; break;
    case PORT_OUT: p->out = data; break;
    case PORT_MIX: p->mix = data; break;
    case PORT_ENABLED: p->enabled = data; break;
    case PORT_FREEWHEEL: p->freewheel = data; break;
    case PORT_LATENCY:
        p->latency = data;
        publish_latency(p);
        break;
    case PORT_STATUS: p->status = data; break;
    case PORT_CODEBOOKS: p->codebooks = data; break;
    default: break;
    }
}

static float target_gain(const wt_lv2 *p) {
    float mix = p->mix && isfinite(*p->mix) ? *p->mix : 1.0f;
    mix = mix < 0 ? 0 : mix > 1 ? 1 : mix;
    bool on = !p->enabled || *p->enabled > 0.5f;
    return on ? mix : 0.0f;
}

/* Loading may allocate and read files: activation is not real-time. */
static void activate(LV2_Handle h) {
    wt_lv2 *p = h;
    int k = p->core ? clamp_codebooks(p, p->core->max_codebooks) : 0;
    if (p->core && p->kind == WT_LV2_CODEC && k && k != p->core->codebooks) {
        wt_lv2_core *c = load_core(p, k);
        wt_lv2_core_free(p->core);
        p->core = c;
    }
    if (p->core && start_core(p, p->core)) {
        wt_lv2_core_free(p->core);
        p->core = NULL;
    }
    p->gain = target_gain(p);
    p->late_hold = 0;
    p->job_pending = false;
    p->active = true;
    publish_latency(p);
}

static void deactivate(LV2_Handle h) {
    wt_lv2 *p = h;
    if (p->core) wt_lv2_core_stop(p->core);
    wt_lv2_core_free(p->garbage);
    p->garbage = NULL;
    p->active = false;
}

/* Asks the worker for a codec with other codebooks (when there is a worker;
 * otherwise the change waits for the next activation). */
static void maybe_reload(wt_lv2 *p) {
    if (!p->worker || p->job_pending || !p->core) return;
    if (p->garbage) { /* an earlier free could not be queued: retry first */
        job f = {.op = JOB_FREE, .core = p->garbage};
        if (p->worker->schedule_work(p->worker->handle, sizeof f, &f) == LV2_WORKER_SUCCESS)
            p->garbage = NULL;
        return;
    }
    int k = clamp_codebooks(p, p->core->max_codebooks);
    if (!k || k == p->core->codebooks) return;
    job j = {.op = JOB_LOAD, .codebooks = k};
    if (p->worker->schedule_work(p->worker->handle, sizeof j, &j) == LV2_WORKER_SUCCESS)
        p->job_pending = true;
}

static void run(LV2_Handle h, uint32_t n) {
    wt_lv2 *p = h;
    float status = STATUS_OK;
    if (!p->core || !p->core->engine) {
        if (p->in != p->out) memmove(p->out, p->in, n * sizeof(float));
        status = STATUS_NO_MODEL;
    } else {
        if (p->kind == WT_LV2_CODEC) maybe_reload(p);
        float step = 1.0f / (RAMP_SECONDS * (float)p->rate);
        bool fw = p->freewheel && *p->freewheel > 0.5f;
        bool late = wt_lv2_core_process(p->core, p->in, p->out, (int)n, &p->gain, target_gain(p),
                                        step, fw);
        /* hold "late" for a second so a control-rate display sees it */
        if (late) p->late_hold = (int)p->rate;
        else p->late_hold = p->late_hold > (int)n ? p->late_hold - (int)n : 0;
        if (p->late_hold) status = STATUS_LATE;
    }
    publish_latency(p);
    if (p->status) *p->status = status;
}

static void cleanup(LV2_Handle h) {
    wt_lv2 *p = h;
    wt_lv2_core_free(p->core);
    wt_lv2_core_free(p->garbage);
    free(p);
}

/* ---- worker: codec reloads ---- */

static LV2_Worker_Status work(LV2_Handle h, LV2_Worker_Respond_Function respond,
                             LV2_Worker_Respond_Handle rh, uint32_t size, const void *data) {
    wt_lv2 *p = h;
    if (size != sizeof(job)) return LV2_WORKER_ERR_UNKNOWN;
    job j;
    memcpy(&j, data, sizeof j);
    if (j.op == JOB_FREE) {
        wt_lv2_core_free(j.core);
        return LV2_WORKER_SUCCESS;
    }
    wt_lv2_core *c = load_core(p, j.codebooks);
    if (c && start_core(p, c)) {
        wt_lv2_core_free(c);
        c = NULL;
    }
    job r = {.op = JOB_LOAD, .codebooks = j.codebooks, .core = c};
    return respond(rh, sizeof r, &r);
}

/* Audio thread: swap in the new model, hand the old one back to be freed. */
static LV2_Worker_Status work_response(LV2_Handle h, uint32_t size, const void *data) {
    wt_lv2 *p = h;
    if (size != sizeof(job)) return LV2_WORKER_ERR_UNKNOWN;
    job r;
    memcpy(&r, data, sizeof r);
    p->job_pending = false;
    if (!r.core) return LV2_WORKER_SUCCESS; /* logged by work(); keep the old model */
    job f = {.op = JOB_FREE, .core = p->core};
    p->core = r.core;
    /* freeing is not real-time safe: the worker does it, or deactivate */
    if (p->worker->schedule_work(p->worker->handle, sizeof f, &f) != LV2_WORKER_SUCCESS)
        p->garbage = f.core;
    return LV2_WORKER_SUCCESS;
}

/* ---- state: the weights and config paths ---- */

static LV2_State_Status save(LV2_Handle h, LV2_State_Store_Function store, LV2_State_Handle sh,
                             uint32_t flags, const LV2_Feature *const *features) {
    wt_lv2 *p = h;
    if (!p->map) return LV2_STATE_ERR_NO_FEATURE;
    LV2_State_Map_Path *mp = (LV2_State_Map_Path *)feature(features, LV2_STATE__mapPath);
    const char *paths[2] = {p->weights, p->config};
    LV2_URID keys[2] = {p->key_weights, p->key_config};
    for (int i = 0; i < 2; i++) {
        if (!paths[i][0]) continue;
        char *abstract = mp ? mp->abstract_path(mp->handle, paths[i]) : NULL;
        const char *v = abstract ? abstract : paths[i];
        LV2_State_Status st = store(sh, keys[i], v, strlen(v) + 1, p->atom_path,
                                    LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE);
        free(abstract); /* the host allocated it with malloc (state spec) */
        if (st) return st;
    }
    return LV2_STATE_SUCCESS;
}

static void restore_path(LV2_State_Retrieve_Function retrieve, LV2_State_Handle sh, LV2_URID key,
                         LV2_URID path_type, LV2_State_Map_Path *mp, char *dst, size_t cap,
                         bool *found) {
    size_t size = 0;
    uint32_t type = 0, flags = 0;
    const char *v = retrieve(sh, key, &size, &type, &flags);
    *found = v && size > 0 && type == path_type;
    if (!*found) return;
    char *abs = mp ? mp->absolute_path(mp->handle, v) : NULL;
    snprintf(dst, cap, "%.*s", (int)strnlen(abs ? abs : v, cap - 1), abs ? abs : v);
    free(abs);
}

/* Not concurrent with run() (no threadSafeRestore): swapping here is safe. */
static LV2_State_Status restore(LV2_Handle h, LV2_State_Retrieve_Function retrieve,
                                LV2_State_Handle sh, uint32_t flags,
                                const LV2_Feature *const *features) {
    wt_lv2 *p = h;
    if (!p->map) return LV2_STATE_ERR_NO_FEATURE;
    LV2_State_Map_Path *mp = (LV2_State_Map_Path *)feature(features, LV2_STATE__mapPath);
    bool have_w = false, have_c = false;
    char w[WT_LV2_PATH_MAX], c[WT_LV2_PATH_MAX] = "";
    restore_path(retrieve, sh, p->key_weights, p->atom_path, mp, w, sizeof w, &have_w);
    restore_path(retrieve, sh, p->key_config, p->atom_path, mp, c, sizeof c, &have_c);
    if (!have_w) return LV2_STATE_SUCCESS; /* nothing of ours: keep the default */
    snprintf(p->weights, sizeof p->weights, "%s", w);
    snprintf(p->config, sizeof p->config, "%s", have_c ? c : "");
    int k = p->core ? p->core->codebooks : requested_codebooks(p);
    wt_lv2_core *core = load_core(p, k);
    if (core && p->active && start_core(p, core)) {
        wt_lv2_core_free(core);
        core = NULL;
    }
    wt_lv2_core_free(p->core);
    p->core = core;
    if (core) say(p, false, "model %s", p->weights);
    return LV2_STATE_SUCCESS;
}

static const void *extension_data(const char *uri) {
    static const LV2_State_Interface state = {save, restore};
    static const LV2_Worker_Interface worker = {work, work_response, NULL};
    if (!strcmp(uri, LV2_STATE__interface)) return &state;
    if (!strcmp(uri, LV2_WORKER__interface)) return &worker;
    return NULL;
}

static const LV2_Descriptor descriptors[] = {
    {WT_LV2_DENOISE_URI, instantiate, connect_port, activate, run, deactivate, cleanup,
     extension_data},
    {WT_LV2_CODEC_URI, instantiate, connect_port, activate, run, deactivate, cleanup,
     extension_data},
};

LV2_SYMBOL_EXPORT const LV2_Descriptor *lv2_descriptor(uint32_t index) {
    return index < sizeof descriptors / sizeof descriptors[0] ? &descriptors[index] : NULL;
}
