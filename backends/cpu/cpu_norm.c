/* STUB: to be replaced by the real implementation. */
#include "backends/cpu/cpu_ops.h"

wt_status wt_cpu_softmax(wt_tensor *dst, const wt_tensor *x, float scale, const wt_tensor *mask,
                         wt_mask_kind kind, int64_t window) {
    (void)dst;
    (void)x;
    (void)scale;
    (void)mask;
    (void)kind;
    (void)window;
    return wt_error(WT_ERR_UNSUPPORTED, "wt_cpu_softmax: not implemented");
}

wt_status wt_cpu_rms_norm(wt_tensor *dst, const wt_tensor *x, const wt_tensor *w, float eps) {
    (void)dst;
    (void)x;
    (void)w;
    (void)eps;
    return wt_error(WT_ERR_UNSUPPORTED, "wt_cpu_rms_norm: not implemented");
}

wt_status wt_cpu_layer_norm(wt_tensor *dst, const wt_tensor *x, const wt_tensor *w,
                            const wt_tensor *b, float eps) {
    (void)dst;
    (void)x;
    (void)w;
    (void)b;
    (void)eps;
    return wt_error(WT_ERR_UNSUPPORTED, "wt_cpu_layer_norm: not implemented");
}

wt_status wt_cpu_group_norm(wt_tensor *dst, const wt_tensor *x, int groups, const wt_tensor *w,
                            const wt_tensor *b, float eps) {
    (void)dst;
    (void)x;
    (void)groups;
    (void)w;
    (void)b;
    (void)eps;
    return wt_error(WT_ERR_UNSUPPORTED, "wt_cpu_group_norm: not implemented");
}
