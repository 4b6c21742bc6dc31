/* capture.h - packet sources: capture files and live interfaces; wraps libpcap. */
#ifndef PS_CAPTURE_H
#define PS_CAPTURE_H

#include "ps_common.h"

typedef struct ps_capture ps_capture;

/* Receives one packet; data is valid only during the call. */
typedef void (*ps_capture_cb)(void *user, ps_time_us ts, const uint8_t *data, uint32_t caplen,
                              uint32_t wirelen);

/* Settings of a live capture (the [capture] section). */
typedef struct ps_capture_opts {
    uint32_t snaplen;      /* bytes kept per packet; large, so GRO/LRO segments stay whole */
    bool promiscuous;      /* promiscuous mode (a SPAN port needs it) */
    uint32_t buffer_bytes; /* kernel ring size */
    bool immediate;        /* hand over each packet at once instead of in blocks */
    const char *filter;    /* BPF expression; NULL or "" = every packet */
} ps_capture_opts;

/* Kernel counters of a live capture, kept across wraps of libpcap's 32-bit ones. */
typedef struct ps_capture_kstats {
    uint64_t recv;   /* packets the kernel passed the filter */
    uint64_t drop;   /* dropped: ring full (the sensor is behind) */
    uint64_t ifdrop; /* dropped by the interface or driver */
} ps_capture_kstats;

/* Opens a pcap or pcapng file. On failure returns NULL with one line of
 * explanation in err (missing, unreadable, empty, not a capture). */
ps_capture *ps_capture_open_file(const char *path, char *err, size_t errlen);

/* Opens interface `iface` for live capture in non-blocking mode. On
 * failure returns NULL, sets *status and writes one line to err naming the
 * interface (or the filter): PS_ERR_NOT_FOUND no such interface,
 * PS_ERR_STATE interface down, PS_ERR_CONFIG bad filter or setting,
 * PS_ERR_IO anything else (permission: needs CAP_NET_RAW). */
ps_capture *ps_capture_open_live(const char *iface, const ps_capture_opts *o, int *status,
                                 char *err, size_t errlen);

/* LINKTYPE_ value of the capture. */
int ps_capture_linktype(const ps_capture *c);

/* Name of the link type, e.g. "EN10MB" (static string, may be "unknown"). */
const char *ps_capture_linktype_name(const ps_capture *c);

/* Reads the next packet. Returns 1 with the fields set (data valid until
 * the next call on c; libpcap copies live packets out of its ring for this),
 * 0 at end of file or when no packet is waiting on an interface, or
 * PS_ERR_IO when a file is damaged beyond what libpcap can skip or an
 * interface failed (err holds libpcap's reason). */
int ps_capture_next(ps_capture *c, ps_time_us *ts, const uint8_t **data, uint32_t *caplen,
                    uint32_t *wirelen, char *err, size_t errlen);

/* Hands up to `max` packets to cb. Returns the number handed over: 0 means
 * end of file, or for a live capture that none is waiting. PS_ERR_IO (reason
 * in err) when a file is damaged beyond what libpcap can skip or an
 * interface failed (down, removed): close it and open it again. */
int ps_capture_dispatch(ps_capture *c, int max, ps_capture_cb cb, void *user, char *err,
                        size_t errlen);

/* Bytes of later frames for which a frame handed out by
 * ps_capture_dispatch() stays in place, when ps_capture_stable() says so. */
#define PS_CAPTURE_STABLE_BYTES (1u << 20)

/* True when frames stay in place for PS_CAPTURE_STABLE_BYTES after they
 * were handed out (classic pcap files, read in place); false when the
 * capture may reuse a frame's memory once its callback returns. */
bool ps_capture_stable(const ps_capture *c);

/* Descriptor to poll() for readability (live captures), or -1. */
int ps_capture_fd(const ps_capture *c);

/* Kernel counters of a live capture since it was opened (zeros for files);
 * false when libpcap could not read them. */
bool ps_capture_kernel_stats(ps_capture *c, ps_capture_kstats *out);

/* File size and current offset, for progress reports (0 when unknown). */
uint64_t ps_capture_size(const ps_capture *c);
uint64_t ps_capture_offset(const ps_capture *c);

void ps_capture_close(ps_capture *c);

#endif
