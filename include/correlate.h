/* correlate.h - per-source state: aggregates API calls into detections and writes records. */
#ifndef PS_CORRELATE_H
#define PS_CORRELATE_H

#include "ps_common.h"
#include "campaign.h"
#include "config.h"
#include "event.h"
#include "output.h"

#define PS_AGG_URL_MAX  256
#define PS_AGG_MAX_URLS 64 /* the cap of detection.max_urls (config.c) */
/* URL bytes an aggregate keeps per max_urls (at least PS_AGG_URL_MAX in
 * all): the list is packed, and most API paths are short. */
#define PS_AGG_URL_AVG 64

/* Bytes of an aggregate's packed URL list for max_urls. */
static inline size_t ps_agg_url_bytes(uint32_t max_urls)
{
    size_t n = (size_t)max_urls * PS_AGG_URL_AVG;
    return n < PS_AGG_URL_MAX ? PS_AGG_URL_MAX : n;
}

/* Phase of a record within its aggregate. */
enum ps_record_phase { PS_PHASE_FIRST = 0, PS_PHASE_UPDATE, PS_PHASE_FINAL };

/* One (client, server, rule) aggregate within its window. */
typedef struct ps_aggregate {
    char aggregate_id[37];
    uint32_t seq; /* records written so far */
    const ps_rule *rule;
    ps_addr src, dst; /* of the first connection */
    uint16_t sport, dport;
    uint8_t proto;
    ps_time_us first_seen, last_seen, window_end, last_emit;
    uint64_t count;
    uint64_t outcomes[PS_OUTCOME_MAX];
    uint8_t outcome; /* best seen */
    bool dirty;      /* changed since the last record */
    /* Most recent call, for the http and protocol objects: held only while
     * a record is due (dirty), so an aggregate costs ~2.5 KiB, not 6.5. */
    ps_event *last;
    int64_t objects; /* most recent known object count, -1 none */
    uint32_t http_anomalies;
    ps_campaign_info campaign; /* the source's campaign as of the latest call */
    bool trusted;              /* client in a trusted network (trust.mode "info") */
    int8_t new_client;         /* 1 outside the learned baseline, 0 inside, -1 unknown */
    uint32_t nurls;            /* URLs in urls */
    uint32_t url_used;         /* bytes of urls in use */
    bool urls_overflow;        /* a distinct URL was not kept (count or bytes) */
    /* Private: table links. */
    struct ps_aggregate *hnext, *older, *newer;
    uint32_t hash;
    char urls[]; /* nurls NUL-terminated URLs back to back, ps_agg_url_bytes(max_urls) */
} ps_aggregate;

typedef struct ps_rule_count {
    const ps_rule *rule;
    uint64_t records;
    uint64_t aggregates;
} ps_rule_count;

#define PS_CORR_MAX_RULES 128

typedef struct ps_correlator_stats {
    uint64_t events;
    uint64_t records;
    uint64_t aggregates_open;
    uint64_t aggregates_evicted; /* at max_aggregates, closed early */
    uint64_t format_errors;
    uint64_t http_records;    /* transaction log lines (http_log) */
    uint64_t scan_records;    /* scan detections written */
    uint64_t trusted_dropped; /* discovery calls from trusted clients not reported */
    uint64_t tls_expected;    /* TLS sessions of trusted or baselined clients, not reported */
    ps_rule_count by_rule[PS_CORR_MAX_RULES];
    uint32_t nrules;
} ps_correlator_stats;

typedef struct ps_correlator ps_correlator;

/* Creates a correlator writing to `out` (not owned). `cfg` must outlive it. */
ps_correlator *ps_correlator_new(const ps_config *cfg, ps_output *out);

/* Ends every open aggregate (closing records) and frees. */
void ps_correlator_free(ps_correlator *c, ps_time_us now);

/* Takes one graded call. Writes the aggregate's first record at once, an
 * update when the outcome got better or update_interval has passed. */
void ps_correlator_submit(ps_correlator *c, const ps_event *ev);

/* Closes aggregates whose window ended by `now`. */
void ps_correlator_tick(ps_correlator *c, ps_time_us now);

/* Closes every aggregate (end of capture). */
void ps_correlator_flush(ps_correlator *c, ps_time_us now);

const ps_correlator_stats *ps_correlator_stats_get(const ps_correlator *c);

/* Applies the configuration's live settings that the correlator copied at
 * creation (scan thresholds) after the caller updated the config it was
 * created with (SIGHUP); aggregates, campaigns and scan state are kept.
 * Settings it reads directly (windows, trust lists) need no call. */
void ps_correlator_reload(ps_correlator *c);

/* Loads and shares the learned baseline through the Redis output, when
 * there is one (ps_baseline_redis_sync(); blocks up to
 * baseline.redis_timeout_ms: call before capture starts). */
int ps_correlator_share_baseline(ps_correlator *c, ps_time_us now);

/* Scan detector of `c` (for stats). */
const struct ps_scan *ps_correlator_scan(const ps_correlator *c);

/* Formats a scan report as a detection record (campaign may be NULL for
 * the rate limiter's "suppressed" records). */
struct ps_scan_report;
int ps_scan_record_format(const struct ps_scan_report *r, const ps_campaign_info *campaign,
                          const ps_config *cfg, const char *id, char *buf, size_t cap);

/* Campaign table of `c` (for stats). */
const ps_campaigns *ps_correlator_campaigns(const ps_correlator *c);

/* Event sink that feeds `c`. */
ps_event_sink ps_correlator_sink(ps_correlator *c);

/* Longest record, NUL included, that ps_record_format() can write (scan and
 * http records are shorter), and so the size of the correlator's line
 * buffer. Every string in a record comes from the aggregate (its ids,
 * campaign and last event), its URL slots, the sensor name or the record id,
 * and no byte of a string takes more than 6 characters (\u00XX for a control
 * byte, \\xNN for a byte that is not UTF-8); 8 KiB covers keys, numbers and
 * fixed names. About 132 KiB. tests/fuzz/fuzz_record.c checks the bound. */
#define PS_RECORD_MAX                                                                              \
    (6 * (sizeof(ps_aggregate) + sizeof(ps_event) + (size_t)PS_AGG_MAX_URLS * PS_AGG_URL_MAX +     \
          sizeof(((ps_config *)0)->sensor_name) + 37) +                                            \
     8192)

/* Formats one record of aggregate `a` as a single JSON line into buf.
 * Returns the length or PS_ERR_CAP. Exposed for tests and fuzzing. */
int ps_record_format(const ps_aggregate *a, const ps_config *cfg, int phase, ps_time_us now,
                     const char *id, char *buf, size_t cap);

/* Formats a PS_EV_HTTP event as an "http" record (the transaction log). */
int ps_http_record_format(const ps_event *ev, const ps_config *cfg, char *buf, size_t cap);

#endif
