/* Shared by the JACK and PortAudio hosts: signal blocking and the main
 * thread's wait loop with the status line. Main thread only; never from an
 * audio callback. */
#ifndef WT_REALTIME_HOST_IMPL_H
#define WT_REALTIME_HOST_IMPL_H

#include <signal.h>
#include <stdatomic.h>

#include "wavetensor/rt_host.h"

typedef enum { WT_RT_STOP_SIGNAL, WT_RT_STOP_TIME, WT_RT_STOP_HOST } wt_rt_stop;

/* Blocks SIGINT and SIGTERM in this thread (and so in every thread it starts
 * afterwards: JACK's, PortAudio's, the worker), to be collected by
 * wt_rt_host_wait. *old receives the previous mask. */
void wt_rt_host_block_signals(sigset_t *old);
void wt_rt_host_restore_signals(const sigset_t *old);

/* Polls every 100 ms until SIGINT/SIGTERM, o->seconds or *host_failed;
 * prints the status line meanwhile. */
wt_rt_stop wt_rt_host_wait(const wt_rt_host_opts *o, const wt_rt_engine *e,
                           atomic_bool *host_failed);

#endif
