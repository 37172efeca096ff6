/* safetensors reader and writer: every golden file opens and agrees with an
 * independent parse of its header (done here with cJSON and fread), malformed
 * files fail with a one-line message naming the file, and write/read round
 * trips keep values (with f16/bf16 conversion and strided input). */
#define _XOPEN_SOURCE 700 /* mkdtemp, opendir */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wt_test.h"

/* ---- helpers ---- */

static unsigned char *read_all(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    if (b && fread(b, 1, (size_t)len, fp) != (size_t)len) {
        free(b);
        b = NULL;
    }
    fclose(fp);
    *n = (size_t)len;
    return b;
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(data, 1, n, fp), n);
    fclose(fp);
}

/* A file made of the 8-byte little-endian length, the header text and `data_len`
 * zero bytes. */
static void write_st(const char *path, const char *header, size_t data_len) {
    size_t h = strlen(header);
    size_t n = 8 + h + data_len;
    unsigned char *b = calloc(1, n);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(b + 8, header, h);
    write_bytes(path, b, n);
    free(b);
}

static const char *st_dtype_of(const char *s, size_t *size) {
    static const struct { const char *n; size_t s; } k[] = {
        {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"U8", 1}};
    for (size_t i = 0; i < 5; i++)
        if (!strcmp(s, k[i].n)) {
            *size = k[i].s;
            return k[i].n;
        }
    return NULL;
}

/* ---- (a) every golden file, cross-checked against our own header parse ---- */

static void check_golden_file(const char *path) {
    size_t fsize;
    unsigned char *raw = read_all(path, &fsize);
    ck_assert_msg(raw != NULL, "cannot read %s", path);
    ck_assert_uint_ge(fsize, 8);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | raw[i];
    ck_assert_uint_le(8 + hlen, fsize);
    char *text = malloc(hlen + 1);
    memcpy(text, raw + 8, hlen);
    text[hlen] = '\0';
    cJSON *root = cJSON_Parse(text);
    ck_assert_msg(root != NULL, "%s: reference parse failed", path);

    wt_st_file *f = wt_st_open(path);
    ck_assert_msg(f != NULL, "%s: %s", path, wt_last_error());
    ck_assert_str_eq(wt_st_path(f), path);
    size_t expected = 0;
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    for (cJSON *j = root->child; j; j = j->next) {
        if (!strcmp(j->string, "__metadata__")) {
            size_t nm = 0;
            for (cJSON *m = j->child; m; m = m->next, nm++) {
                bool found = false;
                for (size_t i = 0; i < wt_st_meta_count(f); i++)
                    if (!strcmp(wt_st_meta_key(f, i), m->string) &&
                        !strcmp(wt_st_meta_value(f, i), m->valuestring))
                        found = true;
                ck_assert_msg(found, "%s: metadata %s missing", path, m->string);
            }
            ck_assert_uint_eq(nm, wt_st_meta_count(f));
            continue;
        }
        expected++;
        const wt_st_entry *e = wt_st_find(f, j->string);
        ck_assert_msg(e != NULL, "%s: %s not found", path, j->string);
        ck_assert_str_eq(e->name, j->string);
        size_t es;
        const char *dt = st_dtype_of(cJSON_GetObjectItem(j, "dtype")->valuestring, &es);
        ck_assert_ptr_nonnull(dt);
        ck_assert_uint_eq(wt_dtype_size(e->dtype), es);
        cJSON *shape = cJSON_GetObjectItem(j, "shape");
        ck_assert_int_eq(e->ndim, cJSON_GetArraySize(shape));
        size_t numel = 1;
        for (int d = 0; d < e->ndim; d++) {
            ck_assert_int_eq(e->shape[d], (int64_t)cJSON_GetArrayItem(shape, d)->valuedouble);
            numel *= (size_t)e->shape[d];
        }
        cJSON *off = cJSON_GetObjectItem(j, "data_offsets");
        size_t b0 = (size_t)cJSON_GetArrayItem(off, 0)->valuedouble;
        size_t b1 = (size_t)cJSON_GetArrayItem(off, 1)->valuedouble;
        ck_assert_uint_eq(e->nbytes, b1 - b0);
        ck_assert_uint_eq(e->nbytes, numel * es);
        /* the loaded bytes are the file's bytes at the header's offsets */
        wt_tensor *t = wt_st_load(ctx, e, e->dtype);
        ck_assert_msg(t != NULL, "%s: %s: %s", path, e->name, wt_ctx_error(ctx));
        ck_assert_int_eq(wt_numel(t), (int64_t)numel);
        ck_assert(memcmp(t->data, raw + 8 + hlen + b0, e->nbytes) == 0);
        wt_ctx_reset(ctx);
    }
    ck_assert_uint_gt(wt_st_count(f), 0);
    ck_assert_uint_eq(wt_st_count(f), expected);
    /* wt_st_at walks the entries in data-offset order */
    for (size_t i = 1; i < wt_st_count(f); i++)
        ck_assert((const char *)wt_st_at(f, i)->data >= (const char *)wt_st_at(f, i - 1)->data);
    ck_assert_ptr_null(wt_st_at(f, wt_st_count(f)));
    ck_assert_ptr_null(wt_st_find(f, "no.such.tensor"));
    wt_ctx_free(ctx);
    wt_st_close(f);
    cJSON_Delete(root);
    free(text);
    free(raw);
}

/* Recursive walk; returns how many .safetensors files were checked. */
static int walk(const char *dir) {
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot list %s", dir);
    int count = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat sb;
        if (lstat(path, &sb) != 0) continue;
        size_t n = strlen(path);
        if (S_ISDIR(sb.st_mode)) {
            count += walk(path);
        } else if (S_ISREG(sb.st_mode) && n > 12 && !strcmp(path + n - 12, ".safetensors")) {
            check_golden_file(path);
            count++;
        }
    }
    closedir(d);
    return count;
}

START_TEST(test_golden_all_files) {
    ck_assert_int_ge(walk(WT_GOLDEN_DIR), 14); /* 14 files listed in the golden READMEs */
}
END_TEST

static void expect_entry(const wt_st_file *f, const char *name, wt_dtype dt, int ndim,
                         const int64_t *shape) {
    const wt_st_entry *e = wt_st_find(f, name);
    ck_assert_msg(e != NULL, "%s missing", name);
    ck_assert_int_eq(e->dtype, dt);
    ck_assert_int_eq(e->ndim, ndim);
    for (int d = 0; d < ndim; d++) ck_assert_int_eq(e->shape[d], shape[d]);
}

START_TEST(test_golden_known_tensors) {
    char p[1024];
    /* mimi/README.md: tiny-a has n_filters 4, first conv kernel 7, mono */
    wt_st_file *f = wt_st_open(wt_test_golden(p, sizeof p, "mimi/tiny-speech/model.safetensors"));
    ck_assert_ptr_nonnull(f);
    expect_entry(f, "encoder.model.0.conv.conv.weight", WT_F32, 3, (int64_t[]){4, 1, 7});
    wt_st_close(f);

    /* stories260K/README.md: dim 64, 8 heads, 4 kv heads (head_dim 8), vocab 512, hidden 172 */
    static const struct { const char *file; wt_dtype dt; } k_variants[] = {
        {"llama/stories260K/model.safetensors", WT_F32},
        {"llama/stories260K/model-bf16.safetensors", WT_BF16},
        {"llama/stories260K/model-f16.safetensors", WT_F16},
    };
    for (size_t v = 0; v < 3; v++) {
        f = wt_st_open(wt_test_golden(p, sizeof p, k_variants[v].file));
        ck_assert_ptr_nonnull(f);
        for (size_t i = 0; i < wt_st_count(f); i++) ck_assert_int_eq(wt_st_at(f, i)->dtype, k_variants[v].dt);
        expect_entry(f, "model.embed_tokens.weight", k_variants[v].dt, 2, (int64_t[]){512, 64});
        expect_entry(f, "model.layers.0.self_attn.q_proj.weight", k_variants[v].dt, 2, (int64_t[]){64, 64});
        expect_entry(f, "model.layers.4.self_attn.k_proj.weight", k_variants[v].dt, 2, (int64_t[]){32, 64});
        expect_entry(f, "model.layers.2.mlp.gate_proj.weight", k_variants[v].dt, 2, (int64_t[]){172, 64});
        expect_entry(f, "model.norm.weight", k_variants[v].dt, 1, (int64_t[]){64});
        ck_assert_ptr_null(wt_st_find(f, "lm_head.weight")); /* tied embeddings */
        /* 5 layers x 9 tensors + embedding + final norm */
        ck_assert_uint_eq(wt_st_count(f), 47);
        ck_assert_uint_eq(wt_st_meta_count(f), 1);
        ck_assert_str_eq(wt_st_meta_key(f, 0), "format");
        ck_assert_str_eq(wt_st_meta_value(f, 0), "pt");
        wt_st_close(f);
    }

    /* demucs/README.md + tiny case.json: hidden 4, depth 5, kernel 8, chin 1 */
    f = wt_st_open(wt_test_golden(p, sizeof p, "demucs/tiny-noisy/model.safetensors"));
    ck_assert_ptr_nonnull(f);
    expect_entry(f, "encoder.0.0.weight", WT_F32, 3, (int64_t[]){4, 1, 8});
    expect_entry(f, "encoder.4.2.weight", WT_F32, 3, (int64_t[]){128, 64, 1});
    wt_st_close(f);
}
END_TEST

/* bf16/f16 variants are the f32 weights rounded to nearest even (llama
 * README), so loading the f32 file as bf16/f16 must reproduce them bit for bit. */
START_TEST(test_golden_dtype_variants) {
    char p[1024];
    wt_st_file *f32 = wt_st_open(wt_test_golden(p, sizeof p, "llama/stories260K/model.safetensors"));
    wt_st_file *bf = wt_st_open(wt_test_golden(p, sizeof p, "llama/stories260K/model-bf16.safetensors"));
    wt_st_file *hf = wt_st_open(wt_test_golden(p, sizeof p, "llama/stories260K/model-f16.safetensors"));
    ck_assert(f32 && bf && hf);
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    for (size_t i = 0; i < wt_st_count(f32); i++) {
        const wt_st_entry *e = wt_st_at(f32, i);
        const wt_st_entry *eb = wt_st_find(bf, e->name), *eh = wt_st_find(hf, e->name);
        ck_assert(eb && eh);
        wt_tensor *tb = wt_st_load(ctx, e, WT_BF16);
        wt_tensor *th = wt_st_load(ctx, e, WT_F16);
        ck_assert(tb && th);
        ck_assert(memcmp(tb->data, eb->data, eb->nbytes) == 0);
        ck_assert(memcmp(th->data, eh->data, eh->nbytes) == 0);
        /* and bf16 -> f32 is exact: the top 16 bits of each f32 */
        wt_tensor *back = wt_st_load(ctx, eb, WT_F32);
        ck_assert_ptr_nonnull(back);
        for (int64_t k = 0; k < wt_numel(back); k++) {
            uint16_t b;
            memcpy(&b, (const char *)eb->data + 2 * k, 2);
            uint32_t u = (uint32_t)b << 16, got;
            memcpy(&got, (float *)back->data + k, 4);
            ck_assert_uint_eq(got, u);
        }
        wt_ctx_reset(ctx);
    }
    /* an integer entry cannot be loaded as a float */
    wt_st_file *io = wt_st_open(wt_test_golden(p, sizeof p, "demucs/tiny-noisy/io.safetensors"));
    ck_assert_ptr_nonnull(io);
    const wt_st_entry *ri = wt_st_find(io, "ragged_chunks");
    ck_assert(ri && ri->dtype == WT_I64);
    ck_assert_ptr_null(wt_st_load(ctx, ri, WT_F32));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_UNSUPPORTED);
    wt_st_close(io);
    wt_ctx_free(ctx);
    wt_st_close(f32);
    wt_st_close(bf);
    wt_st_close(hf);
}
END_TEST

/* ---- (b) malformed files ---- */

static void expect_open_fails(const char *dir, const char *fname, const char *must_contain) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, fname);
    wt_clear_error();
    wt_st_file *f = wt_st_open(path);
    const char *msg = wt_last_error();
    ck_assert_msg(f == NULL, "%s opened", fname);
    ck_assert_msg(msg[0] != '\0', "%s: empty message", fname);
    ck_assert_msg(strchr(msg, '\n') == NULL, "%s: multi-line message '%s'", fname, msg);
    ck_assert_msg(strstr(msg, fname) != NULL, "%s: message '%s' does not name the file", fname, msg);
    if (must_contain)
        ck_assert_msg(strstr(msg, must_contain) != NULL, "%s: message '%s' lacks '%s'", fname, msg,
                      must_contain);
}

START_TEST(test_bad_files) {
    char dir[] = "/tmp/wt_st_bad_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char p[1024];
#define P(name) (snprintf(p, sizeof p, "%s/%s", dir, name), p)
    write_bytes(P("empty.safetensors"), "", 0);
    write_bytes(P("seven.safetensors"), "\x10\0\0\0\0\0\0", 7);
    {
        unsigned char b[16] = {0xF0, 0x00}; /* header length 240 > 8 bytes left */
        write_bytes(P("hlen_big.safetensors"), b, sizeof b);
        unsigned char c[16] = {0, 0, 0, 0, 0, 0, 0, 0x40}; /* 2^62 */
        write_bytes(P("hlen_absurd.safetensors"), c, sizeof c);
    }
    write_st(P("badjson.safetensors"), "{\"a\": {\"dtype\": \"F32\",", 0);
    write_st(P("array.safetensors"), "[1, 2, 3]", 0);
    write_st(P("no_offsets.safetensors"), "{\"a\": {\"dtype\": \"F32\", \"shape\": [2]}}", 8);
    write_st(P("no_dtype.safetensors"), "{\"a\": {\"shape\": [2], \"data_offsets\": [0, 8]}}", 8);
    write_st(P("f64.safetensors"), "{\"w\": {\"dtype\": \"F64\", \"shape\": [1], \"data_offsets\": [0, 8]}}", 8);
    write_st(P("size.safetensors"), "{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8);
    write_st(P("oob.safetensors"), "{\"x.weight\": {\"dtype\": \"F32\", \"shape\": [25], \"data_offsets\": [0, 100]}}", 64);
    write_st(P("overlap.safetensors"),
             "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]},"
             " \"b\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [8, 24]}}", 24);
    write_st(P("negative.safetensors"), "{\"w\": {\"dtype\": \"F32\", \"shape\": [-2], \"data_offsets\": [0, 8]}}", 8);
    write_st(P("fraction.safetensors"), "{\"w\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 8]}}", 8);
    write_st(P("dims.safetensors"),
             "{\"w\": {\"dtype\": \"U8\", \"shape\": [1,1,1,1,1,1,1,1,1], \"data_offsets\": [0, 1]}}", 1);
    write_st(P("dup.safetensors"),
             "{\"w\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0, 1]},"
             " \"w\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [1, 2]}}", 2);
    write_st(P("overflow.safetensors"),
             "{\"w\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, 16], \"data_offsets\": [0, 8]}}", 8);
    write_st(P("reversed.safetensors"), "{\"w\": {\"dtype\": \"U8\", \"shape\": [0], \"data_offsets\": [4, 2]}}", 8);
    write_st(P("entry_string.safetensors"), "{\"w\": \"F32\"}", 0);
    write_st(P("meta_number.safetensors"), "{\"__metadata__\": {\"k\": 3}}", 0);
    write_st(P("trailing.safetensors"), "{} x", 0);
#undef P

    expect_open_fails(dir, "missing.safetensors", "cannot open");
    expect_open_fails(dir, "empty.safetensors", "shorter than");
    expect_open_fails(dir, "seven.safetensors", "shorter than");
    expect_open_fails(dir, "hlen_big.safetensors", "header length");
    expect_open_fails(dir, "hlen_absurd.safetensors", "header length");
    expect_open_fails(dir, "badjson.safetensors", "not valid JSON");
    expect_open_fails(dir, "array.safetensors", "not a JSON object");
    expect_open_fails(dir, "no_offsets.safetensors", "data_offsets");
    expect_open_fails(dir, "no_dtype.safetensors", "dtype");
    expect_open_fails(dir, "f64.safetensors", "unsupported dtype 'F64' for tensor 'w'");
    expect_open_fails(dir, "size.safetensors", "tensor 'w'");
    expect_open_fails(dir, "oob.safetensors",
                      "tensor 'x.weight': data_offsets [0, 100] exceed the 64-byte data section");
    expect_open_fails(dir, "overlap.safetensors", "overlap");
    expect_open_fails(dir, "negative.safetensors", "shape");
    expect_open_fails(dir, "fraction.safetensors", "shape");
    expect_open_fails(dir, "dims.safetensors", "dimensions");
    expect_open_fails(dir, "dup.safetensors", "twice");
    expect_open_fails(dir, "overflow.safetensors", "tensor 'w'");
    expect_open_fails(dir, "reversed.safetensors", "data_offsets");
    expect_open_fails(dir, "entry_string.safetensors", "tensor 'w'");
    expect_open_fails(dir, "meta_number.safetensors", "__metadata__");
    expect_open_fails(dir, "trailing.safetensors", "JSON");
    expect_open_fails(dir, "", NULL); /* the directory itself */

    /* a well-formed file with an empty header and a zero-size tensor opens */
    snprintf(p, sizeof p, "%s/ok.safetensors", dir);
    write_st(p, "{\"z\": {\"dtype\": \"F16\", \"shape\": [0, 3], \"data_offsets\": [0, 0]}}  ", 0);
    wt_st_file *f = wt_st_open(p);
    ck_assert_msg(f != NULL, "%s", wt_last_error());
    ck_assert_uint_eq(wt_st_count(f), 1);
    ck_assert_uint_eq(wt_st_find(f, "z")->nbytes, 0);
    wt_st_close(f);

    /* clean up */
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* ---- (c) write / read round trip ---- */

START_TEST(test_write_round_trip) {
    char dir[] = "/tmp/wt_st_rt_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[1024];
    snprintf(path, sizeof path, "%s/rt.safetensors", dir);
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 7);
    wt_tensor *a = wt_tensor_new3(ctx, WT_F32, 2, 3, 5);
    wt_test_fill_uniform(a, &rng, -3, 3);
    wt_tensor *at = wt_transpose(ctx, a, 0, 2); /* [5, 3, 2], strided */
    wt_tensor *h = wt_tensor_new2(ctx, WT_F16, 4, 3);
    wt_test_fill_uniform(h, &rng, -2, 2);
    wt_tensor *b = wt_tensor_new1(ctx, WT_BF16, 7);
    wt_test_fill_uniform(b, &rng, -2, 2);
    wt_tensor *ids = wt_tensor_new1(ctx, WT_I64, 3);
    int64_t idv[3] = {-5, 0, 1LL << 40};
    memcpy(ids->data, idv, sizeof idv);
    int64_t no_dims[1] = {0};
    wt_tensor *u = wt_tensor_new(ctx, WT_U8, 0, no_dims); /* scalar */
    *(uint8_t *)u->data = 200;
    const char *names[] = {"a.t", "h", "b", "ids", "u \"quoted\""};
    const wt_tensor *ts[] = {at, h, b, ids, u};
    const char *mk[] = {"format", "note"};
    const char *mv[] = {"pt", "line1\nline2"};
    ck_assert_int_eq(wt_st_write(path, 5, names, ts, 2, mk, mv), WT_OK);
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert_int_ne(access(tmp, F_OK), 0);

    /* header length is a multiple of 8 */
    size_t fsize;
    unsigned char *raw = read_all(path, &fsize);
    ck_assert_ptr_nonnull(raw);
    ck_assert_uint_eq(raw[0] % 8, 0);
    free(raw);

    wt_st_file *f = wt_st_open(path);
    ck_assert_msg(f != NULL, "%s", wt_last_error());
    ck_assert_uint_eq(wt_st_count(f), 5);
    ck_assert_str_eq(wt_st_at(f, 0)->name, "a.t"); /* written in the order given */
    ck_assert_uint_eq(wt_st_meta_count(f), 2);
    ck_assert_str_eq(wt_st_meta_value(f, 1), "line1\nline2");
    wt_ctx *rd = wt_ctx_new_heap(NULL);
    /* strided f32 comes back as its logical row-major copy */
    wt_tensor *ra = wt_st_load(rd, wt_st_find(f, "a.t"), WT_F32);
    ck_assert_int_eq(ra->ndim, 3);
    ck_assert_int_eq(ra->shape[0], 5);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 2; k++)
                ck_assert_float_eq(((float *)ra->data)[(i * 3 + j) * 2 + k],
                                   ((float *)a->data)[(k * 3 + j) * 5 + i]);
    /* f32 -> f16 / bf16 on load equals the scalar conversions */
    wt_tensor *ra16 = wt_st_load(rd, wt_st_find(f, "a.t"), WT_F16);
    wt_tensor *rab = wt_st_load(rd, wt_st_find(f, "a.t"), WT_BF16);
    for (int64_t i = 0; i < 30; i++) {
        float x = ((float *)ra->data)[i];
        ck_assert_uint_eq(((uint16_t *)ra16->data)[i], wt_f32_to_f16(x));
        ck_assert_uint_eq(((uint16_t *)rab->data)[i], wt_f32_to_bf16(x));
    }
    /* f16 and bf16 stored as is; -> f32 exact */
    wt_tensor *rh = wt_st_load(rd, wt_st_find(f, "h"), WT_F16);
    ck_assert(memcmp(rh->data, h->data, 24) == 0);
    wt_tensor *rh32 = wt_st_load(rd, wt_st_find(f, "h"), WT_F32);
    for (int i = 0; i < 12; i++)
        ck_assert_float_eq(((float *)rh32->data)[i], wt_f16_to_f32(((uint16_t *)h->data)[i]));
    wt_tensor *rb16 = wt_st_load(rd, wt_st_find(f, "b"), WT_F16); /* bf16 -> f16 through f32 */
    for (int i = 0; i < 7; i++)
        ck_assert_uint_eq(((uint16_t *)rb16->data)[i],
                          wt_f32_to_f16(wt_bf16_to_f32(((uint16_t *)b->data)[i])));
    wt_tensor *rid = wt_st_load(rd, wt_st_find(f, "ids"), WT_I64);
    ck_assert(memcmp(rid->data, idv, sizeof idv) == 0);
    const wt_st_entry *eu = wt_st_find(f, "u \"quoted\"");
    ck_assert_ptr_nonnull(eu);
    ck_assert_int_eq(eu->ndim, 0);
    ck_assert_uint_eq(*(const uint8_t *)eu->data, 200);
    ck_assert_int_eq(wt_ctx_status(rd), WT_OK);
    wt_st_close(f);

    /* a broadcast (stride 0) tensor is written expanded */
    wt_tensor *row = wt_tensor_new1(ctx, WT_F32, 3);
    for (int i = 0; i < 3; i++) ((float *)row->data)[i] = (float)i + 0.5f;
    wt_tensor *bc = wt_broadcast_to(ctx, row, 2, (int64_t[]){4, 3});
    const char *bn[] = {"bc"};
    const wt_tensor *bt[] = {bc};
    ck_assert_int_eq(wt_st_write(path, 1, bn, bt, 0, NULL, NULL), WT_OK);
    f = wt_st_open(path);
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(wt_st_count(f), 1); /* the old file was replaced */
    ck_assert_uint_eq(wt_st_meta_count(f), 0);
    wt_tensor *rbc = wt_st_load(rd, wt_st_find(f, "bc"), WT_F32);
    for (int i = 0; i < 12; i++) ck_assert_float_eq(((float *)rbc->data)[i], (float)(i % 3) + 0.5f);
    wt_st_close(f);

    /* a failing write leaves nothing behind */
    char bad[1100];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.safetensors", dir);
    wt_clear_error();
    ck_assert_int_eq(wt_st_write(bad, 1, bn, bt, 0, NULL, NULL), WT_ERR_IO);
    ck_assert_ptr_null(strchr(wt_last_error(), '\n'));
    ck_assert_int_ne(access(bad, F_OK), 0);
    /* duplicate names are refused before anything is written */
    const char *dn[] = {"x", "x"};
    const wt_tensor *dt2[] = {row, row};
    char dpath[1100];
    snprintf(dpath, sizeof dpath, "%s/dup.safetensors", dir);
    ck_assert_int_eq(wt_st_write(dpath, 2, dn, dt2, 0, NULL, NULL), WT_ERR_INVALID);
    ck_assert_int_ne(access(dpath, F_OK), 0);

    wt_ctx_free(rd);
    wt_ctx_free(ctx);
    unlink(path);
    ck_assert_int_eq(rmdir(dir), 0); /* nothing else (no .tmp) was left */
}
END_TEST

/* Random byte damage in the length field and header of a valid file: each
 * result either opens (and every entry then loads and lies inside the file)
 * or fails with a one-line message naming the file. Under ASan this is the
 * "never reads out of bounds" check. */
START_TEST(test_mutated_headers) {
    char dir[] = "/tmp/wt_st_mut_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char good[1024], bad[1024];
    snprintf(good, sizeof good, "%s/good.safetensors", dir);
    snprintf(bad, sizeof bad, "%s/mutant.safetensors", dir);
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_tensor *a = wt_tensor_new2(ctx, WT_F32, 3, 4);
    wt_tensor *b = wt_tensor_new1(ctx, WT_BF16, 5);
    wt_tensor *c = wt_tensor_new3(ctx, WT_I64, 2, 1, 2);
    wt_tensor *d = wt_tensor_new1(ctx, WT_U8, 3);
    wt_tensor *e = wt_tensor_new2(ctx, WT_F16, 2, 2);
    memset(a->data, 0, wt_nbytes(a));
    memset(b->data, 0, wt_nbytes(b));
    memset(c->data, 0, wt_nbytes(c));
    memset(d->data, 0, wt_nbytes(d));
    memset(e->data, 0, wt_nbytes(e));
    const char *names[] = {"a", "b.w", "c.idx", "d", "e"};
    const wt_tensor *ts[] = {a, b, c, d, e};
    const char *mk[] = {"format"};
    const char *mv[] = {"pt"};
    ck_assert_int_eq(wt_st_write(good, 5, names, ts, 1, mk, mv), WT_OK);
    size_t n;
    unsigned char *orig = read_all(good, &n);
    ck_assert_ptr_nonnull(orig);
    size_t hlen = orig[0] | (size_t)orig[1] << 8;
    unsigned char *m = malloc(n);
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 1234);
    static const char k_chars[] = "{}[],:\"0123456789-.eE FUIB\\x";
    int opened = 0, failed = 0, bad_msgs = 0, bad_entries = 0;
    for (int it = 0; it < 400; it++) {
        memcpy(m, orig, n);
        int edits = 1 + (int)wt_test_uniform(&rng, 0, 3);
        for (int k = 0; k < edits; k++) {
            size_t pos = (size_t)wt_test_uniform(&rng, 0, (float)(8 + hlen));
            if (pos >= n) pos = n - 1;
            m[pos] = (unsigned char)k_chars[(int)wt_test_uniform(&rng, 0, sizeof k_chars - 1)];
        }
        size_t len = it % 10 == 0 ? (size_t)wt_test_uniform(&rng, 0, (float)n) : n;
        write_bytes(bad, m, len);
        wt_clear_error();
        wt_st_file *f = wt_st_open(bad);
        if (f) {
            opened++;
            for (size_t i = 0; i < wt_st_count(f); i++) {
                const wt_st_entry *en = wt_st_at(f, i);
                wt_tensor *t = wt_st_load(ctx, en, en->dtype);
                if (!t) bad_entries++;
                /* touch every byte of the range */
                unsigned s = 0;
                for (size_t q = 0; q < en->nbytes; q++) s += ((const unsigned char *)en->data)[q];
                (void)s;
            }
            wt_ctx_reset(ctx);
            wt_st_close(f);
        } else {
            failed++;
            const char *msg = wt_last_error();
            if (!msg[0] || strchr(msg, '\n') || !strstr(msg, "mutant.safetensors")) bad_msgs++;
        }
    }
    ck_assert_int_gt(failed, 100); /* most damage is detected */
    ck_assert_int_eq(bad_msgs, 0);
    ck_assert_int_eq(bad_entries, 0);
    ck_assert_int_eq(opened + failed, 400);
    free(m);
    free(orig);
    wt_ctx_free(ctx);
    unlink(good);
    unlink(bad);
    rmdir(dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_golden_all_files);
    tcase_add_test(tc, test_golden_known_tensors);
    tcase_add_test(tc, test_golden_dtype_variants);
    tcase_add_test(tc, test_bad_files);
    tcase_add_test(tc, test_write_round_trip);
    tcase_add_test(tc, test_mutated_headers);
    suite_add_tcase(s, tc);
    return wt_test_run(s);
}
