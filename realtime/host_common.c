/* The hosts' main-thread side: signals are blocked and polled with
 * sigtimedwait (no handler, no global flag), the status line is redrawn in
 * place on a terminal. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "realtime/host_impl.h"

static void stop_signals(sigset_t *s) {
    sigemptyset(s);
    sigaddset(s, SIGINT);
    sigaddset(s, SIGTERM);
}

void wt_rt_host_block_signals(sigset_t *old) {
    sigset_t s;
    stop_signals(&s);
    pthread_sigmask(SIG_BLOCK, &s, old);
}

void wt_rt_host_restore_signals(const sigset_t *old) { pthread_sigmask(SIG_SETMASK, old, NULL); }

static double seconds_since(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

static void status_line(const wt_rt_engine *e) {
    wt_rt_stats s;
    wt_rt_engine_stats(e, &s);
    fprintf(stderr, "\rlatency %.1f ms | load %.1f%% (peak %.1f%%) | xruns %llu | underruns %llu\033[K",
            wt_rt_engine_latency(e)->ms, 100.0 * s.load, 100.0 * s.load_peak,
            (unsigned long long)s.xruns, (unsigned long long)s.underruns);
    fflush(stderr);
}

wt_rt_stop wt_rt_host_wait(const wt_rt_host_opts *o, const wt_rt_engine *e,
                           atomic_bool *host_failed) {
    sigset_t s;
    stop_signals(&s);
    bool tty = o->status && isatty(STDERR_FILENO);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    wt_rt_stop why;
    double done_at = -1; /* when o->finished first said so */
    for (;;) {
        struct timespec tick = {0, 100000000};
        if (sigtimedwait(&s, NULL, &tick) > 0) {
            why = WT_RT_STOP_SIGNAL;
            break;
        }
        if (atomic_load(host_failed)) {
            why = WT_RT_STOP_HOST;
            break;
        }
        double now = seconds_since(&t0);
        if (o->seconds > 0 && now >= o->seconds) {
            why = WT_RT_STOP_TIME;
            break;
        }
        if (o->finished && done_at < 0 && o->finished(o->finished_user)) done_at = now;
        /* Let the last output through the engine's buffering first. */
        if (done_at >= 0 && now - done_at > wt_rt_engine_latency(e)->ms / 1000.0 + 0.2) {
            why = WT_RT_STOP_TIME;
            break;
        }
        if (tty) status_line(e);
    }
    if (tty) fputc('\n', stderr);
    return why;
}

void wt_rt_print_summary(FILE *f, const wt_rt_engine *e) {
    wt_rt_stats s;
    wt_rt_engine_stats(e, &s);
    const wt_rt_latency *l = wt_rt_engine_latency(e);
    fprintf(f,
            "latency %d frames (%.2f ms), load %.1f%% (peak %.1f%%), periods %llu, frames %llu, "
            "xruns %llu, underruns %llu, overruns %llu, dropped %llu\n",
            l->host_frames, l->ms, 100.0 * s.load, 100.0 * s.load_peak,
            (unsigned long long)s.periods, (unsigned long long)s.frames,
            (unsigned long long)s.xruns, (unsigned long long)s.underruns,
            (unsigned long long)s.overruns, (unsigned long long)s.frames_dropped);
}
