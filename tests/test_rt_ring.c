/* The SPSC float ring: capacity rounding, partial writes when full,
 * wraparound across the buffer's end, peek/skip, and a two-thread stress
 * test checking every sample arrives once, in order. */
#include <pthread.h>
#include <stdlib.h>

#include "wavetensor/ring.h"
#include "wt_test.h"

START_TEST(test_capacity_rounds_up) {
    wt_ring *r = NULL;
    ck_assert_int_eq(wt_ring_new(100, &r), WT_OK);
    ck_assert_uint_eq(wt_ring_capacity(r), 128);
    ck_assert_uint_eq(wt_ring_read_available(r), 0);
    ck_assert_uint_eq(wt_ring_write_available(r), 128);
    wt_ring_free(r);
    ck_assert_int_eq(wt_ring_new(64, &r), WT_OK);
    ck_assert_uint_eq(wt_ring_capacity(r), 64);
    wt_ring_free(r);
    ck_assert_int_eq(wt_ring_new(0, &r), WT_ERR_INVALID);
    ck_assert_ptr_null(r);
}
END_TEST

START_TEST(test_full_and_empty) {
    wt_ring *r = NULL;
    ck_assert_int_eq(wt_ring_new(8, &r), WT_OK);
    float in[12], out[12];
    for (int i = 0; i < 12; i++) in[i] = (float)i + 1;
    ck_assert_uint_eq(wt_ring_write(r, in, 12), 8); /* only 8 fit */
    ck_assert_uint_eq(wt_ring_write(r, in, 1), 0);
    ck_assert_uint_eq(wt_ring_read(r, out, 12), 8);
    for (int i = 0; i < 8; i++) ck_assert_float_eq(out[i], (float)i + 1);
    ck_assert_uint_eq(wt_ring_read(r, out, 1), 0);
    wt_ring_free(r);
}
END_TEST

/* Writes and reads of coprime sizes walk the indices across the end of the
 * buffer many times; a plain array queue (reference) says what each read
 * must return. */
START_TEST(test_wraparound_peek_skip) {
    wt_ring *r = NULL;
    ck_assert_int_eq(wt_ring_new(16, &r), WT_OK);
    static float ref[8192];
    int ref_head = 0, ref_tail = 0, counter = 1, errors = 0;
    float buf[16], peeked[16];
    for (int round = 0; round < 1000; round++) {
        int nw = 1 + round % 7;
        for (int i = 0; i < nw; i++) buf[i] = (float)(counter + i);
        int w = (int)wt_ring_write(r, buf, (size_t)nw);
        if (w != (nw < 16 - (ref_head - ref_tail) ? nw : 16 - (ref_head - ref_tail))) errors++;
        for (int i = 0; i < w; i++) ref[ref_head++] = (float)counter++;
        if (round % 3 == 0) {
            int z = (int)wt_ring_write_zeros(r, 2);
            for (int i = 0; i < z; i++) ref[ref_head++] = 0.0f;
        }
        int nr = 1 + round % 5;
        int np = (int)wt_ring_peek(r, peeked, (size_t)nr);
        int got = (int)wt_ring_read(r, buf, (size_t)nr);
        int expect = nr < ref_head - ref_tail ? nr : ref_head - ref_tail;
        if (np != expect || got != expect) errors++;
        for (int i = 0; i < got; i++) {
            if (buf[i] != ref[ref_tail] || peeked[i] != ref[ref_tail]) errors++;
            ref_tail++;
        }
        if (round % 11 == 0) ref_tail += (int)wt_ring_skip(r, 1);
        if (ref_head > 8000) { /* keep the reference array small */
            int live = ref_head - ref_tail;
            for (int i = 0; i < live; i++) ref[i] = ref[ref_tail + i];
            ref_tail = 0;
            ref_head = live;
        }
    }
    ck_assert_int_eq(errors, 0);
    ck_assert_uint_eq(wt_ring_read_available(r), (size_t)(ref_head - ref_tail));
    wt_ring_free(r);
}
END_TEST

/* Zeros are written exactly where asked: write 1..3, 2 zeros, 4..5. */
START_TEST(test_write_zeros_positions) {
    wt_ring *r = NULL;
    ck_assert_int_eq(wt_ring_new(4, &r), WT_OK);
    float a[3] = {1, 2, 3}, b[2] = {4, 5}, out[4];
    /* Move the indices so the zeros wrap around the end. */
    ck_assert_uint_eq(wt_ring_write(r, a, 3), 3);
    ck_assert_uint_eq(wt_ring_read(r, out, 3), 3);
    ck_assert_uint_eq(wt_ring_write(r, a, 1), 1);
    ck_assert_uint_eq(wt_ring_write_zeros(r, 2), 2);
    ck_assert_uint_eq(wt_ring_write(r, b, 2), 1);
    ck_assert_uint_eq(wt_ring_read(r, out, 4), 4);
    ck_assert_float_eq(out[0], 1.0f);
    ck_assert_float_eq(out[1], 0.0f);
    ck_assert_float_eq(out[2], 0.0f);
    ck_assert_float_eq(out[3], 4.0f);
    wt_ring_free(r);
}
END_TEST

#define STRESS_N 2000000

typedef struct {
    wt_ring *r;
    long errors;
    long received;
} stress_reader;

static void *reader_main(void *arg) {
    stress_reader *s = arg;
    float buf[37];
    long expect = 0;
    int k = 0;
    while (expect < STRESS_N) {
        size_t n = wt_ring_read(s->r, buf, (size_t)(1 + (k++ % 37)));
        for (size_t i = 0; i < n; i++) {
            if (buf[i] != (float)(expect % 1000003)) s->errors++;
            expect++;
        }
    }
    s->received = expect;
    return NULL;
}

/* A producer and a consumer thread with unrelated chunk sizes: every value
 * arrives once and in order (a missing release/acquire shows up here as
 * stale or torn data, and under ThreadSanitizer as a race). */
START_TEST(test_two_thread_stress) {
    wt_ring *r = NULL;
    ck_assert_int_eq(wt_ring_new(256, &r), WT_OK);
    stress_reader s = {.r = r};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, reader_main, &s), 0);
    float buf[53];
    long sent = 0;
    int k = 0;
    while (sent < STRESS_N) {
        int want = 1 + (k++ % 53);
        if (want > STRESS_N - sent) want = (int)(STRESS_N - sent);
        for (int i = 0; i < want; i++) buf[i] = (float)((sent + i) % 1000003);
        sent += (long)wt_ring_write(r, buf, (size_t)want);
    }
    pthread_join(th, NULL);
    ck_assert_int_eq(s.errors, 0);
    ck_assert_int_eq(s.received, STRESS_N);
    ck_assert_uint_eq(wt_ring_read_available(r), 0);
    wt_ring_free(r);
}
END_TEST

/* Reads and writes allocate nothing. */
START_TEST(test_no_allocation) {
    wt_ring *r = NULL;
    ck_assert_int_eq(wt_ring_new(64, &r), WT_OK);
    float buf[40] = {0};
    uint64_t before = wt_test_alloc_calls();
    for (int i = 0; i < 1000; i++) {
        wt_ring_write(r, buf, 40);
        wt_ring_write_zeros(r, 3);
        wt_ring_peek(r, buf, 10);
        wt_ring_skip(r, 3);
        wt_ring_read(r, buf, 40);
    }
    uint64_t after = wt_test_alloc_calls();
    ck_assert_uint_eq(after - before, 0);
    wt_ring_free(r);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("rt_ring");
    TCase *tc = tcase_create("ring");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_capacity_rounds_up);
    tcase_add_test(tc, test_full_and_empty);
    tcase_add_test(tc, test_wraparound_peek_skip);
    tcase_add_test(tc, test_write_zeros_positions);
    tcase_add_test(tc, test_two_thread_stress);
    tcase_add_test(tc, test_no_allocation);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return wt_test_run(suite()); }
