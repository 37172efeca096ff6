/* The CUDA backend's entry points beyond the op table: lookup, its stream,
 * synchronisation and the graph capture/replay of a streaming step.
 * Owns: nothing but declarations (backends/cuda/cuda_backend.cu). Present
 * only in builds with WT_HAVE_CUDA; the emulated test build gives them C++
 * linkage in a namespace of its own. A capture records what the ops launch
 * on the backend's stream; it must not contain allocations,
 * synchronisations or host reads of device memory (upload/download, index
 * checks): those spoil it and wt_cuda_capture_end reports it. */
#ifndef WT_CUDA_BACKEND_H
#define WT_CUDA_BACKEND_H

#include "engine/backend.h"

#if defined(__cplusplus) && !defined(WT_CUDA_EMU)
extern "C" {
#endif

/* The backend, or NULL (reason as the thread's last error) without a device. */
const wt_backend *wt_cuda_backend(void);
/* The backend's cudaStream_t. */
void *wt_cuda_stream(void);
/* Waits for the stream; reports a failed kernel. */
wt_status wt_cuda_sync(void);

typedef struct wt_cuda_graph wt_cuda_graph;
/* Starts recording the backend's stream: ops launched until
 * wt_cuda_capture_end are recorded, not run. */
wt_status wt_cuda_capture_begin(void);
/* Ends the recording and instantiates it; NULL (and the reason) when the
 * capture was spoiled. Allocates (host memory, once). */
wt_cuda_graph *wt_cuda_capture_end(void);
/* Replays the recorded step on the stream (asynchronous). */
wt_status wt_cuda_graph_launch(wt_cuda_graph *g);
void wt_cuda_graph_free(wt_cuda_graph *g);

#if defined(__cplusplus) && !defined(WT_CUDA_EMU)
}
#endif
#endif
