/* JSON configs: typed getters, dotted paths, error messages, and the golden
 * configs (values compared with the numbers their READMEs state). */
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wt_test.h"

static const char *k_doc =
    "{\n"
    "  \"n\": 42, \"neg\": -7, \"big\": 9007199254740992, \"x\": 1.5, \"flag\": true,\n"
    "  \"off\": false, \"s\": \"hello\", \"nothing\": null,\n"
    "  \"seanet\": {\"ratios\": [8, 6, 5, 4], \"inner\": {\"k\": 3}, \"mixed\": [1, 2.5]},\n"
    "  \"dotted.key\": 1\n"
    "}\n";

START_TEST(test_types_and_paths) {
    wt_config *c = wt_config_parse(k_doc, "doc.json");
    ck_assert_msg(c != NULL, "%s", wt_last_error());
    int64_t i;
    double d;
    bool b;
    const char *s;
    ck_assert_int_eq(wt_config_int(c, "n", &i), WT_OK);
    ck_assert_int_eq(i, 42);
    ck_assert_int_eq(wt_config_int(c, "neg", &i), WT_OK);
    ck_assert_int_eq(i, -7);
    ck_assert_int_eq(wt_config_int(c, "big", &i), WT_OK);
    ck_assert_int_eq(i, 9007199254740992LL);
    ck_assert_int_eq(wt_config_double(c, "x", &d), WT_OK);
    ck_assert_double_eq(d, 1.5);
    ck_assert_int_eq(wt_config_double(c, "n", &d), WT_OK); /* an integer is a number */
    ck_assert_double_eq(d, 42);
    ck_assert_int_eq(wt_config_bool(c, "flag", &b), WT_OK);
    ck_assert(b);
    ck_assert_int_eq(wt_config_bool(c, "off", &b), WT_OK);
    ck_assert(!b);
    ck_assert_int_eq(wt_config_string(c, "s", &s), WT_OK);
    ck_assert_str_eq(s, "hello");
    ck_assert_int_eq(wt_config_int(c, "seanet.inner.k", &i), WT_OK);
    ck_assert_int_eq(i, 3);
    ck_assert_int_eq(wt_config_int(c, "seanet.ratios.2", &i), WT_OK);
    ck_assert_int_eq(i, 5);
    int64_t r[8];
    int n = 0;
    ck_assert_int_eq(wt_config_int_array(c, "seanet.ratios", r, 8, &n), WT_OK);
    ck_assert_int_eq(n, 4);
    ck_assert_int_eq(r[0], 8);
    ck_assert_int_eq(r[3], 4);
    ck_assert(wt_config_has(c, "seanet.ratios"));
    ck_assert(!wt_config_has(c, "seanet.missing"));
    ck_assert(!wt_config_has(c, "nothing")); /* null counts as absent */
    ck_assert(!wt_config_has(c, "seanet.ratios.4"));
    ck_assert_int_eq(wt_config_int_or(c, "nope", 5), 5);
    ck_assert_int_eq(wt_config_int_or(c, "n", 5), 42);
    ck_assert_double_eq(wt_config_double_or(c, "nothing", 2.5), 2.5);
    ck_assert(wt_config_bool_or(c, "nope", true));
    ck_assert(!wt_config_bool_or(c, "off", true));
    ck_assert_str_eq(wt_config_string_or(c, "nope", "dflt"), "dflt");
    ck_assert_str_eq(wt_config_string_or(c, "s", "dflt"), "hello");
    wt_config_free(c);
}
END_TEST

static void expect_msg(const char *want1, const char *want2) {
    const char *m = wt_last_error();
    ck_assert_msg(strstr(m, want1) != NULL, "message '%s' lacks '%s'", m, want1);
    if (want2) ck_assert_msg(strstr(m, want2) != NULL, "message '%s' lacks '%s'", m, want2);
    ck_assert_ptr_null(strchr(m, '\n'));
}

START_TEST(test_errors) {
    wt_config *c = wt_config_parse(k_doc, "doc.json");
    ck_assert_ptr_nonnull(c);
    int64_t i = 99;
    double d;
    bool b;
    const char *s;
    ck_assert_int_eq(wt_config_int(c, "x", &i), WT_ERR_FORMAT); /* 1.5 is not integral */
    expect_msg("doc.json: key 'x': expected an integer", "found a number");
    ck_assert_int_eq(i, 99);
    ck_assert_int_eq(wt_config_int(c, "s", &i), WT_ERR_FORMAT);
    expect_msg("key 's': expected an integer, found a string", NULL);
    ck_assert_int_eq(wt_config_double(c, "flag", &d), WT_ERR_FORMAT);
    expect_msg("key 'flag': expected a number, found a boolean", NULL);
    ck_assert_int_eq(wt_config_bool(c, "n", &b), WT_ERR_FORMAT); /* no 0/1 for bools */
    expect_msg("key 'n'", "true or false");
    ck_assert_int_eq(wt_config_string(c, "seanet", &s), WT_ERR_FORMAT);
    expect_msg("key 'seanet': expected a string, found an object", NULL);
    ck_assert_int_eq(wt_config_int(c, "missing", &i), WT_ERR_NOT_FOUND);
    expect_msg("doc.json: key 'missing' not found", NULL);
    ck_assert_int_eq(wt_config_int(c, "seanet.inner.q", &i), WT_ERR_NOT_FOUND);
    expect_msg("key 'seanet.inner.q' not found", NULL);
    ck_assert_int_eq(wt_config_int(c, "nothing", &i), WT_ERR_NOT_FOUND);
    ck_assert_int_eq(wt_config_int(c, "n.sub", &i), WT_ERR_FORMAT);
    expect_msg("key 'n.sub'", "'n' is an integer, not an object");
    ck_assert_int_eq(wt_config_int(c, "seanet..k", &i), WT_ERR_INVALID);
    int64_t r[3];
    int n = -1;
    ck_assert_int_eq(wt_config_int_array(c, "seanet.ratios", r, 3, &n), WT_ERR_FORMAT);
    expect_msg("key 'seanet.ratios': 4 entries, at most 3 expected", NULL);
    ck_assert_int_eq(wt_config_int_array(c, "seanet.mixed", r, 3, &n), WT_ERR_FORMAT);
    expect_msg("key 'seanet.mixed': entry 1: expected an integer", NULL);
    ck_assert_int_eq(wt_config_int_array(c, "n", r, 3, &n), WT_ERR_FORMAT);
    /* wrong type with an _or form: default, error recorded */
    wt_clear_error();
    ck_assert_int_eq(wt_config_int_or(c, "s", 3), 3);
    expect_msg("key 's'", NULL);
    /* absent key with an _or form records nothing */
    wt_clear_error();
    ck_assert_int_eq(wt_config_int_or(c, "absent", 3), 3);
    ck_assert_str_eq(wt_last_error(), "");
    wt_config_free(c);

    /* parse errors name the source and the line */
    ck_assert_ptr_null(wt_config_parse("{\n  \"a\": 1,\n  \"b\": }\n", "bad.json"));
    expect_msg("bad.json: invalid JSON at line 3", NULL);
    ck_assert_ptr_null(wt_config_parse("[1, 2]", "arr.json"));
    expect_msg("arr.json: top level is not a JSON object", NULL);
    ck_assert_ptr_null(wt_config_parse("{} trailing", "trail.json"));
    expect_msg("trail.json: invalid JSON", NULL);
    ck_assert_ptr_null(wt_config_parse("", "empty.json"));
    expect_msg("empty.json", NULL);
    ck_assert_ptr_null(wt_config_load("/nonexistent/config.json"));
    expect_msg("/nonexistent/config.json: cannot open", NULL);

    char dir[] = "/tmp/wt_cfg_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[1024];
    snprintf(path, sizeof path, "%s/broken.json", dir);
    FILE *fp = fopen(path, "w");
    fputs("{\"a\": [1, 2,\n", fp);
    fclose(fp);
    ck_assert_ptr_null(wt_config_load(path));
    expect_msg(path, "invalid JSON");
    ck_assert_ptr_null(wt_config_load(dir)); /* a directory is not a config */
    expect_msg(dir, NULL);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_golden_configs) {
    char p[1024];
    /* mimi/README.md: tiny-a n_filters 4, dimension 32, ratios 8,6,5,4,
     * 4 heads, 2 layers, ff 128, context 5, quantizer 16/64/10, 8 codebooks */
    wt_config *c = wt_config_load(wt_test_golden(p, sizeof p, "mimi/tiny-speech/config.json"));
    ck_assert_msg(c != NULL, "%s", wt_last_error());
    int64_t r[8];
    int n;
    ck_assert_int_eq(wt_config_int_array(c, "seanet.ratios", r, 8, &n), WT_OK);
    ck_assert_int_eq(n, 4);
    ck_assert(r[0] == 8 && r[1] == 6 && r[2] == 5 && r[3] == 4);
    ck_assert_int_eq(wt_config_int_or(c, "seanet.n_filters", 0), 4);
    ck_assert_int_eq(wt_config_int_or(c, "seanet.dimension", 0), 32);
    ck_assert_int_eq(wt_config_int_or(c, "transformer.num_heads", 0), 4);
    ck_assert_int_eq(wt_config_int_or(c, "transformer.num_layers", 0), 2);
    ck_assert_int_eq(wt_config_int_or(c, "transformer.dim_feedforward", 0), 128);
    ck_assert_int_eq(wt_config_int_or(c, "transformer.context", 0), 5);
    ck_assert_int_eq(wt_config_int_or(c, "quantizer.dimension", 0), 16);
    ck_assert_int_eq(wt_config_int_or(c, "quantizer.bins", 0), 64);
    ck_assert_int_eq(wt_config_int_or(c, "quantizer.n_q", 0), 10);
    ck_assert_int_eq(wt_config_int_or(c, "num_codebooks", 0), 8);
    ck_assert_double_eq(wt_config_double_or(c, "frame_rate", 0), 12.5);
    ck_assert_int_eq(wt_config_int_or(c, "sample_rate", 0), 24000);
    ck_assert(wt_config_bool_or(c, "seanet.causal", false));
    ck_assert_str_eq(wt_config_string_or(c, "seanet.activation", ""), "ELU");
    wt_config_free(c);

    c = wt_config_load(wt_test_golden(p, sizeof p, "mimi/config-v0.1.json"));
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(wt_config_int_or(c, "seanet.n_filters", 0), 64);
    ck_assert_int_eq(wt_config_int_or(c, "transformer.context", 0), 250);
    ck_assert_int_eq(wt_config_int_or(c, "quantizer.bins", 0), 2048);
    wt_config_free(c);

    /* stories260K/README.md: hidden 64, intermediate 172, 5 layers, 8 heads,
     * 4 kv heads, vocab 512, eps 1e-5, theta 10000, tied */
    c = wt_config_load(wt_test_golden(p, sizeof p, "llama/stories260K/config.json"));
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(wt_config_int_or(c, "hidden_size", 0), 64);
    ck_assert_int_eq(wt_config_int_or(c, "intermediate_size", 0), 172);
    ck_assert_int_eq(wt_config_int_or(c, "num_hidden_layers", 0), 5);
    ck_assert_int_eq(wt_config_int_or(c, "num_attention_heads", 0), 8);
    ck_assert_int_eq(wt_config_int_or(c, "num_key_value_heads", 0), 4);
    ck_assert_int_eq(wt_config_int_or(c, "vocab_size", 0), 512);
    ck_assert_double_eq(wt_config_double_or(c, "rms_norm_eps", 0), 1e-5);
    ck_assert_double_eq(wt_config_double_or(c, "rope_theta", 0), 10000);
    ck_assert(wt_config_bool_or(c, "tie_word_embeddings", false));
    ck_assert(!wt_config_has(c, "head_dim"));
    ck_assert(!wt_config_has(c, "rope_scaling")); /* null */
    const char *arch;
    ck_assert_int_eq(wt_config_string(c, "architectures.0", &arch), WT_OK);
    ck_assert_str_eq(arch, "LlamaForCausalLM");
    wt_config_free(c);

    c = wt_config_load(wt_test_golden(p, sizeof p, "llama/random-gqa/config.json"));
    ck_assert_ptr_nonnull(c);
    ck_assert(!wt_config_bool_or(c, "tie_word_embeddings", true));
    ck_assert(wt_config_has(c, "head_dim")); /* llama README: random-gqa has head_dim */
    wt_config_free(c);

    /* every demucs config parses and has the fields of the demucs README */
    wt_test_golden(p, sizeof p, "demucs/configs");
    DIR *d = opendir(p);
    ck_assert_ptr_nonnull(d);
    int count = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 5, ".json")) continue;
        char f[1400];
        snprintf(f, sizeof f, "%s/%s", p, de->d_name);
        c = wt_config_load(f);
        ck_assert_msg(c != NULL, "%s", wt_last_error());
        int64_t v;
        ck_assert_int_eq(wt_config_int(c, "hidden", &v), WT_OK);
        ck_assert_int_eq(wt_config_int(c, "depth", &v), WT_OK);
        ck_assert_int_eq(wt_config_int(c, "sample_rate", &v), WT_OK);
        double fl;
        ck_assert_int_eq(wt_config_double(c, "floor", &fl), WT_OK);
        wt_config_free(c);
        count++;
    }
    closedir(d);
    ck_assert_int_eq(count, 5);
    c = wt_config_load(wt_test_golden(p, sizeof p, "demucs/configs/dns48.json"));
    ck_assert_int_eq(wt_config_int_or(c, "hidden", 0), 48);
    ck_assert_int_eq(wt_config_int_or(c, "depth", 0), 5);
    wt_config_free(c);
}
END_TEST

int main(void) {
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_types_and_paths);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_golden_configs);
    suite_add_tcase(s, tc);
    return wt_test_run(s);
}
