/* 1-D convolution and transposed convolution (f32 input and output, f32,
 * f16 or bf16 weights read as f32, sums in f32; PyTorch semantics, any
 * groups: depthwise is groups == Cin). Direct form, one thread per output
 * sample; the transposed form gathers (no atomics), so results are
 * deterministic. Zero padding is implicit: out-of-range taps are skipped.
 * Also the two halves of the GEMM form the backend prefers for groups == 1
 * (im2col before a GEMM, col2im after one): the direct form's serial loop
 * over channels x taps per output leaves the GPU idle at codec sizes. */
#include "kernels/common.cuh"

/* dst [B, Cout, To], x [B, Cin, T], w [Cout, Cin/groups, K], bias [Cout]. */
__global__ void wt_conv1d_kernel(wt_kt dst, wt_kt x, wt_kt w, wt_kt bias, int has_bias, int stride,
                                 int pad_left, int dilation, int groups) {
    int64_t cout = dst.shape[1], to_n = dst.shape[2], t_n = x.shape[2];
    int64_t cig = w.shape[1], kn = w.shape[2], cog = cout / groups;
    const float *xd = static_cast<const float *>(x.data);
    const float *bd = static_cast<const float *>(bias.data);
    float *yd = static_cast<float *>(dst.data);
    WT_GRID_STRIDE(i, dst.numel) {
        int64_t to = i % to_n, co = (i / to_n) % cout, b = i / (to_n * cout);
        int64_t ci0 = co / cog * cig, t0 = to * stride - pad_left;
        float acc = has_bias ? bd[co * bias.stride[0]] : 0.0f;
        for (int64_t ci = 0; ci < cig; ci++) {
            const float *xr = xd + b * x.stride[0] + (ci0 + ci) * x.stride[1];
            int64_t wo = co * w.stride[0] + ci * w.stride[1];
            for (int64_t k = 0; k < kn; k++) {
                int64_t t = t0 + k * dilation;
                if (t >= 0 && t < t_n) acc += xr[t * x.stride[2]] * wt_ldf(w, wo + k * w.stride[2]);
            }
        }
        yd[b * dst.stride[0] + co * dst.stride[1] + to * dst.stride[2]] = acc;
    }
}

/* dst [B, Cout, To], x [B, Cin, T], w [Cin, Cout/groups, K]: output sample to
 * of channel co gathers x[ci, t] w[ci, co, k] over to + padding = t*stride + k*dilation. */
__global__ void wt_conv_transpose1d_kernel(wt_kt dst, wt_kt x, wt_kt w, wt_kt bias, int has_bias,
                                           int stride, int padding, int dilation, int groups) {
    int64_t cout = dst.shape[1], to_n = dst.shape[2], t_n = x.shape[2], cin = x.shape[1];
    int64_t cog = w.shape[1], kn = w.shape[2], cig = cin / groups;
    const float *xd = static_cast<const float *>(x.data);
    const float *bd = static_cast<const float *>(bias.data);
    float *yd = static_cast<float *>(dst.data);
    WT_GRID_STRIDE(i, dst.numel) {
        int64_t to = i % to_n, co = (i / to_n) % cout, b = i / (to_n * cout);
        int64_t g = co / cog, col = co % cog;
        float acc = has_bias ? bd[co * bias.stride[0]] : 0.0f;
        for (int64_t k = 0; k < kn; k++) {
            int64_t num = to + padding - k * dilation;
            if (num < 0 || num % stride) continue;
            int64_t t = num / stride;
            if (t >= t_n) continue;
            for (int64_t ci = g * cig; ci < (g + 1) * cig; ci++)
                acc += xd[b * x.stride[0] + ci * x.stride[1] + t * x.stride[2]] *
                       wt_ldf(w, ci * w.stride[0] + col * w.stride[1] + k * w.stride[2]);
        }
        yd[b * dst.stride[0] + co * dst.stride[1] + to * dst.stride[2]] = acc;
    }
}

/* cols [n, Cin*K, To] (any dtype, contiguous) = the taps of x [n, Cin, T]:
 * cols[b, ci*K + k, to] = x[b, ci, to*stride + k*dilation - pad_left], zero
 * outside x. The GEMM form of a convolution reads it as one matrix. */
__global__ void wt_im2col_kernel(wt_kt cols, wt_kt x, int stride, int pad_left, int dilation) {
    int64_t to_n = cols.shape[2], ck = cols.shape[1], t_n = x.shape[2], cin = x.shape[1];
    int64_t kn = ck / cin;
    const float *xd = static_cast<const float *>(x.data);
    WT_GRID_STRIDE(i, cols.numel) {
        int64_t to = i % to_n, r = (i / to_n) % ck, b = i / (to_n * ck);
        int64_t ci = r / kn, k = r % kn, t = to * stride + k * dilation - pad_left;
        float v = t >= 0 && t < t_n ? xd[b * x.stride[0] + ci * x.stride[1] + t * x.stride[2]] : 0.0f;
        wt_stf(cols, i, v);
    }
}

/* dst [n, Cout, To] = bias + the overlap-add of cols [n, Cout*K, T] (f32,
 * contiguous; cols[b, co*K + k, t] = sum_ci w[ci, co, k] x[b, ci, t]): output
 * sample to gathers the taps with to + padding = t*stride + k*dilation. */
__global__ void wt_col2im_kernel(wt_kt dst, wt_kt cols, wt_kt bias, int has_bias, int stride,
                                 int padding, int dilation) {
    int64_t cout = dst.shape[1], to_n = dst.shape[2], t_n = cols.shape[2];
    int64_t kn = cols.shape[1] / cout;
    const float *cd = static_cast<const float *>(cols.data);
    const float *bd = static_cast<const float *>(bias.data);
    float *yd = static_cast<float *>(dst.data);
    WT_GRID_STRIDE(i, dst.numel) {
        int64_t to = i % to_n, co = (i / to_n) % cout, b = i / (to_n * cout);
        float acc = has_bias ? bd[co * bias.stride[0]] : 0.0f;
        const float *cb = cd + (b * cout + co) * kn * t_n;
        for (int64_t k = 0; k < kn; k++) {
            int64_t num = to + padding - k * dilation;
            if (num < 0 || num % stride) continue;
            int64_t t = num / stride;
            if (t < t_n) acc += cb[k * t_n + t];
        }
        yd[b * dst.stride[0] + co * dst.stride[1] + to * dst.stride[2]] = acc;
    }
}

wt_status wt_k_im2col(void *stream, wt_tensor *cols, const wt_tensor *x, int stride, int pad_left,
                      int dilation) {
    wt_kt c = wt_kt_of(cols);
    if (c.numel == 0) return WT_OK;
    WT_LAUNCH(wt_im2col_kernel, wt_k_blocks(c.numel, WT_K_THREADS), WT_K_THREADS, 0,
              (cudaStream_t)stream, c, wt_kt_of(x), stride, pad_left, dilation);
    return wt_k_status("im2col");
}

wt_status wt_k_col2im(void *stream, wt_tensor *dst, const wt_tensor *cols, const wt_tensor *bias,
                      int stride, int padding, int dilation) {
    wt_kt d = wt_kt_of(dst), ck = wt_kt_of(cols);
    if (d.numel == 0) return WT_OK;
    WT_LAUNCH(wt_col2im_kernel, wt_k_blocks(d.numel, WT_K_THREADS), WT_K_THREADS, 0,
              (cudaStream_t)stream, d, ck, bias ? wt_kt_of(bias) : ck, bias ? 1 : 0, stride, padding,
              dilation);
    return wt_k_status("col2im");
}

wt_status wt_k_conv1d(void *stream, wt_tensor *dst, const wt_tensor *x, const wt_tensor *w,
                      const wt_tensor *bias, int stride, int pad_left, int dilation, int groups) {
    wt_kt d = wt_kt_of(dst), xk = wt_kt_of(x);
    if (d.numel == 0) return WT_OK;
    WT_LAUNCH(wt_conv1d_kernel, wt_k_blocks(d.numel, WT_K_THREADS), WT_K_THREADS, 0,
              (cudaStream_t)stream, d, xk, wt_kt_of(w), bias ? wt_kt_of(bias) : xk, bias ? 1 : 0,
              stride, pad_left, dilation, groups);
    return wt_k_status("conv1d");
}

wt_status wt_k_conv_transpose1d(void *stream, wt_tensor *dst, const wt_tensor *x,
                                const wt_tensor *w, const wt_tensor *bias, int stride,
                                int padding, int dilation, int groups) {
    wt_kt d = wt_kt_of(dst), xk = wt_kt_of(x);
    if (d.numel == 0) return WT_OK;
    WT_LAUNCH(wt_conv_transpose1d_kernel, wt_k_blocks(d.numel, WT_K_THREADS), WT_K_THREADS, 0,
              (cudaStream_t)stream, d, xk, wt_kt_of(w), bias ? wt_kt_of(bias) : xk, bias ? 1 : 0,
              stride, padding, dilation, groups);
    return wt_k_status("conv_transpose1d");
}
