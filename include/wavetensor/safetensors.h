/* wavetensor safetensors files: a validating, memory-mapped reader and a writer.
 * Owns: the file mapping and the parsed header. The reader checks everything
 * before it hands out a pointer (header length, JSON, dtypes, shape vs byte
 * size, offsets in bounds and non-overlapping), so a bad file is an error with
 * the file and tensor named, never a crash. Not callback safe (I/O). */
#ifndef WAVETENSOR_SAFETENSORS_H
#define WAVETENSOR_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "wavetensor/ctx.h"
#include "wavetensor/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wt_st_entry {
    const char *name;
    wt_dtype dtype;
    int ndim;
    int64_t shape[WT_MAX_DIMS];
    const void *data;  /* inside the mapping; may be unaligned for the dtype */
    size_t nbytes;
} wt_st_entry;

typedef struct wt_st_file wt_st_file;

/* Maps and validates `path`. NULL on error (wt_last_error says why). */
wt_st_file *wt_st_open(const char *path);
void wt_st_close(wt_st_file *f);

size_t wt_st_count(const wt_st_file *f);
/* Entries in file order of the header's data offsets. */
const wt_st_entry *wt_st_at(const wt_st_file *f, size_t i);
/* NULL when absent (no error recorded). */
const wt_st_entry *wt_st_find(const wt_st_file *f, const char *name);
/* "__metadata__" string pairs. */
size_t wt_st_meta_count(const wt_st_file *f);
const char *wt_st_meta_key(const wt_st_file *f, size_t i);
const char *wt_st_meta_value(const wt_st_file *f, size_t i);
const char *wt_st_path(const wt_st_file *f);

/* Copies an entry into a new contiguous tensor of dtype `dtype` in ctx
 * (converting f32/f16/bf16 among themselves). */
wt_tensor *wt_st_load(wt_ctx *ctx, const wt_st_entry *e, wt_dtype dtype);

/* Writer: tensors (CPU, any strides) written contiguously in the order
 * given, with optional metadata pairs (may be NULL/0). Writes to a temporary
 * file and renames it over `path`, so a failed write never leaves a partial
 * file where a good one stood. */
wt_status wt_st_write(const char *path, int n, const char *const *names,
                      const wt_tensor *const *tensors, int n_meta,
                      const char *const *meta_keys, const char *const *meta_values);

#ifdef __cplusplus
}
#endif
#endif
