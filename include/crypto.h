/* crypto.h - the sensor's only doorway to OpenSSL's libcrypto: hashes and randomness. */
#ifndef PS_CRYPTO_H
#define PS_CRYPTO_H

#include "ps_common.h"

/* SHA-1 of data[0..len) into out[20]. Returns PS_OK or PS_ERR_STATE. */
int ps_sha1(const uint8_t *data, size_t len, uint8_t out[20]);

/* MD5 (JA3 fingerprints only, not for security) and SHA-256 of data[0..len)
 * into out. Return PS_OK or PS_ERR_STATE. */
int ps_md5(const uint8_t *data, size_t len, uint8_t out[16]);
int ps_sha256(const uint8_t *data, size_t len, uint8_t out[32]);

/* HMAC-SHA-256 of data under key into out[32]. Returns PS_OK or PS_ERR_STATE. */
int ps_hmac_sha256(const uint8_t *key, size_t keylen, const uint8_t *data, size_t len,
                   uint8_t out[32]);

/* Fills out[0..len) with cryptographically strong random bytes. PS_OK or PS_ERR_STATE. */
int ps_random_bytes(uint8_t *out, size_t len);

/* Community ID v1 (corelight spec) of a flow: "1:" + base64(SHA-1(...)),
 * 28 characters after the prefix, NUL-terminated into out (>= 32 bytes).
 * The hash is the same for both directions. For ICMP/ICMPv6 pass the type
 * as sport and the code as dport (request/reply types are paired as the
 * spec says); protocols without ports hash no ports. Returns PS_OK,
 * PS_ERR_BAD_INPUT (address families differ or unset), PS_ERR_CAP (outlen
 * too small) or PS_ERR_STATE (libcrypto failure). */
int ps_community_id(const ps_addr *src, uint16_t sport, const ps_addr *dst, uint16_t dport,
                    uint8_t proto, uint16_t seed, char *out, size_t outlen);

/* Random (version 4) UUID as 36 lower-case characters + NUL into out (>= 37
 * bytes). Uses a per-process generator seeded once from ps_random_bytes(),
 * cheap enough for every detection. */
void ps_uuid4(char *out, size_t outlen);

#endif
