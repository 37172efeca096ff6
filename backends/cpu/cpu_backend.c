/* The CPU backend: host memory and the op table (ops live in cpu_*.c). */
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "backends/cpu/cpu_ops.h"

static void *cpu_alloc(size_t bytes) {
    size_t n = (bytes + 63) & ~(size_t)63;
    return aligned_alloc(64, n ? n : 64);
}

/* Weight blocks of a huge page or more (a model's packed small tensors,
 * large matrices) are placed on 2 MiB boundaries and asked to be backed by
 * transparent huge pages. A decode step streams gigabytes of weights once
 * each; on 4 KiB pages each page is a TLB miss and a point where the
 * hardware prefetcher stops, and a 1-row f32 mat-vec over 1 GB of weights ran
 * at ~20 GB/s here against ~28 on huge pages (llama2.c gets much of that from
 * the page cache's large folios behind its mmap); a streaming step's KV
 * rings read at 25 GB/s on them against 13-17 on 4 KiB pages. Only memory
 * that lives long (weights, stream state, step arenas): activations of an
 * offline pass are written once and freed, and a huge page's first touch
 * can stall on the kernel compacting memory for it (a 10 s Mimi encode ran
 * 30% slower with its activations on huge pages). */
#define WT_CPU_HUGE_PAGE ((size_t)2 << 20)

static void *cpu_alloc_weights(size_t bytes) {
    size_t n = (bytes + 63) & ~(size_t)63;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (n >= WT_CPU_HUGE_PAGE) {
        size_t whole = (n + WT_CPU_HUGE_PAGE - 1) & ~(WT_CPU_HUGE_PAGE - 1);
        void *p = aligned_alloc(WT_CPU_HUGE_PAGE, whole);
        /* only the bytes asked for: a huge page past them would be memory
         * the caller never uses; advice that fails only costs speed */
        if (p) (void)madvise(p, n, MADV_HUGEPAGE);
        return p;
    }
#endif
    return cpu_alloc(bytes);
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
    .alloc_weights = cpu_alloc_weights,
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
