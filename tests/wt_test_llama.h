/* The Llama golden references (../shared/golden/llama, its README) shared by
 * the CPU and device suites. Failures fail the calling Check test. */
#ifndef WT_TEST_LLAMA_H
#define WT_TEST_LLAMA_H

#include <stdint.h>

/* Reference logits [rows, vocab] of tensor `name` in golden dir `dir`'s
 * logits.safetensors, as a new array; free() it. */
float *wt_test_llama_logits(const char *dir, const char *name, int64_t rows, int64_t vocab);

#endif
