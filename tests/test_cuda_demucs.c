/* Causal Demucs on the CUDA backend against the reference's golden outputs
 * (../shared/golden/demucs, README there): the offline forward with its
 * intermediates, DemucsStreamer runs with stride-sized chunks, the ragged
 * chunk list and dry mixing, each within the README's tolerances. The
 * model, its streamer state and step arena live on the device; samples go
 * up and come back only through the backend's upload/download. The
 * stride-chunk run replays its steps as a captured graph and is also run
 * with graphs off: equal bit for bit over every step, with no host
 * allocation per replayed step.
 *
 * Without a device the program prints "skipped: no CUDA device" and exits
 * 77 (ctest: skipped). Built with WT_TEST_CUDA_EMU (tests/cuda_emu) it runs
 * on the emulated backend: the real host code and kernels over fibers, at
 * about a second per streaming step. There the streaming runs feed a
 * prefix of the input and compare what that prefix emits, which the causal
 * reference streamer emitted identically; the flush at the end of the full
 * input and the second case are compared on a real device only (see
 * EMU_CASES below). */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "wavetensor/demucs.h"
#include "wavetensor/graph.h"
#include "wt_test.h"
#include "wt_test_demucs.h"
#include "wt_test_proc.h"

#include "wt_test_dev.h"


/* The emulation runs every kernel thread as a fiber (and the backend's
 * im2col convolutions launch a thread per tap: about a second per Demucs
 * streaming step), so there the suite runs less: the first case only,
 * streaming runs over a prefix of its input (STREAM_PREFIX samples for the
 * stride and dry runs, the first RAGGED_PREFIX_CHUNKS chunk lengths of the
 * ragged run; 0: the whole input) and fewer graph-versus-eager steps
 * (REPLAY_STEPS: at least that many are replayed in the stride run). */
#ifdef WT_TEST_CUDA_EMU
#define EMU_CASES 1
#define STREAM_PREFIX 1941
#define RAGGED_PREFIX_CHUNKS 5
#define REPLAY_STEPS 3
#else
#define EMU_CASES WT_TEST_DEMUCS_N_CASES
#define STREAM_PREFIX 0
#define RAGGED_PREFIX_CHUNKS 0
#define REPLAY_STEPS 200
#endif

/* A golden case with its model on the device. */
static void dev_golden_open(golden *g, int i) {
    demucs_golden_open(g, i, dev_backend());
    ck_assert_ptr_eq(wt_demucs_get_backend(g->model), dev_backend());
}

/* A host copy of a device tensor (any strides), as a new array. */
static float *down(const wt_tensor *t) {
    wt_ctx *c = wt_ctx_new_heap(t->backend);
    const wt_tensor *ct = wt_contiguous(c, t);
    ck_assert_msg(ct != NULL, "%s", wt_ctx_error(c));
    ck_assert_int_eq(ct->dtype, WT_F32);
    float *p = malloc(wt_nbytes(ct) ? wt_nbytes(ct) : 4);
    ck_assert_int_eq(t->backend->download(p, ct->data, wt_nbytes(ct)), WT_OK);
    wt_ctx_free(c);
    return p;
}

/* ---- offline ---- */

typedef struct tap_check {
    golden *g;
    int matched;
} tap_check;

static void offline_tap(void *user, const char *name, const wt_tensor *t) {
    tap_check *tc = user;
    if (!wt_st_find(tc->g->io, name)) return;
    ck_assert_ptr_eq(t->backend, dev_backend());
    int64_t n;
    float *ref = io_f32(tc->g, name, &n);
    ck_assert_msg(n == wt_numel(t), "%s: %lld values, golden has %lld", name,
                  (long long)wt_numel(t), (long long)n);
    float *y = down(t);
    double e = err_over_rms(y, ref, n), tol = tolerance(tc->g, name);
    ck_assert_msg(e <= tol, "%s: max|err|/rms %.3g > %.3g", name, e, tol);
    tc->matched++;
    free(y);
    free(ref);
}

START_TEST(test_offline) {
    golden g;
    dev_golden_open(&g, _i);
    const wt_backend *be = dev_backend();
    wt_ctx *ctx = wt_ctx_new_heap(be);
    int64_t shape[3] = {1, 1, g.T};
    wt_tensor *x = wt_tensor_new(ctx, WT_F32, 3, shape);
    ck_assert_int_eq(be->upload(x->data, g.noisy, (size_t)g.T * sizeof(float)), WT_OK);
    tap_check tc = {.g = &g};
    wt_tensor *y = wt_demucs_forward(g.model, ctx, x, offline_tap, &tc);
    ck_assert_msg(y != NULL, "%s", wt_ctx_error(ctx));
    ck_assert_int_eq(y->shape[2], g.T);
    int expected = 0;
    for (size_t k = 0; k < wt_st_count(g.io); k++) {
        const char *nm = wt_st_at(g.io, k)->name;
        expected += !strncmp(nm, "offline.", 8) || !strcmp(nm, "resample_kernel");
    }
    ck_assert_int_eq(tc.matched, expected);
    float *yh = down(y);
    int64_t n;
    float *ref = io_f32(&g, "enhanced", &n);
    ck_assert_int_eq(n, g.T);
    double e = err_over_rms(yh, ref, n);
    ck_assert_msg(e <= tolerance(&g, "enhanced"), "enhanced: %.3g", e);
    free(ref);
    free(yh);
    wt_ctx_free(ctx);
    demucs_golden_close(&g);
}
END_TEST

/* ---- streaming ---- */

/* Feeds the first `limit` samples of g->noisy (all when limit is 0 or T)
 * in the given chunk lengths (stride-sized when chunks is NULL), then
 * flushes. Returns the output and sets *n_cmp to the samples comparable
 * with the reference run over the whole input: all T after a whole-input
 * run, else those emitted before the flush. Each call's count goes to lens;
 * the host allocations made by the feeds after the third step (replayed
 * steps, with graphs on) to *replay_allocs, the steps run to *frames. */
static float *run_stream(const golden *g, float dry, int64_t limit, const int64_t *chunks,
                         int64_t n_chunks, int64_t *lens, int64_t *n_lens, int64_t *n_cmp,
                         bool graphs, uint64_t *replay_allocs, int64_t *frames) {
    int64_t T = limit > 0 && limit < g->T ? limit : g->T;
    wt_demucs_stream *s = wt_demucs_stream_new(g->model, dry, 1);
    ck_assert_msg(s != NULL, "%s", wt_last_error());
    ck_assert_int_eq(wt_demucs_stream_set_graphs(s, graphs), WT_OK);
    uint64_t allocs = 0;
    int64_t stride = wt_demucs_stream_get_info(s)->stride;
    float *out = calloc((size_t)T + 1, sizeof *out);
    float *buf = malloc(((size_t)T + 4096) * sizeof *buf);
    int64_t pos = 0, written = 0, calls = 0;
    for (int64_t k = 0; pos < T; k++) {
        int64_t len = chunks ? chunks[k % n_chunks] : stride;
        if (len > T - pos) len = T - pos;
        int64_t got;
        /* steps after the third (first path, warm-up, capture) replay */
        bool replay = wt_demucs_stream_frames(s) >= 3;
        uint64_t before = wt_test_alloc_calls();
        wt_status st = wt_demucs_stream_feed(s, g->noisy + pos, len, buf, T + 4096, &got);
        if (replay) allocs += wt_test_alloc_calls() - before;
        ck_assert_msg(st == WT_OK, "%s", wt_last_error());
        ck_assert_int_le(written + got, T);
        memcpy(out + written, buf, (size_t)got * sizeof *buf);
        written += got;
        pos += len;
        if (lens) lens[calls] = got;
        calls++;
    }
    *n_cmp = T == g->T ? T : written;
    int64_t got;
    ck_assert_int_eq(wt_demucs_stream_pending(s), T - written);
    ck_assert_msg(wt_demucs_stream_flush(s, buf, T + 4096, &got) == WT_OK, "%s", wt_last_error());
    ck_assert_int_eq(written + got, T);
    memcpy(out + written, buf, (size_t)got * sizeof *buf);
    if (lens) lens[calls] = got;
    if (n_lens) *n_lens = T == g->T ? calls + 1 : calls;
    if (replay_allocs) *replay_allocs = allocs;
    if (frames) *frames = wt_demucs_stream_frames(s);
    free(buf);
    wt_demucs_stream_free(s);
    return out;
}

/* The README's metric over the first n samples: max |y - ref| there over
 * the rms of the whole reference (the full metric when n = T). */
static void compare_output(const golden *g, const char *name, const float *y, int64_t n) {
    int64_t n_ref;
    float *ref = io_f32(g, name, &n_ref);
    ck_assert_int_eq(n_ref, g->T);
    ck_assert_int_gt(n, 0);
    double e = wt_test_max_abs_diff(y, ref, n) / wt_test_rms(ref, n_ref), tol = tolerance(g, name);
    if (getenv("WT_TEST_VERBOSE"))
        fprintf(stderr, "%s %s (%lld samples): %.3g (tol %.3g)\n", strrchr(g->dir, '/') + 1, name,
                (long long)n, e, tol);
    ck_assert_msg(e <= tol, "%s: max|err|/rms %.3g > %.3g", name, e, tol);
    free(ref);
}

/* The first n_lens per-call output counts against the reference's. */
static void check_lengths(const golden *g, const char *name, const int64_t *lens, int64_t n_lens) {
    int64_t n_ref;
    int64_t *ref = io_i64(g, name, &n_ref);
    ck_assert_int_le(n_lens, n_ref);
    for (int64_t k = 0; k < n_lens; k++) ck_assert_int_eq(lens[k], ref[k]);
    free(ref);
}

/* Stride-sized chunks with graph replay (the default) against the golden
 * output, and against the same run with graphs off: equal bit for bit over
 * every step (REPLAY_STEPS or more replayed), none of the replayed steps
 * allocating on the host. */
START_TEST(test_stream_stride_chunks) {
    golden g;
    dev_golden_open(&g, _i);
    ck_assert_msg(dev_backend()->capture_begin != NULL, "the device backend records no graphs");
    int64_t *lens = malloc(sizeof(int64_t) * (size_t)(g.T / 256 + 8)), n_lens, n_cmp, n_eager;
    uint64_t replay_allocs;
    int64_t frames;
    float *y = run_stream(&g, 0.0f, STREAM_PREFIX, NULL, 0, lens, &n_lens, &n_cmp, true,
                          &replay_allocs, &frames);
    compare_output(&g, "enhanced_stream", y, n_cmp);
    check_lengths(&g, "stream_out_lengths", lens, n_lens);
    float *eager =
        run_stream(&g, 0.0f, STREAM_PREFIX, NULL, 0, NULL, NULL, &n_eager, false, NULL, NULL);
    ck_assert_int_eq(n_eager, n_cmp);
    int64_t n_out = STREAM_PREFIX ? STREAM_PREFIX : g.T;
    /* eager: the first step, the warm-up and the first step of the flush;
     * the capture step launches its graph, every later step replays it */
    if (_i == EMU_CASES - 1) ck_assert_int_ge(frames - 3, REPLAY_STEPS);
    ck_assert(memcmp(y, eager, (size_t)n_out * sizeof *y) == 0);
    ck_assert_uint_eq(replay_allocs, 0);
    free(eager);
    free(lens);
    free(y);
    demucs_golden_close(&g);
}
END_TEST

START_TEST(test_stream_ragged) {
    golden g;
    dev_golden_open(&g, _i);
    int64_t n_chunks;
    int64_t *chunks = io_i64(&g, "ragged_chunks", &n_chunks);
    int64_t *lens = malloc(sizeof(int64_t) * (size_t)(n_chunks + 2)), n_lens, n_cmp;
    /* under emulation the first chunk lengths only, the whole input otherwise */
    int64_t prefix = 0;
    for (int64_t k = 0; k < n_chunks && k < RAGGED_PREFIX_CHUNKS; k++) prefix += chunks[k];
    float *y = run_stream(&g, 0.0f, prefix, chunks, n_chunks, lens, &n_lens, &n_cmp, true, NULL, NULL);
    compare_output(&g, "enhanced_stream_ragged", y, n_cmp);
    check_lengths(&g, "ragged_out_lengths", lens, n_lens);
    free(lens);
    free(chunks);
    free(y);
    demucs_golden_close(&g);
}
END_TEST

START_TEST(test_stream_dry) {
    golden g;
    dev_golden_open(&g, _i);
    int64_t n_cmp;
    float *y = run_stream(&g, 0.04f, STREAM_PREFIX, NULL, 0, NULL, NULL, &n_cmp, true, NULL, NULL);
    compare_output(&g, "enhanced_stream_dry", y, n_cmp);
    free(y);
    demucs_golden_close(&g);
}
END_TEST

/* ---- the graph switch ---- */

START_TEST(test_graph_switch) {
    golden g;
    dev_golden_open(&g, 0);
    const char *env = getenv("WT_GRAPHS");
    bool env_off = env && !strcmp(env, "0");
    wt_demucs_stream *s = wt_demucs_stream_new(g.model, 0.0f, 1);
    ck_assert_ptr_nonnull(s);
    ck_assert(wt_demucs_stream_graphs(s) == !env_off); /* on by default */
    ck_assert_int_eq(wt_demucs_stream_set_graphs(s, false), WT_OK);
    ck_assert(!wt_demucs_stream_graphs(s));
    wt_demucs_stream_free(s);
    demucs_golden_close(&g);
}
END_TEST

/* ---- bad calls ---- */

START_TEST(test_wrong_backend) {
    golden g;
    dev_golden_open(&g, 0);
    /* a host context and host input for a device model: refused, named */
    wt_ctx *cpu = wt_ctx_new_heap(NULL);
    int64_t shape[3] = {1, 1, 100};
    wt_tensor *x = wt_tensor_new(cpu, WT_F32, 3, shape);
    ck_assert_ptr_null(wt_demucs_forward(g.model, cpu, x, NULL, NULL));
    ck_assert_int_eq(wt_ctx_status(cpu), WT_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(cpu), "backend"));
    /* a device context with a host input */
    wt_ctx *dev = wt_ctx_new_heap(dev_backend());
    ck_assert_ptr_null(wt_demucs_forward(g.model, dev, x, NULL, NULL));
    ck_assert_int_eq(wt_ctx_status(dev), WT_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(dev), "another backend"));
    wt_ctx_free(dev);
    wt_ctx_free(cpu);
    demucs_golden_close(&g);
}
END_TEST

int main(void) {
    if (!dev_suite_start()) return SKIP_CODE;
    Suite *s = suite_create("cuda_demucs");
    TCase *tc = tcase_create("golden");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_offline, 0, EMU_CASES);
    tcase_add_loop_test(tc, test_stream_stride_chunks, 0, EMU_CASES);
    tcase_add_loop_test(tc, test_stream_ragged, 0, EMU_CASES);
    tcase_add_loop_test(tc, test_stream_dry, 0, EMU_CASES);
    suite_add_tcase(s, tc);
    TCase *tg = tcase_create("graph");
    tcase_set_timeout(tg, 600);
    tcase_add_test(tg, test_graph_switch);
    tcase_add_test(tg, test_wrong_backend);
    suite_add_tcase(s, tg);
    return wt_test_run(s);
}
