/* Golden JSON helpers (wt_test_json.h). */
#include "wt_test_json.h"

#include <stdlib.h>

#include "wt_test.h"
#include "wt_test_proc.h"

cJSON *wt_test_golden_json(const char *rel) {
    char path[1024];
    char *text = wt_test_read_text(wt_test_golden(path, sizeof path, rel));
    ck_assert_msg(text != NULL, "cannot read %s", path);
    cJSON *j = cJSON_Parse(text);
    free(text);
    ck_assert_msg(j != NULL, "bad JSON in %s", path);
    return j;
}

int64_t wt_test_json_ids(const cJSON *arr, int32_t *out, int64_t cap) {
    int64_t n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        ck_assert(n < cap);
        out[n++] = (int32_t)it->valueint;
    }
    return n;
}
