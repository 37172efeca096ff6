/* Strided N-d iteration for the CPU ops (private to backends/cpu).
 * Owns: walking up to WT_CPU_ITER_MAX tensors of one shape row by row, with
 * element offsets per tensor. Never allocates; the state lives on the stack. */
#ifndef WT_CPU_ITER_H
#define WT_CPU_ITER_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "wavetensor/tensor.h"

#define WT_CPU_ITER_MAX 4

typedef struct wt_cpu_iter {
    int nt;                                      /* tensors walked together */
    int nd;                                      /* outer dims */
    int64_t shape[WT_MAX_DIMS];                  /* outer dims' sizes */
    int64_t stride[WT_CPU_ITER_MAX][WT_MAX_DIMS];
    int64_t idx[WT_MAX_DIMS];                    /* current outer index */
    int64_t off[WT_CPU_ITER_MAX];                /* element offset of the current row */
    int64_t rows;                                /* rows not yet visited */
    int64_t len;                                 /* flat mode: inner row length */
    int64_t inc[WT_CPU_ITER_MAX];                /* flat mode: inner strides */
    bool started;
} wt_cpu_iter;

/* Walks every element of ts[0]'s shape (all tensors share it) as rows of
 * `len` elements with strides `inc`. Dims of size 1 are dropped and adjacent
 * dims that are contiguous in every tensor are merged, so a contiguous tensor
 * is one long row. */
static inline void wt_cpu_iter_flat(wt_cpu_iter *it, int nt, const wt_tensor *const *ts) {
    const wt_tensor *t0 = ts[0];
    int nd = 0;
    int64_t shape[WT_MAX_DIMS];
    int64_t str[WT_CPU_ITER_MAX][WT_MAX_DIMS];
    bool empty = false;
    for (int d = 0; d < t0->ndim; d++) {
        int64_t n = t0->shape[d];
        if (n == 0) empty = true;
        if (n == 1) continue;
        bool merge = nd > 0;
        for (int k = 0; merge && k < nt; k++)
            merge = str[k][nd - 1] == ts[k]->stride[d] * n;
        if (merge) {
            shape[nd - 1] *= n;
            for (int k = 0; k < nt; k++) str[k][nd - 1] = ts[k]->stride[d];
        } else {
            shape[nd] = n;
            for (int k = 0; k < nt; k++) str[k][nd] = ts[k]->stride[d];
            nd++;
        }
    }
    memset(it, 0, sizeof *it);
    it->nt = nt;
    if (nd == 0) {
        it->len = 1;
        for (int k = 0; k < nt; k++) it->inc[k] = 1;
    } else {
        it->len = shape[nd - 1];
        for (int k = 0; k < nt; k++) it->inc[k] = str[k][nd - 1];
        nd--;
    }
    it->nd = nd;
    it->rows = empty ? 0 : 1;
    for (int d = 0; d < nd; d++) {
        it->shape[d] = shape[d];
        it->rows *= shape[d];
        for (int k = 0; k < nt; k++) it->stride[k][d] = str[k][d];
    }
}

/* Walks the first `nouter` dims of ts[0]'s shape without merging, so idx[]
 * is the logical index; the caller handles the remaining dims of each row. */
static inline void wt_cpu_iter_rows(wt_cpu_iter *it, int nt, const wt_tensor *const *ts, int nouter) {
    memset(it, 0, sizeof *it);
    it->nt = nt;
    it->nd = nouter;
    it->rows = 1;
    for (int d = 0; d < nouter; d++) {
        it->shape[d] = ts[0]->shape[d];
        it->rows *= it->shape[d];
        for (int k = 0; k < nt; k++) it->stride[k][d] = ts[k]->stride[d];
    }
    for (int d = nouter; d < ts[0]->ndim; d++)
        if (ts[0]->shape[d] == 0) it->rows = 0;
}

/* Advances to the next row (the first call gives row 0); false when done. */
static inline bool wt_cpu_iter_next(wt_cpu_iter *it) {
    if (it->rows <= 0) return false;
    it->rows--;
    if (!it->started) {
        it->started = true;
        return true;
    }
    for (int d = it->nd - 1; d >= 0; d--) {
        if (++it->idx[d] < it->shape[d]) {
            for (int k = 0; k < it->nt; k++) it->off[k] += it->stride[k][d];
            return true;
        }
        it->idx[d] = 0;
        for (int k = 0; k < it->nt; k++) it->off[k] -= it->stride[k][d] * (it->shape[d] - 1);
    }
    return true;
}

#endif
