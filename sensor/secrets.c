/* secrets.c - the fingerprint key (configured, or kept in the state directory) and fingerprints. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "crypto.h"
#include "secrets.h"

#define KEY_BYTES 32

static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;
static char cfg_key[256];
static char cfg_dir[PS_PATH_MAX];
static uint8_t key[256];
static size_t key_len;
static bool key_loaded;

void ps_secrets_configure(const char *k, const char *state_dir)
{
    pthread_mutex_lock(&key_lock);
    snprintf(cfg_key, sizeof(cfg_key), "%s", k ? k : "");
    snprintf(cfg_dir, sizeof(cfg_dir), "%s", state_dir ? state_dir : "");
    key_loaded = false;
    key_len = 0;
    pthread_mutex_unlock(&key_lock);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads a 64-hex-digit key from path. */
static bool read_key(const char *path)
{
    char text[KEY_BYTES * 2 + 2];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, text, sizeof(text));
    close(fd);
    if (n < KEY_BYTES * 2)
        return false;
    for (size_t i = 0; i < KEY_BYTES; i++) {
        int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        key[i] = (uint8_t)(hi << 4 | lo);
    }
    key_len = KEY_BYTES;
    return true;
}

/* Creates state_dir/hmac.key with a fresh random key (never overwrites). */
static bool create_key(const char *path)
{
    static const char hex[] = "0123456789abcdef";
    char text[KEY_BYTES * 2 + 1];
    if (mkdir(cfg_dir, 0700) != 0 && errno != EEXIST)
        return false;
    if (ps_random_bytes(key, KEY_BYTES) != PS_OK)
        return false;
    for (size_t i = 0; i < KEY_BYTES; i++) {
        text[2 * i] = hex[key[i] >> 4];
        text[2 * i + 1] = hex[key[i] & 15];
    }
    text[KEY_BYTES * 2] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == EEXIST && read_key(path); /* another process won the race */
    bool ok = write(fd, text, sizeof(text)) == (ssize_t)sizeof(text);
    ok = close(fd) == 0 && ok;
    if (!ok) {
        unlink(path);
        return false;
    }
    key_len = KEY_BYTES;
    return true;
}

static void load_key(void)
{
    char path[PS_PATH_MAX + 16];
    key_loaded = true;
    if (cfg_key[0]) {
        key_len = strlen(cfg_key);
        memcpy(key, cfg_key, key_len);
        return;
    }
    snprintf(path, sizeof(path), "%s/hmac.key", cfg_dir);
    if (cfg_dir[0] && (read_key(path) || create_key(path)))
        return;
    fprintf(stderr,
            "portside: warning: cannot keep a fingerprint key in %s (%s); using a per-run key: "
            "set secrets.hmac_key or runtime.state_dir\n",
            cfg_dir[0] ? cfg_dir : "(no state_dir)", strerror(errno));
    if (ps_random_bytes(key, KEY_BYTES) != PS_OK)
        memset(key, 0, KEY_BYTES);
    key_len = KEY_BYTES;
}

int ps_secret_fingerprint(const uint8_t *data, size_t len, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t mac[32];
    if (outlen < PS_SECRET_FP_LEN + 1) {
        if (outlen)
            out[0] = '\0';
        return PS_ERR_CAP;
    }
    pthread_mutex_lock(&key_lock);
    if (!key_loaded)
        load_key();
    int rc = ps_hmac_sha256(key, key_len, data, len, mac);
    pthread_mutex_unlock(&key_lock);
    if (rc != PS_OK) {
        out[0] = '\0';
        return PS_ERR_STATE;
    }
    size_t p = strlen(PS_SECRET_FP_PREFIX);
    memcpy(out, PS_SECRET_FP_PREFIX, p);
    for (size_t i = 0; i < 8; i++) {
        out[p++] = hex[mac[i] >> 4];
        out[p++] = hex[mac[i] & 15];
    }
    out[p] = '\0';
    return PS_OK;
}
