/* capture-pcap.c - the only file that touches libpcap: reads capture files packet by packet. */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture.h"

struct ps_capture {
    pcap_t *p;
    uint64_t size;
    int linktype;
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
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    fclose(probe);
    char perr[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, perr);
    if (!p) {
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
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->p = p;
    c->size = (uint64_t)st.st_size;
    c->linktype = pcap_datalink(p);
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
    if (rc == PCAP_ERROR_BREAK)
        return 0;
    snprintf(err, errlen, "%s", pcap_geterr(c->p));
    return PS_ERR_IO;
}

uint64_t ps_capture_size(const ps_capture *c)
{
    return c->size;
}

uint64_t ps_capture_offset(const ps_capture *c)
{
    FILE *f = pcap_file(c->p);
    long off = f ? ftell(f) : -1;
    return off > 0 ? (uint64_t)off : 0;
}

void ps_capture_close(ps_capture *c)
{
    if (!c)
        return;
    pcap_close(c->p);
    free(c);
}
