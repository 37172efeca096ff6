/* The reference DemucsStreamer, sample for sample: a window of total_length
 * input samples per step, running-variance normalization, resampling with
 * carried history on both sides, encoder outputs and decoder overlap-add
 * tails carried between steps, LSTM state, dry/wet mix and flush().
 * Host-side bookkeeping (pending input, running variance, normalization,
 * resampler input history, mixing) works on host arrays reserved at
 * creation. The network runs on the model's backend: the normalized window
 * is uploaded into a fixed tensor, the network step (ops only, on an arena
 * context planned by a dry run, state in fixed tensors) writes a fixed
 * output tensor that is downloaded after it. The steady-state step is a
 * wt_step_graph (captured and replayed on a device); the first step after a
 * start or flush takes another path and runs eagerly. A step allocates
 * nothing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "engine/models/demucs_impl.h"
#include "wavetensor/graph.h"
#include "wavetensor/ops.h"

struct wt_demucs_stream {
    wt_demucs *m;
    wt_demucs_stream_info info;
    float dry;

    const wt_backend *be;
    wt_ctx *state_ctx; /* persistent tensors below (on be) */
    wt_ctx *step;      /* arena on be, reset each step */
    wt_step_graph *graph; /* the steady-state step */

    /* host arrays */
    float *pending;    /* [total_length]: input not yet consumed */
    int64_t n_pending;
    float *frame_host; /* [resample_buffer + total_length]: normalized history + window */
    float *y_host;     /* [stride]: the network's downsampled output of the last step */
    float *frame_out;  /* [stride]: the last step's output */

    /* tensors on be, fixed addresses */
    wt_tensor *frame_in;     /* [1, 1, resample_buffer + total_length]: frame_host uploaded */
    wt_tensor *frame_y;      /* [1, 1, stride]: the step's output, downloaded into y_host */
    wt_tensor *resample_out; /* [1, 1, resample_buffer]: tail of the previous network output */
    wt_tensor *enc_state[WT_DEMUCS_MAX_DEPTH]; /* encoders 0..depth-2: [1, C_i, L_i] */
    wt_tensor *dec_state[WT_DEMUCS_MAX_DEPTH]; /* decoders: [1, cout_j, S] overlap-add tails */
    wt_tensor *h, *c;        /* LSTM state [2 * dirs, 1, C] */
    int64_t enc_len[WT_DEMUCS_MAX_DEPTH];  /* L_i */
    int64_t enc_drop[WT_DEMUCS_MAX_DEPTH]; /* outputs of layer i per step */
    bool first;      /* no conv state yet (start, or after flush) */
    bool whole_extra; /* all of the look-ahead output (planning, taps), not just what is read */
    bool lstm_fresh; /* zero LSTM state */

    float variance;
    int64_t frames;
    wt_demucs_tap tap;
    void *tap_user;
};

/* ---- the network on one frame (the reference's _separate_frame) ---- */

static void tap_call(wt_demucs_stream *s, const char *name, const wt_tensor *t) {
    if (s->tap && t) s->tap(s->tap_user, name, t);
}

/* Encoders with carried outputs: after the first frame, layer i recomputes
 * only its enc_drop[i] newest outputs from the tail of its input. */
static wt_tensor *encode(wt_demucs_stream *s, wt_ctx *ctx, const wt_tensor *x,
                         const wt_tensor **skips) {
    const wt_demucs *m = s->m;
    const wt_demucs_config *c = &m->cfg;
    int64_t K = c->kernel_size, S = c->stride;
    for (int i = 0; i < c->depth; i++) {
        if (!x) return NULL;
        if (i == c->depth - 1) {
            x = wt_demucs_encode(ctx, m, i, x, true);
            skips[i] = x;
            break;
        }
        wt_tensor *y;
        if (s->first) {
            y = wt_demucs_encode(ctx, m, i, x, true);
        } else {
            int64_t len = x->shape[2], missing = s->enc_drop[i];
            int64_t offset = len - K - S * (missing - 1);
            wt_tensor *fresh = wt_demucs_encode(ctx, m, i, wt_narrow(ctx, x, -1, offset, len - offset), true);
            const wt_tensor *parts[2] = {
                wt_narrow(ctx, s->enc_state[i], -1, missing, s->enc_len[i] - missing), fresh};
            y = wt_cat(ctx, parts, 2, -1);
        }
        if (!y) return NULL;
        if (y->shape[2] != s->enc_len[i]) {
            wt_ctx_fail(ctx, WT_ERR_INVALID, "demucs stream: encoder %d gave %lld samples, expected %lld",
                        i, (long long)y->shape[2], (long long)s->enc_len[i]);
            return NULL;
        }
        wt_copy_(ctx, s->enc_state[i], y);
        skips[i] = y;
        x = y;
    }
    return (wt_tensor *)x;
}

/* Samples of the look-ahead output that the emitted ones depend on, given
 * the final output's length olen: each halving of the output resampler
 * reads 2 * zeros - 1 samples past twice its last output, and the window
 * [resample_out, out, extra] is read no further. The reference computes
 * all of extra (1364 samples for dns48, of which 330 are read). */
static int64_t extra_read(const wt_demucs_stream *s, int64_t olen) {
    const wt_demucs_stream_info *in = &s->info;
    int up = s->m->cfg.resample;
    int64_t last = in->resample_buffer / up + in->stride - 1;
    for (int r = up; r > 1; r /= 2) last = 2 * last + 2 * WT_DEMUCS_SINC_ZEROS - 1;
    return last + 1 - in->resample_buffer - olen;
}

/* keep[j]: input steps of the look-ahead that decoder j (>= 1) needs so that
 * the samples read in the end come out exact. Output sample o of a
 * conv-transpose reads inputs up to o / S; at least 2 inputs keep its
 * output S samples long for the overlap-add. */
static void extra_keep(const wt_demucs_stream *s, int64_t xl, int64_t keep[WT_DEMUCS_MAX_DEPTH]) {
    const wt_demucs_config *c = &s->m->cfg;
    int64_t S = c->stride, K = c->kernel_size;
    for (int j = 0; j < c->depth; j++) xl = (xl - 1) * S + K - S;
    int64_t n = extra_read(s, xl);
    for (int j = c->depth - 1; j >= 1; j--) {
        keep[j] = n > 0 ? (n - 1) / S + 1 : 1;
        if (keep[j] < 2) keep[j] = 2;
        n = keep[j];
    }
}

/* Decoders with overlap-add tails; returns the final output and, in *extra,
 * the look-ahead output computed without the next frame (only as much of it
 * as the output resampler reads, unless whole_extra). */
static wt_tensor *decode(wt_demucs_stream *s, wt_ctx *ctx, wt_tensor *x,
                         const wt_tensor **skips, wt_tensor **extra_out) {
    const wt_demucs *m = s->m;
    const wt_demucs_config *c = &m->cfg;
    int64_t S = c->stride;
    wt_tensor *extra = NULL;
    int64_t keep[WT_DEMUCS_MAX_DEPTH];
    if (x) extra_keep(s, x->shape[2], keep);
    for (int j = 0; j < c->depth; j++) {
        const wt_demucs_dec *d = &m->dec[j];
        const wt_tensor *skip = skips[c->depth - 1 - j];
        if (!x || !skip) return NULL;
        if (extra && !s->whole_extra && extra->shape[2] > keep[j])
            extra = wt_narrow(ctx, extra, -1, 0, keep[j]);
        int64_t xl = x->shape[2];
        if (skip->shape[2] < xl + (extra ? extra->shape[2] : 0)) {
            wt_ctx_fail(ctx, WT_ERR_INVALID, "demucs stream: skip %d too short", j);
            return NULL;
        }
        x = wt_add(ctx, x, wt_narrow(ctx, skip, -1, 0, xl));
        x = wt_demucs_decode_pw(ctx, m, j, x, true);
        if (extra) {
            /* the skip samples right of x pad the look-ahead */
            extra = wt_add(ctx, extra, wt_narrow(ctx, skip, -1, xl, extra->shape[2]));
            extra = wt_demucs_decode_pw(ctx, m, j, extra, true);
            extra = wt_demucs_decode_tr(ctx, m, j, extra, true);
        }
        x = wt_demucs_decode_tr(ctx, m, j, x, true);
        if (!x) return NULL;
        int64_t len = x->shape[2];
        /* The last S samples overlap the next frame: keep them without
         * the bias (the next frame's output has it already). */
        wt_tensor *tail = wt_narrow(ctx, x, -1, len - S, S);
        wt_tensor *next_state = wt_sub(ctx, tail, wt_unsqueeze(ctx, d->convtr_b, -1));
        if (!extra) {
            extra = wt_contiguous(ctx, tail);
        } else {
            wt_add_(ctx, wt_narrow(ctx, extra, -1, 0, S), next_state);
        }
        x = wt_narrow(ctx, x, -1, 0, len - S);
        if (!s->first) wt_add_(ctx, wt_narrow(ctx, x, -1, 0, S), s->dec_state[j]);
        wt_copy_(ctx, s->dec_state[j], next_state);
        if (d->relu) {
            x = wt_unary(ctx, WT_UNARY_RELU, x, 0);
            extra = wt_unary_(ctx, WT_UNARY_RELU, extra, 0);
        } else {
            x = wt_contiguous(ctx, x);
        }
    }
    *extra_out = extra;
    return x;
}

/* Network on the upsampled frame [1, 1, resample * frame_length]. */
static wt_tensor *separate(wt_demucs_stream *s, wt_ctx *ctx, const wt_tensor *frame,
                           wt_tensor **extra) {
    const wt_tensor *skips[WT_DEMUCS_MAX_DEPTH] = {0};
    wt_tensor *x = encode(s, ctx, frame, skips);
    if (!x) return NULL;
    if (s->lstm_fresh) {
        /* The reference starts (and restarts after flush) from zeros. */
        wt_fill_(ctx, s->h, 0.0);
        wt_fill_(ctx, s->c, 0.0);
    }
    x = wt_demucs_lstm(ctx, s->m, x, s->h, s->c);
    /* s->first and s->lstm_fresh are cleared by the caller after the step:
     * a replayed graph never runs this function. */
    return decode(s, ctx, x, skips, extra);
}

/* ---- one step ---- */

/* The network on frame_in (the normalized window after its resampler
 * history) into frame_y: ops only, the same ones on the same addresses
 * each call of one path (first or steady), so it can be captured. */
static wt_status network(wt_demucs_stream *s, wt_ctx *ctx) {
    const wt_demucs *m = s->m;
    const wt_demucs_config *c = &m->cfg;
    const wt_demucs_stream_info *in = &s->info;
    int64_t stride = in->stride, rb = in->resample_buffer, up = c->resample;
    wt_ctx_reset(ctx);
    wt_tensor *x = s->frame_in;
    if (up > 1) {
        x = wt_demucs_upsample2(ctx, m, x);
        if (up == 4) x = wt_demucs_upsample2(ctx, m, x);
    }
    x = wt_contiguous(ctx, wt_narrow(ctx, x, -1, up * rb, up * in->frame_length));
    tap_call(s, "stream.input", x);
    wt_tensor *extra = NULL;
    wt_tensor *out = separate(s, ctx, x, &extra);
    tap_call(s, "stream.out", out);
    tap_call(s, "stream.extra", extra);
    if (!out || !extra) return wt_ctx_status(ctx) ? wt_ctx_status(ctx) : WT_ERR_INVALID;
    int64_t olen = out->shape[2];
    const wt_tensor *parts[3] = {s->resample_out, out, extra};
    wt_tensor *y = wt_cat(ctx, parts, 3, -1);
    wt_copy_(ctx, s->resample_out, wt_narrow(ctx, out, -1, olen - rb, rb));
    if (up > 1) {
        y = wt_demucs_downsample2(ctx, m, y);
        if (up == 4) y = wt_demucs_downsample2(ctx, m, y);
    }
    wt_copy_(ctx, s->frame_y, wt_narrow(ctx, y, -1, rb / up, stride));
    return wt_ctx_status(ctx);
}

static wt_status graph_step(void *user) {
    wt_demucs_stream *s = user;
    return network(s, s->step);
}

/* Processes pending[0:total_length] into frame_out[0:stride]. */
static wt_status step(wt_demucs_stream *s) {
    const wt_demucs_config *c = &s->m->cfg;
    const wt_demucs_stream_info *in = &s->info;
    int64_t total = in->total_length, stride = in->stride, rb = in->resample_buffer;
    const float *win = s->pending;
    float *fin = s->frame_host;
    s->frames++;
    float scale = 1.0f;
    if (c->normalize) {
        /* mean of squares over the window (chin = 1: the channel mean is the
         * signal), then a cumulative mean over frames, in float32 */
        double acc = 0;
        for (int64_t i = 0; i < total; i++) acc += (double)win[i] * (double)win[i];
        float vn = (float)(acc / (double)total);
        float n = (float)s->frames;
        s->variance = vn / n + (float)(1.0 - 1.0 / (double)s->frames) * s->variance;
        double sd = sqrt((double)s->variance);
        float den = (float)(c->floor + sd);
        scale = (float)sd;
        for (int64_t i = 0; i < total; i++) fin[rb + i] = win[i] / den;
    } else {
        memcpy(fin + rb, win, (size_t)total * sizeof *fin);
    }
    /* frame_in = [history, window] */
    wt_status st = s->be->upload(s->frame_in->data, fin, wt_nbytes(s->frame_in));
    if (st != WT_OK) return st;
    /* The first step (after a start or a flush) computes every encoder
     * output and starts from zero state: another path, run eagerly. A tap
     * must be called, so it forces eager steps too, and sees all of extra. */
    s->whole_extra = s->tap != NULL;
    if (s->first || s->tap) st = network(s, s->step);
    else st = wt_step_graph_run(s->graph, graph_step, s);
    s->first = false;
    s->lstm_fresh = false;
    if (st != WT_OK) return st;
    /* the next history is window[stride - rb, stride) */
    memmove(fin, fin + rb + stride - rb, (size_t)rb * sizeof *fin);
    st = s->be->download(s->y_host, s->frame_y->data, wt_nbytes(s->frame_y));
    if (st != WT_OK) return st;
    const float *yp = s->y_host;
    float wdry = s->dry, wwet = (float)(1.0 - (double)s->dry);
    for (int64_t i = 0; i < stride; i++) {
        float o = c->normalize ? yp[i] * scale : yp[i];
        s->frame_out[i] = wdry * win[i] + wwet * o;
    }
    return WT_OK;
}

/* ---- feeding ---- */

int64_t wt_demucs_stream_out_count(const wt_demucs_stream *s, int64_t n) {
    int64_t have = s->n_pending + n;
    if (n < 0 || have < s->info.total_length) return 0;
    return ((have - s->info.total_length) / s->info.stride + 1) * s->info.stride;
}

int64_t wt_demucs_stream_pending(const wt_demucs_stream *s) { return s->n_pending; }

/* Appends n samples (zeros when in is NULL), stepping whenever a window is
 * complete; writes at most out_limit output samples (the rest of the steps'
 * output is dropped, as flush() drops what is past the pending input). */
static wt_status push(wt_demucs_stream *s, const float *in, int64_t n, float *out,
                      int64_t out_limit, int64_t *n_out) {
    int64_t total = s->info.total_length, stride = s->info.stride, done = 0, emitted = 0;
    while (done < n) {
        int64_t take = total - s->n_pending;
        if (take > n - done) take = n - done;
        if (in) memcpy(s->pending + s->n_pending, in + done, (size_t)take * sizeof *in);
        else memset(s->pending + s->n_pending, 0, (size_t)take * sizeof *in);
        s->n_pending += take;
        done += take;
        if (s->n_pending < total) break;
        wt_status st = step(s);
        if (st != WT_OK) {
            *n_out = emitted;
            const char *why = wt_ctx_status(s->step) ? wt_ctx_error(s->step) : wt_last_error();
            return wt_error(st, "demucs stream: step failed: %s", why);
        }
        int64_t keep = out_limit - emitted < stride ? out_limit - emitted : stride;
        if (keep > 0) memcpy(out + emitted, s->frame_out, (size_t)keep * sizeof *out);
        emitted += keep > 0 ? keep : 0;
        memmove(s->pending, s->pending + stride, (size_t)(total - stride) * sizeof *s->pending);
        s->n_pending = total - stride;
    }
    *n_out = emitted;
    return WT_OK;
}

wt_status wt_demucs_stream_feed(wt_demucs_stream *s, const float *in, int64_t n, float *out,
                                int64_t out_cap, int64_t *n_out) {
    *n_out = 0;
    if (n < 0 || (n > 0 && !in))
        return wt_error(WT_ERR_INVALID, "demucs stream: invalid input buffer");
    int64_t want = wt_demucs_stream_out_count(s, n);
    if (want > out_cap || (want > 0 && !out))
        return wt_error(WT_ERR_INVALID,
                        "demucs stream: output buffer holds %lld samples, this feed gives %lld",
                        (long long)out_cap, (long long)want);
    return push(s, in, n, out, want, n_out);
}

wt_status wt_demucs_stream_flush(wt_demucs_stream *s, float *out, int64_t out_cap,
                                 int64_t *n_out) {
    *n_out = 0;
    int64_t want = s->n_pending;
    if (want > out_cap || (want > 0 && !out))
        return wt_error(WT_ERR_INVALID,
                        "demucs stream: output buffer holds %lld samples, flush gives %lld",
                        (long long)out_cap, (long long)want);
    /* As the reference: the network restarts (conv and LSTM state), the
     * resamplers, variance and frame count carry on. */
    s->first = true;
    s->lstm_fresh = true;
    return push(s, NULL, s->info.total_length, out, want, n_out);
}

void wt_demucs_stream_reset(wt_demucs_stream *s) {
    s->n_pending = 0;
    s->first = true;
    s->lstm_fresh = true;
    s->variance = 0.0f;
    s->frames = 0;
    memset(s->frame_host, 0, wt_nbytes(s->frame_in));
    wt_fill_(s->state_ctx, s->resample_out, 0.0);
}

float wt_demucs_stream_variance(const wt_demucs_stream *s) { return s->variance; }
int64_t wt_demucs_stream_frames(const wt_demucs_stream *s) { return s->frames; }
const wt_demucs_stream_info *wt_demucs_stream_get_info(const wt_demucs_stream *s) {
    return &s->info;
}

void wt_demucs_stream_set_tap(wt_demucs_stream *s, wt_demucs_tap tap, void *user) {
    s->tap = tap;
    s->tap_user = user;
}

wt_status wt_demucs_stream_set_graphs(wt_demucs_stream *s, bool on) {
    wt_step_graph *g = wt_step_graph_new(s->be, on);
    if (!g) return WT_ERR_NOMEM;
    wt_step_graph_free(s->graph);
    s->graph = g;
    return WT_OK;
}

bool wt_demucs_stream_graphs(const wt_demucs_stream *s) { return wt_step_graph_enabled(s->graph); }

void wt_demucs_stream_set_threads(wt_demucs_stream *s, int n) { wt_ctx_set_threads(s->step, n); }

/* ---- setup ---- */

/* Lengths of the carried encoder outputs and how many new outputs each
 * layer computes per step, as the reference derives them from the frame. */
static wt_status plan_lengths(wt_demucs_stream *s) {
    const wt_demucs_config *c = &s->m->cfg;
    int64_t K = c->kernel_size, S = c->stride;
    int64_t len = c->resample * s->info.frame_length;
    int64_t stride = s->info.stride * c->resample;
    for (int i = 0; i < c->depth; i++) {
        stride /= S;
        if (len < K) return wt_error(WT_ERR_UNSUPPORTED, "demucs stream: frame too short for encoder %d", i);
        int64_t L = (len - K) / S + 1;
        if (i < c->depth - 1 && (stride < 1 || stride > L))
            return wt_error(WT_ERR_UNSUPPORTED,
                            "demucs stream: this config's strides do not divide its frame");
        s->enc_len[i] = L;
        s->enc_drop[i] = stride;
        len = L;
    }
    return WT_OK;
}

static wt_status alloc_state(wt_demucs_stream *s) {
    const wt_demucs_config *c = &s->m->cfg;
    wt_ctx *ctx = s->state_ctx;
    int64_t rb = s->info.resample_buffer;
    s->pending = calloc((size_t)s->info.total_length, sizeof *s->pending);
    s->frame_host = calloc((size_t)(rb + s->info.total_length), sizeof *s->frame_host);
    s->y_host = calloc((size_t)s->info.stride, sizeof *s->y_host);
    s->frame_out = calloc((size_t)s->info.stride, sizeof *s->frame_out);
    if (!s->pending || !s->frame_host || !s->y_host || !s->frame_out)
        return wt_error(WT_ERR_NOMEM, "demucs stream: out of memory");
    s->frame_in = wt_tensor_new3(ctx, WT_F32, 1, 1, rb + s->info.total_length);
    s->frame_y = wt_tensor_new3(ctx, WT_F32, 1, 1, s->info.stride);
    s->resample_out = wt_tensor_new3(ctx, WT_F32, 1, 1, rb);
    for (int i = 0; i < c->depth - 1; i++)
        s->enc_state[i] = wt_tensor_new3(ctx, WT_F32, 1, wt_demucs_channels(c, i), s->enc_len[i]);
    for (int j = 0; j < c->depth; j++)
        s->dec_state[j] = wt_tensor_new3(ctx, WT_F32, 1, s->m->dec[j].cout, c->stride);
    int64_t C = wt_demucs_channels(c, c->depth - 1);
    s->h = wt_tensor_new3(ctx, WT_F32, 2, 1, C);
    s->c = wt_tensor_new3(ctx, WT_F32, 2, 1, C);
    if (wt_ctx_status(ctx) != WT_OK) return wt_ctx_status(ctx);
    wt_fill_(ctx, s->h, 0.0);
    wt_fill_(ctx, s->c, 0.0);
    return wt_ctx_status(ctx);
}

wt_demucs_stream *wt_demucs_stream_new(wt_demucs *m, float dry, int num_frames) {
    const wt_demucs_config *c = &m->cfg;
    if (!c->causal || c->chin != 1 || c->chout != 1) {
        wt_error(WT_ERR_UNSUPPORTED, "demucs stream: needs a causal model with chin = chout = 1");
        return NULL;
    }
    if (num_frames < 1 || num_frames > 1024 || !isfinite(dry)) {
        wt_error(WT_ERR_INVALID, "demucs stream: num_frames must be >= 1 and dry finite");
        return NULL;
    }
    wt_demucs_stream *s = calloc(1, sizeof *s);
    if (!s) {
        wt_error(WT_ERR_NOMEM, "demucs stream: out of memory");
        return NULL;
    }
    s->m = m;
    s->dry = dry;
    int64_t total_stride = 1;
    for (int i = 0; i < c->depth; i++) total_stride *= c->stride;
    total_stride /= c->resample;
    wt_demucs_stream_info *in = &s->info;
    in->num_frames = num_frames;
    in->total_stride = total_stride;
    in->resample_lookahead = 64;
    in->resample_buffer = total_stride < 256 ? total_stride : 256;
    in->frame_length = wt_demucs_valid_length(c, 1) + total_stride * (num_frames - 1);
    in->total_length = in->frame_length + in->resample_lookahead;
    in->stride = total_stride * num_frames;
    wt_ctx *plan = NULL;
    s->be = m->be;
    s->state_ctx = wt_ctx_new_heap(s->be);
    if (total_stride < 1 || !s->state_ctx || plan_lengths(s) != WT_OK || alloc_state(s) != WT_OK)
        goto fail;
    s->graph = wt_step_graph_new(s->be, true);
    if (!s->graph) goto fail;
    /* Dry run on a heap context: the first-frame path and the steady path
     * (their peaks differ), then an arena of that size for every step. */
    plan = wt_ctx_new_heap(s->be);
    if (!plan) goto fail;
    wt_demucs_stream_reset(s);
    if (wt_ctx_status(s->state_ctx) != WT_OK) goto fail;
    s->whole_extra = true; /* the larger step: a tap asks for it */
    for (int k = 0; k < 2; k++) {
        s->first = k == 0;
        s->lstm_fresh = k == 0;
        if (network(s, plan) != WT_OK) {
            wt_error(wt_ctx_status(plan), "demucs stream: %s", wt_ctx_error(plan));
            goto fail;
        }
    }
    wt_ctx_reset(plan);
    s->step = wt_ctx_new_arena_like(plan);
    wt_ctx_free(plan);
    plan = NULL;
    if (!s->step) goto fail;
    wt_demucs_stream_reset(s);
    return s;
fail:
    wt_ctx_free(plan);
    wt_demucs_stream_free(s);
    return NULL;
}

void wt_demucs_stream_free(wt_demucs_stream *s) {
    if (!s) return;
    wt_step_graph_free(s->graph);
    wt_ctx_free(s->step);
    wt_ctx_free(s->state_ctx);
    free(s->pending);
    free(s->frame_host);
    free(s->y_host);
    free(s->frame_out);
    free(s);
}
