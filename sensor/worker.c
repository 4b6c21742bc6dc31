/* worker.c - the packet pipeline of one worker: decode, flows, stream dissectors, app layer. */
#include <stdlib.h>
#include <string.h>

#include "ndpi_adapter.h"
#include "scan.h"
#include "slab.h"
#include "worker.h"

#define PS_MAX_STREAM_DISSECTORS 4
#define PS_APP_F_DONE            0x01u /* no dissector wants this flow */
#define PS_APP_F_STOPPED         0x02u /* the dissector stopped reading */
#define PS_APP_F_NDPI            0x04u /* unclaimed; app_state is an nDPI flow */
#define PS_TICK_INTERVAL_US      100000u

/* Frames wait in a short ring between decoding and the flow table, so the
 * flow index and SYN-cache lines of the next few packets load while this
 * one is processed (and, halfway, the flows those lines name): a sweep's
 * SYNs each miss the SYN cache, and one prefetch issued just before use hid
 * little. From a capture that may reuse its buffer, small frames are copied
 * in (a SYN is 54-80 bytes); from one that leaves them in place, frames up
 * to PS_HOLD_FRAME are held as they are. Larger ones, reassembled IP
 * datagrams and time ticks empty the ring first, so packets always reach
 * the flow table in capture order. */
#define PS_BATCH       8
#define PS_BATCH_FRAME 192

/* Largest frame held without a copy when the capture leaves frames in
 * place (ps_worker_packet_stable): PS_BATCH of them stay well within
 * PS_WORKER_HOLD_BYTES. */
#define PS_HOLD_FRAME 65536u
_Static_assert((uint64_t)PS_BATCH *PS_HOLD_FRAME <= PS_WORKER_HOLD_BYTES,
               "held frames must stay within what the capture leaves in place");

typedef struct batch_ent {
    ps_packet pkt;
    uint64_t h;
    bool slot_used; /* the flow index has an entry where this packet's flow would be */
    uint8_t frame[PS_BATCH_FRAME]; /* the copy, when the capture may reuse its buffer */
} batch_ent;

struct ps_worker {
    const ps_config *cfg;
    ps_decoder *dec;
    ps_flow_table *flows;
    ps_app_ctx *app;
    ps_slab slabs[PS_MAX_STREAM_DISSECTORS];
    void *dctx[PS_MAX_STREAM_DISSECTORS]; /* per-worker dissector contexts */
    ps_event_sink sink;
    ps_ndpi *ndpi; /* NULL: disabled or not built in */
    ps_time_us last_tick;
    ps_worker_stats stats;
    uint32_t bhead, bcount;
    batch_ent batch[PS_BATCH];
};

static int dissector_index(const ps_stream_dissector *d)
{
    for (int i = 0; ps_stream_dissectors[i]; i++)
        if (ps_stream_dissectors[i] == d)
            return i;
    return -1;
}

static void feed(ps_worker *w, ps_flow *f, int dir, const uint8_t *data, size_t len, ps_time_us ts)
{
    const ps_stream_dissector *d = f->app_desc;
    if (f->app_flags & PS_APP_F_STOPPED)
        return;
    if (d->parse(f->app_state, dir, data, len, ts) < 0)
        f->app_flags |= PS_APP_F_STOPPED;
    (void)w;
}

static bool attach(ps_worker *w, ps_flow *f, const ps_stream_dissector *d)
{
    int idx = dissector_index(d);
    if (f->app_flags & PS_APP_F_NDPI) {
        ps_ndpi_flow_release(w->ndpi, f->app_state);
        f->app_state = NULL;
        f->app_flags &= (uint8_t)~PS_APP_F_NDPI;
    }
    void *state = idx >= 0 ? ps_slab_alloc(&w->slabs[idx]) : NULL;
    if (!state) {
        w->stats.state_cap++;
        f->app_flags |= PS_APP_F_DONE;
        return false;
    }
    d->init(state, w->app, f);
    if (d->bind)
        d->bind(state, w->dctx[idx], w->sink);
    ps_app_stream *s = state;
    s->desc = d;
    s->dstate = state;
    f->app_desc = d;
    f->app_state = state;
    ps_flow_keep_history(w->flows, f, true); /* overlap checks for dissected flows */
    w->stats.streams_dissected[idx]++;
    return true;
}

/* Picks the dissector from the first bytes. Returns the chosen dissector,
 * NULL while undecided; marks the flow done when nobody wants it. */
static const ps_stream_dissector *probe(ps_worker *w, ps_flow *f, int dir, const uint8_t *buf,
                                        size_t len)
{
    bool need_more = false;
    for (int i = 0; ps_stream_dissectors[i]; i++) {
        int r = ps_stream_dissectors[i]->probe(buf, len, dir);
        /* An earlier dissector still undecided outranks a later yes (the
         * HTTP/2 preface "PRI * HTTP/2.0" is also an HTTP/1 request line). */
        if (r == PS_PROBE_YES && (!need_more || len >= sizeof(f->probe_buf)))
            return ps_stream_dissectors[i];
        if (r == PS_ERR_NEED_MORE || r == PS_PROBE_YES)
            need_more = true;
    }
    if (need_more && len < sizeof(f->probe_buf))
        return NULL;
    /* The server spoke first on a connection seen from its handshake: every
     * dissector's protocol starts with the client, so nobody wants it (SSH,
     * SMTP or MySQL greetings, a download). Undecided, every segment would
     * be probed and checksummed for the flow's life. Mid-stream, or after
     * part of a client message, the client's bytes decide. */
    if (dir != PS_DIR_TO_SERVER && ((f->flags & PS_FLOW_F_MIDSTREAM) || f->probe_len))
        return NULL;
    /* A connection picked up mid-stream may start inside a body: a hint port
     * is then enough, and the dissector resynchronises on its own. */
    if (f->flags & PS_FLOW_F_MIDSTREAM) {
        for (int i = 0; ps_stream_dissectors[i]; i++) {
            const ps_stream_dissector *d = ps_stream_dissectors[i];
            for (size_t p = 0; p < d->port_count; p++)
                if (d->ports[p] == f->sport)
                    return d;
        }
    }
    f->app_flags |= PS_APP_F_DONE;
    w->stats.streams_unclaimed++;
    if (w->ndpi && !f->app_state && (f->app_state = ps_ndpi_flow_new(w->ndpi)) != NULL)
        f->app_flags |= PS_APP_F_NDPI;
    return NULL;
}

/* True when no byte of `f`'s streams will be read: no dissector claimed
 * it, nDPI is done with it, and it is not waiting (picked up mid-stream)
 * for a response head to start HTTP from. */
static bool unread(const ps_flow *f)
{
    if (f == NULL || !(f->app_flags & PS_APP_F_DONE) || (f->app_flags & PS_APP_F_NDPI))
        return false;
    return !(f->flags & PS_FLOW_F_MIDSTREAM) || (f->app_flags & PS_APP_F_STOPPED);
}

/* Gives nDPI a chunk of an unclaimed flow. HTTP on any port goes to the
 * HTTP dissector from here on; it finds the next message boundary itself. */
static void ndpi_step(ps_worker *w, ps_flow *f, int dir, const uint8_t *data, size_t len,
                      ps_time_us ts)
{
    int v = ps_ndpi_flow_feed(w->ndpi, f->app_state, f, dir, data, len, ts);
    if (v == PS_NDPI_UNDECIDED)
        return;
    ps_ndpi_flow_end(w->ndpi, f->app_state);
    f->app_state = NULL;
    f->app_flags &= (uint8_t)~PS_APP_F_NDPI;
    if (v != PS_NDPI_HTTP)
        return;
    f->app_flags &= (uint8_t)~PS_APP_F_DONE;
    if (attach(w, f, &ps_dissector_http) && dir == PS_DIR_TO_SERVER)
        feed(w, f, dir, data, len, ts); /* a request starts here, as a rule */
}

/* Data of a flow no dissector reads: nDPI's while it looks, else none of
 * its later segments need reassembly. */
static void unclaimed_data(ps_worker *w, ps_flow *f, int dir, const uint8_t *data, size_t len,
                           ps_time_us ts)
{
    if (f->app_flags & PS_APP_F_NDPI)
        ndpi_step(w, f, dir, data, len, ts);
    else if (unread(f))
        f->flags |= PS_FLOW_F_NO_DATA; /* for good: its segments skip reassembly */
}

static void on_data(void *ctx, ps_flow *f, int dir, const uint8_t *data, size_t len, ps_time_us ts)
{
    ps_worker *w = ctx;
    if (len == 0)
        return;
    if (f->app_flags & PS_APP_F_DONE) {
        if ((f->flags & PS_FLOW_F_MIDSTREAM) && dir == PS_DIR_TO_CLIENT &&
            !(f->app_flags & PS_APP_F_STOPPED) && ps_http_probe_response(data, len) == 1) {
            /* Picked up inside a body on a port no dissector hints at: a
             * response head is a message boundary to start HTTP from. */
            f->app_flags &= (uint8_t)~PS_APP_F_DONE;
            if (attach(w, f, &ps_dissector_http))
                feed(w, f, dir, data, len, ts);
            return;
        }
        unclaimed_data(w, f, dir, data, len, ts);
        return;
    }
    if (f->app_state) {
        feed(w, f, dir, data, len, ts);
        return;
    }
    if (dir == PS_DIR_TO_CLIENT) {
        /* Server spoke first: a greeting, a mid-stream pickup, a one-sided capture. */
        const ps_stream_dissector *d = probe(w, f, dir, data, len);
        if (d && attach(w, f, d)) {
            if (f->probe_len)
                feed(w, f, PS_DIR_TO_SERVER, f->probe_buf, f->probe_len, ts);
            feed(w, f, dir, data, len, ts);
        } else if (!d && (f->app_flags & PS_APP_F_NDPI)) {
            ndpi_step(w, f, dir, data, len, ts); /* the greeting is what nDPI knows */
        }
        return;
    }
    const uint8_t *pbuf = data;
    size_t plen = len;
    size_t old = f->probe_len;
    if (old) {
        size_t take = PS_MIN(len, sizeof(f->probe_buf) - old);
        memcpy(f->probe_buf + old, data, take);
        pbuf = f->probe_buf;
        plen = old + take;
    }
    const ps_stream_dissector *d = probe(w, f, dir, pbuf, plen);
    if (!d && (f->app_flags & PS_APP_F_NDPI)) { /* unclaimed: replay to nDPI */
        f->probe_len = 0;
        if (old)
            ndpi_step(w, f, dir, f->probe_buf, old, ts);
        unclaimed_data(w, f, dir, data, len, ts);
        return;
    }
    if (d) {
        if (attach(w, f, d)) {
            if (old)
                feed(w, f, dir, f->probe_buf, old, ts);
            feed(w, f, dir, data, len, ts);
        }
        f->probe_len = 0;
        return;
    }
    if (f->app_flags & PS_APP_F_DONE)
        return;
    if (!old) {
        size_t take = PS_MIN(len, sizeof(f->probe_buf));
        memcpy(f->probe_buf, data, take);
        f->probe_len = (uint8_t)take;
    } else {
        f->probe_len = (uint8_t)plen;
    }
}

static void on_gap(void *ctx, ps_flow *f, int dir, uint32_t len, ps_time_us ts)
{
    (void)ctx;
    if (f->app_state && f->app_desc && !(f->app_flags & PS_APP_F_STOPPED)) {
        const ps_stream_dissector *d = f->app_desc;
        d->gap(f->app_state, dir, len, ts);
    }
}

static void on_close(void *ctx, ps_flow *f, int reason, ps_time_us ts)
{
    ps_worker *w = ctx;
    (void)reason;
    if (f->app_flags & PS_APP_F_NDPI) {
        ps_ndpi_flow_end(w->ndpi, f->app_state);
        f->app_state = NULL;
        f->app_flags &= (uint8_t)~PS_APP_F_NDPI;
    }
    if (f->app_state) {
        const ps_stream_dissector *d = f->app_desc;
        d->close(f->app_state, ts);
        ps_app_stream *s = f->app_state;
        s->flow_id = 0;
        int idx = dissector_index(d);
        if (idx >= 0)
            ps_slab_free(&w->slabs[idx], f->app_state);
        f->app_state = NULL;
    }
    f->app_desc = NULL;
}

ps_worker *ps_worker_new(const ps_config *cfg, ps_event_sink sink)
{
    ps_worker *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->cfg = cfg;
    w->sink = sink;
    w->dec = ps_decoder_new(&cfg->decode);
    if (w->dec)
        ps_decoder_defer_tcp_csum(w->dec, true); /* see unread() */
    w->app = ps_app_new(cfg, sink);
    ps_flow_callbacks cb = {on_data, on_gap, on_close, w};
    w->flows = ps_flow_table_new(&cfg->flow, &cb);
    bool ok = true;
    for (int i = 0; ps_stream_dissectors[i] && i < PS_MAX_STREAM_DISSECTORS; i++) {
        ps_slab_init(&w->slabs[i], ps_stream_dissectors[i]->state_size(), cfg->flow.max_flows);
        if (ps_stream_dissectors[i]->ctx_new &&
            !(w->dctx[i] = ps_stream_dissectors[i]->ctx_new(cfg)))
            ok = false;
    }
    if (cfg->ndpi_enabled)
        w->ndpi = ps_ndpi_new(cfg->ndpi_max_flows, cfg->ndpi_max_packets);
    if (!ok || !w->dec || !w->app || !w->flows) {
        ps_worker_free(w, 0);
        return NULL;
    }
    return w;
}

void ps_worker_free(ps_worker *w, ps_time_us now)
{
    if (!w)
        return;
    if (w->flows) {
        ps_worker_drain(w);
        ps_flow_flush(w->flows, PS_FLOW_END_SHUTDOWN, now);
        ps_flow_table_free(w->flows);
    }
    for (int i = 0; i < PS_MAX_STREAM_DISSECTORS; i++) {
        ps_slab_destroy(&w->slabs[i]);
        if (w->dctx[i] && ps_stream_dissectors[i] && ps_stream_dissectors[i]->ctx_free)
            ps_stream_dissectors[i]->ctx_free(w->dctx[i]);
    }
    ps_ndpi_free(w->ndpi);
    ps_app_free(w->app);
    ps_decoder_free(w->dec);
    free(w);
}

void ps_worker_tick(ps_worker *w, ps_time_us now)
{
    ps_worker_drain(w);
    w->last_tick = now;
    ps_flow_expire(w->flows, now);
    ps_app_tick(w->app, now);
}

/* Everything after decoding: checksum, scan detection, flow table. */
static void packet_tcp(ps_worker *w, ps_packet *pkt, uint64_t h)
{
    /* Bulk data of connections nobody reads is most of a SPAN port: its
     * checksum (every byte of it) is skipped. Control segments, and what
     * scan detection looks at, are always verified. */
    if (pkt->tcp_csum_pending &&
        ((pkt->tcp_flags & (PS_TCP_SYN | PS_TCP_FIN | PS_TCP_RST)) || ps_scan_wants(pkt) ||
         !unread(ps_flow_find(w->flows, pkt, h))) &&
        !ps_decode_tcp_csum(w->dec, pkt))
        return;
    w->stats.tcp_packets++;
    if (w->sink.probe && ps_scan_wants(pkt)) {
        /* Before the flow table: unanswered SYNs never become flows, but
         * they are what sweep detection counts. */
        ps_probe pr;
        ps_probe_from_packet(&pr, pkt);
        w->sink.probe(w->sink.ctx, &pr);
    }
    ps_flow_process_hashed(w->flows, pkt, h, NULL);
}

/* Finishes the oldest held frame. */
static void finish_oldest(ps_worker *w)
{
    batch_ent *e = &w->batch[w->bhead];
    w->bhead = (w->bhead + 1) % PS_BATCH;
    w->bcount--;
    packet_tcp(w, &e->pkt, e->h);
}

/* Decodes a frame; for TCP, hashes it and prefetches its flow-table lines. */
static bool decode_tcp(ps_worker *w, int linktype, ps_time_us ts, const uint8_t *frame,
                       uint32_t caplen, uint32_t wirelen, ps_packet *pkt, uint64_t *h,
                       bool *slot_used)
{
    if (ps_decode(w->dec, linktype, ts, frame, caplen, wirelen, pkt) != PS_OK || pkt->ip_proto != 6)
        return false;
    *h = ps_flow_hash(w->flows, pkt);
    *slot_used = ps_flow_prefetch(w->flows, pkt, *h);
    return true;
}

void ps_worker_drain(ps_worker *w)
{
    while (w->bcount)
        finish_oldest(w);
}

/* Copies a frame of at most PS_BATCH_FRAME bytes in 16-byte moves: a
 * variable-length memcpy of a SYN's 54-80 bytes costs more than the packet's
 * decoding (string-instruction start-up). */
static void copy_frame(uint8_t *dst, const uint8_t *src, uint32_t len)
{
    if (len < 16) {
        memcpy(dst, src, len);
        return;
    }
    uint32_t i = 0;
    for (; i + 16 <= len; i += 16)
        memcpy(dst + i, src + i, 16);
    if (i < len)
        memcpy(dst + len - 16, src + len - 16, 16);
}

/* The ring, for frames the capture may reuse (copied when small) or leaves
 * in place (`stable`: held as they are, bulk segments too, so that their
 * flows are fetched ahead as well). */
__attribute__((always_inline)) static inline void packet_in(ps_worker *w, int linktype,
                                                            ps_time_us ts, const uint8_t *frame,
                                                            uint32_t caplen, uint32_t wirelen,
                                                            bool stable)
{
    w->stats.packets++;
    w->stats.bytes += wirelen;
    if (ts >= w->last_tick + PS_TICK_INTERVAL_US)
        ps_worker_tick(w, ts);
    if (caplen > (stable ? PS_HOLD_FRAME : PS_BATCH_FRAME) || frame == NULL) {
        ps_worker_drain(w);
        ps_packet pkt;
        uint64_t h;
        bool used;
        if (decode_tcp(w, linktype, ts, frame, caplen, wirelen, &pkt, &h, &used))
            packet_tcp(w, &pkt, h);
        return;
    }
    if (w->bcount == PS_BATCH) /* the oldest leaves: its lines were prefetched long ago */
        finish_oldest(w);
    batch_ent *e = &w->batch[(w->bhead + w->bcount) % PS_BATCH];
    if (!stable) {
        copy_frame(e->frame, frame, caplen);
        frame = e->frame;
    }
    if (!decode_tcp(w, linktype, ts, frame, caplen, wirelen, &e->pkt, &e->h, &e->slot_used))
        return;
    if (e->pkt.reassembled) { /* its bytes are the decoder's, until the next fragment */
        ps_worker_drain(w);
        packet_tcp(w, &e->pkt, e->h);
        return;
    }
    w->bcount++;
    /* Halfway through the ring, a packet's slot has arrived: fetch its flow. */
    if (w->bcount > PS_BATCH / 2) {
        const batch_ent *m = &w->batch[(w->bhead + w->bcount - 1 - PS_BATCH / 2) % PS_BATCH];
        if (m->slot_used)
            ps_flow_prefetch_flow(w->flows, m->h);
    }
}

void ps_worker_packet(ps_worker *w, int linktype, ps_time_us ts, const uint8_t *frame,
                      uint32_t caplen, uint32_t wirelen)
{
    packet_in(w, linktype, ts, frame, caplen, wirelen, false);
}

void ps_worker_packet_stable(ps_worker *w, int linktype, ps_time_us ts, const uint8_t *frame,
                             uint32_t caplen, uint32_t wirelen)
{
    packet_in(w, linktype, ts, frame, caplen, wirelen, true);
}

void ps_worker_flush(ps_worker *w, ps_time_us now)
{
    ps_worker_drain(w);
    ps_flow_flush(w->flows, PS_FLOW_END_SHUTDOWN, now);
    ps_app_tick(w->app, now);
}

const ps_worker_stats *ps_worker_stats_get(const ps_worker *w)
{
    return &w->stats;
}

const ps_decode_stats *ps_worker_decode_stats(const ps_worker *w)
{
    return ps_decoder_stats(w->dec);
}

const ps_flow_stats *ps_worker_flow_stats(const ps_worker *w)
{
    return ps_flow_table_stats(w->flows);
}

const ps_http_stats *ps_worker_http_stats(const ps_worker *w)
{
    return ps_http_pool_stats(ps_app_http_pool(w->app));
}

const ps_app_stats *ps_worker_app_stats(const ps_worker *w)
{
    return ps_app_stats_get(w->app);
}

const void *ps_worker_dissector_ctx(const ps_worker *w, const ps_stream_dissector *d)
{
    int idx = dissector_index(d);
    return idx >= 0 && idx < PS_MAX_STREAM_DISSECTORS ? w->dctx[idx] : NULL;
}

void ps_worker_warm(ps_worker *w)
{
    ps_ndpi_warm(w->ndpi);
}

const ps_ndpi *ps_worker_ndpi(const ps_worker *w)
{
    return w->ndpi;
}
