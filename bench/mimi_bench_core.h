/* Mimi benchmark core, shared by bench/bench_mimi.c and `wavetensor bench mimi`
 * (header-only: both programs compile it in; not part of the library).
 * Measures streaming ms per 80 ms frame for encode, decode and both, offline
 * real-time factors, the memory-bandwidth floor (weight bytes read per
 * frame / bandwidth of a copy loop measured in the same run) and the
 * one-core roofline of a step (mimi_roofline.h) with the read bandwidth and
 * arithmetic peak measured in the same run. */
#ifndef WT_BENCH_MIMI_CORE_H
#define WT_BENCH_MIMI_CORE_H

#include "bench/bench_clock.h" /* first: it sets the POSIX feature level */

#include <stdio.h>

#include "bench/mimi_roofline.h"
#include "wavetensor/mimi.h"
#include "wavetensor/wavetensor.h"

typedef struct mimi_bench_result {
    double enc_ms, dec_ms, both_ms;  /* streaming, per frame */
    double enc_cpu_ms, dec_cpu_ms;   /* process CPU time per frame (load-independent) */
    double frame_ms;                 /* audio per frame (80) */
    double offline_enc_rtf, offline_dec_rtf, offline_rtf;
    double copy_gbs;                 /* read+write bandwidth of a large memcpy */
    double enc_mb, dec_mb;           /* weight MB read per frame */
    double floor_ms;                 /* (enc_mb + dec_mb) / (copy bandwidth / 2) */
    double read_gbs;                 /* bandwidth of the read loop (8 streams) */
    double read_floor_ms;            /* (enc_mb + dec_mb) / read_gbs */
    double peak_gmacs;               /* one thread's multiply-add peak for these weights */
    mimi_roofline enc_rl, dec_rl;    /* one-core floors of the two steps */
} mimi_bench_result;

static double mb_now(void) { return wt_bench_now(); }

/* Bytes read+written per second by memcpy of a 256 MB buffer (best of 3). */
static double mb_copy_gbs(void) {
    size_t n = (size_t)256 << 20;
    char *a = malloc(n), *b = malloc(n);
    double best = 0;
    if (!a || !b) goto done;
    memset(a, 1, n);
    memset(b, 2, n);
    for (int r = 0; r < 3; r++) {
        double t0 = mb_now();
        memcpy(b, a, n);
        double dt = mb_now() - t0;
        double gbs = 2.0 * (double)n / dt / 1e9;
        if (gbs > best) best = gbs;
    }
done:
    free(a);
    free(b);
    return best;
}

/* Runs `frames` streaming steps (after 3 warm-up steps) and an offline pass of
 * `frames` frames; 0 on success, -1 with wt_last_error() set. */
static int mimi_bench_run(wt_mimi *m, wt_dtype dtype, int frames, int threads,
                          mimi_bench_result *r) {
    const wt_mimi_config *cfg = wt_mimi_get_config(m);
    int fs = wt_mimi_frame_size(cfg), k = cfg->num_codebooks, warm = 3;
    memset(r, 0, sizeof *r);
    r->frame_ms = 1000.0 * fs / cfg->sample_rate;
    float *pcm = malloc(sizeof(float) * (size_t)fs * (size_t)(frames + warm));
    float *out = malloc(sizeof(float) * (size_t)fs);
    int64_t *codes = malloc(sizeof(int64_t) * (size_t)k * (size_t)(frames + warm));
    uint64_t s = 12345;
    for (int64_t i = 0; i < (int64_t)fs * (frames + warm); i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        pcm[i] = 0.1f * (float)((double)(s >> 11) / 9007199254740992.0 - 0.5);
    }
    wt_mimi_encoder_stream *enc = wt_mimi_encoder_stream_new(m, 1, k, threads);
    wt_mimi_decoder_stream *dec = wt_mimi_decoder_stream_new(m, 1, k, threads);
    int rc = (!enc || !dec) ? -1 : 0;
    for (int t = 0; !rc && t < warm; t++) {
        rc |= wt_mimi_encoder_stream_step(enc, pcm + (size_t)t * fs, NULL, codes + (size_t)t * k) != WT_OK;
        rc |= wt_mimi_decoder_stream_step(dec, codes + (size_t)t * k, NULL, out) != WT_OK;
    }
    double te = 0, td = 0, ce = 0, cd = 0;
    for (int t = warm; !rc && t < warm + frames; t++) {
        double c0 = wt_bench_cpu_now(), t0 = mb_now();
        rc |= wt_mimi_encoder_stream_step(enc, pcm + (size_t)t * fs, NULL, codes + (size_t)t * k) != WT_OK;
        double c1 = wt_bench_cpu_now(), t1 = mb_now();
        rc |= wt_mimi_decoder_stream_step(dec, codes + (size_t)t * k, NULL, out) != WT_OK;
        double c2 = wt_bench_cpu_now(), t2 = mb_now();
        te += t1 - t0;
        td += t2 - t1;
        ce += c1 - c0;
        cd += c2 - c1;
    }
    wt_mimi_encoder_stream_free(enc);
    wt_mimi_decoder_stream_free(dec);
    if (!rc) {
        r->enc_ms = 1000.0 * te / frames;
        r->dec_ms = 1000.0 * td / frames;
        r->both_ms = r->enc_ms + r->dec_ms;
        r->enc_cpu_ms = 1000.0 * ce / frames;
        r->dec_cpu_ms = 1000.0 * cd / frames;
        /* offline: one whole clip of `frames` frames */
        wt_ctx *ctx = wt_ctx_new_heap(NULL);
        wt_ctx_set_threads(ctx, threads);
        int64_t shp[3] = {1, 1, (int64_t)fs * frames};
        double t0 = mb_now();
        wt_tensor *c = wt_mimi_encode(m, ctx, wt_tensor_wrap(ctx, WT_F32, 3, shp, pcm), k, NULL);
        double t1 = mb_now();
        wt_tensor *y = wt_mimi_decode(m, ctx, c, NULL);
        double t2 = mb_now();
        double audio_s = (double)frames * fs / cfg->sample_rate;
        if (!y) {
            wt_error(wt_ctx_status(ctx), "%s", wt_ctx_error(ctx));
            rc = -1;
        }
        r->offline_enc_rtf = (t1 - t0) / audio_s;
        r->offline_dec_rtf = (t2 - t1) / audio_s;
        r->offline_rtf = (t2 - t0) / audio_s;
        wt_ctx_free(ctx);
    }
    r->copy_gbs = mb_copy_gbs();
    r->enc_mb = (double)wt_mimi_weight_bytes(m, 1) / 1e6;
    r->dec_mb = (double)wt_mimi_weight_bytes(m, 0) / 1e6;
    /* a copy moves each byte twice (read + write); weights are only read */
    if (r->copy_gbs > 0) r->floor_ms = (r->enc_mb + r->dec_mb) / 1e3 / (r->copy_gbs / 2) * 1e3;
    r->read_gbs = wt_bench_read_gbs();
    if (r->read_gbs > 0) r->read_floor_ms = (r->enc_mb + r->dec_mb) / r->read_gbs;
    r->peak_gmacs = wt_bench_peak_gmacs(dtype == WT_BF16);
    double es = (double)wt_dtype_size(dtype);
    r->enc_rl = mimi_roofline_of(cfg, 1, k, es, r->read_gbs, r->peak_gmacs);
    r->dec_rl = mimi_roofline_of(cfg, 0, k, es, r->read_gbs, r->peak_gmacs);
    free(pcm);
    free(out);
    free(codes);
    return rc;
}

static void mimi_bench_print(FILE *f, const mimi_bench_result *r, const char *dtype, int threads,
                             int frames, int json) {
    if (json) {
        fprintf(f,
                "{\"model\": \"mimi\", \"dtype\": \"%s\", \"threads\": %d, \"frames\": %d, "
                "\"frame_ms\": %.1f, \"enc_ms_per_frame\": %.3f, \"dec_ms_per_frame\": %.3f, "
                "\"both_ms_per_frame\": %.3f, \"stream_rtf\": %.4f, \"stream_enc_rtf\": %.4f, "
                "\"stream_dec_rtf\": %.4f, \"offline_rtf\": %.4f, \"offline_enc_rtf\": %.4f, "
                "\"offline_dec_rtf\": %.4f, \"weights_mb_per_frame\": %.1f, "
                "\"copy_gb_per_s\": %.2f, \"bandwidth_floor_ms_per_frame\": %.3f, "
                "\"enc_cpu_ms_per_frame\": %.3f, \"dec_cpu_ms_per_frame\": %.3f, "
                "\"both_cpu_ms_per_frame\": %.3f, \"cpu_stream_rtf\": %.4f, "
                "\"read_gb_per_s\": %.2f, \"read_floor_ms_per_frame\": %.3f, "
                "\"peak_gmac_per_s\": %.1f, \"roofline_mb_per_frame\": %.1f, "
                "\"roofline_mmac_per_frame\": %.1f, \"roofline_ms_per_frame\": %.3f, "
                "\"roofline_compute_ms_per_frame\": %.3f, \"roofline_rtf\": %.4f}\n",
                dtype, threads, frames, r->frame_ms, r->enc_ms, r->dec_ms, r->both_ms,
                r->both_ms / r->frame_ms, r->enc_ms / r->frame_ms, r->dec_ms / r->frame_ms,
                r->offline_rtf, r->offline_enc_rtf, r->offline_dec_rtf, r->enc_mb + r->dec_mb,
                r->copy_gbs, r->floor_ms, r->enc_cpu_ms, r->dec_cpu_ms, r->enc_cpu_ms + r->dec_cpu_ms,
                (r->enc_cpu_ms + r->dec_cpu_ms) / r->frame_ms, r->read_gbs, r->read_floor_ms,
                r->peak_gmacs, r->enc_rl.mb + r->dec_rl.mb, r->enc_rl.mmacs + r->dec_rl.mmacs,
                r->enc_rl.ms + r->dec_rl.ms, r->enc_rl.ms_compute + r->dec_rl.ms_compute,
                (r->enc_rl.ms + r->dec_rl.ms) / r->frame_ms);
        return;
    }
    fprintf(f, "mimi  weights %s  threads %d  %d frames of %.0f ms\n", dtype, threads, frames,
            r->frame_ms);
    fprintf(f, "  streaming encode  %8.2f ms/frame  RTF %.3f\n", r->enc_ms, r->enc_ms / r->frame_ms);
    fprintf(f, "  streaming decode  %8.2f ms/frame  RTF %.3f\n", r->dec_ms, r->dec_ms / r->frame_ms);
    fprintf(f, "  streaming both    %8.2f ms/frame  RTF %.3f\n", r->both_ms, r->both_ms / r->frame_ms);
    fprintf(f, "  CPU time          %8.2f ms/frame  RTF %.3f (encode %.2f, decode %.2f; unaffected by other load)\n",
            r->enc_cpu_ms + r->dec_cpu_ms, (r->enc_cpu_ms + r->dec_cpu_ms) / r->frame_ms,
            r->enc_cpu_ms, r->dec_cpu_ms);
    fprintf(f, "  offline           RTF %.3f (encode %.3f, decode %.3f)\n", r->offline_rtf,
            r->offline_enc_rtf, r->offline_dec_rtf);
    fprintf(f, "  bandwidth floor   %8.2f ms/frame  (%.1f MB of weights per frame, copy %.1f GB/s r+w)\n",
            r->floor_ms, r->enc_mb + r->dec_mb, r->copy_gbs);
    fprintf(f, "  read floor        %8.2f ms/frame  (read loop %.1f GB/s)\n", r->read_floor_ms, r->read_gbs);
    fprintf(f, "  one-core roofline %8.2f ms/frame  RTF %.3f (encode %.2f, decode %.2f; %.1f MB and "
               "%.0f M multiply-adds a frame at %.1f GB/s and %.1f GMAC/s, each product the longer "
               "of the two; %.2f ms compute-bound)\n",
            r->enc_rl.ms + r->dec_rl.ms, (r->enc_rl.ms + r->dec_rl.ms) / r->frame_ms, r->enc_rl.ms,
            r->dec_rl.ms, r->enc_rl.mb + r->dec_rl.mb, r->enc_rl.mmacs + r->dec_rl.mmacs,
            r->read_gbs, r->peak_gmacs, r->enc_rl.ms_compute + r->dec_rl.ms_compute);
}

#endif
