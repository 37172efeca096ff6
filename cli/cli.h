/* The wavetensor CLI's subcommand table and shared conventions.
 * Exit codes: 0 ok, 1 runtime error, 2 usage error; errors are one line on
 * stderr starting with "wavetensor: ". */
#ifndef WT_CLI_H
#define WT_CLI_H

enum { WT_EXIT_OK = 0, WT_EXIT_RUNTIME = 1, WT_EXIT_USAGE = 2 };

typedef struct wt_cli_command {
    const char *name;
    const char *summary; /* one line for `wavetensor --help` */
    /* argv[0] is the command name */
    int (*run)(int argc, char **argv);
} wt_cli_command;

/* Terminated by a {NULL, NULL} entry; defined in cli/commands.c. */
extern const wt_cli_command wt_cli_commands[];

/* Prints "wavetensor: <msg>\n" to stderr and returns code. */
int wt_cli_fail(int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

int wt_cmd_info(int argc, char **argv);
int wt_cmd_selfcheck(int argc, char **argv);
int wt_cmd_denoise(int argc, char **argv);
int wt_cmd_llama(int argc, char **argv);
int wt_cmd_bench(int argc, char **argv);

int wt_cmd_mimi(int argc, char **argv);
int wt_cmd_encode(int argc, char **argv);
int wt_cmd_decode(int argc, char **argv);
int wt_cmd_bench_mimi(int argc, char **argv);
int wt_cmd_bench_demucs(int argc, char **argv); /* cli/cmd_bench_demucs.c */

/* cli/cmd_live.c: real-time commands. */
int wt_cmd_live(int argc, char **argv);
int wt_cmd_record(int argc, char **argv);
int wt_cmd_play(int argc, char **argv);
int wt_cmd_devices(int argc, char **argv);
/* cli/cmd_playrec.c: play a file into a JACK port, record another. */
int wt_cmd_playrec(int argc, char **argv);

#endif
