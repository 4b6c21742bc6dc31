/* summary.h - the end-of-run report on stderr and the periodic stats record (JSON). */
#ifndef PS_SUMMARY_H
#define PS_SUMMARY_H

#include <stdio.h>

#include "correlate.h"
#include "live.h"
#include "output.h"
#include "worker.h"

/* Writes packets, flows, anomalies by reason and detections by rule to f. */
void ps_summary_print(FILE *f, const ps_worker *w, const ps_correlator *c, const ps_output *o,
                      double seconds);

/* What a stats record is built from; ifaces may be NULL (replay). */
typedef struct ps_stats_source {
    const ps_config *cfg;
    const ps_worker *w;
    const ps_correlator *c;
    const ps_output *o;
    const ps_live_iface_stats *ifaces;
    uint32_t nifaces;
    ps_time_us now;     /* wall-clock time of the record */
    uint64_t uptime_s;  /* since start */
    uint64_t rss_bytes; /* resident set size, 0 when unknown */
} ps_stats_source;

/* Formats one {"event_type":"stats",...} object (docs/output.md, "Stats")
 * into buf without a newline. Returns its length, or PS_ERR_CAP when it
 * does not fit in cap bytes (16 KiB is always enough for 128 rules). */
int ps_stats_format(const ps_stats_source *s, char *buf, size_t cap);

/* Resident set size of this process from /proc/self/statm, 0 when unknown. */
uint64_t ps_stats_rss_bytes(void);

#endif
