/* A private JACK dummy server for the suites (see wt_test_jack.h). */
#define _DEFAULT_SOURCE
#include "wt_test_jack.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wt_test_proc.h"

bool wt_test_jack_missing(const char *suite) {
    if (wt_test_on_path("jackd")) return false;
    fprintf(stderr, "%s: jackd not installed, skipping (apt-get install jackd2)\n", suite);
    return true;
}

void wt_test_jack_name_build(char *buf, size_t n, const char *prefix) {
    uint32_t h = 2166136261u; /* FNV-1a of the build directory */
    for (const char *p = WT_BINARY_DIR; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
    snprintf(buf, n, "%s_%08x", prefix, h);
}

void wt_test_jack_name_tagged(char *buf, size_t n, const char *prefix, const char *tag) {
    snprintf(buf, n, "%s_%s_%d", prefix, tag, (int)getpid());
}

static void quiet(const char *m) { (void)m; }

jack_client_t *wt_test_jack_open(const wt_test_jack_server *s, const char *client) {
    jack_status_t st;
    return jack_client_open(client, JackNoStartServer | JackServerName, &st, s->name);
}

bool wt_test_jack_start(wt_test_jack_server *s, const char *name, const char *rate,
                        const char *period, int timeout_ms) {
    jack_set_error_function(quiet);
    jack_set_info_function(quiet);
    snprintf(s->name, sizeof s->name, "%s", name);
    char *argv[] = {"jackd", "-n", s->name, "-d", "dummy", "-r", (char *)rate, "-p", (char *)period, NULL};
    s->pid = wt_test_spawn(argv, NULL, NULL);
    for (int t = 0; t < timeout_ms; t += 50) {
        wt_test_msleep(50);
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) { /* it gave up (name taken, table full) */
            s->pid = 0;
            return false;
        }
        jack_client_t *c = wt_test_jack_open(s, "probe");
        if (c) {
            jack_client_close(c);
            return true;
        }
    }
    return false;
}

void wt_test_jack_stop(wt_test_jack_server *s) {
    if (s->pid <= 0) return;
    kill(s->pid, SIGTERM);
    int st;
    if (wt_test_wait_exit(s->pid, 5000, &st)) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &st, 0);
    }
    s->pid = 0;
}
