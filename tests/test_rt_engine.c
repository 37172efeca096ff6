/* The real-time engine: the output is the input delayed by exactly the
 * latency it reports, for host periods 32..4096 (not powers of two), with and
 * without resampling; the callback path allocates nothing and takes no lock;
 * a processor slower than real time gives counted underruns, keeps the
 * alignment and recovers; a stalled worker gives counted overruns. */
#define _DEFAULT_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wavetensor/rt.h"
#include "wt_test.h"

/* ---- a test processor: delays its input by `delay` samples (its declared
 * lookahead), optionally sleeping per step or stalling on a flag ---- */

typedef struct {
    int frame, delay;
    float *hist; /* last `delay` inputs */
    atomic_int sleep_us;
    atomic_bool stall;
    atomic_int resets;
} delay_proc;

static wt_status delay_step(void *user, const float *in, float *out) {
    delay_proc *d = user;
    while (atomic_load(&d->stall)) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    int us = atomic_load(&d->sleep_us);
    if (us) {
        struct timespec ts = {0, us * 1000L};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < d->frame; i++) {
        if (d->delay == 0) {
            out[i] = in[i];
            continue;
        }
        out[i] = d->hist[0];
        memmove(d->hist, d->hist + 1, (size_t)(d->delay - 1) * sizeof(float));
        d->hist[d->delay - 1] = in[i];
    }
    return WT_OK;
}

static void delay_reset(void *user) {
    delay_proc *d = user;
    atomic_fetch_add(&d->resets, 1);
}

static void delay_init(delay_proc *d, wt_rt_processor *p, int rate, int frame, int delay) {
    memset(d, 0, sizeof *d);
    d->frame = frame;
    d->delay = delay;
    d->hist = calloc((size_t)(delay ? delay : 1), sizeof(float));
    memset(p, 0, sizeof *p);
    p->name = "delay";
    p->model_rate = rate;
    p->frame = frame;
    p->latency_samples = delay;
    p->user = d;
    p->step = delay_step;
    p->reset = delay_reset;
}

/* ---- driving ---- */

/* Runs `n` host samples through the engine in periods of `period`, letting
 * the worker finish after each (as a fast enough model would). */
static void drive_synced(wt_rt_engine *e, const float *in, float *out, int n, int period) {
    for (int t = 0; t < n; t += period) {
        int k = n - t < period ? n - t : period;
        wt_rt_engine_process(e, in + t, out + t, k);
        wt_rt_engine_sync(e);
    }
}

static void noise(float *x, int n, uint64_t seed) {
    wt_test_rng r;
    wt_test_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) x[i] = wt_test_uniform(&r, -0.9f, 0.9f);
}

/* Same rate: every output sample is bit-exact the input `lat` samples
 * earlier (zeros before), and the latency is frame + period + lookahead. */
static void check_same_rate(int period) {
    const int rate = 24000, frame = 480, delay = 37;
    delay_proc d;
    wt_rt_processor p;
    delay_init(&d, &p, rate, frame, delay);
    wt_rt_config c = wt_rt_config_default(rate, period);
    wt_rt_engine *e = NULL;
    ck_assert_int_eq(wt_rt_engine_new(&p, &c, &e), WT_OK);
    const wt_rt_latency *l = wt_rt_engine_latency(e);
    ck_assert_int_eq(l->host_frames, frame + period + delay);
    ck_assert_int_eq(l->total_model, frame + period + delay);
    ck_assert_int_eq(l->frame + l->period + l->resampler + l->lookahead + l->headroom, l->total_model);

    int n = 3 * l->host_frames + 10 * period + 5000;
    float *in = malloc((size_t)n * sizeof(float)), *out = malloc((size_t)n * sizeof(float));
    noise(in, n, 1234 + (uint64_t)period);
    drive_synced(e, in, out, n, period);
    int lat = l->host_frames, bad = 0, first_bad = -1;
    for (int t = 0; t < n; t++) {
        float want = t >= lat ? in[t - lat] : 0.0f;
        if (out[t] != want && bad++ == 0) first_bad = t;
    }
    wt_rt_stats s;
    wt_rt_engine_stats(e, &s);
    ck_assert_msg(bad == 0, "period %d: %d samples differ, first at %d (latency %d)", period, bad,
                  first_bad, lat);
    ck_assert_uint_eq(s.underruns, 0);
    ck_assert_uint_eq(s.overruns, 0);
    ck_assert_uint_eq(s.frames, (uint64_t)(n / frame));
    wt_rt_engine_free(e);
    free(in);
    free(out);
    free(d.hist);
}

START_TEST(test_same_rate_period_32) { check_same_rate(32); }
END_TEST
START_TEST(test_same_rate_period_100) { check_same_rate(100); }
END_TEST
START_TEST(test_same_rate_period_1000) { check_same_rate(1000); }
END_TEST
START_TEST(test_same_rate_period_4096) { check_same_rate(4096); }
END_TEST

/* Two tones well inside every converter's passband (the model rate's
 * Nyquist is >= 8 kHz), evaluated analytically at any (fractional) time. */
static double tones(double t_seconds) {
    return 0.3 * sin(2 * M_PI * 440.0 * t_seconds) + 0.3 * sin(2 * M_PI * 1250.0 * t_seconds + 0.7);
}

/* Resampling: host -> model -> host through libsamplerate, a delay
 * processor in between. The output must be the input tones delayed by the
 * reported latency (an integer number of host samples). Tolerance: the
 * converters are specified at 97 dB SNR each (SINC_FASTEST: error about
 * 1.4e-5 of full scale per stage; measured about 6e-5 on a 0.5 tone), so two
 * stages stay well below 1e-3; a latency wrong by one host sample would
 * show errors of at least 2*pi*440/96000*0.3 = 8.6e-3 (at 96 kHz, the
 * smallest case). The first 50 ms after the signal reaches the output are
 * skipped: the converters ring on the tones' abrupt start. */
static void check_resampled(int host_rate, int model_rate, int period) {
    const int frame = model_rate / 50, delay = 11;
    delay_proc d;
    wt_rt_processor p;
    delay_init(&d, &p, model_rate, frame, delay);
    wt_rt_config c = wt_rt_config_default(host_rate, period);
    wt_rt_engine *e = NULL;
    ck_assert_int_eq(wt_rt_engine_new(&p, &c, &e), WT_OK);
    const wt_rt_latency *l = wt_rt_engine_latency(e);
    /* total_model model samples are exactly host_frames host samples. */
    ck_assert_int_eq((int64_t)l->host_frames * model_rate, (int64_t)l->total_model * host_rate);
    ck_assert_int_eq(l->frame + l->period + l->resampler + l->lookahead + l->headroom, l->total_model);
    ck_assert_int_ge(l->resampler, 0);

    int lat = l->host_frames;
    int settle = host_rate / 20;
    int n = lat + settle + host_rate / 5 + 2 * period;
    float *in = malloc((size_t)n * sizeof(float)), *out = malloc((size_t)n * sizeof(float));
    for (int i = 0; i < n; i++) in[i] = (float)tones((double)i / host_rate);
    drive_synced(e, in, out, n, period);
    double worst = 0;
    int checked = 0;
    for (int t = lat + settle; t < n; t++) {
        double err = fabs(out[t] - tones((double)(t - lat) / host_rate));
        if (err > worst) worst = err;
        checked++;
    }
    /* Before the latency has passed, only the converters' pre-ringing of
     * the start may show: small, nothing like the signal. */
    double early = 0;
    for (int t = 0; t < lat - host_rate / 200; t++)
        if (fabs(out[t]) > early) early = fabs(out[t]);
    wt_rt_stats s;
    wt_rt_engine_stats(e, &s);
    ck_assert_int_gt(checked, host_rate / 10);
    ck_assert_msg(worst < 1e-3, "%d->%d Hz period %d: max error %g after aligning by %d", host_rate,
                  model_rate, period, worst, lat);
    ck_assert_msg(early < 0.05, "%d->%d Hz period %d: output %g before the latency", host_rate,
                  model_rate, period, early);
    ck_assert_uint_eq(s.underruns, 0);
    wt_rt_engine_free(e);
    free(in);
    free(out);
    free(d.hist);
}

START_TEST(test_resampled_48k_periods) {
    int periods[] = {32, 100, 1000, 4096};
    for (int i = 0; i < 4; i++) check_resampled(48000, 24000, periods[i]);
}
END_TEST
START_TEST(test_resampled_44k1_periods) {
    int periods[] = {32, 100, 1000, 4096};
    for (int i = 0; i < 4; i++) check_resampled(44100, 24000, periods[i]);
}
END_TEST
START_TEST(test_resampled_96k_periods) {
    int periods[] = {32, 100, 1000, 4096};
    for (int i = 0; i < 4; i++) check_resampled(96000, 24000, periods[i]);
}
END_TEST
START_TEST(test_resampled_16k_model) {
    check_resampled(44100, 16000, 256);
    check_resampled(48000, 16000, 333);
}
END_TEST

/* ---- real-time safety of the callback path ---- */

typedef struct {
    uint64_t allocs, blocks;
} rt_trap;

static void trap_begin(rt_trap *t) {
    t->allocs = wt_test_thread_alloc_calls();
    t->blocks = wt_test_thread_block_calls();
}

static void trap_end(rt_trap *t, uint64_t *allocs, uint64_t *blocks) {
    *allocs += wt_test_thread_alloc_calls() - t->allocs;
    *blocks += wt_test_thread_block_calls() - t->blocks;
}

/* The audio thread's view: 3000 periods (resampled and not, with odd
 * period sizes) make no allocation and no locking or waiting call on the
 * calling thread, and the whole process allocates and locks nothing
 * meanwhile (the worker's steps included). */
static void check_callback_safety(int host_rate, int period, wt_rt_fallback fb) {
    wt_rt_processor p;
    wt_rt_passthrough_init(&p, 24000, 480);
    wt_rt_config c = wt_rt_config_default(host_rate, period);
    c.fallback = fb;
    wt_rt_engine *e = NULL;
    ck_assert_int_eq(wt_rt_engine_new(&p, &c, &e), WT_OK);
    float *in = calloc((size_t)period, sizeof(float)), *out = calloc((size_t)period, sizeof(float));
    for (int i = 0; i < period; i++) in[i] = (float)sin(i * 0.05);
    for (int i = 0; i < 50; i++) { /* warm up */
        wt_rt_engine_process(e, in, out, period);
        wt_rt_engine_sync(e);
    }
    uint64_t allocs = 0, blocks = 0;
    uint64_t g_alloc0 = wt_test_alloc_calls(), g_lock0 = wt_test_lock_calls();
    for (int i = 0; i < 3000; i++) {
        rt_trap t;
        trap_begin(&t);
        wt_rt_engine_process(e, in, out, period - (i % 3)); /* varying sizes */
        trap_end(&t, &allocs, &blocks);
        if (i % 4 == 0) wt_rt_engine_sync(e);
    }
    uint64_t g_alloc = wt_test_alloc_calls() - g_alloc0, g_lock = wt_test_lock_calls() - g_lock0;
    wt_rt_stats s;
    wt_rt_engine_stats(e, &s);
    ck_assert_uint_eq(allocs, 0);
    ck_assert_uint_eq(blocks, 0);
    ck_assert_uint_eq(g_alloc, 0);
    ck_assert_uint_eq(g_lock, 0);
    ck_assert_uint_gt(s.frames, 100);
    wt_rt_engine_free(e);
    free(in);
    free(out);
}

START_TEST(test_callback_no_alloc_no_lock_resampled) {
    check_callback_safety(48000, 256, WT_RT_FALLBACK_SILENCE);
    check_callback_safety(44100, 1000, WT_RT_FALLBACK_DRY);
}
END_TEST
START_TEST(test_callback_no_alloc_no_lock_same_rate) {
    check_callback_safety(24000, 100, WT_RT_FALLBACK_DRY);
}
END_TEST

/* The trap is not blind: a planted malloc and a mutex in the measured
 * region are counted. */
START_TEST(test_trap_catches_planted_malloc_and_lock) {
    uint64_t allocs = 0, blocks = 0;
    rt_trap t;
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    trap_begin(&t);
    void *volatile leak = malloc(32);
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    trap_end(&t, &allocs, &blocks);
    free(leak);
    ck_assert_uint_eq(allocs, 1);
    ck_assert_uint_eq(blocks, 1);
}
END_TEST

/* ---- overload ---- */

static void sleep_until(struct timespec *next, long period_ns) {
    next->tv_nsec += period_ns;
    while (next->tv_nsec >= 1000000000) {
        next->tv_nsec -= 1000000000;
        next->tv_sec++;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL);
}

/* Real-time pacing at 48 kHz, period 256: 0.4 s normal, 0.5 s with a step
 * three times slower than real time, 0.8 s normal. With the dry fallback
 * every output sample, through the overload, must be the input delayed by
 * the latency (bit-exact: same rate, delay processor); underruns are
 * counted during the overload and stop after it; the callback allocates
 * nothing throughout, and no thread of the process allocates from the start
 * of the overload to the end (memory stays flat). Headroom (40 ms) keeps a loaded test machine from
 * causing underruns in the normal phases. */
static void check_underrun(wt_rt_fallback fb) {
    const int rate = 48000, period = 256, frame = 480;
    delay_proc d;
    wt_rt_processor p;
    delay_init(&d, &p, rate, frame, 0);
    wt_rt_config c = wt_rt_config_default(rate, period);
    c.headroom = 1920;
    c.fallback = fb;
    wt_rt_engine *e = NULL;
    ck_assert_int_eq(wt_rt_engine_new(&p, &c, &e), WT_OK);
    int lat = wt_rt_engine_latency(e)->host_frames;
    int periods = (int)(1.7 * rate / period);
    int slow_from = (int)(0.4 * rate / period), slow_to = (int)(0.9 * rate / period);
    int quiet_from = (int)(1.2 * rate / period); /* recovered by then */
    int n = periods * period;
    float *in = malloc((size_t)n * sizeof(float)), *out = malloc((size_t)n * sizeof(float));
    noise(in, n, 99);
    uint64_t allocs = 0, blocks = 0, under_at_slow = 0, under_at_quiet = 0, proc_at_slow = 0;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (int k = 0; k < periods; k++) {
        if (k == slow_from) atomic_store(&d.sleep_us, 30000); /* 30 ms per 10 ms frame */
        if (k == slow_to) atomic_store(&d.sleep_us, 0);
        wt_rt_stats s;
        if (k == slow_from || k == quiet_from) {
            wt_rt_engine_stats(e, &s);
            if (k == slow_from) {
                under_at_slow = s.underruns;
                proc_at_slow = wt_test_alloc_calls();
            } else {
                under_at_quiet = s.underruns;
            }
        }
        rt_trap t;
        trap_begin(&t);
        wt_rt_engine_process(e, in + k * period, out + k * period, period);
        trap_end(&t, &allocs, &blocks);
        sleep_until(&next, 1000000000L * period / rate);
    }
    uint64_t proc_at_end = wt_test_alloc_calls();
    wt_rt_stats s;
    wt_rt_engine_stats(e, &s);
    int exact = 0, zero = 0, wrong = 0, first_wrong = -1, tail_wrong = 0;
    for (int t = 0; t < n; t++) {
        float want = t >= lat ? in[t - lat] : 0.0f;
        if (out[t] == want) exact++;
        else if (out[t] == 0.0f) zero++;
        else if (wrong++ == 0) first_wrong = t;
        if (t >= quiet_from * period && out[t] != want) tail_wrong++;
    }
    ck_assert_uint_eq(allocs, 0);
    ck_assert_uint_eq(blocks, 0);
    ck_assert_uint_eq(proc_at_end, proc_at_slow);
    ck_assert_msg(wrong == 0, "%d samples neither aligned input nor silence, first at %d", wrong,
                  first_wrong);
    ck_assert_uint_eq(under_at_slow, 0);
    ck_assert_uint_gt(s.underruns, 0);
    ck_assert_uint_eq(s.underruns, under_at_quiet); /* recovered */
    ck_assert_int_eq(tail_wrong, 0);
    ck_assert_double_gt(s.load_peak, 2.0);
    if (fb == WT_RT_FALLBACK_DRY) ck_assert_int_eq(zero, 0);
    else ck_assert_int_gt(zero, 0);
    wt_rt_engine_free(e);
    free(in);
    free(out);
    free(d.hist);
}

START_TEST(test_underrun_dry_keeps_alignment_and_recovers) { check_underrun(WT_RT_FALLBACK_DRY); }
END_TEST
START_TEST(test_underrun_silence_recovers) { check_underrun(WT_RT_FALLBACK_SILENCE); }
END_TEST

/* A stalled worker: the input ring overflows (counted), nothing blocks, and
 * once the worker runs again the output is aligned input again. */
START_TEST(test_overrun_counted_and_recovers) {
    const int rate = 24000, period = 512, frame = 480;
    delay_proc d;
    wt_rt_processor p;
    delay_init(&d, &p, rate, frame, 0);
    wt_rt_config c = wt_rt_config_default(rate, period);
    wt_rt_engine *e = NULL;
    ck_assert_int_eq(wt_rt_engine_new(&p, &c, &e), WT_OK);
    int lat = wt_rt_engine_latency(e)->host_frames;
    int stalled = 4 * rate / period; /* 4 s of input while stalled */
    int after = rate / period;       /* 1 s after */
    int n = (stalled + after) * period;
    float *in = malloc((size_t)n * sizeof(float)), *out = malloc((size_t)n * sizeof(float));
    noise(in, n, 7);
    atomic_store(&d.stall, true);
    for (int k = 0; k < stalled; k++)
        wt_rt_engine_process(e, in + k * period, out + k * period, period);
    atomic_store(&d.stall, false);
    for (int k = stalled; k < stalled + after; k++) {
        wt_rt_engine_process(e, in + k * period, out + k * period, period);
        wt_rt_engine_sync(e);
    }
    wt_rt_stats s;
    wt_rt_engine_stats(e, &s);
    int tail_wrong = 0;
    for (int t = n - rate / 2; t < n; t++)
        if (out[t] != in[t - lat]) tail_wrong++;
    ck_assert_uint_gt(s.overruns, 0);
    ck_assert_uint_gt(s.underruns, 0);
    ck_assert_uint_gt(s.frames_dropped, 0);
    ck_assert_int_gt(atomic_load(&d.resets), 0);
    ck_assert_int_eq(tail_wrong, 0);
    wt_rt_engine_free(e);
    free(in);
    free(out);
    free(d.hist);
}
END_TEST

START_TEST(test_bad_config) {
    wt_rt_processor p;
    wt_rt_engine *e = NULL;
    wt_rt_passthrough_init(&p, 24000, 480);
    wt_rt_config c = wt_rt_config_default(48000, 0);
    ck_assert_int_eq(wt_rt_engine_new(&p, &c, &e), WT_ERR_INVALID);
    c = wt_rt_config_default(48000, 10000);
    ck_assert_int_eq(wt_rt_engine_new(&p, &c, &e), WT_ERR_INVALID);
    c = wt_rt_config_default(1000, 256);
    ck_assert_int_eq(wt_rt_engine_new(&p, &c, &e), WT_ERR_INVALID);
    c = wt_rt_config_default(48000, 256);
    p.frame = 0;
    ck_assert_int_eq(wt_rt_engine_new(&p, &c, &e), WT_ERR_INVALID);
    p.frame = 480;
    p.step = NULL;
    ck_assert_int_eq(wt_rt_engine_new(&p, &c, &e), WT_ERR_INVALID);
    ck_assert_ptr_null(e);
    ck_assert_str_ne(wt_last_error(), "");
}
END_TEST

/* A period larger than promised is silenced and counted, not overrun. */
START_TEST(test_oversize_period) {
    wt_rt_processor p;
    wt_rt_passthrough_init(&p, 48000, 480);
    wt_rt_config c = wt_rt_config_default(48000, 128);
    wt_rt_engine *e = NULL;
    ck_assert_int_eq(wt_rt_engine_new(&p, &c, &e), WT_OK);
    float in[256], out[256];
    for (int i = 0; i < 256; i++) in[i] = out[i] = 1.0f;
    wt_rt_engine_process(e, in, out, 256);
    wt_rt_stats s;
    wt_rt_engine_stats(e, &s);
    ck_assert_uint_eq(s.oversize, 1);
    ck_assert_float_eq(out[0], 0.0f);
    ck_assert_float_eq(out[255], 0.0f);
    wt_rt_engine_free(e);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("rt_engine");
    TCase *tc = tcase_create("alignment");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_same_rate_period_32);
    tcase_add_test(tc, test_same_rate_period_100);
    tcase_add_test(tc, test_same_rate_period_1000);
    tcase_add_test(tc, test_same_rate_period_4096);
    tcase_add_test(tc, test_resampled_48k_periods);
    tcase_add_test(tc, test_resampled_44k1_periods);
    tcase_add_test(tc, test_resampled_96k_periods);
    tcase_add_test(tc, test_resampled_16k_model);
    tcase_add_test(tc, test_bad_config);
    tcase_add_test(tc, test_oversize_period);
    suite_add_tcase(s, tc);
    TCase *safety = tcase_create("safety");
    tcase_set_timeout(safety, 120);
    tcase_add_test(safety, test_trap_catches_planted_malloc_and_lock);
    tcase_add_test(safety, test_callback_no_alloc_no_lock_resampled);
    tcase_add_test(safety, test_callback_no_alloc_no_lock_same_rate);
    suite_add_tcase(s, safety);
    TCase *load = tcase_create("overload");
    tcase_set_timeout(load, 120);
    tcase_add_test(load, test_underrun_dry_keeps_alignment_and_recovers);
    tcase_add_test(load, test_underrun_silence_recovers);
    tcase_add_test(load, test_overrun_counted_and_recovers);
    suite_add_tcase(s, load);
    return s;
}

int main(void) { return wt_test_run(suite()); }
