/* Device helpers shared by the kernels/ .cu files: the launch macro, tensor views
 * passed by value, dtype conversions, index arithmetic and warp/block
 * reductions.
 * Owns: everything a kernel needs that is not one op's math. Builds two ways:
 * with nvcc (real CUDA) and with the host C++ compiler and -DWT_CUDA_EMU
 * (kernels/emu/cuda_emu.h), so every launch must go through WT_LAUNCH and
 * every dynamic shared array through WT_DYN_SHARED. Never allocates device
 * memory and never synchronises: kernels are capturable into graphs. */
#ifndef WT_KERNELS_COMMON_CUH
#define WT_KERNELS_COMMON_CUH

#ifdef WT_CUDA_EMU
#include "kernels/emu/cuda_emu.h"
/* Launch `kernel` over grid x block with shmem bytes of dynamic shared memory on stream. */
#define WT_LAUNCH(kernel, grid, block, shmem, stream, ...) \
    ((void)::wt_emu::launch((grid), (block), (shmem), (stream), kernel, __VA_ARGS__))
#define WT_DYN_SHARED(type, name) type *name = static_cast<type *>(::wt_emu::dyn_smem())
#else
#include <cuda_runtime.h>
#define WT_LAUNCH(kernel, grid, block, shmem, stream, ...) \
    kernel<<<(grid), (block), (shmem), (stream)>>>(__VA_ARGS__)
#define WT_DYN_SHARED(type, name)                                   \
    extern __shared__ __align__(16) unsigned char wt_dyn_smem_[]; \
    type *name = reinterpret_cast<type *>(wt_dyn_smem_)
#endif

#include <math.h>
#include <stdint.h>

#include "kernels/wt_kernels.h"

#define WT_FULL_MASK 0xffffffffu

/* A tensor as a kernel sees it: passed by value (kernel parameters live in
 * constant memory), strides in elements, never negative. */
struct wt_kt {
    void *data;
    int dtype;
    int ndim;
    int64_t numel;
    int64_t shape[WT_MAX_DIMS];
    int64_t stride[WT_MAX_DIMS];
};

static inline wt_kt wt_kt_of(const wt_tensor *t) {
    wt_kt k;
    k.data = t->data;
    k.dtype = (int)t->dtype;
    k.ndim = t->ndim;
    k.numel = 1;
    for (int d = 0; d < WT_MAX_DIMS; d++) {
        k.shape[d] = d < t->ndim ? t->shape[d] : 1;
        k.stride[d] = d < t->ndim ? t->stride[d] : 0;
        if (d < t->ndim) k.numel *= t->shape[d];
    }
    return k;
}

/* Element offset of the row-major flat index i of t's logical shape. */
__device__ __forceinline__ int64_t wt_kt_offset(const wt_kt &t, int64_t i) {
    int64_t off = 0;
    for (int d = t.ndim - 1; d >= 0; d--) {
        int64_t s = t.shape[d];
        off += (i % s) * t.stride[d];
        i /= s;
    }
    return off;
}

/* Offset in t of the row-major flat index i of `shp`'s logical shape (t's
 * shape may differ from shp's at dim only), with dimension dim's coordinate
 * replaced by c; the original coordinate goes to *orig when asked. */
__device__ __forceinline__ int64_t wt_kt_offset_at(const wt_kt &shp, const wt_kt &t, int64_t i, int dim,
                                                   int64_t c, int64_t *orig) {
    int64_t off = 0;
    for (int d = shp.ndim - 1; d >= 0; d--) {
        int64_t s = shp.shape[d], x = i % s;
        i /= s;
        if (d == dim) {
            if (orig) *orig = x;
            x = c;
        }
        off += x * t.stride[d];
    }
    return off;
}

/* ---- IEEE half and bfloat16, round to nearest even (same bits as engine/dtype.c) ---- */

__device__ __forceinline__ uint32_t wt_f2u(float f) { return __float_as_uint(f); }

__device__ __forceinline__ float wt_f16_to_f32_dev(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    uint32_t bits;
    if (e == 0) {
        if (m == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int sh = 0;
            while (!(m & 0x400u)) {
                m <<= 1;
                sh++;
            }
            bits = sign | ((uint32_t)(113 - sh) << 23) | ((m & 0x3ffu) << 13);
        }
    } else if (e == 31) {
        bits = sign | 0x7f800000u | (m << 13);
    } else {
        bits = sign | ((e + 112u) << 23) | (m << 13);
    }
    return __uint_as_float(bits);
}

__device__ __forceinline__ uint16_t wt_f32_to_f16_dev(float f) {
    uint32_t x = wt_f2u(f), sign = (x >> 16) & 0x8000u;
    x &= 0x7fffffffu;
    if (x >= 0x7f800000u) return (uint16_t)(sign | (x > 0x7f800000u ? 0x7e00u | ((x >> 13) & 0x3ffu) : 0x7c00u));
    if (x >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to >= 65520: inf */
    if (x < 0x38800000u) {                                     /* below 2^-14: subnormal or zero */
        int shift = 126 - (int)(x >> 23);
        if (shift > 24) return (uint16_t)sign;
        uint32_t m = (x & 0x7fffffu) | 0x800000u, r = m >> shift, rem = m & ((1u << shift) - 1u),
                 half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1u))) r++;
        return (uint16_t)(sign | r);
    }
    x += 0xfffu + ((x >> 13) & 1u);
    return (uint16_t)(sign | ((x - 0x38000000u) >> 13));
}

__device__ __forceinline__ float wt_bf16_to_f32_dev(uint16_t b) { return __uint_as_float((uint32_t)b << 16); }

__device__ __forceinline__ uint16_t wt_f32_to_bf16_dev(float f) {
    uint32_t x = wt_f2u(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

/* Float -> integer: truncate toward zero, saturate, NaN gives 0 (as the CPU backend). */
__device__ __forceinline__ int64_t wt_f_to_i64_dev(double v) {
    if (!(v == v)) return 0;
    if (v >= 9223372036854775807.0) return INT64_MAX;
    if (v <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)v;
}
__device__ __forceinline__ uint8_t wt_f_to_u8_dev(double v) {
    if (!(v > 0)) return 0;
    if (v >= 255) return 255;
    return (uint8_t)v;
}

/* Element `off` of t as float (any dtype). */
__device__ __forceinline__ float wt_ldf(const wt_kt &t, int64_t off) {
    switch (t.dtype) {
    case WT_F32: return static_cast<const float *>(t.data)[off];
    case WT_F16: return wt_f16_to_f32_dev(static_cast<const uint16_t *>(t.data)[off]);
    case WT_BF16: return wt_bf16_to_f32_dev(static_cast<const uint16_t *>(t.data)[off]);
    case WT_I64: return (float)static_cast<const int64_t *>(t.data)[off];
    default: return (float)static_cast<const uint8_t *>(t.data)[off];
    }
}

/* Store float v at element `off` of t, converted to its dtype. */
__device__ __forceinline__ void wt_stf(const wt_kt &t, int64_t off, float v) {
    switch (t.dtype) {
    case WT_F32: static_cast<float *>(t.data)[off] = v; break;
    case WT_F16: static_cast<uint16_t *>(t.data)[off] = wt_f32_to_f16_dev(v); break;
    case WT_BF16: static_cast<uint16_t *>(t.data)[off] = wt_f32_to_bf16_dev(v); break;
    case WT_I64: static_cast<int64_t *>(t.data)[off] = wt_f_to_i64_dev(v); break;
    default: static_cast<uint8_t *>(t.data)[off] = wt_f_to_u8_dev(v); break;
    }
}

__device__ __forceinline__ int wt_dtype_bytes(int dt) {
    return dt == WT_F32 ? 4 : (dt == WT_F16 || dt == WT_BF16) ? 2 : dt == WT_I64 ? 8 : 1;
}

/* dst[doff] = src[soff]: raw move when the dtypes match, exact between
 * integer dtypes, otherwise through f32 (as the CPU backend converts). */
__device__ __forceinline__ void wt_move(const wt_kt &dst, int64_t doff, const wt_kt &src, int64_t soff) {
    if (dst.dtype == src.dtype) {
        switch (wt_dtype_bytes(dst.dtype)) {
        case 8: static_cast<uint64_t *>(dst.data)[doff] = static_cast<const uint64_t *>(src.data)[soff]; break;
        case 4: static_cast<uint32_t *>(dst.data)[doff] = static_cast<const uint32_t *>(src.data)[soff]; break;
        case 2: static_cast<uint16_t *>(dst.data)[doff] = static_cast<const uint16_t *>(src.data)[soff]; break;
        default: static_cast<uint8_t *>(dst.data)[doff] = static_cast<const uint8_t *>(src.data)[soff]; break;
        }
    } else if (dst.dtype == WT_I64 && src.dtype == WT_U8) {
        static_cast<int64_t *>(dst.data)[doff] = static_cast<const uint8_t *>(src.data)[soff];
    } else if (dst.dtype == WT_U8 && src.dtype == WT_I64) {
        int64_t v = static_cast<const int64_t *>(src.data)[soff];
        static_cast<uint8_t *>(dst.data)[doff] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    } else {
        wt_stf(dst, doff, wt_ldf(src, soff));
    }
}

/* ---- reductions: every thread of the warp / block gets the result ---- */

__device__ __forceinline__ float wt_warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(WT_FULL_MASK, v, o);
    return v;
}
__device__ __forceinline__ float wt_warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(WT_FULL_MASK, v, o));
    return v;
}

/* Block-wide sum or max over blockDim.x threads (a multiple of 32, at most
 * 1024); `sh` is a __shared__ float[32] of the calling kernel. Every thread
 * of the block must call it (it synchronises). */
__device__ __forceinline__ float wt_block_sum(float v, float *sh) {
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = wt_warp_sum(v);
    __syncthreads(); /* sh may still be read by a previous reduction */
    if (lane == 0) sh[w] = v;
    __syncthreads();
    return wt_warp_sum(lane < nw ? sh[lane] : 0.0f);
}
__device__ __forceinline__ float wt_block_max(float v, float *sh) {
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = wt_warp_max(v);
    __syncthreads();
    if (lane == 0) sh[w] = v;
    __syncthreads();
    return wt_warp_max(lane < nw ? sh[lane] : -INFINITY);
}

/* ---- launch geometry (host) ---- */

#define WT_K_THREADS 256
/* Blocks for a grid-stride loop over n items; capped so huge tensors loop. */
static inline unsigned wt_k_blocks(int64_t n, int threads) {
    int64_t b = (n + threads - 1) / threads;
    if (b < 1) b = 1;
    return (unsigned)(b > 8192 ? 8192 : b);
}
/* Threads for one block per row of length n: a multiple of 32 in [32, cap]. */
static inline unsigned wt_k_row_threads(int64_t n, int cap) {
    int64_t t = (n + 31) / 32 * 32;
    if (t < 32) t = 32;
    return (unsigned)(t > cap ? cap : t);
}

/* Maps a launch error to a status with the op's name. */
static inline wt_status wt_k_status(const char *op) {
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess) return WT_OK;
    return wt_error(WT_ERR_UNSUPPORTED, "cuda %s: %s", op, cudaGetErrorString(e));
}

#define WT_GRID_STRIDE(i, n) \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

#endif
