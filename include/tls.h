/* tls.h - client TLS over a caller-owned non-blocking socket (OpenSSL, in crypto.c). */
#ifndef PS_TLS_H
#define PS_TLS_H

#include "ps_common.h"

typedef struct ps_tls_ctx ps_tls_ctx;
typedef struct ps_tls ps_tls;

/* The peer's certificate is always verified; the name check can be turned off. */
typedef struct ps_tls_options {
    const char *ca_file;   /* PEM bundle; NULL or "" = system trust store */
    const char *cert_file; /* client certificate (PEM), optional */
    const char *key_file;  /* its key; NULL or "" = in cert_file */
    bool verify_hostname;  /* check the certificate names the host we dialled */
} ps_tls_options;

/* What a call that returned PS_ERR_NEED_MORE waits for. */
enum { PS_TLS_WANT_READ = 1, PS_TLS_WANT_WRITE = 2 };

/* Builds a client context (TLS 1.2+). Returns NULL with a message in err
 * ("cannot load CA file X: ...") when a file is unusable. Caller frees. */
ps_tls_ctx *ps_tls_ctx_new(const ps_tls_options *opt, char *err, size_t errlen);
void ps_tls_ctx_free(ps_tls_ctx *ctx);

/* Starts a session on connected socket fd (not owned) for `host`: SNI for
 * names, hostname or IP check per the options. NULL with err on failure. */
ps_tls *ps_tls_new(ps_tls_ctx *ctx, int fd, const char *host, char *err, size_t errlen);

/* Drives the handshake. PS_OK when done, PS_ERR_NEED_MORE with *want set
 * (poll for it and call again), PS_ERR_IO with a reason in err, e.g.
 * "certificate verify failed: hostname mismatch". */
int ps_tls_handshake(ps_tls *t, int *want, char *err, size_t errlen);

/* Read/write up to n bytes: returns bytes moved (> 0), 0 when the peer
 * closed (read only), PS_ERR_NEED_MORE with *want set, or PS_ERR_IO. */
long ps_tls_read(ps_tls *t, void *buf, size_t n, int *want, char *err, size_t errlen);
long ps_tls_write(ps_tls *t, const void *buf, size_t n, int *want, char *err, size_t errlen);

/* Frees the session; the socket is left to the caller. */
void ps_tls_free(ps_tls *t);

#endif
