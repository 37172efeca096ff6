/* Audio files for the CLI: read any format libsndfile knows as mono float at
 * a model's rate, write WAV safely.
 * Owns: decoding, down-mixing, offline resampling (libsamplerate) and atomic
 * writes (temp file + rename, so a failure never leaves a partial file where
 * a good one stood). Not for the audio thread (allocates, does I/O). */
#ifndef WT_CLI_AUDIO_IO_H
#define WT_CLI_AUDIO_IO_H

#include <stdbool.h>
#include <stdint.h>

#include "wavetensor/status.h"

typedef struct wt_audio {
    float *data;      /* mono samples, malloc'd; free with wt_audio_free */
    int64_t frames;
    int rate;         /* rate of `data` */
    int file_rate;    /* the file's own sample rate */
    int file_channels;
    bool file_is_float; /* the file stores float samples */
} wt_audio;

/* Reads `path`, mixes all channels to mono and resamples to `rate` (0 keeps
 * the file's rate). Errors name the file. */
wt_status wt_audio_read_mono(const char *path, int rate, wt_audio *out);
void wt_audio_free(wt_audio *a);

/* Offline resampling of a whole signal (best-quality sinc); *out is malloc'd. */
wt_status wt_audio_resample(const float *in, int64_t n, int in_rate, int out_rate, float **out,
                            int64_t *n_out);

/* Writes mono WAV: 32-bit float when float32, else 16-bit PCM (clipped). */
wt_status wt_audio_write_wav(const char *path, const float *data, int64_t frames, int rate,
                             bool float32);

#endif
