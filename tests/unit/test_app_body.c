/* test_app_body.c - request/response body buffers (cap N/N+1, pool), secret fingerprints, clients.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "client.h"
#include "config.h"
#include "secrets.h"

static void nop_submit(void *ctx, const ps_event *ev)
{
    (void)ctx;
    (void)ev;
}

static ps_app_ctx *new_app(ps_config *cfg, uint32_t cap, uint32_t bufs)
{
    ps_config_default(cfg);
    cfg->body_cap = cap;
    cfg->body_bufs = bufs;
    cfg->http.pool_txs = 16;
    cfg->http.pool_head_bufs = 4;
    cfg->http.pool_inflaters = 1;
    ps_event_sink sink = {.submit = nop_submit};
    return ps_app_new(cfg, sink);
}

/* Feeds n bytes in pieces of `step` and returns the tx's request body. */
static void feed(ps_app_stream *s, ps_http_tx *tx, int dir, size_t n, size_t step)
{
    uint8_t piece[64];
    for (size_t i = 0; i < sizeof(piece); i++)
        piece[i] = (uint8_t)('a' + i % 26);
    for (size_t off = 0; off < n; off += step) {
        size_t k = n - off < step ? n - off : step;
        ps_app_http_on_body(s, tx, dir, piece, k);
    }
}

static void test_body_cap(void)
{
    ps_config cfg;
    ps_app_ctx *a = new_app(&cfg, 100, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    ps_app_stream s;
    memset(&s, 0, sizeof(s));
    s.app = a;
    static const size_t steps[] = {1, 7, 64};
    for (size_t st = 0; st < 3; st++) {
        ps_http_tx tx;
        memset(&tx, 0, sizeof(tx));
        feed(&s, &tx, 0, 100, steps[st]); /* exactly the cap: whole */
        CU_ASSERT_EQUAL(tx.req_body.len, 100);
        CU_ASSERT_FALSE(tx.req_body.truncated);
        CU_ASSERT_EQUAL(tx.req_body.data[99], (uint8_t)('a' + 99 % steps[st] % 26));
        feed(&s, &tx, 1, 101, steps[st]); /* one more: cut, flagged */
        CU_ASSERT_EQUAL(tx.resp_body.len, 100);
        CU_ASSERT_TRUE(tx.resp_body.truncated);
        ps_app_http_on_done(&s, &tx); /* no API claimed the flow: only releases */
        CU_ASSERT_PTR_NULL(tx.req_body.data);
        CU_ASSERT_PTR_NULL(tx.resp_body.data);
        CU_ASSERT_TRUE(ps_app_bodies_idle(a));
    }
    CU_ASSERT_EQUAL(ps_app_stats_get(a)->bodies_truncated, 3);
    CU_ASSERT_EQUAL(ps_app_stats_get(a)->bodies_kept, 6);
    ps_app_free(a);
}

static void test_body_pool(void)
{
    ps_config cfg;
    ps_app_ctx *a = new_app(&cfg, 16, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    ps_app_stream s;
    memset(&s, 0, sizeof(s));
    s.app = a;
    ps_http_tx t1, t2;
    memset(&t1, 0, sizeof(t1));
    memset(&t2, 0, sizeof(t2));
    CU_ASSERT_TRUE(ps_app_bodies_idle(a));
    feed(&s, &t1, 0, 10, 10);
    feed(&s, &t1, 1, 10, 10); /* both buffers in use now */
    CU_ASSERT_FALSE(ps_app_bodies_idle(a));
    feed(&s, &t2, 0, 10, 10); /* pool empty: not kept, flagged, counted */
    CU_ASSERT_PTR_NULL(t2.req_body.data);
    CU_ASSERT_TRUE(t2.req_body.truncated);
    CU_ASSERT_EQUAL(ps_app_stats_get(a)->body_pool_empty, 1);
    feed(&s, &t2, 0, 10, 10); /* counted once per body */
    CU_ASSERT_EQUAL(ps_app_stats_get(a)->body_pool_empty, 1);
    ps_app_http_on_done(&s, &t1);
    ps_app_http_on_done(&s, &t2);
    CU_ASSERT_TRUE(ps_app_bodies_idle(a));
    /* Empty pieces take no buffer. */
    ps_http_tx t3;
    memset(&t3, 0, sizeof(t3));
    ps_app_http_on_body(&s, &t3, 0, (const uint8_t *)"", 0);
    CU_ASSERT_PTR_NULL(t3.req_body.data);
    ps_app_free(a);
}

static void test_fingerprint(void)
{
    char fp[40];
    ps_secrets_configure("unit-test-key-0123456789", NULL);
    CU_ASSERT_EQUAL(ps_secret_fingerprint((const uint8_t *)"Bearer abc", 10, fp, sizeof(fp)),
                    PS_OK);
    CU_ASSERT_STRING_EQUAL(fp, "hmac-sha256:365e8fd6bcad7a19");
    CU_ASSERT_EQUAL(strlen(fp), PS_SECRET_FP_LEN);
    /* Output buffer at N and N-1. */
    CU_ASSERT_EQUAL(ps_secret_fingerprint((const uint8_t *)"x", 1, fp, PS_SECRET_FP_LEN + 1),
                    PS_OK);
    CU_ASSERT_EQUAL(ps_secret_fingerprint((const uint8_t *)"x", 1, fp, PS_SECRET_FP_LEN),
                    PS_ERR_CAP);
    CU_ASSERT_STRING_EQUAL(fp, "");
    /* Another key, another fingerprint. */
    char fp2[40];
    ps_secrets_configure("another-key-9876543210", NULL);
    ps_secret_fingerprint((const uint8_t *)"Bearer abc", 10, fp2, sizeof(fp2));
    CU_ASSERT_STRING_NOT_EQUAL(fp2, "hmac-sha256:365e8fd6bcad7a19");
}

static void test_state_dir_key(void)
{
    char dir[] = "/tmp/ps-secrets-XXXXXX", path[160], fp1[40], fp2[40], fp3[40];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char sub[80];
    snprintf(sub, sizeof(sub), "%s/state", dir);
    ps_secrets_configure("", sub);
    CU_ASSERT_EQUAL(ps_secret_fingerprint((const uint8_t *)"s", 1, fp1, sizeof(fp1)), PS_OK);
    snprintf(path, sizeof(path), "%s/hmac.key", sub);
    struct stat st;
    CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    CU_ASSERT_EQUAL(st.st_size, 65);
    /* A later start reads the same key back. */
    ps_secrets_configure("", sub);
    ps_secret_fingerprint((const uint8_t *)"s", 1, fp2, sizeof(fp2));
    CU_ASSERT_STRING_EQUAL(fp1, fp2);
    /* A damaged key file is not overwritten: a per-run key is used. */
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("not hex\n", f);
    fclose(f);
    ps_secrets_configure("", sub);
    CU_ASSERT_EQUAL(ps_secret_fingerprint((const uint8_t *)"s", 1, fp3, sizeof(fp3)), PS_OK);
    CU_ASSERT_STRING_NOT_EQUAL(fp3, fp1);
    unlink(path);
    rmdir(sub);
    rmdir(dir);
    ps_secrets_configure("unit-test-key-0123456789", NULL);
}

static void test_clients(void)
{
    static const struct {
        const char *ua, *app, *url, *tool, *version, *program;
    } t[] = {
        {"Docker-Client/28.2.2 (linux)", "docker", "/v1.50/info", "docker-cli", "28.2.2", ""},
        {"docker-sdk-python/7.1.0", "docker", "/version", "docker-py", "7.1.0", ""},
        {"moby-client/v0.4.0 linux/amd64", "docker", "/_ping", "moby-client", "v0.4.0", ""},
        {"Go-http-client/1.1", "docker", "/v1.24/containers/create", "go-http-client", "",
         "docker-cli<=24"},
        {"Go-http-client/1.1", "kubelet", "/pods", "go-http-client", "", ""},
        {"kubectl/v1.30.0 (darwin/arm64) kubernetes/7c48c2b", "kubeapi", "/api", "kubectl",
         "v1.30.0", ""},
        {"kubectl/v0.0.0 (linux/amd64) kubernetes/$Format", "kubeapi", "/api", "kubectl",
         "unstamped", ""},
        {"peirates/v0.0.0 (linux/amd64) kubernetes/$Format", "kubeapi", "/api", "client-go",
         "unstamped", "peirates"},
        {"kubeletctl/v1.11.0 (linux/amd64) kubernetes/abcdef0", "kubelet", "/pods", "client-go",
         "v1.11.0", "kubeletctl"},
        {"curl/7.88.1", "kubelet", "/pods", "curl", "7.88.1", ""},
        {"python-requests/2.31.0", "etcd", "/version", "python-requests", "2.31.0", ""},
        {"Mozilla/5.0 zgrab/0.x", "docker", "/v1.16/version", "zgrab", "0.x", ""},
        {"masscan/1.3 (https://github.com/robertdavidgraham/masscan)", "docker", "/", "masscan",
         "1.3", ""},
        {"Wget/1.21.3", "docker", "/", "wget", "1.21.3", ""},
        {"Prometheus/2.53.0", "kubelet", "/metrics", "prometheus", "2.53.0", ""},
        {"", "docker", "/", "unknown", "", ""},
        {"Mozilla/5.0 (X11; Linux x86_64)", "docker", "/", "other", "5.0", "Mozilla"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        ps_client_id id;
        ps_client_identify(t[i].ua, t[i].app, t[i].url, &id);
        CU_ASSERT_STRING_EQUAL(id.tool, t[i].tool);
        CU_ASSERT_STRING_EQUAL(id.version, t[i].version);
        CU_ASSERT_STRING_EQUAL(id.program, t[i].program);
        if (strcmp(id.tool, t[i].tool) || strcmp(id.version, t[i].version) ||
            strcmp(id.program, t[i].program))
            printf("\n%s: %s %s %s\n", t[i].ua, id.tool, id.version, id.program);
    }
    /* Over-long fields are cut, never overflow. */
    char ua[600];
    memset(ua, 'v', sizeof(ua));
    memcpy(ua, "curl/", 5);
    ua[sizeof(ua) - 1] = '\0';
    ps_client_id id;
    ps_client_identify(ua, "docker", "/", &id);
    CU_ASSERT_EQUAL(strlen(id.version), sizeof(id.version) - 1);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("app_body", NULL, NULL);
    CU_add_test(s, "body cap N/N+1", test_body_cap);
    CU_add_test(s, "body pool", test_body_pool);
    CU_add_test(s, "fingerprint", test_fingerprint);
    CU_add_test(s, "state dir key", test_state_dir_key);
    CU_add_test(s, "clients", test_clients);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    int rc = CU_get_number_of_failures() != 0 || CU_get_error();
    CU_cleanup_registry();
    return rc;
}
