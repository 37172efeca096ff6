/* Child processes and their files for the Check suites (see wt_test_proc.h). */
#define _DEFAULT_SOURCE
#include "wt_test_proc.h"

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void wt_test_msleep(int ms) { usleep((useconds_t)ms * 1000); }

bool wt_test_on_path(const char *name) {
    const char *path = getenv("PATH");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path ? path : "/usr/bin:/bin");
    char *save = NULL;
    for (char *dir = strtok_r(buf, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dir, name);
        if (access(p, X_OK) == 0) return true;
    }
    return false;
}

pid_t wt_test_spawn(char *const argv[], const char *out_path, const char *err_path) {
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err_path ? err_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(o, STDOUT_FILENO);
        dup2(e, STDERR_FILENO);
        setpgid(0, 0); /* Check's own signals do not reach it */
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

int wt_test_wait_exit(pid_t pid, int timeout_ms, int *status) {
    for (int t = 0; t < timeout_ms; t += 20) {
        if (waitpid(pid, status, WNOHANG) == pid) return 0;
        wt_test_msleep(20);
    }
    return -1;
}

int wt_test_run_wait(char *const argv[], const char *out, const char *err, int timeout_ms) {
    pid_t pid = wt_test_spawn(argv, out, err);
    int st = 0;
    if (wt_test_wait_exit(pid, timeout_ms, &st) == 0) return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -2;
}

bool wt_test_file_contains(const char *path, const char *needle) {
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return strstr(buf, needle) != NULL;
}

char *wt_test_read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf) buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Little-endian fields of a chunk. */
static uint32_t le16(const unsigned char *b) { return (uint32_t)(b[0] | b[1] << 8); }
static uint32_t le32(const unsigned char *b) {
    return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

float *wt_test_read_wav(const char *path, int64_t *n, int *rate) {
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char h[12], ch[8];
    ck_assert_int_eq(fread(h, 1, 12, f), 12);
    ck_assert(!memcmp(h, "RIFF", 4) && !memcmp(h + 8, "WAVE", 4));
    int bits = 0, fmt = 0, chans = 0;
    float *x = NULL;
    while (fread(ch, 1, 8, f) == 8) {
        uint32_t len = le32(ch + 4);
        unsigned char *b = malloc(len + 1);
        ck_assert_int_eq(fread(b, 1, len + (len & 1), f) >= len, 1);
        if (!memcmp(ch, "fmt ", 4)) {
            fmt = (int)le16(b);
            chans = (int)le16(b + 2);
            *rate = (int)le32(b + 4);
            bits = (int)le16(b + 14);
        } else if (!memcmp(ch, "data", 4)) {
            ck_assert_int_eq(chans, 1);
            *n = len / (bits / 8);
            x = malloc((size_t)*n * sizeof(float));
            for (int64_t i = 0; i < *n; i++) {
                if (bits == 16) {
                    x[i] = (float)(int16_t)le16(b + 2 * i) / 32768.0f;
                } else {
                    ck_assert(bits == 32 && fmt == 3);
                    memcpy(&x[i], b + 4 * i, 4);
                }
            }
        }
        free(b);
        if (x) break;
    }
    fclose(f);
    ck_assert_ptr_nonnull(x);
    return x;
}
