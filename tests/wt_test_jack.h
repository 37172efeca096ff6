/* A private JACK dummy server for the suites that talk to JACK: naming it so
 * that parallel build trees never share one and JACK's small table of
 * servers (8 entries) is not exhausted, starting `jackd -d dummy` and
 * waiting until it answers, stopping it by pid, opening clients on it. Never
 * starts a server implicitly (clients are opened with JackNoStartServer) and
 * never stops a server it did not start. */
#ifndef WT_TEST_JACK_H
#define WT_TEST_JACK_H

#include <jack/jack.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* True (after saying "<suite>: jackd not installed, skipping" on stderr)
 * when jackd is not in $PATH: the JACK tests then pass without running. */
bool wt_test_jack_missing(const char *suite);

typedef struct wt_test_jack_server {
    char name[64];
    pid_t pid; /* 0 when not running */
} wt_test_jack_server;

/* "<prefix>_<FNV-1a of the build directory>": the same for every test of a
 * suite, so the entry a killed server leaves in JACK's table is reused by the
 * next server of that name; distinct for two build trees running at once. */
void wt_test_jack_name_build(char *buf, size_t n, const char *prefix);
/* "<prefix>_<tag>_<pid>": unique per test (Check forks each one). */
void wt_test_jack_name_tagged(char *buf, size_t n, const char *prefix, const char *tag);

/* Starts `jackd -n name -d dummy -r rate -p period` (output discarded), with
 * JACK's client-side messages silenced, and polls every 50 ms for up to
 * timeout_ms until a client can connect. False when it did not answer or
 * exited (name taken, table full); s->pid is 0 after such an exit. */
bool wt_test_jack_start(wt_test_jack_server *s, const char *name, const char *rate,
                        const char *period, int timeout_ms);

/* SIGTERM, up to 5 s to exit, then SIGKILL; reaps it. No-op when not running. */
void wt_test_jack_stop(wt_test_jack_server *s);

/* A client named `client` on this server (never starting one); NULL on failure. */
jack_client_t *wt_test_jack_open(const wt_test_jack_server *s, const char *client);

#endif
