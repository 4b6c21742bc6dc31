/* ndpi_adapter.h - classifies flows no stream dissector claimed, via nDPI (only sensor/ndpi.c). */
#ifndef PS_NDPI_ADAPTER_H
#define PS_NDPI_ADAPTER_H

#include "ps_common.h"
#include "flow.h"

typedef struct ps_ndpi ps_ndpi;
typedef struct ps_ndpi_flow ps_ndpi_flow;

/* Verdict of ps_ndpi_flow_feed. */
enum { PS_NDPI_UNDECIDED = 0, PS_NDPI_HTTP = 1, PS_NDPI_OTHER = 2 };

typedef struct ps_ndpi_stats {
    uint64_t flows;          /* flows classified (counted once each, at their end) */
    uint64_t packets;        /* data chunks given to nDPI */
    uint64_t pool_exhausted; /* no flow state free: flow left unclassified */
    uint64_t http_handoffs;  /* flows nDPI called HTTP, handed to the HTTP dissector */
    uint64_t released;       /* classification abandoned: a dissector claimed the flow */
} ps_ndpi_stats;

/* One protocol's count of flows, for the summary. */
typedef struct ps_ndpi_count {
    const char *name; /* nDPI's protocol name, static within the library */
    uint64_t flows;
} ps_ndpi_count;

/* Creates the adapter: a detection module with every protocol enabled and
 * a pool of max_flows flow states, both built when the first flow needs
 * them (or at ps_ndpi_warm); each flow is given at most max_packets data
 * chunks. NULL when nDPI is not built in or on allocation failure. */
ps_ndpi *ps_ndpi_new(uint32_t max_flows, uint32_t max_packets);

/* Builds the detection module now (NULL is ignored): a live capture pays
 * its start-up before the first packet instead of in the middle of the
 * traffic. If nDPI will not start, flows stay unclassified (counted as
 * pool_exhausted). */
void ps_ndpi_warm(ps_ndpi *n);
void ps_ndpi_free(ps_ndpi *n);

/* Takes a flow state from the pool (NULL at the cap, counted). */
ps_ndpi_flow *ps_ndpi_flow_new(ps_ndpi *n);

/* Gives nDPI one chunk of in-order stream bytes of direction dir of f, as
 * a synthetic IP/TCP packet built from the flow's tuple (after a synthetic
 * handshake the first time), so nDPI never parses captured headers.
 * Returns PS_NDPI_UNDECIDED (feed more), PS_NDPI_HTTP or PS_NDPI_OTHER
 * (decided, or out of packets); after a verdict call ps_ndpi_flow_end(). */
int ps_ndpi_flow_feed(ps_ndpi *n, ps_ndpi_flow *nf, const ps_flow *f, int dir, const uint8_t *data,
                      size_t len, ps_time_us ts);

/* Ends classification: gives up if undecided, counts the flow under its
 * protocol ("Unknown" when nDPI has none) and returns nf to the pool. */
void ps_ndpi_flow_end(ps_ndpi *n, ps_ndpi_flow *nf);

/* Returns nf to the pool without counting (a dissector took the flow). */
void ps_ndpi_flow_release(ps_ndpi *n, ps_ndpi_flow *nf);

/* Fills out[0..cap) with the protocols that counted flows, most flows
 * first; returns how many. */
size_t ps_ndpi_counts(const ps_ndpi *n, ps_ndpi_count *out, size_t cap);

const ps_ndpi_stats *ps_ndpi_stats_get(const ps_ndpi *n);

/* nDPI's version string, or "none" when not built in. */
const char *ps_ndpi_version(void);

#endif
