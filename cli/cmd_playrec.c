/* `wavetensor playrec`: plays an audio file into a JACK port and records
 * another port, for demonstrations and latency checks without a sound card
 * (e.g. on a dummy JACK server). Two JACK clients, a player and a recorder,
 * so the graph player -> (port under test) -> recorder has no feedback loop
 * and no extra period of delay. Samples are placed by JACK frame time: the
 * recording's sample i is what arrived i frames after the first played
 * sample. The file written is the recording shifted by the latency the
 * recorded port reports to JACK (its capture latency), so it lines up with
 * the input when that figure is true. The process callbacks only copy
 * samples; reading, resampling and writing files happen on the main thread. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <jack/jack.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/audio_io.h"
#include "cli/cli.h"

typedef struct playrec_opts {
    const char *in, *out, *to, *from, *server, *name;
    bool freewheel;
    double tail; /* seconds recorded after the reported latency has passed */
} playrec_opts;

typedef struct playrec {
    jack_client_t *play_c, *rec_c;
    jack_port_t *play_p, *rec_p;
    const float *sig; /* at the server's rate */
    int64_t n;        /* samples in sig */
    float *rec;       /* rec_cap samples, by frame time after the first played one */
    int64_t rec_cap;
    atomic_bool go;            /* main thread: start playing at the next cycle */
    _Atomic int64_t start;     /* frame time of sig[0]; -1 until playing */
    _Atomic int64_t rec_until; /* highest recorded index + 1 */
    atomic_int xruns;
} playrec;

static void usage(FILE *f) {
    fprintf(f,
            "usage: wavetensor playrec IN -o OUT.wav --to PORT --from PORT [options]\n"
            "\n"
            "Plays IN (any format libsndfile reads, mixed to mono, resampled to the\n"
            "JACK rate) into PORT (--to), records PORT (--from), and writes OUT.wav\n"
            "shifted by the latency --from reports to JACK, so it lines up with IN.\n"
            "\n"
            "  --server NAME  JACK server (default: $JACK_DEFAULT_SERVER or default)\n"
            "  --name NAME    client name prefix (default wt_playrec)\n"
            "  --freewheel    run the JACK graph as fast as the clients allow\n"
            "  --tail S       also record S seconds after the end (default 0)\n");
}

/* ---- process callbacks: copies only ---- */

static int play_process(jack_nframes_t nf, void *arg) {
    playrec *p = arg;
    float *out = jack_port_get_buffer(p->play_p, nf);
    int64_t t = jack_last_frame_time(p->play_c);
    int64_t s = atomic_load(&p->start);
    if (s < 0 && atomic_load(&p->go)) atomic_store(&p->start, s = t);
    for (jack_nframes_t i = 0; i < nf; i++) {
        int64_t k = s < 0 ? -1 : t + (int64_t)i - s;
        out[i] = k >= 0 && k < p->n ? p->sig[k] : 0.0f;
    }
    return 0;
}

static int rec_process(jack_nframes_t nf, void *arg) {
    playrec *p = arg;
    const float *in = jack_port_get_buffer(p->rec_p, nf);
    int64_t s = atomic_load(&p->start);
    if (s < 0) return 0;
    int64_t k0 = jack_last_frame_time(p->rec_c) - s;
    int64_t hi = atomic_load(&p->rec_until);
    for (jack_nframes_t i = 0; i < nf; i++) {
        int64_t k = k0 + (int64_t)i;
        if (k < 0 || k >= p->rec_cap) continue;
        p->rec[k] = in[i];
        if (k + 1 > hi) hi = k + 1;
    }
    atomic_store(&p->rec_until, hi);
    return 0;
}

static int on_xrun(void *arg) {
    playrec *p = arg;
    atomic_fetch_add(&p->xruns, 1);
    return 0;
}

/* ---- main thread ---- */

static void quiet(const char *m) { (void)m; }

static void msleep(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static jack_client_t *open_client(const char *name, const char *server) {
    jack_status_t st;
    if (server) return jack_client_open(name, JackNoStartServer | JackServerName, &st, server);
    return jack_client_open(name, JackNoStartServer, &st);
}

/* Returns -1 on success, else the exit code. */
static int parse_args(int argc, char **argv, playrec_opts *o) {
    *o = (playrec_opts){.name = "wt_playrec"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return WT_EXIT_OK;
        } else if (!strcmp(a, "--freewheel")) {
            o->freewheel = true;
            continue;
        } else if (a[0] != '-' && !o->in) {
            o->in = a;
            continue;
        } else if (a[0] != '-' || !v) {
            return wt_cli_fail(WT_EXIT_USAGE, "playrec: unknown argument or missing value '%s'", a);
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            o->out = v;
        } else if (!strcmp(a, "--to")) {
            o->to = v;
        } else if (!strcmp(a, "--from")) {
            o->from = v;
        } else if (!strcmp(a, "--server")) {
            o->server = v;
        } else if (!strcmp(a, "--name")) {
            o->name = v;
        } else if (!strcmp(a, "--tail")) {
            char *end;
            errno = 0;
            o->tail = strtod(v, &end);
            if (errno || *end || end == v || !(o->tail >= 0 && o->tail <= 600))
                return wt_cli_fail(WT_EXIT_USAGE, "playrec: bad value '%s' for --tail", v);
        } else {
            return wt_cli_fail(WT_EXIT_USAGE, "playrec: unknown option '%s'", a);
        }
        i++;
    }
    if (!o->in || !o->out || !o->to || !o->from)
        return wt_cli_fail(WT_EXIT_USAGE, "playrec: IN, -o OUT.wav, --to PORT and --from PORT are required");
    return -1;
}

/* Opens both clients, registers and activates; connects player -> to and
 * from -> recorder. Returns NULL on success, else the failure in words. */
static const char *setup(playrec *p, const playrec_opts *o, char *why, size_t n) {
    char name[128];
    snprintf(name, sizeof name, "%s_play", o->name);
    p->play_c = open_client(name, o->server);
    snprintf(name, sizeof name, "%s_rec", o->name);
    p->rec_c = p->play_c ? open_client(name, o->server) : NULL;
    if (!p->play_c || !p->rec_c) {
        snprintf(why, n, "no JACK server running%s%s", o->server ? " named " : "",
                 o->server ? o->server : "");
        return why;
    }
    p->play_p = jack_port_register(p->play_c, "out", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
    p->rec_p = jack_port_register(p->rec_c, "in", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
    if (!p->play_p || !p->rec_p) return "cannot register JACK ports";
    jack_set_process_callback(p->play_c, play_process, p);
    jack_set_process_callback(p->rec_c, rec_process, p);
    jack_set_xrun_callback(p->play_c, on_xrun, p);
    if (jack_activate(p->play_c) || jack_activate(p->rec_c)) return "cannot activate the JACK clients";
    if (!jack_port_by_name(p->play_c, o->to)) {
        snprintf(why, n, "no JACK port '%s'", o->to);
        return why;
    }
    if (!jack_port_by_name(p->play_c, o->from)) {
        snprintf(why, n, "no JACK port '%s'", o->from);
        return why;
    }
    if (jack_connect(p->play_c, jack_port_name(p->play_p), o->to)) {
        snprintf(why, n, "cannot connect to '%s'", o->to);
        return why;
    }
    if (jack_connect(p->rec_c, o->from, jack_port_name(p->rec_p))) {
        snprintf(why, n, "cannot connect from '%s'", o->from);
        return why;
    }
    return NULL;
}

/* The capture latency the recorded port reports: how far its signal trails
 * what entered the graph (our player reports none). */
static int reported_latency(const playrec *p, const char *from) {
    jack_latency_range_t r = {0, 0};
    jack_recompute_total_latencies(p->rec_c);
    msleep(200); /* the latency callbacks run after the new connections */
    jack_port_get_latency_range(jack_port_by_name(p->rec_c, from), JackCaptureLatency, &r);
    return (int)r.max;
}

static int run(const playrec_opts *o) {
    jack_set_error_function(quiet);
    jack_set_info_function(quiet);
    playrec *p = calloc(1, sizeof *p);
    if (!p) return wt_cli_fail(WT_EXIT_RUNTIME, "out of memory");
    atomic_store(&p->start, -1);
    wt_audio sig = {0};
    char why[512];
    int rc = WT_EXIT_OK;
    const char *err = setup(p, o, why, sizeof why);
    int rate = p->play_c ? (int)jack_get_sample_rate(p->play_c) : 0;
    if (!err && wt_audio_read_mono(o->in, rate, &sig)) err = wt_last_error();
    int lat = err ? 0 : reported_latency(p, o->from);
    if (!err) {
        p->n = sig.frames;
        p->sig = sig.data;
        p->rec_cap = sig.frames + lat + (int64_t)(o->tail * rate);
        p->rec = calloc((size_t)p->rec_cap, sizeof(float));
        if (!p->rec) err = "out of memory";
    }
    double secs = 0, t0 = now_s();
    if (!err) {
        printf("playrec: %s (%.2f s at %d Hz) -> %s, recording %s (reported latency %d frames, %.2f ms)%s\n",
               o->in, (double)p->n / rate, rate, o->to, o->from, lat, 1000.0 * lat / rate,
               o->freewheel ? ", freewheeling" : "");
        fflush(stdout);
        if (o->freewheel && jack_set_freewheel(p->play_c, 1)) err = "cannot start freewheeling";
    }
    if (!err) {
        atomic_store(&p->go, true);
        /* Real time takes the file's length; a stuck graph ends in an error. */
        double limit = 3.0 * (double)p->rec_cap / rate + 10.0;
        while (atomic_load(&p->rec_until) < p->rec_cap) {
            if (now_s() - t0 > limit) {
                err = "the recording stalled (the JACK graph stopped running)";
                break;
            }
            msleep(10);
        }
        secs = now_s() - t0;
        if (o->freewheel) jack_set_freewheel(p->play_c, 0);
    }
    if (p->play_c) jack_client_close(p->play_c);
    if (p->rec_c) jack_client_close(p->rec_c);
    if (!err && wt_audio_write_wav(o->out, p->rec + lat, p->rec_cap - lat, rate, true))
        err = wt_last_error();
    if (err) {
        rc = wt_cli_fail(WT_EXIT_RUNTIME, "playrec: %s", err);
    } else {
        printf("playrec: wrote %s (%.2f s), took %.2f s (%.2fx real time), player xruns %d\n", o->out,
               (double)(p->rec_cap - lat) / rate, secs, (double)p->rec_cap / rate / secs,
               atomic_load(&p->xruns));
    }
    free(p->rec);
    wt_audio_free(&sig);
    free(p);
    return rc;
}

int wt_cmd_playrec(int argc, char **argv) {
    playrec_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    return run(&o);
}
