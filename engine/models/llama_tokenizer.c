/* Llama tokenizers: llama2.c's tokenizer.bin (pieces with scores; merge the
 * adjacent pair whose concatenation is the best-scoring piece) and a Hugging
 * Face tokenizer.json BPE model (merge the adjacent pair of lowest merge
 * rank). Both follow SentencePiece conventions: a leading space is added,
 * spaces are U+2581 in the JSON vocabulary, and characters outside the
 * vocabulary fall back to <0xNN> byte tokens. Loading allocates; encoding
 * allocates its working buffer; decoding never does. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wavetensor/llama.h"

typedef struct piece_ref {
    const char *s; /* NUL-terminated piece (spaces as ' ') */
    int32_t id;
} piece_ref;

typedef struct merge_rank {
    uint64_t pair; /* left id << 32 | right id */
    int32_t rank;
    int32_t result;
} merge_rank;

struct wt_llama_tokenizer {
    int64_t vocab;
    char **pieces;          /* [vocab], spaces as ' ' */
    size_t *lens;
    float *scores;          /* tokenizer.bin only */
    piece_ref *sorted;      /* pieces sorted by bytes, for lookup */
    merge_rank *merges;     /* tokenizer.json only, sorted by pair */
    int64_t n_merges;
    int32_t byte_id[256];   /* id of <0xNN>, -1 when absent */
    int16_t *byte_of;       /* [vocab]: the byte of a <0xNN> token, -1 otherwise */
    unsigned char bytes[256];
    int32_t bos;
};

void wt_llama_tokenizer_free(wt_llama_tokenizer *t) {
    if (!t) return;
    if (t->pieces)
        for (int64_t i = 0; i < t->vocab; i++) free(t->pieces[i]);
    free(t->pieces);
    free(t->lens);
    free(t->scores);
    free(t->sorted);
    free(t->merges);
    free(t->byte_of);
    free(t);
}

int64_t wt_llama_tokenizer_vocab(const wt_llama_tokenizer *t) { return t->vocab; }

static wt_llama_tokenizer *tok_alloc(int64_t vocab) {
    wt_llama_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->vocab = vocab;
    t->pieces = calloc((size_t)vocab, sizeof *t->pieces);
    t->lens = calloc((size_t)vocab, sizeof *t->lens);
    t->scores = calloc((size_t)vocab, sizeof *t->scores);
    t->sorted = calloc((size_t)vocab, sizeof *t->sorted);
    t->byte_of = calloc((size_t)vocab, sizeof *t->byte_of);
    t->bos = 1;
    if (!t->pieces || !t->lens || !t->scores || !t->sorted || !t->byte_of) {
        wt_llama_tokenizer_free(t);
        return NULL;
    }
    for (int i = 0; i < 256; i++) {
        t->byte_id[i] = -1;
        t->bytes[i] = (unsigned char)i;
    }
    return t;
}

static int cmp_piece(const void *a, const void *b) {
    return strcmp(((const piece_ref *)a)->s, ((const piece_ref *)b)->s);
}

static int32_t lookup(const wt_llama_tokenizer *t, const char *s) {
    piece_ref key = {s, 0};
    const piece_ref *r = bsearch(&key, t->sorted, (size_t)t->vocab, sizeof key, cmp_piece);
    return r ? r->id : -1;
}

/* Index the pieces and find the <0xNN> byte tokens. */
static void tok_index(wt_llama_tokenizer *t) {
    for (int64_t i = 0; i < t->vocab; i++) {
        t->sorted[i] = (piece_ref){t->pieces[i], (int32_t)i};
        t->byte_of[i] = -1;
        unsigned int b;
        char tail;
        if (t->lens[i] == 6 && sscanf(t->pieces[i], "<0x%2X>%c", &b, &tail) == 1 && b < 256) {
            t->byte_of[i] = (int16_t)b;
            if (t->byte_id[b] < 0) t->byte_id[b] = (int32_t)i;
        }
    }
    qsort(t->sorted, (size_t)t->vocab, sizeof *t->sorted, cmp_piece);
}

wt_llama_tokenizer *wt_llama_tokenizer_load_bin(const char *path, int64_t vocab) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        wt_error(WT_ERR_IO, "%s: cannot open tokenizer", path);
        return NULL;
    }
    wt_llama_tokenizer *t = vocab > 0 ? tok_alloc(vocab) : NULL;
    int32_t maxlen;
    const char *why = NULL;
    if (!t) why = vocab > 0 ? "out of memory" : "vocabulary size must be positive";
    else if (fread(&maxlen, sizeof maxlen, 1, f) != 1 || maxlen <= 0 || maxlen > 1 << 16)
        why = "bad header (max token length)";
    for (int64_t i = 0; !why && i < vocab; i++) {
        int32_t len;
        if (fread(&t->scores[i], sizeof(float), 1, f) != 1 || fread(&len, sizeof len, 1, f) != 1) {
            why = "truncated (fewer pieces than the model's vocabulary)";
            break;
        }
        if (len < 0 || len > maxlen) {
            why = "piece length out of range";
            break;
        }
        t->pieces[i] = malloc((size_t)len + 1);
        if (!t->pieces[i] || fread(t->pieces[i], 1, (size_t)len, f) != (size_t)len) {
            why = t->pieces[i] ? "truncated piece" : "out of memory";
            break;
        }
        t->pieces[i][len] = '\0';
        t->lens[i] = strlen(t->pieces[i]);
    }
    char extra;
    if (!why && fread(&extra, 1, 1, f) == 1) why = "more pieces than the model's vocabulary";
    fclose(f);
    if (why) {
        wt_error(WT_ERR_FORMAT, "%s: %s", path, why);
        wt_llama_tokenizer_free(t);
        return NULL;
    }
    tok_index(t);
    return t;
}

/* "▁" (U+2581) -> ' ' in place. */
static void unspace(char *s) {
    char *w = s;
    for (const char *r = s; *r;) {
        if ((unsigned char)r[0] == 0xE2 && (unsigned char)r[1] == 0x96 && (unsigned char)r[2] == 0x81) {
            *w++ = ' ';
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

static int cmp_merge(const void *a, const void *b) {
    uint64_t x = ((const merge_rank *)a)->pair, y = ((const merge_rank *)b)->pair;
    return x < y ? -1 : x > y;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
            if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
                free(buf);
                buf = NULL;
            } else {
                buf[n] = '\0';
            }
        }
    }
    fclose(f);
    return buf;
}

wt_llama_tokenizer *wt_llama_tokenizer_load_json(const char *path) {
    char *text = read_file(path);
    if (!text) {
        wt_error(WT_ERR_IO, "%s: cannot read tokenizer", path);
        return NULL;
    }
    cJSON *j = cJSON_Parse(text);
    free(text);
    wt_llama_tokenizer *t = NULL;
    const char *why = NULL;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(j, "model");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(model, "type");
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    if (!j) why = "not valid JSON";
    else if (!cJSON_IsString(type) || strcmp(type->valuestring, "BPE"))
        why = "model.type is not \"BPE\" (only SentencePiece-style BPE tokenizers are supported)";
    else if (!cJSON_IsObject(vocab) || !cJSON_IsArray(merges)) why = "model.vocab or model.merges missing";
    int64_t n = 0;
    const cJSON *it;
    if (!why) {
        cJSON_ArrayForEach(it, vocab) {
            if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble >= 1 << 24) {
                why = "a vocabulary id is not a small non-negative integer";
                break;
            }
            if (it->valueint + 1 > n) n = it->valueint + 1;
        }
    }
    /* added_tokens (<unk>, <s>, </s>) may sit outside model.vocab */
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(j, "added_tokens");
    if (!why) {
        cJSON_ArrayForEach(it, added) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
            if (cJSON_IsNumber(id) && id->valueint >= 0 && id->valueint < 1 << 24 && id->valueint + 1 > n)
                n = id->valueint + 1;
        }
    }
    if (!why && n == 0) why = "empty vocabulary";
    if (!why && !(t = tok_alloc(n))) why = "out of memory";
    if (!why) {
        cJSON_ArrayForEach(it, vocab) {
            int32_t id = it->valueint;
            free(t->pieces[id]);
            t->pieces[id] = strdup(it->string);
            if (!t->pieces[id]) { why = "out of memory"; break; }
        }
        cJSON_ArrayForEach(it, added) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
            const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
            if (!cJSON_IsNumber(id) || !cJSON_IsString(content) || id->valueint < 0 || id->valueint >= n) continue;
            if (!t->pieces[id->valueint]) t->pieces[id->valueint] = strdup(content->valuestring);
            if (!strcmp(content->valuestring, "<s>")) t->bos = id->valueint;
        }
        for (int64_t i = 0; !why && i < n; i++) {
            if (!t->pieces[i]) t->pieces[i] = strdup(""); /* a hole in the id range */
            if (!t->pieces[i]) { why = "out of memory"; break; }
            unspace(t->pieces[i]);
            t->lens[i] = strlen(t->pieces[i]);
        }
    }
    if (!why) {
        tok_index(t);
        t->merges = malloc(((size_t)cJSON_GetArraySize(merges) + 1) * sizeof *t->merges);
        if (!t->merges) why = "out of memory";
    }
    if (!why) {
        int32_t rank = 0;
        cJSON_ArrayForEach(it, merges) {
            /* "a b" (older files) or ["a", "b"] (newer files) */
            char a[512], b[512];
            if (cJSON_IsString(it)) {
                const char *sp = strchr(it->valuestring, ' ');
                if (!sp || (size_t)(sp - it->valuestring) >= sizeof a || strlen(sp + 1) >= sizeof b) {
                    why = "a merge is not \"left right\"";
                    break;
                }
                memcpy(a, it->valuestring, (size_t)(sp - it->valuestring));
                a[sp - it->valuestring] = '\0';
                strcpy(b, sp + 1);
            } else if (cJSON_GetArraySize(it) == 2 && cJSON_IsString(cJSON_GetArrayItem(it, 0)) &&
                       cJSON_IsString(cJSON_GetArrayItem(it, 1)) &&
                       strlen(cJSON_GetArrayItem(it, 0)->valuestring) < sizeof a &&
                       strlen(cJSON_GetArrayItem(it, 1)->valuestring) < sizeof b) {
                strcpy(a, cJSON_GetArrayItem(it, 0)->valuestring);
                strcpy(b, cJSON_GetArrayItem(it, 1)->valuestring);
            } else {
                why = "a merge is neither \"left right\" nor [left, right]";
                break;
            }
            unspace(a);
            unspace(b);
            char ab[1024];
            snprintf(ab, sizeof ab, "%s%s", a, b);
            int32_t ia = lookup(t, a), ib = lookup(t, b), iab = lookup(t, ab);
            if (ia < 0 || ib < 0 || iab < 0) continue; /* cannot apply: skip as HF would never produce it */
            t->merges[t->n_merges++] = (merge_rank){(uint64_t)ia << 32 | (uint32_t)ib, rank, iab};
            rank++;
        }
        qsort(t->merges, (size_t)t->n_merges, sizeof *t->merges, cmp_merge);
    }
    cJSON_Delete(j);
    if (why) {
        wt_error(WT_ERR_FORMAT, "%s: %s", path, why);
        wt_llama_tokenizer_free(t);
        return NULL;
    }
    return t;
}

/* Best merge of (a, b): for a JSON tokenizer its rank (lower is better), for
 * tokenizer.bin minus the score of the concatenated piece. Sets *out to the
 * merged id; false when the pair does not merge. */
static bool pair_merge(const wt_llama_tokenizer *t, int32_t a, int32_t b, char *buf, size_t cap,
                       double *cost, int32_t *out) {
    if (t->merges) {
        merge_rank key = {(uint64_t)a << 32 | (uint32_t)b, 0, 0};
        const merge_rank *r = bsearch(&key, t->merges, (size_t)t->n_merges, sizeof key, cmp_merge);
        if (!r) return false;
        *cost = r->rank;
        *out = r->result;
        return true;
    }
    if (t->lens[a] + t->lens[b] + 1 > cap) return false;
    memcpy(buf, t->pieces[a], t->lens[a]);
    memcpy(buf + t->lens[a], t->pieces[b], t->lens[b] + 1);
    int32_t id = lookup(t, buf);
    if (id < 0) return false;
    *cost = -(double)t->scores[id];
    *out = id;
    return true;
}

static size_t utf8_len(unsigned char c) {
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0) return 2;
    if ((c & 0xF0) == 0xE0) return 3;
    if ((c & 0xF8) == 0xF0) return 4;
    return 1; /* a stray continuation byte stands alone */
}

wt_status wt_llama_encode(const wt_llama_tokenizer *t, const char *text, bool add_bos,
                          int32_t *ids, int64_t cap, int64_t *n) {
    size_t tl = strlen(text);
    /* one symbol per byte at most, plus the dummy prefix space */
    int32_t *sym = malloc((tl + 2) * sizeof *sym);
    char *buf = malloc(tl * 2 + 16), *ch = malloc(tl + 2);
    if (!sym || !buf || !ch) {
        free(sym);
        free(buf);
        free(ch);
        return wt_error(WT_ERR_NOMEM, "encode: out of memory");
    }
    int64_t k = 0;
    wt_status s = WT_OK;
    /* SentencePiece adds a space in front of the text ("add dummy prefix") */
    ch[0] = ' ';
    memcpy(ch + 1, text, tl + 1);
    size_t len = tl ? tl + 1 : 0;
    for (size_t i = 0; i < len;) {
        size_t cl = utf8_len((unsigned char)ch[i]);
        if (i + cl > len) cl = 1;
        char c[5];
        memcpy(c, ch + i, cl);
        c[cl] = '\0';
        int32_t id = lookup(t, c);
        if (id >= 0) {
            sym[k++] = id;
        } else {
            for (size_t b = 0; b < cl; b++) {
                int32_t bid = t->byte_id[(unsigned char)c[b]];
                if (bid < 0) {
                    s = wt_error(WT_ERR_INVALID, "encode: byte 0x%02X has no token in the vocabulary",
                                 (unsigned char)c[b]);
                    break;
                }
                sym[k++] = bid;
            }
        }
        i += cl;
    }
    /* merge the best adjacent pair until none merges */
    while (s == WT_OK) {
        double best = 0;
        int64_t at = -1;
        int32_t merged = -1;
        for (int64_t i = 0; i + 1 < k; i++) {
            double cost;
            int32_t id;
            if (pair_merge(t, sym[i], sym[i + 1], buf, tl * 2 + 16, &cost, &id) &&
                (at < 0 || cost < best)) {
                best = cost;
                at = i;
                merged = id;
            }
        }
        if (at < 0) break;
        sym[at] = merged;
        memmove(sym + at + 1, sym + at + 2, (size_t)(k - at - 2) * sizeof *sym);
        k--;
    }
    int64_t total = k + (add_bos ? 1 : 0);
    if (s == WT_OK && total > cap)
        s = wt_error(WT_ERR_INVALID, "encode: %lld tokens do not fit in %lld", (long long)total,
                     (long long)cap);
    if (s == WT_OK) {
        int64_t o = 0;
        if (add_bos) ids[o++] = t->bos;
        memcpy(ids + o, sym, (size_t)k * sizeof *sym);
        *n = total;
    }
    free(sym);
    free(buf);
    free(ch);
    return s;
}

const char *wt_llama_decode(const wt_llama_tokenizer *t, int32_t prev, int32_t id, size_t *len) {
    if (id < 0 || id >= t->vocab) return NULL;
    if (t->byte_of[id] >= 0) {
        *len = 1;
        return (const char *)&t->bytes[t->byte_of[id]];
    }
    const char *p = t->pieces[id];
    size_t l = t->lens[id];
    /* SentencePiece drops the dummy prefix space of the first word */
    if (prev == t->bos && l > 0 && p[0] == ' ') {
        p++;
        l--;
    }
    *len = l;
    return p;
}
