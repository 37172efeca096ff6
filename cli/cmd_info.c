/* `wavetensor info FILE.safetensors`: every tensor (sorted by name) with its
 * dtype, shape and byte size, the metadata, and totals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "wavetensor/wavetensor.h"

static void info_usage(FILE *f) {
    fprintf(f, "usage: wavetensor info FILE.safetensors\n"
               "  lists every tensor (name, dtype, shape, bytes) sorted by name, the\n"
               "  __metadata__ pairs and totals; the file is fully validated first\n");
}

static int cmp_entry_name(const void *a, const void *b) {
    return strcmp((*(const wt_st_entry *const *)a)->name, (*(const wt_st_entry *const *)b)->name);
}

static void print_shape(const wt_st_entry *e) {
    char buf[256];
    size_t k = (size_t)snprintf(buf, sizeof buf, "[");
    for (int d = 0; d < e->ndim && k < sizeof buf; d++)
        k += (size_t)snprintf(buf + k, sizeof buf - k, d ? ", %lld" : "%lld", (long long)e->shape[d]);
    if (k < sizeof buf) snprintf(buf + k, sizeof buf - k, "]");
    printf("  %-24s", buf);
}

int wt_cmd_info(int argc, char **argv) {
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            info_usage(stdout);
            return WT_EXIT_OK;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return wt_cli_fail(WT_EXIT_USAGE, "info: unknown option '%s' (see wavetensor info --help)",
                               argv[i]);
        if (path)
            return wt_cli_fail(WT_EXIT_USAGE, "info: more than one file given ('%s', '%s')", path,
                               argv[i]);
        path = argv[i];
    }
    if (!path) return wt_cli_fail(WT_EXIT_USAGE, "info: no file given (usage: wavetensor info FILE.safetensors)");

    wt_st_file *f = wt_st_open(path);
    if (!f) return wt_cli_fail(WT_EXIT_RUNTIME, "%s", wt_last_error());
    size_t n = wt_st_count(f);
    const wt_st_entry **sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted) {
        wt_st_close(f);
        return wt_cli_fail(WT_EXIT_RUNTIME, "%s: out of memory", path);
    }
    for (size_t i = 0; i < n; i++) sorted[i] = wt_st_at(f, i);
    qsort(sorted, n, sizeof *sorted, cmp_entry_name);

    size_t name_w = 4;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(sorted[i]->name);
        if (l > name_w) name_w = l;
    }
    printf("%s\n", path);
    printf("%-*s  %-5s  %-24s  %s\n", (int)name_w, "name", "dtype", "shape", "bytes");
    long long params[WT_DTYPE_COUNT] = {0};
    unsigned long long bytes = 0, total_params = 0;
    for (size_t i = 0; i < n; i++) {
        const wt_st_entry *e = sorted[i];
        long long numel = 1;
        for (int d = 0; d < e->ndim; d++) numel *= e->shape[d];
        printf("%-*s  %-5s", (int)name_w, e->name, wt_dtype_name(e->dtype));
        print_shape(e);
        printf("  %zu\n", e->nbytes);
        params[e->dtype] += numel;
        total_params += (unsigned long long)numel;
        bytes += e->nbytes;
    }
    size_t nm = wt_st_meta_count(f);
    printf("metadata: %zu entr%s\n", nm, nm == 1 ? "y" : "ies");
    for (size_t i = 0; i < nm; i++) printf("  %s = %s\n", wt_st_meta_key(f, i), wt_st_meta_value(f, i));
    printf("total: %zu tensors, %llu elements, %llu bytes", n, total_params, bytes);
    for (int t = 0; t < WT_DTYPE_COUNT; t++)
        if (params[t]) printf(", %s %lld", wt_dtype_name((wt_dtype)t), params[t]);
    printf("\n");
    free(sorted);
    wt_st_close(f);
    return WT_EXIT_OK;
}
