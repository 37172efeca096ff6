/* The Llama golden references (../shared/golden/llama, its README) shared by
 * the CPU and device suites. Failures fail the calling Check test. */
#ifndef WT_TEST_LLAMA_H
#define WT_TEST_LLAMA_H

#include <stdint.h>

#include "wavetensor/llama.h"

/* Reference logits [rows, vocab] of tensor `name` in golden dir `dir`'s
 * logits.safetensors, as a new array; free() it. */
float *wt_test_llama_logits(const char *dir, const char *name, int64_t rows, int64_t vocab);

/* Greedy generation of `steps` tokens after prompt[0..np) into got[0..cap),
 * asserted against a golden case: the ids expect[0..ne), n_forward and the
 * stop reason ("bos" or "steps"). `name` labels the failures. */
void wt_test_llama_generate_check(wt_llama *m, const char *name, const int32_t *prompt, int64_t np,
                                  int64_t steps, const int32_t *expect, int64_t ne, int64_t nfwd,
                                  const char *stop, int32_t *got, int64_t cap);

/* The logits of toks[0..rows) against tensor `tensor` of golden dir `dir`
 * (rows x vocab), through both paths: one prefill (every row, and the
 * model's last-row logits) and one decode step per token, each within 1e-4
 * of the reference. `name` labels the failures. */
void wt_test_llama_logits_check(wt_llama *m, const char *name, const char *dir, const char *tensor,
                                const int32_t *toks, int64_t rows);

#endif
