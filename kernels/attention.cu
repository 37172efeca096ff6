/* Attention over a key/value cache (wt_attention_cached / wt_attention_ring,
 * see engine/backend.h): one block per (batch entry, query, head). The block
 * reads the query's position from the i64 pos tensor when it runs, so the
 * launch (grid, arguments, addresses) is the same at every position and a
 * step holding it can be replayed as a graph. Keys are visited in chunks of
 * blockDim.x slots, one slot per thread (coalesced when the slot index has
 * unit stride, Llama's transposed cache), with an online softmax: a running
 * maximum and sum kept by block reductions, and the output row accumulated
 * in shared memory, rescaled when a chunk raises the maximum. Only chunks
 * that may hold visible keys are visited. A position the cache cannot hold
 * gives a zero row (the kernel cannot report an error without a host read;
 * engine/backend.h allows this). Sums in f32.
 * Few (batch, query, head) items (one token of a Llama decode: one per
 * head) would leave most of the GPU idle while each block walks the whole
 * cache, so the slots are then split into fixed ranges, one block per
 * (item, range), each writing its partial maximum, sum and unnormalised row
 * to a scratch buffer, and a second kernel merges the ranges. The split
 * depends on the cache size only, never on the position, so the launch
 * stays the same at every step. */
#include "kernels/common.cuh"

/* q [B, n, H, hd]; k, v [B, KVH, hd, S]; pos [B, n]; slot_pos [B, S] when
 * has_slots; dst [B, n, H, hd]. Dynamic shared memory: q row (hd), output
 * accumulator (hd) and chunk weights (blockDim.x) floats. */
/* With ns > 1, block work w covers item w / ns and slots [r*span, (r+1)*span)
 * of range r = w % ns, and writes partials[w] = (max, sum, row[hd]) instead of dst. */
__global__ void wt_attention_kernel(wt_kt dst, wt_kt q, wt_kt k, wt_kt v, wt_kt pos, wt_kt slot_pos,
                                    int has_slots, float scale, int64_t window, int ns, int64_t span,
                                    float *partials) {
    __shared__ float red[32];
    WT_DYN_SHARED(float, smem);
    int64_t B = q.shape[0], n = q.shape[1], H = q.shape[2], hd = q.shape[3];
    int64_t KVH = k.shape[1], S = k.shape[3], G = H / KVH;
    int nt = (int)blockDim.x, tid = (int)threadIdx.x, lane = tid & 31, warp = tid >> 5, nw = nt >> 5;
    float *qs = smem, *acc = smem + hd, *wts = smem + 2 * hd;
    const float *qd = static_cast<const float *>(q.data);
    const float *kd = static_cast<const float *>(k.data);
    const float *vd = static_cast<const float *>(v.data);
    const int64_t *pd = static_cast<const int64_t *>(pos.data);
    const int64_t *sd = static_cast<const int64_t *>(slot_pos.data);
    float *yd = static_cast<float *>(dst.data);
    int64_t items = B * n * H;
    for (int64_t work = blockIdx.x; work < items * ns; work += gridDim.x) {
        int64_t it = work / ns, r = work % ns;
        int64_t h = it % H, i = (it / H) % n, b = it / (H * n), g = h / G;
        int64_t p = pd[b * pos.stride[0] + i * pos.stride[1]];
        float *pr = partials + work * (hd + 2);
        float *yr = ns > 1 ? pr + 2 : yd + b * dst.stride[0] + i * dst.stride[1] + h * dst.stride[2];
        int64_t ystride = ns > 1 ? 1 : dst.stride[3];
        /* slots that may be visible: lo..hi (every slot of a ring) */
        int64_t lo = 0, hi = S - 1;
        bool valid = has_slots ? p >= 0 : (p >= 0 && p < S);
        if (!has_slots && valid) {
            hi = p;
            if (window > 0 && p - window + 1 > 0) lo = p - window + 1;
        }
        if (ns > 1) { /* this block's range */
            lo = lo > r * span ? lo : r * span;
            hi = hi < (r + 1) * span - 1 ? hi : (r + 1) * span - 1;
            valid = valid && lo <= hi;
        }
        if (!valid) { /* uniform over the block: no barrier is skipped by part of it */
            for (int64_t d = tid; d < hd; d += nt) yr[d * ystride] = 0.0f;
            if (ns > 1 && tid == 0) {
                pr[0] = -INFINITY;
                pr[1] = 0.0f;
            }
            continue;
        }
        const float *qr = qd + b * q.stride[0] + i * q.stride[1] + h * q.stride[2];
        __syncthreads(); /* the previous item may still read qs/acc */
        for (int64_t d = tid; d < hd; d += nt) {
            qs[d] = qr[d * q.stride[3]];
            acc[d] = 0.0f;
        }
        __syncthreads();
        const float *kb = kd + b * k.stride[0] + g * k.stride[1];
        const float *vb = vd + b * v.stride[0] + g * v.stride[1];
        int64_t ks = k.stride[2], kt = k.stride[3], vs = v.stride[2], vt = v.stride[3];
        float run_max = -INFINITY, run_sum = 0.0f;
        for (int64_t t0 = lo; t0 <= hi; t0 += nt) {
            int64_t t = t0 + tid;
            float s = -INFINITY;
            bool vis = t <= hi;
            if (vis && has_slots) {
                int64_t kp = sd[b * slot_pos.stride[0] + t * slot_pos.stride[1]];
                vis = kp >= 0 && kp <= p && (window <= 0 || p - kp < window);
            }
            if (vis) {
                float dot = 0.0f;
                const float *key = kb + t * kt;
                for (int64_t d = 0; d < hd; d++) dot += qs[d] * key[d * ks];
                s = dot * scale;
            }
            float cmax = wt_block_max(s, red);
            if (cmax == -INFINITY) continue; /* nothing visible in this chunk (uniform) */
            float m = fmaxf(run_max, cmax);
            float corr = expf(run_max - m); /* 0 on the first visible chunk */
            float w = vis ? expf(s - m) : 0.0f;
            wts[tid] = w;
            float csum = wt_block_sum(w, red); /* its barriers also publish wts */
            run_sum = run_sum * corr + csum;
            run_max = m;
            /* acc[d] = acc[d] * corr + sum_t w[t] v[d, t]: one warp per
             * dimension, lanes along the chunk's slots */
            int64_t nb = hi + 1 - t0 < nt ? hi + 1 - t0 : nt;
            for (int64_t d = warp; d < hd; d += nw) {
                const float *vrow = vb + d * vs + t0 * vt;
                float part = 0.0f;
                for (int64_t j = lane; j < nb; j += 32) part += wts[j] * vrow[j * vt];
                part = wt_warp_sum(part);
                if (lane == 0) acc[d] = acc[d] * corr + part;
            }
            __syncthreads(); /* wts and acc are rewritten by the next chunk */
        }
        __syncthreads(); /* every warp's acc rows are written */
        if (ns > 1) { /* the merge normalises */
            for (int64_t d = tid; d < hd; d += nt) yr[d] = acc[d];
            if (tid == 0) {
                pr[0] = run_max;
                pr[1] = run_sum;
            }
            continue;
        }
        float inv = run_sum > 0.0f ? 1.0f / run_sum : 0.0f; /* no visible key: zeros */
        for (int64_t d = tid; d < hd; d += nt) yr[d * dst.stride[3]] = acc[d] * inv;
    }
}

/* dst row of item it = the ranges' rows rescaled to their common maximum and
 * divided by the total sum (zeros when no range saw a visible key). */
__global__ void wt_attention_merge_kernel(wt_kt dst, int ns, const float *part) {
    int64_t n = dst.shape[1], H = dst.shape[2], hd = dst.shape[3], items = dst.shape[0] * n * H;
    float *yd = static_cast<float *>(dst.data);
    for (int64_t it = blockIdx.x; it < items; it += gridDim.x) {
        int64_t h = it % H, i = (it / H) % n, b = it / (H * n);
        const float *p0 = part + it * ns * (hd + 2);
        float m = -INFINITY, sum = 0.0f;
        for (int r = 0; r < ns; r++) m = fmaxf(m, p0[r * (hd + 2)]);
        for (int r = 0; r < ns; r++)
            if (p0[r * (hd + 2) + 1] > 0.0f) sum += p0[r * (hd + 2) + 1] * expf(p0[r * (hd + 2)] - m);
        float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
        float *yr = yd + b * dst.stride[0] + i * dst.stride[1] + h * dst.stride[2];
        for (int64_t d = threadIdx.x; d < hd; d += blockDim.x) {
            float a = 0.0f;
            for (int r = 0; r < ns; r++) {
                const float *pr = p0 + r * (hd + 2);
                if (pr[1] > 0.0f) a += pr[2 + d] * expf(pr[0] - m);
            }
            yr[d * dst.stride[3]] = a * inv;
        }
    }
}

wt_status wt_k_attention(void *stream, wt_tensor *dst, const wt_tensor *q, const wt_tensor *k,
                         const wt_tensor *v, const wt_tensor *pos, const wt_tensor *slot_pos,
                         float scale, int64_t window, void *scratch, size_t scratch_bytes) {
    wt_kt d = wt_kt_of(dst), qk = wt_kt_of(q), kk = wt_kt_of(k), vk = wt_kt_of(v), pk = wt_kt_of(pos);
    wt_kt sk = slot_pos ? wt_kt_of(slot_pos) : pk;
    if (d.numel == 0) return WT_OK;
    int64_t items = q->shape[0] * q->shape[1] * q->shape[2], hd = q->shape[3], S = k->shape[3];
    /* a chunk of up to 128 slots per pass; fewer threads for short caches */
    unsigned threads = wt_k_row_threads(S, 128);
    size_t shmem = sizeof(float) * (size_t)(2 * hd + (int64_t)threads);
    if (shmem > 48 * 1024) return wt_error(WT_ERR_UNSUPPORTED, "cuda attention: head size %lld is too large", (long long)hd);
    /* ranges of kSpan slots when the items alone cannot fill the GPU */
    const int64_t kSpan = 256, kFewItems = 512;
    int64_t ns = items < kFewItems ? (S + kSpan - 1) / kSpan : 1;
    if (ns > 64) ns = 64;
    while (ns > 1 && (size_t)(items * ns * (hd + 2)) * sizeof(float) > scratch_bytes) ns--;
    if (!scratch) ns = 1;
    int64_t span = (S + ns - 1) / ns, work = items * ns;
    unsigned blocks = (unsigned)(work < 65535 * 16 ? work : 65535 * 16);
    WT_LAUNCH(wt_attention_kernel, blocks, threads, shmem, (cudaStream_t)stream, d, qk, kk, vk, pk, sk,
              slot_pos ? 1 : 0, scale, window, (int)ns, span, static_cast<float *>(scratch));
    if (ns > 1) {
        unsigned mb = (unsigned)(items < 65535 * 16 ? items : 65535 * 16);
        WT_LAUNCH(wt_attention_merge_kernel, mb, wt_k_row_threads(hd, 128), 0, (cudaStream_t)stream, d, (int)ns,
                  static_cast<const float *>(scratch));
    }
    return wt_k_status("attention");
}
