/* The device a device test suite (tests/test_cuda_*.c) runs on: the real
 * CUDA backend, or with WT_TEST_CUDA_EMU (tests/cuda_emu) the same host code
 * and kernels over the fiber emulation. Without a device the suite prints
 * "skipped: no CUDA device" and exits SKIP_CODE, which ctest reports as
 * skipped, never as passed. The graph entry points are also reachable
 * through the backend table (wt_backend.capture_begin, ...). */
#ifndef WT_TEST_DEV_H
#define WT_TEST_DEV_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/backend.h"

#define SKIP_CODE 77

#if defined(WT_TEST_CUDA_EMU)
const wt_backend *wt_emu_cuda_backend(void);
wt_status wt_emu_cuda_sync(void);
wt_status wt_emu_cuda_capture_begin(void);
void *wt_emu_cuda_capture_end(void);
wt_status wt_emu_cuda_graph_launch(void *g);
void wt_emu_cuda_graph_free(void *g);
static inline const wt_backend *dev_backend(void) { return wt_emu_cuda_backend(); }
static inline wt_status dev_sync(void) { return wt_emu_cuda_sync(); }
static inline wt_status dev_capture_begin(void) { return wt_emu_cuda_capture_begin(); }
static inline void *dev_capture_end(void) { return wt_emu_cuda_capture_end(); }
static inline wt_status dev_graph_launch(void *g) { return wt_emu_cuda_graph_launch(g); }
static inline void dev_graph_free(void *g) { wt_emu_cuda_graph_free(g); }
#define DEV_NAME "emulated CUDA"
#elif defined(WT_HAVE_CUDA)
#include "backends/cuda/cuda_backend.h"
static inline const wt_backend *dev_backend(void) { return wt_backend_by_name("cuda"); }
static inline wt_status dev_sync(void) { return wt_cuda_sync(); }
static inline wt_status dev_capture_begin(void) { return wt_cuda_capture_begin(); }
static inline void *dev_capture_end(void) { return wt_cuda_capture_end(); }
static inline wt_status dev_graph_launch(void *g) { return wt_cuda_graph_launch(g); }
static inline void dev_graph_free(void *g) { wt_cuda_graph_free(g); }
#define DEV_NAME "CUDA"
#else
static inline const wt_backend *dev_backend(void) { return NULL; }
static inline wt_status dev_sync(void) { return WT_ERR_UNSUPPORTED; }
static inline wt_status dev_capture_begin(void) { return WT_ERR_UNSUPPORTED; }
static inline void *dev_capture_end(void) { return NULL; }
static inline wt_status dev_graph_launch(void *g) { (void)g; return WT_ERR_UNSUPPORTED; }
static inline void dev_graph_free(void *g) { (void)g; }
#define DEV_NAME "CUDA"
#endif

/* The start of a device suite's main: false (after printing "skipped: no
 * CUDA device") when there is no device; else it says which backend runs
 * and keeps Check from forking, since a forked child cannot use the CUDA
 * context its parent made. */
static inline bool dev_suite_start(void) {
    const wt_backend *be = dev_backend();
    if (!be) {
        printf("skipped: no CUDA device\n");
        return false;
    }
    printf("running on the %s backend '%s'\n", DEV_NAME, be->name);
#if !defined(WT_TEST_CUDA_EMU)
    setenv("CK_FORK", "no", 1);
#endif
    return true;
}

#endif
