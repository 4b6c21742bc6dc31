/* main.c - command line entry point: replays a capture through the pipeline and reports. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "config.h"
#include "correlate.h"
#include "output.h"
#include "summary.h"
#include "worker.h"

#define PS_CORR_TICK_US 100000u

static void usage(FILE *f)
{
    fputs(
        "Usage: portside -r FILE [-o OUT]... [-c CONFIG]\n"
        "\n"
        "Detects container discovery (MITRE ATT&CK T1613) in network traffic and writes\n"
        "detections as JSON Lines.\n"
        "\n"
        "  -r, --read FILE       replay a pcap or pcapng capture\n"
        "  -o, --output OUT      '-' for stdout (default), a file to append to, or\n"
        "                        redis://[user@]host[:port][/db] or rediss://...; repeatable;\n"
        "                        replaces output.paths from the config file\n"
        "  -c, --config FILE     configuration file (libconfig syntax; see config/portside.conf)\n"
        "      --check-config    validate the configuration and exit\n"
        "      --http-log        also write every HTTP exchange as an \"http\" record\n"
        "  -q, --quiet           no summary or progress on stderr\n"
        "  -h, --help            this text\n"
        "  -V, --version         print the version\n",
        f);
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Replays `file` through one worker and the correlator into the outputs.
 * Returns the process exit status; every resource is released on all paths. */
static int replay(const ps_config *cfg, const char *file, const char **outs, int nouts, bool quiet)
{
    char err[512];
    int status = 1;
    ps_output *out = NULL;
    ps_correlator *corr = NULL;
    ps_worker *w = NULL;
    ps_capture *cap = ps_capture_open_file(file, err, sizeof(err));
    if (!cap) {
        fprintf(stderr, "portside: %s\n", err);
        return 1;
    }
    int linktype = ps_capture_linktype(cap);
    if (!ps_linktype_supported(linktype)) {
        fprintf(stderr, "portside: %s: unsupported link type %d (%s)\n", file, linktype,
                ps_capture_linktype_name(cap));
        goto done;
    }
    out = ps_output_new();
    if (!out) {
        fputs("portside: out of memory\n", stderr);
        goto done;
    }
    ps_output_set_redis_config(out, &cfg->redis);
    for (int i = 0; i < nouts; i++) {
        if (ps_output_add(out, outs[i], err, sizeof(err)) != PS_OK) {
            fprintf(stderr, "portside: %s\n", err);
            goto done;
        }
    }
    corr = ps_correlator_new(cfg, out);
    w = corr ? ps_worker_new(cfg, ps_correlator_sink(corr)) : NULL;
    if (!w) {
        fputs("portside: out of memory reserving tables (lower flow.memcap_mb?)\n", stderr);
        goto done;
    }

    bool progress = !quiet && (cfg->progress == 1 || (cfg->progress < 0 && isatty(2)));
    double t0 = wall_now(), last_progress = t0;
    ps_time_us now = 0, last_tick = 0;
    uint64_t n = 0;
    int rc;
    for (;;) {
        ps_time_us ts;
        const uint8_t *data;
        uint32_t caplen, wirelen;
        rc = ps_capture_next(cap, &ts, &data, &caplen, &wirelen, err, sizeof(err));
        if (rc <= 0)
            break;
        if (ts > now)
            now = ts;
        ps_worker_packet(w, linktype, ts, data, caplen, wirelen);
        if (now >= last_tick + PS_CORR_TICK_US) {
            ps_correlator_tick(corr, now);
            last_tick = now;
        }
        if (progress && (++n & 0xFFFF) == 0) {
            double t = wall_now();
            if (t - last_progress >= 1.0) {
                uint64_t size = ps_capture_size(cap);
                double pct = size ? 100.0 * (double)ps_capture_offset(cap) / (double)size : 0.0;
                fprintf(stderr, "\rportside: %5.1f%% %llu packets", pct, (unsigned long long)n);
                last_progress = t;
            }
        }
    }
    if (progress && n >= 0x10000)
        fputc('\n', stderr);
    if (rc < 0)
        fprintf(stderr, "portside: warning: %s: stopped at damaged data after %llu packets: %s\n",
                file, (unsigned long long)ps_worker_stats_get(w)->packets, err);

    ps_worker_flush(w, now);
    ps_correlator_flush(corr, now);
    status = 0;
    if (ps_output_finish(out, -1) != PS_OK) {
        fputs("portside: error writing output\n", stderr);
        status = 1;
    }
    if (!quiet) {
        ps_summary_print(stderr, w, corr, out, wall_now() - t0);
        ps_redis_stats rs;
        if (ps_output_redis_stats(out, &rs))
            fprintf(stderr,
                    "portside: redis: delivered %llu, spooled %llu, dropped %llu (queue full %llu, "
                    "spool cap %llu, spool errors %llu, too big %llu, rejected %llu), in spool "
                    "%llu, reconnects %llu\n",
                    (unsigned long long)rs.delivered, (unsigned long long)rs.spooled,
                    (unsigned long long)rs.dropped, (unsigned long long)rs.dropped_queue_full,
                    (unsigned long long)rs.dropped_spool_cap,
                    (unsigned long long)rs.dropped_spool_error,
                    (unsigned long long)rs.dropped_too_big, (unsigned long long)rs.rejected,
                    (unsigned long long)rs.spool_pending, (unsigned long long)rs.reconnects);
    }
    ps_worker_free(w, now);
    ps_correlator_free(corr, now);
    w = NULL;
    corr = NULL;
done:
    ps_worker_free(w, 0);
    ps_correlator_free(corr, 0);
    ps_output_close(out, 0);
    ps_capture_close(cap);
    return status;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"read", required_argument, NULL, 'r'},
        {"output", required_argument, NULL, 'o'},
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, 'C'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"http-log", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    const char *file = NULL, *config_path = NULL;
    const char *outs[PS_MAX_OUTPUTS];
    int nouts = 0;
    bool check_only = false, quiet = false, http_log = false;
    int c;
    while ((c = getopt_long(argc, argv, "r:o:c:qhV", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            file = optarg;
            break;
        case 'o':
            if (nouts == PS_MAX_OUTPUTS) {
                fprintf(stderr, "portside: too many -o options (at most %d)\n", PS_MAX_OUTPUTS);
                return 2;
            }
            outs[nouts++] = optarg;
            break;
        case 'c':
            config_path = optarg;
            break;
        case 'C':
            check_only = true;
            break;
        case 'q':
            quiet = true;
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
        fprintf(stderr, "portside: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    static ps_config cfg;
    ps_config_default(&cfg);
    if (config_path) {
        static char err[8192];
        int rc = ps_config_load(&cfg, config_path, err, sizeof(err));
        if (rc != PS_OK) {
            fputs(err, stderr);
            if (err[0] && err[strlen(err) - 1] != '\n')
                fputc('\n', stderr);
            if (!err[0])
                fprintf(stderr, "portside: %s: %s\n", config_path, ps_strerror(rc));
            return 1;
        }
    }
    if (http_log)
        cfg.http_log = true;
    if (check_only) {
        fprintf(stderr, "portside: configuration %s is valid\n",
                config_path ? config_path : "(defaults)");
        return 0;
    }
    if (!file) {
        fputs("portside: nothing to read: give -r FILE\n", stderr);
        usage(stderr);
        return 2;
    }

    if (nouts == 0) {
        for (uint32_t i = 0; i < cfg.output_count; i++)
            outs[nouts++] = cfg.outputs[i];
    }
    if (nouts == 0)
        outs[nouts++] = "-";
    return replay(&cfg, file, outs, nouts, quiet);
}
