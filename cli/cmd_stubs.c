/* STUB: replaced by cli/cmd_info.c and cli/cmd_selfcheck.c. */
#include "cli/cli.h"

int wt_cmd_info(int argc, char **argv) { (void)argc; (void)argv; return wt_cli_fail(WT_EXIT_RUNTIME, "info: not implemented yet"); }
int wt_cmd_selfcheck(int argc, char **argv) { (void)argc; (void)argv; return wt_cli_fail(WT_EXIT_RUNTIME, "selfcheck: not implemented yet"); }
