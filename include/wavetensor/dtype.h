/* wavetensor element types and exact scalar conversions.
 * Owns: wt_dtype, element sizes, f16/bf16 <-> f32 conversion (IEEE 754, round to
 * nearest even, inf/nan/subnormals exact). Pure functions: thread and callback safe. */
#ifndef WAVETENSOR_DTYPE_H
#define WAVETENSOR_DTYPE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum wt_dtype {
    WT_F32 = 0,
    WT_F16,
    WT_BF16,
    WT_I64,
    WT_U8,
    WT_DTYPE_COUNT
} wt_dtype;

/* Bytes per element (0 for an invalid dtype). */
size_t wt_dtype_size(wt_dtype t);
/* Lower-case name: "f32", "f16", "bf16", "i64", "u8" ("?" when invalid). */
const char *wt_dtype_name(wt_dtype t);
/* Parses "f32"/"float32", "f16"/"float16", "bf16"/"bfloat16", "i64", "u8";
 * returns 0 and sets *out, or -1. */
int wt_dtype_parse(const char *s, wt_dtype *out);

/* IEEE conversions. f32 -> f16/bf16 round to nearest even; overflow gives inf;
 * nan stays nan (quiet, sign kept). */
uint16_t wt_f32_to_f16(float f);
float wt_f16_to_f32(uint16_t h);
uint16_t wt_f32_to_bf16(float f);
float wt_bf16_to_f32(uint16_t b);

#ifdef __cplusplus
}
#endif
#endif
