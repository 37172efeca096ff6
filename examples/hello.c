/* A minimal program against the installed library:
 *   cc hello.c $(pkg-config --cflags --libs wavetensor) -o hello
 * Computes softmax(x W^T) for a tiny x and W and prints the result. */
#include <stdio.h>

#include <wavetensor/wavetensor.h>

int main(void) {
    printf("wavetensor %s\n", wt_version());
    wt_ctx *ctx = wt_ctx_new_heap(wt_cpu_backend());
    if (!ctx) return 1;
    float xv[3] = {1.0f, 2.0f, 3.0f};
    float wv[2][3] = {{0.5f, 0.0f, 0.0f}, {0.0f, 0.0f, 1.0f}};
    int64_t xs[2] = {1, 3}, ws[2] = {2, 3};
    wt_tensor *x = wt_tensor_wrap(ctx, WT_F32, 2, xs, xv);
    wt_tensor *w = wt_tensor_wrap(ctx, WT_F32, 2, ws, wv);
    wt_tensor *y = wt_softmax(ctx, wt_linear(ctx, x, w, NULL), 1.0f, NULL, WT_MASK_NONE, 0);
    if (!y) {
        fprintf(stderr, "hello: %s\n", wt_ctx_error(ctx));
        wt_ctx_free(ctx);
        return 1;
    }
    /* logits [0.5, 3.0] -> softmax */
    printf("softmax(x W^T) = [%.6f, %.6f]\n", wt_get_flat(y, 0), wt_get_flat(y, 1));
    wt_ctx_free(ctx);
    return 0;
}
