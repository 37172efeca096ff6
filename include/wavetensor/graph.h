/* wavetensor step graphs: a fixed-shape streaming step run as one replayed
 * graph on backends that record them (CUDA), eagerly elsewhere.
 * Owns: the captured graph of one step function and the decision when to
 * capture. The step function must launch the same ops on the same
 * addresses every call (an arena context reset at its start, state and I/O
 * in fixed tensors) and must not read device memory on the host: once
 * captured, later calls replay the recorded ops and never run the function.
 * Inputs are uploaded before wt_step_graph_run and outputs downloaded after
 * it, into the step's fixed tensors. */
#ifndef WAVETENSOR_GRAPH_H
#define WAVETENSOR_GRAPH_H
#include <stdbool.h>
#include "wavetensor/ctx.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef wt_status (*wt_step_fn)(void *user);
typedef struct wt_step_graph wt_step_graph;

/* A step runner for backend `be`. Graphs are used when the backend records
 * them and neither `use_graphs` is false nor the environment has
 * WT_GRAPHS=0 (the switch for comparing against eager runs). */
wt_step_graph *wt_step_graph_new(const wt_backend *be, bool use_graphs);
void wt_step_graph_free(wt_step_graph *g);
/* Runs the step: eagerly for the first call (warm-up: kernels loaded,
 * library workspaces created), captured on the second and replayed from
 * then on. Asynchronous on a device: the caller's download of the outputs
 * waits for it. Never allocates after the capture. A capture the step
 * spoils (it synchronised or allocated) turns graphs off for this runner:
 * that call and the later ones run eagerly. */
wt_status wt_step_graph_run(wt_step_graph *g, wt_step_fn fn, void *user);
/* Forgets the capture (call after changing what the step does, e.g. the
 * tensors it uses); the next run captures again. */
void wt_step_graph_invalidate(wt_step_graph *g);
/* Whether runs are (or will be) replayed graphs. */
bool wt_step_graph_enabled(const wt_step_graph *g);

#ifdef __cplusplus
}
#endif
#endif
