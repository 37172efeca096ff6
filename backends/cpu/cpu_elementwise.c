/* STUB: to be replaced by the real implementation. */
#include "backends/cpu/cpu_ops.h"

wt_status wt_cpu_fill(wt_tensor *dst, double v) {
    (void)dst;
    (void)v;
    return wt_error(WT_ERR_UNSUPPORTED, "wt_cpu_fill: not implemented");
}

wt_status wt_cpu_copy(wt_tensor *dst, const wt_tensor *src) {
    (void)dst;
    (void)src;
    return wt_error(WT_ERR_UNSUPPORTED, "wt_cpu_copy: not implemented");
}

wt_status wt_cpu_unary(wt_unary_op op, wt_tensor *dst, const wt_tensor *x, float param) {
    (void)op;
    (void)dst;
    (void)x;
    (void)param;
    return wt_error(WT_ERR_UNSUPPORTED, "wt_cpu_unary: not implemented");
}

wt_status wt_cpu_binary(wt_binary_op op, wt_tensor *dst, const wt_tensor *a, const wt_tensor *b) {
    (void)op;
    (void)dst;
    (void)a;
    (void)b;
    return wt_error(WT_ERR_UNSUPPORTED, "wt_cpu_binary: not implemented");
}

wt_status wt_cpu_affine(wt_tensor *dst, const wt_tensor *x, float scale, float bias) {
    (void)dst;
    (void)x;
    (void)scale;
    (void)bias;
    return wt_error(WT_ERR_UNSUPPORTED, "wt_cpu_affine: not implemented");
}

wt_status wt_cpu_reduce(wt_reduce_op op, wt_tensor *dst, const wt_tensor *x, int dim) {
    (void)op;
    (void)dst;
    (void)x;
    (void)dim;
    return wt_error(WT_ERR_UNSUPPORTED, "wt_cpu_reduce: not implemented");
}
