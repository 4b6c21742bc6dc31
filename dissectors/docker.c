/* docker.c - Docker Engine API: which calls are container discovery, graded by the daemon's answer.
 */
#include <string.h>
#include <strings.h>

#include "apiutil.h"
#include "attack.h"
#include "config.h"
#include "dissector.h"
#include "json_fields.h"
#include "secrets.h"
#include "urlpath.h"

#define M_GET  0x1u
#define M_HEAD 0x2u
#define M_READ (M_GET | M_HEAD)
#define M_POST 0x4u
#define M_PUT  0x8u

/* Techniques of each rule: primary first. */
#define TECH(...)                                                                                  \
    {                                                                                              \
        __VA_ARGS__, NULL                                                                          \
    }

#define RULE(var, nm, ep, sev, ...)                                                                \
    static const ps_rule var = {nm, "docker", ep, TECH(__VA_ARGS__), sev}

RULE(r_ping, "docker.ping", "/_ping", PS_SEV_LOW, &ps_t1613);
RULE(r_version, "docker.version", "/version", PS_SEV_LOW, &ps_t1613, &ps_t1082);
RULE(r_info, "docker.info", "/info", PS_SEV_MEDIUM, &ps_t1613, &ps_t1082);
RULE(r_cont_list, "docker.containers.list", "/containers/json", PS_SEV_MEDIUM, &ps_t1613);
RULE(r_cont_inspect, "docker.containers.inspect", "/containers/{id}/json", PS_SEV_HIGH, &ps_t1613,
     &ps_t1552_007);
RULE(r_cont_top, "docker.containers.top", "/containers/{id}/top", PS_SEV_MEDIUM, &ps_t1613);
RULE(r_cont_logs, "docker.containers.logs", "/containers/{id}/logs", PS_SEV_MEDIUM, &ps_t1613,
     &ps_t1654);
RULE(r_cont_stats, "docker.containers.stats", "/containers/{id}/stats", PS_SEV_MEDIUM, &ps_t1613);
RULE(r_cont_changes, "docker.containers.changes", "/containers/{id}/changes", PS_SEV_MEDIUM,
     &ps_t1613);
RULE(r_cont_export, "docker.containers.export", "/containers/{id}/export", PS_SEV_HIGH, &ps_t1613,
     &ps_t1005);
RULE(r_cont_archive, "docker.containers.archive", "/containers/{id}/archive", PS_SEV_HIGH,
     &ps_t1613, &ps_t1005);
RULE(r_img_list, "docker.images.list", "/images/json", PS_SEV_LOW, &ps_t1613);
RULE(r_img_inspect, "docker.images.inspect", "/images/{name}/json", PS_SEV_LOW, &ps_t1613);
RULE(r_img_history, "docker.images.history", "/images/{name}/history", PS_SEV_MEDIUM, &ps_t1613,
     &ps_t1552_007);
RULE(r_img_get, "docker.images.get", "/images/{name}/get", PS_SEV_HIGH, &ps_t1613, &ps_t1005);
RULE(r_net_list, "docker.networks.list", "/networks", PS_SEV_LOW, &ps_t1613);
RULE(r_net_inspect, "docker.networks.inspect", "/networks/{id}", PS_SEV_LOW, &ps_t1613);
RULE(r_vol_list, "docker.volumes.list", "/volumes", PS_SEV_LOW, &ps_t1613);
RULE(r_vol_inspect, "docker.volumes.inspect", "/volumes/{name}", PS_SEV_LOW, &ps_t1613);
RULE(r_df, "docker.system.df", "/system/df", PS_SEV_LOW, &ps_t1613);
RULE(r_events, "docker.events", "/events", PS_SEV_MEDIUM, &ps_t1613);
RULE(r_swarm, "docker.swarm.inspect", "/swarm", PS_SEV_HIGH, &ps_t1613, &ps_t1552_007);
RULE(r_unlockkey, "docker.swarm.unlockkey", "/swarm/unlockkey", PS_SEV_HIGH, &ps_t1613,
     &ps_t1552_007);
RULE(r_nodes_list, "docker.nodes.list", "/nodes", PS_SEV_MEDIUM, &ps_t1613);
RULE(r_nodes_inspect, "docker.nodes.inspect", "/nodes/{id}", PS_SEV_MEDIUM, &ps_t1613);
RULE(r_svc_list, "docker.services.list", "/services", PS_SEV_MEDIUM, &ps_t1613);
RULE(r_svc_inspect, "docker.services.inspect", "/services/{id}", PS_SEV_MEDIUM, &ps_t1613);
RULE(r_svc_logs, "docker.services.logs", "/services/{id}/logs", PS_SEV_MEDIUM, &ps_t1613,
     &ps_t1654);
RULE(r_tasks_list, "docker.tasks.list", "/tasks", PS_SEV_MEDIUM, &ps_t1613);
RULE(r_tasks_inspect, "docker.tasks.inspect", "/tasks/{id}", PS_SEV_MEDIUM, &ps_t1613);
RULE(r_secrets_list, "docker.secrets.list", "/secrets", PS_SEV_MEDIUM, &ps_t1613);
RULE(r_secrets_inspect, "docker.secrets.inspect", "/secrets/{id}", PS_SEV_MEDIUM, &ps_t1613);
RULE(r_configs_list, "docker.configs.list", "/configs", PS_SEV_HIGH, &ps_t1613, &ps_t1552_007);
RULE(r_configs_inspect, "docker.configs.inspect", "/configs/{id}", PS_SEV_HIGH, &ps_t1613,
     &ps_t1552_007);
RULE(r_plugins_list, "docker.plugins.list", "/plugins", PS_SEV_LOW, &ps_t1613);
RULE(r_plugins_inspect, "docker.plugins.inspect", "/plugins/{name}/json", PS_SEV_LOW, &ps_t1613);
RULE(r_distribution, "docker.distribution.inspect", "/distribution/{name}/json", PS_SEV_LOW,
     &ps_t1613);
RULE(r_debug, "docker.debug", "/debug/{*}", PS_SEV_MEDIUM, &ps_t1613, &ps_t1082);
RULE(r_create, "docker.containers.create", "/containers/create", PS_SEV_HIGH, &ps_t1610);
RULE(r_create_escape, "docker.containers.create_escape", "/containers/create", PS_SEV_CRITICAL,
     &ps_t1611, &ps_t1610);
RULE(r_start, "docker.containers.start", "/containers/{id}/start", PS_SEV_HIGH, &ps_t1610);
RULE(r_exec_create, "docker.exec.create", "/containers/{id}/exec", PS_SEV_HIGH, &ps_t1609);
RULE(r_exec_start, "docker.exec.start", "/exec/{id}/start", PS_SEV_HIGH, &ps_t1609);
RULE(r_attach, "docker.containers.attach", "/containers/{id}/attach", PS_SEV_HIGH, &ps_t1609);
RULE(r_archive_put, "docker.containers.archive_put", "/containers/{id}/archive", PS_SEV_HIGH,
     &ps_t1105);
RULE(r_pull, "docker.images.pull", "/images/create", PS_SEV_MEDIUM, &ps_t1610, &ps_t1105);
RULE(r_import, "docker.images.import", "/images/create?fromSrc=", PS_SEV_HIGH, &ps_t1105,
     &ps_t1612);
RULE(r_load, "docker.images.load", "/images/load", PS_SEV_MEDIUM, &ps_t1105, &ps_t1612);
RULE(r_build, "docker.build", "/build", PS_SEV_MEDIUM, &ps_t1612);
RULE(r_build_remote, "docker.build.remote", "/build?remote=", PS_SEV_HIGH, &ps_t1612, &ps_t1105);

/* One route: methods, path pattern after the optional /vN.NN prefix, rule,
 * and how a list answer is counted. Order matters: first match wins.
 * Execution and deployment routes (create, exec, start...) join this table
 * with their own methods. */
typedef struct route {
    uint32_t methods;
    const char *pattern;
    const ps_rule *rule;
    uint8_t count_mode;
    const char *count_key;
    uint8_t kind; /* K_*: what on_done extracts */
} route;

enum { K_NONE = 0, K_CREATE, K_CONTAINER, K_EXEC_CREATE, K_EXEC, K_ARCHIVE, K_PULL, K_BUILD };

static const route routes[] = {
    {M_POST, "/containers/create", &r_create, PS_COUNT_NONE, NULL, K_CREATE},
    {M_POST, "/containers/{}/start", &r_start, PS_COUNT_NONE, NULL, K_CONTAINER},
    {M_POST, "/containers/{}/exec", &r_exec_create, PS_COUNT_NONE, NULL, K_EXEC_CREATE},
    {M_POST, "/exec/{}/start", &r_exec_start, PS_COUNT_NONE, NULL, K_EXEC},
    {M_POST, "/containers/{}/attach", &r_attach, PS_COUNT_NONE, NULL, K_CONTAINER},
    {M_GET, "/containers/{}/attach/ws", &r_attach, PS_COUNT_NONE, NULL, K_CONTAINER},
    {M_PUT, "/containers/{}/archive", &r_archive_put, PS_COUNT_NONE, NULL, K_ARCHIVE},
    {M_POST, "/images/create", &r_pull, PS_COUNT_NONE, NULL, K_PULL},
    {M_POST, "/images/load", &r_load, PS_COUNT_NONE, NULL, K_NONE},
    {M_POST, "/build", &r_build, PS_COUNT_NONE, NULL, K_BUILD},
    {M_READ, "/_ping", &r_ping, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/version", &r_version, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/info", &r_info, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/containers/json", &r_cont_list, PS_COUNT_ARRAY, NULL, K_NONE},
    {M_READ, "/containers/{}/json", &r_cont_inspect, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/containers/{}/top", &r_cont_top, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/containers/{}/logs", &r_cont_logs, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/containers/{}/stats", &r_cont_stats, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/containers/{}/changes", &r_cont_changes, PS_COUNT_ARRAY, NULL, K_NONE},
    {M_READ, "/containers/{}/export", &r_cont_export, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/containers/{}/archive", &r_cont_archive, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/images/json", &r_img_list, PS_COUNT_ARRAY, NULL, K_NONE},
    {M_READ, "/images/get", &r_img_get, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/images/{*}/json", &r_img_inspect, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/images/{*}/history", &r_img_history, PS_COUNT_ARRAY, NULL, K_NONE},
    {M_READ, "/images/{*}/get", &r_img_get, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/networks", &r_net_list, PS_COUNT_ARRAY, NULL, K_NONE},
    {M_READ, "/networks/{}", &r_net_inspect, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/volumes", &r_vol_list, PS_COUNT_KEY, "Volumes", K_NONE},
    {M_READ, "/volumes/{*}", &r_vol_inspect, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/system/df", &r_df, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/events", &r_events, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/swarm", &r_swarm, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/swarm/unlockkey", &r_unlockkey, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/nodes", &r_nodes_list, PS_COUNT_ARRAY, NULL, K_NONE},
    {M_READ, "/nodes/{}", &r_nodes_inspect, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/services", &r_svc_list, PS_COUNT_ARRAY, NULL, K_NONE},
    {M_READ, "/services/{}", &r_svc_inspect, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/services/{}/logs", &r_svc_logs, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/tasks", &r_tasks_list, PS_COUNT_ARRAY, NULL, K_NONE},
    {M_READ, "/tasks/{}", &r_tasks_inspect, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/secrets", &r_secrets_list, PS_COUNT_ARRAY, NULL, K_NONE},
    {M_READ, "/secrets/{}", &r_secrets_inspect, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/configs", &r_configs_list, PS_COUNT_ARRAY, NULL, K_NONE},
    {M_READ, "/configs/{}", &r_configs_inspect, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/plugins", &r_plugins_list, PS_COUNT_ARRAY, NULL, K_NONE},
    {M_READ, "/plugins/{*}/json", &r_plugins_inspect, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/distribution/{*}/json", &r_distribution, PS_COUNT_NONE, NULL, K_NONE},
    {M_READ, "/debug/{*}", &r_debug, PS_COUNT_NONE, NULL, K_NONE},
};

/* Route number stored in tx->app_route: index + 1; 0 = no route. */
#define ROUTE_NONE 0u

static uint32_t method_bit(const char *m)
{
    /* Go's ServeMux and gorilla/mux compare methods case-sensitively. */
    if (strcmp(m, "GET") == 0)
        return M_GET;
    if (strcmp(m, "HEAD") == 0)
        return M_HEAD;
    if (strcmp(m, "POST") == 0)
        return M_POST;
    if (strcmp(m, "PUT") == 0)
        return M_PUT;
    return 0x80000000u;
}

/* True when segment 0 is Docker's version prefix: "v" then digits and dots. */
static bool version_segment(const ps_path *p)
{
    if (p->nseg == 0 || p->seg_len[0] < 2 || p->seg[0][0] != 'v')
        return false;
    for (size_t i = 1; i < p->seg_len[0]; i++) {
        char c = p->seg[0][i];
        if (!((c >= '0' && c <= '9') || c == '.'))
            return false;
    }
    return true;
}

static uint32_t find_route(const ps_http_tx *tx, ps_path *p)
{
    ps_path_normalize(tx->url, strnlen(tx->url, sizeof(tx->url)), p);
    uint32_t first = version_segment(p) ? 1u : 0u;
    uint32_t mbit = method_bit(tx->method);
    for (size_t i = 0; i < PS_ARRAY_LEN(routes); i++) {
        if (!(routes[i].methods & mbit))
            continue;
        if (ps_path_match(p, first, routes[i].pattern))
            return (uint32_t)i + 1u;
    }
    return ROUTE_NONE;
}

static int docker_probe_request(const ps_http_tx *tx, uint16_t server_port,
                                const struct ps_config *cfg)
{
    (void)tx;
    return ps_port_set_has(&cfg->docker_ports, server_port) ? PS_PROBE_YES : PS_PROBE_NO;
}

/* The daemon's signature: Server: Docker/..., or its Api-Version and Ostype
 * headers (present on every answer of a real dockerd). */
static int docker_probe_response(const ps_http_tx *tx)
{
    if (strncasecmp(tx->server, "Docker/", 7) == 0)
        return PS_PROBE_YES;
    if (tx->has_api_version && tx->has_ostype)
        return PS_PROBE_YES;
    return PS_PROBE_NO;
}

static void docker_on_request(ps_http_tx *tx)
{
    ps_path p;
    uint32_t r = find_route(tx, &p);
    tx->app_route = r;
    if (r != ROUTE_NONE && (routes[r - 1].kind == K_CREATE || routes[r - 1].kind == K_EXEC_CREATE))
        tx->app_flags |= PS_HTTP_WANT_REQ_BODY; /* the container's config: escape settings */
    if (r != ROUTE_NONE && routes[r - 1].count_mode != PS_COUNT_NONE) {
        tx->count_mode = routes[r - 1].count_mode;
        if (routes[r - 1].count_key) {
            strncpy(tx->count_key, routes[r - 1].count_key, sizeof(tx->count_key) - 1);
            tx->count_key[sizeof(tx->count_key) - 1] = '\0';
        }
    }
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static uint8_t grade(uint16_t status)
{
    if (status == 0)
        return PS_OUTCOME_UNKNOWN;
    if ((status >= 200 && status < 300) || status == 101) /* 101: stream hijacked, granted */
        return PS_OUTCOME_SUCCEEDED;
    if (status == 401 || status == 403)
        return PS_OUTCOME_DENIED;
    return PS_OUTCOME_FAILED;
}

/* ---- execution, deployment and escape ---- */

typedef struct body_fields {
    ps_event *ev;
    bool escape, exec;
    bool have_entry; /* Entrypoint words written before Cmd */
    char entry[PS_EV_CMD_MAX], cmd[PS_EV_CMD_MAX];
} body_fields;

static void append_word(char *buf, size_t cap, const char *w)
{
    size_t have = strnlen(buf, cap);
    if (have && have + 1 < cap)
        buf[have++] = ' ';
    ps_api_copy(buf + have, cap - have, w, strlen(w));
}

/* "prefix" + value, cut to fit. */
static void labeled(char *out, size_t cap, const char *prefix, const char *val)
{
    size_t n = strlen(prefix);
    ps_api_copy(out, cap, prefix, n);
    if (n < cap)
        ps_api_copy(out + n, cap - n, val, strlen(val));
}

static void add_escape(body_fields *b, const char *what, bool top_level)
{
    b->escape = true;
    ps_api_list_add(b->ev->escape, sizeof(b->ev->escape), what);
    if (top_level)
        b->ev->flags |= PS_EVF_TOP_LEVEL_HOSTCFG;
}

/* Variable names whose values are secrets: fingerprinted, never written. */
static bool secret_name(const char *name, size_t n)
{
    static const char *const words[] = {"PASS", "TOKEN", "SECRET", "KEY", "CRED", "AUTH", "PWD"};
    for (size_t w = 0; w < PS_ARRAY_LEN(words); w++) {
        size_t wl = strlen(words[w]);
        for (size_t i = 0; i + wl <= n; i++)
            if (strncasecmp(name + i, words[w], wl) == 0)
                return true;
    }
    return false;
}

static void env_entry(body_fields *b, const char *e)
{
    const char *eq = strchr(e, '=');
    if (!eq || b->ev->n_env_secrets >= PS_EV_ENV_SECRETS)
        return;
    size_t n = (size_t)(eq - e);
    if (!secret_name(e, n))
        return;
    uint8_t i = b->ev->n_env_secrets++;
    ps_api_copy(b->ev->env_secrets[i].name, sizeof(b->ev->env_secrets[i].name), e, n);
    ps_secret_fingerprint((const uint8_t *)eq + 1, strlen(eq + 1), b->ev->env_secrets[i].fp,
                          sizeof(b->ev->env_secrets[i].fp));
}

/* A host setting, under HostConfig or (engines <= 26 honour it) at the top. */
static bool host_key(const ps_jf_value *v, const char *key, bool *top)
{
    char full[64] = "HostConfig.";
    ps_api_copy(full + 11, sizeof(full) - 11, key, strlen(key));
    if (ps_jf_path_is(v, full, true)) {
        *top = false;
        return true;
    }
    if (ps_jf_path_is(v, key, true)) {
        *top = true;
        return true;
    }
    return false;
}

static void body_cb(void *ctx, const ps_jf_value *v)
{
    body_fields *b = ctx;
    char val[PS_EV_CMD_MAX], what[96];
    bool top = false;
    if (v->type == PS_JF_STRING)
        ps_jf_unescape(v->raw, v->raw_len, val, sizeof(val));
    else
        val[0] = '\0';
    /* Go's encoding/json matches field names case-insensitively. */
    if (v->type == PS_JF_STRING &&
        (ps_jf_path_is(v, "Cmd", true) || ps_jf_path_is(v, "Cmd[]", true)))
        append_word(b->cmd, sizeof(b->cmd), val);
    else if (v->type == PS_JF_STRING &&
             (ps_jf_path_is(v, "Entrypoint", true) || ps_jf_path_is(v, "Entrypoint[]", true)))
        append_word(b->entry, sizeof(b->entry), val);
    else if (v->type == PS_JF_STRING && ps_jf_path_is(v, "Image", true) && !b->exec)
        ps_api_copy(b->ev->image, sizeof(b->ev->image), val, strlen(val));
    else if (v->type == PS_JF_STRING && ps_jf_path_is(v, "Env[]", true) && !b->exec)
        env_entry(b, val);
    else if (v->type == PS_JF_TRUE &&
             (b->exec ? ps_jf_path_is(v, "Privileged", true) : host_key(v, "Privileged", &top)))
        add_escape(b, "privileged", top);
    else if (b->exec)
        return;
    else if (v->type == PS_JF_STRING && host_key(v, "Binds[]", &top)) {
        char src[PS_EV_CMD_MAX];
        const char *colon = strchr(val, ':');
        ps_api_copy(src, sizeof(src), val, colon ? (size_t)(colon - val) : strlen(val));
        if (ps_api_sensitive_host_path(src)) {
            labeled(what, sizeof(what), "bind:", src);
            add_escape(b, what, top);
        }
    } else if (v->type == PS_JF_STRING && host_key(v, "Mounts[].Source", &top) &&
               ps_api_sensitive_host_path(val)) {
        labeled(what, sizeof(what), "mount:", val);
        add_escape(b, what, top);
    } else if (v->type == PS_JF_STRING && strcasecmp(val, "host") == 0 &&
               (host_key(v, "PidMode", &top) || host_key(v, "NetworkMode", &top) ||
                host_key(v, "IpcMode", &top) || host_key(v, "UTSMode", &top) ||
                host_key(v, "UsernsMode", &top) || host_key(v, "CgroupnsMode", &top))) {
        /* "PidMode" -> "pid:host", whatever case the body used. */
        const char *k = strrchr(v->path, '.');
        k = k ? k + 1 : v->path;
        size_t n = strlen(k) > 4 ? strlen(k) - 4 : strlen(k);
        char name[16];
        for (size_t i = 0; i < n && i + 1 < sizeof(name); i++)
            name[i] = (char)(k[i] >= 'A' && k[i] <= 'Z' ? k[i] + 32 : k[i]);
        name[n < sizeof(name) ? n : sizeof(name) - 1] = '\0';
        labeled(what, sizeof(what), name, ":host");
        add_escape(b, what, top);
    } else if (v->type == PS_JF_STRING && host_key(v, "CapAdd[]", &top) &&
               ps_api_dangerous_cap(val)) {
        labeled(what, sizeof(what), "cap:", val);
        add_escape(b, what, top);
    } else if (v->type == PS_JF_STRING && host_key(v, "SecurityOpt[]", &top) &&
               (strstr(val, "unconfined") || strstr(val, "label=disable") ||
                strstr(val, "label:disable"))) {
        labeled(what, sizeof(what), "securityopt:", val);
        add_escape(b, what, top);
    } else if (v->type == PS_JF_STRING && host_key(v, "Devices[].PathOnHost", &top)) {
        labeled(what, sizeof(what), "device:", val);
        add_escape(b, what, top);
    }
}

static void query_value(const ps_path *p, const char *name, char *out, size_t cap)
{
    ps_api_form_value(p->query, p->query ? p->query_len : 0, name, 0, out, cap);
}

static void execution_details(const ps_http_tx *tx, const route *rt, const ps_path *p, ps_event *ev)
{
    uint32_t first = version_segment(p) ? 1u : 0u;
    switch (rt->kind) {
    case K_CONTAINER:
    case K_EXEC_CREATE:
    case K_ARCHIVE:
        ps_api_seg(p, first + 1, ev->container, sizeof(ev->container));
        break;
    case K_EXEC:
        ps_api_seg(p, first + 1, ev->object_name, sizeof(ev->object_name)); /* exec id */
        break;
    default:
        break;
    }
    if (rt->kind == K_ARCHIVE)
        query_value(p, "path", ev->object_name, sizeof(ev->object_name));
    if (rt->kind == K_CREATE)
        query_value(p, "name", ev->object_name, sizeof(ev->object_name));
    if (rt->kind == K_PULL) {
        char src[128];
        query_value(p, "fromSrc", src, sizeof(src));
        if (src[0]) {
            ev->rule = &r_import;
            ps_api_copy(ev->image, sizeof(ev->image), src, strlen(src));
        } else {
            char tag[64];
            query_value(p, "fromImage", ev->image, sizeof(ev->image));
            query_value(p, "tag", tag, sizeof(tag));
            if (tag[0] && ev->image[0] && !strchr(ev->image, ':')) {
                size_t n = strlen(ev->image);
                if (n + 1 < sizeof(ev->image)) {
                    ev->image[n] = ':';
                    ps_api_copy(ev->image + n + 1, sizeof(ev->image) - n - 1, tag, strlen(tag));
                }
            }
        }
    }
    if (rt->kind == K_BUILD) {
        query_value(p, "remote", ev->image, sizeof(ev->image));
        if (ev->image[0])
            ev->rule = &r_build_remote;
    }
    if ((rt->kind == K_CREATE || rt->kind == K_EXEC_CREATE) && tx->req_body.data) {
        body_fields b;
        memset(&b, 0, sizeof(b));
        b.ev = ev;
        b.exec = rt->kind == K_EXEC_CREATE;
        ps_jf_walk(tx->req_body.data, tx->req_body.len, PS_JF_MAX_DEPTH, body_cb, &b);
        ps_api_copy(ev->command, sizeof(ev->command), b.entry, strlen(b.entry));
        if (b.cmd[0])
            append_word(ev->command, sizeof(ev->command), b.cmd);
        if (b.escape && rt->kind == K_CREATE)
            ev->rule = &r_create_escape;
    }
}

static bool docker_on_done(const ps_http_tx *tx, ps_event *ev)
{
    if (tx->app_route == ROUTE_NONE || tx->app_route > PS_ARRAY_LEN(routes))
        return false;
    const route *rt = &routes[tx->app_route - 1];
    ev->rule = rt->rule;
    ev->outcome = grade(tx->response_seen ? tx->status : 0);
    copy_str(ev->method, sizeof(ev->method), tx->method);
    copy_str(ev->url, sizeof(ev->url), tx->url);
    copy_str(ev->host, sizeof(ev->host), tx->host);
    copy_str(ev->user_agent, sizeof(ev->user_agent), tx->user_agent);
    ev->status = tx->response_seen ? tx->status : 0;
    ev->http_anomalies = tx->anomalies;
    copy_str(ev->server_api_version, sizeof(ev->server_api_version), tx->api_version);
    copy_str(ev->server, sizeof(ev->server), tx->server);

    ps_path p;
    ps_path_normalize(tx->url, strnlen(tx->url, sizeof(tx->url)), &p);
    ev->req_version = tx->req_version;
    ev->resp_version = tx->response_seen ? tx->resp_version : 0;
    if (version_segment(&p)) {
        size_t n = PS_MIN(p.seg_len[0] - 1, sizeof(ev->api_version) - 1);
        memcpy(ev->api_version, p.seg[0] + 1, n);
        ev->api_version[n] = '\0';
    }
    ev->objects = (rt->count_mode != PS_COUNT_NONE && ev->outcome == PS_OUTCOME_SUCCEEDED &&
                   !tx->json_invalid)
                      ? tx->json_items
                      : -1;
    if (tx->upgrade[0])
        ev->flags |= PS_EVF_UPGRADE;
    if (tx->req_body.truncated)
        ev->flags |= PS_EVF_BODY_TRUNCATED;
    execution_details(tx, rt, &p, ev);
    return true;
}

const ps_app_dissector ps_dissector_docker = {
    .name = "docker",
    .probe_request = docker_probe_request,
    .probe_response = docker_probe_response,
    .on_request = docker_on_request,
    .on_done = docker_on_done,
};
