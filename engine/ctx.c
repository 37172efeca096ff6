/* Contexts: heap and arena allocation of tensors, sticky errors. */
#include "engine/ctx_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WT_ALIGN 64

static size_t align_up(size_t n) { return (n + WT_ALIGN - 1) & ~(size_t)(WT_ALIGN - 1); }

static wt_ctx *ctx_new(const wt_backend *be) {
    if (!be) be = wt_cpu_backend();
    wt_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        wt_error(WT_ERR_NOMEM, "out of memory creating a context");
        return NULL;
    }
    ctx->backend = be;
    ctx->threads = 1;
    ctx->sys_allocs = 1;
    return ctx;
}

wt_ctx *wt_ctx_new_heap(const wt_backend *be) { return ctx_new(be); }

wt_ctx *wt_ctx_new_arena(const wt_backend *be, size_t bytes, size_t max_tensors) {
    wt_ctx *ctx = ctx_new(be);
    if (!ctx) return NULL;
    ctx->is_arena = 1;
    ctx->capacity = align_up(bytes ? bytes : 1);
    ctx->max_descs = max_tensors ? max_tensors : 1;
    /* an arena is reserved once and reused by every step: memory read again
     * and again, as weights are */
    const wt_backend *b = ctx->backend;
    ctx->arena = b->alloc_weights ? b->alloc_weights(ctx->capacity) : b->alloc(ctx->capacity);
    ctx->descs = calloc(ctx->max_descs, sizeof *ctx->descs);
    ctx->sys_allocs += 2;
    if (!ctx->arena || !ctx->descs) {
        wt_error(WT_ERR_NOMEM, "cannot reserve an arena of %zu bytes", ctx->capacity);
        wt_ctx_free(ctx);
        return NULL;
    }
    /* fault its pages in now, not in a live stream's first steps (a huge
     * page's first touch can also wait for the kernel to compact memory) */
    if (b->host) memset(ctx->arena, 0, ctx->capacity);
    return ctx;
}

wt_ctx *wt_ctx_new_arena_like(const wt_ctx *planned) {
    /* The margin covers alignment differences between plan and replay; the
     * work itself is the same every step, so no more is needed. */
    size_t bytes = planned->peak + planned->peak / 64 + 4096;
    size_t descs = planned->peak_descs + planned->peak_descs / 16 + 16;
    wt_ctx *ctx = wt_ctx_new_arena(planned->backend, bytes, descs);
    if (ctx) wt_ctx_set_threads(ctx, planned->threads);
    return ctx;
}

static void free_items(wt_ctx *ctx, wt_heap_item *it) {
    while (it) {
        wt_heap_item *next = it->next;
        if (it->ptr) ctx->backend->free(it->ptr);
        free(it);
        it = next;
    }
}

static void heap_release(wt_ctx *ctx) {
    free_items(ctx, ctx->items);
    free_items(ctx, ctx->spare);
    ctx->items = ctx->spare = NULL;
    ctx->nspare = 0;
}

void wt_ctx_free(wt_ctx *ctx) {
    if (!ctx) return;
    heap_release(ctx);
    wt_pool_free(ctx->pool);
    if (ctx->arena) ctx->backend->free(ctx->arena);
    free(ctx->descs);
    free(ctx);
}

void wt_ctx_reset(wt_ctx *ctx) {
    if (!ctx->is_arena) heap_release(ctx);
    ctx->used = 0;
    ctx->ndescs = 0;
    wt_ctx_clear_error(ctx);
}

const wt_backend *wt_ctx_backend(const wt_ctx *ctx) { return ctx->backend; }
size_t wt_ctx_used_bytes(const wt_ctx *ctx) { return ctx->used; }
size_t wt_ctx_peak_bytes(const wt_ctx *ctx) { return ctx->peak; }
size_t wt_ctx_peak_tensors(const wt_ctx *ctx) { return ctx->peak_descs; }
size_t wt_ctx_capacity(const wt_ctx *ctx) { return ctx->is_arena ? ctx->capacity : 0; }
uint64_t wt_ctx_sys_allocs(const wt_ctx *ctx) { return ctx->sys_allocs; }

/* The pool is started here, once, so that steps never start threads; a
 * pool that could start fewer helpers than asked simply runs fewer chunks. */
void wt_ctx_set_threads(wt_ctx *ctx, int n) {
    n = n < 1 ? 1 : n;
    if (n == ctx->threads) return;
    wt_pool_free(ctx->pool);
    ctx->pool = wt_pool_new(n);
    ctx->threads = n;
}
struct wt_pool *wt_ctx_pool_(const wt_ctx *ctx) { return ctx->pool; }
int wt_ctx_threads(const wt_ctx *ctx) { return ctx->threads; }

static int heap_track(wt_ctx *ctx, void *ptr, size_t bytes, int is_desc) {
    wt_heap_item *it = malloc(sizeof *it);
    ctx->sys_allocs++;
    if (!it) return 0;
    it->ptr = ptr;
    it->bytes = bytes;
    it->is_desc = is_desc;
    it->next = ctx->items;
    ctx->items = it;
    return 1;
}

void wt_ctx_hold_weights_(wt_ctx *ctx) { ctx->weights = 1; }

static void *heap_alloc(wt_ctx *ctx, size_t n) {
    const wt_backend *be = ctx->backend;
    return ctx->weights && be->alloc_weights ? be->alloc_weights(n) : be->alloc(n);
}

/* A spare block for *n bytes wasting at most half of it, moved to the live
 * items (*n becomes its size); NULL when none fits. */
static void *spare_take(wt_ctx *ctx, size_t *n) {
    if (*n < WT_CTX_SPARE_MIN) return NULL;
    wt_heap_item **best = NULL;
    for (wt_heap_item **l = &ctx->spare; *l; l = &(*l)->next)
        if ((*l)->bytes >= *n && (*l)->bytes - *n <= (*l)->bytes / 2 &&
            (!best || (*l)->bytes < (*best)->bytes))
            best = l;
    if (!best) return NULL;
    wt_heap_item *it = *best;
    *best = it->next;
    ctx->nspare--;
    it->next = ctx->items;
    ctx->items = it;
    *n = it->bytes;
    return it->ptr;
}

/* Keeps a released data item as a spare, or frees it (a small block, or
 * the spares are full: the oldest goes). */
static void spare_put(wt_ctx *ctx, wt_heap_item *it) {
    if (it->bytes < WT_CTX_SPARE_MIN || !ctx->backend->host) {
        ctx->backend->free(it->ptr);
        free(it);
        return;
    }
    it->next = ctx->spare;
    ctx->spare = it;
    if (++ctx->nspare > WT_CTX_SPARE_MAX) {
        wt_heap_item **l = &ctx->spare;
        while ((*l)->next) l = &(*l)->next;
        free_items(ctx, *l);
        *l = NULL;
        ctx->nspare--;
    }
}

void *wt_ctx_alloc(wt_ctx *ctx, size_t bytes) {
    size_t n = align_up(bytes ? bytes : 1);
    void *p;
    if (ctx->is_arena) {
        if (n > ctx->capacity - ctx->used) {
            wt_ctx_fail(ctx, WT_ERR_NOMEM,
                        "arena exhausted: %zu bytes asked, %zu of %zu free (plan the arena with a dry run)",
                        bytes, ctx->capacity - ctx->used, ctx->capacity);
            return NULL;
        }
        p = ctx->arena + ctx->used;
    } else if ((p = spare_take(ctx, &n)) != NULL) {
        /* n is now the reused block's size */
    } else {
        p = heap_alloc(ctx, n);
        ctx->sys_allocs++;
        if (!p || !heap_track(ctx, p, n, 0)) {
            if (p) ctx->backend->free(p);
            wt_ctx_fail(ctx, WT_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
            return NULL;
        }
    }
    ctx->used += n;
    if (ctx->used > ctx->peak) ctx->peak = ctx->used;
    return p;
}

/* The descriptor that shares a heap item's allocation. */
static wt_tensor *item_desc(wt_heap_item *it) {
    return (wt_tensor *)(void *)((unsigned char *)it + ((sizeof *it + 15) & ~(size_t)15));
}

typedef struct pack_move {
    unsigned char *from, *to;
    size_t bytes;
} pack_move;

static int move_cmp(const void *a, const void *b) {
    const pack_move *x = a, *y = b;
    return x->from < y->from ? -1 : x->from > y->from;
}

/* The move whose source holds p, or NULL; an empty tensor may also point
 * one past a source's end. moves sorted by source. */
static const pack_move *move_find(const pack_move *mv, size_t n, const unsigned char *p,
                                  int empty) {
    size_t lo = 0, hi = n;
    while (lo < hi) { /* first move starting after p */
        size_t mid = (lo + hi) / 2;
        if (mv[mid].from <= p) lo = mid + 1;
        else hi = mid;
    }
    if (lo == 0) return NULL;
    const pack_move *m = &mv[lo - 1];
    return p < m->from + m->bytes || (empty && p == m->from + m->bytes) ? m : NULL;
}

/* A data block wt_ctx_pack_ moves. */
static int packable(const wt_heap_item *it) { return !it->is_desc && it->bytes < WT_CTX_PACK_MAX; }

wt_status wt_ctx_pack_(wt_ctx *ctx) {
    if (ctx->is_arena || !ctx->backend->host) return WT_OK;
    size_t n = 0, total = 0;
    for (wt_heap_item *it = ctx->items; it; it = it->next)
        if (packable(it)) n++, total += it->bytes;
    if (n < 2) return WT_OK;
    pack_move *mv = malloc(n * sizeof *mv);
    wt_heap_item *whole = malloc(sizeof *whole);
    unsigned char *block = heap_alloc(ctx, total);
    if (!mv || !whole || !block) {
        free(mv);
        free(whole);
        if (block) ctx->backend->free(block);
        return wt_ctx_fail(ctx, WT_ERR_NOMEM, "out of memory packing %zu bytes of tensors", total);
    }
    ctx->sys_allocs += 3;
    /* the list runs newest first: fill from the back for allocation order */
    size_t k = n, off = total;
    for (wt_heap_item *it = ctx->items; it; it = it->next)
        if (packable(it)) {
            off -= it->bytes;
            mv[--k] = (pack_move){it->ptr, block + off, it->bytes};
            memcpy(block + off, it->ptr, it->bytes);
        }
    qsort(mv, n, sizeof *mv, move_cmp);
    for (wt_heap_item *it = ctx->items; it; it = it->next) {
        if (!it->is_desc) continue;
        wt_tensor *t = item_desc(it);
        const pack_move *m = t->data ? move_find(mv, n, t->data, wt_numel(t) == 0) : NULL;
        if (m) t->data = m->to + ((unsigned char *)t->data - m->from);
    }
    /* drop the moved items; the block becomes one item */
    wt_heap_item **link = &ctx->items;
    while (*link) {
        wt_heap_item *it = *link;
        if (packable(it)) {
            *link = it->next;
            ctx->backend->free(it->ptr);
            free(it);
        } else {
            link = &it->next;
        }
    }
    *whole = (wt_heap_item){.next = ctx->items, .ptr = block, .bytes = total, .is_desc = 0};
    ctx->items = whole;
    free(mv);
    return WT_OK;
}

wt_ctx_mark wt_ctx_mark_(const wt_ctx *ctx) { return (wt_ctx_mark){ctx->items}; }

/* Whether heap item `it` holds keep's descriptor or the block of its data. */
static int item_keeps(wt_heap_item *it, const wt_tensor *keep) {
    if (!keep) return 0;
    if (it->is_desc) return item_desc(it) == keep;
    const unsigned char *p = keep->data, *b = it->ptr;
    return p && p >= b && p <= b + it->bytes;
}

wt_tensor *wt_ctx_release_(wt_ctx *ctx, wt_ctx_mark mark, const wt_tensor *keep) {
    if (ctx->is_arena) return (wt_tensor *)keep; /* the caller's tensor, handed back */
    wt_heap_item *kept = NULL, **tail = &kept;
    wt_heap_item *it = ctx->items;
    while (it && it != mark.head) {
        wt_heap_item *next = it->next;
        if (item_keeps(it, keep)) {
            *tail = it; /* keeps the list's order */
            tail = &it->next;
        } else {
            if (it->is_desc) {
                ctx->ndescs--;
                free(it);
            } else {
                ctx->used -= it->bytes;
                spare_put(ctx, it);
            }
        }
        it = next;
    }
    *tail = it;
    ctx->items = kept ? kept : it;
    return (wt_tensor *)keep;
}

wt_tensor *wt_ctx_new_desc(wt_ctx *ctx) {
    wt_tensor *t;
    if (ctx->is_arena) {
        if (ctx->ndescs >= ctx->max_descs) {
            wt_ctx_fail(ctx, WT_ERR_NOMEM, "arena exhausted: more than %zu tensors in one step",
                        ctx->max_descs);
            return NULL;
        }
        t = &ctx->descs[ctx->ndescs];
        memset(t, 0, sizeof *t);
    } else {
        /* the list item and the descriptor share one allocation */
        wt_heap_item *it = calloc(1, sizeof *it + sizeof(wt_tensor) + 16);
        ctx->sys_allocs++;
        if (!it) {
            wt_ctx_fail(ctx, WT_ERR_NOMEM, "out of memory allocating a tensor");
            return NULL;
        }
        it->is_desc = 1;
        it->next = ctx->items;
        ctx->items = it;
        t = item_desc(it);
    }
    ctx->ndescs++;
    if (ctx->ndescs > ctx->peak_descs) ctx->peak_descs = ctx->ndescs;
    t->backend = ctx->backend;
    return t;
}

wt_status wt_ctx_status(const wt_ctx *ctx) { return ctx->status; }
const char *wt_ctx_error(const wt_ctx *ctx) { return ctx->error; }

wt_status wt_ctx_fail(wt_ctx *ctx, wt_status s, const char *fmt, ...) {
    if (ctx->status == WT_OK) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->error, sizeof ctx->error, fmt, ap);
        va_end(ap);
        ctx->status = s;
    }
    wt_error(s, "%s", ctx->error);
    return s;
}

void wt_ctx_clear_error(wt_ctx *ctx) {
    ctx->status = WT_OK;
    ctx->error[0] = '\0';
}
