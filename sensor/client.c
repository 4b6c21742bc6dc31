/* client.c - client tool identification: a product-token table plus a few request habits. */
#include <string.h>
#include <strings.h>

#include "client.h"

/* A user-agent product token and the tool it names. Matched at the start of
 * the agent, or anywhere for `anywhere` rows (zgrab hides behind Mozilla). */
typedef struct ua_rule {
    const char *token; /* up to and including '/' */
    const char *tool;
    bool anywhere;
} ua_rule;

static const ua_rule ua_rules[] = {
    {"Docker-Client/", "docker-cli", false},
    {"docker-sdk-python/", "docker-py", false},
    {"moby-client/", "moby-client", false},
    {"kubectl-dispatcher/", "kubectl-dispatcher", false}, /* Debian's version-picking wrapper */
    {"kubectl/", "kubectl", false},
    {"curl/", "curl", false},
    {"python-requests/", "python-requests", false},
    {"python-urllib3/", "python-urllib3", false},
    {"Python-urllib/", "python-urllib", false},
    {"Wget/", "wget", false},
    {"masscan/", "masscan", false},
    {"Go-http-client/", "go-http-client", false},
    {"grpc-go/", "grpc-go", false},
    {"etcdctl/", "etcdctl", false},
    {"Prometheus/", "prometheus", false},
    {"kube-probe/", "kube-probe", false},
    {"zgrab/", "zgrab", true},
    {"Nmap Scripting Engine", "nmap", true},
};

static void put(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Length of the version after a token: up to a space, ';' or ')'. */
static size_t version_len(const char *v)
{
    size_t n = 0;
    while (v[n] && v[n] != ' ' && v[n] != ';' && v[n] != ')' && v[n] != '(')
        n++;
    return n;
}

/* client-go's default agent: "<program>/<version> (<os>/<arch>) kubernetes/<commit>";
 * an unstamped build says v0.0.0 and commit "$Format". */
static bool client_go(const char *ua, ps_client_id *out)
{
    const char *k = strstr(ua, ") kubernetes/");
    const char *slash = strchr(ua, '/');
    if (!k || !slash || slash > k || slash == ua)
        return false;
    put(out->program, sizeof(out->program), ua, (size_t)(slash - ua));
    put(out->version, sizeof(out->version), slash + 1, version_len(slash + 1));
    put(out->tool, sizeof(out->tool), "client-go", 9);
    if (strstr(k, "$Format") || strncmp(out->version, "v0.0.0", 6) == 0)
        put(out->version, sizeof(out->version), "unstamped", 9);
    return true;
}

void ps_client_identify(const char *ua, const char *app, const char *url, ps_client_id *out)
{
    memset(out, 0, sizeof(*out));
    if (!ua || !ua[0]) {
        put(out->tool, sizeof(out->tool), "unknown", 7);
        return;
    }
    for (size_t i = 0; i < PS_ARRAY_LEN(ua_rules); i++) {
        const ua_rule *r = &ua_rules[i];
        size_t tl = strlen(r->token);
        const char *at =
            r->anywhere ? strstr(ua, r->token) : (strncmp(ua, r->token, tl) == 0 ? ua : NULL);
        if (!at)
            continue;
        put(out->tool, sizeof(out->tool), r->tool, strlen(r->tool));
        if (r->token[tl - 1] == '/')
            put(out->version, sizeof(out->version), at + tl, version_len(at + tl));
        /* kubectl's agent is client-go's with program "kubectl". */
        if (strcmp(r->tool, "kubectl") == 0 && strstr(ua, "$Format"))
            put(out->version, sizeof(out->version), "unstamped", 9);
        /* Go's default agent: the HTTP version is no tool version. Old
         * docker CLIs (<= 24) drop their agent and use /v1.24/ against a
         * server that sent no Api-Version; the Go SDK negotiates. */
        if (strcmp(r->tool, "go-http-client") == 0) {
            out->version[0] = '\0';
            if (app && strcmp(app, "docker") == 0 && url && strncmp(url, "/v1.24/", 7) == 0)
                put(out->program, sizeof(out->program), "docker-cli<=24", 14);
        }
        return;
    }
    if (client_go(ua, out))
        return;
    put(out->tool, sizeof(out->tool), "other", 5);
    size_t n = 0;
    while (ua[n] && ua[n] != '/' && ua[n] != ' ')
        n++;
    put(out->program, sizeof(out->program), ua, n);
    const char *slash = ua[n] == '/' ? ua + n + 1 : NULL;
    if (slash)
        put(out->version, sizeof(out->version), slash, version_len(slash));
}
