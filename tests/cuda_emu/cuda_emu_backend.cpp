/* C entry points to the emulated CUDA backend (backends/cuda/cuda_backend.cu
 * compiled over the emulation in namespace wt_emu_kernels), so the C test
 * suite tests/test_cuda_backend.c runs on it (built with WT_TEST_CUDA_EMU,
 * which maps wt_cuda_* onto these names). */
#include "engine/backend.h"

namespace wt_emu_kernels {
#include "backends/cuda/cuda_backend.h"
}

extern "C" {
const wt_backend *wt_emu_cuda_backend(void) { return wt_emu_kernels::wt_cuda_backend(); }
wt_status wt_emu_cuda_sync(void) { return wt_emu_kernels::wt_cuda_sync(); }
wt_status wt_emu_cuda_capture_begin(void) { return wt_emu_kernels::wt_cuda_capture_begin(); }
void *wt_emu_cuda_capture_end(void) { return wt_emu_kernels::wt_cuda_capture_end(); }
wt_status wt_emu_cuda_graph_launch(void *g) {
    return wt_emu_kernels::wt_cuda_graph_launch(static_cast<wt_emu_kernels::wt_cuda_graph *>(g));
}
void wt_emu_cuda_graph_free(void *g) {
    wt_emu_kernels::wt_cuda_graph_free(static_cast<wt_emu_kernels::wt_cuda_graph *>(g));
}
}
