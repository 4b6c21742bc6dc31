/* worker.h - one packet pipeline: decode, flows, reassembly, dissectors; owns a partition of flows.
 */
#ifndef PS_WORKER_H
#define PS_WORKER_H

#include "ps_common.h"
#include "app.h"
#include "config.h"
#include "decode.h"
#include "event.h"
#include "flow.h"

typedef struct ps_worker ps_worker;

typedef struct ps_worker_stats {
    uint64_t packets, bytes;
    uint64_t tcp_packets;
    uint64_t streams_dissected[4]; /* by index in ps_stream_dissectors */
    uint64_t streams_unclaimed;    /* no dissector recognised the first bytes */
    uint64_t state_cap;            /* dissector state slots exhausted */
} ps_worker_stats;

/* Creates a worker that reports events to `sink`. Everything the hot path
 * needs is reserved here. `cfg` must outlive the worker. NULL on failure. */
ps_worker *ps_worker_new(const ps_config *cfg, ps_event_sink sink);

/* Ends all flows (reporting pending requests) and frees the worker. */
void ps_worker_free(ps_worker *w, ps_time_us now);

/* Processes one captured frame. Never fails: bad input is counted. Small
 * frames are copied and may wait for up to 7 later ones before they reach
 * the flow table (in capture order); ps_worker_drain(), _tick() and
 * _flush() finish them. */
void ps_worker_packet(ps_worker *w, int linktype, ps_time_us ts, const uint8_t *frame,
                      uint32_t caplen, uint32_t wirelen);

/* How much later capture data a frame given to ps_worker_packet_stable()
 * must stay in place for. */
#define PS_WORKER_HOLD_BYTES (1u << 20)

/* ps_worker_packet() for a capture that leaves each frame where it is until
 * frames of PS_WORKER_HOLD_BYTES more bytes have been passed (the pcap file
 * reader): frames are held without a copy, large ones too, so that the
 * flows of bulk segments are fetched ahead like those of small packets. */
void ps_worker_packet_stable(ps_worker *w, int linktype, ps_time_us ts, const uint8_t *frame,
                             uint32_t caplen, uint32_t wirelen);

/* Finishes the frames ps_worker_packet() holds back. Call it before reading
 * per-flow results or handing time to the correlator. */
void ps_worker_drain(ps_worker *w);

/* Advances time-driven work (idle flows, response timeouts) to `now`. */
void ps_worker_tick(ps_worker *w, ps_time_us now);

/* Ends every flow now (end of capture). */
void ps_worker_flush(ps_worker *w, ps_time_us now);

const ps_worker_stats *ps_worker_stats_get(const ps_worker *w);
const ps_decode_stats *ps_worker_decode_stats(const ps_worker *w);
const ps_flow_stats *ps_worker_flow_stats(const ps_worker *w);
const ps_http_stats *ps_worker_http_stats(const ps_worker *w);
const ps_app_stats *ps_worker_app_stats(const ps_worker *w);

/* Stream dissector d's per-worker context (e.g. for ps_tls_stats_get), or NULL. */
const void *ps_worker_dissector_ctx(const ps_worker *w, const ps_stream_dissector *d);

/* Builds what the worker otherwise builds on first need (the nDPI module),
 * so that a live capture does not pause in the middle of traffic. */
void ps_worker_warm(ps_worker *w);

/* The nDPI adapter of this worker (ndpi_adapter.h), NULL when disabled. */
struct ps_ndpi;
const struct ps_ndpi *ps_worker_ndpi(const ps_worker *w);

#endif
