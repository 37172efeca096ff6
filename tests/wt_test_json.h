/* Golden JSON for the test suites: a file of ../shared/golden parsed with
 * cJSON, and integer arrays read out of it. Failures fail the calling Check
 * test (these run inside a test, never in a counted region). */
#ifndef WT_TEST_JSON_H
#define WT_TEST_JSON_H

#include <stdint.h>

#include <cjson/cJSON.h>

/* The golden file `rel` (relative to the golden folder), parsed; the caller
 * frees it with cJSON_Delete. */
cJSON *wt_test_golden_json(const char *rel);
/* The integers of a JSON array into out[0..cap); returns how many. */
int64_t wt_test_json_ids(const cJSON *arr, int32_t *out, int64_t cap);

#endif
