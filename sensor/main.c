/* main.c - command line entry point: replays captures or captures live through one run loop. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "config.h"
#include "correlate.h"
#include "live.h"
#include "log.h"
#include "notify.h"
#include "output.h"
#include "privileges.h"
#include "summary.h"
#include "worker.h"

#define PS_CORR_TICK_US 100000u /* correlator tick, in packet time */
#define PS_LIVE_TICK_US 100000u /* idle tick and flush spacing, in wall-clock time */
#define PS_FILE_BATCH   1024    /* packets per pcap_dispatch call when replaying */
#define PS_STATS_BUF    16384

static volatile sig_atomic_t sig_stop, sig_hup, sig_usr1;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        sig_hup = 1;
    else if (sig == SIGUSR1)
        sig_usr1 = 1;
    else
        sig_stop = 1;
}

static const int handled_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};

/* Handlers only set flags; no SA_RESTART, so poll() returns early. */
static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < PS_ARRAY_LEN(handled_signals); i++)
        sigaction(handled_signals[i], &sa, NULL);
}

/* Blocks (or unblocks) the handled signals in the calling thread; threads
 * started while blocked inherit it, so signals reach the capture thread. */
static void block_signals(bool block)
{
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < PS_ARRAY_LEN(handled_signals); i++)
        sigaddset(&set, handled_signals[i]);
    pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

static void usage(FILE *f)
{
    fputs(
        "Usage: portside -r FILE [-o OUT]... [-c CONFIG]\n"
        "       portside -i IFACE [-i IFACE]... [-o OUT]... [-c CONFIG]\n"
        "\n"
        "Detects container discovery (MITRE ATT&CK T1613) in network traffic and writes\n"
        "detections as JSON Lines.\n"
        "\n"
        "  -r, --read FILE       replay a pcap or pcapng capture\n"
        "  -i, --interface IFACE capture live on IFACE (needs CAP_NET_RAW); repeatable (up to 8,\n"
        "                        e.g. both ports of a tap, merged into one view); replaces\n"
        "                        capture.interfaces; runs until SIGTERM or SIGINT\n"
        "  -o, --output OUT      '-' for stdout (default), a file to append to, or\n"
        "                        redis://[user@]host[:port][/db] or rediss://...; repeatable;\n"
        "                        replaces output.paths from the config file\n"
        "  -c, --config FILE     configuration file (libconfig syntax; see config/portside.conf)\n"
        "      --check-config    validate the configuration and exit\n"
        "      --http-log        also write every HTTP exchange as an \"http\" record\n"
        "  -q, --quiet           no summary or progress on stderr\n"
        "  -h, --help            this text\n"
        "  -V, --version         print the version\n"
        "\n"
        "Signals: SIGTERM/SIGINT flush and exit; SIGHUP reloads the configuration and reopens\n"
        "output files; SIGUSR1 writes a stats record now.\n",
        f);
}

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static ps_time_us wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (ps_time_us)ts.tv_sec * PS_USEC_PER_SEC + (ps_time_us)ts.tv_nsec / 1000u;
}

/* One run: the pipeline and where its packets come from. */
typedef struct run {
    ps_config *cfg; /* the running configuration; SIGHUP updates its live keys */
    const char *config_path;
    const char *cli_outs[PS_MAX_OUTPUTS]; /* -o, which wins over output.paths */
    int n_cli_outs;
    char outs[PS_MAX_OUTPUTS][PS_PATH_MAX]; /* outputs now open */
    int nouts;
    const char *file; /* -r */
    ps_capture *cap;
    int linktype;
    ps_live *live; /* -i */
    ps_output *out;
    ps_correlator *corr;
    ps_worker *w;
    bool quiet;
    ps_time_us now, last_tick; /* packet time (live: advanced by the wall clock when idle) */
    uint64_t t0;               /* monotonic start */
} run;

/* The packet path shared by replay and live capture; `stable`: the frame
 * stays in place as ps_capture_stable() says, so the worker may hold it. */
static inline void packet_in(run *r, int linktype, ps_time_us ts, const uint8_t *data,
                             uint32_t caplen, uint32_t wirelen, bool stable)
{
    if (ts > r->now)
        r->now = ts;
    if (stable)
        ps_worker_packet_stable(r->w, linktype, ts, data, caplen, wirelen);
    else
        ps_worker_packet(r->w, linktype, ts, data, caplen, wirelen);
    if (r->now >= r->last_tick + PS_CORR_TICK_US) {
        ps_worker_drain(r->w); /* the correlator's clock must not pass held packets */
        ps_correlator_tick(r->corr, r->now);
        r->last_tick = r->now;
    }
}

static void on_packet(void *u, int linktype, ps_time_us ts, const uint8_t *data, uint32_t caplen,
                      uint32_t wirelen)
{
    packet_in(u, linktype, ts, data, caplen, wirelen, false);
}

static void on_file_packet(void *u, ps_time_us ts, const uint8_t *data, uint32_t caplen,
                           uint32_t wirelen)
{
    run *r = u;
    packet_in(r, r->linktype, ts, data, caplen, wirelen, false);
}

_Static_assert(PS_CAPTURE_STABLE_BYTES >= PS_WORKER_HOLD_BYTES,
               "the worker holds frames no longer than the capture leaves them in place");

static void on_file_packet_stable(void *u, ps_time_us ts, const uint8_t *data, uint32_t caplen,
                                  uint32_t wirelen)
{
    run *r = u;
    packet_in(r, r->linktype, ts, data, caplen, wirelen, true);
}

/* Writes a stats record to the log (stderr or syslog) and the Redis stats stream. */
static void write_stats(run *r)
{
    static char buf[PS_STATS_BUF];
    ps_live_iface_stats ifs[PS_MAX_IFACES];
    uint32_t n = r->live ? ps_live_count(r->live) : 0;
    for (uint32_t i = 0; i < n; i++)
        ps_live_stats(r->live, i, &ifs[i]);
    ps_stats_source src = {
        .cfg = r->cfg,
        .w = r->w,
        .c = r->corr,
        .o = r->out,
        .ifaces = ifs,
        .nifaces = n,
        .now = wall_us(),
        .uptime_s = (mono_us() - r->t0) / 1000000u,
        .rss_bytes = ps_stats_rss_bytes(),
    };
    int len = ps_stats_format(&src, buf, sizeof(buf));
    if (len < 0) {
        ps_log(LOG_WARNING, "stats record too large (%d)", len);
        return;
    }
    ps_log(LOG_INFO, "stats %s", buf);
    ps_output_publish_stats(r->out, buf, (size_t)len);
}

/* The outputs configuration cfg asks for: -o wins, then output.paths, then stdout. */
static int wanted_outputs(const run *r, const ps_config *cfg, const char **specs)
{
    int n = 0;
    if (r->n_cli_outs > 0) {
        for (int i = 0; i < r->n_cli_outs; i++)
            specs[n++] = r->cli_outs[i];
    } else {
        for (uint32_t i = 0; i < cfg->output_count && i < PS_MAX_OUTPUTS; i++)
            specs[n++] = cfg->outputs[i];
    }
    if (n == 0)
        specs[n++] = "-";
    return n;
}

static void remember_outputs(run *r, const char *const *specs, int n)
{
    for (int i = 0; i < n; i++)
        snprintf(r->outs[i], sizeof(r->outs[i]), "%s", specs[i]);
    r->nouts = n;
}

static void note_change(void *ctx, const char *group, const char *key, bool applied)
{
    (void)ctx;
    if (applied)
        ps_log(LOG_NOTICE, "reload: %s.%s applied", group, key);
    else
        ps_log(LOG_WARNING, "reload: %s.%s changed but needs a restart; the running value stays",
               group, key);
}

/* SIGHUP: re-reads the configuration file and applies what can change while
 * running, keeping flow, aggregate and scan state; reopens output files
 * (log rotation) even when the new file is rejected. */
static void reload(run *r)
{
    static ps_config next;
    static char err[8192];
    unsigned kept = 0;
    bool ok = true, reopened = false;

    if (r->config_path) {
        ps_config_default(&next);
        int rc = ps_config_load(&next, r->config_path, err, sizeof(err));
        if (rc != PS_OK) {
            ok = false;
            for (char *line = strtok(err, "\n"); line; line = strtok(NULL, "\n"))
                ps_log(LOG_ERR, "%s", line);
            ps_log(LOG_ERR, "reload: %s rejected; the running configuration stays", r->config_path);
        } else {
            /* Outputs and Redis settings first: when they are refused (an
             * unopenable file, a bad URI or CA file, a Redis output added),
             * the running ones stay and are not reported as applied. */
            const char *specs[PS_MAX_OUTPUTS];
            int n = wanted_outputs(r, &next, specs);
            if (ps_output_reopen(r->out, specs, n, &next.redis, err, sizeof(err)) == PS_OK) {
                remember_outputs(r, specs, n);
                reopened = true;
            } else {
                ps_log(LOG_ERR,
                       "reload: %s; the running outputs and redis settings stay (reopened)", err);
                memcpy(next.outputs, r->cfg->outputs, sizeof(next.outputs));
                next.output_count = r->cfg->output_count;
                next.redis = r->cfg->redis;
            }
            kept = ps_config_reload(r->cfg, &next, note_change, NULL);
            ps_correlator_reload(r->corr);
            ps_log_init(r->cfg->log_syslog == 1);
        }
    }

    if (!reopened) { /* the running outputs, reopened for log rotation */
        const char *cur[PS_MAX_OUTPUTS];
        for (int i = 0; i < r->nouts; i++)
            cur[i] = r->outs[i];
        if (ps_output_reopen(r->out, cur, r->nouts, NULL, err, sizeof(err)) != PS_OK)
            ps_log(LOG_ERR, "reload: %s", err);
    }
    if (ok)
        ps_log(LOG_NOTICE, "reloaded %s%s", r->config_path ? r->config_path : "(no file)",
               kept ? "; some changes need a restart" : "");
}

/* Flags set by signal handlers, acted on between batches of packets. */
static void handle_signals(run *r)
{
    if (sig_hup) {
        sig_hup = 0;
        reload(r);
    }
    if (sig_usr1) {
        sig_usr1 = 0;
        write_stats(r);
    }
}

/* Reads the whole file (or until SIGTERM); damaged data ends it with a warning. */
static void replay_loop(run *r)
{
    char err[512];
    bool progress = !r->quiet && (r->cfg->progress == 1 || (r->cfg->progress < 0 && isatty(2)));
    uint64_t last_progress = mono_us();
    bool printed = false;
    for (;;) {
        int n =
            ps_capture_dispatch(r->cap, PS_FILE_BATCH,
                                ps_capture_stable(r->cap) ? on_file_packet_stable : on_file_packet,
                                r, err, sizeof(err));
        if (n < 0) {
            if (printed)
                fputc('\n', stderr);
            ps_log(LOG_WARNING, "warning: %s: stopped at damaged data after %llu packets: %s",
                   r->file, (unsigned long long)ps_worker_stats_get(r->w)->packets, err);
            return;
        }
        if (n == 0 || sig_stop)
            break;
        handle_signals(r);
        if (progress) {
            uint64_t t = mono_us();
            if (t - last_progress >= 1000000u) {
                uint64_t size = ps_capture_size(r->cap);
                double pct = size ? 100.0 * (double)ps_capture_offset(r->cap) / (double)size : 0.0;
                fprintf(stderr, "\rportside: %5.1f%% %llu packets", pct,
                        (unsigned long long)ps_worker_stats_get(r->w)->packets);
                last_progress = t;
                printed = true;
            }
        }
    }
    if (printed)
        fputc('\n', stderr);
}

/* Captures until SIGTERM/SIGINT. Time advances with the wall clock when the
 * link is idle, so timeouts, windows and scan ticks still fire. */
static void live_loop(run *r)
{
    uint64_t wd = ps_notify_watchdog_interval_us();
    uint64_t now = mono_us();
    uint64_t next_tick = now + PS_LIVE_TICK_US, next_wd = now, next_stats = 0, stats_every = 0;
    uint64_t records = ps_output_stats_get(r->out)->records;
    bool more = false;

    ps_notify("READY=1");
    while (!sig_stop) {
        handle_signals(r);
        ps_live_poll(r->live, more ? 0 : (int)(PS_LIVE_TICK_US / 1000u), on_packet, r, &more);
        ps_worker_drain(r->w); /* no packet waits for the next one on a quiet link */
        now = mono_us();
        if (now >= next_tick) {
            ps_time_us wall = wall_us();
            if (wall > r->now)
                r->now = wall;
            ps_worker_tick(r->w, r->now);
            ps_correlator_tick(r->corr, r->now);
            r->last_tick = r->now;
            next_tick = now + PS_LIVE_TICK_US;
            if (ps_output_stats_get(r->out)->records != records) { /* readers see records soon */
                records = ps_output_stats_get(r->out)->records;
                if (ps_output_flush(r->out) != PS_OK)
                    ps_log(LOG_ERR, "error writing output");
            }
        }
        if (wd && now >= next_wd) {
            ps_notify("WATCHDOG=1");
            next_wd = now + wd;
        }
        uint64_t every = (uint64_t)r->cfg->stats_interval_s * 1000000u;
        if (every != stats_every) { /* start, or changed by SIGHUP */
            stats_every = every;
            next_stats = now + every;
        }
        if (every && now >= next_stats) {
            write_stats(r);
            next_stats = now + every;
        }
    }
    ps_notify("STOPPING=1");
    ps_log(LOG_NOTICE, "stopping: flushing flows and outputs");
}

static void print_redis_stats(const ps_output *out)
{
    ps_redis_stats rs;
    if (ps_output_redis_stats(out, &rs))
        ps_log(LOG_INFO,
               "redis: delivered %llu, spooled %llu, dropped %llu (queue full %llu, "
               "spool cap %llu, spool errors %llu, too big %llu, rejected %llu), in spool "
               "%llu, reconnects %llu",
               (unsigned long long)rs.delivered, (unsigned long long)rs.spooled,
               (unsigned long long)rs.dropped, (unsigned long long)rs.dropped_queue_full,
               (unsigned long long)rs.dropped_spool_cap, (unsigned long long)rs.dropped_spool_error,
               (unsigned long long)rs.dropped_too_big, (unsigned long long)rs.rejected,
               (unsigned long long)rs.spool_pending, (unsigned long long)rs.reconnects);
}

/* Opens the source (file or interfaces), outputs and pipeline, runs, and
 * reports. Returns the process exit status; every resource is released on
 * all paths. */
static int run_main(run *r, const char ifaces[][PS_IFNAME_MAX], uint32_t nifaces)
{
    static char err[1024];
    int status = 1;
    const ps_config *cfg = r->cfg;

    if (r->file) {
        r->cap = ps_capture_open_file(r->file, err, sizeof(err));
        if (!r->cap) {
            ps_log(LOG_ERR, "%s", err);
            return 1;
        }
        r->linktype = ps_capture_linktype(r->cap);
        if (!ps_linktype_supported(r->linktype)) {
            ps_log(LOG_ERR, "%s: unsupported link type %d (%s)", r->file, r->linktype,
                   ps_capture_linktype_name(r->cap));
            goto done;
        }
    } else {
        ps_capture_opts o = {.snaplen = cfg->snaplen,
                             .promiscuous = cfg->promiscuous,
                             .buffer_bytes = cfg->buffer_bytes,
                             .immediate = cfg->immediate,
                             .filter = cfg->filter};
        r->live = ps_live_open(ifaces, nifaces, &o, err, sizeof(err));
        if (!r->live) {
            ps_log(LOG_ERR, "%s", err);
            return 1;
        }
    }
    r->out = ps_output_new();
    if (!r->out) {
        ps_log(LOG_ERR, "out of memory");
        goto done;
    }
    ps_output_set_redis_config(r->out, &cfg->redis);
    const char *specs[PS_MAX_OUTPUTS];
    int nspecs = wanted_outputs(r, cfg, specs);
    block_signals(true); /* the Redis thread must not take our signals */
    for (int i = 0; i < nspecs; i++) {
        if (ps_output_add(r->out, specs[i], err, sizeof(err)) != PS_OK) {
            block_signals(false);
            ps_log(LOG_ERR, "%s", err);
            goto done;
        }
    }
    block_signals(false);
    remember_outputs(r, specs, nspecs);
    r->corr = ps_correlator_new(cfg, r->out);
    r->w = r->corr ? ps_worker_new(cfg, ps_correlator_sink(r->corr)) : NULL;
    if (!r->w) {
        ps_log(LOG_ERR, "out of memory reserving tables (lower flow.memcap_mb?)");
        goto done;
    }
    if (r->live)
        ps_worker_warm(r->w);
    (void)ps_correlator_share_baseline(r->corr, wall_us()); /* before capture; warns itself */
    if (ps_privileges_drop(cfg->user, r->live && cfg->keep_net_raw, err, sizeof(err)) != PS_OK) {
        ps_log(LOG_ERR, "%s", err);
        goto done;
    }
    if (r->live) {
        char names[PS_MAX_IFACES * (PS_IFNAME_MAX + 2)] = "";
        for (uint32_t i = 0; i < nifaces; i++) {
            strcat(names, i ? ", " : "");
            strcat(names, ifaces[i]);
        }
        ps_log(LOG_NOTICE, "capturing on %s (snaplen %u%s%s%s)", names, cfg->snaplen,
               cfg->filter[0] ? ", filter '" : "", cfg->filter, cfg->filter[0] ? "'" : "");
    }

    r->t0 = mono_us();
    if (r->live)
        live_loop(r);
    else
        replay_loop(r); /* a damaged capture is processed up to the damage: still success */

    ps_worker_flush(r->w, r->now);
    ps_correlator_flush(r->corr, r->now);
    status = 0;
    if (ps_output_finish(r->out, -1) != PS_OK) {
        ps_log(LOG_ERR, "error writing output");
        status = 1;
    }
    if (!r->quiet) {
        ps_summary_print(stderr, r->w, r->corr, r->out, (double)(mono_us() - r->t0) / 1e6);
        print_redis_stats(r->out);
    }
    ps_worker_free(r->w, r->now);
    ps_correlator_free(r->corr, r->now);
    r->w = NULL;
    r->corr = NULL;
done:
    ps_worker_free(r->w, 0);
    ps_correlator_free(r->corr, 0);
    ps_output_close(r->out, 0);
    ps_capture_close(r->cap);
    ps_live_close(r->live);
    return status;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"read", required_argument, NULL, 'r'},   {"interface", required_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'}, {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, 'C'}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
        {"http-log", no_argument, NULL, 'H'},     {NULL, 0, NULL, 0},
    };
    static ps_config cfg;
    static run r;
    char ifaces[PS_MAX_IFACES][PS_IFNAME_MAX];
    uint32_t nifaces = 0;
    bool check_only = false, http_log = false;
    int c;
    while ((c = getopt_long(argc, argv, "r:i:o:c:qhV", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            r.file = optarg;
            break;
        case 'i':
            if (nifaces == PS_MAX_IFACES) {
                ps_log(LOG_ERR, "too many -i options (at most %d)", PS_MAX_IFACES);
                return 2;
            }
            if (optarg[0] == '\0' || strlen(optarg) >= PS_IFNAME_MAX) {
                ps_log(LOG_ERR, "bad interface name '%s' (1 to %d characters)", optarg,
                       PS_IFNAME_MAX - 1);
                return 2;
            }
            snprintf(ifaces[nifaces++], PS_IFNAME_MAX, "%s", optarg);
            break;
        case 'o':
            if (r.n_cli_outs == PS_MAX_OUTPUTS) {
                ps_log(LOG_ERR, "too many -o options (at most %d)", PS_MAX_OUTPUTS);
                return 2;
            }
            r.cli_outs[r.n_cli_outs++] = optarg;
            break;
        case 'c':
            r.config_path = optarg;
            break;
        case 'C':
            check_only = true;
            break;
        case 'q':
            r.quiet = true;
            break;
        case 'H':
            http_log = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("portside %s\n", PS_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        ps_log(LOG_ERR, "unexpected argument '%s'", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (r.file && nifaces) {
        ps_log(LOG_ERR, "-r and -i cannot be used together: replay a file or capture live");
        usage(stderr);
        return 2;
    }

    ps_config_default(&cfg);
    if (r.config_path) {
        static char err[8192];
        int rc = ps_config_load(&cfg, r.config_path, err, sizeof(err));
        if (rc != PS_OK) {
            for (char *line = strtok(err, "\n"); line; line = strtok(NULL, "\n"))
                ps_log(LOG_ERR, "%s", line);
            if (!err[0])
                ps_log(LOG_ERR, "%s: %s", r.config_path, ps_strerror(rc));
            return 1;
        }
    }
    if (http_log)
        cfg.http_log = true;
    if (check_only) {
        ps_log(LOG_NOTICE, "configuration %s is valid",
               r.config_path ? r.config_path : "(defaults)");
        return 0;
    }
    if (!r.file && nifaces == 0) {
        for (uint32_t i = 0; i < cfg.iface_count; i++)
            snprintf(ifaces[nifaces++], PS_IFNAME_MAX, "%s", cfg.ifaces[i]);
    }
    if (!r.file && nifaces == 0) {
        ps_log(LOG_ERR, "nothing to read: give -r FILE or -i INTERFACE (or capture.interfaces)");
        usage(stderr);
        return 2;
    }

    r.cfg = &cfg;
    ps_log_init(cfg.log_syslog == 1);
    ps_notify_init();
    install_signals();
    return run_main(&r, (const char(*)[PS_IFNAME_MAX])ifaces, nifaces);
}
