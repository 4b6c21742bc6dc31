/* apiutil.c - grading, event filling and form decoding shared by the HTTP API dissectors. */
#include <string.h>
#include <strings.h>

#include "apiutil.h"

uint8_t ps_api_grade(uint16_t status)
{
    if (status == 0)
        return PS_OUTCOME_UNKNOWN;
    if ((status >= 200 && status < 300) || status == 101)
        return PS_OUTCOME_SUCCEEDED;
    if (status == 401 || status == 403)
        return PS_OUTCOME_DENIED;
    return PS_OUTCOME_FAILED;
}

void ps_api_copy(char *dst, size_t cap, const char *src, size_t n)
{
    if (cap == 0)
        return;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void copy_z(char *dst, size_t cap, const char *src)
{
    ps_api_copy(dst, cap, src, strnlen(src, cap - 1));
}

void ps_api_fill(const ps_http_tx *tx, const ps_rule *rule, ps_event *ev)
{
    ev->rule = rule;
    ev->status = tx->response_seen ? tx->status : 0;
    ev->outcome = ps_api_grade(ev->status);
    copy_z(ev->method, sizeof(ev->method), tx->method);
    copy_z(ev->url, sizeof(ev->url), tx->url);
    copy_z(ev->host, sizeof(ev->host), tx->host);
    copy_z(ev->user_agent, sizeof(ev->user_agent), tx->user_agent);
    copy_z(ev->server, sizeof(ev->server), tx->server);
    ev->http_anomalies = tx->anomalies;
    ev->req_version = tx->req_version;
    ev->resp_version = tx->response_seen ? tx->resp_version : 0;
    if (tx->upgrade[0])
        ev->flags |= PS_EVF_UPGRADE;
    if (tx->req_body.truncated)
        ev->flags |= PS_EVF_BODY_TRUNCATED;
}

static int hexv(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ps_api_form_value(const char *t, size_t len, const char *name, char sep, char *out,
                      size_t outlen)
{
    size_t nl = strlen(name), o = 0;
    int found = 0;
    if (outlen)
        out[0] = '\0';
    for (size_t i = 0; i < len;) {
        size_t s = i;
        while (i < len && t[i] != '&' && t[i] != ';')
            i++;
        size_t e = i++;
        size_t eq = s;
        while (eq < e && t[eq] != '=')
            eq++;
        if (eq - s != nl || memcmp(t + s, name, nl) != 0)
            continue;
        if (found && !sep)
            break;
        if (found && o + 1 < outlen)
            out[o++] = sep;
        found++;
        for (size_t k = eq < e ? eq + 1 : e; k < e; k++) {
            char c = t[k];
            if (c == '+') {
                c = ' ';
            } else if (c == '%' && k + 2 < e) {
                int hi = hexv(t[k + 1]), lo = hexv(t[k + 2]);
                if (hi >= 0 && lo >= 0) {
                    c = (char)(hi << 4 | lo);
                    k += 2;
                }
            }
            if (o + 1 < outlen)
                out[o++] = c;
        }
    }
    if (outlen)
        out[o < outlen ? o : outlen - 1] = '\0';
    return found;
}

void ps_api_list_add(char *buf, size_t cap, const char *item)
{
    size_t n = strlen(item), have = strnlen(buf, cap);
    if (n == 0 || have >= cap)
        return;
    for (const char *p = buf; *p;) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        if (l == n && memcmp(p, item, n) == 0)
            return;
        if (!c)
            break;
        p = c + 1;
    }
    size_t need = n + (have ? 1 : 0);
    if (have + need + 1 > cap)
        return;
    if (have)
        buf[have++] = ',';
    memcpy(buf + have, item, n);
    buf[have + n] = '\0';
}

void ps_api_seg(const ps_path *p, uint32_t i, char *out, size_t outlen)
{
    if (i >= p->nseg) {
        if (outlen)
            out[0] = '\0';
        return;
    }
    ps_api_copy(out, outlen, p->seg[i], p->seg_len[i]);
}

bool ps_api_body_starts(const ps_http_body *b, const char *prefix)
{
    if (!b->data)
        return false;
    size_t i = 0, n = strlen(prefix);
    while (i < b->len &&
           (b->data[i] == ' ' || b->data[i] == '\n' || b->data[i] == '\r' || b->data[i] == '\t'))
        i++;
    return b->len - i >= n && memcmp(b->data + i, prefix, n) == 0;
}

bool ps_api_tls_port_answer(const ps_http_tx *tx)
{
    return tx->response_seen && tx->status == 400 &&
           ps_api_body_starts(&tx->resp_body, "Client sent an HTTP request to an HTTPS server");
}

bool ps_api_sensitive_host_path(const char *path)
{
    static const char *const paths[] = {
        "/etc",
        "/root",
        "/proc",
        "/sys",
        "/dev",
        "/boot",
        "/home",
        "/var/run/docker.sock",
        "/run/docker.sock",
        "/var/lib/kubelet",
        "/var/lib/docker",
        "/run/containerd",
        "/var/run/containerd",
        "/var/run/crio",
        "/usr",
        "/lib",
        "/var/log",
        "/var/lib/etcd",
        "/etc/kubernetes",
    };
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    if (n == 0 || path[0] != '/')
        return false;
    if (n == 1)
        return true; /* the host's root */
    for (size_t i = 0; i < PS_ARRAY_LEN(paths); i++) {
        size_t l = strlen(paths[i]);
        if (n >= l && memcmp(path, paths[i], l) == 0 && (n == l || path[l] == '/'))
            return true;
    }
    return false;
}

bool ps_api_dangerous_cap(const char *cap)
{
    static const char *const caps[] = {"SYS_ADMIN", "SYS_PTRACE", "SYS_MODULE", "DAC_READ_SEARCH",
                                       "NET_ADMIN", "SYS_RAWIO",  "BPF",        "ALL"};
    if (strncasecmp(cap, "CAP_", 4) == 0)
        cap += 4;
    for (size_t i = 0; i < PS_ARRAY_LEN(caps); i++)
        if (strcasecmp(cap, caps[i]) == 0)
            return true;
    return false;
}
