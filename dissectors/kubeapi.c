/* kubeapi.c - Kubernetes API server in clear (8080, kubectl proxy 8001): discovery to deployment.
 */
#include <string.h>
#include <strings.h>

#include "apiutil.h"
#include "attack.h"
#include "config.h"
#include "dissector.h"
#include "http_parse.h"
#include "json_fields.h"
#include "urlpath.h"

#define TECH(...)                                                                                  \
    {                                                                                              \
        __VA_ARGS__, NULL                                                                          \
    }
#define RULE(var, nm, ep, sev, ...)                                                                \
    static const ps_rule var = {nm, "kubeapi", ep, TECH(__VA_ARGS__), sev}

RULE(r_version, "kubeapi.version", "/version", PS_SEV_LOW, &ps_t1613, &ps_t1082);
RULE(r_health, "kubeapi.health", "/healthz|/livez|/readyz", PS_SEV_INFO, &ps_t1613);
RULE(r_discovery, "kubeapi.discovery", "/api|/apis|/openapi", PS_SEV_LOW, &ps_t1613);
RULE(r_pods_list, "kubeapi.pods.list", "pods (list)", PS_SEV_MEDIUM, &ps_t1613);
RULE(r_pods_get, "kubeapi.pods.get", "pods/{name}", PS_SEV_MEDIUM, &ps_t1613, &ps_t1552_007);
RULE(r_pods_log, "kubeapi.pods.log", "pods/{name}/log", PS_SEV_MEDIUM, &ps_t1613, &ps_t1654);
RULE(r_nodes, "kubeapi.nodes.list", "nodes", PS_SEV_MEDIUM, &ps_t1613);
RULE(r_namespaces, "kubeapi.namespaces.list", "namespaces", PS_SEV_LOW, &ps_t1613);
RULE(r_services, "kubeapi.services.list", "services|endpoints|ingresses", PS_SEV_LOW, &ps_t1613);
RULE(r_workloads, "kubeapi.workloads.list", "deployments|daemonsets|statefulsets|jobs…",
     PS_SEV_MEDIUM, &ps_t1613);
RULE(r_rbac, "kubeapi.rbac.list", "roles|clusterroles|rolebindings|clusterrolebindings",
     PS_SEV_MEDIUM, &ps_t1613, &ps_t1069);
RULE(r_sa, "kubeapi.serviceaccounts.list", "serviceaccounts", PS_SEV_MEDIUM, &ps_t1613);
RULE(r_other, "kubeapi.resources.list", "{resource}", PS_SEV_LOW, &ps_t1613);
RULE(r_secrets_list, "kubeapi.secrets.list", "secrets", PS_SEV_HIGH, &ps_t1552_007, &ps_t1613);
RULE(r_secrets_get, "kubeapi.secrets.get", "secrets/{name}", PS_SEV_HIGH, &ps_t1552_007, &ps_t1613);
RULE(r_configmaps, "kubeapi.configmaps.read", "configmaps", PS_SEV_MEDIUM, &ps_t1552_007,
     &ps_t1613);
RULE(r_token, "kubeapi.serviceaccounts.token", "serviceaccounts/{name}/token", PS_SEV_HIGH,
     &ps_t1552_007, &ps_t1528);
RULE(r_ssar, "kubeapi.selfsubjectaccessreviews", "selfsubjectaccessreviews", PS_SEV_MEDIUM,
     &ps_t1613, &ps_t1069);
RULE(r_ssrr, "kubeapi.selfsubjectrulesreviews", "selfsubjectrulesreviews", PS_SEV_MEDIUM, &ps_t1613,
     &ps_t1069);
RULE(r_ssr, "kubeapi.selfsubjectreviews", "selfsubjectreviews", PS_SEV_LOW, &ps_t1613, &ps_t1069);
RULE(r_exec, "kubeapi.pods.exec", "pods/{name}/exec", PS_SEV_CRITICAL, &ps_t1609);
RULE(r_attach, "kubeapi.pods.attach", "pods/{name}/attach", PS_SEV_HIGH, &ps_t1609);
RULE(r_pfwd, "kubeapi.pods.portforward", "pods/{name}/portforward", PS_SEV_HIGH, &ps_t1609,
     &ps_t1572);
RULE(r_nproxy, "kubeapi.nodes.proxy", "nodes/{name}/proxy", PS_SEV_HIGH, &ps_t1609, &ps_t1613);
RULE(r_pod_create, "kubeapi.pods.create", "pods (create)", PS_SEV_HIGH, &ps_t1610);
RULE(r_pod_escape, "kubeapi.pods.create_escape", "pods (create)", PS_SEV_CRITICAL, &ps_t1611,
     &ps_t1610);
RULE(r_wl_create, "kubeapi.workloads.create", "deployments|daemonsets|… (create)", PS_SEV_HIGH,
     &ps_t1610);
RULE(r_wl_escape, "kubeapi.workloads.create_escape", "deployments|daemonsets|… (create)",
     PS_SEV_CRITICAL, &ps_t1611, &ps_t1610);

/* Route numbers in tx->app_route. */
enum {
    R_NONE = 0,
    R_VERSION,
    R_HEALTH,
    R_DISCOVERY,
    R_RESOURCE, /* decided from the parsed path in on_done */
};

/* A parsed resource path. */
typedef struct kpath {
    char group[64], version[16], ns[64], resource[48], name[128], sub[32];
    bool collection; /* no name */
} kpath;

static bool seg_is(const ps_path *p, uint32_t i, const char *s)
{
    size_t n = strlen(s);
    return i < p->nseg && p->seg_len[i] == n && memcmp(p->seg[i], s, n) == 0;
}

/* /api/v1/... or /apis/{group}/{version}/...: returns false for anything else. */
static bool parse_resource(const ps_path *p, kpath *k)
{
    memset(k, 0, sizeof(*k));
    uint32_t i;
    if (seg_is(p, 0, "api") && p->nseg >= 3) {
        ps_api_seg(p, 1, k->version, sizeof(k->version));
        i = 2;
    } else if (seg_is(p, 0, "apis") && p->nseg >= 4) {
        ps_api_seg(p, 1, k->group, sizeof(k->group));
        ps_api_seg(p, 2, k->version, sizeof(k->version));
        i = 3;
    } else {
        return false;
    }
    uint32_t n = p->nseg - i;
    if (seg_is(p, i, "namespaces") && n >= 3) {
        ps_api_seg(p, i + 1, k->ns, sizeof(k->ns));
        i += 2;
        n -= 2;
    }
    ps_api_seg(p, i, k->resource, sizeof(k->resource));
    if (n >= 2)
        ps_api_seg(p, i + 1, k->name, sizeof(k->name));
    if (n >= 3)
        ps_api_seg(p, i + 2, k->sub, sizeof(k->sub));
    k->collection = n == 1;
    return true;
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

static const char *const workloads[] = {"deployments",           "daemonsets", "statefulsets",
                                        "replicasets",           "jobs",       "cronjobs",
                                        "replicationcontrollers"};
static const char *const rbac[] = {"roles", "clusterroles", "rolebindings", "clusterrolebindings"};
static const char *const services[] = {"services", "endpoints", "endpointslices", "ingresses"};

static bool is_read(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

/* The rule of a resource call (create rules are refined by the body later);
 * NULL when the call is not one portside reports (updates, deletes). */
static const ps_rule *resource_rule(const char *method, const kpath *k)
{
    bool read = is_read(method), post = strcmp(method, "POST") == 0;
    const char *r = k->resource, *sub = k->sub;
    if (sub[0]) {
        if (strcmp(r, "pods") == 0 && strcmp(sub, "exec") == 0)
            return &r_exec;
        if (strcmp(r, "pods") == 0 && strcmp(sub, "attach") == 0)
            return &r_attach;
        if (strcmp(r, "pods") == 0 && strcmp(sub, "portforward") == 0)
            return &r_pfwd;
        if (strcmp(r, "nodes") == 0 && strcmp(sub, "proxy") == 0)
            return &r_nproxy;
        if (strcmp(r, "serviceaccounts") == 0 && strcmp(sub, "token") == 0 && post)
            return &r_token;
        if (strcmp(r, "pods") == 0 && strcmp(sub, "log") == 0 && read)
            return &r_pods_log;
        return read ? &r_other : NULL;
    }
    if (post) {
        if (strcmp(r, "selfsubjectaccessreviews") == 0)
            return &r_ssar;
        if (strcmp(r, "selfsubjectrulesreviews") == 0)
            return &r_ssrr;
        if (strcmp(r, "selfsubjectreviews") == 0)
            return &r_ssr;
        if (!k->collection)
            return NULL;
        if (strcmp(r, "pods") == 0)
            return &r_pod_create;
        if (in_list(r, workloads, PS_ARRAY_LEN(workloads)))
            return &r_wl_create;
        return NULL;
    }
    if (!read)
        return NULL;
    if (strcmp(r, "secrets") == 0)
        return k->collection ? &r_secrets_list : &r_secrets_get;
    if (strcmp(r, "configmaps") == 0)
        return &r_configmaps;
    if (strcmp(r, "pods") == 0)
        return k->collection ? &r_pods_list : &r_pods_get;
    if (strcmp(r, "nodes") == 0)
        return &r_nodes;
    if (strcmp(r, "namespaces") == 0)
        return &r_namespaces;
    if (strcmp(r, "serviceaccounts") == 0)
        return &r_sa;
    if (in_list(r, services, PS_ARRAY_LEN(services)))
        return &r_services;
    if (in_list(r, workloads, PS_ARRAY_LEN(workloads)))
        return &r_workloads;
    if (in_list(r, rbac, PS_ARRAY_LEN(rbac)))
        return &r_rbac;
    return &r_other;
}

static uint32_t classify(const ps_http_tx *tx, ps_path *p)
{
    ps_path_normalize(tx->url, strnlen(tx->url, sizeof(tx->url)), p);
    bool read = is_read(tx->method);
    if (read && seg_is(p, 0, "version") && p->nseg == 1)
        return R_VERSION;
    if (read && (seg_is(p, 0, "healthz") || seg_is(p, 0, "livez") || seg_is(p, 0, "readyz")))
        return R_HEALTH;
    /* /api/{version} takes a "v1"-like version: "/api/json" is Jenkins'. */
    bool api_version = p->nseg == 2 && p->seg_len[1] >= 2 && p->seg[1][0] == 'v' &&
                       p->seg[1][1] >= '1' && p->seg[1][1] <= '9';
    if (read && ((seg_is(p, 0, "api") && (p->nseg == 1 || api_version)) ||
                 (seg_is(p, 0, "apis") && p->nseg <= 3) || seg_is(p, 0, "openapi")))
        return R_DISCOVERY;
    kpath k;
    if (parse_resource(p, &k) && resource_rule(tx->method, &k))
        return R_RESOURCE;
    return R_NONE;
}

static int kubeapi_probe_request(const ps_http_tx *tx, uint16_t server_port,
                                 const struct ps_config *cfg)
{
    (void)tx;
    return ps_port_set_has(&cfg->kubeapi_ports, server_port) ? PS_PROBE_YES : PS_PROBE_NO;
}

/* kube-apiserver marks every answer with Audit-Id (and, with API priority
 * and fairness, X-Kubernetes-Pf-*): claims the server on any port. */
static int kubeapi_probe_response(const ps_http_tx *tx)
{
    return (tx->resp_hdrs & (PS_HTTP_RH_AUDIT_ID | PS_HTTP_RH_K8S_PF)) ? PS_PROBE_YES : PS_PROBE_NO;
}

/* kubectl asks for server-side tables ("as=Table"): their rows are the items. */
static bool wants_table(const ps_http_tx *tx)
{
    const ps_http_head *h = tx->req_head;
    for (uint32_t i = 0; h && i < h->num_hdrs; i++) {
        const ps_http_hdr *x = &h->hdrs[i];
        if (!ps_http_hdr_is(x, "accept"))
            continue;
        for (uint32_t j = 0; j + 8 <= x->value_len; j++)
            if (memcmp(x->value + j, "as=Table", 8) == 0)
                return true;
    }
    return false;
}

static void kubeapi_on_request(ps_http_tx *tx)
{
    ps_path p;
    uint32_t r = classify(tx, &p);
    tx->app_route = r;
    if (r == R_NONE)
        return;
    /* The answer decides whether this is Kubernetes at all (kind/apiVersion). */
    tx->app_flags |= PS_HTTP_WANT_RESP_BODY;
    if (r != R_RESOURCE)
        return;
    kpath k;
    parse_resource(&p, &k);
    if (strcmp(tx->method, "POST") == 0)
        tx->app_flags |= PS_HTTP_WANT_REQ_BODY;
    char w[8];
    bool watch = ps_path_query_param(&p, "watch", w, sizeof(w)) >= 0 &&
                 (strcmp(w, "true") == 0 || strcmp(w, "1") == 0);
    if (is_read(tx->method) && k.collection && !watch) {
        tx->count_mode = PS_COUNT_KEY;
        strcpy(tx->count_key, wants_table(tx) ? "rows" : "items");
    }
}

/* ---- evidence that the server is Kubernetes ---- */

typedef struct top_fields {
    bool kind, api_version, git_version, major;
    char kind_val[48];
    int allowed; /* status.allowed of a review: 1, 0, -1 */
} top_fields;

static void top_cb(void *ctx, const ps_jf_value *v)
{
    top_fields *t = ctx;
    if (ps_jf_path_is(v, "kind", false) && v->type == PS_JF_STRING) {
        t->kind = true;
        ps_jf_unescape(v->raw, v->raw_len, t->kind_val, sizeof(t->kind_val));
    } else if (ps_jf_path_is(v, "apiVersion", false) && v->type == PS_JF_STRING) {
        t->api_version = true;
    } else if (ps_jf_path_is(v, "gitVersion", false) && v->type == PS_JF_STRING) {
        t->git_version = true;
    } else if (ps_jf_path_is(v, "major", false) && v->type == PS_JF_STRING) {
        t->major = true;
    } else if (ps_jf_path_is(v, "status.allowed", false)) {
        t->allowed = v->type == PS_JF_TRUE ? 1 : v->type == PS_JF_FALSE ? 0 : -1;
    }
}

/* Response body evidence: a typed object ("kind" with "apiVersion"; the
 * legacy /api answer "APIVersions" has no apiVersion), or /version's
 * gitVersion + major. Jenkins' /api/json ("_class") and other web apps'
 * /version answers have neither. */
static bool body_is_k8s(const top_fields *t)
{
    if (t->kind && (t->api_version || strcmp(t->kind_val, "APIVersions") == 0))
        return true;
    return t->git_version && t->major;
}

static bool client_is_k8s(const char *ua)
{
    return strncmp(ua, "kubectl/", 8) == 0 || strstr(ua, ") kubernetes/") != NULL;
}

/* ---- request bodies of creates ---- */

typedef struct create_fields {
    ps_event *ev;
    bool escape;
    uint32_t containers; /* containers[] elements opened so far */
} create_fields;

/* Strips the controller wrappers so the rest is a pod spec path ("spec.…"). */
static const char *pod_path(const ps_jf_value *v)
{
    static const char *const prefixes[] = {"spec.jobTemplate.spec.template.", "spec.template.", ""};
    if (v->path_cut)
        return NULL;
    for (size_t i = 0; i < PS_ARRAY_LEN(prefixes); i++) {
        size_t n = strlen(prefixes[i]);
        if (v->path_len >= n + 5 && memcmp(v->path, prefixes[i], n) == 0 &&
            memcmp(v->path + n, "spec.", 5) == 0)
            return v->path + n + 5;
    }
    return NULL;
}

static bool is_container_key(const char *p, const char *suffix)
{
    static const char *const lists[] = {"containers[].", "initContainers[].",
                                        "ephemeralContainers[]."};
    for (size_t i = 0; i < PS_ARRAY_LEN(lists); i++) {
        size_t n = strlen(lists[i]);
        if (strncmp(p, lists[i], n) == 0 && strcmp(p + n, suffix) == 0)
            return true;
    }
    return false;
}

static void add_escape(create_fields *c, const char *what)
{
    c->escape = true;
    ps_api_list_add(c->ev->escape, sizeof(c->ev->escape), what);
}

static void append_word(char *buf, size_t cap, const char *w)
{
    size_t have = strnlen(buf, cap);
    if (have && have + 1 < cap)
        buf[have++] = ' ';
    ps_api_copy(buf + have, cap - have, w, strlen(w));
}

static void create_cb(void *ctx, const ps_jf_value *v)
{
    create_fields *c = ctx;
    char val[256];
    if (v->type == PS_JF_STRING)
        ps_jf_unescape(v->raw, v->raw_len, val, sizeof(val));
    else
        val[0] = '\0';
    if (ps_jf_path_is(v, "metadata.name", false) && v->type == PS_JF_STRING) {
        ps_api_copy(c->ev->object_name, sizeof(c->ev->object_name), val, strlen(val));
        return;
    }
    const char *p = pod_path(v);
    if (!p)
        return;
    if (v->type == PS_JF_OBJECT && strcmp(p, "containers[]") == 0)
        c->containers++;
    bool first = c->containers == 1; /* image and command of the first container */
    if (v->type == PS_JF_TRUE &&
        (strcmp(p, "hostPID") == 0 || strcmp(p, "hostNetwork") == 0 || strcmp(p, "hostIPC") == 0)) {
        add_escape(c, p);
    } else if (v->type == PS_JF_STRING && strcmp(p, "volumes[].hostPath.path") == 0) {
        char what[80];
        ps_api_copy(what, sizeof(what), "hostPath:", 9);
        ps_api_copy(what + 9, sizeof(what) - 9, val, strlen(val));
        if (ps_api_sensitive_host_path(val))
            add_escape(c, what);
    } else if (v->type == PS_JF_TRUE && is_container_key(p, "securityContext.privileged")) {
        add_escape(c, "privileged");
    } else if (v->type == PS_JF_STRING &&
               is_container_key(p, "securityContext.capabilities.add[]") &&
               ps_api_dangerous_cap(val)) {
        char what[64] = "cap:";
        ps_api_copy(what + 4, sizeof(what) - 4, val, strlen(val));
        add_escape(c, what);
    } else if (v->type == PS_JF_STRING && strcmp(p, "containers[].image") == 0 && first) {
        ps_api_copy(c->ev->image, sizeof(c->ev->image), val, strlen(val));
    } else if (v->type == PS_JF_STRING && first &&
               (strcmp(p, "containers[].command[]") == 0 ||
                strcmp(p, "containers[].args[]") == 0)) {
        append_word(c->ev->command, sizeof(c->ev->command), val);
    }
}

static bool kubeapi_on_done(const ps_http_tx *tx, ps_event *ev)
{
    uint32_t r = tx->app_route;
    if (r == R_NONE || r > R_RESOURCE)
        return false;
    top_fields t;
    memset(&t, 0, sizeof(t));
    t.allowed = -1;
    if (tx->resp_body.data)
        ps_jf_walk(tx->resp_body.data, tx->resp_body.len, 2, top_cb, &t);
    bool k8s = (tx->resp_hdrs & (PS_HTTP_RH_AUDIT_ID | PS_HTTP_RH_K8S_PF)) || body_is_k8s(&t) ||
               client_is_k8s(tx->user_agent);
    if (!k8s)
        return false; /* an ordinary web application on 8080 (Jenkins /api/json...) */
    ps_path p;
    ps_path_normalize(tx->url, strnlen(tx->url, sizeof(tx->url)), &p);
    if (r == R_VERSION) {
        ps_api_fill(tx, &r_version, ev);
        return true;
    }
    if (r == R_HEALTH) {
        ps_api_fill(tx, &r_health, ev);
        return true;
    }
    if (r == R_DISCOVERY) {
        ps_api_fill(tx, &r_discovery, ev);
        return true;
    }
    kpath k;
    if (!parse_resource(&p, &k))
        return false;
    const ps_rule *rule = resource_rule(tx->method, &k);
    if (!rule)
        return false;
    ps_api_fill(tx, rule, ev);
    ps_api_copy(ev->k8s_namespace, sizeof(ev->k8s_namespace), k.ns, strlen(k.ns));
    ps_api_copy(ev->resource, sizeof(ev->resource), k.resource, strlen(k.resource));
    ps_api_copy(ev->subresource, sizeof(ev->subresource), k.sub, strlen(k.sub));
    ps_api_copy(ev->object_name, sizeof(ev->object_name), k.name, strlen(k.name));
    if (strcmp(k.resource, "pods") == 0)
        ps_api_copy(ev->pod, sizeof(ev->pod), k.name, strlen(k.name));
    bool read = is_read(tx->method);
    char w[8];
    bool watch = ps_path_query_param(&p, "watch", w, sizeof(w)) >= 0 &&
                 (strcmp(w, "true") == 0 || strcmp(w, "1") == 0);
    const char *verb = k.sub[0]               ? (read ? "get" : "create")
                       : read && watch        ? "watch"
                       : read && k.collection ? "list"
                       : read                 ? "get"
                                              : "create";
    ps_api_copy(ev->verb, sizeof(ev->verb), verb, strlen(verb));
    if (rule == &r_exec || rule == &r_attach) {
        ps_api_form_value(p.query, p.query ? p.query_len : 0, "command", ' ', ev->command,
                          sizeof(ev->command));
        ps_path_query_param(&p, "container", ev->container, sizeof(ev->container));
    }
    if (rule == &r_ssar)
        ev->allowed = (int8_t)t.allowed;
    if (rule == &r_pod_create || rule == &r_wl_create) {
        create_fields c;
        memset(&c, 0, sizeof(c));
        c.ev = ev;
        if (tx->req_body.data)
            ps_jf_walk(tx->req_body.data, tx->req_body.len, PS_JF_MAX_DEPTH, create_cb, &c);
        if (c.escape)
            ev->rule = rule == &r_pod_create ? &r_pod_escape : &r_wl_escape;
        if (rule == &r_pod_create && ev->object_name[0])
            ps_api_copy(ev->pod, sizeof(ev->pod), ev->object_name, strlen(ev->object_name));
    }
    if (tx->count_mode == PS_COUNT_KEY && ev->outcome == PS_OUTCOME_SUCCEEDED && !tx->json_invalid)
        ev->objects = tx->json_items;
    return true;
}

const ps_app_dissector ps_dissector_kubeapi = {
    .name = "kubeapi",
    .probe_request = kubeapi_probe_request,
    .probe_response = kubeapi_probe_response,
    .on_request = kubeapi_on_request,
    .on_done = kubeapi_on_done,
};
