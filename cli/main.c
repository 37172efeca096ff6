/* wavetensor command-line tool: dispatches subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "wavetensor/wavetensor.h"

static void usage(FILE *f) {
    fprintf(f, "usage: wavetensor <command> [options]   (wavetensor <command> --help for details)\n\ncommands:\n");
    for (const wt_cli_command *c = wt_cli_commands; c->name; c++)
        fprintf(f, "  %-10s %s\n", c->name, c->summary);
    fprintf(f, "\noptions:\n"
               "  -h, --help     show this help\n"
               "  -V, --version  show the version\n"
               "\nexit status: 0 ok, 1 runtime error, 2 usage error\n");
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
