/* wavetensor tokenized-audio files (.wtok): codec frames on disk, append-only.
 * Owns: the on-disk format (docs/tokfile.md), a writer that appends and
 * flushes one frame at a time (a recording killed at any moment keeps every
 * complete frame), and a reader that validates the header, reports a
 * truncated last frame and refuses a file made for another model.
 * Never used from an audio callback: it does file I/O (run it on a worker). */
#ifndef WAVETENSOR_TOKFILE_H
#define WAVETENSOR_TOKFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "wavetensor/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WT_TOK_VERSION 1
#define WT_TOK_HEADER_BYTES 64

/* What a file holds and which model made it. */
typedef struct wt_tok_header {
    uint32_t version;        /* WT_TOK_VERSION when writing */
    uint32_t sample_rate;    /* audio rate of the codec (24000) */
    uint32_t frame_rate_num; /* frame rate as a fraction: 25/2 = 12.5 Hz */
    uint32_t frame_rate_den;
    uint32_t frame_samples;  /* samples per frame (1920) */
    uint32_t codebooks;      /* codes per frame (1..65535) */
    uint32_t codebook_size;  /* every code is < codebook_size (<= 65536) */
    uint64_t model_id;       /* hash of the weights (wt_mimi_model_id) */
} wt_tok_header;

/* Bytes of one frame on disk. */
uint32_t wt_tok_frame_bytes(const wt_tok_header *h);

typedef struct wt_tok_writer wt_tok_writer;

/* Creates (truncates) `path` and writes the header, flushed. NULL on error. */
wt_tok_writer *wt_tok_writer_open(const char *path, const wt_tok_header *h);
/* Appends one frame of h->codebooks codes and flushes it to the OS. A code
 * outside 0..codebook_size-1 is an error and writes nothing. */
wt_status wt_tok_writer_append(wt_tok_writer *w, const int64_t *codes);
/* Frames appended so far. */
int64_t wt_tok_writer_frames(const wt_tok_writer *w);
/* Closes the file; returns the first error seen (including on close). */
wt_status wt_tok_writer_close(wt_tok_writer *w);

/* A whole file in memory. */
typedef struct wt_tok_file {
    wt_tok_header h;
    int64_t frames;
    int64_t *codes;        /* [frames][codebooks], malloc'd */
    bool truncated;        /* a partial last frame was skipped */
    uint32_t partial_bytes; /* its size in bytes */
} wt_tok_file;

/* Reads and validates `path` (magic, version, header checksum, fields, every
 * code in range). A partial last frame is skipped and reported in
 * out->truncated, not an error. Errors name the file and the problem. */
wt_status wt_tok_read(const char *path, wt_tok_file *out);
void wt_tok_file_free(wt_tok_file *f);

/* WT_OK when a file's header fits a model's: same sample rate, frame rate,
 * frame size, codebook size and model id, and no more codebooks than the
 * model has (n_q). Otherwise an error naming the first differing field. */
wt_status wt_tok_check(const wt_tok_header *file, const wt_tok_header *model, uint32_t n_q);

#ifdef __cplusplus
}
#endif
#endif
