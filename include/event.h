/* event.h - what a worker reports to the correlator: one graded API call. */
#ifndef PS_EVENT_H
#define PS_EVENT_H

#include "ps_common.h"
#include "http.h"

/* How the server answered (ordered: a higher value is a better result for
 * the attacker, so aggregates keep the maximum). */
enum ps_outcome {
    PS_OUTCOME_UNKNOWN = 0, /* no response seen */
    PS_OUTCOME_FAILED,      /* answered, neither 2xx nor 401/403 */
    PS_OUTCOME_DENIED,      /* 401 or 403 */
    PS_OUTCOME_SUCCEEDED,   /* 2xx */
    PS_OUTCOME_MAX
};

enum ps_severity {
    PS_SEV_INFO = 0,
    PS_SEV_LOW,
    PS_SEV_MEDIUM,
    PS_SEV_HIGH,
    PS_SEV_CRITICAL,
    PS_SEV_MAX
};

/* A MITRE ATT&CK technique. */
typedef struct ps_technique {
    const char *id;     /* "T1613" */
    const char *name;   /* "Container and Resource Discovery" */
    const char *tactic; /* "discovery" */
} ps_technique;

#define PS_RULE_MAX_TECHNIQUES 4

/* A detection rule: one endpoint class of one API. Rules are static const
 * data owned by their dissector; events and aggregates point at them. */
typedef struct ps_rule {
    const char *name;     /* stable dotted name, e.g. "docker.containers.list" */
    const char *app;      /* "docker" */
    const char *endpoint; /* canonical path pattern, e.g. "/containers/{id}/json" */
    const ps_technique *techniques[PS_RULE_MAX_TECHNIQUES]; /* [0] primary, NULL-ended */
    uint8_t severity;                                       /* enum ps_severity on success */
} ps_rule;

enum ps_event_kind {
    PS_EV_API_CALL = 1, /* a call an API dissector graded: aggregated into detections */
    PS_EV_HTTP,         /* any HTTP exchange, written as-is when http_log is on */
    PS_EV_TLS,          /* a TLS handshake's metadata (tls); a detection only with a rule */
};

#define PS_TLS_SNI_MAX  256
#define PS_TLS_ALPN_MAX 48

/* TLS metadata of one connection (PS_EV_TLS, and the flow query in
 * tls_hello.h). Versions and cipher are wire values, 0 = not seen. */
typedef struct ps_tls_info {
    char sni[PS_TLS_SNI_MAX];   /* server_name as sent (not validated) */
    char alpn[PS_TLS_ALPN_MAX]; /* offered protocols, comma-joined, cut at the cap */
    char ja3[33];               /* MD5 hex */
    char ja4[40];               /* e.g. t13d1516h2_8daaf6152771_e5627efa2ab1 */
    uint16_t client_version;    /* highest offered (supported_versions) */
    uint16_t server_version;    /* chosen (ServerHello supported_versions) */
    uint16_t cipher;            /* chosen cipher suite */
    bool client_hello;          /* a ClientHello was parsed */
    bool server_hello;          /* a ServerHello was parsed */
} ps_tls_info;

#define PS_EV_CMD_MAX     256
#define PS_EV_ENV_SECRETS 4

#define PS_EVF_TLS_PORT_PLAINTEXT 0x1u /* Go's "HTTP request to an HTTPS server" 400 */
#define PS_EVF_UPGRADE            0x2u /* request asked for a stream upgrade */
#define PS_EVF_BODY_TRUNCATED     0x4u /* request body longer than the kept prefix */
#define PS_EVF_TOP_LEVEL_HOSTCFG  0x8u /* Docker create: host settings at the body's top level */

/* One API call, graded. Plain value (no pointers into flow memory except to
 * static rules), so it can later cross a queue between threads. */
typedef struct ps_event {
    uint8_t kind;
    uint8_t outcome;     /* enum ps_outcome */
    bool late;           /* outcome of a call already reported as unknown */
    const ps_rule *rule; /* NULL for PS_EV_HTTP */
    ps_time_us ts;       /* request time */
    ps_time_us done_ts;  /* response (or give-up) time */
    uint64_t flow_id;
    ps_addr src, dst; /* src is the client */
    uint16_t sport, dport;
    uint8_t proto;

    char method[PS_HTTP_METHOD_MAX];
    char url[PS_HTTP_URL_MAX];
    char host[PS_HTTP_HOST_MAX];
    char user_agent[PS_HTTP_UA_MAX];
    uint16_t status;
    uint8_t req_version, resp_version; /* 9, 10, 11; 0 none */
    uint32_t http_anomalies;
    int64_t json_items; /* PS_EV_HTTP: counted items, -1 none */

    /* API specifics (Docker for now). */
    char api_version[32];         /* requested, from the /vN.NN prefix */
    char server_api_version[32];  /* Api-Version response header */
    char server[PS_HTTP_VAL_MAX]; /* Server response header */
    int64_t objects;              /* items in a list answer, -1 unknown */

    /* Who asked (client.h) and with which credentials (fingerprints only). */
    char client_tool[32];    /* "docker-cli", "kubectl", "curl"..., "unknown" */
    char client_version[48]; /* "" when the user agent has none */
    char client_program[48]; /* client-go programs: the binary's name */
    char auth_scheme[16];    /* Authorization scheme, "" when absent */
    char auth_fp[32];        /* "hmac-sha256:<16 hex>" */
    char registry_fp[32];    /* X-Registry-Auth fingerprint */

    /* What the call touched (Kubernetes, etcd, Docker execution); "" = n/a. */
    char k8s_namespace[64];
    char pod[128];
    char container[128];
    char resource[48];    /* "pods", "secrets", "deployments"... */
    char subresource[32]; /* "exec", "log", "token"... */
    char verb[16];        /* "list", "get", "create", "watch"... */
    char object_name[128];
    char command[PS_EV_CMD_MAX]; /* exec / run / create command, spaces joined */
    char image[128];
    char escape[192];   /* escape settings found, comma-separated ("privileged,bind:/") */
    char etcd_key[256]; /* etcd: decoded key (bytes outside printable ASCII as \xNN) */
    char etcd_range_end[64];
    struct {
        char name[48]; /* environment variable whose value was fingerprinted */
        char fp[32];
    } env_secrets[PS_EV_ENV_SECRETS];
    uint8_t n_env_secrets;
    int8_t allowed; /* self-subject review answer: 1 allowed, 0 not, -1 unknown */
    uint32_t flags; /* PS_EVF_* */

    ps_tls_info tls; /* PS_EV_TLS */
} ps_event;

/* Where workers deliver events (the correlator today, a queue later). */
struct ps_probe;

typedef struct ps_event_sink {
    void (*submit)(void *ctx, const ps_event *ev);
    /* Scan-relevant packet features (see scan.h); NULL when not wanted. */
    void (*probe)(void *ctx, const struct ps_probe *pr);
    void *ctx;
} ps_event_sink;

/* Text forms used in the output. */
const char *ps_outcome_name(int outcome);
const char *ps_severity_name(int sev);

#endif
