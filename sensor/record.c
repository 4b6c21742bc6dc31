/* record.c - the detection record: one JSON object per line, fields documented in docs/output.md.
 */
#include <stdio.h>
#include <string.h>

#include "correlate.h"
#include "crypto.h"
#include "json_writer.h"
#include "scan.h"
#include "attack.h"
#include "record_api.h"
#include "tls_hello.h"

#define PS_SCHEMA_VERSION 1

static const char *const phase_names[] = {"first", "update", "final"};

/* Severity of an aggregate: the rule's for a call that worked; one step
 * lower when every call was denied, failed or unanswered; then raised by
 * the source's campaign (discovery after a scan, execution...). */
static int aggregate_severity(const ps_aggregate *a)
{
    int sev = a->rule->severity;
    if (a->outcome != PS_OUTCOME_SUCCEEDED && sev > PS_SEV_INFO)
        sev--;
    sev = ps_campaign_severity(&a->campaign, sev);
    if (a->trusted)
        return PS_SEV_INFO; /* trust.mode "info": reported, but expected */
    if (a->new_client == 1 && sev < PS_SEV_CRITICAL)
        sev++; /* a client the baseline has never seen */
    return sev;
}

static void write_campaign(ps_jw *w, const ps_campaign_info *ci)
{
    ps_jw_obj_begin(w, "campaign");
    ps_jw_str(w, "id", ci->id);
    ps_jw_str(w, "stage", ps_stage_name(ci->stage));
    ps_jw_arr_begin(w, "stages");
    for (int s = 0; s < PS_STAGE_MAX; s++)
        if (ci->stages & (1u << s))
            ps_jw_str(w, NULL, ps_stage_name(s));
    ps_jw_arr_end(w);
    ps_jw_obj_end(w);
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

    write_campaign(&w, &a->campaign);
    if (a->new_client >= 0)
        ps_jw_bool(&w, "new_client", a->new_client == 1);
    if (a->trusted)
        ps_jw_bool(&w, "trusted_client", true);
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

    if (e->kind == PS_EV_TLS) {
        ps_tls_record_object(&w, &e->tls);
    } else {
        ps_jw_obj_begin(&w, "http");
        str_if(&w, "method", e->method);
        ps_jw_str(&w, "url", e->url);
        str_if(&w, "host", e->host);
        str_if(&w, "user_agent", e->user_agent);
        if (e->status)
            ps_jw_u64(&w, "status", e->status);
        write_http_anomalies(&w, a->http_anomalies);
        ps_jw_obj_end(&w);
    }

    ps_record_api_objects(&w, a); /* client, auth, docker/kubelet/kubeapi/etcd (record-api.c) */
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

int ps_scan_record_format(const ps_scan_report *r, const ps_campaign_info *campaign,
                          const ps_config *cfg, const char *id, char *buf, size_t cap)
{
    ps_jw w;
    char t[40], ip[64], sid[24];
    ps_jw_init(&w, buf, cap);
    ps_jw_obj_begin(&w, NULL);
    ps_jw_u64(&w, "schema_version", PS_SCHEMA_VERSION);
    ps_jw_str(&w, "id", id);
    /* A scan's records share its detector id, as an aggregate's share theirs. */
    snprintf(sid, sizeof(sid), "scan-%016llx", (unsigned long long)r->scan_id);
    ps_jw_str(&w, "aggregate_id", sid);
    ps_jw_str(&w, "phase", ps_scan_phase_name(r->phase));
    ps_jw_str(&w, "timestamp", ps_format_time(r->last_seen, t, sizeof(t)));
    ps_jw_str(&w, "event_type", "detection");
    ps_jw_str(&w, "sensor", cfg->sensor_name);
    if (r->kind != PS_SCAN_KIND_SUPPRESSED) {
        ps_jw_str(&w, "src_ip", ps_addr_format(&r->src, ip, sizeof(ip)));
        ps_jw_u64(&w, "src_port", r->sport);
        ps_jw_str(&w, "dest_ip", ps_addr_format(&r->dst, ip, sizeof(ip)));
        ps_jw_u64(&w, "dest_port", r->dport);
        ps_jw_str(&w, "proto", "TCP");
    }
    ps_jw_str(&w, "app_proto", "scan");
    ps_jw_str(&w, "rule", r->rule);
    int sev = r->severity;
    if (campaign)
        sev = ps_campaign_severity(campaign, sev);
    ps_jw_str(&w, "severity", ps_severity_name(sev));
    ps_jw_obj_begin(&w, "technique");
    ps_jw_str(&w, "id", ps_t1046.id);
    ps_jw_str(&w, "name", ps_t1046.name);
    ps_jw_str(&w, "tactic", ps_t1046.tactic);
    ps_jw_obj_end(&w);
    ps_jw_arr_begin(&w, "techniques");
    ps_jw_str(&w, NULL, ps_t1046.id);
    ps_jw_str(&w, NULL, ps_t1613.id);
    ps_jw_arr_end(&w);
    if (campaign)
        write_campaign(&w, campaign);
    if (r->kind == PS_SCAN_KIND_SUPPRESSED) {
        ps_jw_u64(&w, "suppressed", r->suppressed);
    } else {
        ps_jw_u64(&w, "count", r->probes);
        ps_jw_str(&w, "first_seen", ps_format_time(r->first_seen, t, sizeof(t)));
        ps_jw_str(&w, "last_seen", ps_format_time(r->last_seen, t, sizeof(t)));
        ps_scan_report_json(&w, r);
    }
    ps_jw_obj_end(&w);
    return ps_jw_finish(&w);
}
