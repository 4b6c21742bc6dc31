/* live.c - polls several live captures as one stream and reopens an interface that fails. */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "decode.h"
#include "live.h"
#include "log.h"

#define PS_LIVE_BATCH       512  /* packets per ps_live_poll call */
#define PS_LIVE_BACKOFF_MS  1000 /* first reopen delay */
#define PS_LIVE_BACKOFF_MAX 30000
/* The kernel hands blocks over at least every 100 ms (pcap_set_timeout in capture-pcap.c), or
 * single packets at once in immediate mode. */
#define PS_LIVE_HOLD_BLOCKS_US    150000u
#define PS_LIVE_HOLD_IMMEDIATE_US 20000u
#define PS_LIVE_L2_SLACK          22 /* Ethernet + two VLAN tags beyond the MTU */

typedef struct iface {
    char name[PS_IFNAME_MAX];
    ps_capture *cap;
    int linktype;
    uint64_t frame_max;   /* MTU + link header: longer frames are offload segments */
    uint64_t next_try_ms; /* monotonic time of the next reopen */
    uint32_t backoff_ms;
    uint64_t down_since_ms;
    ps_live_iface_stats st;
    ps_capture_kstats closed; /* counters of handles already closed */
    /* The oldest packet read and not yet handed over (valid until the next read). */
    bool has_head;
    ps_time_us head_ts;
    const uint8_t *head;
    uint32_t head_caplen, head_wirelen;
} iface;

struct ps_live {
    iface ifs[PS_MAX_IFACES];
    uint32_t n;
    ps_time_us hold_us; /* how long a packet may wait for an older one on another interface */
    ps_capture_opts opts;
    char filter[PS_PATH_MAX];
};

static ps_time_us wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (ps_time_us)ts.tv_sec * PS_USEC_PER_SEC + (ps_time_us)ts.tv_nsec / 1000u;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Longest frame that is not an offload segment; 0 (count none) when unknown. */
static uint64_t frame_max_of(const char *name)
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    int rc = ioctl(fd, SIOCGIFMTU, &ifr);
    close(fd);
    return rc == 0 && ifr.ifr_mtu > 0 ? (uint64_t)ifr.ifr_mtu + PS_LIVE_L2_SLACK : 0;
}

static int iface_open(ps_live *l, iface *f, char *err, size_t errlen)
{
    int st = PS_ERR_IO;
    f->cap = ps_capture_open_live(f->name, &l->opts, &st, err, errlen);
    if (!f->cap)
        return st;
    f->linktype = ps_capture_linktype(f->cap);
    if (!ps_linktype_supported(f->linktype)) {
        snprintf(err, errlen, "interface '%s': unsupported link type %d (%s)", f->name, f->linktype,
                 ps_capture_linktype_name(f->cap));
        ps_capture_close(f->cap);
        f->cap = NULL;
        return PS_ERR_UNSUPPORTED;
    }
    f->frame_max = frame_max_of(f->name);
    f->st.up = true;
    return PS_OK;
}

/* Closes a failed capture, keeping its kernel counters, and schedules a reopen. */
static void iface_fail(iface *f)
{
    ps_capture_kstats ks;
    if (f->cap) {
        ps_capture_kernel_stats(f->cap, &ks);
        f->closed.recv += ks.recv;
        f->closed.drop += ks.drop;
        f->closed.ifdrop += ks.ifdrop;
        ps_capture_close(f->cap);
        f->cap = NULL;
    }
    f->has_head = false;
    f->st.up = false;
    f->st.failures++;
    f->backoff_ms = PS_LIVE_BACKOFF_MS;
    f->down_since_ms = mono_ms();
    f->next_try_ms = f->down_since_ms + f->backoff_ms;
}

static void iface_retry(ps_live *l, iface *f, uint64_t now)
{
    char err[512];
    if (now < f->next_try_ms)
        return;
    if (iface_open(l, f, err, sizeof(err)) != PS_OK) {
        f->backoff_ms = PS_MIN(f->backoff_ms * 2, (uint32_t)PS_LIVE_BACKOFF_MAX);
        f->next_try_ms = now + f->backoff_ms;
        return;
    }
    f->st.reopens++;
    ps_log(LOG_NOTICE, "capture on %s resumed after %.1f s", f->name,
           (double)(now - f->down_since_ms) / 1000.0);
}

ps_live *ps_live_open(const char names[][PS_IFNAME_MAX], uint32_t n, const ps_capture_opts *o,
                      char *err, size_t errlen)
{
    if (n == 0 || n > PS_MAX_IFACES) {
        snprintf(err, errlen, "give 1 to %d interfaces", PS_MAX_IFACES);
        return NULL;
    }
    ps_live *l = calloc(1, sizeof(*l));
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->opts = *o;
    l->hold_us = o->immediate ? PS_LIVE_HOLD_IMMEDIATE_US : PS_LIVE_HOLD_BLOCKS_US;
    snprintf(l->filter, sizeof(l->filter), "%s", o->filter ? o->filter : "");
    l->opts.filter = l->filter;
    for (uint32_t i = 0; i < n; i++) {
        iface *f = &l->ifs[i];
        snprintf(f->name, sizeof(f->name), "%s", names[i]);
        f->st.name = f->name;
        for (uint32_t j = 0; j < i; j++) {
            if (strcmp(l->ifs[j].name, f->name) == 0) {
                snprintf(err, errlen, "interface '%s' given twice", f->name);
                ps_live_close(l);
                return NULL;
            }
        }
        l->n = i + 1;
        int st = iface_open(l, f, err, errlen);
        if (st == PS_ERR_STATE) { /* exists but down: wait for it */
            iface_fail(f);
            f->st.failures = 0;
            ps_log(LOG_WARNING, "%s; capturing once it is up", err);
        } else if (st != PS_OK) {
            ps_live_close(l);
            return NULL;
        }
    }
    return l;
}

/* Reads iface f's next packet into its head; false when none is waiting (or it failed). */
static bool fill(iface *f)
{
    char err[512];
    int rc = ps_capture_next(f->cap, &f->head_ts, &f->head, &f->head_caplen, &f->head_wirelen, err,
                             sizeof(err));
    if (rc < 0) {
        iface_fail(f);
        ps_log(LOG_WARNING, "capture on %s stopped (%s); reopening it, retrying for ever", f->name,
               err);
    }
    f->has_head = rc == 1;
    return f->has_head;
}

static void deliver(iface *f, ps_live_cb cb, void *user)
{
    f->st.packets++;
    f->st.bytes += f->head_wirelen;
    if (f->frame_max && f->head_wirelen > f->frame_max)
        f->st.over_mtu++;
    if (f->head_caplen < f->head_wirelen)
        f->st.truncated++;
    f->has_head = false;
    cb(user, f->linktype, f->head_ts, f->head, f->head_caplen, f->head_wirelen);
}

int ps_live_poll(ps_live *l, int timeout_ms, ps_live_cb cb, void *user, bool *more)
{
    struct pollfd pfd[PS_MAX_IFACES];
    bool dry[PS_MAX_IFACES];
    nfds_t np = 0;
    uint64_t now = mono_ms();
    uint32_t nopen = 0;
    ps_time_us oldest = UINT64_MAX;
    int total = 0;

    *more = false;
    for (uint32_t i = 0; i < l->n; i++) {
        iface *f = &l->ifs[i];
        dry[i] = false;
        if (!f->cap)
            iface_retry(l, f, now);
        if (!f->cap) {
            uint64_t wait = f->next_try_ms > now ? f->next_try_ms - now : 0;
            timeout_ms = (int)PS_MIN((uint64_t)timeout_ms, wait);
            continue;
        }
        nopen++;
        if (f->has_head) { /* not polled: it has data, and waits for the others */
            oldest = PS_MIN(oldest, f->head_ts);
            continue;
        }
        pfd[np].fd = ps_capture_fd(f->cap);
        pfd[np].events = POLLIN;
        pfd[np].revents = 0;
        np++;
    }
    if (oldest != UINT64_MAX) { /* wake up when the oldest held packet may go */
        ps_time_us w = wall_us(), due = oldest + l->hold_us;
        timeout_ms = due <= w ? 0 : (int)PS_MIN((uint64_t)timeout_ms, (due - w + 999) / 1000);
    }
    if (poll(pfd, np, timeout_ms) < 0)
        return 0; /* EINTR: a signal the caller will look at */
    ps_time_us wall = wall_us();
    /* Merge by timestamp: hand over the oldest head of all interfaces, so the two directions
     * of a tap interleave as on the wire. An interface with nothing waiting is not asked
     * again in this round (each ask is a system call). */
    while (total < PS_LIVE_BATCH) {
        iface *best = NULL;
        bool waiting = false;
        for (uint32_t i = 0; i < l->n; i++) {
            iface *f = &l->ifs[i];
            if (f->cap && !f->has_head && !dry[i] && !fill(f))
                dry[i] = true;
            if (!f->cap)
                continue;
            if (!f->has_head)
                waiting = true;
            else if (!best || f->head_ts < best->head_ts)
                best = f;
        }
        if (!best)
            break;
        /* With several interfaces a packet goes once every other one has shown a later
         * packet, or once it is older than the kernel's hand-over delay: until then an older
         * packet may still appear where nothing has shown yet. */
        if (waiting && nopen > 1 && best->head_ts + l->hold_us > wall)
            break;
        deliver(best, cb, user);
        total++;
    }
    *more = total == PS_LIVE_BATCH;
    return total;
}

uint32_t ps_live_count(const ps_live *l)
{
    return l->n;
}

void ps_live_stats(ps_live *l, uint32_t i, ps_live_iface_stats *out)
{
    iface *f = &l->ifs[i];
    ps_capture_kstats ks = {0, 0, 0};
    if (f->cap)
        ps_capture_kernel_stats(f->cap, &ks);
    *out = f->st;
    out->kernel.recv = f->closed.recv + ks.recv;
    out->kernel.drop = f->closed.drop + ks.drop;
    out->kernel.ifdrop = f->closed.ifdrop + ks.ifdrop;
}

void ps_live_close(ps_live *l)
{
    if (!l)
        return;
    for (uint32_t i = 0; i < l->n; i++)
        ps_capture_close(l->ifs[i].cap);
    free(l);
}
