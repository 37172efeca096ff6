/* Child processes and their files for the Check suites: spawning a program
 * with stdout/stderr sent to files, waiting for it with a deadline, looking
 * for text in what it wrote, reading the WAV files it made. Owns no state
 * and never touches the library under test: it only runs programs (the CLI,
 * jackd) and reads files, so any suite may use it. */
#ifndef WT_TEST_PROC_H
#define WT_TEST_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Sleeps ms milliseconds. */
void wt_test_msleep(int ms);

/* True when an executable named `name` is in one of $PATH's directories. */
bool wt_test_on_path(const char *name);

/* Starts argv[0] (searched in $PATH) with stdout and stderr written to the
 * files out_path and err_path (NULL: /dev/null), in its own process group so
 * Check's signals do not reach it. Returns its pid. */
pid_t wt_test_spawn(char *const argv[], const char *out_path, const char *err_path);

/* waitpid with a deadline, polling every 20 ms: 0 with *status filled when
 * the child exited in time, -1 when it did not (it is left running). */
int wt_test_wait_exit(pid_t pid, int timeout_ms, int *status);

/* Spawns argv as wt_test_spawn does and waits up to timeout_ms: its exit
 * status, -1 when it died of a signal, -2 when it ran past the deadline
 * (then it is killed and reaped). */
int wt_test_run_wait(char *const argv[], const char *out, const char *err, int timeout_ms);

/* True when the first 8 KiB of the file contain needle. */
bool wt_test_file_contains(const char *path, const char *needle);

/* The whole file as a NUL-terminated string (free it); NULL when it cannot
 * be read. */
char *wt_test_read_text(const char *path);

/* The samples of a mono RIFF/WAVE file (16-bit PCM scaled by 1/32768, as
 * libsndfile reads it, or 32-bit float), parsed by its chunks without
 * libsndfile; *n samples at *rate Hz; a malformed file fails the test. */
float *wt_test_read_wav(const char *path, int64_t *n, int *rate);

#endif
