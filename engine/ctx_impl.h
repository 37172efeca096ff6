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
    uint64_t sys_allocs;
    wt_status status;
    char error[512];
};

#endif
