/* test_json_fields.c - bounded JSON walker: paths, escapes, every truncated prefix, depth cap. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "json_fields.h"

/* Collects "path=type:raw" lines. */
typedef struct seen {
    char text[4096];
    size_t len;
    unsigned count;
} seen;

static void collect(void *ctx, const ps_jf_value *v)
{
    seen *s = ctx;
    s->count++;
    int n = snprintf(s->text + s->len, sizeof(s->text) - s->len, "%s%.*s=%d:%.*s;",
                     v->path_cut ? "!" : "", (int)v->path_len, v->path, v->type, (int)v->raw_len,
                     (const char *)v->raw);
    if (n > 0 && (size_t)n < sizeof(s->text) - s->len)
        s->len += (size_t)n;
}

static int walk(const char *doc, seen *s, uint32_t depth)
{
    memset(s, 0, sizeof(*s));
    return ps_jf_walk((const uint8_t *)doc, strlen(doc), depth, collect, s);
}

static void test_paths(void)
{
    seen s;
    const char *doc = "{\"Image\":\"alpine\",\"HostConfig\":{\"Binds\":[\"/:/host\",\"/etc:/e\"],"
                      "\"Privileged\":true},\"n\":-1.5e3,\"z\":null,\"f\":false,\"e\":{},\"a\":[]}";
    CU_ASSERT_EQUAL(walk(doc, &s, 8), PS_OK);
    CU_ASSERT_STRING_EQUAL(s.text, "=1:;Image=3:alpine;HostConfig=1:;HostConfig.Binds=2:;"
                                   "HostConfig.Binds[]=3:/:/host;HostConfig.Binds[]=3:/etc:/e;"
                                   "HostConfig.Privileged=5:true;n=4:-1.5e3;z=7:null;f=6:false;"
                                   "e=1:;a=2:;");
    CU_ASSERT_EQUAL(walk("  [1, [2, {\"k\": \"v\"}]]  ", &s, 8), PS_OK);
    CU_ASSERT_STRING_EQUAL(s.text, "=2:;[]=4:1;[]=2:;[][]=4:2;[][]=1:;[][].k=3:v;");
    CU_ASSERT_EQUAL(walk("42", &s, 8), PS_OK);
    CU_ASSERT_EQUAL(s.count, 1);
}

static void test_escaped_keys(void)
{
    seen s;
    CU_ASSERT_EQUAL(walk("{\"Privil\\u0065ged\":true,\"a\\\"b\":\"x\\ny\"}", &s, 8), PS_OK);
    CU_ASSERT_STRING_EQUAL(s.text, "=1:;Privileged=5:true;a\"b=3:x\\ny;");
    char out[16];
    CU_ASSERT_EQUAL(
        ps_jf_unescape((const uint8_t *)"x\\ny\\u00e9\\ud83d\\ude00", 22, out, sizeof(out)), 9u);
    CU_ASSERT_STRING_EQUAL(out, "x\ny\xc3\xa9\xf0\x9f\x98\x80");
    /* Cut output stays NUL-terminated; the length tells the whole. */
    CU_ASSERT_EQUAL(ps_jf_unescape((const uint8_t *)"abcdef", 6, out, 4), 6u);
    CU_ASSERT_STRING_EQUAL(out, "abc");
    CU_ASSERT_EQUAL(ps_jf_unescape((const uint8_t *)"\\u0000", 6, out, sizeof(out)), 1u);
    CU_ASSERT_STRING_EQUAL(out, "?");
}

static void match_cb(void *ctx, const ps_jf_value *v)
{
    int *hits = ctx;
    if (ps_jf_path_is(v, "HostConfig.Privileged", true))
        hits[0]++;
    if (ps_jf_path_is(v, "HostConfig.Privileged", false))
        hits[1]++;
}

static void test_path_is(void)
{
    int hits[2] = {0, 0};
    const char *doc = "{\"hostconfig\":{\"PRIVILEGED\":true},\"HostConfig\":{\"Privileged\":1}}";
    CU_ASSERT_EQUAL(ps_jf_walk((const uint8_t *)doc, strlen(doc), 8, match_cb, hits), PS_OK);
    CU_ASSERT_EQUAL(hits[0], 2);
    CU_ASSERT_EQUAL(hits[1], 1);
}

/* Every prefix of a valid document is "need more", never an error, and the
 * values reported are a prefix of the whole document's. */
static void check_prefixes(const char *doc)
{
    seen whole, part;
    size_t n = strlen(doc);
    CU_ASSERT_EQUAL_FATAL(walk(doc, &whole, 16), PS_OK);
    for (size_t i = 0; i < n; i++) {
        memset(&part, 0, sizeof(part));
        int rc = ps_jf_walk((const uint8_t *)doc, i, 16, collect, &part);
        CU_ASSERT_EQUAL(rc, PS_ERR_NEED_MORE);
        if (rc != PS_ERR_NEED_MORE)
            printf("\nprefix %zu of %s: rc %d\n", i, doc, rc);
        CU_ASSERT(part.len <= whole.len && memcmp(part.text, whole.text, part.len) == 0);
    }
}

static void test_truncated_prefixes(void)
{
    check_prefixes("{\"Image\":\"alpine:3.20\",\"Cmd\":[\"sh\",\"-c\",\"id\"],\"HostConfig\":"
                   "{\"Binds\":[\"/:/host\"],\"Privileged\":true,\"Memory\":-12.5e-3,"
                   "\"X\":null,\"Y\":false,\"E\":\"a\\u00e9\\\"\"}}");
    check_prefixes("[{\"a\":[1,2,{}]},[],\"x\",0.5]");
    check_prefixes("{\"key\":\"L3JlZ2lzdHJ5L3NlY3JldHMv\",\"range_end\":\"AA==\"}");
}

static void make_nested(char *buf, size_t depth, bool array)
{
    size_t i = 0;
    for (size_t d = 0; d < depth; d++) {
        buf[i++] = array ? '[' : '{';
        if (!array)
            i += (size_t)sprintf(buf + i, "\"k\":");
    }
    buf[i++] = '1';
    for (size_t d = 0; d < depth; d++)
        buf[i++] = array ? ']' : '}';
    buf[i] = '\0';
}

static void test_depth_cap(void)
{
    char buf[1024];
    seen s;
    for (int array = 0; array < 2; array++) {
        make_nested(buf, 8, array);
        CU_ASSERT_EQUAL(walk(buf, &s, 8), PS_OK);
        make_nested(buf, 9, array);
        CU_ASSERT_EQUAL(walk(buf, &s, 8), PS_ERR_BAD_INPUT);
        make_nested(buf, PS_JF_MAX_DEPTH, array);
        CU_ASSERT_EQUAL(walk(buf, &s, 1000), PS_OK); /* capped at PS_JF_MAX_DEPTH */
        make_nested(buf, PS_JF_MAX_DEPTH + 1, array);
        CU_ASSERT_EQUAL(walk(buf, &s, 1000), PS_ERR_BAD_INPUT);
    }
}

static void test_invalid(void)
{
    static const char *const bad[] = {
        "{\"a\" 1}", "{\"a\":1,}", "[1,]",        "[1 2]", "{a:1}",      "\"\x01\"", "\"\\x\"",
        "01",        "-",          "1.",          "1e",    "1e+",        "tru",      "nul1",
        "[}",        "{\"a\":1]",  "\"\\u12g4\"", "1 2",   "{\"a\":1}x", "-a",       ".5"};
    seen s;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = walk(bad[i], &s, 8);
        /* Inputs that end early are prefixes of valid documents. */
        if (strcmp(bad[i], "tru") == 0 || strcmp(bad[i], "-") == 0 || strcmp(bad[i], "1.") == 0 ||
            strcmp(bad[i], "1e") == 0 || strcmp(bad[i], "1e+") == 0) {
            CU_ASSERT_EQUAL(rc, PS_ERR_NEED_MORE);
        } else {
            CU_ASSERT_EQUAL(rc, PS_ERR_BAD_INPUT);
        }
        if (rc == PS_OK)
            printf("\naccepted: %s\n", bad[i]);
    }
    CU_ASSERT_EQUAL(walk("", &s, 8), PS_ERR_NEED_MORE);
    CU_ASSERT_EQUAL(ps_jf_walk(NULL, 5, 8, NULL, NULL), PS_ERR_NEED_MORE);
}

static void test_path_cap(void)
{
    char buf[2048], key[300];
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    snprintf(buf, sizeof(buf), "{\"%s\":{\"x\":1},\"y\":2}", key);
    seen s;
    CU_ASSERT_EQUAL(walk(buf, &s, 8), PS_OK);
    /* The long key's values are cut (flagged); the next key is whole again. */
    CU_ASSERT_PTR_NOT_NULL(strstr(s.text, "!"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s.text, ";y=4:2;"));
    /* A path of exactly PS_JF_PATH_MAX bytes is whole, one more is cut. */
    char k2[PS_JF_PATH_MAX + 2];
    memset(k2, 'a', sizeof(k2));
    k2[PS_JF_PATH_MAX] = '\0';
    snprintf(buf, sizeof(buf), "{\"%s\":1}", k2);
    CU_ASSERT_EQUAL(walk(buf, &s, 8), PS_OK);
    CU_ASSERT_PTR_NULL(strstr(s.text, "!"));
    k2[PS_JF_PATH_MAX] = 'a';
    k2[PS_JF_PATH_MAX + 1] = '\0';
    snprintf(buf, sizeof(buf), "{\"%s\":1}", k2);
    CU_ASSERT_EQUAL(walk(buf, &s, 8), PS_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.text, "!"));
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("json_fields", NULL, NULL);
    CU_add_test(s, "paths", test_paths);
    CU_add_test(s, "escaped keys", test_escaped_keys);
    CU_add_test(s, "path_is", test_path_is);
    CU_add_test(s, "truncated prefixes", test_truncated_prefixes);
    CU_add_test(s, "depth cap", test_depth_cap);
    CU_add_test(s, "invalid", test_invalid);
    CU_add_test(s, "path cap", test_path_cap);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    int rc = CU_get_number_of_failures() != 0 || CU_get_error();
    CU_cleanup_registry();
    return rc;
}
