/* capture-pcap.c - the only file that touches libpcap: capture files and live interfaces. */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture.h"
#include "pcapfile.h"

/* stdio buffer of a capture file. libpcap reads files through stdio, whose
 * default buffer is one 4 KiB block: a read(2) per 4 KiB, which was a fifth
 * of a replay's time on a virtual machine (system call overhead). */
#define FILE_BUF (1u << 20)

struct ps_capture {
    pcap_t *p;              /* NULL when rd reads the file */
    ps_pcapfile_reader *rd; /* classic pcap files: read in place (capture-file.c) */
    char *fbuf;             /* FILE_BUF bytes behind the file's FILE, freed after pcap_close() */
    uint64_t size;
    int linktype;
    bool live;
    ps_capture_kstats kstats;                   /* accumulated 64-bit counters */
    uint32_t last_recv, last_drop, last_ifdrop; /* libpcap's 32-bit values at the last read */
};

ps_capture *ps_capture_open_file(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "cannot read %s: it is a directory", path);
        return NULL;
    }
    if (st.st_size == 0) {
        snprintf(err, errlen, "%s is empty (0 bytes), not a capture", path);
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    ps_pcapfile_reader *rd = ps_pcapfile_open(fd);
    if (rd) {
        ps_capture *c = calloc(1, sizeof(*c));
        if (!c) {
            ps_pcapfile_close(rd);
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
        c->rd = rd;
        c->size = (uint64_t)st.st_size;
        c->linktype = (int)ps_pcapfile_info_of(rd)->linktype;
        return c;
    }
    /* Everything else (pcapng, other byte order, ...) and every header
     * error: libpcap, which says what is wrong. */
    FILE *fp = fdopen(fd, "rb");
    if (!fp) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    char *fbuf = malloc(FILE_BUF);
    if (fbuf != NULL && setvbuf(fp, fbuf, _IOFBF, FILE_BUF) != 0) {
        free(fbuf);
        fbuf = NULL; /* the default buffer then */
    }
    char perr[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, perr);
    if (!p) {
        fclose(fp); /* libpcap leaves the FILE to its caller when it fails */
        free(fbuf);
        if (strstr(perr, "unknown file format") || strstr(perr, "bad dump file format"))
            snprintf(err, errlen, "%s is not a pcap or pcapng capture", path);
        else if (strstr(perr, "truncated"))
            snprintf(err, errlen, "%s is too short to be a capture (%s)", path, perr);
        else
            snprintf(err, errlen, "cannot read %s: %s", path, perr);
        return NULL;
    }
    ps_capture *c = calloc(1, sizeof(*c));
    if (!c) {
        pcap_close(p);
        free(fbuf);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->p = p;
    c->fbuf = fbuf;
    c->size = (uint64_t)st.st_size;
    c->linktype = pcap_datalink(p);
    return c;
}

/* Fills err for a failed activation of `iface` and returns the status code. */
static int live_error(pcap_t *p, int rc, const char *iface, char *err, size_t errlen)
{
    switch (rc) {
    case PCAP_ERROR_NO_SUCH_DEVICE:
        snprintf(err, errlen, "no such interface '%s' (see ip link)", iface);
        return PS_ERR_NOT_FOUND;
    case PCAP_ERROR_IFACE_NOT_UP:
        snprintf(err, errlen, "interface '%s' is down", iface);
        return PS_ERR_STATE;
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
        snprintf(err, errlen, "cannot capture on '%s': permission denied (needs CAP_NET_RAW)",
                 iface);
        return PS_ERR_IO;
    default:
        snprintf(err, errlen, "cannot capture on '%s': %s", iface, pcap_geterr(p));
        return PS_ERR_IO;
    }
}

ps_capture *ps_capture_open_live(const char *iface, const ps_capture_opts *o, int *status,
                                 char *err, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_create(iface, perr);
    if (!p) {
        snprintf(err, errlen, "cannot capture on '%s': %s", iface, perr);
        *status = PS_ERR_IO;
        return NULL;
    }
    int rc = 0;
    if (pcap_set_snaplen(p, (int)PS_MIN(o->snaplen, (uint32_t)INT32_MAX)) != 0 ||
        pcap_set_promisc(p, o->promiscuous) != 0 ||
        pcap_set_buffer_size(p, (int)PS_MIN(o->buffer_bytes, (uint32_t)INT32_MAX)) != 0 ||
        pcap_set_immediate_mode(p, o->immediate) != 0 || pcap_set_timeout(p, 100) != 0 ||
        pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_MICRO) != 0) {
        snprintf(err, errlen, "cannot configure capture on '%s': %s", iface, pcap_geterr(p));
        *status = PS_ERR_CONFIG;
        pcap_close(p);
        return NULL;
    }
    rc = pcap_activate(p);
    if (rc < 0) {
        *status = live_error(p, rc, iface, err, errlen);
        pcap_close(p);
        return NULL;
    }
    if (o->filter && o->filter[0]) {
        struct bpf_program prog;
        if (pcap_compile(p, &prog, o->filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            snprintf(err, errlen, "bad capture filter '%s': %s", o->filter, pcap_geterr(p));
            *status = PS_ERR_CONFIG;
            pcap_close(p);
            return NULL;
        }
        rc = pcap_setfilter(p, &prog);
        pcap_freecode(&prog);
        if (rc != 0) {
            snprintf(err, errlen, "cannot set capture filter '%s' on '%s': %s", o->filter, iface,
                     pcap_geterr(p));
            *status = PS_ERR_CONFIG;
            pcap_close(p);
            return NULL;
        }
    }
    if (pcap_setnonblock(p, 1, perr) != 0 || pcap_get_selectable_fd(p) < 0) {
        snprintf(err, errlen, "cannot poll capture on '%s': %s", iface, perr);
        *status = PS_ERR_IO;
        pcap_close(p);
        return NULL;
    }
    ps_capture *c = calloc(1, sizeof(*c));
    if (!c) {
        pcap_close(p);
        snprintf(err, errlen, "out of memory");
        *status = PS_ERR_NOMEM;
        return NULL;
    }
    c->p = p;
    c->live = true;
    c->linktype = pcap_datalink(p);
    *status = PS_OK;
    return c;
}

int ps_capture_linktype(const ps_capture *c)
{
    return c->linktype;
}

const char *ps_capture_linktype_name(const ps_capture *c)
{
    const char *n = pcap_datalink_val_to_name(c->linktype);
    return n ? n : "unknown";
}

int ps_capture_next(ps_capture *c, ps_time_us *ts, const uint8_t **data, uint32_t *caplen,
                    uint32_t *wirelen, char *err, size_t errlen)
{
    if (c->rd) {
        ps_pcapfile_rec rec;
        int rc = ps_pcapfile_next(c->rd, &rec, err, errlen);
        if (rc == 1) {
            *ts = rec.ts;
            *data = rec.data;
            *caplen = rec.caplen;
            *wirelen = rec.wirelen;
        }
        return rc;
    }
    struct pcap_pkthdr *h;
    const u_char *d;
    int rc = pcap_next_ex(c->p, &h, &d);
    if (rc == 1) {
        *ts = (ps_time_us)h->ts.tv_sec * PS_USEC_PER_SEC + (ps_time_us)h->ts.tv_usec;
        *data = d;
        *caplen = h->caplen;
        *wirelen = h->len;
        return 1;
    }
    if (rc == PCAP_ERROR_BREAK || rc == 0) /* end of file; none waiting on an interface */
        return 0;
    snprintf(err, errlen, "%s", pcap_geterr(c->p));
    return PS_ERR_IO;
}

typedef struct dispatch_ctx {
    ps_capture_cb cb;
    void *user;
} dispatch_ctx;

static void on_pcap_packet(u_char *u, const struct pcap_pkthdr *h, const u_char *d)
{
    const dispatch_ctx *dc = (const dispatch_ctx *)(void *)u;
    ps_time_us ts = (ps_time_us)h->ts.tv_sec * PS_USEC_PER_SEC + (ps_time_us)h->ts.tv_usec;
    dc->cb(dc->user, ts, d, h->caplen, h->len);
}

int ps_capture_dispatch(ps_capture *c, int max, ps_capture_cb cb, void *user, char *err,
                        size_t errlen)
{
    if (c->rd)
        return ps_pcapfile_dispatch(c->rd, max, cb, user, err, errlen);
    dispatch_ctx dc = {cb, user};
    int rc = pcap_dispatch(c->p, max, on_pcap_packet, (u_char *)(void *)&dc);
    if (rc >= 0)
        return rc;
    if (rc == PCAP_ERROR_BREAK)
        return 0;
    snprintf(err, errlen, "%s", pcap_geterr(c->p));
    return PS_ERR_IO;
}

_Static_assert(PS_CAPTURE_STABLE_BYTES <= PS_PCAPFILE_STABLE_BYTES,
               "what the reader keeps in place");

bool ps_capture_stable(const ps_capture *c)
{
    return c->rd != NULL;
}

int ps_capture_fd(const ps_capture *c)
{
    return c->live ? pcap_get_selectable_fd(c->p) : -1;
}

/* Adds the growth of a 32-bit libpcap counter, which may have wrapped. */
static void acc32(uint64_t *total, uint32_t *last, u_int now)
{
    *total += (uint32_t)((uint32_t)now - *last);
    *last = (uint32_t)now;
}

bool ps_capture_kernel_stats(ps_capture *c, ps_capture_kstats *out)
{
    struct pcap_stat st;
    if (c->live) {
        if (pcap_stats(c->p, &st) != 0) {
            *out = c->kstats;
            return false;
        }
        acc32(&c->kstats.recv, &c->last_recv, st.ps_recv);
        acc32(&c->kstats.drop, &c->last_drop, st.ps_drop);
        acc32(&c->kstats.ifdrop, &c->last_ifdrop, st.ps_ifdrop);
    }
    *out = c->kstats;
    return true;
}

uint64_t ps_capture_size(const ps_capture *c)
{
    return c->size;
}

uint64_t ps_capture_offset(const ps_capture *c)
{
    if (c->rd)
        return ps_pcapfile_offset(c->rd);
    FILE *f = c->live ? NULL : pcap_file(c->p);
    long off = f ? ftell(f) : -1;
    return off > 0 ? (uint64_t)off : 0;
}

void ps_capture_close(ps_capture *c)
{
    if (!c)
        return;
    if (c->rd) {
        ps_pcapfile_close(c->rd);
        free(c);
        return;
    }
    pcap_close(c->p); /* closes the FILE, which uses fbuf until then */
    free(c->fbuf);
    free(c);
}
