/* pcapfile.h - classic pcap savefiles read without libpcap: records parsed in place. */
#ifndef PS_PCAPFILE_H
#define PS_PCAPFILE_H

#include <stddef.h>
#include <stdint.h>

#include "ps_common.h"

#define PS_PCAPFILE_HDR     24u
#define PS_PCAPFILE_REC_HDR 16u
/* libpcap's MAXIMUM_SNAPLEN: a record that claims more is damage, not a packet. */
#define PS_PCAPFILE_MAX_CAPLEN 262144u
/* A record's data, once handed out by the reader, stays where it is until
 * records of at least this many more bytes (headers included) have been
 * handed out: a consumer may hold a few frames without copying them. */
#define PS_PCAPFILE_STABLE_BYTES (1u << 20)

/* What the file header says, as this reader uses it. */
typedef struct ps_pcapfile_info {
    uint32_t linktype; /* LINKTYPE_ value; the ones this reader takes equal their DLT_ */
    uint32_t snaplen;  /* 1..PS_PCAPFILE_MAX_CAPLEN */
    uint8_t nanos;     /* 1: nanosecond time stamps (converted to microseconds) */
} ps_pcapfile_info;

/* One record. `data` points into the caller's buffer. */
typedef struct ps_pcapfile_rec {
    ps_time_us ts;
    const uint8_t *data;
    uint32_t caplen;  /* bytes at data: the record's, cut to the snaplen as libpcap does */
    uint32_t wirelen; /* the record's original length, as written */
} ps_pcapfile_rec;

/* Parses the 24-byte file header at buf. Returns PS_PCAPFILE_HDR when it is
 * a file this reader takes: classic pcap in this machine's byte order,
 * microsecond or nanosecond, version 2.4, snaplen 1..262144, a link type
 * whose LINKTYPE_ and DLT_ values agree (null, Ethernet, loop, SLL, SLL2,
 * raw IPv4/IPv6). PS_ERR_NEED_MORE when len < 24. PS_ERR_UNSUPPORTED for
 * anything else, pcapng and damaged headers included: libpcap's turn, with
 * its error messages. */
int ps_pcapfile_header(const uint8_t *buf, size_t len, ps_pcapfile_info *fi);

/* Parses the record at buf (len bytes available). Returns the bytes the
 * record takes in the file (16 + its caplen) with *rec filled, once all of
 * them are within len; PS_ERR_NEED_MORE when more are needed; or
 * PS_ERR_BAD_INPUT when it claims over 262144 captured bytes (err says so,
 * in libpcap's words). Never allocates; reads nothing past buf + len. */
int64_t ps_pcapfile_record(const ps_pcapfile_info *fi, const uint8_t *buf, size_t len,
                           ps_pcapfile_rec *rec, char *err, size_t errlen);

/* A file read through one buffer with read(2): no copy and no library call
 * per packet. */
typedef struct ps_pcapfile_reader ps_pcapfile_reader;

/* Takes over descriptor fd (positioned at the start of the file) when the
 * file is one ps_pcapfile_header() takes; returns NULL and leaves fd alone
 * (rewound to offset 0) otherwise, or when out of memory. */
ps_pcapfile_reader *ps_pcapfile_open(int fd);

/* The file header's view of the capture. */
const ps_pcapfile_info *ps_pcapfile_info_of(const ps_pcapfile_reader *r);

/* Next record: 1 with *rec filled (its data valid as PS_PCAPFILE_STABLE_BYTES says), 0
 * at the end of the file, PS_ERR_IO on a read error, a truncated record or
 * one claiming too much (err says which, in libpcap's words). A failed
 * reader stays failed. */
int ps_pcapfile_next(ps_pcapfile_reader *r, ps_pcapfile_rec *rec, char *err, size_t errlen);

/* Called for each record: its time, data (left in place as
 * PS_PCAPFILE_STABLE_BYTES says), captured and original lengths. The shape
 * of ps_capture_cb. */
typedef void (*ps_pcapfile_cb)(void *user, ps_time_us ts, const uint8_t *data, uint32_t caplen,
                               uint32_t wirelen);

/* Hands up to max records to cb, as ps_pcapfile_next() would one by one.
 * Returns how many (0 at the end of the file) or PS_ERR_IO as
 * ps_pcapfile_next() does, after the records before the damage. */
int ps_pcapfile_dispatch(ps_pcapfile_reader *r, int max, ps_pcapfile_cb cb, void *user, char *err,
                         size_t errlen);

/* Bytes of the file consumed so far (records handed out, header included). */
uint64_t ps_pcapfile_offset(const ps_pcapfile_reader *r);

/* Closes the descriptor and frees the reader. NULL is ignored. */
void ps_pcapfile_close(ps_pcapfile_reader *r);

#endif
