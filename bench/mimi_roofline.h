/* The one-core roofline of a Mimi streaming step (header-only, part of the
 * Mimi benchmark, not of the library): every product of one 80 ms frame,
 * listed from the config alone (not from the model code, so it is an
 * independent count), with the bytes of weights (and attention cache) it
 * reads and the multiply-adds it does. Each takes at least its bytes at the
 * measured read bandwidth or its multiply-adds at the measured arithmetic
 * peak, whichever is longer; their sum is the floor of a schedule that runs
 * the products one after another, as a streaming step must (each layer
 * needs the one before). Weights fetched ahead during the compute-bound
 * layers could shave that only by what the last-level cache holds. Ops
 * between products (ELU, norms, softmax, copies) are not counted. */
#ifndef WT_BENCH_MIMI_ROOFLINE_H
#define WT_BENCH_MIMI_ROOFLINE_H

#include "wavetensor/mimi.h"

typedef struct mimi_roofline {
    double gbs, gmacs;     /* machine: read bandwidth, multiply-add peak */
    double mb, mmacs;      /* totals of a frame: MB read, millions of multiply-adds */
    double ms, ms_compute; /* the floor; its part spent in compute-bound products */
} mimi_roofline;

/* One product reading `bytes` and doing `macs` multiply-adds. */
static void rl_op(mimi_roofline *r, double bytes, double macs) {
    double mem = bytes / r->gbs / 1e6, alu = macs / r->gmacs / 1e6;
    r->mb += bytes / 1e6;
    r->mmacs += macs / 1e6;
    r->ms += mem > alu ? mem : alu;
    if (alu > mem) r->ms_compute += alu;
}

/* A convolution of `t` output steps (conv-transpose: input steps), weights
 * [cout, cin, k] of es bytes each. */
static void rl_conv(mimi_roofline *r, double t, int cout, int cin, int k, double es) {
    double w = (double)cout * cin * k;
    rl_op(r, w * es, t * w);
}

/* A transformer over n rows: per layer the four matrices (es bytes a weight)
 * and attention over `context` cached steps held in es bytes. */
static void rl_transformer(mimi_roofline *r, const wt_mimi_config *c, double n, double es) {
    double d = c->dimension, f = c->dim_feedforward, ctx = c->context;
    for (int l = 0; l < c->num_layers; l++) {
        rl_op(r, 3 * d * d * es, n * 3 * d * d);
        rl_op(r, 2 * ctx * d * es, 2 * n * ctx * d); /* keys and values */
        rl_op(r, d * d * es, n * d * d);
        rl_op(r, 2 * d * f * es, 2 * n * d * f);
    }
}

/* The quantizer's two f32 projections of one frame (semantic and acoustic:
 * into the codebooks' width when encoding, back when decoding). */
static void rl_projections(mimi_roofline *r, const wt_mimi_config *c) {
    double w = (double)c->dimension * c->q_dimension;
    for (int q = 0; q < 2; q++) rl_op(r, 4.0 * w, w);
}

/* The floor of one streaming encode (encoder != 0) or decode step with
 * weights of es bytes (conv and transformer weights, the codebooks' copy
 * for distances; projections f32), at gbs GB/s and gmacs GMAC/s. */
static mimi_roofline mimi_roofline_of(const wt_mimi_config *c, int encoder, int codebooks,
                                      double es, double gbs, double gmacs) {
    mimi_roofline r = {.gbs = gbs, .gmacs = gmacs};
    int nf = c->n_filters, d = c->dimension, nres = c->n_residual_layers, S = c->n_ratios;
    int kr = c->residual_kernel_size, cp = c->compress, fs = wt_mimi_frame_size(c);
    double t = fs, n = fs; /* steps at the current rate; n: transformer rows */
    for (int i = 0; i < S; i++) n /= c->ratios[i];
    if (encoder) {
        rl_conv(&r, t, nf, c->channels, c->kernel_size, es);
        for (int i = 0; i < S; i++) {
            int ch = nf << i, ratio = c->ratios[S - 1 - i];
            for (int j = 0; j < nres; j++) {
                rl_conv(&r, t, ch / cp, ch, kr, es);
                rl_conv(&r, t, ch, ch / cp, 1, es);
            }
            t /= ratio;
            rl_conv(&r, t, 2 * ch, ch, 2 * ratio, es);
        }
        rl_conv(&r, t, d, nf << S, c->last_kernel_size, es);
        rl_transformer(&r, c, n, es);
        rl_conv(&r, n / 2, d, d, 4, es); /* to the frame rate */
        rl_projections(&r, c);
        for (int q = 0; q < codebooks; q++) /* distances to every code */
            rl_op(&r, (double)c->bins * c->q_dimension * es + 4.0 * c->bins,
                  (double)c->bins * c->q_dimension);
        return r;
    }
    rl_projections(&r, c);
    rl_op(&r, 4.0 * d * es, n / 2 * 4 * d); /* depthwise upsampling */
    rl_transformer(&r, c, n, es);
    t = n;
    rl_conv(&r, t, nf << S, d, c->kernel_size, es);
    for (int i = 0; i < S; i++) {
        int ch = nf << (S - i), ratio = c->ratios[i];
        rl_conv(&r, t, ch / 2, ch, 2 * ratio, es); /* conv-transpose: per input step */
        t *= ratio;
        for (int j = 0; j < nres; j++) {
            rl_conv(&r, t, ch / 2 / cp, ch / 2, kr, es);
            rl_conv(&r, t, ch / 2, ch / 2 / cp, 1, es);
        }
    }
    rl_conv(&r, t, c->channels, nf, c->last_kernel_size, es);
    return r;
}

#endif
