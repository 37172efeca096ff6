/* The Demucs golden cases (../shared/golden/demucs, its README) for the CPU
 * and device suites: case.json, the config it names, the model on a chosen
 * backend, io.safetensors and the README's error metric. Failures fail the
 * calling Check test. */
#ifndef WT_TEST_DEMUCS_H
#define WT_TEST_DEMUCS_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "wavetensor/demucs.h"
#include "wavetensor/safetensors.h"

extern const char *const WT_TEST_DEMUCS_CASES[];
enum { WT_TEST_DEMUCS_N_CASES = 2 };

typedef struct golden {
    char dir[1024];
    cJSON *meta; /* case.json */
    wt_demucs_config cfg;
    wt_demucs *model; /* on the backend golden_open was given */
    wt_st_file *io;
    float *noisy;
    int64_t T;
} golden;

/* Case i with its f32 model on backend `be` (NULL: the CPU). */
void demucs_golden_open(golden *g, int i, const wt_backend *be);
void demucs_golden_close(golden *g);
/* A tensor of io.safetensors as a new array (numel in *n); free() it. */
float *io_f32(const golden *g, const char *name, int64_t *n);
int64_t *io_i64(const golden *g, const char *name, int64_t *n);
/* The README's tolerance for a tensor (max |y - ref| / rms(ref)). */
double tolerance(const golden *g, const char *name);
/* An integer of case.json: obj[.sub][.key]. */
int64_t meta_int(const golden *g, const char *obj, const char *sub, const char *key);
/* The README's metric: max |y - ref| / rms(ref). */
double err_over_rms(const float *y, const float *ref, int64_t n);

#endif
