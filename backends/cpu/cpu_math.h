/* Vectorisable f32 kernels shared by the CPU ops (softmax, attention,
 * activations): exp, expm1 of a non-positive argument, tanh, and
 * lane-parallel sums, maxima and dot products.
 * Owns: arithmetic on caller-owned arrays only; never allocates, never calls
 * libm per element (a call per element defeats the vectoriser). */
#ifndef WT_CPU_MATH_H
#define WT_CPU_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* The bits of x rounded to bf16 (nearest even; a NaN stays a quiet NaN
 * rather than rounding into infinity), as wt_f32_to_bf16 but inline:
 * straight-line bit arithmetic the compiler vectorises. */
static inline uint32_t wt_cpu_bf16_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    uint32_t r = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
    return (u & 0x7FFFFFFFu) > 0x7F800000u ? (u >> 16) | 0x40u : r;
}

/* x rounded to bf16 and widened back, as the products against bf16
 * weights take their f32 operand (cpu_kern.h). */
static inline float wt_cpu_bf16_round(float x) {
    uint32_t r = wt_cpu_bf16_bits(x) << 16;
    float y;
    memcpy(&y, &r, sizeof y);
    return y;
}

/* a * b + c, fused (one rounding) where the target has FMA: the
 * polynomials below are chains of these, and unfused they cost twice the
 * instructions (C11 mode does not let the compiler contract a * b + c). */
static inline float wt_cpu_madd(float a, float b, float c) {
#if defined(__FMA__) || defined(__AVX512F__)
    return __builtin_fmaf(a, b, c);
#else
    return a * b + c;
#endif
}

/* x = k ln2 + r with |r| <= ln2/2 (|x| < 2^22): k rounded to an integer
 * with the 1.5 * 2^23 trick (any SIMD level), k ln2 subtracted in two parts
 * (ln2 = 0.693359375 - 2.12194440e-4, the first exact in few bits) so r
 * carries no cancellation error. */
static inline float wt_cpu_exp_reduce(float x, float *k) {
    const float magic = 12582912.0f; /* 1.5 * 2^23 */
    *k = wt_cpu_madd(x, 1.44269504088896341f, magic) - magic;
    return wt_cpu_madd(*k, 2.12194440e-4f, wt_cpu_madd(*k, -0.693359375f, x));
}

/* Taylor polynomial of exp(r) to r^7 (Horner, fused steps). */
static inline float wt_cpu_exp_poly(float r) {
    float p = wt_cpu_madd(r, 1.0f / 5040, 1.0f / 720);
    p = wt_cpu_madd(p, r, 1.0f / 120);
    p = wt_cpu_madd(p, r, 1.0f / 24);
    p = wt_cpu_madd(p, r, 1.0f / 6);
    p = wt_cpu_madd(p, r, 0.5f);
    p = wt_cpu_madd(p, r, 1.0f);
    return wt_cpu_madd(p, r, 1.0f);
}

/* exp(x) for x <= 0 (and -INFINITY -> 0 exactly), in straight-line code the
 * compiler vectorises: x = k ln2 + r (wt_cpu_exp_reduce), exp(r) is its
 * Taylor polynomial to r^7 (truncation below 1e-8 relative), and 2^k is
 * built in the exponent bits. Error about 1 ulp against expf. Arguments
 * below -88 give 0 (expf gives a denormal under 1.2e-38 there); NaN gives
 * NaN. */
static inline float wt_cpu_exp_nonpos(float x_in) {
    float x = x_in > -88.0f ? x_in : -88.0f; /* NaN too: no undefined conversion below */
    float k, r = wt_cpu_exp_reduce(x, &k);
    float p = wt_cpu_exp_poly(r);
    int32_t bits = ((int32_t)k + 127) << 23; /* k >= -127: 0 bits give +0 */
    float two_k;
    memcpy(&two_k, &bits, sizeof two_k);
    return x_in == x_in ? p * two_k : x_in;
}

/* 2^k for an integer-valued k in [-127, 127] built in the exponent bits
 * (k = -127 gives +0). */
static inline float wt_cpu_pow2i(float k) {
    int32_t bits = ((int32_t)k + 127) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* exp(x) for any x, as wt_cpu_exp_nonpos but with 2^k applied as two
 * factors, so k may reach 128 (overflow to +inf past 88.72) and -150
 * (denormal results below -87.3, rounded once). NaN gives NaN. */
static inline float wt_cpu_exp(float x_in) {
    float x = x_in > -103.0f ? (x_in < 89.0f ? x_in : 89.0f) : -103.0f;
    float k, r = wt_cpu_exp_reduce(x, &k);
    float p = wt_cpu_exp_poly(r);
    int32_t ki = (int32_t)k, k1 = ki / 2, k2 = ki - k1; /* each in [-76, 64] */
    int32_t b1 = (k1 + 127) << 23, b2 = (k2 + 127) << 23;
    float f1, f2;
    memcpy(&f1, &b1, sizeof f1);
    memcpy(&f2, &b2, sizeof f2);
    return x_in == x_in ? p * f1 * f2 : x_in;
}

/* expm1(x) = exp(x) - 1 for x <= 0 (-INFINITY gives -1), accurate to a few
 * ulp relative also near 0 where exp(x) - 1 would cancel: with x = k ln2 + r
 * as in wt_cpu_exp_nonpos, expm1(x) = 2^k expm1(r) + (2^k - 1), where
 * 2^k - 1 is exact and expm1(r) = r + r^2 (1/2 + r/6 + ...) is the Taylor
 * polynomial to r^7 (truncation under 2e-8 relative for |r| <= ln2/2, a
 * quarter ulp; r^9 cost two more steps for nothing a float can hold). For
 * |x| < ln2/2, k = 0 and r = x exactly. NaN gives NaN. */
static inline float wt_cpu_expm1_nonpos(float x_in) {
    float x = x_in > -88.0f ? x_in : -88.0f;
    float k, r = wt_cpu_exp_reduce(x, &k);
    float q = wt_cpu_madd(r, 1.0f / 5040, 1.0f / 720);
    q = wt_cpu_madd(q, r, 1.0f / 120);
    q = wt_cpu_madd(q, r, 1.0f / 24);
    q = wt_cpu_madd(q, r, 1.0f / 6);
    q = wt_cpu_madd(q, r, 0.5f);
    float em1 = wt_cpu_madd(r * r, q, r);
    float two_k = wt_cpu_pow2i(k);
    return x_in == x_in ? wt_cpu_madd(two_k, em1, two_k - 1.0f) : x_in;
}

/* tanh(x) = -expm1(-2|x|) / (2 + expm1(-2|x|)) with the sign of x: no
 * cancellation near 0, exactly +-1 for large |x|, NaN for NaN. */
static inline float wt_cpu_tanh(float x) {
    float t = wt_cpu_expm1_nonpos(-2.0f * fabsf(x));
    float y = -t / (2.0f + t);
    return x < 0 ? -y : y;
}

/* 1 / (1 + exp(-x)) from e = exp(-|x|) <= 1 (no overflow): 1 / (1 + e) for
 * x >= 0, e / (1 + e) below. NaN gives NaN. */
static inline float wt_cpu_sigmoid(float x) {
    float e = wt_cpu_exp_nonpos(-fabsf(x));
    return (x >= 0 ? 1.0f : e) / (1.0f + e);
}

/* Reductions in WT_CPU_LANES partial results, which the compiler keeps in
 * vector registers (one running sum cannot be vectorised: C forbids the
 * compiler to reorder float additions on its own). */
enum { WT_CPU_LANES = 16 };

/* Sum of the lanes as a tree (4 dependent adds, not 15). */
static inline float wt_cpu_lanes_total(float *part) {
    for (int w = WT_CPU_LANES / 2; w > 0; w /= 2)
        for (int j = 0; j < w; j++) part[j] += part[j + w];
    return part[0];
}

static inline float wt_cpu_sum(const float *x, int64_t n) {
    float part[WT_CPU_LANES] = {0};
    int64_t i = 0;
    for (; i + WT_CPU_LANES <= n; i += WT_CPU_LANES)
        for (int j = 0; j < WT_CPU_LANES; j++) part[j] += x[i + j];
    for (int j = 0; i < n; i++, j++) part[j] += x[i];
    return wt_cpu_lanes_total(part);
}

static inline float wt_cpu_dot(const float *x, const float *y, int64_t n) {
    float part[WT_CPU_LANES] = {0};
    int64_t i = 0;
    for (; i + WT_CPU_LANES <= n; i += WT_CPU_LANES)
        for (int j = 0; j < WT_CPU_LANES; j++) part[j] += x[i + j] * y[i + j];
    for (int j = 0; i < n; i++, j++) part[j] += x[i] * y[i];
    return wt_cpu_lanes_total(part);
}

/* Maximum of n floats (-INFINITY when n == 0); NaNs are skipped. */
static inline float wt_cpu_max(const float *x, int64_t n) {
    float part[WT_CPU_LANES];
    for (int j = 0; j < WT_CPU_LANES; j++) part[j] = -INFINITY;
    int64_t i = 0;
    for (; i + WT_CPU_LANES <= n; i += WT_CPU_LANES)
        for (int j = 0; j < WT_CPU_LANES; j++) part[j] = x[i + j] > part[j] ? x[i + j] : part[j];
    for (int j = 0; i < n; i++, j++) part[j] = x[i] > part[j] ? x[i] : part[j];
    float m = part[0];
    for (int j = 1; j < WT_CPU_LANES; j++) m = part[j] > m ? part[j] : m;
    return m;
}

#endif
