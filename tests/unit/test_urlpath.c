/* test_urlpath.c - request-target normalisation and route matching as Go's router sees paths. */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "urlpath.h"

static void norm(const char *t, ps_path *p)
{
    ps_path_normalize(t, strlen(t), p);
}

static void test_clean(void)
{
    static const struct {
        const char *in, *out;
        uint32_t flags; /* flags that must be set */
        uint32_t nseg;
    } cases[] = {
        {"/containers/json", "/containers/json", 0, 2},
        {"/v1.50/containers/json?all=1", "/v1.50/containers/json", 0, 3},
        {"//containers/json", "/containers/json", PS_PATH_F_CLEANED, 2},
        {"/containers//json", "/containers/json", PS_PATH_F_CLEANED, 2},
        {"/containers/./json", "/containers/json", PS_PATH_F_CLEANED, 2},
        {"/images/../containers/json", "/containers/json", PS_PATH_F_CLEANED, 2},
        {"/../../info", "/info", PS_PATH_F_CLEANED, 1},
        {"/containers/json/", "/containers/json", PS_PATH_F_TRAILING, 2},
        {"/containers%2Fjson", "/containers/json", PS_PATH_F_DECODED, 2},
        {"/%63ontainers/json", "/containers/json", PS_PATH_F_DECODED, 2},
        {"/info%zz", "/info%zz", PS_PATH_F_BAD_ESCAPE, 1},
        {"/info%4", "/info%4", PS_PATH_F_BAD_ESCAPE, 1},
        {"http://198.18.0.2:2375/info", "/info", PS_PATH_F_ABSOLUTE, 1},
        {"http://198.18.0.2:2375", "/", PS_PATH_F_ABSOLUTE, 0},
        {"", "/", PS_PATH_F_CLEANED, 0},
        {"*", "/*", PS_PATH_F_CLEANED, 1},
        {"/", "/", 0, 0},
        {"/info#frag", "/info", 0, 1},
    };
    for (size_t i = 0; i < PS_ARRAY_LEN(cases); i++) {
        ps_path p;
        norm(cases[i].in, &p);
        if (strcmp(p.buf, cases[i].out) != 0 || (p.flags & cases[i].flags) != cases[i].flags)
            printf("\n%s -> %s flags %#x\n", cases[i].in, p.buf, p.flags);
        CU_ASSERT_STRING_EQUAL(p.buf, cases[i].out);
        CU_ASSERT_EQUAL(p.flags & cases[i].flags, cases[i].flags);
        CU_ASSERT_EQUAL(p.nseg, cases[i].nseg);
    }
}

static void test_query(void)
{
    ps_path p;
    char v[32];
    const char *t = "/containers/json?all=1&filters=%7B%7D&limit;x";
    norm(t, &p);
    CU_ASSERT_EQUAL(ps_path_query_param(&p, "all", v, sizeof(v)), 1);
    CU_ASSERT_STRING_EQUAL(v, "1");
    CU_ASSERT_EQUAL(ps_path_query_param(&p, "filters", v, sizeof(v)), 6);
    CU_ASSERT_STRING_EQUAL(v, "%7B%7D");
    CU_ASSERT_EQUAL(ps_path_query_param(&p, "limit", v, sizeof(v)), 0);
    CU_ASSERT_EQUAL(ps_path_query_param(&p, "none", v, sizeof(v)), -1);
    /* Output cut at the buffer (N-1 characters + NUL), length still reported. */
    CU_ASSERT_EQUAL(ps_path_query_param(&p, "filters", v, 4), 6);
    CU_ASSERT_STRING_EQUAL(v, "%7B");
    norm("/info", &p);
    CU_ASSERT_EQUAL(ps_path_query_param(&p, "all", v, sizeof(v)), -1);
}

static void test_match(void)
{
    ps_path p;
    norm("/v1.50/images/library/nginx:latest/json", &p);
    CU_ASSERT_TRUE(ps_path_match(&p, 1, "/images/{*}/json"));
    CU_ASSERT_FALSE(ps_path_match(&p, 1, "/images/{}/json"));
    CU_ASSERT_FALSE(ps_path_match(&p, 0, "/images/{*}/json"));
    norm("/images/json", &p);
    CU_ASSERT_TRUE(ps_path_match(&p, 0, "/images/json"));
    CU_ASSERT_FALSE(ps_path_match(&p, 0, "/images/{*}/json")); /* {*} needs one segment */
    norm("/containers/abc/json", &p);
    CU_ASSERT_TRUE(ps_path_match(&p, 0, "/containers/{}/json"));
    CU_ASSERT_FALSE(ps_path_match(&p, 0, "/containers/json"));
    CU_ASSERT_FALSE(ps_path_match(&p, 0, "/containers/{}/top"));
    CU_ASSERT_FALSE(ps_path_match(&p, 4, "/containers/{}/json"));
    norm("/debug/pprof/heap", &p);
    CU_ASSERT_TRUE(ps_path_match(&p, 0, "/debug/{*}"));
}

/* Segment cap: exactly PS_PATH_MAX_SEGMENTS segments fit, one more is cut. */
static void test_limits(void)
{
    char t[512] = "";
    for (int i = 0; i < PS_PATH_MAX_SEGMENTS; i++)
        strcat(t, "/a");
    ps_path p;
    norm(t, &p);
    CU_ASSERT_EQUAL(p.nseg, PS_PATH_MAX_SEGMENTS);
    CU_ASSERT_FALSE(p.flags & PS_PATH_F_TRUNCATED);
    strcat(t, "/a");
    norm(t, &p);
    CU_ASSERT_EQUAL(p.nseg, PS_PATH_MAX_SEGMENTS);
    CU_ASSERT_TRUE(p.flags & PS_PATH_F_TRUNCATED);

    /* A path longer than the buffer is cut and flagged, never overrun. */
    char big[3000];
    memset(big, 'x', sizeof(big));
    big[0] = '/';
    ps_path_normalize(big, sizeof(big), &p);
    CU_ASSERT_TRUE(p.flags & PS_PATH_F_TRUNCATED);
    CU_ASSERT(strlen(p.buf) < sizeof(p.buf));
}

/* Every prefix of a target normalises without reading past it. */
static void test_prefixes(void)
{
    const char *t = "http://h:1//v1.50/containers/%61bc/../json/?all=1&x=%zz";
    for (size_t n = 0; n <= strlen(t); n++) {
        char *copy = malloc(n ? n : 1); /* exact size: ASan catches overreads */
        memcpy(copy, t, n);
        ps_path p;
        ps_path_normalize(copy, n, &p);
        CU_ASSERT(strlen(p.buf) < sizeof(p.buf));
        CU_ASSERT(p.buf[0] == '/');
        free(copy);
    }
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("urlpath", NULL, NULL);
    CU_add_test(s, "clean and decode", test_clean);
    CU_add_test(s, "query parameters", test_query);
    CU_add_test(s, "route patterns", test_match);
    CU_add_test(s, "limits N and N+1", test_limits);
    CU_add_test(s, "every prefix", test_prefixes);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    int fails = (int)CU_get_number_of_failures();
    CU_cleanup_registry();
    return fails != 0 || CU_get_error() != CUE_SUCCESS;
}
