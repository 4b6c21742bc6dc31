/* live.h - live capture on up to PS_MAX_IFACES interfaces merged into one packet stream. */
#ifndef PS_LIVE_H
#define PS_LIVE_H

#include "ps_common.h"
#include "capture.h"
#include "config.h"

typedef struct ps_live ps_live;

/* Receives one packet of any interface, in arrival order. */
typedef void (*ps_live_cb)(void *user, int linktype, ps_time_us ts, const uint8_t *data,
                           uint32_t caplen, uint32_t wirelen);

/* Counters of one interface, across reopens. */
typedef struct ps_live_iface_stats {
    const char *name;
    bool up;                  /* capturing now (false while waiting to reopen) */
    uint64_t packets, bytes;  /* handed to the sensor (bytes on the wire) */
    uint64_t over_mtu;        /* frames longer than the MTU: GRO/LRO/TSO segments */
    uint64_t truncated;       /* frames cut by the snap length */
    uint64_t failures;        /* times the capture failed (interface down, removed) */
    uint64_t reopens;         /* times it was opened again */
    ps_capture_kstats kernel; /* pcap_stats, summed over every handle */
} ps_live_iface_stats;

/* Opens every interface of `names`. An interface that exists but is down is
 * retried in the background (logged); any other failure (no such interface,
 * bad filter, no permission) returns NULL with one line in err. */
ps_live *ps_live_open(const char names[][PS_IFNAME_MAX], uint32_t n, const ps_capture_opts *o,
                      char *err, size_t errlen);

/* Waits up to timeout_ms for packets and hands what is waiting to cb, at
 * most a batch, merged across interfaces by timestamp (so both directions
 * of a tap interleave as on the wire), and reopens failed interfaces whose
 * back-off (1 s doubling to 30 s) has passed. Never exits on an interface
 * failure: it is counted, logged once per state change and retried.
 * Returns the number of packets handed over; *more is set when packets may
 * still be waiting (call again without waiting). */
int ps_live_poll(ps_live *l, int timeout_ms, ps_live_cb cb, void *user, bool *more);

uint32_t ps_live_count(const ps_live *l);

/* Counters of interface i (0 <= i < ps_live_count). */
void ps_live_stats(ps_live *l, uint32_t i, ps_live_iface_stats *out);

void ps_live_close(ps_live *l);

#endif
