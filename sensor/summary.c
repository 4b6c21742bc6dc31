/* summary.c - end-of-run counters for operators and CI logs, and the periodic stats record. */
#include <inttypes.h>
#include <unistd.h>

#include "json_writer.h"
#include "scan.h"
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
            " (reassembled %" PRIu64 ")%s",
            ws->packets, ws->bytes, seconds, ds->decoded, ds->non_ip, ds->duplicates, ds->fragments,
            ds->reassembled,
            ds->checksum_disabled ? ", checksum validation disabled (offload)" : "");
    if (ds->ipv4_len_zero_frame || ds->ipv6_len_zero_frame)
        fprintf(f,
                ", length 0 sized from the frame (GRO/BIG TCP): ipv4_len_zero_frame=%" PRIu64
                " ipv6_len_zero_frame=%" PRIu64,
                ds->ipv4_len_zero_frame, ds->ipv6_len_zero_frame);
    fputc('\n', f);
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
    if (cs->format_errors)
        fprintf(f, ", %" PRIu64 " records not written (format_errors: too long)",
                cs->format_errors);
    fputs(cs->nrules ? "; by rule:" : "", f);
    for (uint32_t i = 0; i < cs->nrules; i++)
        fprintf(f, " %s=%" PRIu64, cs->by_rule[i].rule->name, cs->by_rule[i].records);
    fputc('\n', f);
    const ps_output_stats *os = ps_output_stats_get(o);
    if (os->write_errors)
        fprintf(f, "portside: %" PRIu64 " output write errors\n", os->write_errors);
}

static void anomalies_json(ps_jw *j, const uint64_t *counts, int n, name_fn name)
{
    for (int i = 0; i < n; i++)
        if (counts[i])
            ps_jw_u64(j, name(i), counts[i]);
}

int ps_stats_format(const ps_stats_source *s, char *buf, size_t cap)
{
    const ps_worker_stats *ws = ps_worker_stats_get(s->w);
    const ps_decode_stats *ds = ps_worker_decode_stats(s->w);
    const ps_flow_stats *fs = ps_worker_flow_stats(s->w);
    const ps_http_stats *hs = ps_worker_http_stats(s->w);
    const ps_correlator_stats *cs = ps_correlator_stats_get(s->c);
    const ps_output_stats *os = ps_output_stats_get(s->o);
    const struct ps_scan *scan = ps_correlator_scan(s->c);
    uint64_t scan_bytes = scan ? ps_scan_memory(scan) : 0;
    char ts[40];
    ps_jw j;

    ps_jw_init(&j, buf, cap);
    ps_jw_obj_begin(&j, NULL);
    ps_jw_str(&j, "event_type", "stats");
    ps_jw_str(&j, "timestamp", ps_format_time(s->now, ts, sizeof(ts)));
    ps_jw_str(&j, "sensor", s->cfg->sensor_name);
    ps_jw_u64(&j, "uptime_s", s->uptime_s);
    ps_jw_u64(&j, "packets", ws->packets);
    ps_jw_u64(&j, "bytes", ws->bytes);

    uint64_t kdrops = 0;
    ps_jw_arr_begin(&j, "interfaces");
    for (uint32_t i = 0; i < s->nifaces; i++) {
        const ps_live_iface_stats *f = &s->ifaces[i];
        kdrops += f->kernel.drop + f->kernel.ifdrop;
        ps_jw_obj_begin(&j, NULL);
        ps_jw_str(&j, "name", f->name);
        ps_jw_bool(&j, "up", f->up);
        ps_jw_u64(&j, "packets", f->packets);
        ps_jw_u64(&j, "bytes", f->bytes);
        ps_jw_u64(&j, "ps_recv", f->kernel.recv);
        ps_jw_u64(&j, "ps_drop", f->kernel.drop);
        ps_jw_u64(&j, "ps_ifdrop", f->kernel.ifdrop);
        ps_jw_u64(&j, "over_mtu", f->over_mtu);
        ps_jw_u64(&j, "truncated", f->truncated);
        ps_jw_u64(&j, "failures", f->failures);
        ps_jw_u64(&j, "reopens", f->reopens);
        ps_jw_obj_end(&j);
    }
    ps_jw_arr_end(&j);
    ps_jw_u64(&j, "kernel_drops", kdrops);

    ps_jw_obj_begin(&j, "decode");
    ps_jw_u64(&j, "ipv4_len_zero_frame", ds->ipv4_len_zero_frame);
    ps_jw_u64(&j, "ipv6_len_zero_frame", ds->ipv6_len_zero_frame);
    ps_jw_obj_end(&j);

    ps_jw_obj_begin(&j, "flows");
    ps_jw_u64(&j, "active", fs->active);
    ps_jw_u64(&j, "created", fs->created);
    ps_jw_u64(&j, "timed_out", fs->timed_out);
    ps_jw_u64(&j, "evicted", fs->evicted);
    ps_jw_obj_end(&j);

    ps_jw_obj_begin(&j, "memory");
    ps_jw_u64(&j, "in_use_bytes", fs->mem_in_use + scan_bytes);
    ps_jw_u64(&j, "flows_bytes", fs->mem_in_use);
    ps_jw_u64(&j, "flows_peak_bytes", fs->mem_peak);
    ps_jw_u64(&j, "scan_bytes", scan_bytes);
    ps_jw_u64(&j, "rss_bytes", s->rss_bytes);
    ps_jw_obj_end(&j);

    ps_jw_obj_begin(&j, "anomalies");
    anomalies_json(&j, ds->anomalies, PS_DA_MAX, ps_decode_anomaly_name);
    anomalies_json(&j, fs->anomalies, PS_FA_MAX, ps_flow_anomaly_name);
    anomalies_json(&j, hs->anomalies, PS_HA_MAX, ps_http_anomaly_name);
    ps_jw_obj_end(&j);

    ps_jw_obj_begin(&j, "detections");
    ps_jw_u64(&j, "records", cs->records);
    ps_jw_u64(&j, "calls", cs->events);
    ps_jw_u64(&j, "aggregates_open", cs->aggregates_open);
    ps_jw_u64(&j, "aggregates_evicted", cs->aggregates_evicted);
    ps_jw_u64(&j, "format_errors", cs->format_errors);
    ps_jw_obj_begin(&j, "by_rule");
    for (uint32_t i = 0; i < cs->nrules; i++)
        ps_jw_u64(&j, cs->by_rule[i].rule->name, cs->by_rule[i].records);
    ps_jw_obj_end(&j);
    ps_jw_obj_end(&j);

    ps_jw_obj_begin(&j, "output");
    ps_jw_u64(&j, "records", os->records);
    ps_jw_u64(&j, "write_errors", os->write_errors);
    ps_jw_obj_end(&j);

    ps_redis_stats rs;
    if (ps_output_redis_stats(s->o, &rs)) {
        ps_jw_obj_begin(&j, "redis");
        ps_jw_bool(&j, "connected", rs.connected);
        ps_jw_u64(&j, "queue_depth", rs.queue_depth);
        ps_jw_u64(&j, "delivered", rs.delivered);
        ps_jw_u64(&j, "spooled", rs.spooled);
        ps_jw_u64(&j, "dropped", rs.dropped);
        ps_jw_u64(&j, "spool_pending", rs.spool_pending);
        ps_jw_u64(&j, "reconnects", rs.reconnects);
        ps_jw_u64(&j, "reconfigures", rs.reconfigures);
        ps_jw_u64(&j, "state_sent", rs.state_sent);
        ps_jw_u64(&j, "state_dropped", rs.state_dropped);
        ps_jw_obj_end(&j);
    }
    ps_jw_obj_end(&j);
    return ps_jw_finish(&j);
}

uint64_t ps_stats_rss_bytes(void)
{
    unsigned long long pages_total = 0, pages_res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    int n = fscanf(f, "%llu %llu", &pages_total, &pages_res);
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return n == 2 && page > 0 ? (uint64_t)pages_res * (uint64_t)page : 0;
}
