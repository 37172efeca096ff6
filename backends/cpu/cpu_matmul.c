/* STUB: to be replaced by the real implementation. */
#include "backends/cpu/cpu_ops.h"

wt_status wt_cpu_matmul(wt_tensor *dst, const wt_tensor *a, const wt_tensor *b, int nthreads) {
    (void)dst;
    (void)a;
    (void)b;
    (void)nthreads;
    return wt_error(WT_ERR_UNSUPPORTED, "wt_cpu_matmul: not implemented");
}
