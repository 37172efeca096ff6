/* wavetensor contexts: where tensors live and which backend computes on them.
 * Owns: the two allocation modes of DESIGN.md. A heap context allocates each
 * tensor separately (loading, offline work). An arena context reserves one
 * block once and bump-allocates from it; wt_ctx_reset rewinds it, so a
 * streaming step that only uses an arena context never calls malloc.
 * A context also carries a sticky error: after the first failing op every op
 * on the context returns NULL until wt_ctx_clear_error, so model code can chain
 * ops and check once. Not thread safe: one context per thread at a time. */
#ifndef WAVETENSOR_CTX_H
#define WAVETENSOR_CTX_H

#include <stddef.h>
#include <stdint.h>

#include "wavetensor/status.h"
#include "wavetensor/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wt_backend wt_backend;

/* The CPU backend (always present). */
const wt_backend *wt_cpu_backend(void);
/* The backend called `name` ("cpu", "cuda"), or NULL when not built/available. */
const wt_backend *wt_backend_by_name(const char *name);

/* Heap context: every tensor is its own allocation, freed by reset or free.
 * It records the peak bytes and tensor descriptors live at once
 * (wt_ctx_peak_bytes, wt_ctx_peak_tensors), which is how an arena is planned:
 * run one step on a heap context (dry run), then create an arena that size. */
wt_ctx *wt_ctx_new_heap(const wt_backend *be);
/* Arena context with `bytes` bytes of backend memory for tensor data and room
 * for `max_tensors` descriptors (host memory), both reserved now. Running out
 * is an error (WT_ERR_NOMEM, "arena exhausted"), never a silent malloc. */
wt_ctx *wt_ctx_new_arena(const wt_backend *be, size_t bytes, size_t max_tensors);
/* Arena sized from a heap context that ran the same work once (peaks plus a
 * small margin for alignment). */
wt_ctx *wt_ctx_new_arena_like(const wt_ctx *planned);
void wt_ctx_free(wt_ctx *ctx);

/* Releases every tensor of the context (heap: frees them; arena: rewinds to
 * the start). Clears the sticky error. Arena reset never allocates or frees. */
void wt_ctx_reset(wt_ctx *ctx);

const wt_backend *wt_ctx_backend(const wt_ctx *ctx);
/* Data bytes allocated now / most ever allocated at once (with alignment),
 * and the same for tensor descriptors. */
size_t wt_ctx_used_bytes(const wt_ctx *ctx);
size_t wt_ctx_peak_bytes(const wt_ctx *ctx);
size_t wt_ctx_peak_tensors(const wt_ctx *ctx);
size_t wt_ctx_capacity(const wt_ctx *ctx); /* arena size; 0 for heap */

/* Threads the context's ops may use for heavy ops (matmul, conv) on the CPU.
 * 1 by default: a real-time step runs on one worker that must not compete
 * with the audio thread or other streams for cores; batch work (offline
 * encode, LLM prefill, benchmarks) asks for more. n > 1 starts n - 1
 * persistent helper threads here (the context owns them until n changes or
 * wt_ctx_free), so ops never start threads or allocate to use them. */
void wt_ctx_set_threads(wt_ctx *ctx, int n);
int wt_ctx_threads(const wt_ctx *ctx);

/* Raw 64-byte aligned bytes of the context's backend memory (NULL and a
 * sticky error when exhausted). */
void *wt_ctx_alloc(wt_ctx *ctx, size_t bytes);
/* A zeroed tensor descriptor in host memory (for views). */
wt_tensor *wt_ctx_new_desc(wt_ctx *ctx);

/* Sticky error. wt_ctx_fail records the first failure (and the thread's last
 * error) and returns s; later failures keep the first message. */
wt_status wt_ctx_status(const wt_ctx *ctx);
const char *wt_ctx_error(const wt_ctx *ctx);
wt_status wt_ctx_fail(wt_ctx *ctx, wt_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void wt_ctx_clear_error(wt_ctx *ctx);

/* How many times this context has asked the system allocator for memory
 * (an arena: once, at creation). Tests also count malloc independently with
 * linker-wrapped malloc. */
uint64_t wt_ctx_sys_allocs(const wt_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif
