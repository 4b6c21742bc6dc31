/* capture-file.c - reads classic pcap savefiles in place from one buffer, without libpcap. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pcapfile.h"

/* Why not libpcap for these files: it reads a record with two fread() calls
 * (header, then data copied out of stdio's buffer into its own), which on a
 * sweep of small packets cost more than half of what the benchmark's floor
 * measures. Here a record is parsed where read(2) put it. Files this reader
 * does not take (pcapng, other byte order, old versions, exotic link
 * types) still go to libpcap (capture-pcap.c). */

#define MAGIC_US   0xa1b2c3d4u
#define MAGIC_NS   0xa1b23c4du
#define READ_CHUNK PS_PCAPFILE_STABLE_BYTES
/* A whole record always fits after an unread tail, which is shorter. */
#define BUF_CAP (READ_CHUNK + 2 * (PS_PCAPFILE_REC_HDR + PS_PCAPFILE_MAX_CAPLEN))

struct ps_pcapfile_reader {
    int fd;
    bool eof;
    int failed; /* 0, or the status every later call returns */
    ps_pcapfile_info fi;
    size_t cap;      /* bytes at buf */
    size_t pos, len; /* unread bytes are buf[pos, len) */
    uint64_t base;   /* file offset of buf[0] */
    uint8_t *buf;    /* bufs[cur] */
    /* Two buffers, used in turn: a refill continues in the other one and
     * leaves the records handed out where they are (PS_PCAPFILE_STABLE_BYTES). */
    uint8_t *bufs[2];
    size_t caps[2];
    int cur;
};

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4); /* the file's byte order is this machine's: the header said so */
    return v;
}

static bool linktype_taken(uint32_t lt)
{
    /* Link types whose LINKTYPE_ value is also the DLT_ value libpcap would
     * report, so what the decoder sees does not depend on the reader. */
    switch (lt) {
    case 0:   /* NULL */
    case 1:   /* ETHERNET */
    case 108: /* LOOP */
    case 113: /* LINUX_SLL */
    case 228: /* IPV4 */
    case 229: /* IPV6 */
    case 276: /* LINUX_SLL2 */
        return true;
    default:
        return false;
    }
}

int ps_pcapfile_header(const uint8_t *buf, size_t len, ps_pcapfile_info *fi)
{
    if (len < PS_PCAPFILE_HDR)
        return PS_ERR_NEED_MORE;
    uint32_t magic = rd32(buf);
    if (magic != MAGIC_US && magic != MAGIC_NS)
        return PS_ERR_UNSUPPORTED;
    uint16_t major, minor;
    memcpy(&major, buf + 4, 2);
    memcpy(&minor, buf + 6, 2);
    if (major != 2 || minor != 4)
        return PS_ERR_UNSUPPORTED;
    uint32_t lt = rd32(buf + 20);
    if (!linktype_taken(lt)) /* also refuses the upper 16 bits (FCS length, flags) set */
        return PS_ERR_UNSUPPORTED;
    uint32_t snap = rd32(buf + 16);
    /* libpcap's adjustment: 0 or too large means the largest. */
    fi->snaplen = snap == 0 || snap > PS_PCAPFILE_MAX_CAPLEN ? PS_PCAPFILE_MAX_CAPLEN : snap;
    fi->linktype = lt;
    fi->nanos = magic == MAGIC_NS;
    return (int)PS_PCAPFILE_HDR;
}

/* The record at buf, whose captured length caplen is known to be there. */
static inline void fill_rec(const ps_pcapfile_info *fi, const uint8_t *buf, uint32_t caplen,
                            ps_pcapfile_rec *rec)
{
    /* Signed 32-bit fields, widened as libpcap widens them into a timeval. */
    int64_t sec = (int32_t)rd32(buf), frac = (int32_t)rd32(buf + 4);
    if (fi->nanos)
        frac /= 1000;
    rec->ts = (ps_time_us)sec * PS_USEC_PER_SEC + (ps_time_us)frac;
    rec->data = buf + PS_PCAPFILE_REC_HDR;
    rec->caplen = PS_MIN(caplen, fi->snaplen);
    rec->wirelen = rd32(buf + 12);
}

int64_t ps_pcapfile_record(const ps_pcapfile_info *fi, const uint8_t *buf, size_t len,
                           ps_pcapfile_rec *rec, char *err, size_t errlen)
{
    if (len < PS_PCAPFILE_REC_HDR)
        return PS_ERR_NEED_MORE;
    uint32_t caplen = rd32(buf + 8);
    if (caplen > PS_PCAPFILE_MAX_CAPLEN) {
        snprintf(err, errlen, "invalid packet capture length %u, bigger than maximum of %u", caplen,
                 PS_PCAPFILE_MAX_CAPLEN);
        return PS_ERR_BAD_INPUT;
    }
    if (len - PS_PCAPFILE_REC_HDR < caplen)
        return PS_ERR_NEED_MORE;
    fill_rec(fi, buf, caplen, rec);
    return (int64_t)PS_PCAPFILE_REC_HDR + caplen;
}

/* Reads until at least `need` (<= 16 + 262144) unread bytes are buffered
 * or the file ends. When they would not fit after the read position, the
 * unread tail is copied to the start of the other buffer, which continues;
 * this one is left alone until that one runs short in turn, which takes
 * more than READ_CHUNK bytes of records. */
static int fill(ps_pcapfile_reader *r, size_t need)
{
    if (r->cap - r->pos < need) {
        int o = 1 - r->cur;
        if (!r->bufs[o]) {
            r->bufs[o] = malloc(BUF_CAP);
            if (!r->bufs[o]) {
                errno = ENOMEM;
                return PS_ERR_NOMEM;
            }
            r->caps[o] = BUF_CAP;
        }
        size_t tail = r->len - r->pos;
        memcpy(r->bufs[o], r->buf + r->pos, tail);
        r->base += r->pos;
        r->cur = o;
        r->buf = r->bufs[o];
        r->cap = r->caps[o];
        r->pos = 0;
        r->len = tail;
    }
    while (!r->eof && r->len - r->pos < need) {
        ssize_t n = read(r->fd, r->buf + r->len, r->cap - r->len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return PS_ERR_IO;
        }
        if (n == 0)
            r->eof = true;
        r->len += (size_t)n;
    }
    return PS_OK;
}

ps_pcapfile_reader *ps_pcapfile_open(int fd)
{
    uint8_t hdr[PS_PCAPFILE_HDR];
    size_t got = 0;
    while (got < sizeof hdr) {
        ssize_t n = read(fd, hdr + got, sizeof hdr - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    ps_pcapfile_info fi;
    ps_pcapfile_reader *r = NULL;
    if (ps_pcapfile_header(hdr, got, &fi) == (int)PS_PCAPFILE_HDR)
        r = calloc(1, sizeof *r);
    if (r) {
        /* A small file is held whole: a capture of a few packets costs no
         * 1.3 MiB buffer. */
        struct stat st;
        r->cap = BUF_CAP;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0 &&
            (uint64_t)st.st_size < BUF_CAP)
            r->cap = PS_MAX((size_t)st.st_size, (size_t)PS_PCAPFILE_HDR);
        r->buf = r->bufs[0] = malloc(r->cap);
        r->caps[0] = r->cap;
    }
    if (!r || !r->buf) {
        if (r)
            free(r);
        (void)lseek(fd, 0, SEEK_SET);
        return NULL;
    }
    r->fd = fd;
    r->fi = fi;
    r->base = PS_PCAPFILE_HDR;
    return r;
}

const ps_pcapfile_info *ps_pcapfile_info_of(const ps_pcapfile_reader *r)
{
    return &r->fi;
}

int ps_pcapfile_next(ps_pcapfile_reader *r, ps_pcapfile_rec *rec, char *err, size_t errlen)
{
    if (r->failed) {
        snprintf(err, errlen, "capture already failed");
        return r->failed;
    }
    for (;;) {
        int64_t n = ps_pcapfile_record(&r->fi, r->buf + r->pos, r->len - r->pos, rec, err, errlen);
        if (n > 0) {
            r->pos += (size_t)n;
            return 1;
        }
        if (n != PS_ERR_NEED_MORE) {
            r->failed = PS_ERR_IO;
            return PS_ERR_IO;
        }
        size_t have = r->len - r->pos;
        if (r->eof) {
            if (have == 0)
                return 0;
            if (have < PS_PCAPFILE_REC_HDR)
                snprintf(err, errlen,
                         "truncated dump file; tried to read %u header bytes, only got %zu",
                         PS_PCAPFILE_REC_HDR, have);
            else
                snprintf(err, errlen,
                         "truncated dump file; tried to read %u captured bytes, only got %zu",
                         rd32(r->buf + r->pos + 8), have - PS_PCAPFILE_REC_HDR);
            r->failed = PS_ERR_IO;
            return PS_ERR_IO;
        }
        /* At most 16 + 262144 bytes: the other buffer always has room (a
         * buffer the size of a small file that grew since does not). */
        size_t need = have < PS_PCAPFILE_REC_HDR
                          ? PS_PCAPFILE_REC_HDR
                          : PS_PCAPFILE_REC_HDR + (size_t)rd32(r->buf + r->pos + 8);
        if (fill(r, need) != PS_OK) {
            snprintf(err, errlen, "error reading dump file: %s", strerror(errno));
            r->failed = PS_ERR_IO;
            return PS_ERR_IO;
        }
    }
}

int ps_pcapfile_dispatch(ps_pcapfile_reader *r, int max, ps_pcapfile_cb cb, void *user, char *err,
                         size_t errlen)
{
    int n = 0;
    ps_pcapfile_rec rec;
    while (n < max) {
        /* Whole records already buffered take no call: that is nearly all. */
        size_t have = r->len - r->pos;
        const uint8_t *b = r->buf + r->pos;
        uint32_t caplen;
        if (have >= PS_PCAPFILE_REC_HDR && (caplen = rd32(b + 8)) <= PS_PCAPFILE_MAX_CAPLEN &&
            have - PS_PCAPFILE_REC_HDR >= caplen) {
            fill_rec(&r->fi, b, caplen, &rec);
            r->pos += PS_PCAPFILE_REC_HDR + caplen;
        } else {
            int rc = ps_pcapfile_next(r, &rec, err, errlen);
            if (rc < 0)
                return rc;
            if (rc == 0)
                break;
        }
        cb(user, rec.ts, rec.data, rec.caplen, rec.wirelen);
        n++;
    }
    return n;
}

uint64_t ps_pcapfile_offset(const ps_pcapfile_reader *r)
{
    return r->base + r->pos;
}

void ps_pcapfile_close(ps_pcapfile_reader *r)
{
    if (!r)
        return;
    close(r->fd);
    free(r->bufs[0]);
    free(r->bufs[1]);
    free(r);
}
