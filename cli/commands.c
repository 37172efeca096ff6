/* The subcommand table: one line per command. */
#include <stdarg.h>
#include <stdio.h>

#include "cli/cli.h"

const wt_cli_command wt_cli_commands[] = {
    {"info", wt_cmd_info},
    {"selfcheck", wt_cmd_selfcheck},
    {"denoise", wt_cmd_denoise},
    {"llama", wt_cmd_llama},
    {"bench", wt_cmd_bench},
    {"mimi", wt_cmd_mimi},
    {"encode", wt_cmd_encode},
    {"decode", wt_cmd_decode},
    {"live", wt_cmd_live},
    {"record", wt_cmd_record},
    {"play", wt_cmd_play},
    {"devices", wt_cmd_devices},
    {"playrec", wt_cmd_playrec},
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
