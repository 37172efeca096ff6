/* f16/bf16 <-> f32 conversions: edge values derived by hand, every half
 * pattern decoded against an ldexp reference, and f32 -> half rounding
 * against a reference that rounds in double with rint (nearest even). */
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "wt_test.h"

static float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* Independent decoder of an IEEE binary16 pattern. */
static double ref_f16_decode(uint16_t h) {
    int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 31) v = m ? NAN : INFINITY;
    else if (e == 0) v = ldexp((double)m, -24);
    else v = ldexp((double)(1024 + m), e - 25);
    return sign ? -v : v;
}

/* Correctly rounded value of f in a binary format with `sig` significand
 * bits, minimum quantum 2^qmin and overflow threshold `ovf` (the midpoint
 * between the largest finite value and the next power of two). */
static double ref_round(float f, int sig, int qmin, double ovf) {
    double d = f;
    if (isnan(d) || isinf(d) || d == 0) return d;
    if (fabs(d) >= ovf) return d > 0 ? INFINITY : -INFINITY;
    int e;
    frexp(d, &e); /* d = m 2^e, 0.5 <= |m| < 1 */
    int qe = e - sig;
    if (qe < qmin) qe = qmin;
    double r = rint(ldexp(d, -qe)); /* exact scaling; rint rounds to even */
    double v = ldexp(r, qe);
    return v == 0 ? copysign(0.0, d) : v;
}

static double ref_f16_round(float f) { return ref_round(f, 11, -24, 65520.0); }
static double ref_bf16_round(float f) { return ref_round(f, 8, -133, ldexp(2.0 - ldexp(1, -8), 127)); }

static bool same_value(double a, double b) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b) && !signbit(a) == !signbit(b);
    return a == b && !signbit(a) == !signbit(b);
}

START_TEST(test_f16_edges) {
    ck_assert_uint_eq(wt_f32_to_f16(0.0f), 0x0000);
    ck_assert_uint_eq(wt_f32_to_f16(-0.0f), 0x8000);
    ck_assert_uint_eq(wt_f32_to_f16(INFINITY), 0x7C00);
    ck_assert_uint_eq(wt_f32_to_f16(-INFINITY), 0xFC00);
    ck_assert_uint_eq(wt_f32_to_f16(1.0f), 0x3C00);
    ck_assert_uint_eq(wt_f32_to_f16(-2.0f), 0xC000);
    ck_assert_uint_eq(wt_f32_to_f16(65504.0f), 0x7BFF);          /* max finite */
    ck_assert_uint_eq(wt_f32_to_f16(65519.0f), 0x7BFF);          /* below the midpoint */
    ck_assert_uint_eq(wt_f32_to_f16(65520.0f), 0x7C00);          /* midpoint ties to even = inf */
    ck_assert_uint_eq(wt_f32_to_f16(1e6f), 0x7C00);
    ck_assert_uint_eq(wt_f32_to_f16(-1e6f), 0xFC00);
    ck_assert_uint_eq(wt_f32_to_f16(ldexpf(1, -24)), 0x0001);    /* smallest subnormal */
    ck_assert_uint_eq(wt_f32_to_f16(ldexpf(1, -25)), 0x0000);    /* half of it: tie to even 0 */
    ck_assert_uint_eq(wt_f32_to_f16(ldexpf(3, -25)), 0x0002);    /* 1.5 quanta: tie to even 2 */
    ck_assert_uint_eq(wt_f32_to_f16(nextafterf(ldexpf(1, -25), 1)), 0x0001);
    ck_assert_uint_eq(wt_f32_to_f16(ldexpf(1, -14)), 0x0400);    /* smallest normal */
    ck_assert_uint_eq(wt_f32_to_f16(ldexpf(1023, -24)), 0x03FF); /* largest subnormal */
    /* 1 + 2^-11 is halfway between 1 and 1 + 2^-10: even is 1 */
    ck_assert_uint_eq(wt_f32_to_f16(1.0f + ldexpf(1, -11)), 0x3C00);
    /* 1 + 3 * 2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9: up */
    ck_assert_uint_eq(wt_f32_to_f16(1.0f + 3 * ldexpf(1, -11)), 0x3C02);
    uint16_t n = wt_f32_to_f16(NAN);
    ck_assert((n & 0x7C00) == 0x7C00 && (n & 0x3FF) != 0);
    ck_assert_uint_eq(wt_f32_to_f16(-NAN) & 0x8000, 0x8000);
    ck_assert(isinf(wt_f16_to_f32(0x7C00)) && wt_f16_to_f32(0x7C00) > 0);
    ck_assert(isnan(wt_f16_to_f32(0x7E00)));
    ck_assert(signbit(wt_f16_to_f32(0x8000)) && wt_f16_to_f32(0x8000) == 0);
    ck_assert_float_eq(wt_f16_to_f32(0x0001), ldexpf(1, -24));
    ck_assert_float_eq(wt_f16_to_f32(0x7BFF), 65504.0f);
}
END_TEST

START_TEST(test_bf16_edges) {
    ck_assert_uint_eq(wt_f32_to_bf16(0.0f), 0x0000);
    ck_assert_uint_eq(wt_f32_to_bf16(-0.0f), 0x8000);
    ck_assert_uint_eq(wt_f32_to_bf16(INFINITY), 0x7F80);
    ck_assert_uint_eq(wt_f32_to_bf16(-INFINITY), 0xFF80);
    ck_assert_uint_eq(wt_f32_to_bf16(1.0f), 0x3F80);
    ck_assert_uint_eq(wt_f32_to_bf16(FLT_MAX), 0x7F80);           /* rounds up past max: inf */
    ck_assert_uint_eq(wt_f32_to_bf16(bits_f32(0x7F7F7FFF)), 0x7F7F); /* below the midpoint */
    ck_assert_uint_eq(wt_f32_to_bf16(bits_f32(0x7F7F8000)), 0x7F80); /* midpoint, odd: up = inf */
    ck_assert_uint_eq(wt_f32_to_bf16(bits_f32(0x00000001)), 0x0000); /* tiny: to 0 */
    ck_assert_uint_eq(wt_f32_to_bf16(bits_f32(0x00008000)), 0x0000); /* tie, even 0 */
    ck_assert_uint_eq(wt_f32_to_bf16(bits_f32(0x00008001)), 0x0001); /* above the tie */
    ck_assert_uint_eq(wt_f32_to_bf16(bits_f32(0x00018000)), 0x0002); /* tie, odd: up */
    ck_assert_uint_eq(wt_f32_to_bf16(bits_f32(0x3F808000)), 0x3F80); /* 1 + 2^-8: even */
    ck_assert_uint_eq(wt_f32_to_bf16(bits_f32(0x3F818000)), 0x3F82); /* odd: up */
    uint16_t n = wt_f32_to_bf16(NAN);
    ck_assert((n & 0x7F80) == 0x7F80 && (n & 0x7F) != 0);
    /* a nan whose payload lives only in the low bits must stay nan */
    n = wt_f32_to_bf16(bits_f32(0x7F800001));
    ck_assert((n & 0x7F80) == 0x7F80 && (n & 0x7F) != 0);
    ck_assert_uint_eq(wt_f32_to_bf16(bits_f32(0xFF800001)) & 0x8000, 0x8000);
}
END_TEST

/* Every half pattern: decode matches the ldexp reference, and encoding the
 * decoded value gives the pattern back (nan: a quiet nan of the same sign). */
START_TEST(test_f16_exhaustive) {
    int bad_decode = 0, bad_round = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = wt_f16_to_f32((uint16_t)h);
        double want = ref_f16_decode((uint16_t)h);
        if (!(same_value(f, want) || (isnan(f) && isnan(want)))) bad_decode++;
        if (isnan(want) && (signbit(f) != 0) != ((h & 0x8000) != 0)) bad_decode++;
        uint16_t back = wt_f32_to_f16(f);
        if (isnan(want)) {
            if ((back & 0x7C00) != 0x7C00 || !(back & 0x3FF) || (back & 0x8000) != (h & 0x8000)) bad_round++;
        } else if (back != h) {
            bad_round++;
        }
    }
    ck_assert_int_eq(bad_decode, 0);
    ck_assert_int_eq(bad_round, 0);
}
END_TEST

START_TEST(test_bf16_exhaustive) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = wt_bf16_to_f32((uint16_t)h);
        if (f32_bits(f) != h << 16) bad++;
        uint16_t back = wt_f32_to_bf16(f);
        if (isnan(f) ? ((back & 0x7F80) != 0x7F80 || !(back & 0x7F) || (back & 0x8000) != (h & 0x8000))
                     : back != h)
            bad++;
    }
    ck_assert_int_eq(bad, 0);
}
END_TEST

/* Midpoints between consecutive finite halves (exact in f32) and their f32
 * neighbours, plus random f32 patterns, against the rint reference. */
START_TEST(test_f16_rounding) {
    ck_assert_int_eq(fegetround(), FE_TONEAREST);
    int bad = 0, checked = 0;
    for (uint32_t h = 0; h < 0x7BFF; h++) {
        double lo = ref_f16_decode((uint16_t)h), hi = ref_f16_decode((uint16_t)(h + 1));
        float mid = (float)((lo + hi) / 2);
        ck_assert_double_eq((double)mid, (lo + hi) / 2);
        float probes[3] = {mid, nextafterf(mid, 0), nextafterf(mid, INFINITY)};
        for (int k = 0; k < 3; k++) {
            for (int s = 0; s < 2; s++) {
                float p = s ? -probes[k] : probes[k];
                bad += !same_value(wt_f16_to_f32(wt_f32_to_f16(p)), ref_f16_round(p));
                checked++;
            }
        }
        /* ties go to the even pattern */
        bad += wt_f32_to_f16(mid) != ((h & 1) ? h + 1 : h);
    }
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 7);
    for (int i = 0; i < 200000; i++) {
        uint32_t u = (uint32_t)(wt_test_uniform(&rng, 0, 1) * 4294967296.0);
        float f = bits_f32(u);
        if (isnan(f)) continue;
        bad += !same_value(wt_f16_to_f32(wt_f32_to_f16(f)), ref_f16_round(f));
        checked++;
    }
    ck_assert_int_gt(checked, 100000);
    ck_assert_int_eq(bad, 0);
}
END_TEST

START_TEST(test_bf16_rounding) {
    int bad = 0;
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 11);
    for (int i = 0; i < 200000; i++) {
        uint32_t u = (uint32_t)(wt_test_uniform(&rng, 0, 1) * 4294967296.0);
        /* half the probes sit exactly on or next to a bf16 midpoint */
        if (i & 1) u = (u & 0xFFFF0000u) | 0x8000u | (uint32_t)(i & 2 ? 0 : 1);
        float f = bits_f32(u);
        if (isnan(f)) continue;
        bad += !same_value(wt_bf16_to_f32(wt_f32_to_bf16(f)), ref_bf16_round(f));
    }
    ck_assert_int_eq(bad, 0);
}
END_TEST

START_TEST(test_dtype_names) {
    wt_dtype t;
    ck_assert_int_eq(wt_dtype_parse("bfloat16", &t), 0);
    ck_assert_int_eq(t, WT_BF16);
    ck_assert_int_eq(wt_dtype_parse("f8", &t), -1);
    ck_assert_uint_eq(wt_dtype_size(WT_I64), 8);
    ck_assert_uint_eq(wt_dtype_size(WT_DTYPE_COUNT), 0);
    ck_assert_str_eq(wt_dtype_name(WT_F16), "f16");
}
END_TEST

int main(void) {
    Suite *s = suite_create("dtype");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_f16_edges);
    tcase_add_test(tc, test_bf16_edges);
    tcase_add_test(tc, test_f16_exhaustive);
    tcase_add_test(tc, test_bf16_exhaustive);
    tcase_add_test(tc, test_f16_rounding);
    tcase_add_test(tc, test_bf16_rounding);
    tcase_add_test(tc, test_dtype_names);
    suite_add_tcase(s, tc);
    return wt_test_run(s);
}
