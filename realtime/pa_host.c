/* PortAudio host, for machines without JACK: device listing, selection by
 * index or name, and a mono float32 duplex stream with a fixed period whose
 * callback hands the buffers to the engine and counts the xruns PortAudio
 * flags. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <fcntl.h>
#include <portaudio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "realtime/host_impl.h"

/* PortAudio's backends (ALSA above all) print probe noise on stderr while
 * initialising; our errors are one line each, so hide it. */
static PaError pa_init_quietly(void) {
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int devnull = open("/dev/null", O_WRONLY);
    if (saved >= 0 && devnull >= 0) dup2(devnull, STDERR_FILENO);
    PaError err = Pa_Initialize();
    if (saved >= 0) {
        dup2(saved, STDERR_FILENO);
        close(saved);
    }
    if (devnull >= 0) close(devnull);
    return err;
}

wt_status wt_rt_pa_list_devices(FILE *f) {
    PaError err = pa_init_quietly();
    if (err != paNoError) return wt_error(WT_ERR_IO, "PortAudio: %s", Pa_GetErrorText(err));
    int n = Pa_GetDeviceCount();
    PaDeviceIndex din = Pa_GetDefaultInputDevice(), dout = Pa_GetDefaultOutputDevice();
    fprintf(f, "PortAudio devices:\n");
    if (n <= 0) fprintf(f, "  (none)\n");
    for (int i = 0; i < n; i++) {
        const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
        const PaHostApiInfo *api = Pa_GetHostApiInfo(d->hostApi);
        fprintf(f, "  %2d  %-40s %-6s in %2d  out %2d  %6.0f Hz%s%s\n", i, d->name,
                api ? api->name : "?", d->maxInputChannels, d->maxOutputChannels,
                d->defaultSampleRate, i == din ? "  [default in]" : "",
                i == dout ? "  [default out]" : "");
    }
    Pa_Terminate();
    return WT_OK;
}

static bool all_digits(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return false;
    return true;
}

/* A device by index, exact name, or unique part of a name, with channels in
 * the wanted direction (input when `input`). */
static wt_status find_device(const char *spec, bool input, PaDeviceIndex *out) {
    const char *dir = input ? "input" : "output";
    int n = Pa_GetDeviceCount();
    if (!spec) {
        *out = input ? Pa_GetDefaultInputDevice() : Pa_GetDefaultOutputDevice();
        if (*out == paNoDevice)
            return wt_error(WT_ERR_NOT_FOUND, "no PortAudio %s device (see 'wavetensor devices')", dir);
        return WT_OK;
    }
    PaDeviceIndex found = paNoDevice;
    if (all_digits(spec)) {
        int i = atoi(spec);
        if (i >= n) return wt_error(WT_ERR_NOT_FOUND, "no PortAudio device %d (%d devices)", i, n);
        found = i;
    } else {
        int matches = 0;
        for (int i = 0; i < n && found == paNoDevice; i++)
            if (!strcmp(Pa_GetDeviceInfo(i)->name, spec)) found = i;
        for (int i = 0; i < n && found == paNoDevice; i++)
            if (strstr(Pa_GetDeviceInfo(i)->name, spec) && matches++ == 0) *out = i;
        if (found == paNoDevice) {
            if (matches == 0)
                return wt_error(WT_ERR_NOT_FOUND, "no PortAudio device matches '%s'", spec);
            if (matches > 1)
                return wt_error(WT_ERR_INVALID, "'%s' matches %d PortAudio devices; use an index", spec,
                                matches);
            found = *out;
        }
    }
    const PaDeviceInfo *d = Pa_GetDeviceInfo(found);
    if ((input ? d->maxInputChannels : d->maxOutputChannels) < 1)
        return wt_error(WT_ERR_INVALID, "PortAudio device '%s' has no %s channels", d->name, dir);
    *out = found;
    return WT_OK;
}

typedef struct pa_host {
    wt_rt_engine *eng;
    atomic_bool failed;
} pa_host;

/* The audio thread. */
static int on_audio(const void *in, void *out, unsigned long n, const PaStreamCallbackTimeInfo *t,
                    PaStreamCallbackFlags flags, void *arg) {
    pa_host *h = arg;
    (void)t;
    if (flags & (paInputOverflow | paOutputUnderflow)) wt_rt_engine_count_xrun(h->eng);
    wt_rt_engine_process(h->eng, in, out, (int)n);
    return paContinue;
}

static void on_finished(void *arg) {
    pa_host *h = arg;
    atomic_store(&h->failed, true);
}

static wt_status pa_fail(PaError err, const char *what) {
    return wt_error(WT_ERR_IO, "PortAudio: %s: %s", what, Pa_GetErrorText(err));
}

static wt_status open_stream(pa_host *h, const wt_rt_host_opts *o, PaStream **stream) {
    PaDeviceIndex din, dout;
    wt_status st;
    if (Pa_GetDeviceCount() <= 0)
        return wt_error(WT_ERR_NOT_FOUND, "no PortAudio device found");
    if ((st = find_device(o->in, true, &din)) || (st = find_device(o->out, false, &dout))) return st;
    const PaDeviceInfo *di = Pa_GetDeviceInfo(din), *dd = Pa_GetDeviceInfo(dout);
    int rate = o->pa_rate > 0 ? o->pa_rate : (int)dd->defaultSampleRate;
    int period = o->pa_period > 0 ? o->pa_period : 256;
    PaStreamParameters ip = {.device = din, .channelCount = 1, .sampleFormat = paFloat32,
                             .suggestedLatency = di->defaultLowInputLatency};
    PaStreamParameters op = {.device = dout, .channelCount = 1, .sampleFormat = paFloat32,
                             .suggestedLatency = dd->defaultLowOutputLatency};
    PaError err = Pa_IsFormatSupported(&ip, &op, rate);
    if (err != paFormatIsSupported)
        return wt_error(WT_ERR_UNSUPPORTED, "PortAudio: '%s' -> '%s' at %d Hz mono: %s", di->name,
                        dd->name, rate, Pa_GetErrorText(err));
    if ((st = o->factory(o->factory_user, rate, period, 0, &h->eng))) return st;
    err = Pa_OpenStream(stream, &ip, &op, rate, (unsigned long)period, paNoFlag, on_audio, h);
    if (err != paNoError) return pa_fail(err, "cannot open the stream");
    Pa_SetStreamFinishedCallback(*stream, on_finished);
    const PaStreamInfo *si = Pa_GetStreamInfo(*stream);
    const wt_rt_latency *l = wt_rt_engine_latency(h->eng);
    printf("PortAudio '%s' -> '%s' at %d Hz, period %d; latency %d frames (%.2f ms) + device %.2f ms\n",
           di->name, dd->name, rate, period, l->host_frames, l->ms,
           si ? 1000.0 * (si->inputLatency + si->outputLatency) : 0.0);
    fflush(stdout);
    return WT_OK;
}

wt_status wt_rt_pa_run(const wt_rt_host_opts *o) {
    sigset_t old;
    wt_rt_host_block_signals(&old);
    PaError err = pa_init_quietly();
    if (err != paNoError) {
        wt_rt_host_restore_signals(&old);
        return pa_fail(err, "cannot initialise");
    }
    pa_host h = {0};
    PaStream *stream = NULL;
    wt_status st = open_stream(&h, o, &stream);
    bool ran = false;
    if (!st) {
        err = Pa_StartStream(stream);
        if (err != paNoError) st = pa_fail(err, "cannot start the stream");
        else ran = true;
    }
    if (ran) {
        wt_rt_stop why = wt_rt_host_wait(o, h.eng, &h.failed);
        if (why == WT_RT_STOP_HOST) st = wt_error(WT_ERR_IO, "PortAudio: the stream stopped (device gone?)");
        Pa_StopStream(stream);
    }
    if (stream) Pa_CloseStream(stream);
    if (ran) wt_rt_print_summary(stdout, h.eng);
    wt_rt_engine_free(h.eng);
    Pa_Terminate();
    wt_rt_host_restore_signals(&old);
    return st;
}
