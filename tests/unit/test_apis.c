/* test_apis.c - kubelet, kube-apiserver, etcd and Docker execution route tables, graded from
 * answers. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "dissector.h"
#include "event.h"
#include "http_parse.h"
#include "secrets.h"

static uint8_t req_buf[8192], resp_buf[8192];

typedef struct call {
    const char *method, *url, *ua;
    const char *req_body;  /* NULL: none */
    uint16_t status;       /* 0: unanswered */
    const char *resp_body; /* NULL: none */
    uint32_t resp_hdrs;
    const char *accept; /* request Accept header, NULL none */
    int64_t items;      /* json_items the HTTP layer would have counted */
} call;

/* Runs one exchange through app dissector d; returns on_done's verdict. */
static bool run(const ps_app_dissector *d, const call *c, ps_event *ev, ps_http_tx *tx)
{
    memset(tx, 0, sizeof(*tx));
    memset(ev, 0, sizeof(*ev));
    ev->objects = -1;
    ev->allowed = -1;
    snprintf(tx->method, sizeof(tx->method), "%s", c->method);
    snprintf(tx->url, sizeof(tx->url), "%s", c->url);
    snprintf(tx->user_agent, sizeof(tx->user_agent), "%s", c->ua ? c->ua : "curl/7.88.1");
    tx->json_items = -1;
    ps_http_hdr hdr;
    ps_http_head head;
    memset(&head, 0, sizeof(head));
    if (c->accept) {
        hdr.name = (const uint8_t *)"Accept";
        hdr.name_len = 6;
        hdr.value = (const uint8_t *)c->accept;
        hdr.value_len = (uint32_t)strlen(c->accept);
        head.hdrs = &hdr;
        head.num_hdrs = 1;
    }
    tx->req_head = &head;
    d->on_request(tx);
    tx->req_head = NULL;
    if (c->req_body && (tx->app_flags & PS_HTTP_WANT_REQ_BODY)) {
        size_t n = strlen(c->req_body);
        memcpy(req_buf, c->req_body, n);
        tx->req_body.data = req_buf;
        tx->req_body.len = (uint32_t)n;
        tx->req_body.cap = sizeof(req_buf);
    }
    if (c->status) {
        tx->response_seen = true;
        tx->status = c->status;
        tx->resp_hdrs = c->resp_hdrs;
        if (c->resp_body && (tx->app_flags & PS_HTTP_WANT_RESP_BODY)) {
            size_t n = strlen(c->resp_body);
            memcpy(resp_buf, c->resp_body, n);
            tx->resp_body.data = resp_buf;
            tx->resp_body.len = (uint32_t)n;
            tx->resp_body.cap = sizeof(resp_buf);
        }
        if (tx->count_mode != PS_COUNT_NONE)
            tx->json_items = c->items;
    }
    return d->on_done(tx, ev);
}

static const char *rule_of(const ps_app_dissector *d, const call *c, ps_event *ev)
{
    ps_http_tx tx;
    return run(d, c, ev, &tx) ? ev->rule->name : "-";
}

/* ---- kubelet ---- */

static void test_kubelet_routes(void)
{
    static const struct {
        const char *method, *url, *rule;
    } t[] = {
        {"GET", "/pods", "kubelet.pods"},
        {"GET", "/pods/", "kubelet.pods"},
        {"GET", "/runningpods/", "kubelet.runningpods"},
        {"GET", "/spec/", "kubelet.spec"},
        {"GET", "/stats/summary", "kubelet.stats"},
        {"GET", "/stats/container", "kubelet.stats"},
        {"GET", "/metrics", "kubelet.metrics"},
        {"GET", "/metrics/cadvisor", "kubelet.metrics"},
        {"GET", "/configz", "kubelet.configz"},
        {"GET", "/healthz", "kubelet.healthz"},
        {"GET", "/logs/", "kubelet.logs"},
        {"GET", "/logs/syslog", "kubelet.logs"},
        {"GET", "/containerLogs/ns/pod/c", "kubelet.containerlogs"},
        {"GET", "/debug/pprof/goroutine", "kubelet.debug"},
        {"POST", "/run/ns/pod/c", "kubelet.run"},
        {"GET", "/run/ns/pod/c", "kubelet.run"},
        {"POST", "/run/ns/pod/uid/c", "kubelet.run"},
        {"POST", "//run/./ns/pod/c/", "kubelet.run"},
        {"GET", "/exec/ns/pod/c?command=id", "kubelet.exec"},
        {"POST", "/exec/ns/pod/uid/c", "kubelet.exec"},
        {"POST", "/attach/ns/pod/c", "kubelet.attach"},
        {"GET", "/portForward/ns/pod", "kubelet.portforward"},
        {"POST", "/checkpoint/ns/pod/c", "kubelet.checkpoint"},
        {"POST", "/pods", "-"},
        {"GET", "/", "-"},
        {"GET", "/run/ns/pod", "-"},
        {"GET", "/index.html", "-"},
        {"get", "/pods", "-"},
    };
    ps_event ev;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        call c = {t[i].method, t[i].url, NULL, NULL, 200, NULL, 0, NULL, -1};
        const char *got = rule_of(&ps_dissector_kubelet, &c, &ev);
        CU_ASSERT_STRING_EQUAL(got, t[i].rule);
        if (strcmp(got, t[i].rule) != 0)
            printf("\n%s %s: %s, want %s\n", t[i].method, t[i].url, got, t[i].rule);
    }
}

static void test_kubelet_objects(void)
{
    ps_event ev;
    ps_http_tx tx;
    call run_q = {"POST", "/run/kube-system/etcd-node1/etcd?cmd=cat%20%2Fetc%2Fshadow",
                  NULL,   NULL,
                  200,    "root:*:19000",
                  0,      NULL,
                  -1};
    CU_ASSERT_TRUE(run(&ps_dissector_kubelet, &run_q, &ev, &tx));
    CU_ASSERT_STRING_EQUAL(ev.k8s_namespace, "kube-system");
    CU_ASSERT_STRING_EQUAL(ev.pod, "etcd-node1");
    CU_ASSERT_STRING_EQUAL(ev.container, "etcd");
    CU_ASSERT_STRING_EQUAL(ev.command, "cat /etc/shadow");
    CU_ASSERT_EQUAL(ev.outcome, PS_OUTCOME_SUCCEEDED);

    call run_b = {"POST", "/run/ns/pod/uid-1/c/",
                  NULL,   "cmd=cat+%2Fvar%2Frun%2Ftoken&x=1",
                  405,    "Debug endpoints are disabled.\n",
                  0,      NULL,
                  -1};
    CU_ASSERT_TRUE(run(&ps_dissector_kubelet, &run_b, &ev, &tx));
    CU_ASSERT_STRING_EQUAL(ev.command, "cat /var/run/token");
    CU_ASSERT_STRING_EQUAL(ev.container, "c");
    CU_ASSERT_EQUAL(ev.outcome, PS_OUTCOME_FAILED);

    call ex = {"GET", "/exec/ns/pod/c?command=sh&command=-c&command=id%3Bls&output=1",
               NULL,  NULL,
               101,   NULL,
               0,     NULL,
               -1};
    CU_ASSERT_TRUE(run(&ps_dissector_kubelet, &ex, &ev, &tx));
    CU_ASSERT_STRING_EQUAL(ev.command, "sh -c id;ls");
    CU_ASSERT_EQUAL(ev.outcome, PS_OUTCOME_SUCCEEDED);

    call pods = {"GET", "/pods", NULL, NULL, 200, "{\"kind\":\"PodList\"}", 0, NULL, 7};
    CU_ASSERT_TRUE(run(&ps_dissector_kubelet, &pods, &ev, &tx));
    CU_ASSERT_STRING_EQUAL(tx.count_key, "items");
    CU_ASSERT_EQUAL(ev.objects, 7);
    pods.status = 401;
    CU_ASSERT_TRUE(run(&ps_dissector_kubelet, &pods, &ev, &tx));
    CU_ASSERT_EQUAL(ev.outcome, PS_OUTCOME_DENIED);
    CU_ASSERT_EQUAL(ev.objects, -1);

    call tls = {"GET", "/pods", NULL,
                NULL,  400,     "Client sent an HTTP request to an HTTPS server.\n",
                0,     NULL,    -1};
    CU_ASSERT_TRUE(run(&ps_dissector_kubelet, &tls, &ev, &tx));
    CU_ASSERT_EQUAL(ev.outcome, PS_OUTCOME_FAILED);
    CU_ASSERT_TRUE(ev.flags & PS_EVF_TLS_PORT_PLAINTEXT);
    tls.resp_body = "Bad Request";
    CU_ASSERT_TRUE(run(&ps_dissector_kubelet, &tls, &ev, &tx));
    CU_ASSERT_FALSE(ev.flags & PS_EVF_TLS_PORT_PLAINTEXT);

    call pf = {"GET", "/portForward/ns/pod", NULL, NULL, 0, NULL, 0, NULL, -1};
    CU_ASSERT_TRUE(run(&ps_dissector_kubelet, &pf, &ev, &tx));
    CU_ASSERT_STRING_EQUAL(ev.pod, "pod");
    CU_ASSERT_STRING_EQUAL(ev.container, "");
    CU_ASSERT_EQUAL(ev.outcome, PS_OUTCOME_UNKNOWN);
}

/* ---- kube-apiserver ---- */

#define K8S PS_HTTP_RH_AUDIT_ID

static void test_kubeapi_routes(void)
{
    static const struct {
        const char *method, *url, *rule;
    } t[] = {
        {"GET", "/version", "kubeapi.version"},
        {"GET", "/healthz", "kubeapi.health"},
        {"GET", "/livez/ping", "kubeapi.health"},
        {"GET", "/api", "kubeapi.discovery"},
        {"GET", "/api/v1", "kubeapi.discovery"},
        {"GET", "/apis", "kubeapi.discovery"},
        {"GET", "/apis/apps/v1", "kubeapi.discovery"},
        {"GET", "/openapi/v2", "kubeapi.discovery"},
        {"GET", "/api/v1/pods?limit=500", "kubeapi.pods.list"},
        {"GET", "/api/v1/namespaces/default/pods", "kubeapi.pods.list"},
        {"GET", "/api/v1/namespaces/default/pods/web", "kubeapi.pods.get"},
        {"GET", "/api/v1/namespaces/default/pods/web/log", "kubeapi.pods.log"},
        {"GET", "/api/v1/nodes", "kubeapi.nodes.list"},
        {"GET", "/api/v1/nodes/node-1", "kubeapi.nodes.list"},
        {"GET", "/api/v1/namespaces", "kubeapi.namespaces.list"},
        {"GET", "/api/v1/namespaces/kube-system", "kubeapi.namespaces.list"},
        {"GET", "/api/v1/services", "kubeapi.services.list"},
        {"GET", "/api/v1/namespaces/a/endpoints", "kubeapi.services.list"},
        {"GET", "/apis/apps/v1/deployments", "kubeapi.workloads.list"},
        {"GET", "/apis/apps/v1/namespaces/a/daemonsets", "kubeapi.workloads.list"},
        {"GET", "/apis/batch/v1/cronjobs", "kubeapi.workloads.list"},
        {"GET", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", "kubeapi.rbac.list"},
        {"GET", "/api/v1/serviceaccounts", "kubeapi.serviceaccounts.list"},
        {"GET", "/apis/storage.k8s.io/v1/storageclasses", "kubeapi.resources.list"},
        {"GET", "/api/v1/secrets", "kubeapi.secrets.list"},
        {"GET", "/api/v1/namespaces/kube-system/secrets?watch=true", "kubeapi.secrets.list"},
        {"GET", "/api/v1/namespaces/a/secrets/db", "kubeapi.secrets.get"},
        {"GET", "/api/v1/namespaces/a/configmaps", "kubeapi.configmaps.read"},
        {"GET", "/api/v1/namespaces/a/configmaps/c", "kubeapi.configmaps.read"},
        {"POST", "/api/v1/namespaces/a/serviceaccounts/default/token",
         "kubeapi.serviceaccounts.token"},
        {"GET", "/api/v1/namespaces/a/serviceaccounts/default/token", "kubeapi.resources.list"},
        {"POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
         "kubeapi.selfsubjectaccessreviews"},
        {"POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
         "kubeapi.selfsubjectrulesreviews"},
        {"POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", "kubeapi.selfsubjectreviews"},
        {"POST", "/api/v1/namespaces/a/pods/web/exec?command=id", "kubeapi.pods.exec"},
        {"GET", "/api/v1/namespaces/a/pods/web/exec?command=id", "kubeapi.pods.exec"},
        {"POST", "/api/v1/namespaces/a/pods/web/attach", "kubeapi.pods.attach"},
        {"POST", "/api/v1/namespaces/a/pods/web/portforward", "kubeapi.pods.portforward"},
        {"GET", "/api/v1/nodes/node-1/proxy/pods", "kubeapi.nodes.proxy"},
        {"POST", "/api/v1/namespaces/a/pods", "kubeapi.pods.create"},
        {"POST", "/apis/apps/v1/namespaces/a/daemonsets", "kubeapi.workloads.create"},
        {"POST", "/apis/batch/v1/namespaces/a/cronjobs", "kubeapi.workloads.create"},
        {"DELETE", "/api/v1/namespaces/a/pods/web", "-"},
        {"PUT", "/api/v1/namespaces/a/secrets/db", "-"},
        {"POST", "/api/v1/namespaces/a/configmaps", "-"},
        {"GET", "/api/json", "-"},
        {"GET", "/", "-"},
        {"GET", "/metrics", "-"},
    };
    ps_event ev;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        call c = {t[i].method, t[i].url, NULL, "{}", 200, "{}", K8S, NULL, -1};
        const char *got = rule_of(&ps_dissector_kubeapi, &c, &ev);
        CU_ASSERT_STRING_EQUAL(got, t[i].rule);
        if (strcmp(got, t[i].rule) != 0)
            printf("\n%s %s: %s, want %s\n", t[i].method, t[i].url, got, t[i].rule);
    }
}

/* Without Kubernetes' headers, body or client, an 8080 answer is not Kubernetes. */
static void test_kubeapi_jenkins_silent(void)
{
    ps_event ev;
    ps_http_tx tx;
    call c[] = {
        {"GET", "/api/json", "Prometheus/2.53.0", NULL, 200,
         "{\"_class\":\"hudson.model.Hudson\",\"jobs\":[]}", 0, NULL, -1},
        {"GET", "/version", "curl/7.88.1", NULL, 200, "{\"version\":\"2.452.2\"}", 0, NULL, -1},
        {"GET", "/api", "curl/7.88.1", NULL, 200, "{\"kind\":\"x\"}", 0, NULL, -1},
        {"GET", "/api/v1/pods", "curl/7.88.1", NULL, 404, "<html>Not found</html>", 0, NULL, -1},
        {"GET", "/healthz", "curl/7.88.1", NULL, 200, "ok", 0, NULL, -1},
        {"GET", "/api/v1/secrets", "curl/7.88.1", NULL, 0, NULL, 0, NULL, -1},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
        CU_ASSERT_FALSE(run(&ps_dissector_kubeapi, &c[i], &ev, &tx));
    /* The same calls with one Kubernetes sign each are detections. */
    call k[] = {
        {"GET", "/version", "curl/7.88.1", NULL, 200,
         "{\"major\":\"1\",\"gitVersion\":\"v1.30.0\"}", 0, NULL, -1},
        {"GET", "/api", "curl/7.88.1", NULL, 200, "{\"kind\":\"APIVersions\",\"versions\":[]}", 0,
         NULL, -1},
        {"GET", "/api/v1/pods", "curl/7.88.1", NULL, 403,
         "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"code\":403}", 0, NULL, -1},
        {"GET", "/healthz", "curl/7.88.1", NULL, 200, "ok", PS_HTTP_RH_K8S_PF, NULL, -1},
        {"GET", "/api/v1/secrets", "kubectl/v1.30.0 (linux/amd64) kubernetes/7c48c2b", NULL, 0,
         NULL, 0, NULL, -1},
        {"GET", "/api/v1/secrets", "peirates/v0.0.0 (linux/amd64) kubernetes/$Format", NULL, 0,
         NULL, 0, NULL, -1},
    };
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
        CU_ASSERT_TRUE(run(&ps_dissector_kubeapi, &k[i], &ev, &tx));
    CU_ASSERT_EQUAL(ev.outcome, PS_OUTCOME_UNKNOWN);
}

static void test_kubeapi_objects(void)
{
    ps_event ev;
    ps_http_tx tx;
    call tbl = {"GET",
                "/api/v1/namespaces/prod/pods?limit=500",
                "kubectl/v1.30.0",
                NULL,
                200,
                "{}",
                K8S,
                "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
                12};
    CU_ASSERT_TRUE(run(&ps_dissector_kubeapi, &tbl, &ev, &tx));
    CU_ASSERT_STRING_EQUAL(tx.count_key, "rows");
    CU_ASSERT_EQUAL(ev.objects, 12);
    CU_ASSERT_STRING_EQUAL(ev.k8s_namespace, "prod");
    CU_ASSERT_STRING_EQUAL(ev.verb, "list");
    tbl.accept = "application/json";
    CU_ASSERT_TRUE(run(&ps_dissector_kubeapi, &tbl, &ev, &tx));
    CU_ASSERT_STRING_EQUAL(tx.count_key, "items");
    tbl.url = "/api/v1/pods?watch=1";
    CU_ASSERT_TRUE(run(&ps_dissector_kubeapi, &tbl, &ev, &tx));
    CU_ASSERT_EQUAL(tx.count_mode, PS_COUNT_NONE);
    CU_ASSERT_STRING_EQUAL(ev.verb, "watch");

    call ssar = {"POST",
                 "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                 NULL,
                 "{}",
                 201,
                 "{\"kind\":\"SelfSubjectAccessReview\",\"apiVersion\":\"authorization.k8s.io/v1\","
                 "\"status\":{\"allowed\":true}}",
                 0,
                 NULL,
                 -1};
    CU_ASSERT_TRUE(run(&ps_dissector_kubeapi, &ssar, &ev, &tx));
    CU_ASSERT_EQUAL(ev.allowed, 1);
    CU_ASSERT_EQUAL(ev.outcome, PS_OUTCOME_SUCCEEDED);

    call ex = {
        "POST",
        "/api/v1/namespaces/a/pods/web/exec?command=cat&command=%2Fetc%2Fpasswd&container=nginx",
        NULL,
        NULL,
        101,
        NULL,
        K8S,
        NULL,
        -1};
    CU_ASSERT_TRUE(run(&ps_dissector_kubeapi, &ex, &ev, &tx));
    CU_ASSERT_STRING_EQUAL(ev.command, "cat /etc/passwd");
    CU_ASSERT_STRING_EQUAL(ev.container, "nginx");
    CU_ASSERT_STRING_EQUAL(ev.pod, "web");

    const char *plain = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},"
                        "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"alpine\","
                        "\"command\":[\"sleep\",\"1\"]}]}}";
    call pod = {"POST", "/api/v1/namespaces/a/pods", "kubectl/v1.30.0", plain, 201, "{}", K8S, NULL,
                -1};
    CU_ASSERT_STRING_EQUAL(rule_of(&ps_dissector_kubeapi, &pod, &ev), "kubeapi.pods.create");
    CU_ASSERT_STRING_EQUAL(ev.image, "alpine");
    CU_ASSERT_STRING_EQUAL(ev.command, "sleep 1");
    CU_ASSERT_STRING_EQUAL(ev.pod, "p");
    static const struct {
        const char *spec, *escape;
    } esc[] = {
        {"\"hostPID\":true", "hostPID"},
        {"\"hostNetwork\":true", "hostNetwork"},
        {"\"volumes\":[{\"name\":\"h\",\"hostPath\":{\"path\":\"/\"}}]", "hostPath:/"},
        {"\"volumes\":[{\"name\":\"h\",\"hostPath\":{\"path\":\"/var/run/docker.sock\"}}]",
         "hostPath:/var/run/docker.sock"},
        {"\"containers\":[{\"securityContext\":{\"privileged\":true}}]", "privileged"},
        {"\"initContainers\":[{\"securityContext\":{\"capabilities\":{\"add\":[\"SYS_ADMIN\"]}}}]",
         "cap:SYS_ADMIN"},
    };
    char body[512];
    for (size_t i = 0; i < sizeof(esc) / sizeof(esc[0]); i++) {
        snprintf(body, sizeof(body), "{\"kind\":\"Pod\",\"spec\":{%s}}", esc[i].spec);
        pod.req_body = body;
        CU_ASSERT_STRING_EQUAL(rule_of(&ps_dissector_kubeapi, &pod, &ev),
                               "kubeapi.pods.create_escape");
        CU_ASSERT_STRING_EQUAL(ev.escape, esc[i].escape);
    }
    /* Harmless host paths and false flags are no escape. */
    pod.req_body =
        "{\"spec\":{\"hostPID\":false,\"volumes\":[{\"hostPath\":{\"path\":\"/data/x\"}}],"
        "\"containers\":[{\"securityContext\":{\"privileged\":false}}]}}";
    CU_ASSERT_STRING_EQUAL(rule_of(&ps_dissector_kubeapi, &pod, &ev), "kubeapi.pods.create");
    /* Controllers wrap the pod spec. */
    call ds = {
        "POST", "/apis/apps/v1/namespaces/kube-system/daemonsets",
        NULL,   "{\"kind\":\"DaemonSet\",\"spec\":{\"template\":{\"spec\":{\"hostPID\":true}}}}",
        201,    "{}",
        K8S,    NULL,
        -1};
    CU_ASSERT_STRING_EQUAL(rule_of(&ps_dissector_kubeapi, &ds, &ev),
                           "kubeapi.workloads.create_escape");
    ds.url = "/apis/batch/v1/namespaces/a/cronjobs";
    ds.req_body = "{\"spec\":{\"jobTemplate\":{\"spec\":{\"template\":{\"spec\":{\"containers\":"
                  "[{\"securityContext\":{\"privileged\":true}}]}}}}}}";
    CU_ASSERT_STRING_EQUAL(rule_of(&ps_dissector_kubeapi, &ds, &ev),
                           "kubeapi.workloads.create_escape");
    /* A body cut short still yields what came before the cut. */
    ds.req_body = "{\"spec\":{\"template\":{\"spec\":{\"hostPID\":true,\"containers\":[{\"na";
    CU_ASSERT_STRING_EQUAL(rule_of(&ps_dissector_kubeapi, &ds, &ev),
                           "kubeapi.workloads.create_escape");
}

/* ---- etcd ---- */

static void test_etcd(void)
{
    static const struct {
        const char *method, *url, *body, *rule, *key;
    } t[] = {
        {"GET", "/version", NULL, "etcd.version", ""},
        {"GET", "/health", NULL, "etcd.health", ""},
        {"GET", "/metrics", NULL, "etcd.metrics", ""},
        {"GET", "/v2/keys/?recursive=true", NULL, "etcd.v2.keys", "/"},
        {"GET", "/v2/keys/registry/x", NULL, "etcd.v2.keys", "/registry/x"},
        {"PUT", "/v2/keys/x", NULL, "etcd.v2.put", "/x"},
        {"GET", "/v2/members", NULL, "etcd.cluster", ""},
        {"POST", "/v3/kv/range",
         "{\"key\":\"L3JlZ2lzdHJ5L3NlY3JldHMv\",\"range_end\":"
         "\"L3JlZ2lzdHJ5L3NlY3JldHMw\"}",
         "etcd.kv.range_secrets", "/registry/secrets/"},
        {"POST", "/v3beta/kv/range",
         "{\"key\":\"L3JlZ2lzdHJ5Lw==\",\"range_end\":\"L3JlZ2lzdHJ5MA==\"}",
         "etcd.kv.range_secrets", "/registry/"},
        {"POST", "/v3alpha/kv/range", "{\"key\":\"AA==\",\"range_end\":\"AA==\"}",
         "etcd.kv.range_secrets", "\\x00"},
        {"POST", "/v3/kv/range", "{\"key\":\"L3JlZ2lzdHJ5L3NlY3JldHMvZGVmYXVsdC9kYg\"}",
         "etcd.kv.range_secrets", "/registry/secrets/default/db"},
        {"POST", "/v3/kv/range",
         "{\"key\":\"L3JlZ2lzdHJ5L3BvZHMv\",\"rangeEnd\":\"L3JlZ2lzdHJ5L3BvZHMw\"}",
         "etcd.kv.range", "/registry/pods/"},
        {"POST", "/v3/kv/range", "{\"key\":\"L3JlZ2lzdHJ5L3NlY3JldHM=\"}", "etcd.kv.range",
         "/registry/secrets"},
        {"POST", "/v3/kv/range", "{\"key\":\"!!!\"}", "etcd.kv.range", ""},
        {"POST", "/v3/kv/put", "{\"key\":\"L3g=\",\"value\":\"eQ==\"}", "etcd.kv.put", "/x"},
        {"POST", "/v3/maintenance/snapshot", "{}", "etcd.snapshot", ""},
        {"POST", "/v3/maintenance/status", "{}", "etcd.cluster", ""},
        {"POST", "/v3/auth/authenticate", "{}", "etcd.auth", ""},
        {"GET", "/v3/kv/range", NULL, "-", ""},
        {"POST", "/v3/kv/deleterange", "{}", "-", ""},
        {"GET", "/", NULL, "-", ""},
    };
    ps_event ev;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        call c = {t[i].method, t[i].url, NULL, t[i].body, 200, "{\"header\":{}}", 0, NULL, -1};
        const char *got = rule_of(&ps_dissector_etcd, &c, &ev);
        CU_ASSERT_STRING_EQUAL(got, t[i].rule);
        CU_ASSERT_STRING_EQUAL(ev.etcd_key, t[i].key);
        if (strcmp(got, t[i].rule) != 0 || strcmp(ev.etcd_key, t[i].key) != 0)
            printf("\n%s %s: %s key %s\n", t[i].method, t[i].url, got, ev.etcd_key);
    }
    call denied = {"POST", "/v3/kv/range",
                   NULL,   "{\"key\":\"AA==\"}",
                   400,    "{\"error\":\"etcdserver: user name is empty\",\"code\":3}",
                   0,      NULL,
                   -1};
    CU_ASSERT_STRING_EQUAL(rule_of(&ps_dissector_etcd, &denied, &ev), "etcd.kv.range");
    CU_ASSERT_EQUAL(ev.outcome, PS_OUTCOME_DENIED);
    call hit = {"POST", "/v3/kv/range", NULL, "{\"key\":\"AA==\"}", 200, "{}", 0, NULL, 3};
    rule_of(&ps_dissector_etcd, &hit, &ev);
    CU_ASSERT_EQUAL(ev.objects, 3);
    hit.items = -1; /* no "kvs": nothing matched */
    rule_of(&ps_dissector_etcd, &hit, &ev);
    CU_ASSERT_EQUAL(ev.objects, 0);
}

/* ---- Docker execution ---- */

static void test_docker_exec(void)
{
    static const struct {
        const char *method, *url, *body, *rule, *escape;
    } t[] = {
        {"POST", "/v1.50/containers/create?name=x", "{\"Image\":\"alpine\"}",
         "docker.containers.create", ""},
        {"POST", "/containers/create", "{\"HostConfig\":{\"Binds\":[\"/:/host\"]}}",
         "docker.containers.create_escape", "bind:/"},
        {"POST", "/containers/create",
         "{\"HostConfig\":{\"Binds\":[\"/data:/d\",\"/var/run/docker.sock:/s\"]}}",
         "docker.containers.create_escape", "bind:/var/run/docker.sock"},
        {"POST", "/containers/create",
         "{\"HostConfig\":{\"Binds\":[\"myvol:/d\",\"/srv/app:/a\"]}}", "docker.containers.create",
         ""},
        {"POST", "/containers/create", "{\"Binds\":[\"/:/mnt\"],\"Privileged\":true}",
         "docker.containers.create_escape", "bind:/,privileged"},
        {"POST", "/containers/create", "{\"hostconfig\":{\"privileged\":true}}",
         "docker.containers.create_escape", "privileged"},
        {"POST", "/containers/create", "{\"HostConfig\":{\"Privileged\":false}}",
         "docker.containers.create", ""},
        {"POST", "/containers/create",
         "{\"HostConfig\":{\"PidMode\":\"host\",\"IpcMode\":\"host\"}}",
         "docker.containers.create_escape", "pid:host,ipc:host"},
        {"POST", "/containers/create", "{\"HostConfig\":{\"NetworkMode\":\"bridge\"}}",
         "docker.containers.create", ""},
        {"POST", "/containers/create", "{\"HostConfig\":{\"CapAdd\":[\"NET_RAW\",\"sys_ptrace\"]}}",
         "docker.containers.create_escape", "cap:sys_ptrace"},
        {"POST", "/containers/create",
         "{\"HostConfig\":{\"SecurityOpt\":[\"seccomp=unconfined\"]}}",
         "docker.containers.create_escape", "securityopt:seccomp=unconfined"},
        {"POST", "/containers/create",
         "{\"HostConfig\":{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/\",\"Target\":\"/h\"}]}}",
         "docker.containers.create_escape", "mount:/"},
        {"POST", "/containers/create",
         "{\"HostConfig\":{\"Devices\":[{\"PathOnHost\":\"/dev/mem\"}]}}",
         "docker.containers.create_escape", "device:/dev/mem"},
        {"POST", "/containers/create", "not json {\"Privileged\":true}", "docker.containers.create",
         ""},
        {"POST", "/containers/abc/start", NULL, "docker.containers.start", ""},
        {"POST", "/v1.24/containers/abc/exec",
         "{\"Cmd\":[\"sh\",\"-c\",\"id\"],\"Privileged\":true}", "docker.exec.create",
         "privileged"},
        {"POST", "/exec/e1/start", "{}", "docker.exec.start", ""},
        {"POST", "/containers/abc/attach?stream=1", NULL, "docker.containers.attach", ""},
        {"GET", "/containers/abc/attach/ws", NULL, "docker.containers.attach", ""},
        {"PUT", "/containers/abc/archive?path=/etc", NULL, "docker.containers.archive_put", ""},
        {"GET", "/containers/abc/archive?path=/etc", NULL, "docker.containers.archive", ""},
        {"POST", "/images/create?fromImage=alpine&tag=3.20", NULL, "docker.images.pull", ""},
        {"POST", "/images/create?fromSrc=http%3A%2F%2Fx%2Fr.tar", NULL, "docker.images.import", ""},
        {"POST", "/images/load", NULL, "docker.images.load", ""},
        {"POST", "/build?t=x", NULL, "docker.build", ""},
        {"POST", "/build?remote=https://x/ctx.git", NULL, "docker.build.remote", ""},
        {"DELETE", "/containers/abc", NULL, "-", ""},
        {"POST", "/containers/json", NULL, "-", ""},
    };
    ps_event ev;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        call c = {t[i].method, t[i].url, NULL, t[i].body, 201, NULL, 0, NULL, -1};
        const char *got = rule_of(&ps_dissector_docker, &c, &ev);
        CU_ASSERT_STRING_EQUAL(got, t[i].rule);
        CU_ASSERT_STRING_EQUAL(ev.escape, t[i].escape);
        if (strcmp(got, t[i].rule) != 0 || strcmp(ev.escape, t[i].escape) != 0)
            printf("\n%s %s: %s escape %s\n", t[i].method, t[i].url, got, ev.escape);
    }
}

static void test_docker_fields(void)
{
    ps_event ev;
    ps_secrets_configure("unit-test-key-0123456789", NULL);
    call c = {"POST",
              "/containers/create?name=web",
              NULL,
              "{\"Image\":\"nginx\",\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":\"id\","
              "\"Env\":[\"DB_PASSWORD=hunter2\",\"MODE=x\",\"api_token=t\",\"NOEQUALS\"]}",
              201,
              NULL,
              0,
              NULL,
              -1};
    CU_ASSERT_STRING_EQUAL(rule_of(&ps_dissector_docker, &c, &ev), "docker.containers.create");
    CU_ASSERT_STRING_EQUAL(ev.image, "nginx");
    CU_ASSERT_STRING_EQUAL(ev.command, "/bin/sh -c id");
    CU_ASSERT_STRING_EQUAL(ev.object_name, "web");
    CU_ASSERT_EQUAL(ev.n_env_secrets, 2);
    CU_ASSERT_STRING_EQUAL(ev.env_secrets[0].name, "DB_PASSWORD");
    CU_ASSERT_STRING_EQUAL(ev.env_secrets[0].fp, "hmac-sha256:2d57a263391a10d8");
    CU_ASSERT_STRING_EQUAL(ev.env_secrets[1].name, "api_token");
    CU_ASSERT_EQUAL(ev.outcome, PS_OUTCOME_SUCCEEDED);
    c.status = 404;
    rule_of(&ps_dissector_docker, &c, &ev);
    CU_ASSERT_EQUAL(ev.outcome, PS_OUTCOME_FAILED);
    call pull = {
        "POST", "/v1.50/images/create?fromImage=alpine&tag=3.20", NULL, NULL, 200, NULL, 0, NULL,
        -1};
    rule_of(&ps_dissector_docker, &pull, &ev);
    CU_ASSERT_STRING_EQUAL(ev.image, "alpine:3.20");
    call st = {"POST", "/v1.50/exec/0123abcd/start", NULL, NULL, 101, NULL, 0, NULL, -1};
    rule_of(&ps_dissector_docker, &st, &ev);
    CU_ASSERT_STRING_EQUAL(ev.object_name, "0123abcd");
    CU_ASSERT_EQUAL(ev.outcome, PS_OUTCOME_SUCCEEDED);
    call ar = {"PUT", "/containers/web/archive?path=%2Froot%2F.ssh", NULL, NULL, 200, NULL, 0, NULL,
               -1};
    rule_of(&ps_dissector_docker, &ar, &ev);
    CU_ASSERT_STRING_EQUAL(ev.container, "web");
    CU_ASSERT_STRING_EQUAL(ev.object_name, "/root/.ssh");
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("apis", NULL, NULL);
    CU_add_test(s, "kubelet routes", test_kubelet_routes);
    CU_add_test(s, "kubelet objects", test_kubelet_objects);
    CU_add_test(s, "kubeapi routes", test_kubeapi_routes);
    CU_add_test(s, "kubeapi jenkins silent", test_kubeapi_jenkins_silent);
    CU_add_test(s, "kubeapi objects", test_kubeapi_objects);
    CU_add_test(s, "etcd", test_etcd);
    CU_add_test(s, "docker execution routes", test_docker_exec);
    CU_add_test(s, "docker fields", test_docker_fields);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    int rc = CU_get_number_of_failures() != 0 || CU_get_error();
    CU_cleanup_registry();
    return rc;
}
