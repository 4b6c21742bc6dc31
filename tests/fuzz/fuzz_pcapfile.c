/* fuzz_pcapfile.c - libFuzzer target: any bytes as a capture file, through the in-place pcap
 * reader. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pcapfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count_rec(void *user, ps_time_us ts, const uint8_t *d, uint32_t caplen,
                      uint32_t wirelen)
{
    (void)ts, (void)d, (void)caplen, (void)wirelen;
    ++*(size_t *)user;
}

/* Parsing the buffer directly and through the buffered reader (a memfd)
 * must agree record for record; every record lies inside the input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ps_pcapfile_info fi;
    if (ps_pcapfile_header(data, size, &fi) != (int)PS_PCAPFILE_HDR)
        return 0;
    if (fi.snaplen == 0 || fi.snaplen > PS_PCAPFILE_MAX_CAPLEN)
        abort();
    int fd = memfd_create("fuzz_pcapfile", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return 0;
    }
    ps_pcapfile_reader *r = ps_pcapfile_open(fd);
    if (!r)
        abort(); /* the same header was taken above */
    size_t off = PS_PCAPFILE_HDR;
    char err[160], err2[160];
    for (;;) {
        ps_pcapfile_rec a, b;
        int64_t n = ps_pcapfile_record(&fi, data + off, size - off, &a, err, sizeof err);
        int rc = ps_pcapfile_next(r, &b, err2, sizeof err2);
        if (n > 0) {
            if (rc != 1 || a.ts != b.ts || a.caplen != b.caplen || a.wirelen != b.wirelen ||
                memcmp(a.data, b.data, a.caplen) != 0)
                abort();
            if (a.caplen > fi.snaplen || a.data < data || a.data + a.caplen > data + size)
                abort();
            off += (size_t)n;
            if (ps_pcapfile_offset(r) != off)
                abort();
            continue;
        }
        /* The end of the input: the reader ends cleanly only at a record boundary. */
        if (n == PS_ERR_NEED_MORE && off == size ? rc != 0 : rc != PS_ERR_IO)
            abort();
        if (n != PS_ERR_NEED_MORE && n != PS_ERR_BAD_INPUT)
            abort();
        break;
    }
    ps_pcapfile_close(r);

    /* Dispatch in batches of 3 over a second copy: the same number of
     * records, and the same ending. */
    size_t records = 0;
    int64_t n;
    ps_pcapfile_rec a;
    for (off = PS_PCAPFILE_HDR;
         (n = ps_pcapfile_record(&fi, data + off, size - off, &a, err, sizeof err)) > 0;
         off += (size_t)n)
        records++;
    fd = memfd_create("fuzz_pcapfile", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return 0;
    }
    r = ps_pcapfile_open(fd);
    if (!r)
        abort();
    size_t got = 0;
    int rc;
    while ((rc = ps_pcapfile_dispatch(r, 3, count_rec, &got, err2, sizeof err2)) > 0)
        if (rc > 3)
            abort();
    if (got != records || (n == PS_ERR_NEED_MORE && off == size ? rc != 0 : rc != PS_ERR_IO))
        abort();
    ps_pcapfile_close(r);
    return 0;
}
