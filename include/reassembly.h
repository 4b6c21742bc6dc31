/* reassembly.h - per-direction TCP stream reassembly, private to the flow table. */
#ifndef PS_REASSEMBLY_H
#define PS_REASSEMBLY_H

#include "flow.h"

/* Payload bytes held by one out-of-order chunk of the segment pool. */
#define PS_SEG_DATA 2048u

/* Segments further than this from next_seq are dropped as PS_FA_BAD_SEQ. */
#define PS_SEQ_WINDOW (1u << 30)

typedef struct ps_reasm ps_reasm;

/* Asked when the segment pool is empty: free segments held by flows other
 * than the one being processed. Returns true if anything was freed. */
typedef bool (*ps_reasm_reclaim_fn)(void *ctx);

/* Bytes one pool chunk costs (header included), for memcap sizing. */
size_t ps_reasm_chunk_size(void);

/* Creates a reassembler with `nchunks` pool chunks (0 is allowed: nothing
 * can be queued out of order). `cb` and `st` must outlive it; it counts
 * into `st` and keeps st->mem_in_use/mem_peak current for its chunks.
 * Returns NULL on allocation failure. */
ps_reasm *ps_reasm_new(size_t nchunks, uint32_t ooo_cap, const ps_flow_callbacks *cb,
                       ps_flow_stats *st, ps_reasm_reclaim_fn reclaim, void *reclaim_ctx);

/* Frees the pool. Streams still holding chunks must not be used afterwards. */
void ps_reasm_free(ps_reasm *r);

/* Chunks currently free in the pool. */
size_t ps_reasm_free_chunks(const ps_reasm *r);

/* Zeroes a stream (no chunks may be held). */
void ps_stream_init(ps_stream *s);

/* Learns the ISN of a stream from its SYN: next_seq becomes isn + 1. */
void ps_stream_set_isn(ps_stream *s, uint32_t isn);

/* Starts a stream at `next_seq` if it has no position yet. */
void ps_stream_sync(ps_stream *s, uint32_t next_seq);

/* Feeds `len` payload bytes at `seq` into direction `dir` of `f`: delivers
 * in-order data in place (no copy), queues out-of-order data in the pool,
 * and applies overlap, cap and gap rules. Never keeps `data`. */
void ps_stream_data(ps_reasm *r, ps_flow *f, int dir, uint32_t seq, const uint8_t *data,
                    uint32_t len, ps_time_us ts);

/* A FIN at sequence `fin_seq` (after the segment's payload) closes the
 * direction: queued data is delivered, holes before the FIN become gaps. */
void ps_stream_fin(ps_reasm *r, ps_flow *f, int dir, uint32_t fin_seq, ps_time_us ts);

/* The other side acknowledged `ack` for direction `dir`: queued data the
 * peer has acknowledged behind a hole is delivered, the hole a gap. */
void ps_stream_ack(ps_reasm *r, ps_flow *f, int dir, uint32_t ack, ps_time_us ts);

/* Delivers everything queued (holes become gaps), returns the history
 * chunk and closes the direction. */
void ps_stream_flush(ps_reasm *r, ps_flow *f, int dir, ps_time_us ts);

/* Returns the stream's chunks to the pool without delivering them, the
 * history chunk included (history stays wanted). */
void ps_stream_release(ps_reasm *r, ps_stream *s);

/* Wants (on) or drops (off) the delivered-bytes history of one direction;
 * see ps_flow_keep_history(). The chunk is taken at the next delivery. */
void ps_stream_keep_history(ps_reasm *r, ps_stream *s, bool on);

#endif
