/* The CUDA emulation runtime (see kernels/emu/cuda_emu.h): a fiber scheduler
 * for thread blocks, streams that run in order, and stream capture as
 * record-and-replay. State is process-global because CUDA's built-in
 * variables and default stream are; the emulator is single-threaded.
 * A fiber is entered once through its ucontext (to get onto its own stack)
 * and switched with _setjmp/_longjmp after that: swapcontext saves and
 * restores the signal mask, a system call on every switch, which was half
 * of the emulated suites' time. */
/* longjmp between fiber stacks is what the runtime does on purpose; the
 * fortified longjmp would take it for a jump into a dead frame */
#undef _FORTIFY_SOURCE
#include "kernels/emu/cuda_emu.h"

#include <setjmp.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define WT_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WT_EMU_ASAN 1
#endif
#endif
#ifdef WT_EMU_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

struct CUstream_st {
    bool capturing = false;
    uint64_t spoil_at_begin = 0;
    cudaGraph_t graph = nullptr;
};

namespace {

/* A graph node: a launch or a copy/set with the values given at capture. */
struct node {
    enum kind_t { LAUNCH, COPY, SET } kind = LAUNCH;
    dim3 grid, block;
    size_t shmem = 0;
    std::function<void()> body;
    void *dst = nullptr;
    const void *src = nullptr;
    size_t bytes = 0;
    int value = 0;
};

} // namespace

struct CUgraph_st {
    std::vector<node> nodes;
};
struct CUgraphExec_st {
    std::vector<node> nodes;
};

namespace wt_emu {

builtins g_builtin;

namespace {

constexpr int kMaxThreads = 1024;
/* Kernel frames are small; sanitizer builds need the room for redzones. */
constexpr size_t kStackBytes = 256 * 1024;
constexpr size_t kDynSmemBytes = 48 * 1024;

enum fiber_state { READY, DONE };

struct fiber {
    ucontext_t ctx;   /* the fiber's first entry (its own stack) */
    jmp_buf jb;       /* where it resumes after a yield */
    bool started;
    fiber_state state;
    uint3 tid;
    void *fake_stack;
};

struct warp_sync {
    unsigned arrived;  /* lanes arrived at the current barrier */
    unsigned mask;     /* the barrier's mask (all lanes must agree) */
    unsigned gen;
    uint64_t slot[32];
};

struct runtime {
    unsigned char *stacks = nullptr; /* kMaxThreads stacks, mapped once */
    fiber fibers[kMaxThreads];
    jmp_buf sched;
    const void *sched_stack_bottom = nullptr;
    size_t sched_stack_size = 0;
    void *sched_fake_stack = nullptr;
    int nthreads = 0, cur = 0, exited = 0;
    const std::function<void()> *body = nullptr;
    unsigned bar_arrived = 0, bar_gen = 0;
    warp_sync warps[kMaxThreads / 32];
    uint64_t progress = 0;
    alignas(16) unsigned char dyn_smem[kDynSmemBytes];
    cudaError_t last_error = cudaSuccess;
    uint64_t launches = 0, switches = 0;
    CUstream_st default_stream;
};

runtime &rt() {
    static runtime r;
    return r;
}

[[noreturn]] void fatal(const char *what) {
    runtime &r = rt();
    fiber &f = r.fibers[r.cur];
    std::fprintf(stderr, "cuda emulation: %s (block %u,%u,%u thread %u,%u,%u)\n", what,
                 g_builtin.block_idx.x, g_builtin.block_idx.y, g_builtin.block_idx.z, f.tid.x,
                 f.tid.y, f.tid.z);
    std::abort();
}

void set_error(cudaError_t e) {
    if (e != cudaSuccess) rt().last_error = e;
}

/* Fiber -> scheduler. */
void yield() {
    runtime &r = rt();
    fiber &f = r.fibers[r.cur];
#ifdef WT_EMU_ASAN
    __sanitizer_start_switch_fiber(&f.fake_stack, r.sched_stack_bottom, r.sched_stack_size);
#endif
    if (!_setjmp(f.jb)) _longjmp(r.sched, 1);
#ifdef WT_EMU_ASAN
    __sanitizer_finish_switch_fiber(f.fake_stack, &r.sched_stack_bottom, &r.sched_stack_size);
#endif
}

void fiber_main() {
    runtime &r = rt();
#ifdef WT_EMU_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &r.sched_stack_bottom, &r.sched_stack_size);
#endif
    (*r.body)();
    r.fibers[r.cur].state = DONE;
    r.exited++;
    r.progress++;
#ifdef WT_EMU_ASAN
    __sanitizer_start_switch_fiber(nullptr, r.sched_stack_bottom, r.sched_stack_size);
#endif
    _longjmp(r.sched, 1);
}

unsigned linear_tid() {
    const uint3 &t = g_builtin.thread_idx;
    const dim3 &b = g_builtin.block_dim;
    return t.x + b.x * (t.y + b.y * t.z);
}

/* Lanes that exist in the calling thread's warp (the last warp may be partial). */
unsigned warp_lanes(unsigned warp) {
    unsigned first = warp * 32, n = (unsigned)rt().nthreads - first;
    return n >= 32 ? 0xffffffffu : (1u << n) - 1u;
}

void warp_barrier(unsigned mask) {
    runtime &r = rt();
    unsigned lane = linear_tid() % 32, w = linear_tid() / 32;
    warp_sync &ws = r.warps[w];
    if (!(mask & (1u << lane))) fatal("warp operation called by a lane outside its mask");
    if (mask & ~warp_lanes(w)) fatal("warp operation mask names lanes the block does not have");
    for (unsigned l = 0; l < 32; l++)
        if ((mask & (1u << l)) && r.fibers[w * 32 + l].state == DONE)
            fatal("warp operation mask names a lane that has returned");
    if (ws.arrived == 0) ws.mask = mask;
    else if (ws.mask != mask) fatal("lanes of one warp disagree on a warp operation's mask");
    ws.arrived |= 1u << lane;
    r.progress++;
    if (ws.arrived == mask) {
        ws.arrived = 0;
        ws.gen++;
        return;
    }
    unsigned gen = ws.gen;
    while (ws.gen == gen) yield();
}

void ensure_stacks() {
    runtime &r = rt();
    if (r.stacks) return;
    void *p = mmap(nullptr, kStackBytes * kMaxThreads, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        std::fprintf(stderr, "cuda emulation: cannot map fiber stacks\n");
        std::abort();
    }
    r.stacks = static_cast<unsigned char *>(p);
}

/* Kept out of line: getcontext returns twice, like setjmp, which would
 * make the caller's loop variables unreliable. */
__attribute__((noinline)) void init_fiber(int i, uint3 tid) {
    runtime &r = rt();
    fiber &f = r.fibers[i];
    f.state = READY;
    f.started = false;
    f.tid = tid;
    f.fake_stack = nullptr;
    getcontext(&f.ctx);
    f.ctx.uc_stack.ss_sp = r.stacks + (size_t)i * kStackBytes;
    f.ctx.uc_stack.ss_size = kStackBytes;
    f.ctx.uc_link = nullptr;
    makecontext(&f.ctx, fiber_main, 0);
}

void run_block(const node &n) {
    runtime &r = rt();
    r.nthreads = (int)(n.block.x * n.block.y * n.block.z);
    r.exited = 0;
    r.bar_arrived = 0;
    r.body = &n.body;
    for (int w = 0; w < (r.nthreads + 31) / 32; w++) r.warps[w].arrived = 0;
    /* Shared memory starts as garbage on a GPU: NaN bytes catch kernels that read it unwritten. */
    std::memset(r.dyn_smem, 0xff, n.shmem);
    int i = 0;
    for (unsigned z = 0; z < n.block.z; z++)
        for (unsigned y = 0; y < n.block.y; y++)
            for (unsigned x = 0; x < n.block.x; x++, i++) init_fiber(i, uint3{x, y, z});
    for (;;) {
        uint64_t before = r.progress;
        int live = 0;
        for (i = 0; i < r.nthreads; i++) {
            fiber &f = r.fibers[i];
            if (f.state == DONE) continue;
            r.cur = i;
            g_builtin.thread_idx = f.tid;
            r.switches++;
#ifdef WT_EMU_ASAN
            __sanitizer_start_switch_fiber(&r.sched_fake_stack, r.stacks + (size_t)i * kStackBytes,
                                           kStackBytes);
#endif
            if (!_setjmp(r.sched)) {
                if (f.started) _longjmp(f.jb, 1);
                f.started = true;
                setcontext(&f.ctx); /* first entry: onto the fiber's stack */
            }
#ifdef WT_EMU_ASAN
            __sanitizer_finish_switch_fiber(r.sched_fake_stack, nullptr, nullptr);
#endif
            if (f.state != DONE) live++;
        }
        if (live == 0) break;
        if (r.progress == before) fatal("deadlock: threads wait at barriers that can never complete");
    }
}

cudaError_t run_node(const node &n) {
    runtime &r = rt();
    switch (n.kind) {
    case node::COPY:
        if (n.bytes) std::memmove(n.dst, n.src, n.bytes);
        return cudaSuccess;
    case node::SET:
        if (n.bytes) std::memset(n.dst, n.value, n.bytes);
        return cudaSuccess;
    case node::LAUNCH:
        break;
    }
    ensure_stacks();
    r.launches++;
    g_builtin.grid_dim = n.grid;
    g_builtin.block_dim = n.block;
    for (unsigned z = 0; z < n.grid.z; z++)
        for (unsigned y = 0; y < n.grid.y; y++)
            for (unsigned x = 0; x < n.grid.x; x++) {
                g_builtin.block_idx = uint3{x, y, z};
                run_block(n);
            }
    return cudaSuccess;
}

CUstream_st *stream_of(cudaStream_t s) { return s ? s : &rt().default_stream; }

cudaError_t enqueue(cudaStream_t s, node &&n) {
    CUstream_st *st = stream_of(s);
    if (st->capturing) {
        st->graph->nodes.push_back(std::move(n));
        return cudaSuccess;
    }
    return run_node(n);
}

/* Captures open now, and a counter bumped by every operation a capture must
 * not contain (allocation, synchronisation, synchronous copy): a capture
 * that saw it fails at its end, as CUDA's global capture mode does. */
int captures_open = 0;
uint64_t spoil_count = 0;

bool any_capture() { return captures_open > 0; }

bool refuse_in_capture() {
    if (!any_capture()) return false;
    spoil_count++;
    set_error(cudaErrorStreamCaptureUnsupported);
    return true;
}

} // namespace

void syncthreads() {
    runtime &r = rt();
    if (r.exited) fatal("__syncthreads after some threads of the block returned");
    r.bar_arrived++;
    r.progress++;
    if (r.bar_arrived == (unsigned)r.nthreads) {
        r.bar_arrived = 0;
        r.bar_gen++;
        return;
    }
    unsigned gen = r.bar_gen;
    while (r.bar_gen == gen) yield();
}

void syncwarp(unsigned mask) { warp_barrier(mask); }

unsigned lane_id() { return linear_tid() % 32; }

uint64_t warp_exchange(unsigned mask, uint64_t mine, int src) {
    runtime &r = rt();
    unsigned lane = lane_id(), w = linear_tid() / 32;
    warp_sync &ws = r.warps[w];
    ws.slot[lane] = mine;
    warp_barrier(mask);
    uint64_t out = mine;
    if (src >= 0) {
        if (!(mask & (1u << src))) fatal("shuffle reads a lane outside the mask");
        out = ws.slot[src];
    }
    warp_barrier(mask); /* nobody posts again before every lane has read */
    return out;
}

unsigned warp_ballot(unsigned mask, int pred) {
    runtime &r = rt();
    unsigned lane = lane_id(), w = linear_tid() / 32;
    warp_sync &ws = r.warps[w];
    ws.slot[lane] = pred != 0;
    warp_barrier(mask);
    unsigned bits = 0;
    for (unsigned l = 0; l < 32; l++)
        if ((mask & (1u << l)) && ws.slot[l]) bits |= 1u << l;
    warp_barrier(mask);
    return bits;
}

void *dyn_smem() { return rt().dyn_smem; }

cudaError_t submit(dim3 grid, dim3 block, size_t shmem, cudaStream_t s, std::function<void()> body) {
    uint64_t threads = (uint64_t)block.x * block.y * block.z;
    if (threads == 0 || threads > kMaxThreads || block.z > 64 || grid.x == 0 || grid.y == 0 ||
        grid.z == 0 || grid.y > 65535 || grid.z > 65535 || shmem > kDynSmemBytes) {
        set_error(cudaErrorInvalidConfiguration);
        return cudaErrorInvalidConfiguration;
    }
    node n;
    n.kind = node::LAUNCH;
    n.grid = grid;
    n.block = block;
    n.shmem = shmem;
    n.body = std::move(body);
    return enqueue(s, std::move(n));
}

uint64_t launches_run() { return rt().launches; }
uint64_t fiber_switches() { return rt().switches; }
size_t graph_nodes(cudaGraph_t g) { return g ? g->nodes.size() : 0; }

} // namespace wt_emu

using wt_emu::rt;

const char *cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorIllegalState: return "operation not permitted in the current state";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    }
    return "unknown error";
}

cudaError_t cudaGetLastError() {
    cudaError_t e = rt().last_error;
    rt().last_error = cudaSuccess;
    return e;
}
cudaError_t cudaPeekAtLastError() { return rt().last_error; }

cudaError_t cudaGetDeviceCount(int *n) {
    *n = 1;
    return cudaSuccess;
}
cudaError_t cudaSetDevice(int dev) { return dev == 0 ? cudaSuccess : cudaErrorInvalidValue; }

cudaError_t cudaMalloc(void **p, size_t bytes) {
    *p = nullptr;
    if (wt_emu::refuse_in_capture()) return cudaErrorStreamCaptureUnsupported;
    *p = aligned_alloc(256, ((bytes ? bytes : 1) + 255) & ~(size_t)255);
    return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
cudaError_t cudaFree(void *p) {
    if (wt_emu::refuse_in_capture()) return cudaErrorStreamCaptureUnsupported;
    free(p);
    return cudaSuccess;
}
cudaError_t cudaMallocHost(void **p, size_t bytes) { return cudaMalloc(p, bytes); }
cudaError_t cudaFreeHost(void *p) { return cudaFree(p); }

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind) {
    if (wt_emu::refuse_in_capture()) return cudaErrorStreamCaptureUnsupported;
    if (bytes) std::memmove(dst, src, bytes);
    return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind,
                            cudaStream_t s) {
    node n;
    n.kind = node::COPY;
    n.dst = dst;
    n.src = src;
    n.bytes = bytes;
    return wt_emu::enqueue(s, std::move(n));
}
cudaError_t cudaMemsetAsync(void *dst, int value, size_t bytes, cudaStream_t s) {
    node n;
    n.kind = node::SET;
    n.dst = dst;
    n.value = value;
    n.bytes = bytes;
    return wt_emu::enqueue(s, std::move(n));
}

cudaError_t cudaStreamCreate(cudaStream_t *s) {
    *s = new CUstream_st();
    return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned) { return cudaStreamCreate(s); }
cudaError_t cudaStreamDestroy(cudaStream_t s) {
    if (s && s->capturing) return cudaErrorIllegalState;
    delete s;
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) {
    (void)s;
    if (wt_emu::refuse_in_capture()) return cudaErrorStreamCaptureUnsupported;
    return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize() {
    if (wt_emu::refuse_in_capture()) return cudaErrorStreamCaptureUnsupported;
    return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode) {
    /* the legacy default stream cannot be captured */
    if (!s) return cudaErrorStreamCaptureUnsupported;
    if (s->capturing) return cudaErrorIllegalState;
    s->capturing = true;
    s->spoil_at_begin = wt_emu::spoil_count;
    s->graph = new CUgraph_st();
    wt_emu::captures_open++;
    return cudaSuccess;
}
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g) {
    *g = nullptr;
    if (!s || !s->capturing) return cudaErrorIllegalState;
    s->capturing = false;
    wt_emu::captures_open--;
    if (wt_emu::spoil_count != s->spoil_at_begin) {
        delete s->graph;
        s->graph = nullptr;
        return cudaErrorStreamCaptureInvalidated;
    }
    *g = s->graph;
    s->graph = nullptr;
    return cudaSuccess;
}
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *e, cudaGraph_t g, unsigned long long) {
    if (!g) return cudaErrorInvalidValue;
    *e = new CUgraphExec_st{g->nodes};
    return cudaSuccess;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t e, cudaStream_t s) {
    if (!e) return cudaErrorInvalidValue;
    if (wt_emu::stream_of(s)->capturing) return cudaErrorStreamCaptureUnsupported;
    for (const node &n : e->nodes) {
        cudaError_t err = wt_emu::run_node(n);
        if (err != cudaSuccess) return err;
    }
    return cudaSuccess;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t e) {
    delete e;
    return cudaSuccess;
}
cudaError_t cudaGraphDestroy(cudaGraph_t g) {
    delete g;
    return cudaSuccess;
}
