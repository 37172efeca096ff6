/* STUB: to be replaced by the real implementation. */
#include "backends/cpu/cpu_ops.h"

wt_status wt_cpu_conv1d(wt_tensor *dst, const wt_tensor *x, const wt_tensor *w,
                        const wt_tensor *bias, int stride, int pad_left, int dilation, int groups,
                        int nthreads) {
    (void)dst;
    (void)x;
    (void)w;
    (void)bias;
    (void)stride;
    (void)pad_left;
    (void)dilation;
    (void)groups;
    (void)nthreads;
    return wt_error(WT_ERR_UNSUPPORTED, "wt_cpu_conv1d: not implemented");
}

wt_status wt_cpu_conv_transpose1d(wt_tensor *dst, const wt_tensor *x, const wt_tensor *w,
                                  const wt_tensor *bias, int stride, int padding, int dilation,
                                  int groups) {
    (void)dst;
    (void)x;
    (void)w;
    (void)bias;
    (void)stride;
    (void)padding;
    (void)dilation;
    (void)groups;
    return wt_error(WT_ERR_UNSUPPORTED, "wt_cpu_conv_transpose1d: not implemented");
}
