/* The LSTM cell's pointwise part (PyTorch gate order i, f, g, o) on gates
 * already holding x W_ih^T + b_ih + h W_hh^T + b_hh (two cuBLAS GEMMs). */
#include "kernels/common.cuh"

__device__ __forceinline__ float wt_sigmoidf(float v) { return 1.0f / (1.0f + expf(-v)); }

/* gates [B, 4H], c and h [B, H]: c = f*c + i*g; h = o*tanh(c). */
__global__ void wt_lstm_cell_kernel(wt_kt gates, wt_kt c, wt_kt h) {
    int64_t hn = c.shape[1];
    const float *gd = static_cast<const float *>(gates.data);
    float *cd = static_cast<float *>(c.data), *hd = static_cast<float *>(h.data);
    WT_GRID_STRIDE(idx, c.numel) {
        int64_t b = idx / hn, j = idx % hn;
        const float *gr = gd + b * gates.stride[0];
        int64_t gs = gates.stride[1];
        float ig = wt_sigmoidf(gr[j * gs]), fg = wt_sigmoidf(gr[(hn + j) * gs]);
        float gg = tanhf(gr[(2 * hn + j) * gs]), og = wt_sigmoidf(gr[(3 * hn + j) * gs]);
        float *cp = cd + b * c.stride[0] + j * c.stride[1];
        float cn = fg * *cp + ig * gg;
        *cp = cn;
        hd[b * h.stride[0] + j * h.stride[1]] = og * tanhf(cn);
    }
}

wt_status wt_k_lstm_cell(void *stream, const wt_tensor *gates, wt_tensor *c, wt_tensor *h) {
    wt_kt ck = wt_kt_of(c);
    if (ck.numel == 0) return WT_OK;
    WT_LAUNCH(wt_lstm_cell_kernel, wt_k_blocks(ck.numel, WT_K_THREADS), WT_K_THREADS, 0,
              (cudaStream_t)stream, wt_kt_of(gates), ck, wt_kt_of(h));
    return wt_k_status("lstm_cell");
}
