/* Helpers shared by `wavetensor llama` and `wavetensor bench llama`: strict
 * number parsing for options. Never prints except through wt_cli_fail. */
#ifndef WT_CLI_CMD_LLAMA_H
#define WT_CLI_CMD_LLAMA_H

#include <stdbool.h>
#include <stdint.h>

/* Whole-string integer / number parse; false when the text is not one. */
bool wt_cli_parse_i64(const char *s, int64_t *out);
bool wt_cli_parse_double(const char *s, double *out);

#endif
