/* secrets.h - fingerprints of secrets seen on the wire (HMAC-SHA-256 under a sensor key). */
#ifndef PS_SECRETS_H
#define PS_SECRETS_H

#include "ps_common.h"

#define PS_SECRET_FP_PREFIX "hmac-sha256:"
#define PS_SECRET_FP_LEN    28 /* prefix + 16 hex digits, without the NUL */

/* Says where the key comes from: `key` (used as given when non-empty) or the
 * file hmac.key in `state_dir` (read, or created with a random key, on first
 * use). Does no I/O; call again to change (tests). Strings are copied. */
void ps_secrets_configure(const char *key, const char *state_dir);

/* Writes "hmac-sha256:<first 16 hex of HMAC-SHA-256(key, data)>" into out
 * (at least PS_SECRET_FP_LEN + 1 bytes). Loads the key on first use; when the
 * state directory cannot be used, warns once on stderr and uses a random key
 * for this process. Returns PS_OK, PS_ERR_CAP (out too small) or
 * PS_ERR_STATE (libcrypto failure; out is then ""). Thread-safe. */
int ps_secret_fingerprint(const uint8_t *data, size_t len, char *out, size_t outlen);

#endif
