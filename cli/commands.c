/* The subcommand table: one line per command. */
#include <stdarg.h>
#include <stdio.h>

#include "cli/cli.h"

const wt_cli_command wt_cli_commands[] = {
    {"info", "FILE.safetensors: list tensors (dtype, shape, bytes) and metadata", wt_cmd_info},
    {"selfcheck", "load golden weights and run a small model op by op", wt_cmd_selfcheck},
    {"denoise", "IN -o OUT.wav: speech enhancement with causal Demucs", wt_cmd_denoise},
    {"mimi", "encode|decode|roundtrip: the Mimi neural codec on files", wt_cmd_mimi},
    {"encode", "IN.wav -o OUT.wtok: short for `mimi encode`", wt_cmd_encode},
    {"decode", "IN.wtok -o OUT.wav: short for `mimi decode`", wt_cmd_decode},
    {"llama", "generate: text or token generation with a Llama model", wt_cmd_llama},
    {"live", "passthrough|codec|denoise: live audio through a model (JACK or PortAudio)", wt_cmd_live},
    {"record", "-o FILE.wtok: microphone to Mimi tokens, frame by frame", wt_cmd_record},
    {"play", "FILE.wtok: Mimi tokens to the speakers", wt_cmd_play},
    {"devices", "list PortAudio devices", wt_cmd_devices},
    {"playrec", "IN -o OUT.wav --to PORT --from PORT: play into and record from JACK ports", wt_cmd_playrec},
    {"bench", "llama|mimi|demucs: speed benchmarks", wt_cmd_bench},
    {NULL, NULL, NULL},
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
