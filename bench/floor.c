/* floor.c - the benchmark's lower bound: read a capture with libpcap and touch 64 bytes a packet.
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* This is a measuring tool, not part of the sensor: it uses libpcap directly
 * so that its cost is the cost of reading the file, nothing more. */

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

int main(int argc, char **argv)
{
    if (argc != 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs("Usage: ps_floor FILE\n"
              "Reads FILE with pcap_dispatch and sums the first 64 bytes of each packet;\n"
              "prints packets, captured bytes, seconds, packets/s and Gbit/s.\n",
              argc == 2 ? stdout : stderr);
        return argc == 2 ? 0 : 2;
    }
    double t0 = wall();
    char err[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_open_offline(argv[1], err);
    if (!p) {
        fprintf(stderr, "ps_floor: %s\n", err);
        return 1;
    }
    tally t = {0, 0, 0};
    int rc;
    while ((rc = pcap_dispatch(p, -1, on_packet, (u_char *)&t)) > 0)
        ;
    if (rc == PCAP_ERROR) {
        fprintf(stderr, "ps_floor: %s: %s\n", argv[1], pcap_geterr(p));
        pcap_close(p);
        return 1;
    }
    pcap_close(p);
    double s = wall() - t0;
    printf("packets=%llu bytes=%llu seconds=%.6f pps=%.0f gbps=%.3f sum=%llu\n",
           (unsigned long long)t.packets, (unsigned long long)t.bytes, s,
           s > 0 ? (double)t.packets / s : 0.0, s > 0 ? (double)t.bytes * 8 / s / 1e9 : 0.0,
           (unsigned long long)t.sum);
    return 0;
}
