/* scan.h - SYN-sweep detection on container ports: scanner fingerprints, per-source counts,
 * reports. */
#ifndef PS_SCAN_H
#define PS_SCAN_H

#include "ps_common.h"
#include "decode.h"
#include "json_writer.h"

#define PS_SCAN_MAX_PORTS     32  /* container port set size */
#define PS_SCAN_EXACT_MAX     256 /* cap on exact_targets */
#define PS_SCAN_FP_K_MAX      4   /* cap on fingerprint_k */
#define PS_SCAN_REPORT_PORTS  16  /* distinct ports listed per source */
#define PS_SCAN_REPORT_RESP   3   /* responder examples per source */
#define PS_SCAN_REPORT_SPORTS 4   /* scanner source ports listed */

/* Rule names (stable; the `rule` field of a record). */
#define PS_SCAN_RULE_HORIZONTAL  "scan.sweep.horizontal"
#define PS_SCAN_RULE_VERTICAL    "scan.sweep.vertical"
#define PS_SCAN_RULE_FINGERPRINT "scan.fingerprint"
#define PS_SCAN_RULE_SUPPRESSED  "scan.suppressed"

/* Settings of the [scan] section. Every table is sized from these at
 * ps_scan_new() and never grows. */
typedef struct ps_scan_config {
    uint16_t ports[PS_SCAN_MAX_PORTS]; /* container port set (see defaults) */
    uint32_t nports;
    uint32_t horizontal_hosts;      /* distinct hosts on one set port per window, default 25 */
    uint32_t vertical_ports;        /* distinct ports on one host per window, default 15 */
    uint32_t window_s;              /* threshold window and update spacing, default 300 */
    uint32_t idle_timeout_s;        /* source state kept after its last probe, default 3600 */
    uint32_t max_sources;           /* tracked scanner sources, LRU-evicted, default 16384 */
    uint32_t exact_targets;         /* exact distinct targets per source, default 64 */
    uint32_t hll_bits;              /* HyperLogLog registers 2^bits (4..16), default 10 */
    uint32_t hll_sketches;          /* sketches shared by heavy sources, default 1024 */
    uint32_t fingerprint_k;         /* matching packets to distinct targets (2..4), default 2 */
    uint32_t report_rate;           /* token bucket: reports per second, default 10 */
    uint32_t report_burst;          /* token bucket depth, default 100 */
    uint32_t suppressed_interval_s; /* spacing of "suppressed" records, default 60 */
    uint32_t max_pending;           /* undrained reports held, default 1024 */
    uint64_t memcap;                /* ps_scan_new() fails above this, default 64 MiB */
    uint64_t hash_key[2];           /* {0,0} = random at ps_scan_new (tests pin it) */
} ps_scan_config;

/* Fills `cfg` with the defaults above; the port set is 2375, 2376, 2377,
 * 4243, 4244, 10250, 10255, 10256, 6443, 8080, 8001, 2379, 2380, 5000. */
void ps_scan_config_default(ps_scan_config *cfg);

/* Checks ranges; PS_OK or PS_ERR_CONFIG with a reason in err (may be NULL). */
int ps_scan_config_check(const ps_scan_config *cfg, char *err, size_t errlen);

/* Bytes ps_scan_new() would reserve for `cfg`. */
size_t ps_scan_config_memory(const ps_scan_config *cfg);

/* Compact copy of the packet fields scan detection reads; holds no
 * pointer into the frame, so it can cross a queue. */
typedef struct ps_probe {
    ps_time_us ts;
    ps_addr src, dst;
    uint16_t sport, dport;
    uint8_t ip_version;
    uint8_t flags; /* PS_TCP_* */
    uint8_t ttl, tos;
    bool df;
    uint16_t ip_id, window;
    uint32_t seq, ack;
    uint8_t opts[40];
    uint8_t opts_len;
    uint32_t payload_len;
    uint8_t eth_dst[6];
} ps_probe;

/* Cheap gate for every decoded packet: true for TCP SYN, SYN-ACK and RST,
 * and for segments with masscan's banner-mode windows (1200, 600). */
static inline bool ps_scan_wants(const ps_packet *p)
{
    return p->ip_proto == 6 && ((p->tcp_flags & (PS_TCP_SYN | PS_TCP_RST)) != 0 ||
                                p->window == 1200 || p->window == 600);
}

/* Copies the fields of `p` (a TCP packet) into `pr`. */
void ps_probe_from_packet(ps_probe *pr, const ps_packet *p);

/* Scanner tools the fingerprints name. */
enum ps_scan_tool {
    PS_SCAN_TOOL_UNKNOWN = 0,
    PS_SCAN_TOOL_MASSCAN,        /* releases up to 1.3.2: window 1024, no options */
    PS_SCAN_TOOL_MASSCAN_MASTER, /* git master since 2023-11: window 1025, MSS */
    PS_SCAN_TOOL_ZMAP,           /* version says <=4.0 or >=4.1 */
    PS_SCAN_TOOL_NMAP,
    PS_SCAN_TOOL_MAX
};

enum ps_scan_kind {
    PS_SCAN_KIND_NONE = 0,
    PS_SCAN_KIND_FINGERPRINT, /* tool identified, thresholds not reached */
    PS_SCAN_KIND_VERTICAL,
    PS_SCAN_KIND_HORIZONTAL,
    PS_SCAN_KIND_SUPPRESSED, /* rate-limiter record: only `suppressed` and times are set */
};

enum ps_scan_phase { PS_SCAN_PHASE_FIRST = 0, PS_SCAN_PHASE_UPDATE, PS_SCAN_PHASE_FINAL };

enum ps_scan_end { PS_SCAN_END_NONE = 0, PS_SCAN_END_IDLE, PS_SCAN_END_EVICTED, PS_SCAN_END_FLUSH };

/* What the fingerprints saw from one source. The packet fields are those
 * of its first SYN. */
typedef struct ps_scan_features {
    bool have_syn;
    uint8_t ttl, ttl_min, ttl_max, tos;
    bool df;
    uint16_t ip_id, window;
    uint8_t opts[40];
    uint8_t opts_len;
    uint16_t sports[PS_SCAN_REPORT_SPORTS];
    uint8_t nsports;
    bool sports_more;
    uint32_t masscan_identity; /* packets passing gate + IP-ID identity */
    uint32_t zmap_ipid;        /* SYNs with ID 54321, window 65535, no DF, TTL > 200 */
    uint32_t zmap_options;     /* SYNs with zmap 4.1's option bytes, window 65535, TTL 40-64 */
    uint32_t nmap_shared_seq;  /* SYNs sharing seq and port with one to another target */
    uint32_t banner_segments;  /* window 1200/600 segments passing the identity */
    uint32_t router_mac;       /* frames to masscan's README router MAC 66:55:44:33:22:11 */
    uint32_t rejections;       /* RSTs from targets (closed ports) */
} ps_scan_features;

/* One record's worth of a scan detection; a plain value. */
typedef struct ps_scan_report {
    uint8_t phase;    /* enum ps_scan_phase */
    uint8_t kind;     /* enum ps_scan_kind */
    uint8_t end;      /* enum ps_scan_end (final records) */
    uint8_t severity; /* enum ps_severity: low; the correlator escalates */
    const char *rule; /* PS_SCAN_RULE_* */
    uint64_t scan_id; /* same for every record of one detection */
    ps_addr src;      /* the scanner */
    uint16_t sport;   /* its first source port */
    ps_addr dst;      /* first probed target */
    uint16_t dport;
    uint8_t tool;             /* enum ps_scan_tool */
    const char *tool_name;    /* "masscan", "masscan-master", "zmap", "nmap", "unknown" */
    const char *tool_version; /* "1.3.x", "master", "<=4.0", ">=4.1", ... or "" */
    ps_scan_features features;
    uint64_t targets; /* distinct (host, port) */
    bool targets_estimated;
    uint16_t ports[PS_SCAN_REPORT_PORTS]; /* distinct destination ports, first seen first */
    uint8_t nports;
    bool ports_more;
    uint32_t responders; /* distinct targets that answered SYN-ACK */
    ps_addr resp_addr[PS_SCAN_REPORT_RESP];
    uint16_t resp_port[PS_SCAN_REPORT_RESP];
    uint8_t nresp;
    uint64_t probes;   /* SYNs counted, retries included */
    uint64_t rate_pps; /* probes / active seconds (at least 1 s), rounded */
    uint32_t peak_hosts_per_port, peak_ports_per_host; /* best window */
    ps_time_us first_seen, last_seen;
    uint64_t suppressed; /* kind SUPPRESSED: reports dropped since the last such record */
} ps_scan_report;

typedef struct ps_scan_stats {
    uint64_t packets; /* ps_scan_observe() calls */
    uint64_t probes;  /* SYNs from tracked sources */
    uint64_t ignored; /* packets that created or touched no state */
    uint64_t sources_created;
    uint64_t sources_active;
    uint64_t sources_evicted; /* dropped at max_sources */
    uint64_t sources_expired; /* idle_timeout */
    uint64_t sketch_acquired;
    uint64_t sketch_stolen;             /* taken from the least recently active heavy source */
    uint64_t detections;                /* sources that became scans */
    uint64_t reports;                   /* queued */
    uint64_t reports_suppressed;        /* refused by the token bucket */
    uint64_t reports_dropped;           /* queue full (caller did not drain) */
    uint64_t by_tool[PS_SCAN_TOOL_MAX]; /* detections naming each tool */
} ps_scan_stats;

typedef struct ps_scan ps_scan;

/* Creates the detector; every table (sources, exact sets, sketches, report
 * queue) is allocated here and nowhere else. Copies `cfg`. Returns NULL on
 * allocation failure, a config ps_scan_config_check() rejects, or a
 * reservation above cfg->memcap. Free with ps_scan_free(). */
ps_scan *ps_scan_new(const ps_scan_config *cfg);
void ps_scan_free(ps_scan *s);

/* Applies the thresholds of `cfg` that need no table resizing (SIGHUP):
 * horizontal_hosts, vertical_ports, window_s, idle_timeout_s, report_rate,
 * report_burst, suppressed_interval_s. Per-source state is kept. Values
 * ps_scan_config_check() rejects are ignored (PS_ERR_CONFIG). */
int ps_scan_set_limits(ps_scan *s, const ps_scan_config *cfg);

/* Takes one packet's features. O(1) amortised (bounded scans of fixed
 * small sets), never allocates. Packets need not come in time order; time
 * never moves backwards inside the detector. */
void ps_scan_observe(ps_scan *s, const ps_probe *pr);

/* Expires idle sources (final records) and writes the periodic
 * "suppressed" record. Call every second or so with packet time. */
void ps_scan_tick(ps_scan *s, ps_time_us now);

/* End of capture: final records for every reported source, then a last
 * "suppressed" record if any were dropped. Sources are kept. */
void ps_scan_flush(ps_scan *s, ps_time_us now);

/* Pops the oldest pending report into `out`; false when none is left. */
bool ps_scan_next_report(ps_scan *s, ps_scan_report *out);

/* True when reports wait to be drained (cheap: the hot path asks). */
bool ps_scan_pending(const ps_scan *s);

/* Writes the `scan` member object (tool, version, targets,
 * targets_estimated, ports, responders, rate_pps, first_seen, last_seen,
 * features{...}, ...) of `r` into `w`. */
void ps_scan_report_json(ps_jw *w, const ps_scan_report *r);

const char *ps_scan_kind_name(int kind);   /* "horizontal", ... */
const char *ps_scan_phase_name(int phase); /* "first", "update", "final" */
const char *ps_scan_tool_name(int tool);

const ps_scan_stats *ps_scan_stats_get(const ps_scan *s);

/* Bytes reserved at ps_scan_new(); constant for the detector's life. */
size_t ps_scan_memory(const ps_scan *s);

#endif
