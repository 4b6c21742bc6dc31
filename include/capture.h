/* capture.h - packet sources (capture files now, live interfaces later); wraps libpcap. */
#ifndef PS_CAPTURE_H
#define PS_CAPTURE_H

#include "ps_common.h"

typedef struct ps_capture ps_capture;

/* Opens a pcap or pcapng file. On failure returns NULL with one line of
 * explanation in err (missing, unreadable, empty, not a capture). */
ps_capture *ps_capture_open_file(const char *path, char *err, size_t errlen);

/* LINKTYPE_ value of the capture. */
int ps_capture_linktype(const ps_capture *c);

/* Name of the link type, e.g. "EN10MB" (static string, may be "unknown"). */
const char *ps_capture_linktype_name(const ps_capture *c);

/* Reads the next packet. Returns 1 with the fields set (data valid until
 * the next call), 0 at end of file, or PS_ERR_IO when the file is damaged
 * beyond what libpcap can skip (err holds libpcap's reason). */
int ps_capture_next(ps_capture *c, ps_time_us *ts, const uint8_t **data, uint32_t *caplen,
                    uint32_t *wirelen, char *err, size_t errlen);

/* File size and current offset, for progress reports (0 when unknown). */
uint64_t ps_capture_size(const ps_capture *c);
uint64_t ps_capture_offset(const ps_capture *c);

void ps_capture_close(ps_capture *c);

#endif
