/* JSON configs through cJSON: dotted-path lookups with typed getters.
 * A path component that is a decimal number indexes an array
 * ("seanet.ratios.0"). A JSON null counts as absent, as Hugging Face
 * configs write null for "not set" (e.g. "rope_scaling": null). */
#include "wavetensor/config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Configs are small; anything larger is not a config. */
#define WT_CONFIG_MAX_BYTES (64L * 1024 * 1024)

struct wt_config {
    cJSON *root;
    char *name;
};

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

wt_config *wt_config_parse(const char *text, const char *name) {
    if (!name) name = "config";
    if (!text) {
        wt_error(WT_ERR_INVALID, "%s: no JSON text", name);
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        /* line and column of the point where parsing stopped */
        int line = 1, col = 1;
        for (const char *p = text; end && p < end && *p; p++) {
            if (*p == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        wt_error(WT_ERR_FORMAT, "%s: invalid JSON at line %d, column %d", name, line, col);
        return NULL;
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        wt_error(WT_ERR_FORMAT, "%s: top level is not a JSON object", name);
        return NULL;
    }
    wt_config *c = calloc(1, sizeof *c);
    if (!c || !(c->name = dup_str(name))) {
        free(c);
        cJSON_Delete(root);
        wt_error(WT_ERR_NOMEM, "%s: out of memory", name);
        return NULL;
    }
    c->root = root;
    return c;
}

wt_config *wt_config_load(const char *path) {
    if (!path) {
        wt_error(WT_ERR_INVALID, "config: no path given");
        return NULL;
    }
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        wt_error(errno == ENOENT ? WT_ERR_NOT_FOUND : WT_ERR_IO, "%s: cannot open: %s", path,
                 strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 16384;
            if (ncap > (size_t)WT_CONFIG_MAX_BYTES) {
                free(buf);
                fclose(fp);
                wt_error(WT_ERR_FORMAT, "%s: larger than %ld bytes, not a config", path,
                         WT_CONFIG_MAX_BYTES);
                return NULL;
            }
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                fclose(fp);
                wt_error(WT_ERR_NOMEM, "%s: out of memory", path);
                return NULL;
            }
            buf = nb;
            cap = ncap;
        }
        size_t k = fread(buf + len, 1, cap - len - 1, fp);
        len += k;
        if (k == 0) break;
    }
    int err = ferror(fp);
    fclose(fp);
    if (err) {
        free(buf);
        wt_error(WT_ERR_IO, "%s: read error", path);
        return NULL;
    }
    buf[len] = '\0';
    if (strlen(buf) != len) {
        free(buf);
        wt_error(WT_ERR_FORMAT, "%s: contains a NUL byte, not JSON text", path);
        return NULL;
    }
    wt_config *c = wt_config_parse(buf, path);
    free(buf);
    return c;
}

void wt_config_free(wt_config *c) {
    if (!c) return;
    cJSON_Delete(c->root);
    free(c->name);
    free(c);
}

static const char *json_kind(const cJSON *j) {
    if (cJSON_IsObject(j)) return "an object";
    if (cJSON_IsArray(j)) return "an array";
    if (cJSON_IsString(j)) return "a string";
    if (cJSON_IsBool(j)) return "a boolean";
    if (cJSON_IsNull(j)) return "null";
    if (cJSON_IsNumber(j)) return floor(j->valuedouble) == j->valuedouble ? "an integer" : "a number";
    return "an unknown value";
}

/* Follows a dotted path. NULL when absent or null; *bad is set to the
 * message's status when the path runs through a non-container. */
static const cJSON *lookup(const wt_config *c, const char *key, wt_status *st, bool report) {
    *st = WT_OK;
    if (!c || !key) {
        *st = WT_ERR_INVALID;
        if (report) wt_error(WT_ERR_INVALID, "config: no config or key given");
        return NULL;
    }
    const cJSON *j = c->root;
    const char *p = key;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char comp[256];
        if (n == 0 || n >= sizeof comp) {
            *st = WT_ERR_INVALID;
            if (report) wt_error(WT_ERR_INVALID, "%s: bad key '%s'", c->name, key);
            return NULL;
        }
        memcpy(comp, p, n);
        comp[n] = '\0';
        const cJSON *next = NULL;
        if (cJSON_IsObject(j)) {
            next = cJSON_GetObjectItemCaseSensitive(j, comp);
        } else if (cJSON_IsArray(j)) {
            char *e;
            long idx = strtol(comp, &e, 10);
            if (*e == '\0' && idx >= 0 && idx < cJSON_GetArraySize(j))
                next = cJSON_GetArrayItem(j, (int)idx);
        } else {
            *st = WT_ERR_FORMAT;
            if (report)
                wt_error(WT_ERR_FORMAT, "%s: key '%s': '%.*s' is %s, not an object", c->name, key,
                         (int)(p - key - 1), key, json_kind(j));
            return NULL;
        }
        if (!next || cJSON_IsNull(next)) {
            *st = WT_ERR_NOT_FOUND;
            if (report) wt_error(WT_ERR_NOT_FOUND, "%s: key '%s' not found", c->name, key);
            return NULL;
        }
        j = next;
        if (!dot) return j;
        p = dot + 1;
    }
}

bool wt_config_has(const wt_config *c, const char *key) {
    wt_status st;
    return lookup(c, key, &st, false) != NULL;
}

static wt_status type_error(const wt_config *c, const char *key, const char *want, const cJSON *j) {
    return wt_error(WT_ERR_FORMAT, "%s: key '%s': expected %s, found %s", c->name, key, want,
                    json_kind(j));
}

static bool json_int(const cJSON *j, int64_t *out) {
    if (!cJSON_IsNumber(j)) return false;
    double v = j->valuedouble;
    /* 2^63 is exactly representable; values at or beyond it are not int64 */
    if (floor(v) != v || v < -9223372036854775808.0 || v >= 9223372036854775808.0) return false;
    *out = (int64_t)v;
    return true;
}

wt_status wt_config_int(const wt_config *c, const char *key, int64_t *out) {
    wt_status st;
    const cJSON *j = lookup(c, key, &st, true);
    if (!j) return st;
    if (!json_int(j, out)) return type_error(c, key, "an integer", j);
    return WT_OK;
}

wt_status wt_config_double(const wt_config *c, const char *key, double *out) {
    wt_status st;
    const cJSON *j = lookup(c, key, &st, true);
    if (!j) return st;
    if (!cJSON_IsNumber(j)) return type_error(c, key, "a number", j);
    *out = j->valuedouble;
    return WT_OK;
}

wt_status wt_config_bool(const wt_config *c, const char *key, bool *out) {
    wt_status st;
    const cJSON *j = lookup(c, key, &st, true);
    if (!j) return st;
    if (!cJSON_IsBool(j)) return type_error(c, key, "true or false", j);
    *out = cJSON_IsTrue(j);
    return WT_OK;
}

wt_status wt_config_string(const wt_config *c, const char *key, const char **out) {
    wt_status st;
    const cJSON *j = lookup(c, key, &st, true);
    if (!j) return st;
    if (!cJSON_IsString(j)) return type_error(c, key, "a string", j);
    *out = j->valuestring;
    return WT_OK;
}

wt_status wt_config_int_array(const wt_config *c, const char *key, int64_t *out, int cap, int *n) {
    wt_status st;
    const cJSON *j = lookup(c, key, &st, true);
    if (!j) return st;
    if (!cJSON_IsArray(j)) return type_error(c, key, "an array of integers", j);
    int len = cJSON_GetArraySize(j);
    if (len > cap)
        return wt_error(WT_ERR_FORMAT, "%s: key '%s': %d entries, at most %d expected", c->name,
                        key, len, cap);
    int i = 0;
    for (const cJSON *e = j->child; e; e = e->next, i++) {
        if (!json_int(e, &out[i]))
            return wt_error(WT_ERR_FORMAT, "%s: key '%s': entry %d: expected an integer, found %s",
                            c->name, key, i, json_kind(e));
    }
    if (n) *n = len;
    return WT_OK;
}

/* The _or forms return the default for an absent key without recording an
 * error; a present key of the wrong type also yields the default, with the
 * type error left in wt_last_error. */
int64_t wt_config_int_or(const wt_config *c, const char *key, int64_t dflt) {
    int64_t v;
    if (!wt_config_has(c, key)) return dflt;
    return wt_config_int(c, key, &v) == WT_OK ? v : dflt;
}

double wt_config_double_or(const wt_config *c, const char *key, double dflt) {
    double v;
    if (!wt_config_has(c, key)) return dflt;
    return wt_config_double(c, key, &v) == WT_OK ? v : dflt;
}

bool wt_config_bool_or(const wt_config *c, const char *key, bool dflt) {
    bool v;
    if (!wt_config_has(c, key)) return dflt;
    return wt_config_bool(c, key, &v) == WT_OK ? v : dflt;
}

const char *wt_config_string_or(const wt_config *c, const char *key, const char *dflt) {
    const char *v;
    if (!wt_config_has(c, key)) return dflt;
    return wt_config_string(c, key, &v) == WT_OK ? v : dflt;
}
