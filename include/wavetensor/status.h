/* wavetensor status codes and error messages.
 * Owns: the wt_status enum and the thread-local "last error" text. Never allocates. */
#ifndef WAVETENSOR_STATUS_H
#define WAVETENSOR_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum wt_status {
    WT_OK = 0,
    WT_ERR_INVALID,     /* bad argument, shape or dtype */
    WT_ERR_IO,          /* file could not be opened, read or written */
    WT_ERR_FORMAT,      /* malformed file contents */
    WT_ERR_NOMEM,       /* allocation failed or arena exhausted */
    WT_ERR_UNSUPPORTED, /* valid request this build or backend cannot do */
    WT_ERR_NOT_FOUND,   /* missing tensor, key or file */
} wt_status;

/* Short name of a status ("invalid argument", ...). Thread safe, callback safe. */
const char *wt_status_str(wt_status s);

/* Records a printf-style message for the calling thread and returns s, so a
 * failing function can `return wt_error(WT_ERR_IO, "%s: cannot open", path);`.
 * Thread safe; not callback safe (formats text). */
wt_status wt_error(wt_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The calling thread's last message ("" when none). Thread safe. */
const char *wt_last_error(void);

/* Forget the calling thread's last message. */
void wt_clear_error(void);

#ifdef __cplusplus
}
#endif
#endif
