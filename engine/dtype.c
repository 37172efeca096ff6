/* Element types and exact f16/bf16 conversions (bit manipulation, no FPU
 * rounding mode assumptions). */
#include "wavetensor/dtype.h"

#include <string.h>

static const struct { const char *name; size_t size; } k_dtypes[WT_DTYPE_COUNT] = {
    [WT_F32] = {"f32", 4}, [WT_F16] = {"f16", 2}, [WT_BF16] = {"bf16", 2},
    [WT_I64] = {"i64", 8}, [WT_U8] = {"u8", 1},
};

size_t wt_dtype_size(wt_dtype t) {
    return (unsigned)t < WT_DTYPE_COUNT ? k_dtypes[t].size : 0;
}

const char *wt_dtype_name(wt_dtype t) {
    return (unsigned)t < WT_DTYPE_COUNT ? k_dtypes[t].name : "?";
}

int wt_dtype_parse(const char *s, wt_dtype *out) {
    static const struct { const char *name; wt_dtype t; } k_alias[] = {
        {"f32", WT_F32}, {"float32", WT_F32}, {"F32", WT_F32}, {"f16", WT_F16},
        {"float16", WT_F16}, {"F16", WT_F16}, {"bf16", WT_BF16}, {"bfloat16", WT_BF16},
        {"BF16", WT_BF16}, {"i64", WT_I64}, {"int64", WT_I64}, {"I64", WT_I64},
        {"u8", WT_U8}, {"uint8", WT_U8}, {"U8", WT_U8},
    };
    for (size_t i = 0; i < sizeof k_alias / sizeof k_alias[0]; i++) {
        if (strcmp(s, k_alias[i].name) == 0) {
            *out = k_alias[i].t;
            return 0;
        }
    }
    return -1;
}

static uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

uint16_t wt_f32_to_f16(float f) {
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t exp = (x >> 23) & 0xFFu;
    uint32_t man = x & 0x7FFFFFu;
    if (exp == 0xFF) /* inf or nan: keep a quiet nan with the top payload bits */
        return (uint16_t)(sign | 0x7C00u | (man ? (0x200u | (man >> 13)) : 0));
    int32_t e = (int32_t)exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7C00u); /* overflow -> inf */
    if (e <= 0) {
        /* subnormal half (or zero): shift the full significand into place */
        if (e < -10) return sign; /* below half the smallest subnormal -> 0 */
        uint32_t m = man | 0x800000u;
        int shift = 14 - e; /* 24-bit significand -> 10-bit subnormal field */
        uint32_t q = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1u))) q++;
        return (uint16_t)(sign | q); /* a carry into the exponent is correct */
    }
    uint32_t q = ((uint32_t)e << 10) | (man >> 13);
    uint32_t rem = man & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (q & 1u))) q++; /* may round to inf: correct */
    return (uint16_t)(sign | q);
}

float wt_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1Fu;
    uint32_t man = h & 0x3FFu;
    if (exp == 0x1F) return bits_f32(sign | 0x7F800000u | (man << 13));
    if (exp == 0) {
        if (man == 0) return bits_f32(sign);
        /* subnormal: value = man * 2^-24, exact in f32 */
        float v = (float)man * 5.9604644775390625e-8f;
        return sign ? -v : v;
    }
    return bits_f32(sign | ((exp - 15 + 127) << 23) | (man << 13));
}

uint16_t wt_f32_to_bf16(float f) {
    uint32_t x = f32_bits(f);
    if ((x & 0x7F800000u) == 0x7F800000u && (x & 0x7FFFFFu)) /* nan: quiet, keep sign */
        return (uint16_t)((x >> 16) | 0x40u);
    uint32_t lsb = (x >> 16) & 1u;
    x += 0x7FFFu + lsb; /* round to nearest even; overflow carries to inf */
    return (uint16_t)(x >> 16);
}

float wt_bf16_to_f32(uint16_t b) { return bits_f32((uint32_t)b << 16); }
