/* summary.c - human-readable end-of-run counters, one topic per line, for operators and CI logs. */
#include <inttypes.h>

#include "ndpi_adapter.h"
#include "summary.h"
#include "tls_hello.h"

typedef const char *(*name_fn)(int);

static int anomalies(FILE *f, const uint64_t *counts, int n, name_fn name, int printed)
{
    for (int i = 0; i < n; i++) {
        if (!counts[i])
            continue;
        fprintf(f, " %s=%" PRIu64, name(i), counts[i]);
        printed++;
    }
    return printed;
}

/* Streams by dissector, TLS handshakes, and unclaimed flows by nDPI protocol. */
static void print_streams(FILE *f, const ps_worker *w)
{
    const ps_worker_stats *ws = ps_worker_stats_get(w);
    fputs("portside: streams:", f);
    for (int i = 0; ps_stream_dissectors[i] && i < (int)PS_ARRAY_LEN(ws->streams_dissected); i++)
        fprintf(f, " %s=%" PRIu64, ps_stream_dissectors[i]->name, ws->streams_dissected[i]);
    fprintf(f, " unclaimed=%" PRIu64, ws->streams_unclaimed);
    const ps_tls_stats *ts = ps_tls_stats_get(ps_worker_dissector_ctx(w, &ps_dissector_tls));
    if (ts && (ts->client_hellos || ts->bad_records || ts->bad_hellos))
        fprintf(f,
                "; TLS client hellos %" PRIu64 ", server hellos %" PRIu64 ", alerts %" PRIu64
                ", bad %" PRIu64 ", too large %" PRIu64,
                ts->client_hellos, ts->server_hellos, ts->alerts, ts->bad_records + ts->bad_hellos,
                ts->hello_too_large);
    fputc('\n', f);
    const ps_ndpi *nd = ps_worker_ndpi(w);
    if (!nd || !ps_ndpi_stats_get(nd)->flows)
        return;
    ps_ndpi_count c[16];
    size_t n = ps_ndpi_counts(nd, c, PS_ARRAY_LEN(c));
    fprintf(f, "portside: unclaimed flows by nDPI protocol:");
    for (size_t i = 0; i < n; i++)
        fprintf(f, " %s=%" PRIu64, c[i].name, c[i].flows);
    if (ps_ndpi_stats_get(nd)->http_handoffs)
        fprintf(f, " (handed to HTTP: %" PRIu64 ")", ps_ndpi_stats_get(nd)->http_handoffs);
    fputc('\n', f);
}

void ps_summary_print(FILE *f, const ps_worker *w, const ps_correlator *c, const ps_output *o,
                      double seconds)
{
    const ps_worker_stats *ws = ps_worker_stats_get(w);
    const ps_decode_stats *ds = ps_worker_decode_stats(w);
    const ps_flow_stats *fs = ps_worker_flow_stats(w);
    const ps_http_stats *hs = ps_worker_http_stats(w);
    const ps_correlator_stats *cs = ps_correlator_stats_get(c);

    fprintf(f,
            "portside: %" PRIu64 " packets, %" PRIu64 " bytes in %.2f s; decoded %" PRIu64
            ", non-IP %" PRIu64 ", duplicates %" PRIu64 ", fragments %" PRIu64
            " (reassembled %" PRIu64 ")%s\n",
            ws->packets, ws->bytes, seconds, ds->decoded, ds->non_ip, ds->duplicates, ds->fragments,
            ds->reassembled,
            ds->checksum_disabled ? ", checksum validation disabled (offload)" : "");
    fprintf(f,
            "portside: flows %" PRIu64 " (mid-stream %" PRIu64 ", timed out %" PRIu64
            ", evicted %" PRIu64 "), SYNs held in the SYN cache %" PRIu64 ", HTTP requests %" PRIu64
            ", responses %" PRIu64 "\n",
            fs->created, fs->midstream, fs->timed_out, fs->evicted, fs->syn_cached, hs->requests,
            hs->responses);
    fputs("portside: anomalies:", f);
    int printed = 0;
    printed = anomalies(f, ds->anomalies, PS_DA_MAX, ps_decode_anomaly_name, printed);
    printed = anomalies(f, fs->anomalies, PS_FA_MAX, ps_flow_anomaly_name, printed);
    printed = anomalies(f, hs->anomalies, PS_HA_MAX, ps_http_anomaly_name, printed);
    fputs(printed ? "\n" : " none\n", f);
    print_streams(f, w);
    fprintf(f, "portside: detections: %" PRIu64 " records, %" PRIu64 " calls", cs->records,
            cs->events);
    if (cs->aggregates_evicted)
        fprintf(f, ", %" PRIu64 " aggregates closed early at the cap", cs->aggregates_evicted);
    fputs(cs->nrules ? "; by rule:" : "", f);
    for (uint32_t i = 0; i < cs->nrules; i++)
        fprintf(f, " %s=%" PRIu64, cs->by_rule[i].rule->name, cs->by_rule[i].records);
    fputc('\n', f);
    const ps_output_stats *os = ps_output_stats_get(o);
    if (os->write_errors)
        fprintf(f, "portside: %" PRIu64 " output write errors\n", os->write_errors);
}
