/* The CPU backend: host memory and the op table (ops live in cpu_*.c). */
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_ops.h"

static void *cpu_alloc(size_t bytes) {
    size_t n = (bytes + 63) & ~(size_t)63;
    return aligned_alloc(64, n ? n : 64);
}

static void cpu_free(void *p) { free(p); }

static wt_status cpu_memcpy(void *dst, const void *src, size_t bytes) {
    if (bytes) memcpy(dst, src, bytes);
    return WT_OK;
}

static const struct wt_backend k_cpu_backend = {
    .name = "cpu",
    .host = true,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_memcpy,
    .download = cpu_memcpy,
    .fill = wt_cpu_fill,
    .copy = wt_cpu_copy,
    .unary = wt_cpu_unary,
    .binary = wt_cpu_binary,
    .affine = wt_cpu_affine,
    .matmul = wt_cpu_matmul,
    .index_select = wt_cpu_index_select,
    .scatter_set = wt_cpu_scatter_set,
    .softmax = wt_cpu_softmax,
    .attention = wt_cpu_attention,
    .rms_norm = wt_cpu_rms_norm,
    .layer_norm = wt_cpu_layer_norm,
    .group_norm = wt_cpu_group_norm,
    .reduce = wt_cpu_reduce,
    .rope = wt_cpu_rope,
    .conv1d = wt_cpu_conv1d,
    .conv_transpose1d = wt_cpu_conv_transpose1d,
    .glu = wt_cpu_glu,
    .pad = wt_cpu_pad,
};

const wt_backend *wt_cpu_backend(void) { return &k_cpu_backend; }
