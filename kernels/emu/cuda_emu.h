/* CUDA emulation for machines without a GPU (tests only).
 * Owns: just enough of the CUDA runtime and device language for the kernels/ .cu files
 * to compile with the host C++ compiler (-DWT_CUDA_EMU) and run: each thread
 * block's threads are cooperative fibers (ucontext), so __syncthreads, static
 * and dynamic __shared__ memory, warp shuffles/votes and atomics behave as on
 * a GPU; streams run launches in order; stream capture records launches and
 * async copies with their argument values (fixed addresses) for graph replay.
 * It never runs two fibers at once and never allocates while a block or a
 * graph replays; it proves indexing, reductions and the static-step rules,
 * not speed or the memory model of real hardware. The runtime lives in
 * tests/cuda_emu/cuda_emu.cpp. */
#ifndef WT_CUDA_EMU_H
#define WT_CUDA_EMU_H

#ifndef __cplusplus
#error "the CUDA emulation needs C++17"
#endif

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

/* ---- the device language ---- */
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
/* Blocks run one after another, so one static object per kernel is exactly
 * one block's shared memory. */
#define __shared__ static
#define __launch_bounds__(...)
#define __align__(n) alignas(n)

struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct uint3 {
    unsigned x, y, z;
};

/* Values as in the CUDA headers, so messages match real runs. */
typedef enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorNoDevice = 100,
    cudaErrorIllegalState = 401,
    cudaErrorLaunchFailure = 719,
    cudaErrorStreamCaptureUnsupported = 900,
    cudaErrorStreamCaptureInvalidated = 901,
} cudaError_t;

typedef enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
} cudaMemcpyKind;

typedef enum cudaStreamCaptureMode {
    cudaStreamCaptureModeGlobal = 0,
    cudaStreamCaptureModeThreadLocal = 1,
    cudaStreamCaptureModeRelaxed = 2,
} cudaStreamCaptureMode;

typedef struct CUstream_st *cudaStream_t;
#define cudaStreamDefault 0x00u
#define cudaStreamNonBlocking 0x01u
typedef struct CUgraph_st *cudaGraph_t;
typedef struct CUgraphExec_st *cudaGraphExec_t;

namespace wt_emu {

/* The running fiber's built-in variables (set by the scheduler on every switch). */
struct builtins {
    uint3 thread_idx, block_idx;
    dim3 block_dim, grid_dim;
};
extern builtins g_builtin;

void syncthreads();
void syncwarp(unsigned mask);
/* Warp exchange: posts `mine` for the calling lane, waits for every lane of
 * mask, returns lane `src`'s posted value (own value when src < 0). */
uint64_t warp_exchange(unsigned mask, uint64_t mine, int src);
unsigned warp_ballot(unsigned mask, int pred);
unsigned lane_id();
void *dyn_smem();

/* Kernel launch: runs now, or is recorded when the stream is capturing. */
cudaError_t submit(dim3 grid, dim3 block, size_t shmem, cudaStream_t s, std::function<void()> body);

template <typename... P, typename... A>
cudaError_t launch(dim3 grid, dim3 block, size_t shmem, cudaStream_t s, void (*k)(P...), A &&...a) {
    /* Arguments are converted to the parameter types and copied now, as
     * CUDA copies kernel parameters at launch (and at capture). */
    auto args = std::make_tuple(static_cast<std::decay_t<P>>(std::forward<A>(a))...);
    return submit(grid, block, shmem, s, [k, args]() { std::apply(k, args); });
}

template <typename T> inline uint64_t to_bits(T v) {
    static_assert(sizeof(T) <= 8, "shuffle of a type wider than 8 bytes");
    uint64_t b = 0;
    std::memcpy(&b, &v, sizeof v);
    return b;
}
template <typename T> inline T from_bits(uint64_t b) {
    T v;
    std::memcpy(&v, &b, sizeof v);
    return v;
}

} // namespace wt_emu

#define threadIdx (::wt_emu::g_builtin.thread_idx)
#define blockIdx (::wt_emu::g_builtin.block_idx)
#define blockDim (::wt_emu::g_builtin.block_dim)
#define gridDim (::wt_emu::g_builtin.grid_dim)
#define warpSize 32

inline void __syncthreads() { wt_emu::syncthreads(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { wt_emu::syncwarp(mask); }

template <typename T> inline T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
    int lane = (int)wt_emu::lane_id();
    int s = (lane & ~(width - 1)) | (src & (width - 1));
    return wt_emu::from_bits<T>(wt_emu::warp_exchange(mask, wt_emu::to_bits(v), s));
}
template <typename T> inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
    int lane = (int)wt_emu::lane_id();
    int s = lane ^ lane_mask;
    /* a later segment cannot be read: the lane keeps its own value */
    if (s >= (lane & ~(width - 1)) + width) s = -1;
    return wt_emu::from_bits<T>(wt_emu::warp_exchange(mask, wt_emu::to_bits(v), s));
}
template <typename T> inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    int lane = (int)wt_emu::lane_id();
    int s = lane + (int)delta;
    if (s >= (lane & ~(width - 1)) + width) s = -1;
    return wt_emu::from_bits<T>(wt_emu::warp_exchange(mask, wt_emu::to_bits(v), s));
}
template <typename T> inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    int lane = (int)wt_emu::lane_id();
    int s = lane - (int)delta;
    if (s < (lane & ~(width - 1))) s = -1;
    return wt_emu::from_bits<T>(wt_emu::warp_exchange(mask, wt_emu::to_bits(v), s));
}
inline unsigned __ballot_sync(unsigned mask, int pred) { return wt_emu::warp_ballot(mask, pred); }
inline int __any_sync(unsigned mask, int pred) { return wt_emu::warp_ballot(mask, pred) != 0; }
inline int __all_sync(unsigned mask, int pred) { return wt_emu::warp_ballot(mask, pred) == mask; }

/* Atomics: fibers never preempt each other, so a plain read-modify-write is atomic. */
template <typename T> inline T atomicAdd(T *p, T v) {
    T old = *p;
    *p = old + v;
    return old;
}
template <typename T> inline T atomicMax(T *p, T v) {
    T old = *p;
    if (v > old) *p = v;
    return old;
}
template <typename T> inline T atomicMin(T *p, T v) {
    T old = *p;
    if (v < old) *p = v;
    return old;
}
template <typename T> inline T atomicExch(T *p, T v) {
    T old = *p;
    *p = v;
    return old;
}
template <typename T> inline T atomicCAS(T *p, T cmp, T v) {
    T old = *p;
    if (old == cmp) *p = v;
    return old;
}

inline float __int_as_float(int i) { return wt_emu::from_bits<float>((uint32_t)i); }
inline int __float_as_int(float f) { return (int)(uint32_t)wt_emu::to_bits(f); }
inline float __uint_as_float(unsigned i) { return wt_emu::from_bits<float>(i); }
inline unsigned __float_as_uint(float f) { return (unsigned)wt_emu::to_bits(f); }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __fdividef(float a, float b) { return a / b; }
template <typename T> inline T __ldg(const T *p) { return *p; }

/* ---- the runtime API subset our host code uses ---- */
const char *cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaSetDevice(int dev);
cudaError_t cudaMalloc(void **p, size_t bytes);
cudaError_t cudaFree(void *p);
cudaError_t cudaMallocHost(void **p, size_t bytes);
cudaError_t cudaFreeHost(void *p);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t s);
cudaError_t cudaMemsetAsync(void *dst, int value, size_t bytes, cudaStream_t s);
cudaError_t cudaStreamCreate(cudaStream_t *s);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *e, cudaGraph_t g, unsigned long long flags);
cudaError_t cudaGraphLaunch(cudaGraphExec_t e, cudaStream_t s);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t e);
cudaError_t cudaGraphDestroy(cudaGraph_t g);

namespace wt_emu {
/* Statistics for tests: launches run (eager or replayed), fiber switches. */
uint64_t launches_run();
uint64_t fiber_switches();
/* Number of nodes (launches + copies) in a graph. */
size_t graph_nodes(cudaGraph_t g);
} // namespace wt_emu

#endif
