/* The subcommand table: one line per command. */
#include <stdarg.h>
#include <stdio.h>

#include "cli/cli.h"

const wt_cli_command wt_cli_commands[] = {
    {"info", wt_cmd_info},
    {"selfcheck", wt_cmd_selfcheck},
    {NULL, NULL},
};

int wt_cli_fail(int code, const char *fmt, ...) {
    va_list ap;
    fputs("wavetensor: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}
