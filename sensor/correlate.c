/* correlate.c - aggregates graded API calls per (client, server, rule) and window into detections.
 */
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "correlate.h"
#include "crypto.h"
#include "scan.h"
#include "slab.h"

struct ps_correlator {
    const ps_config *cfg;
    ps_output *out;
    ps_slab slab;
    ps_slab events; /* aggregates' `last` while a record is due */
    ps_event spare; /* `last` when `events` is at its cap: written at once */
    ps_aggregate **buckets;
    uint32_t nbuckets;             /* power of two */
    ps_aggregate *oldest, *newest; /* creation order = window-end order */
    ps_campaigns *campaigns;
    ps_scan *scan;
    ps_baseline *baseline;
    ps_time_us last_scan_tick;
    ps_correlator_stats stats;
    uint32_t max_urls;  /* cfg->max_urls within the PS_RECORD_MAX bound */
    uint32_t url_bytes; /* an aggregate's packed URL list */
    char *line;         /* PS_RECORD_MAX bytes: every record fits */
};

const char *ps_outcome_name(int outcome)
{
    switch (outcome) {
    case PS_OUTCOME_SUCCEEDED:
        return "succeeded";
    case PS_OUTCOME_DENIED:
        return "denied";
    case PS_OUTCOME_FAILED:
        return "failed";
    default:
        return "unknown";
    }
}

const char *ps_severity_name(int sev)
{
    static const char *const names[] = {"info", "low", "medium", "high", "critical"};
    if (sev < 0 || sev >= PS_SEV_MAX)
        return "info";
    return names[sev];
}

ps_correlator *ps_correlator_new(const ps_config *cfg, ps_output *out)
{
    ps_correlator *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->cfg = cfg;
    c->out = out;
    c->nbuckets = 1024;
    while (c->nbuckets < cfg->max_aggregates && c->nbuckets < (1u << 24))
        c->nbuckets <<= 1;
    c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
    c->campaigns = ps_campaigns_new(cfg->campaign_max_sources, cfg->campaign_idle_s);
    ps_scan_config sc = cfg->scan;
    sc.nports = PS_MIN(cfg->scan_ports.count, (uint32_t)PS_SCAN_MAX_PORTS);
    memcpy(sc.ports, cfg->scan_ports.ports, sc.nports * sizeof(uint16_t));
    c->scan = ps_scan_new(&sc);
    c->baseline = ps_baseline_new(cfg);
    c->line = malloc(PS_RECORD_MAX);
    if (!c->buckets || !c->campaigns || !c->scan || !c->baseline || !c->line) {
        free(c->line);
        ps_baseline_free(c->baseline);
        ps_scan_free(c->scan);
        ps_campaigns_free(c->campaigns);
        free(c->buckets);
        free(c);
        return NULL;
    }
    c->max_urls = PS_MIN(cfg->max_urls, (uint32_t)PS_AGG_MAX_URLS);
    c->url_bytes = (uint32_t)ps_agg_url_bytes(c->max_urls);
    ps_slab_init(&c->slab, sizeof(ps_aggregate) + c->url_bytes, cfg->max_aggregates);
    ps_slab_init(&c->events, sizeof(ps_event), cfg->max_aggregates);
    return c;
}

int ps_correlator_share_baseline(ps_correlator *c, ps_time_us now)
{
    return ps_baseline_redis_sync(c->baseline, c->out, now);
}

void ps_correlator_reload(ps_correlator *c)
{
    (void)ps_scan_set_limits(c->scan, &c->cfg->scan);
}

static uint32_t agg_hash(const ps_event *ev)
{
    uint64_t h = 1469598103934665603ULL;
    const uint8_t *parts[2] = {ev->src.bytes, ev->dst.bytes};
    for (int p = 0; p < 2; p++)
        for (size_t i = 0; i < 16; i++)
            h = (h ^ parts[p][i]) * 1099511628211ULL;
    h = (h ^ ev->dport) * 1099511628211ULL;
    h = (h ^ (uint64_t)(uintptr_t)ev->rule) * 1099511628211ULL;
    return (uint32_t)(h ^ (h >> 32));
}

static bool agg_match(const ps_aggregate *a, const ps_event *ev)
{
    return a->rule == ev->rule && a->dport == ev->dport && a->proto == ev->proto &&
           memcmp(&a->src, &ev->src, sizeof(ps_addr)) == 0 &&
           memcmp(&a->dst, &ev->dst, sizeof(ps_addr)) == 0;
}

static ps_rule_count *rule_count(ps_correlator *c, const ps_rule *r)
{
    for (uint32_t i = 0; i < c->stats.nrules; i++)
        if (c->stats.by_rule[i].rule == r)
            return &c->stats.by_rule[i];
    if (c->stats.nrules == PS_CORR_MAX_RULES)
        return NULL;
    ps_rule_count *rc = &c->stats.by_rule[c->stats.nrules++];
    rc->rule = r;
    return rc;
}

static void drop_last(ps_correlator *c, ps_aggregate *a)
{
    if (a->last != NULL && a->last != &c->spare)
        ps_slab_free(&c->events, a->last);
    a->last = NULL;
}

static void emit(ps_correlator *c, ps_aggregate *a, int phase, ps_time_us now)
{
    char id[37];
    ps_uuid4(id, sizeof(id));
    a->seq++;
    int n = ps_record_format(a, c->cfg, phase, now, id, c->line, PS_RECORD_MAX);
    if (n < 0) {
        c->stats.format_errors++;
        return;
    }
    ps_output_write(c->out, c->line, (size_t)n);
    c->stats.records++;
    drop_last(c, a);
    ps_rule_count *rc = rule_count(c, a->rule);
    if (rc)
        rc->records++;
    a->dirty = false;
    a->last_emit = now;
}

static void unlink_agg(ps_correlator *c, ps_aggregate *a)
{
    ps_aggregate **pp = &c->buckets[a->hash & (c->nbuckets - 1)];
    while (*pp && *pp != a)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = a->hnext;
    if (a->older)
        a->older->newer = a->newer;
    else
        c->oldest = a->newer;
    if (a->newer)
        a->newer->older = a->older;
    else
        c->newest = a->older;
}

static void close_agg(ps_correlator *c, ps_aggregate *a, ps_time_us now)
{
    if (a->dirty)
        emit(c, a, PS_PHASE_FINAL, now);
    drop_last(c, a);
    unlink_agg(c, a);
    c->stats.aggregates_open--;
    ps_slab_free(&c->slab, a);
}

static void add_url(ps_correlator *c, ps_aggregate *a, const char *url)
{
    size_t n = strnlen(url, PS_AGG_URL_MAX - 1);
    const char *u = a->urls;
    for (uint32_t i = 0; i < a->nurls; i++) {
        size_t ul = strlen(u);
        if (ul == n && memcmp(u, url, n) == 0)
            return;
        u += ul + 1;
    }
    if (a->nurls >= c->max_urls || a->url_used + n + 1 > c->url_bytes) {
        a->urls_overflow = true;
        return;
    }
    char *slot = a->urls + a->url_used;
    memcpy(slot, url, n);
    slot[n] = '\0';
    a->url_used += (uint32_t)n + 1;
    a->nurls++;
}

/* A new aggregate with every field zero except the URL slots, read only
 * below nurls: zeroing those for every new aggregate cost more than the
 * rest of submit. */
static ps_aggregate *agg_alloc(ps_correlator *c)
{
    ps_aggregate *a = ps_slab_alloc_raw(&c->slab);
    if (a)
        memset(a, 0, sizeof(*a));
    return a;
}

static ps_aggregate *create(ps_correlator *c, const ps_event *ev, uint32_t h)
{
    ps_aggregate *a = agg_alloc(c);
    if (!a && c->oldest) {
        c->stats.aggregates_evicted++;
        close_agg(c, c->oldest, ev->done_ts);
        a = agg_alloc(c);
    }
    if (!a)
        return NULL;
    ps_uuid4(a->aggregate_id, sizeof(a->aggregate_id));
    a->rule = ev->rule;
    a->src = ev->src;
    a->dst = ev->dst;
    a->sport = ev->sport;
    a->dport = ev->dport;
    a->proto = ev->proto;
    a->first_seen = ev->ts;
    a->last_seen = ev->ts;
    a->window_end = ev->ts + (ps_time_us)c->cfg->window_s * PS_USEC_PER_SEC;
    a->objects = -1;
    a->new_client = -1;
    a->hash = h;
    a->hnext = c->buckets[h & (c->nbuckets - 1)];
    c->buckets[h & (c->nbuckets - 1)] = a;
    a->older = c->newest;
    if (c->newest)
        c->newest->newer = a;
    else
        c->oldest = a;
    c->newest = a;
    c->stats.aggregates_open++;
    ps_rule_count *rc = rule_count(c, ev->rule);
    if (rc)
        rc->aggregates++;
    return a;
}

static void write_http_record(ps_correlator *c, const ps_event *ev)
{
    int n = ps_http_record_format(ev, c->cfg, c->line, PS_RECORD_MAX);
    if (n < 0) {
        c->stats.format_errors++;
        return;
    }
    ps_output_write(c->out, c->line, (size_t)n);
    c->stats.http_records++;
}

/* A TLS session to a container port is reported only for a client outside
 * the trusted networks (tls.alert_untrusted with networks configured) or
 * outside the learned baseline: a busy cluster's own sessions stay silent. */
static bool tls_is_detection(const ps_config *cfg, const ps_event *ev, const ps_client_verdict *v)
{
    bool nets = cfg->tls_trusted.count + cfg->trust_any.count > 0;
    bool trusted = v->trusted || ps_net_set_has(&cfg->tls_trusted, &ev->src);
    if (cfg->tls_alert_untrusted && nets && !trusted)
        return true;
    return v->new_client == 1 && !trusted;
}

void ps_correlator_submit(ps_correlator *c, const ps_event *ev)
{
    if (ev->kind == PS_EV_HTTP) {
        write_http_record(c, ev);
        return;
    }
    if (!ev->rule)
        return;
    c->stats.events++;
    ps_correlator_tick(c, ev->ts);
    /* Expected clients: discovery from trusted networks is dropped (or kept
     * at info); the baseline marks clients it has not seen before. */
    ps_client_verdict v =
        ps_baseline_judge(c->baseline, ev->rule->app, &ev->src, &ev->dst, ev->dport, ev->ts);
    if (ev->kind == PS_EV_TLS && !tls_is_detection(c->cfg, ev, &v)) {
        c->stats.tls_expected++;
        return;
    }
    if (v.trusted && ps_stage_of_rule(ev->rule) == PS_STAGE_DISCOVERY && c->cfg->trust_mode == 0) {
        c->stats.trusted_dropped++;
        return;
    }
    uint32_t h = agg_hash(ev);
    ps_aggregate *a = c->buckets[h & (c->nbuckets - 1)];
    while (a && !(a->hash == h && agg_match(a, ev)))
        a = a->hnext;
    bool fresh = false;
    if (!a) {
        a = create(c, ev, h);
        if (!a)
            return;
        fresh = true;
    }
    uint8_t before = a->outcome;
    if (ev->late && a->outcomes[PS_OUTCOME_UNKNOWN] > 0) {
        a->outcomes[PS_OUTCOME_UNKNOWN]--; /* a call reported unknown got its answer */
    } else {
        a->count++;
        if (ev->kind != PS_EV_TLS) /* a TLS session has no URL */
            add_url(c, a, ev->url);
    }
    a->outcomes[ev->outcome < PS_OUTCOME_MAX ? ev->outcome : PS_OUTCOME_UNKNOWN]++;
    if (ev->outcome > a->outcome)
        a->outcome = ev->outcome;
    if (ev->ts < a->first_seen)
        a->first_seen = ev->ts;
    if (ev->ts > a->last_seen)
        a->last_seen = ev->ts;
    if (a->last == NULL && (a->last = ps_slab_alloc_raw(&c->events)) == NULL)
        a->last = &c->spare; /* no room to hold it: the record goes out now */
    *a->last = *ev;
    if (ev->objects >= 0)
        a->objects = ev->objects;
    a->http_anomalies |= ev->http_anomalies;
    a->trusted = v.trusted;
    a->new_client = v.new_client;
    a->dirty = true;
    uint16_t stages_before = a->campaign.stages;
    ps_campaign_note(c->campaigns, &ev->src, ps_stage_of_rule(ev->rule), ev->ts, &a->campaign);

    ps_time_us now = ev->done_ts > ev->ts ? ev->done_ts : ev->ts;
    ps_time_us interval = (ps_time_us)c->cfg->update_interval_s * PS_USEC_PER_SEC;
    if (fresh)
        emit(c, a, PS_PHASE_FIRST, now);
    else if (a->outcome > before || a->campaign.stages != stages_before ||
             now >= a->last_emit + interval || a->last == &c->spare)
        emit(c, a, PS_PHASE_UPDATE, now);
    if (a->last == &c->spare) /* not written (format error): the spare is not kept */
        a->last = NULL;
}

static void drain_scans(ps_correlator *c);

void ps_correlator_tick(ps_correlator *c, ps_time_us now)
{
    if (now >= c->last_scan_tick + PS_USEC_PER_SEC) {
        ps_scan_tick(c->scan, now);
        drain_scans(c);
        c->last_scan_tick = now;
    }
    while (c->oldest && c->oldest->window_end <= now)
        close_agg(c, c->oldest, c->oldest->window_end);
}

void ps_correlator_flush(ps_correlator *c, ps_time_us now)
{
    ps_scan_flush(c->scan, now);
    drain_scans(c);
    while (c->oldest) {
        ps_aggregate *a = c->oldest;
        ps_time_us t = now;
        if (t < a->last_seen)
            t = a->last_seen;
        if (t > a->window_end)
            t = a->window_end;
        close_agg(c, a, t);
    }
}

void ps_correlator_free(ps_correlator *c, ps_time_us now)
{
    if (!c)
        return;
    ps_correlator_flush(c, now);
    ps_slab_destroy(&c->slab);
    ps_slab_destroy(&c->events);
    ps_campaigns_free(c->campaigns);
    ps_scan_free(c->scan);
    ps_baseline_free(c->baseline);
    free(c->buckets);
    free(c->line);
    free(c);
}

const ps_scan *ps_correlator_scan(const ps_correlator *c)
{
    return c->scan;
}

const ps_campaigns *ps_correlator_campaigns(const ps_correlator *c)
{
    return c->campaigns;
}

const ps_correlator_stats *ps_correlator_stats_get(const ps_correlator *c)
{
    return &c->stats;
}

/* Writes every scan report the detector has ready as a detection record. */
static void drain_scans(ps_correlator *c)
{
    ps_scan_report r;
    while (ps_scan_next_report(c->scan, &r)) {
        ps_campaign_info ci;
        memset(&ci, 0, sizeof(ci));
        if (r.kind != PS_SCAN_KIND_SUPPRESSED)
            ps_campaign_note(c->campaigns, &r.src, PS_STAGE_SCAN, r.last_seen, &ci);
        char id[37];
        ps_uuid4(id, sizeof(id));
        int n = ps_scan_record_format(&r, r.kind != PS_SCAN_KIND_SUPPRESSED ? &ci : NULL, c->cfg,
                                      id, c->line, PS_RECORD_MAX);
        if (n < 0) {
            c->stats.format_errors++;
            continue;
        }
        ps_output_write(c->out, c->line, (size_t)n);
        c->stats.records++;
        c->stats.scan_records++;
    }
}

static void sink_probe(void *ctx, const struct ps_probe *pr)
{
    ps_correlator *c = ctx;
    ps_scan_observe(c->scan, pr);
    if (ps_scan_pending(c->scan))
        drain_scans(c);
}

static void sink_submit(void *ctx, const ps_event *ev)
{
    ps_correlator_submit(ctx, ev);
}

ps_event_sink ps_correlator_sink(ps_correlator *c)
{
    ps_event_sink s = {.submit = sink_submit, .probe = sink_probe, .ctx = c};
    return s;
}
