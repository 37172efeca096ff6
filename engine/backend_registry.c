/* Backend lookup by name. */
#include <string.h>

#include "engine/backend.h"

#ifdef WT_HAVE_CUDA
const wt_backend *wt_cuda_backend(void);
#endif

const wt_backend *wt_backend_by_name(const char *name) {
    if (strcmp(name, "cpu") == 0) return wt_cpu_backend();
#ifdef WT_HAVE_CUDA
    if (strcmp(name, "cuda") == 0) return wt_cuda_backend();
#endif
    return NULL;
}
