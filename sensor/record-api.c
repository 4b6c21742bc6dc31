/* record-api.c - client, auth and per-API objects of detection records (docs/output.md). */
#include <string.h>

#include "record_api.h"

static void str_if(ps_jw *w, ps_jw_key k, const char *s)
{
    if (s && s[0])
        ps_jw_kstr(w, k, s);
}

/* Writes a comma-separated list as a JSON array. */
static void list_array(ps_jw *w, ps_jw_key k, const char *list)
{
    if (!list[0])
        return;
    ps_jw_karr_begin(w, k);
    for (const char *p = list; *p;) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        ps_jw_strn(w, NULL, (const uint8_t *)p, n);
        if (!c)
            break;
        p = c + 1;
    }
    ps_jw_arr_end(w);
}

/* Engine version from "Docker/28.5.2 (linux)". */
static void engine_version(const char *server, char *out, size_t cap)
{
    out[0] = '\0';
    if (strncmp(server, "Docker/", 7) != 0)
        return;
    const char *v = server + 7;
    size_t n = 0;
    while (v[n] && v[n] != ' ' && n + 1 < cap)
        n++;
    memcpy(out, v, n);
    out[n] = '\0';
}

static void common_exec(ps_jw *w, const ps_event *e)
{
    str_if(w, PS_JW_KEY("image"), e->image);
    str_if(w, PS_JW_KEY("command"), e->command);
    list_array(w, PS_JW_KEY("escape"), e->escape);
    if (e->flags & PS_EVF_UPGRADE)
        ps_jw_kbool(w, PS_JW_KEY("upgrade"), true);
    if (e->flags & PS_EVF_BODY_TRUNCATED)
        ps_jw_kbool(w, PS_JW_KEY("request_body_truncated"), true);
}

static void docker_object(ps_jw *w, const ps_aggregate *a, const ps_event *e)
{
    char engine[64];
    const char *rn = a->rule->name;
    ps_jw_kobj_begin(w, PS_JW_KEY("docker"));
    ps_jw_kstr(w, PS_JW_KEY("endpoint"), a->rule->endpoint);
    str_if(w, PS_JW_KEY("api_version"), e->api_version);
    str_if(w, PS_JW_KEY("server_api_version"), e->server_api_version);
    engine_version(e->server, engine, sizeof(engine));
    str_if(w, PS_JW_KEY("engine"), engine);
    if (a->objects >= 0)
        ps_jw_ki64(w, PS_JW_KEY("objects"), a->objects);
    str_if(w, PS_JW_KEY("container"), e->container);
    if (strcmp(rn, "docker.exec.start") == 0)
        str_if(w, PS_JW_KEY("exec_id"), e->object_name);
    else if (strcmp(rn, "docker.containers.archive_put") == 0)
        str_if(w, PS_JW_KEY("path"), e->object_name);
    else
        str_if(w, PS_JW_KEY("name"), e->object_name);
    common_exec(w, e);
    if (e->flags & PS_EVF_TOP_LEVEL_HOSTCFG)
        ps_jw_kbool(w, PS_JW_KEY("host_config_top_level"), true);
    if (e->n_env_secrets) {
        ps_jw_karr_begin(w, PS_JW_KEY("env_secrets"));
        for (uint8_t i = 0; i < e->n_env_secrets && i < PS_EV_ENV_SECRETS; i++) {
            ps_jw_obj_begin(w, NULL);
            ps_jw_kstr(w, PS_JW_KEY("name"), e->env_secrets[i].name);
            ps_jw_kstr(w, PS_JW_KEY("fingerprint"), e->env_secrets[i].fp);
            ps_jw_obj_end(w);
        }
        ps_jw_arr_end(w);
    }
    str_if(w, PS_JW_KEY("registry_auth"), e->registry_fp);
    ps_jw_obj_end(w);
}

static void kubelet_object(ps_jw *w, const ps_aggregate *a, const ps_event *e)
{
    ps_jw_kobj_begin(w, PS_JW_KEY("kubelet"));
    ps_jw_kstr(w, PS_JW_KEY("endpoint"), a->rule->endpoint);
    str_if(w, PS_JW_KEY("namespace"), e->k8s_namespace);
    str_if(w, PS_JW_KEY("pod"), e->pod);
    str_if(w, PS_JW_KEY("container"), e->container);
    if (a->objects >= 0)
        ps_jw_ki64(w, PS_JW_KEY("items"), a->objects);
    common_exec(w, e);
    if (e->flags & PS_EVF_TLS_PORT_PLAINTEXT)
        ps_jw_kbool(w, PS_JW_KEY("tls_port_plaintext"), true);
    ps_jw_obj_end(w);
}

static void kubeapi_object(ps_jw *w, const ps_aggregate *a, const ps_event *e)
{
    ps_jw_kobj_begin(w, PS_JW_KEY("kubeapi"));
    ps_jw_kstr(w, PS_JW_KEY("endpoint"), a->rule->endpoint);
    str_if(w, PS_JW_KEY("verb"), e->verb);
    str_if(w, PS_JW_KEY("resource"), e->resource);
    str_if(w, PS_JW_KEY("subresource"), e->subresource);
    str_if(w, PS_JW_KEY("namespace"), e->k8s_namespace);
    str_if(w, PS_JW_KEY("name"), e->object_name);
    str_if(w, PS_JW_KEY("pod"), e->pod);
    str_if(w, PS_JW_KEY("container"), e->container);
    if (a->objects >= 0)
        ps_jw_ki64(w, PS_JW_KEY("items"), a->objects);
    if (e->allowed >= 0)
        ps_jw_kbool(w, PS_JW_KEY("allowed"), e->allowed == 1);
    common_exec(w, e);
    ps_jw_obj_end(w);
}

static void etcd_object(ps_jw *w, const ps_aggregate *a, const ps_event *e)
{
    ps_jw_kobj_begin(w, PS_JW_KEY("etcd"));
    ps_jw_kstr(w, PS_JW_KEY("endpoint"), a->rule->endpoint);
    str_if(w, PS_JW_KEY("key"), e->etcd_key);
    str_if(w, PS_JW_KEY("range_end"), e->etcd_range_end);
    if (a->objects >= 0)
        ps_jw_ki64(w, PS_JW_KEY("kvs"), a->objects);
    if (e->flags & PS_EVF_TLS_PORT_PLAINTEXT)
        ps_jw_kbool(w, PS_JW_KEY("tls_port_plaintext"), true);
    if (e->flags & PS_EVF_BODY_TRUNCATED)
        ps_jw_kbool(w, PS_JW_KEY("request_body_truncated"), true);
    ps_jw_obj_end(w);
}

void ps_record_api_objects(ps_jw *w, const ps_aggregate *a)
{
    const ps_event *e = a->last;
    const char *app = a->rule->app;
    if (e == NULL || e->kind != PS_EV_API_CALL)
        return;
    if (e->client_tool[0]) {
        ps_jw_kobj_begin(w, PS_JW_KEY("client"));
        ps_jw_kstr(w, PS_JW_KEY("tool"), e->client_tool);
        str_if(w, PS_JW_KEY("version"), e->client_version);
        str_if(w, PS_JW_KEY("program"), e->client_program);
        ps_jw_obj_end(w);
    }
    if (e->auth_fp[0]) {
        ps_jw_kobj_begin(w, PS_JW_KEY("auth"));
        str_if(w, PS_JW_KEY("scheme"), e->auth_scheme);
        ps_jw_kstr(w, PS_JW_KEY("fingerprint"), e->auth_fp);
        ps_jw_obj_end(w);
    }
    if (strcmp(app, "docker") == 0)
        docker_object(w, a, e);
    else if (strcmp(app, "kubelet") == 0)
        kubelet_object(w, a, e);
    else if (strcmp(app, "kubeapi") == 0)
        kubeapi_object(w, a, e);
    else if (strcmp(app, "etcd") == 0)
        etcd_object(w, a, e);
}
