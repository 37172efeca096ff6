/* wavetensor command-line tool: dispatches subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "wavetensor/wavetensor.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: wavetensor <command> [options]\n"
            "\n"
            "commands:\n"
            "  info FILE.safetensors   list tensors (dtype, shape, bytes) and metadata\n"
            "  selfcheck               load golden weights and run a small model op by op\n"
            "\n"
            "options:\n"
            "  -h, --help              show this help\n"
            "  -V, --version           show the version\n"
            "\n"
            "exit status: 0 ok, 1 runtime error, 2 usage error\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return WT_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return WT_EXIT_OK;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("wavetensor %s\n", wt_version());
        return WT_EXIT_OK;
    }
    for (const wt_cli_command *c = wt_cli_commands; c->name; c++)
        if (!strcmp(cmd, c->name)) return c->run(argc - 1, argv + 1);
    fprintf(stderr, "wavetensor: unknown command '%s' (see wavetensor --help)\n", cmd);
    return WT_EXIT_USAGE;
}
