/* 16-float vectors for the CPU kernels (cpu_kern.c, cpu_kern_bf16.c):
 * loads that widen f32 / bf16 / f16 to f32, fused multiply-add, horizontal
 * sums. GCC vector extensions, one AVX-512 instruction where the target has
 * it, split into narrower registers elsewhere, so every build runs the same
 * code. Internal to the CPU backend; header-only (always-inline bodies). */
#ifndef WT_CPU_VEC_H
#define WT_CPU_VEC_H

#include <stdint.h>
#include <string.h>

#include "wavetensor/dtype.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

/* Vectors are only passed between always-inline functions, never across an
 * ABI boundary, so GCC's note about the AVX-512 calling convention is moot. */
#pragma GCC diagnostic ignored "-Wpsabi"

typedef float v16 __attribute__((vector_size(64)));
typedef uint16_t v16h __attribute__((vector_size(32)));
typedef uint32_t v16w __attribute__((vector_size(64)));
typedef _Float16 v16f16 __attribute__((vector_size(32)));

#define KI static inline __attribute__((always_inline))

static inline size_t dt_size(wt_dtype dt) { return dt == WT_F32 ? 4 : 2; }

KI v16 ld16(const void *p, wt_dtype dt) {
#if defined(__AVX512F__)
    /* GCC splits the generic widening below into halves; one instruction here */
    if (dt == WT_BF16)
        return (v16)_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16);
    if (dt == WT_F16) return (v16)_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
#endif
    if (dt == WT_BF16) {
        v16h h;
        memcpy(&h, p, sizeof h);
        return (v16)(__builtin_convertvector(h, v16w) << 16);
    }
    if (dt == WT_F16) {
        v16f16 h;
        memcpy(&h, p, sizeof h);
        return __builtin_convertvector(h, v16);
    }
    v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

KI void st16(float *p, v16 v) { memcpy(p, &v, sizeof v); }

KI float elem(const void *p, wt_dtype dt, int64_t i) {
    if (dt == WT_BF16) {
        uint32_t u = (uint32_t)((const uint16_t *)p)[i] << 16;
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    if (dt == WT_F16) return (float)((const _Float16 *)p)[i];
    return ((const float *)p)[i];
}

/* d[i] += s[i] for i < n: whole vectors, then a masked one (AVX-512) or
 * single floats for the rest. */
KI void add_run(float *d, const float *s, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) st16(d + i, ld16(d + i, WT_F32) + ld16(s + i, WT_F32));
#if defined(__AVX512F__)
    if (i < n) {
        __mmask16 k = (__mmask16)((1u << (n - i)) - 1u);
        _mm512_mask_storeu_ps(d + i, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, d + i),
                                                      _mm512_maskz_loadu_ps(k, s + i)));
    }
#else
    for (; i < n; i++) d[i] += s[i];
#endif
}

/* v rounded to bf16 (nearest even), in the high half of each lane; a NaN
 * stays a quiet NaN instead of rounding into infinity. */
KI v16w bf_hi(v16 v) {
    v16w u = (v16w)v;
    v16w r = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
    v16w nan = (v16w)((u & 0x7FFFFFFFu) > 0x7F800000u);
    return (r & ~nan) | ((u | 0x00400000u) & 0xFFFF0000u & nan);
}

/* Lanes of lo and hi rounded and paired (lo in the low halves): the
 * operand of bf16 pair products (pair1 in cpu_kern_bf16.c for one lane). */
KI v16w pair16(v16 lo, v16 hi) {
#if defined(__AVX512BF16__)
    /* one rounding instruction for both and one word shuffle instead of
     * the integer rounding of each (subnormal inputs flush to zero, as
     * they do in the dot-product instruction itself) */
    const __m512i inter = _mm512_setr_epi32(0x00100000, 0x00110001, 0x00120002, 0x00130003,
                                            0x00140004, 0x00150005, 0x00160006, 0x00170007,
                                            0x00180008, 0x00190009, 0x001A000A, 0x001B000B,
                                            0x001C000C, 0x001D000D, 0x001E000E, 0x001F000F);
    __m512i both = (__m512i)_mm512_cvtne2ps_pbh((__m512)hi, (__m512)lo); /* lo words 0-15 */
    return (v16w)_mm512_permutexvar_epi16(inter, both);
#else
    return (bf_hi(lo) >> 16) | bf_hi(hi);
#endif
}

KI v16w ldw16(const void *p) {
    v16w v;
    memcpy(&v, p, sizeof v);
    return v;
}

KI void stw16(void *p, v16w v) { memcpy(p, &v, sizeof v); }

/* s in every lane ((v16){0} + s would add: -0.0 + 0 is +0). */
KI v16 splat(float s) { return (v16){s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s}; }

/* Where a register tile's row r starts summing: what c holds, or with
 * `first` the bias (0 without one). */
KI v16 tile_init(int first, const float *c, const float *bias, int64_t bs, int r) {
    return !first ? ld16(c, WT_F32) : splat(bias ? bias[r * bs] : 0.0f);
}

/* a * b + c, fused where the target has it (ISO C mode turns off GCC's
 * automatic contraction). */
KI v16 fma16(v16 a, v16 b, v16 c) {
#if defined(__AVX512F__)
    return (v16)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
#else
    return a * b + c;
#endif
}

KI float hsum(v16 v) {
    /* pairwise halves: the same order on every target (the AVX-512 form
     * keeps the sums in registers; through the stack, a 64-byte store read
     * back as 16 floats stalls store forwarding at every row's end) */
#if defined(__AVX512F__)
    __m512 z = (__m512)v;
    __m256 a = _mm256_add_ps(_mm512_castps512_ps256(z), _mm512_extractf32x8_ps(z, 1));
    __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    __m128 c = _mm_add_ps(b, _mm_movehl_ps(b, b));
    return _mm_cvtss_f32(_mm_add_ss(c, _mm_movehdup_ps(c)));
#endif
    float s8[8], s4[4];
    for (int i = 0; i < 8; i++) s8[i] = v[i] + v[i + 8];
    for (int i = 0; i < 4; i++) s4[i] = s8[i] + s8[i + 4];
    return (s4[0] + s4[2]) + (s4[1] + s4[3]);
}

#endif
