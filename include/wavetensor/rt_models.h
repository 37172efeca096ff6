/* wavetensor real-time processors for the streaming models: live denoise
 * (causal Demucs) and live codec (Mimi encode -> decode, frame by frame).
 * Owns: the loaded model, its stream object and per-step scratch; fills a
 * wt_rt_processor whose step is one allocation-free streaming step. Loading
 * (wt_rt_*_new) allocates and reads files: never from a callback. step()
 * runs on the engine's worker thread only. */
#ifndef WAVETENSOR_RT_MODELS_H
#define WAVETENSOR_RT_MODELS_H

#include <stdbool.h>
#include <stdint.h>

#include "wavetensor/rt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wt_rt_model wt_rt_model;

/* Demucs from a config JSON and safetensors weights, dry/wet mix `dry`
 * (0..1). The processor runs at the model's rate, one stride per step; its
 * latency_samples is the streamer's buffering (measured at setup). */
wt_status wt_rt_denoise_new(const char *config_path, const char *weights_path, float dry,
                            wt_rt_processor *proc, wt_rt_model **out);

/* Mimi with `codebooks` codebooks (0: the config's default): 24 kHz, 1920
 * samples per step, encode then decode; latency_samples 0 (the frame is the
 * model's whole algorithmic delay, counted by the engine). */
wt_status wt_rt_codec_new(const char *config_path, const char *weights_path, int codebooks,
                          wt_rt_processor *proc, wt_rt_model **out);

/* Record: Mimi encode per step, codes appended to the tokenized-audio file
 * `tok_path` (.wtok) frame by frame by a writer thread of its own (file I/O
 * never happens on the audio thread or in step); the output is silence. A
 * frame the writer cannot keep up with is dropped and counted. */
wt_status wt_rt_record_new(const char *config_path, const char *weights_path, int codebooks,
                           const char *tok_path, wt_rt_processor *proc, wt_rt_model **out);

/* Play: the file's frames decoded one per step (input ignored), silence
 * after the last; the file must come from the same model (wt_tok_check). */
wt_status wt_rt_play_new(const char *config_path, const char *weights_path, const char *tok_path,
                         wt_rt_processor *proc, wt_rt_model **out);

/* Play: true once every frame has been decoded. Any thread. */
bool wt_rt_model_finished(const wt_rt_model *m);
/* Record: frames written to the file so far, and frames dropped. Any thread. */
int64_t wt_rt_model_frames_written(const wt_rt_model *m);
int64_t wt_rt_model_frames_dropped(const wt_rt_model *m);

/* Record: stops and joins the writer after it has written every queued
 * frame, and closes the file; returns the first write error. The engine must
 * be stopped first. Does not free. */
wt_status wt_rt_model_finish(wt_rt_model *m);
void wt_rt_model_free(wt_rt_model *m);

#ifdef __cplusplus
}
#endif
#endif
