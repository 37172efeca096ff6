/* Status names and the per-thread last-error text. */
#include "wavetensor/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* One message buffer per thread: errors never allocate and threads never see
 * each other's messages. */
static _Thread_local char t_last_error[512];

const char *wt_status_str(wt_status s) {
    switch (s) {
    case WT_OK: return "ok";
    case WT_ERR_INVALID: return "invalid argument";
    case WT_ERR_IO: return "i/o error";
    case WT_ERR_FORMAT: return "malformed data";
    case WT_ERR_NOMEM: return "out of memory";
    case WT_ERR_UNSUPPORTED: return "unsupported";
    case WT_ERR_NOT_FOUND: return "not found";
    }
    return "unknown status";
}

wt_status wt_error(wt_status s, const char *fmt, ...) {
    /* Format into a scratch buffer first: callers may pass wt_last_error()
     * itself as an argument to add context to a lower-level message. */
    char msg[sizeof t_last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(t_last_error, msg, sizeof msg);
    return s;
}

const char *wt_last_error(void) { return t_last_error; }

void wt_clear_error(void) { t_last_error[0] = '\0'; }
