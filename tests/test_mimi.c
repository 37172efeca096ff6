/* Mimi codec against the reference's golden vectors (../shared/golden/mimi):
 * whole-clip encode/decode with every intermediate, streaming encode/decode,
 * the batch-2 masked/reset schedule, zero allocations per streaming step,
 * and bad weights/configs. Tolerances are those of the golden README. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sndfile.h>
#include <sys/wait.h>

#include "wavetensor/mimi.h"
#include "wavetensor/tokfile.h"
#include "wt_test.h"
#include "wt_test_mimi.h"
#include "wt_test_proc.h"

static const char *const CASES[] = {"tiny-speech", "tiny-batch2"};

START_TEST(test_offline_encode) {
    golden g;
    mimi_golden_open(&g, CASES[_i], NULL);
    mimi_check_offline_encode(&g);
    mimi_golden_close(&g);
}
END_TEST

START_TEST(test_offline_decode) {
    golden g;
    mimi_golden_open(&g, CASES[_i], NULL);
    mimi_check_offline_decode(&g);
    mimi_golden_close(&g);
}
END_TEST

/* Fewer codebooks than the golden: the first k codes are unchanged (the
 * residual chain only feeds later levels). */
START_TEST(test_offline_fewer_codebooks) {
    golden g;
    mimi_golden_open(&g, "tiny-speech", NULL);
    wt_tensor *codes = wt_mimi_encode(g.m, g.cpu, io_get(&g, "pcm"), 3, NULL);
    ck_assert_ptr_nonnull(codes);
    ck_assert_int_eq(codes->shape[1], 3);
    wt_tensor *e = io_get(&g, "codes");
    int64_t diff = 0;
    for (int64_t c = 0; c < 3; c++)
        for (int64_t t = 0; t < g.frames; t++)
            diff += wt_get_flat(codes, c * g.frames + t) != wt_get_flat(e, c * g.frames + t);
    ck_assert_int_le(diff, 1);
    /* decoding with 3 codebooks yields audio of the right length */
    wt_tensor *pcm = wt_mimi_decode(g.m, g.cpu, codes, NULL);
    ck_assert_ptr_nonnull(pcm);
    ck_assert_int_eq(pcm->shape[2], g.frames * g.fs);
    ck_assert_ptr_null(wt_mimi_encode(g.m, g.cpu, io_get(&g, "pcm"), (int)g.cfg.n_q + 1, NULL));
    mimi_golden_close(&g);
}
END_TEST

START_TEST(test_stream_encode) {
    golden g;
    mimi_golden_open(&g, CASES[_i], NULL);
    mimi_check_stream_encode(&g);
    mimi_golden_close(&g);
}
END_TEST

START_TEST(test_stream_decode) {
    golden g;
    mimi_golden_open(&g, CASES[_i], NULL);
    mimi_check_stream_decode(&g);
    mimi_golden_close(&g);
}
END_TEST

/* Weights held in bf16 and f16 (--dtype): the golden codes decoded whole
 * and one frame per step stay within the SNR that rounding the weights
 * (and a bf16 convolution's input) allows (wt_test_half_snr_floor) of the
 * float32 golden audio. The tiny model decodes through 25 weight layers: 2
 * quantizer output projections, 2 transformer layers of 4 products and 15
 * convolutions (the upsampling and the SEANet decoder's 14). */
START_TEST(test_half_weights) {
    const wt_dtype dt = _i ? WT_F16 : WT_BF16;
    golden g;
    mimi_golden_open_as(&g, "tiny-speech", NULL, dt);
    double floor = wt_test_half_snr_floor(dt, 25, 15);
    wt_tensor *ref = io_get(&g, "decoded"), *ref_s = io_get(&g, "decoded_stream");
    wt_tensor *pcm = wt_mimi_decode(g.m, g.cpu, io_get(&g, "codes"), NULL);
    ck_assert_msg(pcm != NULL, "%s", wt_ctx_error(g.cpu));
    double off = wt_test_snr_db(pcm->data, ref->data, wt_numel(ref));
    double st = wt_test_snr_db(mimi_stream_decode(&g)->data, ref_s->data, wt_numel(ref_s));
    if (getenv("WT_TEST_VERBOSE"))
        fprintf(stderr, "mimi %s weights: decode %.1f dB, streaming %.1f dB (floor %.1f)\n",
                wt_dtype_name(dt), off, st, floor);
    ck_assert_msg(off >= floor && st >= floor, "%s weights: SNR %.1f / %.1f dB < %.1f",
                  wt_dtype_name(dt), off, st, floor);
    mimi_golden_close(&g);
}
END_TEST

/* The batch-2 schedule: per-step active masks and a reset of entry 1. */
START_TEST(test_stream_masked_reset) {
    golden g;
    mimi_golden_open(&g, "tiny-batch2", NULL);
    mimi_check_stream_masked(&g, INT64_MAX);
    mimi_golden_close(&g);
}
END_TEST

/* 100 steps after warm-up, with masks changing, allocate nothing: with f32
 * weights and with bf16 ones (whose convolutions take the bf16-product
 * kernels). */
START_TEST(test_stream_zero_alloc) {
    golden g;
    mimi_golden_open_as(&g, "tiny-batch2", NULL, _i ? WT_BF16 : WT_F32);
    wt_tensor *pcm = io_get(&g, "stream_pcm_in");
    int64_t b = g.b, k = g.k, fs = g.fs, steps = pcm->shape[2] / fs;
    wt_mimi_encoder_stream *enc = wt_mimi_encoder_stream_new(g.m, (int)b, (int)k, 1);
    wt_mimi_decoder_stream *dec = wt_mimi_decoder_stream_new(g.m, (int)b, (int)k, 1);
    ck_assert_ptr_nonnull(enc);
    ck_assert_ptr_nonnull(dec);
    float *in = malloc(sizeof(float) * (size_t)(b * fs));
    float *out = malloc(sizeof(float) * (size_t)(b * fs));
    int64_t *codes = malloc(sizeof(int64_t) * (size_t)(b * k));
    for (int64_t i = 0; i < b; i++) memcpy(in + i * fs, (float *)pcm->data + i * steps * fs, sizeof(float) * (size_t)fs);
    for (int w = 0; w < 3; w++) {
        ck_assert_int_eq(wt_mimi_encoder_stream_step(enc, in, NULL, codes), WT_OK);
        ck_assert_int_eq(wt_mimi_decoder_stream_step(dec, codes, NULL, out), WT_OK);
    }
    int failures = 0;
    uint8_t mask[2] = {1, 1};
    uint64_t before = wt_test_alloc_calls();
    for (int t = 0; t < 100; t++) {
        mask[1] = (uint8_t)(t % 3 != 0);
        if (t == 50) {
            wt_mimi_encoder_stream_reset(enc, 1);
            wt_mimi_decoder_stream_reset(dec, 1);
        }
        failures += wt_mimi_encoder_stream_step(enc, in, mask, codes) != WT_OK;
        failures += wt_mimi_decoder_stream_step(dec, codes, mask, out) != WT_OK;
    }
    uint64_t after = wt_test_alloc_calls();
    ck_assert_int_eq(failures, 0);
    ck_assert_uint_eq(after - before, 0);
    ck_assert_uint_eq(wt_ctx_sys_allocs(wt_mimi_encoder_stream_ctx(enc)), 3);
    free(in);
    free(out);
    free(codes);
    wt_mimi_encoder_stream_free(enc);
    wt_mimi_decoder_stream_free(dec);
    mimi_golden_close(&g);
}
END_TEST

/* ---- bad weights and configs ---- */

/* Writes the golden tiny-a model to `out` with tensor `drop` left out and,
 * when `wn` names a conv weight, that weight stored as a weight-norm pair. */
static void write_variant(const char *out, const char *drop, const char *wn) {
    char p[512];
    wt_st_file *f = wt_st_open(wt_test_golden(p, sizeof p, "mimi/tiny-speech/model.safetensors"));
    ck_assert_ptr_nonnull(f);
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    size_t n = wt_st_count(f);
    const char **names = calloc(n + 2, sizeof *names);
    const wt_tensor **ts = calloc(n + 2, sizeof *ts);
    char gname[256], vname[256];
    int m = 0;
    for (size_t i = 0; i < n; i++) {
        const wt_st_entry *e = wt_st_at(f, i);
        if (drop && !strcmp(e->name, drop)) continue;
        wt_tensor *t = wt_st_load(ctx, e, e->dtype);
        if (wn && !strcmp(e->name, wn)) {
            /* v = 3 w, g = ||w|| per output channel: g v / ||v|| = w */
            int64_t co = t->shape[0], per = wt_numel(t) / co;
            wt_tensor *g = wt_tensor_new3(ctx, WT_F32, co, 1, 1);
            for (int64_t o = 0; o < co; o++) {
                double s = 0;
                for (int64_t j = 0; j < per; j++) {
                    double x = wt_get_flat(t, o * per + j);
                    s += x * x;
                    wt_set_flat(t, o * per + j, 3 * x);
                }
                wt_set_flat(g, o, sqrt(s));
            }
            snprintf(gname, sizeof gname, "%.*s_g", (int)strlen(e->name), e->name);
            snprintf(vname, sizeof vname, "%.*s_v", (int)strlen(e->name), e->name);
            names[m] = gname;
            ts[m++] = g;
            names[m] = vname;
            ts[m++] = t;
            continue;
        }
        names[m] = e->name;
        ts[m++] = t;
    }
    ck_assert_int_eq(wt_st_write(out, m, names, ts, 0, NULL, NULL), WT_OK);
    free(names);
    free(ts);
    wt_ctx_free(ctx);
    wt_st_close(f);
}

START_TEST(test_missing_tensor) {
    char tmp[] = "/tmp/wt_mimi_missXXXXXX", path[600], p[512];
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    snprintf(path, sizeof path, "%s/m.safetensors", tmp);
    const char *drop = "decoder_transformer.transformer.layers.1.linear2.weight";
    write_variant(path, drop, NULL);
    wt_mimi_config cfg;
    ck_assert_int_eq(wt_mimi_config_load(wt_test_golden(p, sizeof p, "mimi/tiny-speech/config.json"), &cfg), WT_OK);
    wt_mimi *m = wt_mimi_load(&cfg, path, WT_F32);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(wt_last_error(), drop) != NULL, "error does not name the tensor: %s",
                  wt_last_error());
    unlink(path);
    rmdir(tmp);
}
END_TEST

START_TEST(test_weight_norm_variant) {
    char tmp[] = "/tmp/wt_mimi_wnXXXXXX", path[600];
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    snprintf(path, sizeof path, "%s/m.safetensors", tmp);
    write_variant(path, NULL, "encoder.model.3.conv.conv.weight");
    golden g;
    mimi_golden_open(&g, "tiny-speech", NULL);
    wt_mimi *m = wt_mimi_load(&g.cfg, path, WT_F32);
    ck_assert_msg(m != NULL, "%s", wt_last_error());
    ck_assert(wt_mimi_model_id(m) != wt_mimi_model_id(g.m));
    wt_mimi_trace tr = {0};
    wt_tensor *codes = wt_mimi_encode(m, g.cpu, io_get(&g, "pcm"), (int)g.k, &tr);
    ck_assert_ptr_nonnull(codes);
    check_float(&g, tr.latent, "latent_pre_quant", 1e-4);
    check_codes(&g, codes, "codes");
    wt_mimi_free(m);
    mimi_golden_close(&g);
    unlink(path);
    rmdir(tmp);
}
END_TEST

START_TEST(test_config_mismatch) {
    char p[512], p2[512];
    wt_mimi_config cfg;
    ck_assert_int_eq(wt_mimi_config_load(wt_test_golden(p, sizeof p, "mimi/tiny-speech/config.json"), &cfg), WT_OK);
    cfg.dim_feedforward = 256; /* the weights have 128 */
    wt_mimi *m = wt_mimi_load(&cfg, wt_test_golden(p2, sizeof p2, "mimi/tiny-speech/model.safetensors"), WT_F32);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(wt_last_error(), "linear1") != NULL, "%s", wt_last_error());
    /* configs the architecture cannot run are refused with the key named */
    wt_config *c = wt_config_parse("{\"sample_rate\": 24000}", "bad.json");
    ck_assert_ptr_nonnull(c);
    ck_assert_int_ne(wt_mimi_config_from(c, &cfg), WT_OK);
    wt_config_free(c);
    ck_assert_int_ne(wt_mimi_config_load("/nonexistent/mimi.json", &cfg), WT_OK);
    ck_assert_ptr_null(wt_mimi_load(&cfg, "/nonexistent/model.safetensors", WT_F32));
}
END_TEST

START_TEST(test_preset_v01) {
    /* the published preset parses and agrees with the golden README's table */
    wt_mimi_config cfg;
    ck_assert_msg(wt_mimi_config_load(WT_SOURCE_DIR "/presets/mimi-v0.1.json", &cfg) == WT_OK, "%s",
                  wt_last_error());
    ck_assert_int_eq(cfg.dimension, 512);
    ck_assert_int_eq(cfg.n_filters, 64);
    ck_assert_int_eq(cfg.num_layers, 8);
    ck_assert_int_eq(cfg.context, 250);
    ck_assert_int_eq(cfg.n_q, 32);
    ck_assert_int_eq(cfg.bins, 2048);
    ck_assert_int_eq(wt_mimi_frame_size(&cfg), 1920);
}
END_TEST


/* ---- the CLI ($WT_CLI) ---- */

static char g_tmp[64];

/* Runs the CLI with a shell-quoted argument string; returns its exit code,
 * stderr saved to g_tmp/err.txt. */
static int cli(const char *args) {
    const char *exe = getenv("WT_CLI");
    ck_assert_msg(exe != NULL, "WT_CLI is not set (run through ctest)");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s 2>%s/err.txt >/dev/null", exe, args, g_tmp);
    int rc = system(cmd);
    ck_assert_int_ne(rc, -1);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static int err_has(const char *needle) {
    char p[128];
    snprintf(p, sizeof p, "%s/err.txt", g_tmp);
    return wt_test_file_contains(p, needle);
}

static int exists(const char *rel) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", g_tmp, rel);
    return access(p, F_OK) == 0;
}

#define TINY_ARGS "--weights %s/mimi/tiny-speech/model.safetensors --config %s/mimi/tiny-speech/config.json"

START_TEST(test_cli_roundtrip_matches_golden) {
    char a[2048];
    const char *gd = WT_GOLDEN_DIR;
    snprintf(a, sizeof a, "mimi roundtrip %s/mimi/tiny-speech/input.wav -o %s/rt.wav --device cpu " TINY_ARGS,
             gd, g_tmp, gd, gd);
    ck_assert_int_eq(cli(a), 0);
    /* the input is 24 kHz float, so the output is float: compare with `decoded` */
    char p[256];
    snprintf(p, sizeof p, "%s/rt.wav", g_tmp);
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(p, SFM_READ, &info);
    ck_assert_ptr_nonnull(sf);
    ck_assert_int_eq(info.samplerate, 24000);
    ck_assert_int_eq(info.channels, 1);
    ck_assert_int_eq(info.format & SF_FORMAT_SUBMASK, SF_FORMAT_FLOAT);
    golden g;
    mimi_golden_open(&g, "tiny-speech", NULL);
    ck_assert_int_eq(info.frames, g.frames * g.fs);
    wt_tensor *y = wt_tensor_new3(g.cpu, WT_F32, 1, 1, info.frames);
    ck_assert_int_eq(sf_readf_float(sf, y->data, info.frames), info.frames);
    sf_close(sf);
    check_float(&g, y, "decoded", 1e-4);
    mimi_golden_close(&g);
}
END_TEST

START_TEST(test_cli_codes_files) {
    char a[2048];
    const char *gd = WT_GOLDEN_DIR;
    /* streaming encode to safetensors: the codes are the golden streaming codes */
    snprintf(a, sizeof a, "mimi encode %s/mimi/tiny-speech/input.wav -o %s/c.safetensors --streaming " TINY_ARGS,
             gd, g_tmp, gd, gd);
    ck_assert_int_eq(cli(a), 0);
    char p[256];
    snprintf(p, sizeof p, "%s/c.safetensors", g_tmp);
    wt_st_file *f = wt_st_open(p);
    ck_assert_ptr_nonnull(f);
    golden g;
    mimi_golden_open(&g, "tiny-speech", NULL);
    wt_tensor *c = wt_st_load(g.cpu, wt_st_find(f, "codes"), WT_I64);
    check_codes(&g, c, "codes_stream");
    wt_st_close(f);
    mimi_golden_close(&g);
    /* .wtok with 4 codebooks, decoded back (offline and streaming) */
    snprintf(a, sizeof a, "encode %s/mimi/tiny-speech/input.wav -o %s/c.wtok --codebooks 4 " TINY_ARGS,
             gd, g_tmp, gd, gd);
    ck_assert_int_eq(cli(a), 0);
    snprintf(a, sizeof a, "decode %s/c.wtok -o %s/d.wav " TINY_ARGS, g_tmp, g_tmp, gd, gd);
    ck_assert_int_eq(cli(a), 0);
    snprintf(a, sizeof a, "mimi decode %s/c.safetensors -o %s/d2.wav --streaming --float " TINY_ARGS,
             g_tmp, g_tmp, gd, gd);
    ck_assert_int_eq(cli(a), 0);
    ck_assert(exists("d.wav") && exists("d2.wav"));
    /* a truncated token file: the complete frames decode, with a warning */
    snprintf(p, sizeof p, "%s/c.wtok", g_tmp);
    ck_assert_int_eq(truncate(p, 64 + 10 * 8 + 3), 0);
    snprintf(a, sizeof a, "decode %s/c.wtok -o %s/d3.wav " TINY_ARGS, g_tmp, g_tmp, gd, gd);
    ck_assert_int_eq(cli(a), 0);
    ck_assert(err_has("truncated"));
}
END_TEST

START_TEST(test_cli_bad_input) {
    char a[2048];
    const char *gd = WT_GOLDEN_DIR;
    /* no weights: says what to download and which flag */
    snprintf(a, sizeof a, "mimi encode %s/mimi/tiny-speech/input.wav -o %s/o.wtok", gd, g_tmp);
    ck_assert_int_eq(cli(a), 2);
    ck_assert(err_has("--weights") && err_has("tokenizer-e351c8d8-checkpoint125.safetensors"));
    ck_assert(!exists("o.wtok"));
    /* non-audio and empty input */
    snprintf(a, sizeof a, "mimi encode %s/mimi/tiny-speech/config.json -o %s/o.wtok " TINY_ARGS, gd,
             g_tmp, gd, gd);
    ck_assert_int_eq(cli(a), 1);
    ck_assert(!exists("o.wtok"));
    char p[256];
    snprintf(p, sizeof p, "%s/empty.wav", g_tmp);
    fclose(fopen(p, "wb"));
    snprintf(a, sizeof a, "mimi roundtrip %s -o %s/o.wav " TINY_ARGS, p, g_tmp, gd, gd);
    ck_assert_int_eq(cli(a), 1);
    ck_assert(!exists("o.wav"));
    /* a config that does not fit the weights names the tensor */
    snprintf(a, sizeof a, "mimi encode %s/mimi/tiny-speech/input.wav -o %s/o.wtok --weights "
             "%s/mimi/tiny-speech/model.safetensors --config %s/presets/mimi-v0.1.json",
             gd, g_tmp, gd, WT_SOURCE_DIR);
    ck_assert_int_eq(cli(a), 1);
    ck_assert(err_has("expected shape"));
    ck_assert(!exists("o.wtok"));
    /* a foreign token file (other model id) and a garbage one */
    snprintf(p, sizeof p, "%s/foreign.wtok", g_tmp);
    wt_tok_header h = {.sample_rate = 24000, .frame_rate_num = 12500, .frame_rate_den = 1000,
                       .frame_samples = 1920, .codebooks = 8, .codebook_size = 64, .model_id = 42};
    wt_tok_writer *w = wt_tok_writer_open(p, &h);
    int64_t codes[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    ck_assert_int_eq(wt_tok_writer_append(w, codes), WT_OK);
    ck_assert_int_eq(wt_tok_writer_close(w), WT_OK);
    snprintf(a, sizeof a, "mimi decode %s -o %s/o.wav " TINY_ARGS, p, g_tmp, gd, gd);
    ck_assert_int_eq(cli(a), 1);
    ck_assert(err_has("another model"));
    ck_assert(!exists("o.wav"));
    snprintf(a, sizeof a, "mimi decode %s/mimi/tiny-speech/input.wav -o %s/o.wav " TINY_ARGS, gd,
             g_tmp, gd, gd);
    ck_assert_int_eq(cli(a), 1);
    ck_assert(!exists("o.wav"));
    /* usage errors */
    ck_assert_int_eq(cli("mimi"), 2);
    ck_assert_int_eq(cli("mimi transcode x -o y"), 2);
    snprintf(a, sizeof a, "mimi encode %s/mimi/tiny-speech/input.wav", gd);
    ck_assert_int_eq(cli(a), 2);
    snprintf(a, sizeof a, "mimi encode %s/mimi/tiny-speech/input.wav -o %s/o.wtok --codebooks 11 " TINY_ARGS,
             gd, g_tmp, gd, gd);
    ck_assert_int_eq(cli(a), 2);
    snprintf(a, sizeof a, "mimi encode %s/mimi/tiny-speech/input.wav -o %s/o.wtok --codebooks zero " TINY_ARGS,
             gd, g_tmp, gd, gd);
    ck_assert_int_eq(cli(a), 2);
    ck_assert(!exists("o.wtok"));
    /* devices: an unknown name is a usage error; cuda runs or says why not */
    snprintf(a, sizeof a, "mimi encode %s/mimi/tiny-speech/input.wav -o %s/o.wtok --device tpu " TINY_ARGS,
             gd, g_tmp, gd, gd);
    ck_assert_int_eq(cli(a), 2);
    ck_assert(err_has("--device needs cpu or cuda"));
    snprintf(a, sizeof a, "mimi encode %s/mimi/tiny-speech/input.wav -o %s/o.wtok --device cuda " TINY_ARGS,
             gd, g_tmp, gd, gd);
    int rc = cli(a);
    ck_assert_msg(rc == 0 || (rc == 1 && err_has("--device cuda is not available") && !exists("o.wtok")),
                  "--device cuda: exit %d", rc);
}
END_TEST

int main(void) {
    Suite *s = suite_create("mimi");
    TCase *tc = tcase_create("golden");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_offline_encode, 0, 2);
    tcase_add_loop_test(tc, test_offline_decode, 0, 2);
    tcase_add_test(tc, test_offline_fewer_codebooks);
    tcase_add_loop_test(tc, test_stream_encode, 0, 2);
    tcase_add_loop_test(tc, test_stream_decode, 0, 2);
    tcase_add_test(tc, test_stream_masked_reset);
    tcase_add_loop_test(tc, test_half_weights, 0, 2);
    tcase_add_loop_test(tc, test_stream_zero_alloc, 0, 2);
    suite_add_tcase(s, tc);
    TCase *bad = tcase_create("bad_input");
    tcase_set_timeout(bad, 120);
    tcase_add_test(bad, test_missing_tensor);
    tcase_add_test(bad, test_weight_norm_variant);
    tcase_add_test(bad, test_config_mismatch);
    tcase_add_test(bad, test_preset_v01);
    suite_add_tcase(s, bad);
    TCase *tcli = tcase_create("cli");
    tcase_set_timeout(tcli, 300);
    tcase_add_test(tcli, test_cli_roundtrip_matches_golden);
    tcase_add_test(tcli, test_cli_codes_files);
    tcase_add_test(tcli, test_cli_bad_input);
    suite_add_tcase(s, tcli);
    strcpy(g_tmp, "/tmp/wt_mimi_cliXXXXXX");
    if (!mkdtemp(g_tmp)) return EXIT_FAILURE;
    int rc = wt_test_run(s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_tmp);
    (void)!system(cmd);
    return rc;
}
