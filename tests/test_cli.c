/* The CLI binary (path in $WT_CLI): exit codes 0/1/2, usage and error lines,
 * and `info` on golden and damaged files. */
#define _XOPEN_SOURCE 700 /* mkdtemp, fork, pipe, waitpid */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wt_test.h"

typedef struct {
    int code;       /* exit status, or -1 when killed by a signal */
    char out[65536];
    char err[8192];
} cli_result;

/* Reads both pipes until EOF without letting either fill up. */
static void drain(int fo, int fe, cli_result *r) {
    size_t no = 0, ne = 0;
    struct pollfd p[2] = {{.fd = fo, .events = POLLIN}, {.fd = fe, .events = POLLIN}};
    int open_n = 2;
    while (open_n > 0) {
        if (poll(p, 2, 30000) <= 0) break;
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char tmp[4096];
            ssize_t k = read(p[i].fd, tmp, sizeof tmp);
            if (k <= 0) {
                close(p[i].fd);
                p[i].fd = -1;
                open_n--;
                continue;
            }
            char *dst = i == 0 ? r->out : r->err;
            size_t cap = i == 0 ? sizeof r->out : sizeof r->err;
            size_t *len = i == 0 ? &no : &ne;
            size_t take = (size_t)k < cap - 1 - *len ? (size_t)k : cap - 1 - *len;
            memcpy(dst + *len, tmp, take);
            *len += take;
        }
    }
    r->out[no] = '\0';
    r->err[ne] = '\0';
}

/* Runs $WT_CLI with args (NULL-terminated, args[0] is ignored and replaced). */
static void run_cli(cli_result *r, const char *const *args) {
    const char *cli = getenv("WT_CLI");
    ck_assert_msg(cli != NULL, "WT_CLI is not set (run through ctest)");
    int po[2], pe[2];
    ck_assert_int_eq(pipe(po), 0);
    ck_assert_int_eq(pipe(pe), 0);
    char *argv[16];
    int n = 0;
    argv[n++] = (char *)cli;
    for (int i = 1; args[i] && n < 15; i++) argv[n++] = (char *)args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        close(po[1]);
        close(pe[1]);
        execv(cli, argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    drain(po[0], pe[0], r);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    r->code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* stderr is exactly one line starting with "wavetensor: " */
static void expect_one_error_line(const cli_result *r) {
    ck_assert_msg(strncmp(r->err, "wavetensor: ", 12) == 0, "stderr: '%s'", r->err);
    size_t l = strlen(r->err);
    ck_assert_msg(l > 12 && r->err[l - 1] == '\n', "stderr: '%s'", r->err);
    ck_assert_msg(memchr(r->err, '\n', l - 1) == NULL, "stderr has several lines: '%s'", r->err);
}

START_TEST(test_top_level) {
    cli_result *r = calloc(1, sizeof *r);
    run_cli(r, (const char *[]){"", "--help", NULL});
    ck_assert_int_eq(r->code, 0);
    ck_assert_ptr_nonnull(strstr(r->out, "usage: wavetensor"));
    ck_assert_ptr_nonnull(strstr(r->out, "info"));

    run_cli(r, (const char *[]){"", "--version", NULL});
    ck_assert_int_eq(r->code, 0);
    ck_assert_ptr_nonnull(strstr(r->out, "wavetensor "));
    ck_assert_ptr_nonnull(strstr(r->out, wt_version()));

    run_cli(r, (const char *[]){"", NULL});
    ck_assert_int_eq(r->code, 2);
    ck_assert_ptr_nonnull(strstr(r->err, "usage"));

    run_cli(r, (const char *[]){"", "frobnicate", NULL});
    ck_assert_int_eq(r->code, 2);
    expect_one_error_line(r);
    ck_assert_ptr_nonnull(strstr(r->err, "frobnicate"));
    free(r);
}
END_TEST

START_TEST(test_info_usage_errors) {
    cli_result *r = calloc(1, sizeof *r);
    run_cli(r, (const char *[]){"", "info", NULL});
    ck_assert_int_eq(r->code, 2);
    expect_one_error_line(r);

    run_cli(r, (const char *[]){"", "info", "--bogus", "x.safetensors", NULL});
    ck_assert_int_eq(r->code, 2);
    expect_one_error_line(r);
    ck_assert_ptr_nonnull(strstr(r->err, "--bogus"));

    run_cli(r, (const char *[]){"", "info", "a.safetensors", "b.safetensors", NULL});
    ck_assert_int_eq(r->code, 2);
    expect_one_error_line(r);

    run_cli(r, (const char *[]){"", "info", "--help", NULL});
    ck_assert_int_eq(r->code, 0);
    ck_assert_ptr_nonnull(strstr(r->out, "usage: wavetensor info"));

    run_cli(r, (const char *[]){"", "info", "/nonexistent/dir/m.safetensors", NULL});
    ck_assert_int_eq(r->code, 1);
    expect_one_error_line(r);
    ck_assert_ptr_nonnull(strstr(r->err, "/nonexistent/dir/m.safetensors"));
    free(r);
}
END_TEST

START_TEST(test_info_golden_and_truncated) {
    char p[1024];
    cli_result *r = calloc(1, sizeof *r);
    wt_test_golden(p, sizeof p, "mimi/tiny-speech/model.safetensors");
    run_cli(r, (const char *[]){"", "info", p, NULL});
    ck_assert_int_eq(r->code, 0);
    ck_assert_str_eq(r->err, "");
    /* mimi README: first encoder conv [4, 1, 7], F32 -> 112 bytes */
    const char *line = strstr(r->out, "encoder.model.0.conv.conv.weight ");
    ck_assert_ptr_nonnull(line);
    const char *eol = strchr(line, '\n');
    ck_assert_ptr_nonnull(eol);
    char buf[512];
    snprintf(buf, sizeof buf, "%.*s", (int)(eol - line), line);
    ck_assert_ptr_nonnull(strstr(buf, "f32"));
    ck_assert_ptr_nonnull(strstr(buf, "[4, 1, 7]"));
    ck_assert_ptr_nonnull(strstr(buf, "112"));
    /* sorted by name: decoder.* before encoder.* before quantizer.* */
    const char *dec = strstr(r->out, "\ndecoder.");
    const char *enc = strstr(r->out, "\nencoder.");
    const char *qua = strstr(r->out, "\nquantizer.");
    ck_assert(dec && enc && qua && dec < enc && enc < qua);
    ck_assert_ptr_nonnull(strstr(r->out, "total:"));

    /* stories260K: 47 tensors, format = pt */
    wt_test_golden(p, sizeof p, "llama/stories260K/model-bf16.safetensors");
    run_cli(r, (const char *[]){"", "info", p, NULL});
    ck_assert_int_eq(r->code, 0);
    ck_assert_ptr_nonnull(strstr(r->out, "format = pt"));
    ck_assert_ptr_nonnull(strstr(r->out, "47 tensors"));
    ck_assert_ptr_nonnull(strstr(r->out, "model.embed_tokens.weight"));

    /* a truncated copy of a golden file: runtime error, one line */
    char dir[] = "/tmp/wt_cli_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char cut[1100];
    snprintf(cut, sizeof cut, "%s/cut.safetensors", dir);
    FILE *in = fopen(p, "rb");
    FILE *out = fopen(cut, "wb");
    ck_assert(in && out);
    enum { CUT = 200000 };
    unsigned char *chunk = malloc(CUT);
    size_t k = fread(chunk, 1, CUT, in);
    ck_assert_uint_eq(k, CUT); /* the file is larger than the cut */
    fwrite(chunk, 1, k, out);
    free(chunk);
    fclose(in);
    fclose(out);
    run_cli(r, (const char *[]){"", "info", cut, NULL});
    ck_assert_int_eq(r->code, 1);
    expect_one_error_line(r);
    ck_assert_ptr_nonnull(strstr(r->err, "cut.safetensors"));
    ck_assert_str_eq(r->out, "");
    unlink(cut);
    rmdir(dir);
    free(r);
}
END_TEST

/* selfcheck: one stories260K forward step, compared with the golden logits */
START_TEST(test_selfcheck) {
    cli_result *r = calloc(1, sizeof *r);
    run_cli(r, (const char *[]){"", "selfcheck", "--golden", WT_GOLDEN_DIR, NULL});
    ck_assert_msg(r->code == 0, "selfcheck: %s", r->err);
    ck_assert_ptr_nonnull(strstr(r->out, "layers.4.residual_mlp"));
    /* expected.json, case bos_200: first generated id 461 */
    ck_assert_ptr_nonnull(strstr(r->out, "argmax 461 (expected 461)"));
    ck_assert_ptr_nonnull(strstr(r->out, "selfcheck ok"));

    run_cli(r, (const char *[]){"", "selfcheck", "--golden", "/nonexistent/golden", NULL});
    ck_assert_int_eq(r->code, 1);
    expect_one_error_line(r);
    ck_assert_ptr_nonnull(strstr(r->err, "/nonexistent/golden"));

    run_cli(r, (const char *[]){"", "selfcheck", "--frob", NULL});
    ck_assert_int_eq(r->code, 2);
    expect_one_error_line(r);
    run_cli(r, (const char *[]){"", "selfcheck", "--golden", NULL});
    ck_assert_int_eq(r->code, 2);
    expect_one_error_line(r);
    free(r);
}
END_TEST

int main(void) {
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_top_level);
    tcase_add_test(tc, test_info_usage_errors);
    tcase_add_test(tc, test_info_golden_and_truncated);
    tcase_add_test(tc, test_selfcheck);
    suite_add_tcase(s, tc);
    return wt_test_run(s);
}
