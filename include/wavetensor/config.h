/* wavetensor JSON configs, read through cJSON.
 * Owns: a parsed JSON document and typed lookups by dotted path
 * ("seanet.ratios") whose errors name the file, the key and what was
 * expected. Not callback safe (I/O, allocation). */
#ifndef WAVETENSOR_CONFIG_H
#define WAVETENSOR_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "wavetensor/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wt_config wt_config;

/* Parses a JSON file; NULL on error (wt_last_error names the file and line). */
wt_config *wt_config_load(const char *path);
/* Parses JSON text; `name` is used in error messages. */
wt_config *wt_config_parse(const char *text, const char *name);
void wt_config_free(wt_config *c);

bool wt_config_has(const wt_config *c, const char *key);
/* Each getter: WT_OK and *out set; WT_ERR_NOT_FOUND when absent (use the
 * _or forms for optional keys); WT_ERR_FORMAT on a type mismatch. Integers
 * must be integral numbers; bools accept true/false. */
wt_status wt_config_int(const wt_config *c, const char *key, int64_t *out);
wt_status wt_config_double(const wt_config *c, const char *key, double *out);
wt_status wt_config_bool(const wt_config *c, const char *key, bool *out);
/* The string stays owned by the config. */
wt_status wt_config_string(const wt_config *c, const char *key, const char **out);
/* Integer array: fills up to cap entries, *n = length (error if > cap). */
wt_status wt_config_int_array(const wt_config *c, const char *key, int64_t *out, int cap, int *n);

int64_t wt_config_int_or(const wt_config *c, const char *key, int64_t dflt);
double wt_config_double_or(const wt_config *c, const char *key, double dflt);
bool wt_config_bool_or(const wt_config *c, const char *key, bool dflt);
const char *wt_config_string_or(const wt_config *c, const char *key, const char *dflt);

#ifdef __cplusplus
}
#endif
#endif
