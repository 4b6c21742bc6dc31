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
};

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
} ps_event;

/* Where workers deliver events (the correlator today, a queue later). */
typedef struct ps_event_sink {
    void (*submit)(void *ctx, const ps_event *ev);
    void *ctx;
} ps_event_sink;

/* Text forms used in the output. */
const char *ps_outcome_name(int outcome);
const char *ps_severity_name(int sev);

#endif
