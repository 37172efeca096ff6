/* wavetensor real-time engine: runs a streaming model processor beside an
 * audio callback.
 * Owns: the processor interface, host<->model rate conversion (libsamplerate,
 * state made at setup), the input and output SPSC rings, the worker thread
 * that runs one processor step per frame, the xrun/underrun/overrun counters,
 * CPU load and the latency figure. wt_rt_engine_process (the audio callback
 * path) never allocates, locks, logs, does I/O or waits; everything else
 * here may, and must not be called from a callback unless it says so. */
#ifndef WAVETENSOR_RT_H
#define WAVETENSOR_RT_H

#include <stdbool.h>
#include <stdint.h>

#include "wavetensor/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A streaming model as the engine sees it. step() consumes `frame` input
 * samples at model_rate and writes exactly `frame` output samples; output
 * sample i of the stream is the model's answer to input sample
 * i - latency_samples (its lookahead). step() and reset() run on the worker
 * thread only, one at a time; step() should not allocate (it runs every
 * frame) but may take time: the engine measures it as CPU load. */
typedef struct wt_rt_processor {
    const char *name;
    int model_rate;      /* Hz */
    int frame;           /* samples per step at model_rate */
    int latency_samples; /* model lookahead at model_rate */
    void *user;
    wt_status (*step)(void *user, const float *in, float *out);
    void (*reset)(void *user); /* may be NULL; called after frames were dropped */
} wt_rt_processor;

/* What the output carries while the model is behind (counted as underruns). */
typedef enum wt_rt_fallback {
    WT_RT_FALLBACK_SILENCE = 0,
    WT_RT_FALLBACK_DRY, /* the input, delayed by the same latency */
} wt_rt_fallback;

typedef struct wt_rt_config {
    int host_rate;       /* Hz: 44100, 48000, 96000 or the model rate (8000..192000) */
    int max_period;      /* largest nframes wt_rt_engine_process gets, 1..8192 */
    int headroom;        /* extra host frames of output buffering for compute time */
    int converter;       /* libsamplerate converter (SRC_SINC_FASTEST by default) */
    wt_rt_fallback fallback;
    int worker_priority; /* SCHED_FIFO priority for the worker (0: normal scheduling);
                            falls back to normal scheduling when not permitted */
} wt_rt_config;

/* Defaults: no headroom, SRC_SINC_FASTEST, silence fallback, normal priority. */
wt_rt_config wt_rt_config_default(int host_rate, int max_period);

/* Latency from host input to host output: out[t] answers in[t - host_frames].
 * The parts are at the model rate and add up to total_model; host_frames =
 * total_model * host_rate / model_rate exactly (the engine rounds the
 * buffering so this is an integer). */
typedef struct wt_rt_latency {
    int host_frames;
    double ms;
    int total_model;
    int frame;     /* waiting for a full model frame */
    int period;    /* one host period (max_period) */
    int resampler; /* lookahead of both resamplers, plus rounding */
    int lookahead; /* the processor's latency_samples */
    int headroom;  /* config headroom */
} wt_rt_latency;

typedef struct wt_rt_stats {
    uint64_t periods;          /* calls to wt_rt_engine_process */
    uint64_t underruns;        /* periods with fallback output (model behind) */
    uint64_t underrun_samples; /* model-rate samples replaced by the fallback */
    uint64_t overruns;         /* periods whose input did not fit the input ring */
    uint64_t overrun_samples;  /* model-rate input samples replaced by zeros */
    uint64_t xruns;            /* reported by the host (wt_rt_engine_count_xrun) */
    uint64_t oversize;         /* periods larger than max_period (output silenced) */
    uint64_t frames;           /* processor steps run */
    uint64_t frames_dropped;   /* frames skipped to catch up */
    uint64_t step_errors;      /* steps that returned an error (output silenced) */
    double load;               /* step time / frame duration, smoothed */
    double load_peak;          /* largest single-step load */
    bool worker_realtime;      /* worker got SCHED_FIFO */
} wt_rt_stats;

typedef struct wt_rt_engine wt_rt_engine;

/* Sets up rings, resamplers and scratch, measures the resamplers' lookahead
 * and starts the worker thread. The processor struct is copied; its `user`
 * stays owned by the caller and must outlive the engine. Not callback safe. */
wt_status wt_rt_engine_new(const wt_rt_processor *proc, const wt_rt_config *cfg,
                           wt_rt_engine **out);
/* Stops and joins the worker, frees everything. The callback must no longer
 * run. Not callback safe. */
void wt_rt_engine_free(wt_rt_engine *e);

/* The audio callback: consumes nframes host samples from in and writes
 * nframes to out (in and out may alias). Never allocates, locks, logs, does
 * I/O or waits (it posts a semaphore to wake the worker). One thread at a
 * time. nframes > max_period gives silence and counts `oversize`. */
void wt_rt_engine_process(wt_rt_engine *e, const float *in, float *out, int nframes);

/* Counts an xrun the host saw. Callback safe. */
void wt_rt_engine_count_xrun(wt_rt_engine *e);

/* Blocks until the worker has processed every complete frame it was given
 * (polling with short sleeps). For offline and freewheel driving and tests;
 * never from a real-time callback. */
void wt_rt_engine_sync(wt_rt_engine *e);

/* The latency (fixed at setup). Any thread, callback safe. */
const wt_rt_latency *wt_rt_engine_latency(const wt_rt_engine *e);
/* A snapshot of the counters (relaxed atomic loads). Any thread, callback safe. */
void wt_rt_engine_stats(const wt_rt_engine *e, wt_rt_stats *s);
int wt_rt_engine_host_rate(const wt_rt_engine *e);
int wt_rt_engine_max_period(const wt_rt_engine *e);

/* A processor that copies input to output (frame samples at rate, no
 * lookahead): for testing the plumbing live. Fills *p; no allocation. */
void wt_rt_passthrough_init(wt_rt_processor *p, int rate, int frame);

#ifdef __cplusplus
}
#endif
#endif
