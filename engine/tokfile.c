/* Tokenized-audio files (see wavetensor/tokfile.h and docs/tokfile.md). */
#include "wavetensor/tokfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char MAGIC[8] = {'W', 'T', 'O', 'K', 0x0d, 0x0a, 0x1a, 0x0a};

/* CRC-32 (IEEE, reflected), bitwise: headers are 60 bytes, no table needed. */
static uint32_t crc32_ieee(const unsigned char *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const unsigned char *p) {
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

uint32_t wt_tok_frame_bytes(const wt_tok_header *h) { return 2u * h->codebooks; }

static wt_status check_fields(const wt_tok_header *h, const char *path) {
    if (h->sample_rate == 0 || h->frame_rate_num == 0 || h->frame_rate_den == 0 ||
        h->frame_samples == 0)
        return wt_error(WT_ERR_FORMAT, "%s: header has a zero sample rate, frame rate or frame size",
                        path);
    if (h->codebooks == 0 || h->codebooks > 65535)
        return wt_error(WT_ERR_FORMAT, "%s: header has %u codebooks (1..65535)", path, h->codebooks);
    if (h->codebook_size < 2 || h->codebook_size > 65536)
        return wt_error(WT_ERR_FORMAT, "%s: header has a codebook size of %u (2..65536)", path,
                        h->codebook_size);
    return WT_OK;
}

/* ---------------------------------------------------------------- writer */

struct wt_tok_writer {
    FILE *f;
    char *path;
    wt_tok_header h;
    unsigned char *buf; /* one frame */
    int64_t frames;
    wt_status err;
};

wt_tok_writer *wt_tok_writer_open(const char *path, const wt_tok_header *h) {
    wt_tok_header hh = *h;
    hh.version = WT_TOK_VERSION;
    if (check_fields(&hh, path) != WT_OK) return NULL;
    wt_tok_writer *w = calloc(1, sizeof *w);
    if (!w) {
        wt_error(WT_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    w->h = hh;
    w->path = malloc(strlen(path) + 1);
    w->buf = malloc(wt_tok_frame_bytes(&hh));
    if (!w->path || !w->buf) {
        wt_error(WT_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    strcpy(w->path, path);
    w->f = fopen(path, "wb");
    if (!w->f) {
        wt_error(WT_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
        goto fail;
    }
    unsigned char hdr[WT_TOK_HEADER_BYTES] = {0};
    memcpy(hdr, MAGIC, 8);
    put32(hdr + 8, hh.version);
    put32(hdr + 12, WT_TOK_HEADER_BYTES);
    put32(hdr + 16, hh.sample_rate);
    put32(hdr + 20, hh.frame_rate_num);
    put32(hdr + 24, hh.frame_rate_den);
    put32(hdr + 28, hh.frame_samples);
    put32(hdr + 32, hh.codebooks);
    put32(hdr + 36, hh.codebook_size);
    put64(hdr + 40, hh.model_id);
    put32(hdr + 60, crc32_ieee(hdr, 60));
    if (fwrite(hdr, 1, sizeof hdr, w->f) != sizeof hdr || fflush(w->f) != 0) {
        wt_error(WT_ERR_IO, "%s: cannot write the header: %s", path, strerror(errno));
        fclose(w->f);
        w->f = NULL;
        goto fail;
    }
    return w;
fail:
    free(w->buf);
    free(w->path);
    free(w);
    return NULL;
}

wt_status wt_tok_writer_append(wt_tok_writer *w, const int64_t *codes) {
    if (w->err != WT_OK) return w->err;
    for (uint32_t i = 0; i < w->h.codebooks; i++) {
        if (codes[i] < 0 || codes[i] >= (int64_t)w->h.codebook_size)
            return wt_error(WT_ERR_INVALID, "%s: code %lld outside 0..%u", w->path,
                            (long long)codes[i], w->h.codebook_size - 1);
        w->buf[2 * i] = (unsigned char)(codes[i] & 0xFF);
        w->buf[2 * i + 1] = (unsigned char)((codes[i] >> 8) & 0xFF);
    }
    size_t n = wt_tok_frame_bytes(&w->h);
    /* flushed per frame: a killed process loses at most the frame in flight */
    if (fwrite(w->buf, 1, n, w->f) != n || fflush(w->f) != 0) {
        w->err = wt_error(WT_ERR_IO, "%s: write failed after %lld frames: %s", w->path,
                          (long long)w->frames, strerror(errno));
        return w->err;
    }
    w->frames++;
    return WT_OK;
}

int64_t wt_tok_writer_frames(const wt_tok_writer *w) { return w->frames; }

wt_status wt_tok_writer_close(wt_tok_writer *w) {
    if (!w) return WT_OK;
    wt_status s = w->err;
    if (fclose(w->f) != 0 && s == WT_OK)
        s = wt_error(WT_ERR_IO, "%s: close failed: %s", w->path, strerror(errno));
    free(w->buf);
    free(w->path);
    free(w);
    return s;
}

/* ---------------------------------------------------------------- reader */

static wt_status parse_header(const unsigned char *hdr, size_t n, const char *path,
                              wt_tok_header *h, uint32_t *hbytes) {
    if (n < WT_TOK_HEADER_BYTES || memcmp(hdr, MAGIC, 8) != 0)
        return wt_error(WT_ERR_FORMAT, "%s: not a tokenized-audio (.wtok) file", path);
    h->version = get32(hdr + 8);
    if (h->version == 0 || h->version > WT_TOK_VERSION)
        return wt_error(WT_ERR_UNSUPPORTED, "%s: format version %u; this build reads up to %d",
                        path, h->version, WT_TOK_VERSION);
    if (crc32_ieee(hdr, 60) != get32(hdr + 60))
        return wt_error(WT_ERR_FORMAT, "%s: header checksum mismatch (corrupt file)", path);
    *hbytes = get32(hdr + 12);
    if (*hbytes < WT_TOK_HEADER_BYTES)
        return wt_error(WT_ERR_FORMAT, "%s: header size %u is too small", path, *hbytes);
    h->sample_rate = get32(hdr + 16);
    h->frame_rate_num = get32(hdr + 20);
    h->frame_rate_den = get32(hdr + 24);
    h->frame_samples = get32(hdr + 28);
    h->codebooks = get32(hdr + 32);
    h->codebook_size = get32(hdr + 36);
    h->model_id = get64(hdr + 40);
    return check_fields(h, path);
}

wt_status wt_tok_read(const char *path, wt_tok_file *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return wt_error(WT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char hdr[WT_TOK_HEADER_BYTES];
    size_t got = fread(hdr, 1, sizeof hdr, f);
    uint32_t hbytes = 0;
    wt_status s = parse_header(hdr, got, path, &out->h, &hbytes);
    long size = -1;
    if (s == WT_OK && (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
                       fseek(f, (long)hbytes, SEEK_SET) != 0))
        s = wt_error(WT_ERR_IO, "%s: cannot seek", path);
    if (s == WT_OK && size < (long)hbytes)
        s = wt_error(WT_ERR_FORMAT, "%s: shorter than its %u-byte header", path, hbytes);
    if (s != WT_OK) {
        fclose(f);
        return s;
    }
    uint32_t fb = wt_tok_frame_bytes(&out->h);
    uint64_t body = (uint64_t)size - hbytes;
    out->frames = (int64_t)(body / fb);
    out->partial_bytes = (uint32_t)(body % fb);
    out->truncated = out->partial_bytes != 0;
    size_t ncodes = (size_t)out->frames * out->h.codebooks;
    unsigned char *raw = malloc(ncodes * 2 + 1);
    out->codes = malloc(sizeof(int64_t) * (ncodes ? ncodes : 1));
    if (!raw || !out->codes) {
        free(raw);
        fclose(f);
        wt_tok_file_free(out);
        return wt_error(WT_ERR_NOMEM, "%s: out of memory for %lld frames", path,
                        (long long)out->frames);
    }
    if (fread(raw, 1, ncodes * 2, f) != ncodes * 2) s = wt_error(WT_ERR_IO, "%s: read failed", path);
    fclose(f);
    for (size_t i = 0; s == WT_OK && i < ncodes; i++) {
        out->codes[i] = (int64_t)raw[2 * i] | (int64_t)raw[2 * i + 1] << 8;
        if (out->codes[i] >= out->h.codebook_size)
            s = wt_error(WT_ERR_FORMAT, "%s: frame %lld holds code %lld, outside 0..%u (corrupt file)",
                         path, (long long)(i / out->h.codebooks), (long long)out->codes[i],
                         out->h.codebook_size - 1);
    }
    free(raw);
    if (s != WT_OK) wt_tok_file_free(out);
    return s;
}

void wt_tok_file_free(wt_tok_file *f) {
    free(f->codes);
    f->codes = NULL;
    f->frames = 0;
}

wt_status wt_tok_check(const wt_tok_header *f, const wt_tok_header *m, uint32_t n_q) {
    if (f->sample_rate != m->sample_rate)
        return wt_error(WT_ERR_INVALID, "token file is for %u Hz audio, the model runs at %u Hz",
                        f->sample_rate, m->sample_rate);
    if ((uint64_t)f->frame_rate_num * m->frame_rate_den != (uint64_t)m->frame_rate_num * f->frame_rate_den ||
        f->frame_samples != m->frame_samples)
        return wt_error(WT_ERR_INVALID,
                        "token file has frames of %u samples at %u/%u Hz, the model %u at %u/%u Hz",
                        f->frame_samples, f->frame_rate_num, f->frame_rate_den, m->frame_samples,
                        m->frame_rate_num, m->frame_rate_den);
    if (f->codebook_size != m->codebook_size)
        return wt_error(WT_ERR_INVALID, "token file has codebooks of %u entries, the model %u",
                        f->codebook_size, m->codebook_size);
    if (f->codebooks > n_q)
        return wt_error(WT_ERR_INVALID, "token file has %u codebooks, the model at most %u",
                        f->codebooks, n_q);
    if (f->model_id != m->model_id)
        return wt_error(WT_ERR_INVALID,
                        "token file was made by another model (id %016llx, these weights are %016llx)",
                        (unsigned long long)f->model_id, (unsigned long long)m->model_id);
    return WT_OK;
}
