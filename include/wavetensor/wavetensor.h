/* wavetensor: streaming neural audio models in C11.
 * The umbrella header: includes every public module. */
#ifndef WAVETENSOR_H
#define WAVETENSOR_H

#define WT_VERSION_MAJOR 0
#define WT_VERSION_MINOR 1
#define WT_VERSION_PATCH 0
#define WT_VERSION_STRING "0.1.0"

#include "wavetensor/status.h"
#include "wavetensor/dtype.h"
#include "wavetensor/tensor.h"
#include "wavetensor/ctx.h"
#include "wavetensor/ops.h"
#include "wavetensor/safetensors.h"
#include "wavetensor/weights.h"
#include "wavetensor/config.h"
#include "wavetensor/graph.h"

#ifdef __cplusplus
extern "C" {
#endif
/* The library's version string (may differ from the header's when linked
 * against another build). */
const char *wt_version(void);
#ifdef __cplusplus
}
#endif
#endif
