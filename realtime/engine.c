/* The real-time engine. Three stages, two threads:
 *
 *   audio thread:  host in -> [resample] -> input ring ------+
 *   worker:                        pop frame -> step() -> push output ring
 *   audio thread:  host out <- [resample] <- output ring <---+
 *
 * The output ring starts with `prefill` zeros, which is the whole buffering
 * latency; the resamplers are zero-phase (libsamplerate aligns output sample
 * k with input time k / ratio), so out[t] answers in[t - latency] exactly.
 * When the worker is late the output stage substitutes silence (or dry
 * input) and remembers how many model samples it owes (`debt`); those
 * samples are discarded when they arrive, or never computed (the worker
 * drops whole frames), so the alignment survives any overload. Input that
 * does not fit the input ring is replaced by zeros in the same place, for
 * the same reason. */
#define _POSIX_C_SOURCE 200809L
#include "wavetensor/rt.h"

#include <errno.h>
#include <pthread.h>
#include <samplerate.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wavetensor/ring.h"

/* Model samples substituted per resampler call while the model is behind:
 * small, so the silence lasts no longer than needed. */
#define SUBSTITUTE_CHUNK 8

struct wt_rt_engine {
    wt_rt_processor proc;
    wt_rt_config cfg;
    wt_rt_latency lat;
    int frame;
    bool resample;
    double ratio_in;  /* model / host */
    double ratio_out; /* host / model */

    /* audio-thread state */
    SRC_STATE *src_in, *src_out;
    float *in_scratch; /* model-rate input of one period */
    int in_scratch_cap;
    float *out_scratch; /* model-rate samples fed to the output resampler */
    int out_scratch_cap;
    float *dry;       /* model-rate input history, for the dry fallback */
    int64_t dry_mask;
    int64_t in_pos;   /* model samples produced by the input stage */
    int64_t out_pos;  /* model samples consumed by the output stage (prefill included) */
    int64_t pending_zeros; /* input samples that did not fit, owed to the ring as zeros */
    int64_t offset;   /* out_pos - offset = input position a sample answers */

    wt_ring *in_ring, *out_ring;
    float *frame_in, *frame_out; /* worker */

    /* Model samples the output stage replaced and must discard when they
     * arrive. Written by both threads with compare-and-swap. */
    _Atomic int64_t debt;

    pthread_t worker;
    bool worker_started;
    sem_t wake;
    atomic_bool stop;
    atomic_bool busy; /* worker is between popping a frame and pushing its output */

    _Atomic uint64_t periods, underruns, underrun_samples, overruns, overrun_samples, xruns,
        oversize, frames, frames_dropped, step_errors;
    _Atomic uint64_t load_ema_ppm, load_peak_ppm; /* parts per million */
    atomic_bool worker_rt;
};

wt_rt_config wt_rt_config_default(int host_rate, int max_period) {
    wt_rt_config c = {0};
    c.host_rate = host_rate;
    c.max_period = max_period;
    c.converter = SRC_SINC_FASTEST;
    c.fallback = WT_RT_FALLBACK_SILENCE;
    return c;
}

static int64_t gcd64(int64_t a, int64_t b) {
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static size_t pow2_at_least(int64_t n) {
    size_t c = 1;
    while ((int64_t)c < n) c <<= 1;
    return c;
}

/* Output samples a fresh converter holds back (its filter's lookahead): fed
 * `chunk`-sized blocks of zeros, how far its output count trails
 * input * ratio. Measured on a throwaway state, so it holds for this
 * libsamplerate's converters whatever their filter lengths. */
static wt_status measure_lag(int converter, double ratio, int chunk, int *lag) {
    int err = 0;
    SRC_STATE *s = src_new(converter, 1, &err);
    if (!s) return wt_error(WT_ERR_INVALID, "resampler: %s", src_strerror(err));
    int out_cap = (int)(chunk * ratio) + 64;
    float *in = calloc((size_t)chunk, sizeof(float));
    float *out = malloc((size_t)out_cap * sizeof(float));
    if (!in || !out) {
        free(in);
        free(out);
        src_delete(s);
        return wt_error(WT_ERR_NOMEM, "resampler: out of memory");
    }
    int64_t fed = 0, got = 0;
    int worst = 0;
    /* Long enough that the filter is full: a few thousand input samples. */
    for (int i = 0; i < 64 || fed < 16384; i++) {
        SRC_DATA d = {.data_in = in, .data_out = out, .input_frames = chunk,
                      .output_frames = out_cap, .src_ratio = ratio};
        err = src_process(s, &d);
        if (err) break;
        fed += d.input_frames_used;
        got += d.output_frames_gen;
        int behind = (int)((double)fed * ratio + 0.999999) - (int)got;
        if (i >= 8 && behind > worst) worst = behind;
    }
    free(in);
    free(out);
    src_delete(s);
    if (err) return wt_error(WT_ERR_INVALID, "resampler: %s", src_strerror(err));
    *lag = worst + 1;
    return WT_OK;
}

/* A converter with its buffers touched once, so the first callback does not
 * page-fault in them. */
static wt_status make_converter(int converter, double ratio, SRC_STATE **out) {
    int err = 0;
    SRC_STATE *s = src_new(converter, 1, &err);
    if (!s) return wt_error(WT_ERR_INVALID, "resampler: %s", src_strerror(err));
    float in[256] = {0}, buf[1024];
    for (int i = 0; i < 16; i++) {
        SRC_DATA d = {.data_in = in, .data_out = buf, .input_frames = 256,
                      .output_frames = 1024, .src_ratio = ratio};
        src_process(s, &d);
    }
    src_reset(s);
    *out = s;
    return WT_OK;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(long ns) {
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
}

static void record_load(wt_rt_engine *e, uint64_t step_ns) {
    double frame_ns = 1e9 * e->frame / e->proc.model_rate;
    uint64_t ppm = (uint64_t)(1e6 * (double)step_ns / frame_ns);
    uint64_t ema = atomic_load_explicit(&e->load_ema_ppm, memory_order_relaxed);
    /* Smoothed over ~8 frames: steady enough to read, quick to follow. */
    ema = ema ? (ema * 7 + ppm) / 8 : ppm;
    atomic_store_explicit(&e->load_ema_ppm, ema, memory_order_relaxed);
    if (ppm > atomic_load_explicit(&e->load_peak_ppm, memory_order_relaxed))
        atomic_store_explicit(&e->load_peak_ppm, ppm, memory_order_relaxed);
}

/* Drops the next input frame instead of computing it when the output stage
 * already owes at least that frame plus everything in the output ring: its
 * output would be discarded on arrival. The compare-and-swap fails (and we
 * compute normally) if the audio thread changed the debt meanwhile. */
static bool drop_stale_frame(wt_rt_engine *e) {
    int64_t d = atomic_load(&e->debt);
    int64_t queued = (int64_t)wt_ring_read_available(e->out_ring);
    if (d < e->frame + queued) return false;
    if (!atomic_compare_exchange_strong(&e->debt, &d, d - e->frame)) return false;
    wt_ring_skip(e->in_ring, (size_t)e->frame);
    atomic_fetch_add_explicit(&e->frames_dropped, 1, memory_order_relaxed);
    return true;
}

static void *worker_main(void *arg) {
    wt_rt_engine *e = arg;
    bool dropped = false;
    while (!atomic_load(&e->stop)) {
        /* Timed, so a lost wake-up costs at most 20 ms and stop is seen. */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 20000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        sem_timedwait(&e->wake, &until);
        for (;;) {
            atomic_store(&e->busy, true);
            if (atomic_load(&e->stop) || wt_ring_read_available(e->in_ring) < (size_t)e->frame) {
                atomic_store(&e->busy, false);
                break;
            }
            if (drop_stale_frame(e)) {
                dropped = true;
                continue;
            }
            if (wt_ring_write_available(e->out_ring) < (size_t)e->frame) {
                /* The output side is not reading (stalled host): wait. */
                atomic_store(&e->busy, false);
                sleep_ns(1000000);
                continue;
            }
            if (dropped && e->proc.reset) e->proc.reset(e->proc.user);
            dropped = false;
            wt_ring_read(e->in_ring, e->frame_in, (size_t)e->frame);
            uint64_t t0 = now_ns();
            wt_status st = e->proc.step(e->proc.user, e->frame_in, e->frame_out);
            record_load(e, now_ns() - t0);
            if (st != WT_OK) {
                memset(e->frame_out, 0, (size_t)e->frame * sizeof(float));
                atomic_fetch_add_explicit(&e->step_errors, 1, memory_order_relaxed);
            }
            wt_ring_write(e->out_ring, e->frame_out, (size_t)e->frame);
            atomic_fetch_add_explicit(&e->frames, 1, memory_order_relaxed);
        }
    }
    return NULL;
}

static wt_status start_worker(wt_rt_engine *e) {
    if (e->cfg.worker_priority > 0) {
        pthread_attr_t a;
        pthread_attr_init(&a);
        struct sched_param sp = {.sched_priority = e->cfg.worker_priority};
        pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED);
        pthread_attr_setschedpolicy(&a, SCHED_FIFO);
        pthread_attr_setschedparam(&a, &sp);
        int rc = pthread_create(&e->worker, &a, worker_main, e);
        pthread_attr_destroy(&a);
        if (rc == 0) {
            atomic_store(&e->worker_rt, true);
            e->worker_started = true;
            return WT_OK;
        }
        /* Not permitted (no rtprio limit): normal scheduling below. */
    }
    int rc = pthread_create(&e->worker, NULL, worker_main, e);
    if (rc) return wt_error(WT_ERR_NOMEM, "realtime: cannot start the worker thread (%s)", strerror(rc));
    e->worker_started = true;
    return WT_OK;
}

static wt_status check_args(const wt_rt_processor *p, const wt_rt_config *c) {
    if (!p || !p->step) return wt_error(WT_ERR_INVALID, "realtime: processor has no step function");
    if (p->model_rate < 8000 || p->model_rate > 192000)
        return wt_error(WT_ERR_INVALID, "realtime: model rate %d Hz out of range 8000..192000",
                        p->model_rate);
    if (p->frame < 1 || p->frame > (1 << 20))
        return wt_error(WT_ERR_INVALID, "realtime: model frame %d out of range", p->frame);
    if (p->latency_samples < 0 || p->latency_samples > (1 << 22))
        return wt_error(WT_ERR_INVALID, "realtime: model latency %d out of range", p->latency_samples);
    if (!c) return wt_error(WT_ERR_INVALID, "realtime: no config");
    if (c->host_rate < 8000 || c->host_rate > 192000)
        return wt_error(WT_ERR_INVALID, "realtime: host rate %d Hz out of range 8000..192000",
                        c->host_rate);
    if (c->max_period < 1 || c->max_period > 8192)
        return wt_error(WT_ERR_INVALID, "realtime: period %d out of range 1..8192", c->max_period);
    if (c->headroom < 0 || c->headroom > 10 * c->host_rate)
        return wt_error(WT_ERR_INVALID, "realtime: headroom %d out of range", c->headroom);
    double r = (double)c->host_rate / p->model_rate;
    if (r > 16 || r < 1.0 / 16)
        return wt_error(WT_ERR_INVALID, "realtime: rate ratio %d/%d too large", c->host_rate,
                        p->model_rate);
    return WT_OK;
}

/* The buffering (see the derivation in the tests' comments): in the worst
 * case the last sample of a frame arrives in callback k, and the first of its
 * output is due in callback k+1, one period of compute time later. */
static void plan_latency(wt_rt_engine *e, int lag_in, int lag_out_model) {
    int64_t mr = e->proc.model_rate, hr = e->cfg.host_rate;
    wt_rt_latency *l = &e->lat;
    l->frame = e->frame;
    l->period = (int)((e->cfg.max_period * mr + hr - 1) / hr);
    l->headroom = (int)((e->cfg.headroom * mr + hr - 1) / hr);
    l->lookahead = e->proc.latency_samples;
    int64_t need = (int64_t)l->frame + l->period + l->headroom + lag_in + lag_out_model;
    if (e->resample) need += 2; /* the input resampler's output count varies by one */
    /* Round the total so it is a whole number of host samples. */
    int64_t unit = mr / gcd64(mr, hr);
    int64_t total = need + l->lookahead;
    total = (total + unit - 1) / unit * unit;
    l->resampler = (int)(total - l->lookahead - l->frame - l->period - l->headroom);
    l->total_model = (int)total;
    l->host_frames = (int)(total * hr / mr);
    l->ms = 1000.0 * (double)total / (double)mr;
}

wt_status wt_rt_engine_new(const wt_rt_processor *proc, const wt_rt_config *cfg,
                           wt_rt_engine **out) {
    *out = NULL;
    wt_status st = check_args(proc, cfg);
    if (st) return st;
    wt_rt_engine *e = calloc(1, sizeof *e);
    if (!e) return wt_error(WT_ERR_NOMEM, "realtime: out of memory");
    e->proc = *proc;
    e->cfg = *cfg;
    e->frame = proc->frame;
    e->resample = cfg->host_rate != proc->model_rate;
    e->ratio_in = (double)proc->model_rate / cfg->host_rate;
    e->ratio_out = (double)cfg->host_rate / proc->model_rate;
    sem_init(&e->wake, 0, 0);

    int lag_in = 0, lag_out = 0;
    if (e->resample) {
        int lag_out_host = 0;
        int model_period = (int)(cfg->max_period * e->ratio_in) + 1;
        if ((st = measure_lag(cfg->converter, e->ratio_in, cfg->max_period, &lag_in)) ||
            (st = measure_lag(cfg->converter, e->ratio_out, model_period, &lag_out_host)) ||
            (st = make_converter(cfg->converter, e->ratio_in, &e->src_in)) ||
            (st = make_converter(cfg->converter, e->ratio_out, &e->src_out))) {
            wt_rt_engine_free(e);
            return st;
        }
        lag_out = (int)(lag_out_host * e->ratio_in) + 2;
    }
    plan_latency(e, lag_in, lag_out);

    int64_t prefill = e->lat.total_model - e->lat.lookahead;
    e->offset = e->lat.total_model;
    e->in_scratch_cap = (int)(cfg->max_period * e->ratio_in) + 16;
    e->out_scratch_cap = (int)(cfg->max_period * e->ratio_in) + lag_out + 64;
    /* Input ring: a second of audio or several frames, whichever is more,
     * so only a stalled worker overflows it. */
    int64_t in_cap = 4 * ((int64_t)e->frame + e->in_scratch_cap) + proc->model_rate;
    int64_t out_cap = 2 * (prefill + 2 * (int64_t)e->frame + e->in_scratch_cap);
    int64_t dry_len = (int64_t)pow2_at_least(e->lat.total_model + 2 * (e->out_scratch_cap + e->in_scratch_cap) + 64);
    e->dry_mask = dry_len - 1;
    e->in_scratch = calloc((size_t)e->in_scratch_cap, sizeof(float));
    e->out_scratch = calloc((size_t)e->out_scratch_cap, sizeof(float));
    e->dry = calloc((size_t)dry_len, sizeof(float));
    e->frame_in = calloc((size_t)e->frame, sizeof(float));
    e->frame_out = calloc((size_t)e->frame, sizeof(float));
    if (!e->in_scratch || !e->out_scratch || !e->dry || !e->frame_in || !e->frame_out) {
        wt_rt_engine_free(e);
        return wt_error(WT_ERR_NOMEM, "realtime: out of memory");
    }
    /* Touch the scratch now, not on the first callback. */
    memset(e->dry, 0, (size_t)dry_len * sizeof(float));
    if ((st = wt_ring_new((size_t)in_cap, &e->in_ring)) ||
        (st = wt_ring_new((size_t)out_cap, &e->out_ring))) {
        wt_rt_engine_free(e);
        return st;
    }
    wt_ring_write_zeros(e->out_ring, (size_t)prefill);
    e->out_pos = 0;
    if ((st = start_worker(e))) {
        wt_rt_engine_free(e);
        return st;
    }
    *out = e;
    return WT_OK;
}

void wt_rt_engine_free(wt_rt_engine *e) {
    if (!e) return;
    if (e->worker_started) {
        atomic_store(&e->stop, true);
        sem_post(&e->wake);
        pthread_join(e->worker, NULL);
    }
    sem_destroy(&e->wake);
    if (e->src_in) src_delete(e->src_in);
    if (e->src_out) src_delete(e->src_out);
    wt_ring_free(e->in_ring);
    wt_ring_free(e->out_ring);
    free(e->in_scratch);
    free(e->out_scratch);
    free(e->dry);
    free(e->frame_in);
    free(e->frame_out);
    free(e);
}

/* ---- audio thread ---- */

/* Model-rate input -> dry history and the input ring. Samples that do not fit
 * become zeros owed to the ring, written first when space returns, so every
 * later sample keeps its stream position. */
static void push_input(wt_rt_engine *e, const float *m, int n) {
    for (int i = 0; i < n; i++) e->dry[(e->in_pos + i) & e->dry_mask] = m[i];
    e->in_pos += n;
    if (e->pending_zeros)
        e->pending_zeros -= (int64_t)wt_ring_write_zeros(e->in_ring, (size_t)e->pending_zeros);
    size_t w = e->pending_zeros ? 0 : wt_ring_write(e->in_ring, m, (size_t)n);
    if (w < (size_t)n) {
        e->pending_zeros += n - (int64_t)w;
        atomic_fetch_add_explicit(&e->overruns, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&e->overrun_samples, (uint64_t)n - w, memory_order_relaxed);
    }
}

static void input_stage(wt_rt_engine *e, const float *in, int n) {
    if (!e->resample) {
        push_input(e, in, n);
        return;
    }
    SRC_DATA d = {.data_in = in, .input_frames = n, .src_ratio = e->ratio_in};
    while (d.input_frames > 0) {
        d.data_out = e->in_scratch;
        d.output_frames = e->in_scratch_cap;
        if (src_process(e->src_in, &d) || (d.input_frames_used == 0 && d.output_frames_gen == 0)) break;
        push_input(e, e->in_scratch, (int)d.output_frames_gen);
        d.data_in += d.input_frames_used;
        d.input_frames -= d.input_frames_used;
    }
}

/* Discards owed samples that have arrived in the output ring. */
static void settle_debt(wt_rt_engine *e) {
    int64_t d = atomic_load(&e->debt);
    while (d > 0) {
        int64_t avail = (int64_t)wt_ring_read_available(e->out_ring);
        if (avail == 0) return;
        int64_t k = d < avail ? d : avail;
        if (atomic_compare_exchange_strong(&e->debt, &d, d - k)) {
            wt_ring_skip(e->out_ring, (size_t)k);
            d -= k;
        }
    }
}

/* n fallback samples for output positions out_pos..; they are owed. */
static void substitute(wt_rt_engine *e, float *dst, int n) {
    if (e->cfg.fallback == WT_RT_FALLBACK_DRY) {
        for (int i = 0; i < n; i++) {
            int64_t src = e->out_pos + i - e->offset;
            dst[i] = src >= 0 && src > e->in_pos - e->dry_mask ? e->dry[src & e->dry_mask] : 0.0f;
        }
    } else {
        memset(dst, 0, (size_t)n * sizeof(float));
    }
}

static void owe(wt_rt_engine *e, int n) {
    atomic_fetch_add(&e->debt, n);
    e->out_pos += n;
    atomic_fetch_add_explicit(&e->underrun_samples, (uint64_t)n, memory_order_relaxed);
}

/* Same rate: model samples are host samples. Returns true on underrun. */
static bool output_direct(wt_rt_engine *e, float *out, int n) {
    settle_debt(e);
    /* Debt left means the ring is empty of owed samples; anything arriving
     * now is owed too, so read only when nothing is owed. */
    int got = atomic_load(&e->debt) == 0 ? (int)wt_ring_read(e->out_ring, out, (size_t)n) : 0;
    e->out_pos += got;
    if (got == n) return false;
    substitute(e, out + got, n - got);
    owe(e, n - got);
    return true;
}

/* One output-converter call on `avail` model samples of out_scratch; returns
 * the host samples it produced (-1 on error) and sets *used. */
static int convert_out(wt_rt_engine *e, int avail, float *dst, int want, int *used) {
    SRC_DATA d = {.data_in = e->out_scratch, .input_frames = avail, .data_out = dst,
                  .output_frames = want, .src_ratio = e->ratio_out};
    if (src_process(e->src_out, &d)) return -1;
    *used = (int)d.input_frames_used;
    return (int)d.output_frames_gen;
}

/* Resampled: feed the output converter model samples until it has produced
 * exactly n host samples: real ones while the ring has them; when it is
 * empty, first whatever the converter can make from what it holds, and
 * only then fallback samples, in small chunks (the converter takes input
 * greedily for its lookahead, and every fallback sample it takes is owed).
 * Only what the converter used leaves the ring. */
static bool output_resampled(wt_rt_engine *e, float *out, int n) {
    bool under = false;
    int produced = 0, stuck = 0;
    while (produced < n && stuck < 4) {
        settle_debt(e);
        int used = 0, gen;
        if (atomic_load(&e->debt) == 0 && wt_ring_read_available(e->out_ring) > 0) {
            int avail = (int)wt_ring_peek(e->out_ring, e->out_scratch, (size_t)e->out_scratch_cap);
            gen = convert_out(e, avail, out + produced, n - produced, &used);
            if (gen < 0) break;
            wt_ring_skip(e->out_ring, (size_t)used);
            e->out_pos += used;
        } else {
            gen = convert_out(e, 0, out + produced, n - produced, &used);
            if (gen < 0) break;
            if (gen == 0) {
                substitute(e, e->out_scratch, SUBSTITUTE_CHUNK);
                gen = convert_out(e, SUBSTITUTE_CHUNK, out + produced, n - produced, &used);
                if (gen < 0) break;
                owe(e, used);
                under = under || used > 0;
            }
        }
        produced += gen;
        stuck = used == 0 && gen == 0 ? stuck + 1 : 0;
    }
    if (produced < n) { /* the converter refused input: never expected */
        memset(out + produced, 0, (size_t)(n - produced) * sizeof(float));
        under = true;
    }
    return under;
}

void wt_rt_engine_process(wt_rt_engine *e, const float *in, float *out, int nframes) {
    atomic_fetch_add_explicit(&e->periods, 1, memory_order_relaxed);
    if (nframes <= 0) return;
    if (nframes > e->cfg.max_period) {
        memset(out, 0, (size_t)nframes * sizeof(float));
        atomic_fetch_add_explicit(&e->oversize, 1, memory_order_relaxed);
        return;
    }
    /* Input first: out may alias in. */
    input_stage(e, in, nframes);
    if (wt_ring_read_available(e->in_ring) >= (size_t)e->frame) sem_post(&e->wake);
    bool under = e->resample ? output_resampled(e, out, nframes) : output_direct(e, out, nframes);
    if (under) atomic_fetch_add_explicit(&e->underruns, 1, memory_order_relaxed);
}

void wt_rt_engine_count_xrun(wt_rt_engine *e) {
    atomic_fetch_add_explicit(&e->xruns, 1, memory_order_relaxed);
}

void wt_rt_engine_sync(wt_rt_engine *e) {
    sem_post(&e->wake);
    while (atomic_load(&e->busy) ||
           (wt_ring_read_available(e->in_ring) >= (size_t)e->frame &&
            wt_ring_write_available(e->out_ring) >= (size_t)e->frame))
        sleep_ns(50000);
}

const wt_rt_latency *wt_rt_engine_latency(const wt_rt_engine *e) { return &e->lat; }
int wt_rt_engine_host_rate(const wt_rt_engine *e) { return e->cfg.host_rate; }
int wt_rt_engine_max_period(const wt_rt_engine *e) { return e->cfg.max_period; }

void wt_rt_engine_stats(const wt_rt_engine *e, wt_rt_stats *s) {
    wt_rt_engine *m = (wt_rt_engine *)e; /* atomic loads take non-const pointers in C11 */
#define LOAD(x) atomic_load_explicit(&m->x, memory_order_relaxed)
    s->periods = LOAD(periods);
    s->underruns = LOAD(underruns);
    s->underrun_samples = LOAD(underrun_samples);
    s->overruns = LOAD(overruns);
    s->overrun_samples = LOAD(overrun_samples);
    s->xruns = LOAD(xruns);
    s->oversize = LOAD(oversize);
    s->frames = LOAD(frames);
    s->frames_dropped = LOAD(frames_dropped);
    s->step_errors = LOAD(step_errors);
    s->load = (double)LOAD(load_ema_ppm) / 1e6;
    s->load_peak = (double)LOAD(load_peak_ppm) / 1e6;
    s->worker_realtime = LOAD(worker_rt);
#undef LOAD
}

/* ---- the passthrough processor ---- */

static wt_status passthrough_step(void *user, const float *in, float *out) {
    memcpy(out, in, (size_t)(intptr_t)user * sizeof(float));
    return WT_OK;
}

void wt_rt_passthrough_init(wt_rt_processor *p, int rate, int frame) {
    memset(p, 0, sizeof *p);
    p->name = "passthrough";
    p->model_rate = rate;
    p->frame = frame;
    p->latency_samples = 0;
    p->user = (void *)(intptr_t)frame;
    p->step = passthrough_step;
}
