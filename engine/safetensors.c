/* safetensors reader (mmap + full header validation) and writer (temporary
 * file + rename). Every check happens in wt_st_open, before a pointer into
 * the mapping is handed out; errors name the file and, where there is one,
 * the tensor. */
#define _POSIX_C_SOURCE 200809L /* mmap, open, fstat under strict C11 */
#include "wavetensor/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/backend.h"

/* A header bigger than this is not a real checkpoint's header but a corrupt
 * length field; refusing it keeps a bad file from making us allocate gigabytes. */
#define WT_ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)
/* Largest integer a JSON number (a double in cJSON) represents exactly. */
#define WT_ST_MAX_JSON_INT 9007199254740992.0

struct wt_st_file {
    char *path;
    void *map;            /* whole file, read-only */
    size_t map_size;
    const unsigned char *data; /* data section: after the 8-byte length and the header */
    size_t data_size;
    wt_st_entry *entries; /* sorted by data offset */
    size_t count;
    size_t *by_name;      /* entry indices sorted by name, for binary search */
    char **meta_keys;
    char **meta_values;
    size_t meta_count;
};

/* ---- small helpers ---- */

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* a*b into *out unless it overflows SIZE_MAX. */
static bool mul_size(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return false;
    *out = a * b;
    return true;
}

/* The safetensors header spells dtypes in upper case; only those we compute
 * with are accepted, so a file never yields a tensor we cannot load. */
static int parse_st_dtype(const char *s, wt_dtype *out) {
    static const struct { const char *name; wt_dtype t; } k_map[] = {
        {"F32", WT_F32}, {"F16", WT_F16}, {"BF16", WT_BF16}, {"I64", WT_I64}, {"U8", WT_U8},
    };
    for (size_t i = 0; i < sizeof k_map / sizeof k_map[0]; i++) {
        if (strcmp(s, k_map[i].name) == 0) {
            *out = k_map[i].t;
            return 0;
        }
    }
    return -1;
}

static const char *st_dtype_name(wt_dtype t) {
    switch (t) {
    case WT_F32: return "F32";
    case WT_F16: return "F16";
    case WT_BF16: return "BF16";
    case WT_I64: return "I64";
    case WT_U8: return "U8";
    default: return NULL;
    }
}

/* A JSON number that is a non-negative integer exactly representable. */
static bool json_uint(const cJSON *j, uint64_t *out) {
    if (!cJSON_IsNumber(j)) return false;
    double v = j->valuedouble;
    if (!(v >= 0) || v > WT_ST_MAX_JSON_INT || floor(v) != v) return false;
    *out = (uint64_t)v;
    return true;
}

static void free_file(wt_st_file *f) {
    if (!f) return;
    if (f->entries)
        for (size_t i = 0; i < f->count; i++) free((char *)f->entries[i].name);
    for (size_t i = 0; i < f->meta_count; i++) {
        free(f->meta_keys[i]);
        free(f->meta_values[i]);
    }
    free(f->meta_keys);
    free(f->meta_values);
    free(f->entries);
    free(f->by_name);
    if (f->map) munmap(f->map, f->map_size);
    free(f->path);
    free(f);
}

/* ---- header parsing ---- */

/* Temporary per-entry record while validating: the offsets are kept so the
 * overlap check can sort by them. */
typedef struct {
    uint64_t begin, end;
} st_range;

static wt_status parse_metadata(wt_st_file *f, const cJSON *meta) {
    if (!cJSON_IsObject(meta))
        return wt_error(WT_ERR_FORMAT, "%s: __metadata__ is not a JSON object", f->path);
    size_t n = (size_t)cJSON_GetArraySize(meta);
    f->meta_keys = calloc(n ? n : 1, sizeof(char *));
    f->meta_values = calloc(n ? n : 1, sizeof(char *));
    if (!f->meta_keys || !f->meta_values)
        return wt_error(WT_ERR_NOMEM, "%s: out of memory reading __metadata__", f->path);
    for (const cJSON *m = meta->child; m; m = m->next) {
        if (!cJSON_IsString(m))
            return wt_error(WT_ERR_FORMAT, "%s: __metadata__ value of '%s' is not a string",
                            f->path, m->string);
        char *k = dup_str(m->string), *v = dup_str(m->valuestring);
        if (!k || !v) {
            free(k);
            free(v);
            return wt_error(WT_ERR_NOMEM, "%s: out of memory reading __metadata__", f->path);
        }
        f->meta_keys[f->meta_count] = k;
        f->meta_values[f->meta_count] = v;
        f->meta_count++;
    }
    return WT_OK;
}

/* Validates one tensor entry's dtype, shape and offsets against the data
 * section and fills e (name excluded). */
static wt_status parse_entry(wt_st_file *f, const cJSON *j, wt_st_entry *e, st_range *r) {
    const char *name = j->string;
    if (!cJSON_IsObject(j))
        return wt_error(WT_ERR_FORMAT, "%s: tensor '%s': entry is not a JSON object", f->path, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(j, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(j, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(j, "data_offsets");
    if (!dt || !sh || !off)
        return wt_error(WT_ERR_FORMAT, "%s: tensor '%s': missing '%s'", f->path, name,
                        !dt ? "dtype" : !sh ? "shape" : "data_offsets");
    if (!cJSON_IsString(dt))
        return wt_error(WT_ERR_FORMAT, "%s: tensor '%s': dtype is not a string", f->path, name);
    if (parse_st_dtype(dt->valuestring, &e->dtype) != 0)
        return wt_error(WT_ERR_UNSUPPORTED,
                        "%s: unsupported dtype '%s' for tensor '%s' (supported: F32, F16, BF16, I64, U8)",
                        f->path, dt->valuestring, name);
    if (!cJSON_IsArray(sh))
        return wt_error(WT_ERR_FORMAT, "%s: tensor '%s': shape is not an array", f->path, name);
    int ndim = cJSON_GetArraySize(sh);
    if (ndim > WT_MAX_DIMS)
        return wt_error(WT_ERR_UNSUPPORTED, "%s: tensor '%s': %d dimensions, at most %d supported",
                        f->path, name, ndim, WT_MAX_DIMS);
    e->ndim = ndim;
    size_t numel = 1;
    bool overflow = false;
    int d = 0;
    for (const cJSON *s = sh->child; s; s = s->next, d++) {
        uint64_t v;
        if (!json_uint(s, &v))
            return wt_error(WT_ERR_FORMAT,
                            "%s: tensor '%s': shape entry %d is not a non-negative integer",
                            f->path, name, d);
        e->shape[d] = (int64_t)v;
        if (!mul_size(numel, (size_t)v, &numel)) overflow = true;
    }
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 || !json_uint(off->child, &r->begin) ||
        !json_uint(off->child->next, &r->end))
        return wt_error(WT_ERR_FORMAT,
                        "%s: tensor '%s': data_offsets is not a pair of non-negative integers",
                        f->path, name);
    if (r->begin > r->end || r->end > f->data_size)
        return wt_error(WT_ERR_FORMAT,
                        "%s: tensor '%s': data_offsets [%llu, %llu] exceed the %zu-byte data section",
                        f->path, name, (unsigned long long)r->begin, (unsigned long long)r->end,
                        f->data_size);
    size_t want = 0;
    if (overflow || !mul_size(numel, wt_dtype_size(e->dtype), &want) ||
        want != (size_t)(r->end - r->begin))
        return wt_error(WT_ERR_FORMAT,
                        "%s: tensor '%s': %llu bytes in data_offsets, but shape and dtype %s need %s%zu",
                        f->path, name, (unsigned long long)(r->end - r->begin), dt->valuestring,
                        overflow ? "more than " : "", overflow ? SIZE_MAX : want);
    e->data = f->data + r->begin;
    e->nbytes = (size_t)(r->end - r->begin);
    return WT_OK;
}

/* An entry with its offsets, sorted together for the overlap check. */
typedef struct {
    st_range r;
    wt_st_entry e;
} st_item;

static int cmp_by_offset(const void *a, const void *b) {
    const st_item *x = a, *y = b;
    if (x->r.begin != y->r.begin) return x->r.begin < y->r.begin ? -1 : 1;
    if (x->r.end != y->r.end) return x->r.end < y->r.end ? -1 : 1;
    return strcmp(x->e.name, y->e.name);
}

typedef struct {
    const char *name;
    size_t idx;
} st_name_ref;

static int cmp_name_ref(const void *a, const void *b) {
    return strcmp(((const st_name_ref *)a)->name, ((const st_name_ref *)b)->name);
}

static wt_status parse_header(wt_st_file *f, const char *text) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        size_t pos = end && end >= text ? (size_t)(end - text) : 0;
        return wt_error(WT_ERR_FORMAT, "%s: header is not valid JSON (near byte %zu of the header)",
                        f->path, pos);
    }
    wt_status st = WT_OK;
    st_item *items = NULL;
    st_name_ref *refs = NULL;
    if (!cJSON_IsObject(root)) {
        st = wt_error(WT_ERR_FORMAT, "%s: header is not a JSON object", f->path);
        goto done;
    }
    size_t n = 0;
    for (const cJSON *j = root->child; j; j = j->next)
        if (strcmp(j->string, "__metadata__") != 0) n++;
    items = calloc(n ? n : 1, sizeof *items);
    refs = calloc(n ? n : 1, sizeof *refs);
    if (!items || !refs) {
        st = wt_error(WT_ERR_NOMEM, "%s: out of memory reading the header", f->path);
        goto done;
    }
    size_t k = 0;
    bool have_meta = false;
    for (const cJSON *j = root->child; j; j = j->next) {
        if (strcmp(j->string, "__metadata__") == 0) {
            if (have_meta) {
                st = wt_error(WT_ERR_FORMAT, "%s: __metadata__ appears twice", f->path);
                goto done;
            }
            have_meta = true;
            if ((st = parse_metadata(f, j)) != WT_OK) goto done;
            continue;
        }
        items[k].e.name = j->string;
        if ((st = parse_entry(f, j, &items[k].e, &items[k].r)) != WT_OK) goto done;
        refs[k].name = j->string;
        refs[k].idx = k;
        k++;
    }
    /* duplicate names: JSON allows repeated keys, a checkpoint must not */
    qsort(refs, n, sizeof *refs, cmp_name_ref);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(refs[i - 1].name, refs[i].name) == 0) {
            st = wt_error(WT_ERR_FORMAT, "%s: tensor '%s' appears twice", f->path, refs[i].name);
            goto done;
        }
    }
    /* overlap: sorted by offset, each range must start at or after the previous end */
    qsort(items, n, sizeof *items, cmp_by_offset);
    for (size_t i = 1; i < n; i++) {
        if (items[i].r.begin < items[i - 1].r.end) {
            st = wt_error(WT_ERR_FORMAT,
                          "%s: tensor '%s': data_offsets [%llu, %llu] overlap tensor '%s' [%llu, %llu]",
                          f->path, items[i].e.name, (unsigned long long)items[i].r.begin,
                          (unsigned long long)items[i].r.end, items[i - 1].e.name,
                          (unsigned long long)items[i - 1].r.begin,
                          (unsigned long long)items[i - 1].r.end);
            goto done;
        }
    }
    f->entries = calloc(n ? n : 1, sizeof *f->entries);
    f->by_name = calloc(n ? n : 1, sizeof *f->by_name);
    if (!f->entries || !f->by_name) {
        st = wt_error(WT_ERR_NOMEM, "%s: out of memory reading the header", f->path);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        f->entries[i] = items[i].e;
        f->entries[i].name = dup_str(items[i].e.name);
        f->count = i + 1;
        if (!f->entries[i].name) {
            st = wt_error(WT_ERR_NOMEM, "%s: out of memory reading the header", f->path);
            goto done;
        }
    }
    /* name index over the final (offset-ordered) entries */
    for (size_t i = 0; i < n; i++) {
        refs[i].name = f->entries[i].name;
        refs[i].idx = i;
    }
    qsort(refs, n, sizeof *refs, cmp_name_ref);
    for (size_t i = 0; i < n; i++) f->by_name[i] = refs[i].idx;
done:
    free(items);
    free(refs);
    cJSON_Delete(root);
    return st;
}

/* ---- open / close / lookup ---- */

wt_st_file *wt_st_open(const char *path) {
    if (!path) {
        wt_error(WT_ERR_INVALID, "safetensors: no path given");
        return NULL;
    }
    wt_st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = dup_str(path))) {
        free(f);
        wt_error(WT_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        wt_error(errno == ENOENT ? WT_ERR_NOT_FOUND : WT_ERR_IO, "%s: cannot open: %s", path,
                 strerror(errno));
        free_file(f);
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        wt_error(WT_ERR_IO, "%s: not a regular file", path);
        close(fd);
        free_file(f);
        return NULL;
    }
    if (sb.st_size < 8) {
        wt_error(WT_ERR_FORMAT, "%s: file is %lld bytes, shorter than the 8-byte header length",
                 path, (long long)sb.st_size);
        close(fd);
        free_file(f);
        return NULL;
    }
    f->map_size = (size_t)sb.st_size;
    void *m = mmap(NULL, f->map_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd); /* the mapping keeps the file alive */
    if (m == MAP_FAILED) {
        wt_error(WT_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
        free_file(f);
        return NULL;
    }
    f->map = m;
    const unsigned char *b = m;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | b[i]; /* little endian */
    if (hlen > WT_ST_MAX_HEADER) {
        wt_error(WT_ERR_FORMAT, "%s: header length %llu is absurd (limit %llu bytes): not a safetensors file?",
                 path, (unsigned long long)hlen, (unsigned long long)WT_ST_MAX_HEADER);
        free_file(f);
        return NULL;
    }
    if (hlen > f->map_size - 8) {
        wt_error(WT_ERR_FORMAT, "%s: header length %llu exceeds the file (%zu bytes after the length)",
                 path, (unsigned long long)hlen, f->map_size - 8);
        free_file(f);
        return NULL;
    }
    f->data = b + 8 + hlen;
    f->data_size = f->map_size - 8 - (size_t)hlen;
    /* cJSON needs a terminated string; the header in the file is not */
    char *text = malloc((size_t)hlen + 1);
    if (!text) {
        wt_error(WT_ERR_NOMEM, "%s: out of memory for a %llu-byte header", path,
                 (unsigned long long)hlen);
        free_file(f);
        return NULL;
    }
    memcpy(text, b + 8, (size_t)hlen);
    text[hlen] = '\0';
    if (memchr(text, '\0', (size_t)hlen)) {
        wt_error(WT_ERR_FORMAT, "%s: header contains a NUL byte", path);
        free(text);
        free_file(f);
        return NULL;
    }
    wt_status st = parse_header(f, text);
    free(text);
    if (st != WT_OK) {
        free_file(f);
        return NULL;
    }
    return f;
}

void wt_st_close(wt_st_file *f) { free_file(f); }

size_t wt_st_count(const wt_st_file *f) { return f ? f->count : 0; }

const wt_st_entry *wt_st_at(const wt_st_file *f, size_t i) {
    return f && i < f->count ? &f->entries[i] : NULL;
}

const wt_st_entry *wt_st_find(const wt_st_file *f, const char *name) {
    if (!f || !name) return NULL;
    size_t lo = 0, hi = f->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const wt_st_entry *e = &f->entries[f->by_name[mid]];
        int c = strcmp(name, e->name);
        if (c == 0) return e;
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

size_t wt_st_meta_count(const wt_st_file *f) { return f ? f->meta_count : 0; }
const char *wt_st_meta_key(const wt_st_file *f, size_t i) {
    return f && i < f->meta_count ? f->meta_keys[i] : NULL;
}
const char *wt_st_meta_value(const wt_st_file *f, size_t i) {
    return f && i < f->meta_count ? f->meta_values[i] : NULL;
}
const char *wt_st_path(const wt_st_file *f) { return f ? f->path : NULL; }

/* ---- load ---- */

static bool is_float(wt_dtype t) { return t == WT_F32 || t == WT_F16 || t == WT_BF16; }

/* Element i of unaligned float data of dtype t, as f32. */
static float read_float(const unsigned char *p, wt_dtype t, size_t i) {
    if (t == WT_F32) {
        float v;
        memcpy(&v, p + 4 * i, 4);
        return v;
    }
    uint16_t h;
    memcpy(&h, p + 2 * i, 2);
    return t == WT_F16 ? wt_f16_to_f32(h) : wt_bf16_to_f32(h);
}

static void write_float(unsigned char *p, wt_dtype t, size_t i, float v) {
    if (t == WT_F32) {
        memcpy(p + 4 * i, &v, 4);
        return;
    }
    uint16_t h = t == WT_F16 ? wt_f32_to_f16(v) : wt_f32_to_bf16(v);
    memcpy(p + 2 * i, &h, 2);
}

wt_tensor *wt_st_load(wt_ctx *ctx, const wt_st_entry *e, wt_dtype dtype) {
    if (!ctx || wt_ctx_status(ctx) != WT_OK) return NULL;
    if (!e) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "safetensors: load of a NULL entry");
        return NULL;
    }
    if (e->dtype != dtype && !(is_float(e->dtype) && is_float(dtype))) {
        wt_ctx_fail(ctx, WT_ERR_UNSUPPORTED, "tensor '%s': cannot convert %s to %s", e->name,
                    wt_dtype_name(e->dtype), wt_dtype_name(dtype));
        return NULL;
    }
    wt_tensor *t = wt_tensor_new(ctx, dtype, e->ndim, e->shape);
    if (!t) return NULL;
    const wt_backend *be = wt_ctx_backend(ctx);
    bool host = be == wt_cpu_backend();
    size_t n = (size_t)wt_numel(t);
    size_t bytes = wt_nbytes(t);
    if (e->dtype == dtype && host) {
        memcpy(t->data, e->data, bytes);
        return t;
    }
    /* non-host backends: convert on the host, then one upload */
    unsigned char *dst = host ? t->data : malloc(bytes ? bytes : 1);
    if (!dst) {
        wt_ctx_fail(ctx, WT_ERR_NOMEM, "tensor '%s': out of memory converting %zu bytes", e->name,
                    bytes);
        return NULL;
    }
    if (e->dtype == dtype) {
        memcpy(dst, e->data, bytes);
    } else {
        for (size_t i = 0; i < n; i++)
            write_float(dst, dtype, i, read_float(e->data, e->dtype, i));
    }
    if (!host) {
        wt_status st = be->upload(t->data, dst, bytes);
        free(dst);
        if (st != WT_OK) {
            wt_ctx_fail(ctx, st, "tensor '%s': upload failed: %s", e->name, wt_last_error());
            return NULL;
        }
    }
    return t;
}

/* ---- write ---- */

static wt_status check_write_args(const char *path, int n, const char *const *names,
                                  const wt_tensor *const *tensors, int n_meta,
                                  const char *const *mk, const char *const *mv) {
    if (!path) return wt_error(WT_ERR_INVALID, "safetensors write: no path given");
    if (n < 0 || (n > 0 && (!names || !tensors)))
        return wt_error(WT_ERR_INVALID, "%s: write: bad tensor list", path);
    if (n_meta < 0 || (n_meta > 0 && (!mk || !mv)))
        return wt_error(WT_ERR_INVALID, "%s: write: bad metadata list", path);
    for (int i = 0; i < n_meta; i++)
        if (!mk[i] || !mv[i])
            return wt_error(WT_ERR_INVALID, "%s: write: metadata entry %d is NULL", path, i);
    for (int i = 0; i < n; i++) {
        const wt_tensor *t = tensors[i];
        if (!names[i] || !names[i][0] || strcmp(names[i], "__metadata__") == 0)
            return wt_error(WT_ERR_INVALID, "%s: write: tensor %d has no usable name", path, i);
        if (!t)
            return wt_error(WT_ERR_INVALID, "%s: write: tensor '%s' is NULL", path, names[i]);
        if (!st_dtype_name(t->dtype))
            return wt_error(WT_ERR_INVALID, "%s: write: tensor '%s' has an invalid dtype", path,
                            names[i]);
        if (t->backend && t->backend != wt_cpu_backend())
            return wt_error(WT_ERR_UNSUPPORTED, "%s: write: tensor '%s' is not in CPU memory", path,
                            names[i]);
        if (t->ndim < 0 || t->ndim > WT_MAX_DIMS)
            return wt_error(WT_ERR_INVALID, "%s: write: tensor '%s' has rank %d", path, names[i],
                            t->ndim);
        for (int j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0)
                return wt_error(WT_ERR_INVALID, "%s: write: tensor name '%s' given twice", path,
                                names[i]);
    }
    return WT_OK;
}

/* The header JSON (unpadded); NULL on allocation failure. */
static char *build_header(int n, const char *const *names, const wt_tensor *const *tensors,
                          int n_meta, const char *const *mk, const char *const *mv) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    bool ok = true;
    if (n_meta > 0) {
        cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
        ok = meta != NULL;
        for (int i = 0; ok && i < n_meta; i++) ok = cJSON_AddStringToObject(meta, mk[i], mv[i]) != NULL;
    }
    uint64_t off = 0;
    for (int i = 0; ok && i < n; i++) {
        const wt_tensor *t = tensors[i];
        cJSON *e = cJSON_AddObjectToObject(root, names[i]);
        ok = e && cJSON_AddStringToObject(e, "dtype", st_dtype_name(t->dtype));
        cJSON *shape = ok ? cJSON_AddArrayToObject(e, "shape") : NULL;
        ok = ok && shape;
        for (int d = 0; ok && d < t->ndim; d++) {
            cJSON *v = cJSON_CreateNumber((double)t->shape[d]);
            ok = v && cJSON_AddItemToArray(shape, v);
        }
        cJSON *offs = ok ? cJSON_AddArrayToObject(e, "data_offsets") : NULL;
        ok = ok && offs;
        uint64_t end = off + wt_nbytes(t);
        cJSON *b = ok ? cJSON_CreateNumber((double)off) : NULL;
        ok = b && cJSON_AddItemToArray(offs, b);
        cJSON *en = ok ? cJSON_CreateNumber((double)end) : NULL;
        ok = en && cJSON_AddItemToArray(offs, en);
        off = end;
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return text;
}

/* Writes t's elements in row-major order of its logical shape, whatever
 * its strides, through a bounded staging buffer. */
static bool write_tensor_data(FILE *fp, const wt_tensor *t) {
    size_t es = wt_dtype_size(t->dtype);
    int64_t n = wt_numel(t);
    if (n == 0) return true;
    if (wt_is_contiguous(t)) return fwrite(t->data, es, (size_t)n, fp) == (size_t)n;
    unsigned char buf[1 << 14];
    size_t per = sizeof buf / es, k = 0;
    int64_t idx[WT_MAX_DIMS] = {0};
    const unsigned char *base = t->data;
    for (int64_t i = 0; i < n; i++) {
        int64_t off = 0;
        for (int d = 0; d < t->ndim; d++) off += idx[d] * t->stride[d];
        memcpy(buf + k * es, base + (size_t)off * es, es);
        if (++k == per) {
            if (fwrite(buf, es, k, fp) != k) return false;
            k = 0;
        }
        for (int d = t->ndim - 1; d >= 0; d--) { /* odometer increment */
            if (++idx[d] < t->shape[d]) break;
            idx[d] = 0;
        }
    }
    return fwrite(buf, es, k, fp) == k;
}

wt_status wt_st_write(const char *path, int n, const char *const *names,
                      const wt_tensor *const *tensors, int n_meta,
                      const char *const *meta_keys, const char *const *meta_values) {
    wt_status st = check_write_args(path, n, names, tensors, n_meta, meta_keys, meta_values);
    if (st != WT_OK) return st;
    char *header = build_header(n, names, tensors, n_meta, meta_keys, meta_values);
    if (!header) return wt_error(WT_ERR_NOMEM, "%s: out of memory building the header", path);
    size_t hlen = strlen(header);
    size_t padded = (hlen + 7) / 8 * 8; /* data section starts 8-byte aligned */
    size_t tlen = strlen(path) + 5;
    char *tmp = malloc(tlen);
    if (!tmp) {
        free(header);
        return wt_error(WT_ERR_NOMEM, "%s: out of memory", path);
    }
    snprintf(tmp, tlen, "%s.tmp", path);
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        st = wt_error(WT_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        free(header);
        free(tmp);
        return st;
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    bool ok = fwrite(len8, 1, 8, fp) == 8 && fwrite(header, 1, hlen, fp) == hlen;
    for (size_t i = hlen; ok && i < padded; i++) ok = fputc(' ', fp) != EOF;
    for (int i = 0; ok && i < n; i++) ok = write_tensor_data(fp, tensors[i]);
    int saved = errno;
    if (fflush(fp) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (fclose(fp) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        unlink(tmp);
        st = wt_error(WT_ERR_IO, "%s: write failed: %s", path, strerror(saved));
    }
    free(header);
    free(tmp);
    return st;
}
