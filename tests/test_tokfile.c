/* Tokenized-audio files: round trip, a truncated last frame, header
 * mismatches, garbage and corrupt files. Expected values are written by the
 * test itself (codes it chose), never produced by the code under test. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wavetensor/tokfile.h"
#include "wt_test.h"

static wt_tok_header model_header(void) {
    wt_tok_header h = {.version = WT_TOK_VERSION, .sample_rate = 24000, .frame_rate_num = 25,
                       .frame_rate_den = 2, .frame_samples = 1920, .codebooks = 8,
                       .codebook_size = 2048, .model_id = 0x0123456789abcdefull};
    return h;
}

static char g_dir[64];

static const char *tmp_path(char *buf, size_t n, const char *name) {
    snprintf(buf, n, "%s/%s", g_dir, name);
    return buf;
}

static int64_t code_at(int64_t frame, int64_t c) { return (frame * 131 + c * 977) % 2048; }

static void write_frames(const char *path, const wt_tok_header *h, int64_t frames) {
    wt_tok_writer *w = wt_tok_writer_open(path, h);
    ck_assert_msg(w != NULL, "%s", wt_last_error());
    int64_t codes[64];
    for (int64_t t = 0; t < frames; t++) {
        for (uint32_t c = 0; c < h->codebooks; c++) codes[c] = code_at(t, c);
        ck_assert_int_eq(wt_tok_writer_append(w, codes), WT_OK);
    }
    ck_assert_int_eq(wt_tok_writer_frames(w), frames);
    ck_assert_int_eq(wt_tok_writer_close(w), WT_OK);
}

static long file_size(const char *path) {
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

START_TEST(test_round_trip) {
    char p[128];
    wt_tok_header h = model_header();
    write_frames(tmp_path(p, sizeof p, "rt.wtok"), &h, 37);
    /* the documented layout: 64-byte header, then 2 bytes per code */
    ck_assert_int_eq(file_size(p), 64 + 37 * 8 * 2);
    wt_tok_file f;
    ck_assert_msg(wt_tok_read(p, &f) == WT_OK, "%s", wt_last_error());
    ck_assert_int_eq(f.frames, 37);
    ck_assert(!f.truncated);
    ck_assert_uint_eq(f.h.version, WT_TOK_VERSION);
    ck_assert_uint_eq(f.h.sample_rate, 24000);
    ck_assert_uint_eq(f.h.frame_rate_num, 25);
    ck_assert_uint_eq(f.h.frame_rate_den, 2);
    ck_assert_uint_eq(f.h.frame_samples, 1920);
    ck_assert_uint_eq(f.h.codebooks, 8);
    ck_assert_uint_eq(f.h.codebook_size, 2048);
    ck_assert(f.h.model_id == 0x0123456789abcdefull);
    for (int64_t t = 0; t < 37; t++)
        for (int c = 0; c < 8; c++) ck_assert_int_eq(f.codes[t * 8 + c], code_at(t, c));
    ck_assert_int_eq(wt_tok_check(&f.h, &h, 32), WT_OK);
    wt_tok_file_free(&f);
    /* an empty recording (header only) is valid */
    write_frames(tmp_path(p, sizeof p, "empty.wtok"), &h, 0);
    ck_assert_int_eq(wt_tok_read(p, &f), WT_OK);
    ck_assert_int_eq(f.frames, 0);
    wt_tok_file_free(&f);
}
END_TEST

/* Each frame is on disk as soon as append returns (what a killed recording keeps). */
START_TEST(test_flushed_per_frame) {
    char p[128];
    wt_tok_header h = model_header();
    wt_tok_writer *w = wt_tok_writer_open(tmp_path(p, sizeof p, "live.wtok"), &h);
    ck_assert_ptr_nonnull(w);
    int64_t codes[8];
    for (int t = 0; t < 5; t++) {
        for (int c = 0; c < 8; c++) codes[c] = code_at(t, c);
        ck_assert_int_eq(wt_tok_writer_append(w, codes), WT_OK);
        ck_assert_int_eq(file_size(p), 64 + (t + 1) * 16);
    }
    codes[3] = 2048; /* out of range: refused, nothing written */
    ck_assert_int_ne(wt_tok_writer_append(w, codes), WT_OK);
    ck_assert_int_eq(file_size(p), 64 + 5 * 16);
    ck_assert_int_eq(wt_tok_writer_close(w), WT_OK);
}
END_TEST

START_TEST(test_truncated_last_frame) {
    char p[128];
    wt_tok_header h = model_header();
    write_frames(tmp_path(p, sizeof p, "trunc.wtok"), &h, 10);
    ck_assert_int_eq(truncate(p, 64 + 10 * 16 - 5), 0);
    wt_tok_file f;
    ck_assert_msg(wt_tok_read(p, &f) == WT_OK, "%s", wt_last_error());
    ck_assert_int_eq(f.frames, 9);
    ck_assert(f.truncated);
    ck_assert_uint_eq(f.partial_bytes, 11);
    for (int64_t t = 0; t < 9; t++)
        for (int c = 0; c < 8; c++) ck_assert_int_eq(f.codes[t * 8 + c], code_at(t, c));
    wt_tok_file_free(&f);
    /* cut inside the header: not a valid file */
    ck_assert_int_eq(truncate(p, 40), 0);
    ck_assert_int_ne(wt_tok_read(p, &f), WT_OK);
    ck_assert_ptr_null(f.codes);
}
END_TEST

START_TEST(test_header_mismatch) {
    wt_tok_header m = model_header(), f = model_header();
    f.model_id ^= 1;
    ck_assert_int_ne(wt_tok_check(&f, &m, 32), WT_OK);
    ck_assert_ptr_nonnull(strstr(wt_last_error(), "another model"));
    f = model_header();
    f.sample_rate = 16000;
    ck_assert_int_ne(wt_tok_check(&f, &m, 32), WT_OK);
    f = model_header();
    f.frame_rate_num = 50;
    f.frame_rate_den = 4; /* 12.5 Hz written another way: accepted */
    ck_assert_int_eq(wt_tok_check(&f, &m, 32), WT_OK);
    f.frame_rate_num = 25;
    f.frame_rate_den = 1;
    ck_assert_int_ne(wt_tok_check(&f, &m, 32), WT_OK);
    f = model_header();
    f.codebook_size = 1024;
    ck_assert_int_ne(wt_tok_check(&f, &m, 32), WT_OK);
    f = model_header();
    f.codebooks = 33;
    ck_assert_int_ne(wt_tok_check(&f, &m, 32), WT_OK);
    f.codebooks = 4; /* fewer codebooks than the model has: fine */
    ck_assert_int_eq(wt_tok_check(&f, &m, 32), WT_OK);
}
END_TEST

static void write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    fclose(f);
}

START_TEST(test_garbage) {
    char p[128];
    wt_tok_file f;
    ck_assert_int_ne(wt_tok_read(tmp_path(p, sizeof p, "missing.wtok"), &f), WT_OK);
    write_bytes(tmp_path(p, sizeof p, "zero.wtok"), "", 0);
    ck_assert_int_ne(wt_tok_read(p, &f), WT_OK);
    unsigned char junk[300];
    wt_test_rng r;
    wt_test_rng_seed(&r, 7);
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)wt_test_uniform(&r, 0, 256);
    write_bytes(tmp_path(p, sizeof p, "junk.wtok"), junk, sizeof junk);
    ck_assert_int_eq(wt_tok_read(p, &f), WT_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(wt_last_error(), "junk.wtok"));
    /* right magic, corrupted header field: the checksum catches it */
    wt_tok_header h = model_header();
    write_frames(tmp_path(p, sizeof p, "corrupt.wtok"), &h, 3);
    FILE *fp = fopen(p, "r+b");
    fseek(fp, 33, SEEK_SET);
    fputc(0x7f, fp);
    fclose(fp);
    ck_assert_int_eq(wt_tok_read(p, &f), WT_ERR_FORMAT);
    /* a newer version is refused with a clear message */
    write_frames(p, &h, 3);
    fp = fopen(p, "r+b");
    fseek(fp, 8, SEEK_SET);
    fputc(9, fp);
    fclose(fp);
    ck_assert_int_eq(wt_tok_read(p, &f), WT_ERR_UNSUPPORTED);
    /* a code outside the codebook in the body */
    write_frames(p, &h, 3);
    fp = fopen(p, "r+b");
    fseek(fp, 64 + 16 + 2 * 5 + 1, SEEK_SET);
    fputc(0xff, fp);
    fclose(fp);
    ck_assert_int_eq(wt_tok_read(p, &f), WT_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(wt_last_error(), "frame 1"));
    /* invalid headers are refused by the writer too */
    h.codebooks = 0;
    ck_assert_ptr_null(wt_tok_writer_open(tmp_path(p, sizeof p, "bad.wtok"), &h));
}
END_TEST

int main(void) {
    strcpy(g_dir, "/tmp/wt_tokXXXXXX");
    if (!mkdtemp(g_dir)) return EXIT_FAILURE;
    Suite *s = suite_create("tokfile");
    TCase *tc = tcase_create("tokfile");
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_flushed_per_frame);
    tcase_add_test(tc, test_truncated_last_frame);
    tcase_add_test(tc, test_header_mismatch);
    tcase_add_test(tc, test_garbage);
    suite_add_tcase(s, tc);
    int rc = wt_test_run(s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    (void)!system(cmd);
    return rc;
}
