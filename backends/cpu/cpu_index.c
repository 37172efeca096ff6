/* STUB: to be replaced by the real implementation. */
#include "backends/cpu/cpu_ops.h"

wt_status wt_cpu_index_select(wt_tensor *dst, const wt_tensor *src, int dim, const wt_tensor *idx) {
    (void)dst;
    (void)src;
    (void)dim;
    (void)idx;
    return wt_error(WT_ERR_UNSUPPORTED, "wt_cpu_index_select: not implemented");
}

wt_status wt_cpu_scatter_set(wt_tensor *dst, int dim, const wt_tensor *idx, const wt_tensor *src) {
    (void)dst;
    (void)dim;
    (void)idx;
    (void)src;
    return wt_error(WT_ERR_UNSUPPORTED, "wt_cpu_scatter_set: not implemented");
}

wt_status wt_cpu_rope(wt_tensor *dst, const wt_tensor *x, const wt_tensor *pos, float base,
                      wt_rope_layout layout) {
    (void)dst;
    (void)x;
    (void)pos;
    (void)base;
    (void)layout;
    return wt_error(WT_ERR_UNSUPPORTED, "wt_cpu_rope: not implemented");
}

wt_status wt_cpu_glu(wt_tensor *dst, const wt_tensor *x, int dim) {
    (void)dst;
    (void)x;
    (void)dim;
    return wt_error(WT_ERR_UNSUPPORTED, "wt_cpu_glu: not implemented");
}

wt_status wt_cpu_pad(wt_tensor *dst, const wt_tensor *x, int dim, int64_t left, wt_pad_mode mode,
                     double value) {
    (void)dst;
    (void)x;
    (void)dim;
    (void)left;
    (void)mode;
    (void)value;
    return wt_error(WT_ERR_UNSUPPORTED, "wt_cpu_pad: not implemented");
}
