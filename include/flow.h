/* flow.h - bidirectional TCP flow table with per-direction stream reassembly. */
#ifndef PS_FLOW_H
#define PS_FLOW_H

#include "ps_common.h"
#include "decode.h"

/* Direction of a byte stream inside a flow. */
enum { PS_DIR_TO_SERVER = 0, PS_DIR_TO_CLIENT = 1 };

/* Why a flow ended (passed to on_close). */
enum ps_flow_end {
    PS_FLOW_END_FIN = 0, /* both sides closed, or FIN then idle */
    PS_FLOW_END_RST,
    PS_FLOW_END_IDLE,    /* idle timeout */
    PS_FLOW_END_EVICTED, /* memory or table cap */
    PS_FLOW_END_SHUTDOWN /* end of capture / program exit */
};

/* Flow flags. */
#define PS_FLOW_F_SYN_SEEN    0x0001u
#define PS_FLOW_F_SYNACK_SEEN 0x0002u
#define PS_FLOW_F_MIDSTREAM   0x0004u /* picked up without a handshake */
#define PS_FLOW_F_FIN_CLIENT  0x0008u
#define PS_FLOW_F_FIN_SERVER  0x0010u
#define PS_FLOW_F_RST         0x0020u
#define PS_FLOW_F_NO_DATA     0x0040u /* set by the owner: reads no more; streams stop tracking */

typedef struct ps_seg ps_seg; /* out-of-order segment, private to reassembly */

/* Reassembly state of one direction. Private to sensor/reassembly.c apart
 * from the counters, which the flow's owner may read. */
typedef struct ps_stream {
    uint32_t next_seq; /* next in-order sequence number expected */
    uint32_t isn;
    bool isn_known;
    bool fin_seen;
    bool closed; /* no more data will be delivered */
    uint32_t ooo_bytes;
    uint16_t ooo_count;
    ps_seg *ooo;        /* sorted by sequence */
    uint64_t delivered; /* bytes handed to on_data */
    bool synced;        /* next_seq is valid (handshake or first data seen) */
    bool peer_ack_known;
    uint32_t peer_ack; /* highest ACK the other side sent for this direction */
    /* Last delivered bytes, kept only to check overlaps (ps_flow_keep_history). */
    ps_seg *hist;       /* ring indexed by sequence number, or NULL */
    uint32_t hist_end;  /* sequence number after the ring's newest byte */
    uint16_t hist_len;  /* valid bytes in the ring, ending at hist_end */
    uint8_t hist_state; /* private to reassembly.c */
} ps_stream;

/* One TCP connection. Flows live in an array reserved at start-up, so a
 * ps_flow pointer stays readable after its flow closed: compare `id` to
 * know whether it still is the same connection (0 = free slot).
 * The client is the side that sent the SYN, or, for a
 * flow picked up mid-stream, the side talking to the lower (well-known) port
 * heuristically chosen by the flow table. */
typedef struct ps_flow {
    uint64_t id; /* unique within this process */
    ps_addr cli, srv;
    uint16_t cport, sport;
    uint8_t proto;
    uint32_t flags;
    ps_time_us first_ts, last_ts;
    uint64_t pkts[2], bytes[2];
    ps_stream stream[2];

    /* Owned by the flow's user (the worker): dissector selection and state.
     * The flow table zeroes these at creation and never touches them again. */
    const void *app_desc;
    void *app_state;
    uint8_t probe_buf[24];
    uint8_t probe_len;
    uint8_t app_flags;

    /* Table internals. */
    struct ps_flow *hnext;
    struct ps_flow *lru_prev, *lru_next;
    uint32_t hash;
    uint8_t lru_class; /* which timeout list holds the flow */
} ps_flow;

/* Callbacks through which the flow table hands stream content out. All run
 * synchronously inside ps_flow_process()/ps_flow_expire()/ps_flow_flush()
 * and must not call back into the same table (ps_flow_keep_history() is the
 * exception). During on_data and on_gap,
 * f->stream[dir].next_seq is the sequence number of the first byte. */
typedef struct ps_flow_callbacks {
    /* In-order bytes of direction `dir`; `data` is valid only during the call. */
    void (*on_data)(void *ctx, ps_flow *f, int dir, const uint8_t *data, size_t len, ps_time_us ts);
    /* `len` bytes of direction `dir` will never arrive (capture loss, cap). */
    void (*on_gap)(void *ctx, ps_flow *f, int dir, uint32_t len, ps_time_us ts);
    /* The flow is about to be freed; release app_state here. */
    void (*on_close)(void *ctx, ps_flow *f, int reason, ps_time_us ts);
    void *ctx;
} ps_flow_callbacks;

typedef struct ps_flow_config {
    uint32_t max_flows;            /* default 65536 */
    uint64_t memcap;               /* bytes for flows + reassembly, default 128 MiB */
    uint32_t stream_ooo_cap;       /* out-of-order bytes held per direction, default 256 KiB */
    uint32_t syn_cache_slots;      /* unanswered SYNs remembered, default 65536 */
    uint32_t tcp_idle_timeout_s;   /* established idle, default 600 */
    uint32_t tcp_closed_timeout_s; /* after FIN/RST, default 10 */
    uint32_t tcp_syn_timeout_s;    /* handshake not finished, default 30 */
} ps_flow_config;

void ps_flow_config_default(ps_flow_config *cfg);

/* Anomalies counted by flows and reassembly. */
enum ps_flow_anomaly {
    PS_FA_OVERLAP_DIFFERENT = 0, /* overlapping segment with different bytes */
    PS_FA_OOO_CAP,               /* per-direction out-of-order cap reached */
    PS_FA_GAP,                   /* bytes skipped to resync */
    PS_FA_MEMCAP,                /* global memcap reached */
    PS_FA_BAD_SEQ,               /* segment far outside the window */
    PS_FA_SYN_DATA_MISMATCH,     /* SYN retransmitted with another ISN */
    PS_FA_MAX
};

typedef struct ps_flow_stats {
    uint64_t created;
    uint64_t active; /* created - closed */
    uint64_t active_peak;
    uint64_t closed;    /* flows ended for any reason */
    uint64_t timed_out; /* ended by idle timeout (PS_FLOW_END_IDLE) */
    uint64_t evicted;   /* by max_flows or memcap */
    uint64_t midstream;
    uint64_t syn_cached; /* SYNs held in the SYN cache, not as flows */
    uint64_t syn_cache_evicted;
    uint64_t retransmitted;       /* segments wholly already delivered */
    uint64_t overlaps;            /* overlaps with identical bytes */
    uint64_t history_unavailable; /* directions denied a history chunk (pool low) */
    uint64_t ooo_segments;
    uint64_t gap_bytes;
    uint64_t mem_in_use;
    uint64_t mem_peak;
    uint64_t anomalies[PS_FA_MAX];
} ps_flow_stats;

typedef struct ps_flow_table ps_flow_table;

/* Creates a flow table; all memory for flows, the SYN cache and segment
 * storage is reserved against cfg->memcap (what flows and the SYN cache
 * leave becomes the out-of-order segment pool). A NULL cfg, or a zero
 * max_flows or memcap, means the default. Returns NULL on allocation failure
 * or when memcap cannot even hold the flows and the SYN cache. */
ps_flow_table *ps_flow_table_new(const ps_flow_config *cfg, const ps_flow_callbacks *cb);

/* Closes every flow (on_close with PS_FLOW_END_SHUTDOWN) then frees. */
void ps_flow_table_free(ps_flow_table *t);

/* Feeds one decoded TCP packet (others are ignored and return PS_ERR_SKIP).
 * Finds or creates its flow, reassembles, and calls the callbacks. A SYN
 * without answer is kept only in the SYN cache and never becomes a flow.
 * Returns PS_OK or PS_ERR_SKIP. `*flow_out`, when not NULL, receives the
 * flow or NULL. */
int ps_flow_process(ps_flow_table *t, const ps_packet *pkt, ps_flow **flow_out);

/* ps_flow_process() in steps, so that the table's cache misses overlap
 * other work: ps_flow_hash() is the packet's keyed tuple hash (valid for
 * this table only), ps_flow_prefetch() starts loading what the packet will
 * touch (true when its home slot is in use), and ps_flow_process_hashed() (same contract as
 * ps_flow_process) takes that hash instead of computing it. */
uint64_t ps_flow_hash(const ps_flow_table *t, const ps_packet *p);
bool ps_flow_prefetch(const ps_flow_table *t, const ps_packet *p, uint64_t h);
/* Second stage, a few packets after a ps_flow_prefetch() that returned true
 * (the home slot is in use: the packet may have a flow): reads the slot,
 * loaded by then, and starts loading the flow it names when its hash
 * matches. */
void ps_flow_prefetch_flow(const ps_flow_table *t, uint64_t h);
int ps_flow_process_hashed(ps_flow_table *t, const ps_packet *p, uint64_t h, ps_flow **flow_out);

/* The flow the packet (hash `h` from ps_flow_hash()) belongs to, or NULL;
 * changes nothing. The answer is remembered for the next
 * ps_flow_process_hashed() of the same packet, which then skips its own
 * lookup. */
const ps_flow *ps_flow_find(ps_flow_table *t, const ps_packet *p, uint64_t h);

/* Times out idle flows as of time `now` (packet time in replay). Cheap to
 * call often: it inspects only the least recently used flows. */
void ps_flow_expire(ps_flow_table *t, ps_time_us now);

/* Ends every flow (on_close with `reason`), e.g. at end of capture. */
void ps_flow_flush(ps_flow_table *t, int reason, ps_time_us now);

const ps_flow_stats *ps_flow_table_stats(const ps_flow_table *t);

/* Turns the delivered-bytes history of both directions of `f` on or off.
 * With it, a segment overlapping data already delivered is compared with
 * the last 2 KiB delivered: different bytes count PS_FA_OVERLAP_DIFFERENT
 * once per segment, identical ones `overlaps` (`retransmitted` alone when
 * wholly delivered); the delivered bytes stay (Linux policy). It costs one
 * segment pool chunk per direction, taken at the next delivery unless that
 * would leave less than a quarter of the pool to out-of-order data (then
 * counted in history_unavailable, and no history until turned on again),
 * and returned when the direction closes, the flow ends or history is
 * turned off. Without it nothing is copied. May be called from on_data and
 * on_gap (the one call back into the table allowed there). */
void ps_flow_keep_history(ps_flow_table *t, ps_flow *f, bool on);

/* Stable dotted name of anomaly `a` (e.g. "stream.overlap_different"). */
const char *ps_flow_anomaly_name(int a);

#endif
