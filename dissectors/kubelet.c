/* kubelet.c - kubelet API (10255 read-only, 10250 in clear): discovery and command execution. */
#include <string.h>

#include "apiutil.h"
#include "attack.h"
#include "config.h"
#include "dissector.h"
#include "urlpath.h"

#define TECH(...)                                                                                  \
    {                                                                                              \
        __VA_ARGS__, NULL                                                                          \
    }
#define RULE(var, nm, ep, sev, ...)                                                                \
    static const ps_rule var = {nm, "kubelet", ep, TECH(__VA_ARGS__), sev}

RULE(r_pods, "kubelet.pods", "/pods", PS_SEV_HIGH, &ps_t1613, &ps_t1552_007);
RULE(r_running, "kubelet.runningpods", "/runningpods/", PS_SEV_MEDIUM, &ps_t1613);
RULE(r_spec, "kubelet.spec", "/spec/", PS_SEV_LOW, &ps_t1613, &ps_t1082);
RULE(r_stats, "kubelet.stats", "/stats/{path}", PS_SEV_MEDIUM, &ps_t1613);
RULE(r_metrics, "kubelet.metrics", "/metrics/{path}", PS_SEV_LOW, &ps_t1613);
RULE(r_configz, "kubelet.configz", "/configz", PS_SEV_MEDIUM, &ps_t1613, &ps_t1082);
RULE(r_healthz, "kubelet.healthz", "/healthz", PS_SEV_LOW, &ps_t1613, &ps_t1046);
RULE(r_logs, "kubelet.logs", "/logs/{path}", PS_SEV_MEDIUM, &ps_t1613, &ps_t1654);
RULE(r_clogs, "kubelet.containerlogs", "/containerLogs/{ns}/{pod}/{container}", PS_SEV_MEDIUM,
     &ps_t1613, &ps_t1654);
RULE(r_debug, "kubelet.debug", "/debug/{path}", PS_SEV_LOW, &ps_t1613, &ps_t1082);
RULE(r_run, "kubelet.run", "/run/{ns}/{pod}/{container}", PS_SEV_CRITICAL, &ps_t1609);
RULE(r_exec, "kubelet.exec", "/exec/{ns}/{pod}/{container}", PS_SEV_CRITICAL, &ps_t1609);
RULE(r_attach, "kubelet.attach", "/attach/{ns}/{pod}/{container}", PS_SEV_HIGH, &ps_t1609);
RULE(r_pfwd, "kubelet.portforward", "/portForward/{ns}/{pod}", PS_SEV_HIGH, &ps_t1609, &ps_t1572);
RULE(r_checkpoint, "kubelet.checkpoint", "/checkpoint/{ns}/{pod}/{container}", PS_SEV_HIGH,
     &ps_t1005, &ps_t1613);

#define M_READ 0x1u /* GET, HEAD */
#define M_ANY  0x3u

/* What the path names: the container segments start at segment 1. */
enum { OBJ_NONE = 0, OBJ_CONTAINER, OBJ_POD };
/* How the command is given. */
enum { CMD_NONE = 0, CMD_RUN, CMD_EXEC };

typedef struct route {
    uint32_t methods;
    const char *pattern;
    const ps_rule *rule;
    uint8_t obj, cmd;
    bool count_items;
} route;

/* First match wins. Exec-class paths match any method: kubelet answers a
 * wrong one 405, graded failed, and the attempt is still the finding. */
static const route routes[] = {
    {M_READ, "/pods", &r_pods, OBJ_NONE, CMD_NONE, true},
    {M_READ, "/runningpods", &r_running, OBJ_NONE, CMD_NONE, true},
    {M_READ, "/spec", &r_spec, OBJ_NONE, CMD_NONE, false},
    {M_READ, "/stats", &r_stats, OBJ_NONE, CMD_NONE, false},
    {M_READ, "/stats/{*}", &r_stats, OBJ_NONE, CMD_NONE, false},
    {M_READ, "/metrics", &r_metrics, OBJ_NONE, CMD_NONE, false},
    {M_READ, "/metrics/{*}", &r_metrics, OBJ_NONE, CMD_NONE, false},
    {M_READ, "/configz", &r_configz, OBJ_NONE, CMD_NONE, false},
    {M_READ, "/healthz", &r_healthz, OBJ_NONE, CMD_NONE, false},
    {M_READ, "/healthz/{*}", &r_healthz, OBJ_NONE, CMD_NONE, false},
    {M_READ, "/logs", &r_logs, OBJ_NONE, CMD_NONE, false},
    {M_READ, "/logs/{*}", &r_logs, OBJ_NONE, CMD_NONE, false},
    {M_READ, "/containerLogs/{}/{}/{}", &r_clogs, OBJ_CONTAINER, CMD_NONE, false},
    {M_READ, "/debug/{*}", &r_debug, OBJ_NONE, CMD_NONE, false},
    {M_ANY, "/run/{}/{}/{}", &r_run, OBJ_CONTAINER, CMD_RUN, false},
    {M_ANY, "/run/{}/{}/{}/{}", &r_run, OBJ_CONTAINER, CMD_RUN, false},
    {M_ANY, "/exec/{}/{}/{}", &r_exec, OBJ_CONTAINER, CMD_EXEC, false},
    {M_ANY, "/exec/{}/{}/{}/{}", &r_exec, OBJ_CONTAINER, CMD_EXEC, false},
    {M_ANY, "/attach/{}/{}/{}", &r_attach, OBJ_CONTAINER, CMD_NONE, false},
    {M_ANY, "/attach/{}/{}/{}/{}", &r_attach, OBJ_CONTAINER, CMD_NONE, false},
    {M_ANY, "/portForward/{}/{}", &r_pfwd, OBJ_POD, CMD_NONE, false},
    {M_ANY, "/portForward/{}/{}/{}", &r_pfwd, OBJ_POD, CMD_NONE, false},
    {M_ANY, "/checkpoint/{}/{}/{}", &r_checkpoint, OBJ_CONTAINER, CMD_NONE, false},
};

static uint32_t method_bit(const char *m)
{
    if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
        return 0x1u;
    return 0x2u; /* Go compares methods case-sensitively: "get" is another method */
}

static uint32_t find_route(const ps_http_tx *tx, ps_path *p)
{
    ps_path_normalize(tx->url, strnlen(tx->url, sizeof(tx->url)), p);
    uint32_t mbit = method_bit(tx->method);
    for (size_t i = 0; i < PS_ARRAY_LEN(routes); i++) {
        if ((routes[i].methods & mbit) && ps_path_match(p, 0, routes[i].pattern))
            return (uint32_t)i + 1u;
    }
    return 0;
}

static int kubelet_probe_request(const ps_http_tx *tx, uint16_t server_port,
                                 const struct ps_config *cfg)
{
    (void)tx;
    return ps_port_set_has(&cfg->kubelet_ports, server_port) ? PS_PROBE_YES : PS_PROBE_NO;
}

/* The kubelet has no response signature of its own (plain Go net/http). */
static int kubelet_probe_response(const ps_http_tx *tx)
{
    (void)tx;
    return PS_PROBE_NO;
}

static void kubelet_on_request(ps_http_tx *tx)
{
    ps_path p;
    uint32_t r = find_route(tx, &p);
    tx->app_route = r;
    if (r == 0)
        return;
    /* The answer's first bytes tell a TLS port spoken to in clear; the
     * request body carries /run's cmd. */
    tx->app_flags |= PS_HTTP_WANT_RESP_BODY;
    if (routes[r - 1].cmd == CMD_RUN)
        tx->app_flags |= PS_HTTP_WANT_REQ_BODY;
    if (routes[r - 1].count_items) {
        tx->count_mode = PS_COUNT_KEY;
        strcpy(tx->count_key, "items");
    }
}

/* Command of /run (query cmd=, or the form body as `curl -d cmd=...` and
 * Peirates send it) or of exec (repeated command=). */
static void command(const ps_http_tx *tx, const ps_path *p, uint8_t kind, ps_event *ev)
{
    if (kind == CMD_EXEC) {
        ps_api_form_value(p->query, p->query ? p->query_len : 0, "command", ' ', ev->command,
                          sizeof(ev->command));
        return;
    }
    if (p->query &&
        ps_api_form_value(p->query, p->query_len, "cmd", 0, ev->command, sizeof(ev->command)))
        return;
    if (tx->req_body.data)
        ps_api_form_value((const char *)tx->req_body.data, tx->req_body.len, "cmd", 0, ev->command,
                          sizeof(ev->command));
}

static bool kubelet_on_done(const ps_http_tx *tx, ps_event *ev)
{
    if (tx->app_route == 0 || tx->app_route > PS_ARRAY_LEN(routes))
        return false;
    const route *rt = &routes[tx->app_route - 1];
    ps_path p;
    ps_path_normalize(tx->url, strnlen(tx->url, sizeof(tx->url)), &p);
    ps_api_fill(tx, rt->rule, ev);
    if (rt->obj != OBJ_NONE) {
        ps_api_seg(&p, 1, ev->k8s_namespace, sizeof(ev->k8s_namespace));
        ps_api_seg(&p, 2, ev->pod, sizeof(ev->pod));
        if (rt->obj == OBJ_CONTAINER)
            ps_api_seg(&p, p.nseg - 1, ev->container, sizeof(ev->container));
    }
    if (rt->cmd != CMD_NONE)
        command(tx, &p, rt->cmd, ev);
    if (ps_api_tls_port_answer(tx))
        ev->flags |= PS_EVF_TLS_PORT_PLAINTEXT;
    if (rt->count_items && ev->outcome == PS_OUTCOME_SUCCEEDED && !tx->json_invalid)
        ev->objects = tx->json_items;
    return true;
}

const ps_app_dissector ps_dissector_kubelet = {
    .name = "kubelet",
    .probe_request = kubelet_probe_request,
    .probe_response = kubelet_probe_response,
    .on_request = kubelet_on_request,
    .on_done = kubelet_on_done,
};
