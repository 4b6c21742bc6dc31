/* test_docker.c - the Docker route table: which calls are discovery, how they are graded. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "dissector.h"

static const ps_app_dissector *D = &ps_dissector_docker;

static void mktx(ps_http_tx *tx, const char *method, const char *url, uint16_t status)
{
    memset(tx, 0, sizeof(*tx));
    snprintf(tx->method, sizeof(tx->method), "%s", method);
    snprintf(tx->url, sizeof(tx->url), "%s", url);
    tx->json_items = -1;
    tx->status = status;
    tx->response_seen = status != 0;
}

/* Runs a call through the dissector; returns the rule name or NULL. */
static const char *classify(const char *method, const char *url, uint16_t status, ps_event *ev)
{
    ps_http_tx tx;
    mktx(&tx, method, url, status);
    D->on_request(&tx);
    memset(ev, 0, sizeof(*ev));
    ev->objects = -1;
    if (!D->on_done(&tx, ev))
        return NULL;
    return ev->rule->name;
}

static void test_routes(void)
{
    static const struct {
        const char *method, *url, *rule;
    } cases[] = {
        {"HEAD", "/_ping", "docker.ping"},
        {"GET", "/v1.50/_ping", "docker.ping"},
        {"GET", "/version", "docker.version"},
        {"GET", "/v1.16/version", "docker.version"},
        {"GET", "/v1.50/info", "docker.info"},
        {"GET", "/v1.50/containers/json?all=1", "docker.containers.list"},
        {"GET", "//containers/json", "docker.containers.list"},
        {"GET", "/containers%2Fjson", "docker.containers.list"},
        {"GET", "http://198.18.0.2:2375/containers/json", "docker.containers.list"},
        {"GET", "/v1.50/containers/db/json", "docker.containers.inspect"},
        {"GET", "/containers/db/top?ps_args=aux", "docker.containers.top"},
        {"GET", "/containers/db/logs?stdout=1", "docker.containers.logs"},
        {"GET", "/containers/db/stats?stream=false", "docker.containers.stats"},
        {"GET", "/containers/db/changes", "docker.containers.changes"},
        {"GET", "/containers/db/export", "docker.containers.export"},
        {"HEAD", "/containers/db/archive?path=/etc", "docker.containers.archive"},
        {"GET", "/images/json", "docker.images.list"},
        {"GET", "/v1.50/images/library/nginx:latest/json", "docker.images.inspect"},
        {"GET", "/images/postgres:16/history", "docker.images.history"},
        {"GET", "/images/get?names=x", "docker.images.get"},
        {"GET", "/images/alpine/get", "docker.images.get"},
        {"GET", "/networks", "docker.networks.list"},
        {"GET", "/networks/bridge", "docker.networks.inspect"},
        {"GET", "/volumes", "docker.volumes.list"},
        {"GET", "/volumes/data", "docker.volumes.inspect"},
        {"GET", "/system/df", "docker.system.df"},
        {"GET", "/events?since=1", "docker.events"},
        {"GET", "/swarm", "docker.swarm.inspect"},
        {"GET", "/swarm/unlockkey", "docker.swarm.unlockkey"},
        {"GET", "/nodes", "docker.nodes.list"},
        {"GET", "/nodes/n1", "docker.nodes.inspect"},
        {"GET", "/services", "docker.services.list"},
        {"GET", "/services/s1", "docker.services.inspect"},
        {"GET", "/services/s1/logs", "docker.services.logs"},
        {"GET", "/tasks", "docker.tasks.list"},
        {"GET", "/tasks/t1", "docker.tasks.inspect"},
        {"GET", "/secrets", "docker.secrets.list"},
        {"GET", "/secrets/s1", "docker.secrets.inspect"},
        {"GET", "/configs", "docker.configs.list"},
        {"GET", "/configs/c1", "docker.configs.inspect"},
        {"GET", "/plugins", "docker.plugins.list"},
        {"GET", "/plugins/vieux/sshfs:latest/json", "docker.plugins.inspect"},
        {"GET", "/distribution/nginx:latest/json", "docker.distribution.inspect"},
        {"GET", "/debug/pprof/heap", "docker.debug"},
        {"GET", "/debug/vars", "docker.debug"},
        /* Deployment (test_apis.c covers the execution routes and bodies). */
        {"POST", "/containers/create", "docker.containers.create"},
        /* Not discovery (or not Docker routes): silent. */
        {"POST", "/containers/json", NULL},
        {"get", "/containers/json", NULL}, /* Go methods are case-sensitive */
        {"GET", "/", NULL},
        {"GET", "/nonexistent", NULL},
        {"GET", "/vx/containers/json", NULL},
        {"GET", "/v1.50", NULL},
        {"GET", "/containers", NULL},
        {"GET", "/containers/a/b/json", NULL},
        {"GET", "/images", NULL},
    };
    for (size_t i = 0; i < PS_ARRAY_LEN(cases); i++) {
        ps_event ev;
        const char *got = classify(cases[i].method, cases[i].url, 200, &ev);
        bool ok = (got == NULL && cases[i].rule == NULL) ||
                  (got && cases[i].rule && strcmp(got, cases[i].rule) == 0);
        if (!ok)
            printf("\n%s %s -> %s (want %s)\n", cases[i].method, cases[i].url, got ? got : "-",
                   cases[i].rule ? cases[i].rule : "-");
        CU_ASSERT_TRUE(ok);
    }
}

static void test_grading(void)
{
    static const struct {
        uint16_t status;
        uint8_t outcome;
    } cases[] = {
        {200, PS_OUTCOME_SUCCEEDED}, {204, PS_OUTCOME_SUCCEEDED}, {101, PS_OUTCOME_SUCCEEDED},
        {299, PS_OUTCOME_SUCCEEDED}, {301, PS_OUTCOME_FAILED},    {400, PS_OUTCOME_FAILED},
        {401, PS_OUTCOME_DENIED},    {403, PS_OUTCOME_DENIED},    {404, PS_OUTCOME_FAILED},
        {500, PS_OUTCOME_FAILED},    {503, PS_OUTCOME_FAILED},    {0, PS_OUTCOME_UNKNOWN},
    };
    for (size_t i = 0; i < PS_ARRAY_LEN(cases); i++) {
        ps_event ev;
        CU_ASSERT_PTR_NOT_NULL(classify("GET", "/info", cases[i].status, &ev));
        CU_ASSERT_EQUAL(ev.outcome, cases[i].outcome);
        CU_ASSERT_EQUAL(ev.status, cases[i].status);
    }
}

static void test_fields(void)
{
    ps_http_tx tx;
    ps_event ev;
    mktx(&tx, "GET", "/v1.50/containers/json?all=1", 200);
    snprintf(tx.api_version, sizeof(tx.api_version), "1.51");
    snprintf(tx.server, sizeof(tx.server), "Docker/28.5.2 (linux)");
    snprintf(tx.user_agent, sizeof(tx.user_agent), "Docker-Client/28.2.2 (linux)");
    D->on_request(&tx);
    CU_ASSERT_EQUAL(tx.count_mode, PS_COUNT_ARRAY);
    tx.json_items = 3;
    memset(&ev, 0, sizeof(ev));
    CU_ASSERT_TRUE(D->on_done(&tx, &ev));
    CU_ASSERT_STRING_EQUAL(ev.api_version, "1.50");
    CU_ASSERT_STRING_EQUAL(ev.server_api_version, "1.51");
    CU_ASSERT_STRING_EQUAL(ev.user_agent, "Docker-Client/28.2.2 (linux)");
    CU_ASSERT_EQUAL(ev.objects, 3);
    CU_ASSERT_STRING_EQUAL(ev.rule->techniques[0]->id, "T1613");

    /* Volumes answer is an object: count the array under "Volumes". */
    mktx(&tx, "GET", "/volumes", 200);
    D->on_request(&tx);
    CU_ASSERT_EQUAL(tx.count_mode, PS_COUNT_KEY);
    CU_ASSERT_STRING_EQUAL(tx.count_key, "Volumes");

    /* A denied list has no object count, nor does an invalid body. */
    mktx(&tx, "GET", "/containers/json", 403);
    D->on_request(&tx);
    tx.json_items = 0;
    memset(&ev, 0, sizeof(ev));
    CU_ASSERT_TRUE(D->on_done(&tx, &ev));
    CU_ASSERT_EQUAL(ev.objects, -1);
    mktx(&tx, "GET", "/containers/json", 200);
    D->on_request(&tx);
    tx.json_items = 2;
    tx.json_invalid = true;
    memset(&ev, 0, sizeof(ev));
    CU_ASSERT_TRUE(D->on_done(&tx, &ev));
    CU_ASSERT_EQUAL(ev.objects, -1);

    /* Unversioned call: no api_version. Inspect carries T1552.007. */
    mktx(&tx, "GET", "/containers/x/json", 200);
    D->on_request(&tx);
    memset(&ev, 0, sizeof(ev));
    CU_ASSERT_TRUE(D->on_done(&tx, &ev));
    CU_ASSERT_STRING_EQUAL(ev.api_version, "");
    CU_ASSERT_STRING_EQUAL(ev.rule->techniques[1]->id, "T1552.007");
}

static void test_probes(void)
{
    ps_config cfg;
    ps_config_default(&cfg);
    ps_http_tx tx;
    mktx(&tx, "GET", "/info", 200);
    CU_ASSERT_EQUAL(D->probe_request(&tx, 2375, &cfg), PS_PROBE_YES);
    CU_ASSERT_EQUAL(D->probe_request(&tx, 4243, &cfg), PS_PROBE_YES);
    CU_ASSERT_EQUAL(D->probe_request(&tx, 8080, &cfg), PS_PROBE_NO);
    CU_ASSERT_EQUAL(D->probe_response(&tx), PS_PROBE_NO);
    snprintf(tx.server, sizeof(tx.server), "Docker/24.0.7 (linux)");
    CU_ASSERT_EQUAL(D->probe_response(&tx), PS_PROBE_YES);
    tx.server[0] = '\0';
    tx.has_api_version = true;
    CU_ASSERT_EQUAL(D->probe_response(&tx), PS_PROBE_NO); /* one header alone is not enough */
    tx.has_ostype = true;
    CU_ASSERT_EQUAL(D->probe_response(&tx), PS_PROBE_YES);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("docker", NULL, NULL);
    CU_add_test(s, "route table", test_routes);
    CU_add_test(s, "grading", test_grading);
    CU_add_test(s, "event fields and counting", test_fields);
    CU_add_test(s, "port and signature probes", test_probes);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    int fails = (int)CU_get_number_of_failures();
    CU_cleanup_registry();
    return fails != 0 || CU_get_error() != CUE_SUCCESS;
}
