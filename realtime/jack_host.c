/* JACK client: one mono input port and one mono output port; the process
 * callback hands the port buffers to the engine and nothing else. The
 * engine's latency is added to the port latency ranges in the latency
 * callback; the server going away (jack_on_info_shutdown) ends the run
 * with an error instead of a hang. */
#define _POSIX_C_SOURCE 200809L
#include <jack/jack.h>
#include <jack/thread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "realtime/host_impl.h"

typedef struct jack_host {
    jack_client_t *client;
    jack_port_t *in, *out;
    wt_rt_engine *eng;
    int latency; /* engine latency in frames */
    int max_period;
    atomic_bool failed;     /* the server shut us down, or a period grew too large */
    atomic_bool gone;       /* the server shut us down */
    atomic_bool freewheel;  /* JACK runs the graph as fast as it can, no deadlines */
    atomic_int new_period;  /* the buffer size we were told to switch to */
    char reason[256];       /* written before `failed` is set (release) */
} jack_host;

/* ---- callbacks ---- */

/* The audio thread: port buffers in, port buffers out, nothing else. */
static int on_process(jack_nframes_t n, void *arg) {
    jack_host *h = arg;
    const float *in = jack_port_get_buffer(h->in, n);
    float *out = jack_port_get_buffer(h->out, n);
    wt_rt_engine_process(h->eng, in, out, (int)n);
    /* Freewheeling has no deadline: wait for the model, as an offline run
     * would, instead of counting underruns. Never in real-time mode. */
    if (atomic_load_explicit(&h->freewheel, memory_order_relaxed)) wt_rt_engine_sync(h->eng);
    return 0;
}

static void on_freewheel(int starting, void *arg) {
    jack_host *h = arg;
    atomic_store(&h->freewheel, starting != 0);
}

static int on_xrun(void *arg) {
    jack_host *h = arg;
    wt_rt_engine_count_xrun(h->eng);
    return 0;
}

/* Our output is our input `latency` frames later: extend the upstream
 * capture latency to the output port and the downstream playback latency to
 * the input port. */
static void on_latency(jack_latency_callback_mode_t mode, void *arg) {
    jack_host *h = arg;
    jack_latency_range_t r;
    if (mode == JackCaptureLatency) {
        jack_port_get_latency_range(h->in, JackCaptureLatency, &r);
        r.min += (jack_nframes_t)h->latency;
        r.max += (jack_nframes_t)h->latency;
        jack_port_set_latency_range(h->out, JackCaptureLatency, &r);
    } else {
        jack_port_get_latency_range(h->out, JackPlaybackLatency, &r);
        r.min += (jack_nframes_t)h->latency;
        r.max += (jack_nframes_t)h->latency;
        jack_port_set_latency_range(h->in, JackPlaybackLatency, &r);
    }
}

/* A larger period than the engine was built for cannot be served (its
 * buffers and latency are fixed): stop with a message. Smaller is fine. */
static int on_buffer_size(jack_nframes_t n, void *arg) {
    jack_host *h = arg;
    if ((int)n > h->max_period && !atomic_load(&h->failed)) {
        snprintf(h->reason, sizeof h->reason,
                 "JACK period changed to %u frames (larger than %d): restart wavetensor", n,
                 h->max_period);
        atomic_store(&h->failed, true);
    }
    return 0;
}

static void on_shutdown(jack_status_t code, const char *reason, void *arg) {
    jack_host *h = arg;
    (void)code;
    atomic_store(&h->gone, true); /* before `failed`: the main thread reads them in that order */
    if (!atomic_load(&h->failed)) {
        snprintf(h->reason, sizeof h->reason, "JACK server went away (%s)",
                 reason && *reason ? reason : "no reason given");
        atomic_store(&h->failed, true);
    }
}

/* ---- setup ---- */

static jack_client_t *open_client(const char *name, const char *server, jack_status_t *st) {
    jack_options_t opt = JackNoStartServer;
    if (server && *server) return jack_client_open(name, opt | JackServerName, st, server);
    return jack_client_open(name, opt, st);
}

/* JACK prints its own diagnostics on stderr; ours are one line each. */
static void quiet(const char *msg) { (void)msg; }

bool wt_rt_jack_available(const char *server_name) {
    jack_status_t st;
    jack_set_error_function(quiet);
    jack_set_info_function(quiet);
    jack_client_t *c = open_client("wavetensor-probe", server_name, &st);
    if (!c) return false;
    jack_client_close(c);
    return true;
}

static wt_status connect_ports(jack_host *h, const wt_rt_host_opts *o) {
    const char *in_name = jack_port_name(h->in), *out_name = jack_port_name(h->out);
    if (o->in && jack_connect(h->client, o->in, in_name))
        return wt_error(WT_ERR_NOT_FOUND, "cannot connect JACK port '%s' to %s", o->in, in_name);
    if (o->out && jack_connect(h->client, out_name, o->out))
        return wt_error(WT_ERR_NOT_FOUND, "cannot connect %s to JACK port '%s'", out_name, o->out);
    if (!o->connect) return WT_OK;
    const char **cap = jack_get_ports(h->client, NULL, JACK_DEFAULT_AUDIO_TYPE,
                                      JackPortIsPhysical | JackPortIsOutput);
    const char **play = jack_get_ports(h->client, NULL, JACK_DEFAULT_AUDIO_TYPE,
                                       JackPortIsPhysical | JackPortIsInput);
    wt_status st = WT_OK;
    if (!o->in && (!cap || !cap[0]))
        st = wt_error(WT_ERR_NOT_FOUND, "--connect: JACK has no physical capture port");
    else if (!o->out && (!play || !play[0]))
        st = wt_error(WT_ERR_NOT_FOUND, "--connect: JACK has no physical playback port");
    if (!st && !o->in && jack_connect(h->client, cap[0], in_name))
        st = wt_error(WT_ERR_IO, "cannot connect %s to %s", cap[0], in_name);
    /* Mono out to the first two playback ports (left and right). */
    for (int i = 0; !st && !o->out && play[i] && i < 2; i++)
        if (jack_connect(h->client, out_name, play[i]))
            st = wt_error(WT_ERR_IO, "cannot connect %s to %s", out_name, play[i]);
    jack_free(cap);
    jack_free(play);
    return st;
}

static wt_status open_host(jack_host *h, const wt_rt_host_opts *o) {
    jack_status_t js = 0;
    const char *name = o->client_name ? o->client_name : "wavetensor";
    h->client = open_client(name, o->server_name, &js);
    if (!h->client) {
        if (js & JackServerFailed)
            return wt_error(WT_ERR_IO, "no JACK server running%s%s (start jackd, or use --portaudio)",
                            o->server_name ? " named " : "", o->server_name ? o->server_name : "");
        return wt_error(WT_ERR_IO, "cannot open JACK client '%s' (status 0x%x)", name, (unsigned)js);
    }
    h->in = jack_port_register(h->client, "in", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
    h->out = jack_port_register(h->client, "out", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
    if (!h->in || !h->out) return wt_error(WT_ERR_IO, "cannot register JACK ports");
    int rate = (int)jack_get_sample_rate(h->client);
    h->max_period = (int)jack_get_buffer_size(h->client);
    int prio = jack_client_real_time_priority(h->client);
    wt_status st = o->factory(o->factory_user, rate, h->max_period, prio > 0 ? prio : 0, &h->eng);
    if (st) return st;
    h->latency = wt_rt_engine_latency(h->eng)->host_frames;
    jack_set_process_callback(h->client, on_process, h);
    jack_set_xrun_callback(h->client, on_xrun, h);
    jack_set_freewheel_callback(h->client, on_freewheel, h);
    jack_set_latency_callback(h->client, on_latency, h);
    jack_set_buffer_size_callback(h->client, on_buffer_size, h);
    jack_on_info_shutdown(h->client, on_shutdown, h);
    if (jack_activate(h->client)) return wt_error(WT_ERR_IO, "cannot activate the JACK client");
    jack_recompute_total_latencies(h->client);
    if ((st = connect_ports(h, o))) return st;
    const wt_rt_latency *l = wt_rt_engine_latency(h->eng);
    printf("JACK client '%s' at %d Hz, period %d; latency %d frames (%.2f ms)\n",
           jack_get_client_name(h->client), rate, h->max_period, l->host_frames, l->ms);
    fflush(stdout);
    return WT_OK;
}

wt_status wt_rt_jack_run(const wt_rt_host_opts *o) {
    jack_set_error_function(quiet);
    jack_set_info_function(quiet);
    sigset_t old;
    wt_rt_host_block_signals(&old);
    jack_host *h = calloc(1, sizeof *h);
    if (!h) {
        wt_rt_host_restore_signals(&old);
        return wt_error(WT_ERR_NOMEM, "out of memory");
    }
    wt_status st = open_host(h, o);
    bool ran = st == WT_OK;
    if (ran) {
        wt_rt_stop why = wt_rt_host_wait(o, h->eng, &h->failed);
        if (why == WT_RT_STOP_HOST) st = wt_error(WT_ERR_IO, "%s", h->reason);
    }
    /* After a server shutdown the client is a zombie: closing it only frees
     * our side. The engine goes last: the callback no longer runs. */
    if (h->client) {
        if (!atomic_load(&h->gone)) jack_deactivate(h->client);
        jack_client_close(h->client);
    }
    if (ran) wt_rt_print_summary(stdout, h->eng);
    wt_rt_engine_free(h->eng);
    free(h);
    wt_rt_host_restore_signals(&old);
    return st;
}
