/* test_json_scan.c - streaming JSON item counter: splits, nesting, key mode, errors, depth cap. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "json_scan.h"

typedef struct result {
    int64_t items;
    bool invalid;
    int rc;
} result;

/* Feeds `js` cut at the given positions (sorted, within the string). */
static result scan_cuts(int mode, const char *key, const char *js, const size_t *cuts, size_t ncuts)
{
    ps_json_scan s;
    size_t n = strlen(js), pos = 0;
    ps_json_scan_init(&s, mode, key);
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        ps_json_scan_feed(&s, (const uint8_t *)js + pos, end - pos);
        pos = end;
    }
    result r;
    r.rc = ps_json_scan_finish(&s);
    r.items = ps_json_scan_items(&s);
    r.invalid = ps_json_scan_invalid(&s);
    return r;
}

static result scan(int mode, const char *key, const char *js)
{
    return scan_cuts(mode, key, js, NULL, 0);
}

/* Checks that every single split point and byte-by-byte feeding agree
 * with the expected result. */
static void check_all_splits(int mode, const char *key, const char *js, int64_t items, bool invalid)
{
    size_t n = strlen(js);
    result r = scan(mode, key, js);
    CU_ASSERT_EQUAL(r.items, items);
    CU_ASSERT_EQUAL(r.invalid, invalid);
    CU_ASSERT_EQUAL(r.rc, invalid ? PS_ERR_BAD_INPUT : PS_OK);
    for (size_t cut = 0; cut <= n; cut++) {
        r = scan_cuts(mode, key, js, &cut, 1);
        CU_ASSERT_EQUAL(r.items, items);
        CU_ASSERT_EQUAL(r.invalid, invalid);
    }
    ps_json_scan s;
    ps_json_scan_init(&s, mode, key);
    for (size_t i = 0; i < n; i++)
        ps_json_scan_feed(&s, (const uint8_t *)js + i, 1);
    ps_json_scan_finish(&s);
    CU_ASSERT_EQUAL(ps_json_scan_items(&s), items);
    CU_ASSERT_EQUAL(ps_json_scan_invalid(&s), invalid);
}

static void test_arrays(void)
{
    check_all_splits(PS_JSON_ARRAY, NULL, "[]", 0, false);
    check_all_splits(PS_JSON_ARRAY, NULL, " [ ] \n", 0, false);
    check_all_splits(PS_JSON_ARRAY, NULL, "[1,2,3]", 3, false);
    check_all_splits(PS_JSON_ARRAY, NULL, "[0,-0,1.5,-2e10,3E+2,4e-1,10]", 7, false);
    check_all_splits(PS_JSON_ARRAY, NULL, "[true,false,null]", 3, false);
    check_all_splits(PS_JSON_ARRAY, NULL, "[{\"Id\":\"abc\",\"Names\":[\"/x\"]},{\"Id\":\"d\"}]\n",
                     2, false);
}

static void test_nested_strings(void)
{
    /* Brackets, braces, commas and escaped quotes inside strings do not count. */
    const char *js = "[ {\"a\":[1,2,[3]],\"b\":{\"c\":\"]}\"}}, \"x]\\\"[,\\\\\", [[]], null, "
                     "\"\\u005d\\/\\b\\f\\n\\r\\t\", -1.5e+3 ]";
    check_all_splits(PS_JSON_ARRAY, NULL, js, 6, false);
    check_all_splits(PS_JSON_ARRAY, NULL, "[\"\\\\\",\"\\\"\"]", 2, false);
}

static void test_top_level_not_array(void)
{
    check_all_splits(PS_JSON_ARRAY, NULL, "{\"a\":[1,2]}", -1, false);
    check_all_splits(PS_JSON_ARRAY, NULL, "123", -1, false);
    check_all_splits(PS_JSON_ARRAY, NULL, "\"s\"", -1, false);
    check_all_splits(PS_JSON_ARRAY, NULL, "null", -1, false);
}

static void test_key_mode(void)
{
    check_all_splits(PS_JSON_KEY, "Volumes",
                     "{\"Volumes\":[{\"Name\":\"a\",\"Labels\":{\"x\":\"]\"}},{\"Name\":\"b\"}],"
                     "\"Warnings\":null}",
                     2, false);
    check_all_splits(PS_JSON_KEY, "Volumes", "{\"Volumes\":null,\"Warnings\":[]}", 0, false);
    check_all_splits(PS_JSON_KEY, "Volumes", "{\"Volumes\":[]}", 0, false);
    check_all_splits(PS_JSON_KEY, "Volumes", "{\"Warnings\":[1,2]}", -1, false);
    check_all_splits(PS_JSON_KEY, "Volumes", "{\"Volumes\":{\"a\":1}}", -1, false);
    /* Only the top-level key counts; a nested one or a value does not. */
    check_all_splits(PS_JSON_KEY, "Volumes",
                     "{\"x\":{\"Volumes\":[1]},\"y\":\"Volumes\",\"Volumes\":[1,2,3],\"z\":[9]}", 3,
                     false);
    check_all_splits(
        PS_JSON_KEY, "items",
        "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":"
        "\"1\"},\"items\":[{\"metadata\":{\"name\":\"p1\"}},{\"metadata\":{\"name\":"
        "\"p2\",\"items\":[1,2,3]}},{}]}",
        3, false);
    check_all_splits(PS_JSON_KEY, "rows",
                     "{\"kind\":\"Table\",\"columnDefinitions\":[{\"name\":\"Name\"}],\"rows\":[{"
                     "\"cells\":[\"a\",1]},{\"cells\":[\"b\",2]}]}",
                     2, false);
    /* Escaped key characters match their decoded value. */
    check_all_splits(PS_JSON_KEY, "items", "{\"ite\\u006ds\":[1]}", 1, false);
    /* Prefix or extension of the key does not match. */
    check_all_splits(PS_JSON_KEY, "items", "{\"item\":[1],\"itemsx\":[1,2]}", -1, false);
    check_all_splits(PS_JSON_KEY, "items", "[1,2]", -1, false);
}

static void test_invalid(void)
{
    static const char *const bad[] = {
        "",        "[",          "[1,]",       "[1 2]", "{\"a\" 1}", "[tru]",         "[01]",
        "[1.]",    "\"abc",      "[\"a\nb\"]", "[]x",   "{",         "[-]",           "[1e]",
        "{,}",     "{\"a\":1,}", "[,1]",       "]",     "[\"\\x\"]", "[\"\\u12g4\"]", "{1:2}",
        "[1]]",    "[}",         "{\"a\":1]",  "[+1]",  "[.5]",      "[1e+]",         "nul",
        "[truex]", "[] []",
    };
    for (size_t i = 0; i < PS_ARRAY_LEN(bad); i++) {
        result r = scan(PS_JSON_ARRAY, NULL, bad[i]);
        CU_ASSERT_TRUE(r.invalid);
        CU_ASSERT_EQUAL(r.rc, PS_ERR_BAD_INPUT);
    }
    /* Invalid is sticky: more input does not repair it. */
    ps_json_scan s;
    ps_json_scan_init(&s, PS_JSON_ARRAY, NULL);
    CU_ASSERT_EQUAL(ps_json_scan_feed(&s, (const uint8_t *)"[1,,", 4), PS_ERR_BAD_INPUT);
    CU_ASSERT_EQUAL(ps_json_scan_feed(&s, (const uint8_t *)"2]", 2), PS_ERR_BAD_INPUT);
    CU_ASSERT_EQUAL(ps_json_scan_finish(&s), PS_ERR_BAD_INPUT);
}

static void test_truncated_counts(void)
{
    /* A cut document is invalid but reports the items seen so far. */
    result r = scan(PS_JSON_ARRAY, NULL, "[1,2,3");
    CU_ASSERT_TRUE(r.invalid);
    CU_ASSERT_EQUAL(r.items, 3);
}

static void nest(char *buf, int depth)
{
    int i;
    for (i = 0; i < depth; i++)
        buf[i] = '[';
    for (int j = 0; j < depth; j++)
        buf[i + j] = ']';
    buf[2 * depth] = '\0';
}

/* Strings are skipped 16 bytes a step: a quote, backslash, control byte
 * or high byte at every position of the first blocks, split everywhere. */
static void test_string_blocks(void)
{
    char js[96];
    for (size_t k = 0; k < 40; k++) {
        char run[48];
        memset(run, 'a', k);
        run[k] = '\0';
        snprintf(js, sizeof js, "[\"%s\",1]", run);
        check_all_splits(PS_JSON_ARRAY, NULL, js, 2, false);
        snprintf(js, sizeof js, "[\"%s\\\"x\\\\\",2,3]", run); /* \" and \\ inside */
        check_all_splits(PS_JSON_ARRAY, NULL, js, 3, false);
        snprintf(js, sizeof js, "[\"%s\xc3\xa9\x7f\",1]", run); /* high bytes, DEL: plain */
        check_all_splits(PS_JSON_ARRAY, NULL, js, 2, false);
        snprintf(js, sizeof js, "[\"%s\x1f\",1]", run);     /* control byte: invalid */
        check_all_splits(PS_JSON_ARRAY, NULL, js, 1, true); /* the string was counted */
    }
}

static void test_depth_cap(void)
{
    char buf[2 * (PS_JSON_MAX_DEPTH + 2) + 1];
    nest(buf, PS_JSON_MAX_DEPTH);
    check_all_splits(PS_JSON_ARRAY, NULL, buf, 1, false);
    nest(buf, PS_JSON_MAX_DEPTH + 1);
    check_all_splits(PS_JSON_ARRAY, NULL, buf, 1, true);
    /* objects count toward depth too */
    char obj[8 * (PS_JSON_MAX_DEPTH + 1) + 8];
    size_t n = 0;
    for (int i = 0; i < PS_JSON_MAX_DEPTH; i++)
        n += (size_t)sprintf(obj + n, "{\"a\":");
    n += (size_t)sprintf(obj + n, "1");
    for (int i = 0; i < PS_JSON_MAX_DEPTH; i++)
        obj[n++] = '}';
    obj[n] = '\0';
    CU_ASSERT_FALSE(scan(PS_JSON_ARRAY, NULL, obj).invalid);
    memmove(obj + 1, obj, n + 1);
    obj[0] = '[';
    strcat(obj, "]");
    CU_ASSERT_TRUE(scan(PS_JSON_ARRAY, NULL, obj).invalid);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("json_scan", NULL, NULL);
    CU_add_test(s, "arrays split everywhere", test_arrays);
    CU_add_test(s, "nested values and strings", test_nested_strings);
    CU_add_test(s, "top level not an array", test_top_level_not_array);
    CU_add_test(s, "key mode", test_key_mode);
    CU_add_test(s, "invalid documents", test_invalid);
    CU_add_test(s, "truncated count", test_truncated_counts);
    CU_add_test(s, "depth cap N and N+1", test_depth_cap);
    CU_add_test(s, "string contents in blocks", test_string_blocks);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures();
    CU_ErrorCode err = CU_get_error();
    CU_cleanup_registry();
    return fails != 0 || err != CUE_SUCCESS;
}
