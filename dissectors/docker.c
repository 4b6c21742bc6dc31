/* docker.c - Docker Engine API: which calls are container discovery, graded by the daemon's answer.
 */
#include <string.h>
#include <strings.h>

#include "attack.h"
#include "config.h"
#include "dissector.h"
#include "urlpath.h"

#define M_GET  0x1u
#define M_HEAD 0x2u
#define M_READ (M_GET | M_HEAD)

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
} route;

static const route routes[] = {
    {M_READ, "/_ping", &r_ping, PS_COUNT_NONE, NULL},
    {M_READ, "/version", &r_version, PS_COUNT_NONE, NULL},
    {M_READ, "/info", &r_info, PS_COUNT_NONE, NULL},
    {M_READ, "/containers/json", &r_cont_list, PS_COUNT_ARRAY, NULL},
    {M_READ, "/containers/{}/json", &r_cont_inspect, PS_COUNT_NONE, NULL},
    {M_READ, "/containers/{}/top", &r_cont_top, PS_COUNT_NONE, NULL},
    {M_READ, "/containers/{}/logs", &r_cont_logs, PS_COUNT_NONE, NULL},
    {M_READ, "/containers/{}/stats", &r_cont_stats, PS_COUNT_NONE, NULL},
    {M_READ, "/containers/{}/changes", &r_cont_changes, PS_COUNT_ARRAY, NULL},
    {M_READ, "/containers/{}/export", &r_cont_export, PS_COUNT_NONE, NULL},
    {M_READ, "/containers/{}/archive", &r_cont_archive, PS_COUNT_NONE, NULL},
    {M_READ, "/images/json", &r_img_list, PS_COUNT_ARRAY, NULL},
    {M_READ, "/images/get", &r_img_get, PS_COUNT_NONE, NULL},
    {M_READ, "/images/{*}/json", &r_img_inspect, PS_COUNT_NONE, NULL},
    {M_READ, "/images/{*}/history", &r_img_history, PS_COUNT_ARRAY, NULL},
    {M_READ, "/images/{*}/get", &r_img_get, PS_COUNT_NONE, NULL},
    {M_READ, "/networks", &r_net_list, PS_COUNT_ARRAY, NULL},
    {M_READ, "/networks/{}", &r_net_inspect, PS_COUNT_NONE, NULL},
    {M_READ, "/volumes", &r_vol_list, PS_COUNT_KEY, "Volumes"},
    {M_READ, "/volumes/{*}", &r_vol_inspect, PS_COUNT_NONE, NULL},
    {M_READ, "/system/df", &r_df, PS_COUNT_NONE, NULL},
    {M_READ, "/events", &r_events, PS_COUNT_NONE, NULL},
    {M_READ, "/swarm", &r_swarm, PS_COUNT_NONE, NULL},
    {M_READ, "/swarm/unlockkey", &r_unlockkey, PS_COUNT_NONE, NULL},
    {M_READ, "/nodes", &r_nodes_list, PS_COUNT_ARRAY, NULL},
    {M_READ, "/nodes/{}", &r_nodes_inspect, PS_COUNT_NONE, NULL},
    {M_READ, "/services", &r_svc_list, PS_COUNT_ARRAY, NULL},
    {M_READ, "/services/{}", &r_svc_inspect, PS_COUNT_NONE, NULL},
    {M_READ, "/services/{}/logs", &r_svc_logs, PS_COUNT_NONE, NULL},
    {M_READ, "/tasks", &r_tasks_list, PS_COUNT_ARRAY, NULL},
    {M_READ, "/tasks/{}", &r_tasks_inspect, PS_COUNT_NONE, NULL},
    {M_READ, "/secrets", &r_secrets_list, PS_COUNT_ARRAY, NULL},
    {M_READ, "/secrets/{}", &r_secrets_inspect, PS_COUNT_NONE, NULL},
    {M_READ, "/configs", &r_configs_list, PS_COUNT_ARRAY, NULL},
    {M_READ, "/configs/{}", &r_configs_inspect, PS_COUNT_NONE, NULL},
    {M_READ, "/plugins", &r_plugins_list, PS_COUNT_ARRAY, NULL},
    {M_READ, "/plugins/{*}/json", &r_plugins_inspect, PS_COUNT_NONE, NULL},
    {M_READ, "/distribution/{*}/json", &r_distribution, PS_COUNT_NONE, NULL},
    {M_READ, "/debug/{*}", &r_debug, PS_COUNT_NONE, NULL},
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
    return true;
}

const ps_app_dissector ps_dissector_docker = {
    .name = "docker",
    .probe_request = docker_probe_request,
    .probe_response = docker_probe_response,
    .on_request = docker_on_request,
    .on_done = docker_on_done,
};
