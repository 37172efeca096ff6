/* wavetensor audio hosts: run a real-time engine from a JACK client or a
 * PortAudio stream until a signal, a time limit or the host going away.
 * Owns: opening and closing the host, port and device selection, reporting
 * the engine's latency to the host, xrun counting, SIGINT/SIGTERM handling
 * (blocked and polled, no handler) and the one-line terminal status. The
 * host's audio callback calls only wt_rt_engine_process: it never
 * allocates, locks, logs or does I/O. None of these functions is callback
 * safe; each runs on the caller's (main) thread. */
#ifndef WAVETENSOR_RT_HOST_H
#define WAVETENSOR_RT_HOST_H

#include <stdbool.h>
#include <stdio.h>

#include "wavetensor/rt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Builds the engine once the host's rate and period are known. rt_priority
 * is the host's audio-thread SCHED_FIFO priority (0 when not real-time), so
 * the worker can be placed below it. */
typedef wt_status (*wt_rt_engine_factory)(void *user, int host_rate, int max_period,
                                          int rt_priority, wt_rt_engine **out);

typedef struct wt_rt_host_opts {
    const char *client_name; /* JACK client name (default "wavetensor") */
    const char *server_name; /* JACK server (NULL: $JACK_DEFAULT_SERVER or "default") */
    const char *in;          /* JACK: port feeding our input; PortAudio: input device */
    const char *out;         /* JACK: port our output feeds; PortAudio: output device */
    bool connect;            /* JACK: connect to the physical capture/playback ports */
    double seconds;          /* stop after this long; 0 runs until SIGINT/SIGTERM */
    bool status;             /* one-line status on stderr when it is a terminal */
    int pa_rate;             /* PortAudio sample rate (0: the devices' default) */
    int pa_period;           /* PortAudio frames per buffer (0: 256) */
    wt_rt_engine_factory factory;
    void *factory_user;
    /* Optional: polled by the main thread; once true, the run ends (cleanly)
     * after the engine's latency has drained (e.g. a file finished playing). */
    bool (*finished)(void *user);
    void *finished_user;
} wt_rt_host_opts;

/* True when a JACK server answers (no server is started). */
bool wt_rt_jack_available(const char *server_name);

/* Runs as a JACK client. WT_OK after a clean stop (signal or time limit);
 * otherwise an error with a one-line wt_last_error (no server, a port that
 * does not exist, the server shutting down while we ran, ...). */
wt_status wt_rt_jack_run(const wt_rt_host_opts *o);

/* Lists PortAudio devices (index, name, host API, channels, default rate). */
wt_status wt_rt_pa_list_devices(FILE *f);
/* Runs on a PortAudio duplex stream; devices by index or (part of) name. */
wt_status wt_rt_pa_run(const wt_rt_host_opts *o);

/* Final counters, one line (for the CLI after a run). */
void wt_rt_print_summary(FILE *f, const wt_rt_engine *e);

#ifdef __cplusplus
}
#endif
#endif
