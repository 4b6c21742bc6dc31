/* floor.c - the benchmark's lower bound: read a capture with libpcap and touch 64 bytes a packet.
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture.h"

/* This is a measuring tool, not part of the sensor: it uses libpcap directly
 * so that its cost is the cost of reading the file, nothing more. It reads
 * through the same 1 MiB stdio buffer as portside (sensor/capture-pcap.c):
 * with stdio's default 4 KiB, a read(2) per 4 KiB costs more than the
 * reading itself on a virtual machine, and the floor would not be one.
 * --default-buffer keeps stdio's default, for comparison. --portside-reader
 * reads through portside's own capture code instead (sensor/capture-file.c
 * for classic pcap), to tell portside's reading from its analysis. */
#define FILE_BUF (1u << 20)

typedef struct tally {
    uint64_t packets, bytes, sum;
} tally;

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    tally *t = (tally *)(void *)user;
    uint32_t n = h->caplen < 64 ? h->caplen : 64;
    uint64_t s = 0;
    for (uint32_t i = 0; i < n; i++)
        s += data[i];
    t->sum += s;
    t->packets++;
    t->bytes += h->caplen;
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_ps_packet(void *user, ps_time_us ts, const uint8_t *data, uint32_t caplen,
                         uint32_t wirelen)
{
    struct pcap_pkthdr h = {.caplen = caplen, .len = wirelen};
    (void)ts;
    on_packet(user, &h, data);
}

static void report(const tally *t, double s)
{
    printf("packets=%llu bytes=%llu seconds=%.6f pps=%.0f gbps=%.3f sum=%llu\n",
           (unsigned long long)t->packets, (unsigned long long)t->bytes, s,
           s > 0 ? (double)t->packets / s : 0.0, s > 0 ? (double)t->bytes * 8 / s / 1e9 : 0.0,
           (unsigned long long)t->sum);
}

static int portside_reader(const char *path)
{
    double t0 = wall();
    char err[256] = "";
    ps_capture *c = ps_capture_open_file(path, err, sizeof err);
    if (!c) {
        fprintf(stderr, "ps_floor: %s\n", err);
        return 1;
    }
    tally t = {0, 0, 0};
    int rc;
    while ((rc = ps_capture_dispatch(c, 1024, on_ps_packet, &t, err, sizeof err)) > 0)
        ;
    ps_capture_close(c);
    if (rc < 0) {
        fprintf(stderr, "ps_floor: %s: %s\n", path, err);
        return 1;
    }
    report(&t, wall() - t0);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--portside-reader"))
        return portside_reader(argv[2]);
    int def_buf = argc == 3 && !strcmp(argv[1], "--default-buffer");
    if (argc != 2 + def_buf || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs("Usage: ps_floor [--default-buffer | --portside-reader] FILE\n"
              "Reads FILE with pcap_dispatch and sums the first 64 bytes of each packet;\n"
              "prints packets, captured bytes, seconds, packets/s and Gbit/s.\n",
              argc == 2 ? stdout : stderr);
        return argc == 2 ? 0 : 2;
    }
    const char *path = argv[1 + def_buf];
    double t0 = wall();
    char err[PCAP_ERRBUF_SIZE] = "";
    FILE *fp = fopen(path, "rb");
    char *buf = def_buf ? NULL : malloc(FILE_BUF);
    if (fp && buf)
        setvbuf(fp, buf, _IOFBF, FILE_BUF);
    pcap_t *p = fp ? pcap_fopen_offline(fp, err) : NULL;
    if (!p) {
        fprintf(stderr, "ps_floor: %s: %s\n", path, fp ? err : "cannot open");
        if (fp)
            fclose(fp);
        free(buf);
        return 1;
    }
    tally t = {0, 0, 0};
    int rc;
    while ((rc = pcap_dispatch(p, -1, on_packet, (u_char *)&t)) > 0)
        ;
    if (rc == PCAP_ERROR) {
        fprintf(stderr, "ps_floor: %s: %s\n", path, pcap_geterr(p));
        pcap_close(p);
        free(buf);
        return 1;
    }
    pcap_close(p);
    free(buf);
    report(&t, wall() - t0);
    return 0;
}
