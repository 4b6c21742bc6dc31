/* gen.c - writes large, deterministic, SPAN-like pcap captures for the benchmark (bench/run). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Start of every capture: 2025-07-01 00:00:00 UTC. */
#define GEN_EPOCH_S 1751328000ULL

#define OUTBUF_SIZE  (8u << 20)
#define MAX_FRAME    1600u
#define MSS          1448u
#define PAYLOAD_POOL (64u << 10)
#define RESP_MAX     8192u
#define REQ_MAX      512u
#define RING_SIZE    4096u /* pending sweep answers (power of two) */

#define TH_FIN 0x01u
#define TH_SYN 0x02u
#define TH_RST 0x04u
#define TH_PSH 0x08u
#define TH_ACK 0x10u

/* ---- deterministic random numbers (splitmix64) ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static uint32_t rnd_below(uint32_t n)
{
    return (uint32_t)(((rnd() >> 32) * (uint64_t)n) >> 32);
}

static uint32_t rnd32(void)
{
    return (uint32_t)(rnd() >> 32);
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 33)) * 0xFF51AFD7ED558CCDULL;
    z = (z ^ (z >> 33)) * 0xC4CEB9FE1A85EC53ULL;
    return z ^ (z >> 33);
}

/* ---- pcap writer ---- */

static FILE *out_file;
static const char *out_path;
static uint8_t *obuf;
static size_t olen;
static uint64_t ts_ns;   /* packet clock, nanoseconds since GEN_EPOCH_S */
static uint64_t step_ns; /* clock advance per packet */
static uint64_t n_packets, n_bytes;

static void die(const char *what)
{
    fprintf(stderr, "ps_benchgen: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void out_flush(void)
{
    if (olen && fwrite(obuf, 1, olen, out_file) != olen)
        die(out_path);
    olen = 0;
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* One's complement sum (RFC 1071) in native byte order; the caller stores the
 * folded result natively, which makes it right on either endianness. */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t n)
{
    while (n >= 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        sum += w;
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        uint16_t h;
        memcpy(&h, p, 2);
        sum += h;
        p += 2;
        n -= 2;
    }
    if (n) {
        uint8_t last[2] = {p[0], 0};
        uint16_t h;
        memcpy(&h, last, 2);
        sum += h;
    }
    return sum;
}

static void csum_store(uint8_t *dst, uint64_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xFFFFu) + (sum >> 16);
    uint16_t c = (uint16_t)~sum;
    memcpy(dst, &c, 2);
}

typedef struct ep {
    uint32_t ip; /* host order */
    uint16_t port;
} ep;

typedef struct tcp_pkt {
    ep src, dst;
    uint32_t seq, ack;
    uint8_t flags, ttl;
    uint16_t win, ipid;
    const uint8_t *opt; /* multiple of 4 bytes */
    size_t optlen;
    const uint8_t *data;
    size_t len;
} tcp_pkt;

static const uint8_t syn_opts[12] = {2, 4, 0x05, 0xB4, 1, 1, 4, 2, 1, 3, 3, 7};

/* Appends one Ethernet/IPv4/TCP frame with valid checksums to the capture. */
static void emit(const tcp_pkt *t)
{
    if (olen + 16 + MAX_FRAME > OUTBUF_SIZE)
        out_flush();
    uint8_t *rec = obuf + olen, *f = rec + 16;
    size_t thl = 20 + t->optlen, iplen = 20 + thl + t->len, flen = 14 + iplen;

    /* MACs from the addresses: locally administered, stable per host. */
    f[0] = 0x02;
    f[1] = 0x42;
    put32(f + 2, t->dst.ip);
    f[6] = 0x02;
    f[7] = 0x42;
    put32(f + 8, t->src.ip);
    put16(f + 12, 0x0800);

    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, (uint32_t)iplen);
    put16(ip + 4, t->ipid);
    put16(ip + 6, t->ttl == 255 ? 0 : 0x4000); /* masscan does not set DF */
    ip[8] = t->ttl;
    ip[9] = 6;
    ip[10] = ip[11] = 0;
    put32(ip + 12, t->src.ip);
    put32(ip + 16, t->dst.ip);
    csum_store(ip + 10, csum_add(0, ip, 20));

    uint8_t *tcp = ip + 20;
    put16(tcp, t->src.port);
    put16(tcp + 2, t->dst.port);
    put32(tcp + 4, t->seq);
    put32(tcp + 8, t->ack);
    tcp[12] = (uint8_t)((thl / 4) << 4);
    tcp[13] = t->flags;
    put16(tcp + 14, t->win);
    tcp[16] = tcp[17] = 0;
    tcp[18] = tcp[19] = 0;
    if (t->optlen)
        memcpy(tcp + 20, t->opt, t->optlen);
    if (t->len)
        memcpy(tcp + thl, t->data, t->len);
    uint8_t pseudo[12];
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = 6;
    put16(pseudo + 10, (uint32_t)(thl + t->len));
    csum_store(tcp + 16, csum_add(csum_add(0, pseudo, 12), tcp, thl + t->len));

    uint64_t us = ts_ns / 1000;
    put32le(rec, (uint32_t)(GEN_EPOCH_S + us / 1000000));
    put32le(rec + 4, (uint32_t)(us % 1000000));
    put32le(rec + 8, (uint32_t)flen);
    put32le(rec + 12, (uint32_t)flen);
    olen += 16 + flen;
    ts_ns += step_ns;
    n_packets++;
    n_bytes += flen;
}

static uint64_t now_us(void)
{
    return ts_ns / 1000;
}

/* ---- masscan-style sweep ---- */

/* Ports a container-discovery sweep asks for (16: the permutation uses 4 bits). */
static const uint16_t sweep_ports[16] = {2375,  2376,  4243, 2379, 2380, 6443, 8080, 10250,
                                         10255, 10256, 4194, 5000, 8443, 443,  80,   9323};

typedef struct answer {
    uint64_t due_us;
    ep scanner, target;
    uint32_t seq; /* probe's sequence number */
    uint32_t isn; /* target's */
    int stage;    /* 0: SYN-ACK due, 1: scanner's kernel RST due */
} answer;

static struct {
    uint32_t sources[4];
    uint32_t nsources;
    uint16_t sport;
    uint64_t next; /* probe index */
    uint32_t key;
    uint32_t answer_ppm; /* answered probes per million */
    answer ring[RING_SIZE];
    uint32_t head, tail;
    uint64_t probes, answers;
} sw;

static void sweep_init(uint32_t nsources, uint32_t answer_ppm)
{
    sw.nsources = nsources;
    for (uint32_t i = 0; i < nsources; i++)
        sw.sources[i] = (203u << 24) | (0u << 16) | (113u << 8) | (10 + i * 7); /* 203.0.113.x */
    sw.sport = (uint16_t)(40000 + rnd_below(20000));
    sw.key = rnd32() & 0x0FFFFFFFu;
    sw.answer_ppm = answer_ppm;
}

/* Bijection on 28 bits (24-bit host in 10/8, 4-bit port index): each target once. */
static uint32_t sweep_target(uint64_t i)
{
    const uint32_t m = 0x0FFFFFFFu;
    uint32_t x = (uint32_t)i & m;
    x = (x * 0x2C1B3C6Du) & m;
    x ^= x >> 15;
    x = (x * 0x297A2D39u) & m;
    x ^= sw.key;
    x ^= x >> 13;
    x = (x * 0x1B873593u) & m;
    return x;
}

static bool sweep_answer_due(bool force)
{
    if (sw.head == sw.tail)
        return false;
    return force || sw.ring[sw.head & (RING_SIZE - 1)].due_us <= now_us();
}

static void sweep_answer(void)
{
    answer *a = &sw.ring[sw.head & (RING_SIZE - 1)];
    tcp_pkt t = {0};
    if (a->stage == 0) {
        t.src = a->target;
        t.dst = a->scanner;
        t.seq = a->isn;
        t.ack = a->seq + 1;
        t.flags = TH_SYN | TH_ACK;
        t.ttl = 64;
        t.win = 65160;
        t.ipid = 0;
        t.opt = syn_opts;
        t.optlen = sizeof(syn_opts);
        emit(&t);
        a->stage = 1;
        a->due_us = now_us() + 15;
        /* Re-queue the RST behind anything already due. */
        answer again = *a;
        sw.head++;
        if (sw.tail - sw.head < RING_SIZE)
            sw.ring[sw.tail++ & (RING_SIZE - 1)] = again;
        return;
    }
    /* masscan's own stack does not know the connection: the host kernel resets it. */
    t.src = a->scanner;
    t.dst = a->target;
    t.seq = a->seq + 1;
    t.ack = 0;
    t.flags = TH_RST;
    t.ttl = 64;
    t.win = 0;
    t.ipid = 0;
    emit(&t);
    sw.head++;
    sw.answers++;
}

static void sweep_probe(void)
{
    uint32_t x = sweep_target(sw.next++);
    ep target = {(10u << 24) | (x >> 4), sweep_ports[x & 15u]};
    ep scanner = {sw.sources[sw.next % sw.nsources], sw.sport};
    /* masscan's SYN cookie, then its IP ID = dst ^ dport ^ seq. */
    uint32_t seq =
        (uint32_t)mix64(((uint64_t)target.ip << 16 | target.port) ^ ((uint64_t)sw.key << 40));
    tcp_pkt t = {0};
    t.src = scanner;
    t.dst = target;
    t.seq = seq;
    t.ack = 0;
    t.flags = TH_SYN;
    t.ttl = 255;
    t.win = 1024;
    t.ipid = (uint16_t)(target.ip ^ target.port ^ seq);
    emit(&t);
    sw.probes++;
    if (rnd_below(1000000) < sw.answer_ppm && sw.tail - sw.head < RING_SIZE - 1) {
        answer *a = &sw.ring[sw.tail++ & (RING_SIZE - 1)];
        a->due_us = now_us() + 200 + rnd_below(1800);
        a->scanner = scanner;
        a->target = target;
        a->seq = seq;
        a->isn = rnd32();
        a->stage = 0;
    }
}

/* One sweep packet: an answer when one is due, else the next probe. */
static void sweep_step(void)
{
    if (sweep_answer_due(false))
        sweep_answer();
    else
        sweep_probe();
}

/* ---- bulk TCP transfers on ports no dissector cares about ---- */

static const uint16_t bulk_ports[12] = {22,   445,  873,  2049, 3260, 3306,
                                        5001, 5201, 5432, 6379, 9092, 27017};

enum { ST_SYN, ST_SYNACK, ST_ACK, ST_DATA, ST_FIN1, ST_FIN2, ST_LASTACK };

typedef struct bulk_flow {
    ep c, s;
    uint32_t cseq, sseq; /* next sequence number to send */
    uint32_t left[2];    /* segments still to send: [0] client, [1] server */
    uint32_t unacked[2];
    uint16_t ipid[2];
    int state;
} bulk_flow;

static uint8_t payload_pool[PAYLOAD_POOL + MSS];
static bulk_flow *bulk;
static uint32_t n_bulk;
static uint64_t bulk_started;

static uint32_t bulk_host(void)
{
    return (172u << 24) | (16u << 16) | rnd_below(1u << 16); /* 172.16/16: storage, DB, ... */
}

static void bulk_new(bulk_flow *f)
{
    memset(f, 0, sizeof(*f));
    f->c.ip = bulk_host();
    f->c.port = (uint16_t)(32768 + rnd_below(28000));
    f->s.ip = bulk_host();
    f->s.port = bulk_ports[rnd_below((uint32_t)(sizeof(bulk_ports) / sizeof(bulk_ports[0])))];
    f->cseq = rnd32();
    f->sseq = rnd32();
    uint32_t segs = 500 + rnd_below(20000);
    switch (rnd_below(3)) {
    case 0: /* download */
        f->left[1] = segs;
        break;
    case 1: /* upload */
        f->left[0] = segs;
        break;
    default:
        f->left[0] = segs / 2;
        f->left[1] = segs - segs / 2;
    }
    f->ipid[0] = (uint16_t)rnd32();
    f->ipid[1] = (uint16_t)rnd32();
    f->state = ST_SYN;
    bulk_started++;
}

/* Sends from side `from` (0 client, 1 server) with the other side's next seq as ack. */
static void flow_send(const ep *c, const ep *s, uint32_t *cseq, uint32_t *sseq, uint16_t *ipid,
                      int from, uint8_t flags, const uint8_t *data, size_t len)
{
    tcp_pkt t = {0};
    t.src = from ? *s : *c;
    t.dst = from ? *c : *s;
    t.seq = from ? *sseq : *cseq;
    t.ack = (flags & TH_ACK) ? (from ? *cseq : *sseq) : 0;
    t.flags = flags;
    t.ttl = 64;
    t.win = from ? 65160 : 64240;
    t.ipid = ipid[from]++;
    if (flags & TH_SYN) {
        t.opt = syn_opts;
        t.optlen = sizeof(syn_opts);
    }
    t.data = data;
    t.len = len;
    emit(&t);
    uint32_t adv = (uint32_t)len + ((flags & (TH_SYN | TH_FIN)) ? 1u : 0u);
    if (from)
        *sseq += adv;
    else
        *cseq += adv;
}

#define BULK_SEND(f, from, flags, data, len)                                                       \
    flow_send(&(f)->c, &(f)->s, &(f)->cseq, &(f)->sseq, (f)->ipid, from, flags, data, len)

static void bulk_step(void)
{
    bulk_flow *f = &bulk[rnd_below(n_bulk)];
    switch (f->state) {
    case ST_SYN:
        BULK_SEND(f, 0, TH_SYN, NULL, 0);
        f->state = ST_SYNACK;
        return;
    case ST_SYNACK:
        BULK_SEND(f, 1, TH_SYN | TH_ACK, NULL, 0);
        f->state = ST_ACK;
        return;
    case ST_ACK:
        BULK_SEND(f, 0, TH_ACK, NULL, 0);
        f->state = ST_DATA;
        return;
    case ST_DATA: {
        /* Delayed ACK: the receiver acknowledges every second segment. */
        for (int d = 0; d < 2; d++) {
            if (f->unacked[d] >= 2 || (f->unacked[d] && !f->left[0] && !f->left[1])) {
                BULK_SEND(f, 1 - d, TH_ACK, NULL, 0);
                f->unacked[d] = 0;
                return;
            }
        }
        int d;
        if (f->left[0] && f->left[1])
            d = (int)rnd_below(2);
        else if (f->left[0] || f->left[1])
            d = f->left[0] ? 0 : 1;
        else {
            BULK_SEND(f, 0, TH_FIN | TH_ACK, NULL, 0);
            f->state = ST_FIN2;
            return;
        }
        uint32_t seq = d ? f->sseq : f->cseq;
        const uint8_t *data = payload_pool + (seq & (PAYLOAD_POOL - 1));
        f->left[d]--;
        f->unacked[d]++;
        BULK_SEND(f, d, (uint8_t)(TH_ACK | ((f->left[d] & 7) ? 0 : TH_PSH)), data, MSS);
        return;
    }
    case ST_FIN2:
        BULK_SEND(f, 1, TH_FIN | TH_ACK, NULL, 0);
        f->state = ST_LASTACK;
        return;
    default:
        BULK_SEND(f, 0, TH_ACK, NULL, 0);
        bulk_new(f);
        return;
    }
}

/* ---- container-API sessions: Docker Engine, kubelet read-only, kube-apiserver insecure ---- */

enum { API_DOCKER, API_KUBELET, API_APISERVER };

typedef struct api_session {
    ep c, s;
    uint32_t cseq, sseq;
    uint16_t ipid[2];
    int state;
    uint32_t req_len, resp_len, resp_off;
    uint8_t req[REQ_MAX];
    uint8_t resp[RESP_MAX];
} api_session;

enum { AS_SYN, AS_SYNACK, AS_ACK, AS_REQ, AS_RESP, AS_RESPACK, AS_CFIN, AS_SFIN, AS_LASTACK };

static api_session *api;
static uint32_t n_api;
static uint32_t n_clients;
static uint64_t api_started[3];

static const char *const images[] = {"nginx:1.27-alpine",  "postgres:16",          "redis:7.2",
                                     "grafana/grafana:11", "registry:2",           "busybox:1.36",
                                     "traefik:v3.1",       "prom/prometheus:v2.53"};

static void hex(char *dst, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++)
        dst[i] = digits[rnd_below(16)];
    dst[n] = '\0';
}

static void uuid(char out[37])
{
    hex(out, 36);
    out[8] = out[13] = out[18] = out[23] = '-';
    out[14] = '4';
}

/* Appends with snprintf semantics, never past cap. */
static size_t app(char *buf, size_t off, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static size_t app(char *buf, size_t off, size_t cap, const char *fmt, ...)
{
    if (off >= cap)
        return off;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + off, cap - off, fmt, ap);
    va_end(ap);
    if (n < 0)
        return off;
    return (size_t)n >= cap - off ? cap - 1 : off + (size_t)n;
}

static size_t docker_body(char *b, size_t cap)
{
    uint32_t n = 1 + rnd_below(4);
    size_t o = app(b, 0, cap, "[");
    for (uint32_t i = 0; i < n; i++) {
        char id[65], img[65];
        hex(id, 64);
        hex(img, 64);
        /* Draw in a fixed order: argument evaluation order is unspecified. */
        uint32_t svc = rnd_below(50), im = rnd_below(8), age = rnd_below(86400 * 30);
        uint32_t port = 8000 + rnd_below(1000), up = 1 + rnd_below(300);
        o = app(b, o, cap,
                "%s{\"Id\":\"%s\",\"Names\":[\"/svc-%u\"],\"Image\":\"%s\",\"ImageID\":"
                "\"sha256:%s\",\"Command\":\"/docker-entrypoint.sh\",\"Created\":%llu,"
                "\"Ports\":[{\"IP\":\"0.0.0.0\",\"PrivatePort\":80,\"PublicPort\":%u,\"Type\":"
                "\"tcp\"}],\"Labels\":{\"com.docker.compose.project\":\"app\"},\"State\":"
                "\"running\",\"Status\":\"Up %u hours\",\"HostConfig\":{\"NetworkMode\":"
                "\"bridge\"},\"NetworkSettings\":{\"Networks\":{\"bridge\":{\"IPAddress\":"
                "\"172.17.0.%u\",\"Gateway\":\"172.17.0.1\"}}},\"Mounts\":[]}\n",
                i ? "," : "", id, svc, images[im], img, (unsigned long long)(GEN_EPOCH_S - age),
                port, up, 2 + i);
    }
    return app(b, o, cap, "]\n");
}

static size_t pods_body(char *b, size_t cap, bool apiserver)
{
    uint32_t n = 1 + rnd_below(3);
    size_t o = app(b, 0, cap, "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{");
    if (apiserver)
        o = app(b, o, cap, "\"resourceVersion\":\"%u\"", 100000 + rnd_below(900000));
    o = app(b, o, cap, "},\"items\":[");
    for (uint32_t i = 0; i < n; i++) {
        char u[37], h[11];
        uuid(u);
        hex(h, 10);
        uint32_t node = rnd_below(64), im = rnd_below(8), h3 = rnd_below(4);
        uint32_t h4 = 10 + rnd_below(200), p3 = rnd_below(64), p4 = 2 + rnd_below(250);
        o = app(b, o, cap,
                "%s{\"metadata\":{\"name\":\"web-%.5s-%.5s\",\"namespace\":\"default\",\"uid\":"
                "\"%s\",\"labels\":{\"app\":\"web\"}},\"spec\":{\"nodeName\":\"node-%u\","
                "\"containers\":[{\"name\":\"web\",\"image\":\"%s\",\"ports\":[{"
                "\"containerPort\":80,\"protocol\":\"TCP\"}]}],\"serviceAccountName\":"
                "\"default\"},\"status\":{\"phase\":\"Running\",\"hostIP\":\"10.0.%u.%u\","
                "\"podIP\":\"10.244.%u.%u\"}}",
                i ? "," : "", h, h + 5, u, node, images[im], h3, h4, p3, p4);
    }
    return app(b, o, cap, "]}\n");
}

static void http_date(char *out, size_t cap)
{
    time_t t = (time_t)(GEN_EPOCH_S + now_us() / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static uint32_t client_ip(void)
{
    /* A fixed population: half in 198.18.0.0/15, half in 100.64.0.0/10. */
    uint32_t k = rnd_below(n_clients);
    uint32_t h = (uint32_t)mix64(k + 0x5EEDu);
    return (k & 1) ? (0xC6120000u | (h & 0x1FFFFu)) : (0x64400000u | (h & 0x3FFFFFu));
}

static void api_new(api_session *a)
{
    memset(a, 0, offsetof(api_session, req));
    a->c.ip = client_ip();
    a->c.port = (uint16_t)(32768 + rnd_below(28000));
    a->s.ip = (10u << 24) | (200u << 16) | rnd_below(1024);
    a->cseq = rnd32();
    a->sseq = rnd32();
    a->ipid[0] = (uint16_t)rnd32();
    a->ipid[1] = (uint16_t)rnd32();
    a->state = AS_SYN;

    char host[32], date[64], body[RESP_MAX - 1024], u1[37], u2[37], u3[37];
    snprintf(host, sizeof(host), "%u.%u.%u.%u", a->s.ip >> 24, (a->s.ip >> 16) & 255,
             (a->s.ip >> 8) & 255, a->s.ip & 255);
    http_date(date, sizeof(date));
    char *req = (char *)a->req, *resp = (char *)a->resp;
    size_t blen, rl, hl;
    uint32_t r = rnd_below(4);
    int kind = r < 2 ? API_DOCKER : r == 2 ? API_KUBELET : API_APISERVER;
    api_started[kind]++;
    switch (kind) {
    case API_DOCKER:
        a->s.port = 2375;
        rl = (size_t)snprintf(req, REQ_MAX,
                              "GET /v1.50/containers/json HTTP/1.1\r\nHost: %s:2375\r\n"
                              "User-Agent: Docker-Client/28.2.2 (linux)\r\n\r\n",
                              host);
        blen = docker_body(body, sizeof(body));
        hl = (size_t)snprintf(resp, RESP_MAX,
                              "HTTP/1.1 200 OK\r\nApi-Version: 1.50\r\n"
                              "Content-Type: application/json\r\nDocker-Experimental: false\r\n"
                              "Ostype: linux\r\nServer: Docker/28.2.2 (linux)\r\nDate: %s\r\n"
                              "Content-Length: %zu\r\n\r\n",
                              date, blen);
        break;
    case API_KUBELET:
        a->s.port = 10255;
        rl = (size_t)snprintf(req, REQ_MAX,
                              "GET /pods HTTP/1.1\r\nHost: %s:10255\r\n"
                              "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
                              host);
        blen = pods_body(body, sizeof(body), false);
        hl = (size_t)snprintf(resp, RESP_MAX,
                              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                              "Date: %s\r\nContent-Length: %zu\r\n\r\n",
                              date, blen);
        break;
    default:
        a->s.port = 8080;
        uuid(u1);
        uuid(u2);
        uuid(u3);
        rl = (size_t)snprintf(req, REQ_MAX,
                              "GET /api/v1/pods?limit=500 HTTP/1.1\r\nHost: %s:8080\r\n"
                              "User-Agent: kubectl/v1.30.2 (linux/amd64) kubernetes/3968350\r\n"
                              "Accept: application/json;as=Table;v=v1;g=meta.k8s.io,"
                              "application/json\r\n\r\n",
                              host);
        blen = pods_body(body, sizeof(body), true);
        hl = (size_t)snprintf(resp, RESP_MAX,
                              "HTTP/1.1 200 OK\r\nAudit-Id: %s\r\n"
                              "Cache-Control: no-cache, private\r\n"
                              "Content-Type: application/json\r\n"
                              "X-Kubernetes-Pf-Flowschema-Uid: %s\r\n"
                              "X-Kubernetes-Pf-Prioritylevel-Uid: %s\r\n"
                              "Date: %s\r\nContent-Length: %zu\r\n\r\n",
                              u1, u2, u3, date, blen);
        break;
    }
    if (hl + blen > RESP_MAX || rl >= REQ_MAX) {
        fprintf(stderr, "ps_benchgen: internal error: HTTP message too long\n");
        exit(1);
    }
    memcpy(resp + hl, body, blen);
    a->req_len = (uint32_t)rl;
    a->resp_len = (uint32_t)(hl + blen);
}

#define API_SEND(a, from, flags, data, len)                                                        \
    flow_send(&(a)->c, &(a)->s, &(a)->cseq, &(a)->sseq, (a)->ipid, from, flags, data, len)

static void api_step(void)
{
    api_session *a = &api[rnd_below(n_api)];
    switch (a->state) {
    case AS_SYN:
        API_SEND(a, 0, TH_SYN, NULL, 0);
        break;
    case AS_SYNACK:
        API_SEND(a, 1, TH_SYN | TH_ACK, NULL, 0);
        break;
    case AS_ACK:
        API_SEND(a, 0, TH_ACK, NULL, 0);
        break;
    case AS_REQ:
        API_SEND(a, 0, TH_PSH | TH_ACK, a->req, a->req_len);
        break;
    case AS_RESP: {
        uint32_t n = a->resp_len - a->resp_off;
        if (n > MSS)
            n = MSS;
        bool last = a->resp_off + n == a->resp_len;
        API_SEND(a, 1, (uint8_t)(TH_ACK | (last ? TH_PSH : 0)), a->resp + a->resp_off, n);
        a->resp_off += n;
        if (!last)
            return; /* stay in AS_RESP */
        break;
    }
    case AS_RESPACK:
        API_SEND(a, 0, TH_ACK, NULL, 0);
        break;
    case AS_CFIN:
        API_SEND(a, 0, TH_FIN | TH_ACK, NULL, 0);
        break;
    case AS_SFIN:
        API_SEND(a, 1, TH_FIN | TH_ACK, NULL, 0);
        break;
    default:
        API_SEND(a, 0, TH_ACK, NULL, 0);
        api_new(a);
        return;
    }
    a->state++;
}

/* ---- command line ---- */

static void usage(FILE *f)
{
    fputs("Usage: ps_benchgen --profile mixed|sweep|api --packets N -o FILE\n"
          "                   [--seed S] [--rate PPS]\n"
          "\n"
          "Writes a deterministic Ethernet/IPv4/TCP pcap (microsecond timestamps, valid\n"
          "checksums). mixed: ~10% masscan-style SYN sweep (~5% answered), ~70% bulk TCP\n"
          "on unrelated ports, ~20% Docker/kubelet/kube-apiserver HTTP sessions; sweep: N\n"
          "SYN probes over the container port set from two scanners, 0.5% answered\n"
          "(answers come on top of N); api: only HTTP sessions. The same seed always\n"
          "gives the same bytes; mixed and api captures of N packets are the first N\n"
          "packets of any longer one.\n"
          "Timestamps advance by 1/PPS seconds a packet (default 1000000).\n",
          f);
}

static uint64_t parse_u64(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-') {
        fprintf(stderr, "ps_benchgen: %s: not a number: %s\n", opt, s);
        exit(2);
    }
    return (uint64_t)v;
}

static double wall(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"profile", required_argument, NULL, 'p'},
        {"packets", required_argument, NULL, 'n'},
        {"output", required_argument, NULL, 'o'},
        {"seed", required_argument, NULL, 's'},
        {"rate", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *profile = NULL;
    uint64_t packets = 0, seed = 20250701, rate = 1000000;
    bool have_packets = false;
    int c;
    while ((c = getopt_long(argc, argv, "p:n:o:s:r:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            profile = optarg;
            break;
        case 'n':
            packets = parse_u64("--packets", optarg);
            have_packets = true;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 's':
            seed = parse_u64("--seed", optarg);
            break;
        case 'r':
            rate = parse_u64("--rate", optarg);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    int prof = -1;
    if (profile)
        prof = !strcmp(profile, "mixed")   ? 0
               : !strcmp(profile, "sweep") ? 1
               : !strcmp(profile, "api")   ? 2
                                           : -1;
    if (prof < 0 || !have_packets || !out_path || optind < argc || rate == 0 || rate > 1000000000) {
        usage(stderr);
        return 2;
    }

    rng_state = seed;
    step_ns = 1000000000ULL / rate;
    obuf = malloc(OUTBUF_SIZE);
    n_bulk = 512;
    n_api = 256;
    n_clients = 50000;
    bulk = calloc(n_bulk, sizeof(*bulk));
    api = calloc(n_api, sizeof(*api));
    if (!obuf || !bulk || !api) {
        fputs("ps_benchgen: out of memory\n", stderr);
        return 1;
    }
    out_file = strcmp(out_path, "-") ? fopen(out_path, "wb") : stdout;
    if (!out_file)
        die(out_path);

    /* Classic pcap header, native byte order, microseconds, Ethernet. */
    uint8_t gh[24];
    put32le(gh, 0xA1B2C3D4u);
    gh[4] = 2, gh[5] = 0, gh[6] = 4, gh[7] = 0;
    memset(gh + 8, 0, 8);
    put32le(gh + 16, 65535);
    put32le(gh + 20, 1);
    memcpy(obuf, gh, sizeof(gh));
    olen = sizeof(gh);

    for (size_t i = 0; i < sizeof(payload_pool); i += 8) {
        uint64_t r = rnd();
        memcpy(payload_pool + i, &r, 8);
    }
    sweep_init(prof == 1 ? 2 : 1, prof == 1 ? 5000 : 50000);
    for (uint32_t i = 0; i < n_bulk; i++)
        bulk_new(&bulk[i]);
    for (uint32_t i = 0; i < n_api; i++)
        api_new(&api[i]);

    double t0 = wall();
    if (prof == 1) {
        while (sw.probes < packets || sw.head != sw.tail) {
            if (sweep_answer_due(sw.probes >= packets))
                sweep_answer();
            else
                sweep_probe();
        }
    } else {
        while (n_packets < packets) {
            uint32_t r = prof == 2 ? 999 : rnd_below(1000);
            if (r < 100)
                sweep_step();
            else if (r < 800)
                bulk_step();
            else
                api_step();
        }
    }
    out_flush();
    if (out_file != stdout ? fclose(out_file) != 0 : fflush(out_file) != 0)
        die(out_path);
    double t = wall() - t0;
    fprintf(stderr,
            "ps_benchgen: %s: %llu packets, %llu bytes, %.3f s of traffic; %llu probes "
            "(%llu answered), %llu bulk flows, API sessions: %llu docker %llu kubelet %llu "
            "apiserver; written in %.2f s\n",
            profile, (unsigned long long)n_packets, (unsigned long long)n_bytes,
            (double)ts_ns / 1e9, (unsigned long long)sw.probes, (unsigned long long)sw.answers,
            (unsigned long long)(prof == 0 ? bulk_started : 0),
            (unsigned long long)(prof != 1 ? api_started[0] : 0),
            (unsigned long long)(prof != 1 ? api_started[1] : 0),
            (unsigned long long)(prof != 1 ? api_started[2] : 0), t);
    free(obuf);
    free(bulk);
    free(api);
    return 0;
}
