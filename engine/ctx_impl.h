/* Private layout of wt_ctx (engine-internal). */
#ifndef WT_ENGINE_CTX_IMPL_H
#define WT_ENGINE_CTX_IMPL_H

#include "engine/backend.h"
#include "engine/pool.h"
#include "wavetensor/ctx.h"

/* Heap mode: every data allocation and every descriptor is a separate
 * allocation on a list so reset can free them all. */
typedef struct wt_heap_item {
    struct wt_heap_item *next;
    void *ptr;        /* backend memory (data) or NULL for a descriptor item */
    size_t bytes;     /* accounted data bytes */
    int is_desc;
} wt_heap_item;

struct wt_ctx {
    const wt_backend *backend;
    int threads;
    wt_pool *pool;           /* threads - 1 helpers; NULL for one thread */
    int is_arena;
    /* arena mode */
    unsigned char *arena;    /* backend memory, capacity bytes */
    size_t capacity;
    wt_tensor *descs;        /* host memory, max_descs entries */
    size_t max_descs;
    /* accounting (both modes) */
    size_t used, peak;
    size_t ndescs, peak_descs;
    wt_heap_item *items;     /* heap mode */
    /* heap mode: large blocks released to a mark (wt_ctx_release_), kept
     * for the next allocations of about their size */
    wt_heap_item *spare;
    int nspare;
    int weights; /* heap mode: allocations go through the backend's alloc_weights */
    uint64_t sys_allocs;
    wt_status status;
    char error[512];
};

/* Marks a heap context as a model's weights: its data from now on comes
 * from the backend's weights allocator (on the CPU: huge pages for large
 * blocks), as does wt_ctx_pack_'s block. */
void wt_ctx_hold_weights_(wt_ctx *ctx);

/* Moves the data of a heap context's tensors under WT_CTX_PACK_MAX bytes
 * into one allocation, in the order they were made, and repoints every
 * descriptor of the context (views included). For a model's weights once
 * loaded: on the CPU a block that large sits on huge pages, so a streaming
 * step reads its many small matrices as one run of memory instead of
 * hundreds of 4 KiB-paged ones (larger tensors already get huge pages of
 * their own). Raw pointers and views in other contexts taken before are
 * left dangling, so call it before anything else sees the tensors. No-op on
 * arenas and device backends; WT_ERR_NOMEM leaves the context as it was. */
#define WT_CTX_PACK_MAX ((size_t)8 << 20)
wt_status wt_ctx_pack_(wt_ctx *ctx);

/* A point in a heap context's history, and the release back to it: every
 * tensor made since is freed except `keep` (its descriptor and the block its
 * data lies in; NULL keeps nothing) and returned. Offline passes over long
 * inputs free each layer's temporaries this way, so their peak memory is a
 * layer's working set rather than the whole pass, and freed blocks are
 * reused instead of faulting in fresh pages. No-op on arenas (a step
 * rewinds its arena as a whole). */
/* Released blocks from this size up are kept (at most WT_CTX_SPARE_MAX of
 * them) for reuse by the context: a long offline pass frees and allocates
 * tensors of the same few sizes layer after layer, and a reused block skips
 * the kernel's zeroing of fresh pages (glibc maps blocks over 32 MiB afresh
 * each time). Host backends only; a device block is freed at once. */
#define WT_CTX_SPARE_MIN ((size_t)256 << 10)
#define WT_CTX_SPARE_MAX 8
typedef struct wt_ctx_mark {
    wt_heap_item *head;
} wt_ctx_mark;
wt_ctx_mark wt_ctx_mark_(const wt_ctx *ctx);
wt_tensor *wt_ctx_release_(wt_ctx *ctx, wt_ctx_mark mark, const wt_tensor *keep);

#endif
