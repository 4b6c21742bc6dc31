/* fuzz_config.c - libFuzzer target: any text through the config loader, errors well-formed. */
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* libconfig 1.5 leaks the string token at which a syntax error occurs (its
 * grammar has no %destructor); start-up only and bounded by the file size,
 * so LeakSanitizer is told to ignore allocations made inside libconfig. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libconfig.so\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ps_config cfg;
    static char err[4096 + 16];

    if (size > 65536)
        return 0;
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    /* The defaults once (they ask the system for the host name), then copied. */
    static ps_config def;
    static bool have_def;
    if (!have_def) {
        ps_config_default(&def);
        have_def = true;
    }
    memset(err + 4096, 'Z', 16);
    cfg = def;
    int st = ps_config_load_buffer(&cfg, "f.conf", text, err, 4096);
    free(text);
    if (st != PS_OK && st != PS_ERR_CONFIG)
        abort();
    if (memchr(err, '\0', 4096) == NULL)
        abort();
    for (int i = 0; i < 16; i++)
        if (err[4096 + i] != 'Z')
            abort();
    if (st == PS_OK && err[0] != '\0')
        abort();
    if (st == PS_ERR_CONFIG && strncmp(err, "f.conf", 6) != 0 && err[0] != '\0')
        abort();
    /* Whatever was accepted respects the documented bounds. */
    if (cfg.docker_ports.count < 1 || cfg.docker_ports.count > PS_MAX_PORTS)
        abort();
    for (uint32_t i = 0; i < cfg.docker_ports.count; i++)
        if (cfg.docker_ports.ports[i] == 0)
            abort();
    if (cfg.output_count > PS_MAX_OUTPUTS)
        abort();
    for (uint32_t i = 0; i < cfg.output_count; i++)
        if (cfg.outputs[i][0] == '\0' || memchr(cfg.outputs[i], '\0', PS_PATH_MAX) == NULL)
            abort();
    if (memchr(cfg.sensor_name, '\0', sizeof(cfg.sensor_name)) == NULL || cfg.sensor_name[0] == 0)
        abort();
    if (cfg.decode.max_tunnel_depth > 8 || cfg.max_urls < 1 || cfg.max_urls > 64 ||
        cfg.window_s < 10 || cfg.flow.memcap < (1u << 20) || cfg.progress < -1 || cfg.progress > 1)
        abort();
    if (cfg.iface_count > PS_MAX_IFACES || cfg.snaplen < 64 || cfg.snaplen > 262144 ||
        memchr(cfg.filter, '\0', sizeof(cfg.filter)) == NULL ||
        memchr(cfg.user, '\0', sizeof(cfg.user)) == NULL)
        abort();
    for (uint32_t i = 0; i < cfg.iface_count; i++)
        if (cfg.ifaces[i][0] == '\0' || memchr(cfg.ifaces[i], '\0', PS_IFNAME_MAX) == NULL)
            abort();
    /* Reloading it onto the defaults applies live keys only; a second reload changes nothing
     * but what needs a restart. */
    static ps_config live;
    live = def;
    unsigned kept = ps_config_reload(&live, &cfg, NULL, NULL);
    if (ps_config_reload(&live, &cfg, NULL, NULL) != kept || live.window_s != cfg.window_s ||
        live.flow.max_flows != def.flow.max_flows)
        abort();
    return 0;
}
