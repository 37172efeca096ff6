/* Step graphs (include/wavetensor/graph.h) over the backend's optional
 * capture hooks. */
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "wavetensor/graph.h"

struct wt_step_graph {
    const wt_backend *be;
    bool enabled;
    int runs;     /* eager runs so far (the first is the warm-up) */
    void *graph;  /* the captured step, once recorded */
};

wt_step_graph *wt_step_graph_new(const wt_backend *be, bool use_graphs) {
    wt_step_graph *g = calloc(1, sizeof *g);
    if (!g) {
        wt_error(WT_ERR_NOMEM, "wt_step_graph_new: out of memory");
        return NULL;
    }
    const char *env = getenv("WT_GRAPHS");
    g->be = be;
    g->enabled = use_graphs && be->capture_begin && !(env && strcmp(env, "0") == 0);
    return g;
}

void wt_step_graph_invalidate(wt_step_graph *g) {
    if (g->graph) g->be->graph_free(g->graph);
    g->graph = NULL;
    g->runs = 0;
}

void wt_step_graph_free(wt_step_graph *g) {
    if (!g) return;
    wt_step_graph_invalidate(g);
    free(g);
}

bool wt_step_graph_enabled(const wt_step_graph *g) { return g->enabled; }

wt_status wt_step_graph_run(wt_step_graph *g, wt_step_fn fn, void *user) {
    if (g->graph) return g->be->graph_launch(g->graph);
    if (!g->enabled || g->runs == 0) {
        g->runs++;
        return fn(user);
    }
    /* the capture records the step without running it: replay it at once */
    wt_status s = g->be->sync();
    if (s == WT_OK) s = g->be->capture_begin();
    if (s != WT_OK) return s;
    wt_status fs = fn(user);
    void *graph = g->be->capture_end();
    if (fs != WT_OK || !graph) {
        /* the step did something a graph cannot hold (a synchronisation,
         * an allocation) or failed: nothing it recorded ran, so run it
         * eagerly, now and from now on, rather than fail every frame; a
         * real error shows again there */
        if (graph) g->be->graph_free(graph);
        g->enabled = false;
        return fn(user);
    }
    g->graph = graph;
    return g->be->graph_launch(graph);
}
