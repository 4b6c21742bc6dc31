/* record.c - the detection record: one JSON object per line, fields documented in docs/output.md.
 */
#include <string.h>

#include "correlate.h"
#include "crypto.h"
#include "json_writer.h"

#define PS_SCHEMA_VERSION 1

static const char *const phase_names[] = {"first", "update", "final"};

/* Severity of an aggregate: the rule's for a call that worked; one step
 * lower when every call was denied, failed or unanswered. */
static int aggregate_severity(const ps_aggregate *a)
{
    int sev = a->rule->severity;
    if (a->outcome != PS_OUTCOME_SUCCEEDED && sev > PS_SEV_INFO)
        sev--;
    return sev;
}

static const char *proto_name(uint8_t proto)
{
    return proto == 6 ? "TCP" : proto == 17 ? "UDP" : "IP";
}

static void str_if(ps_jw *w, const char *key, const char *s)
{
    if (s && s[0])
        ps_jw_str(w, key, s);
}

/* Engine version from "Docker/28.5.2 (linux)". */
static void engine_version(const char *server, char *out, size_t cap)
{
    out[0] = '\0';
    if (strncmp(server, "Docker/", 7) != 0)
        return;
    const char *v = server + 7;
    size_t n = 0;
    while (v[n] && v[n] != ' ' && n + 1 < cap)
        n++;
    memcpy(out, v, n);
    out[n] = '\0';
}

static void write_http_anomalies(ps_jw *w, uint32_t bits)
{
    if (!bits)
        return;
    ps_jw_arr_begin(w, "anomalies");
    for (int i = 0; i < PS_HA_MAX; i++)
        if (bits & (1u << i))
            ps_jw_str(w, NULL, ps_http_anomaly_name(i));
    ps_jw_arr_end(w);
}

int ps_record_format(const ps_aggregate *a, const ps_config *cfg, int phase, ps_time_us now,
                     const char *id, char *buf, size_t cap)
{
    ps_jw w;
    char t[40], ip[64];
    const ps_event *e = &a->last;
    ps_jw_init(&w, buf, cap);
    ps_jw_obj_begin(&w, NULL);
    ps_jw_u64(&w, "schema_version", PS_SCHEMA_VERSION);
    ps_jw_str(&w, "id", id);
    ps_jw_str(&w, "aggregate_id", a->aggregate_id);
    ps_jw_u64(&w, "seq", a->seq);
    ps_jw_str(&w, "phase", phase_names[phase >= 0 && phase <= PS_PHASE_FINAL ? phase : 0]);
    ps_jw_str(&w, "timestamp", ps_format_time(now, t, sizeof(t)));
    ps_jw_str(&w, "event_type", "detection");
    ps_jw_str(&w, "sensor", cfg->sensor_name);
    ps_jw_str(&w, "src_ip", ps_addr_format(&a->src, ip, sizeof(ip)));
    ps_jw_u64(&w, "src_port", a->sport);
    ps_jw_str(&w, "dest_ip", ps_addr_format(&a->dst, ip, sizeof(ip)));
    ps_jw_u64(&w, "dest_port", a->dport);
    ps_jw_str(&w, "proto", proto_name(a->proto));
    char cid[40];
    if (ps_community_id(&a->src, a->sport, &a->dst, a->dport, a->proto, 0, cid, sizeof(cid)) ==
        PS_OK)
        ps_jw_str(&w, "community_id", cid);
    ps_jw_str(&w, "app_proto", a->rule->app);
    ps_jw_str(&w, "rule", a->rule->name);
    ps_jw_str(&w, "severity", ps_severity_name(aggregate_severity(a)));
    ps_jw_str(&w, "outcome", ps_outcome_name(a->outcome));

    const ps_technique *const *tech = a->rule->techniques;
    ps_jw_obj_begin(&w, "technique");
    ps_jw_str(&w, "id", tech[0]->id);
    ps_jw_str(&w, "name", tech[0]->name);
    ps_jw_str(&w, "tactic", tech[0]->tactic);
    ps_jw_obj_end(&w);
    ps_jw_arr_begin(&w, "techniques");
    for (int i = 0; i < PS_RULE_MAX_TECHNIQUES && tech[i]; i++)
        ps_jw_str(&w, NULL, tech[i]->id);
    ps_jw_arr_end(&w);

    ps_jw_u64(&w, "count", a->count);
    ps_jw_str(&w, "first_seen", ps_format_time(a->first_seen, t, sizeof(t)));
    ps_jw_str(&w, "last_seen", ps_format_time(a->last_seen, t, sizeof(t)));
    ps_jw_obj_begin(&w, "outcomes");
    for (int o = PS_OUTCOME_MAX - 1; o >= 0; o--)
        if (a->outcomes[o])
            ps_jw_u64(&w, ps_outcome_name(o), a->outcomes[o]);
    ps_jw_obj_end(&w);
    ps_jw_arr_begin(&w, "urls");
    for (uint32_t i = 0; i < a->nurls; i++)
        ps_jw_str(&w, NULL, a->urls + (size_t)i * PS_AGG_URL_MAX);
    ps_jw_arr_end(&w);
    if (a->urls_overflow)
        ps_jw_bool(&w, "urls_truncated", true);

    ps_jw_obj_begin(&w, "http");
    str_if(&w, "method", e->method);
    ps_jw_str(&w, "url", e->url);
    str_if(&w, "host", e->host);
    str_if(&w, "user_agent", e->user_agent);
    if (e->status)
        ps_jw_u64(&w, "status", e->status);
    write_http_anomalies(&w, a->http_anomalies);
    ps_jw_obj_end(&w);

    if (strcmp(a->rule->app, "docker") == 0) {
        char engine[64];
        ps_jw_obj_begin(&w, "docker");
        ps_jw_str(&w, "endpoint", a->rule->endpoint);
        str_if(&w, "api_version", e->api_version);
        str_if(&w, "server_api_version", e->server_api_version);
        engine_version(e->server, engine, sizeof(engine));
        str_if(&w, "engine", engine);
        if (a->objects >= 0)
            ps_jw_i64(&w, "objects", a->objects);
        ps_jw_obj_end(&w);
    }
    ps_jw_obj_end(&w);
    return ps_jw_finish(&w);
}

static const char *version_name(uint8_t v)
{
    return v == 9 ? "HTTP/0.9" : v == 10 ? "HTTP/1.0" : v == 11 ? "HTTP/1.1" : NULL;
}

int ps_http_record_format(const ps_event *e, const ps_config *cfg, char *buf, size_t cap)
{
    ps_jw w;
    char t[40], ip[64];
    ps_jw_init(&w, buf, cap);
    ps_jw_obj_begin(&w, NULL);
    ps_jw_u64(&w, "schema_version", PS_SCHEMA_VERSION);
    ps_jw_str(&w, "timestamp", ps_format_time(e->ts, t, sizeof(t)));
    ps_jw_str(&w, "event_type", "http");
    ps_jw_str(&w, "sensor", cfg->sensor_name);
    ps_jw_u64(&w, "flow_id", e->flow_id);
    ps_jw_str(&w, "src_ip", ps_addr_format(&e->src, ip, sizeof(ip)));
    ps_jw_u64(&w, "src_port", e->sport);
    ps_jw_str(&w, "dest_ip", ps_addr_format(&e->dst, ip, sizeof(ip)));
    ps_jw_u64(&w, "dest_port", e->dport);
    ps_jw_str(&w, "proto", proto_name(e->proto));
    ps_jw_obj_begin(&w, "http");
    str_if(&w, "method", e->method);
    ps_jw_str(&w, "url", e->url);
    str_if(&w, "host", e->host);
    str_if(&w, "user_agent", e->user_agent);
    const char *rv = version_name(e->req_version);
    if (rv)
        ps_jw_str(&w, "protocol", rv);
    if (e->status)
        ps_jw_u64(&w, "status", e->status);
    str_if(&w, "server", e->server);
    if (e->json_items >= 0)
        ps_jw_i64(&w, "json_items", e->json_items);
    write_http_anomalies(&w, e->http_anomalies);
    ps_jw_obj_end(&w);
    ps_jw_obj_end(&w);
    return ps_jw_finish(&w);
}
