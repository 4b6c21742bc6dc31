/* record.c - the detection record: one JSON object per line, fields documented in docs/output.md.
 */
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
    ps_jw_kobj_begin(w, PS_JW_KEY("campaign"));
    ps_jw_kstr(w, PS_JW_KEY("id"), ci->id);
    ps_jw_kstr(w, PS_JW_KEY("stage"), ps_stage_name(ci->stage));
    ps_jw_karr_begin(w, PS_JW_KEY("stages"));
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

/* The five-tuple members of a record: src_ip, src_port, dest_ip, dest_port, proto. */
static void write_endpoints(ps_jw *w, const ps_addr *src, uint16_t sport, const ps_addr *dst,
                            uint16_t dport, const char *proto)
{
    char ip[64];
    ps_jw_kstr(w, PS_JW_KEY("src_ip"), ps_addr_format(src, ip, sizeof(ip)));
    ps_jw_ku64(w, PS_JW_KEY("src_port"), sport);
    ps_jw_kstr(w, PS_JW_KEY("dest_ip"), ps_addr_format(dst, ip, sizeof(ip)));
    ps_jw_ku64(w, PS_JW_KEY("dest_port"), dport);
    ps_jw_kstr(w, PS_JW_KEY("proto"), proto);
}

static void str_if(ps_jw *w, ps_jw_key k, const char *s)
{
    if (s && s[0])
        ps_jw_kstr(w, k, s);
}

static void write_http_anomalies(ps_jw *w, uint32_t bits)
{
    if (!bits)
        return;
    ps_jw_karr_begin(w, PS_JW_KEY("anomalies"));
    for (int i = 0; i < PS_HA_MAX; i++)
        if (bits & (1u << i))
            ps_jw_str(w, NULL, ps_http_anomaly_name(i));
    ps_jw_arr_end(w);
}

int ps_record_format(const ps_aggregate *a, const ps_config *cfg, int phase, ps_time_us now,
                     const char *id, char *buf, size_t cap)
{
    ps_jw w;
    const ps_event *e = a->last;
    if (e == NULL)
        return PS_ERR_STATE; /* records are written only while the aggregate holds its call */
    ps_jw_init(&w, buf, cap);
    ps_jw_obj_begin(&w, NULL);
    ps_jw_ku64(&w, PS_JW_KEY("schema_version"), PS_SCHEMA_VERSION);
    ps_jw_kstr(&w, PS_JW_KEY("id"), id);
    ps_jw_kstr(&w, PS_JW_KEY("aggregate_id"), a->aggregate_id);
    ps_jw_ku64(&w, PS_JW_KEY("seq"), a->seq);
    ps_jw_kstr(&w, PS_JW_KEY("phase"),
               phase_names[phase >= 0 && phase <= PS_PHASE_FINAL ? phase : 0]);
    ps_jw_ktime(&w, PS_JW_KEY("timestamp"), now);
    ps_jw_kstr(&w, PS_JW_KEY("event_type"), "detection");
    ps_jw_kstr(&w, PS_JW_KEY("sensor"), cfg->sensor_name);
    write_endpoints(&w, &a->src, a->sport, &a->dst, a->dport, proto_name(a->proto));
    char cid[40];
    if (ps_community_id(&a->src, a->sport, &a->dst, a->dport, a->proto, 0, cid, sizeof(cid)) ==
        PS_OK)
        ps_jw_kstr(&w, PS_JW_KEY("community_id"), cid);
    ps_jw_kstr(&w, PS_JW_KEY("app_proto"), a->rule->app);
    ps_jw_kstr(&w, PS_JW_KEY("rule"), a->rule->name);
    ps_jw_kstr(&w, PS_JW_KEY("severity"), ps_severity_name(aggregate_severity(a)));
    ps_jw_kstr(&w, PS_JW_KEY("outcome"), ps_outcome_name(a->outcome));

    const ps_technique *const *tech = a->rule->techniques;
    ps_jw_kobj_begin(&w, PS_JW_KEY("technique"));
    ps_jw_kstr(&w, PS_JW_KEY("id"), tech[0]->id);
    ps_jw_kstr(&w, PS_JW_KEY("name"), tech[0]->name);
    ps_jw_kstr(&w, PS_JW_KEY("tactic"), tech[0]->tactic);
    ps_jw_obj_end(&w);
    ps_jw_karr_begin(&w, PS_JW_KEY("techniques"));
    for (int i = 0; i < PS_RULE_MAX_TECHNIQUES && tech[i]; i++)
        ps_jw_str(&w, NULL, tech[i]->id);
    ps_jw_arr_end(&w);

    write_campaign(&w, &a->campaign);
    if (a->new_client >= 0)
        ps_jw_kbool(&w, PS_JW_KEY("new_client"), a->new_client == 1);
    if (a->trusted)
        ps_jw_kbool(&w, PS_JW_KEY("trusted_client"), true);
    ps_jw_ku64(&w, PS_JW_KEY("count"), a->count);
    ps_jw_ktime(&w, PS_JW_KEY("first_seen"), a->first_seen);
    ps_jw_ktime(&w, PS_JW_KEY("last_seen"), a->last_seen);
    ps_jw_kobj_begin(&w, PS_JW_KEY("outcomes"));
    for (int o = PS_OUTCOME_MAX - 1; o >= 0; o--)
        if (a->outcomes[o])
            ps_jw_u64(&w, ps_outcome_name(o), a->outcomes[o]);
    ps_jw_obj_end(&w);
    ps_jw_karr_begin(&w, PS_JW_KEY("urls"));
    const char *u = a->urls;
    for (uint32_t i = 0; i < a->nurls; i++) {
        size_t ul = strlen(u);
        ps_jw_strn(&w, NULL, (const uint8_t *)u, ul);
        u += ul + 1;
    }
    ps_jw_arr_end(&w);
    if (a->urls_overflow)
        ps_jw_kbool(&w, PS_JW_KEY("urls_truncated"), true);

    if (e->kind == PS_EV_TLS) {
        ps_tls_record_object(&w, &e->tls);
    } else {
        ps_jw_kobj_begin(&w, PS_JW_KEY("http"));
        str_if(&w, PS_JW_KEY("method"), e->method);
        ps_jw_kstr(&w, PS_JW_KEY("url"), e->url);
        str_if(&w, PS_JW_KEY("host"), e->host);
        str_if(&w, PS_JW_KEY("user_agent"), e->user_agent);
        if (e->status)
            ps_jw_ku64(&w, PS_JW_KEY("status"), e->status);
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
    ps_jw_init(&w, buf, cap);
    ps_jw_obj_begin(&w, NULL);
    ps_jw_ku64(&w, PS_JW_KEY("schema_version"), PS_SCHEMA_VERSION);
    ps_jw_ktime(&w, PS_JW_KEY("timestamp"), e->ts);
    ps_jw_kstr(&w, PS_JW_KEY("event_type"), "http");
    ps_jw_kstr(&w, PS_JW_KEY("sensor"), cfg->sensor_name);
    ps_jw_ku64(&w, PS_JW_KEY("flow_id"), e->flow_id);
    write_endpoints(&w, &e->src, e->sport, &e->dst, e->dport, proto_name(e->proto));
    ps_jw_kobj_begin(&w, PS_JW_KEY("http"));
    str_if(&w, PS_JW_KEY("method"), e->method);
    ps_jw_kstr(&w, PS_JW_KEY("url"), e->url);
    str_if(&w, PS_JW_KEY("host"), e->host);
    str_if(&w, PS_JW_KEY("user_agent"), e->user_agent);
    const char *rv = version_name(e->req_version);
    if (rv)
        ps_jw_kstr(&w, PS_JW_KEY("protocol"), rv);
    if (e->status)
        ps_jw_ku64(&w, PS_JW_KEY("status"), e->status);
    str_if(&w, PS_JW_KEY("server"), e->server);
    if (e->json_items >= 0)
        ps_jw_ki64(&w, PS_JW_KEY("json_items"), e->json_items);
    write_http_anomalies(&w, e->http_anomalies);
    ps_jw_obj_end(&w);
    ps_jw_obj_end(&w);
    return ps_jw_finish(&w);
}

/* Writes "scan-" and the 16 lower-case hex digits of id into out. */
static void scan_aggregate_id(uint64_t id, char out[22])
{
    memcpy(out, "scan-", 5);
    for (int i = 0; i < 16; i++)
        out[5 + i] = "0123456789abcdef"[(id >> (60 - 4 * i)) & 0xF];
    out[21] = '\0';
}

int ps_scan_record_format(const ps_scan_report *r, const ps_campaign_info *campaign,
                          const ps_config *cfg, const char *id, char *buf, size_t cap)
{
    ps_jw w;
    char sid[24];
    ps_jw_init(&w, buf, cap);
    ps_jw_obj_begin(&w, NULL);
    ps_jw_ku64(&w, PS_JW_KEY("schema_version"), PS_SCHEMA_VERSION);
    ps_jw_kstr(&w, PS_JW_KEY("id"), id);
    /* A scan's records share its detector id, as an aggregate's share theirs. */
    scan_aggregate_id(r->scan_id, sid);
    ps_jw_kstr(&w, PS_JW_KEY("aggregate_id"), sid);
    ps_jw_kstr(&w, PS_JW_KEY("phase"), ps_scan_phase_name(r->phase));
    ps_jw_ktime(&w, PS_JW_KEY("timestamp"), r->last_seen);
    ps_jw_kstr(&w, PS_JW_KEY("event_type"), "detection");
    ps_jw_kstr(&w, PS_JW_KEY("sensor"), cfg->sensor_name);
    if (r->kind != PS_SCAN_KIND_SUPPRESSED) {
        write_endpoints(&w, &r->src, r->sport, &r->dst, r->dport, "TCP");
    }
    ps_jw_kstr(&w, PS_JW_KEY("app_proto"), "scan");
    ps_jw_kstr(&w, PS_JW_KEY("rule"), r->rule);
    int sev = r->severity;
    if (campaign)
        sev = ps_campaign_severity(campaign, sev);
    ps_jw_kstr(&w, PS_JW_KEY("severity"), ps_severity_name(sev));
    ps_jw_kobj_begin(&w, PS_JW_KEY("technique"));
    ps_jw_kstr(&w, PS_JW_KEY("id"), ps_t1046.id);
    ps_jw_kstr(&w, PS_JW_KEY("name"), ps_t1046.name);
    ps_jw_kstr(&w, PS_JW_KEY("tactic"), ps_t1046.tactic);
    ps_jw_obj_end(&w);
    ps_jw_karr_begin(&w, PS_JW_KEY("techniques"));
    ps_jw_str(&w, NULL, ps_t1046.id);
    ps_jw_str(&w, NULL, ps_t1613.id);
    ps_jw_arr_end(&w);
    if (campaign)
        write_campaign(&w, campaign);
    if (r->kind == PS_SCAN_KIND_SUPPRESSED) {
        ps_jw_ku64(&w, PS_JW_KEY("suppressed"), r->suppressed);
    } else {
        ps_jw_ku64(&w, PS_JW_KEY("count"), r->probes);
        ps_jw_ktime(&w, PS_JW_KEY("first_seen"), r->first_seen);
        ps_jw_ktime(&w, PS_JW_KEY("last_seen"), r->last_seen);
        ps_scan_report_json(&w, r);
    }
    ps_jw_obj_end(&w);
    return ps_jw_finish(&w);
}
