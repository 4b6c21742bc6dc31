/* ps_common.h - status codes, time and address types shared by every stage. */
#ifndef PS_COMMON_H
#define PS_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Every fallible function returns PS_OK (0), a positive count, or one of
 * these negative codes. ps_strerror() turns any of them into text. */
enum {
    PS_OK = 0,
    PS_ERR_NEED_MORE = -1,   /* input is a valid prefix; call again with more */
    PS_ERR_BAD_INPUT = -2,   /* input can never be valid; parser stays failed */
    PS_ERR_NOMEM = -3,       /* allocation failed (start-up only) */
    PS_ERR_CAP = -4,         /* a configured cap was hit; the caller counted it */
    PS_ERR_IO = -5,          /* file or socket error, errno holds detail */
    PS_ERR_CONFIG = -6,      /* configuration rejected */
    PS_ERR_UNSUPPORTED = -7, /* valid but not handled (link type, version) */
    PS_ERR_STATE = -8,       /* called in the wrong state */
    PS_ERR_SKIP = -9,        /* packet consumed without result (dup, fragment) */
    PS_ERR_NOT_FOUND = -10,
};

/* Returns a static string describing status code `st` (never NULL). */
const char *ps_strerror(int st);

/* Packet time in microseconds since the Unix epoch (UTC). */
typedef uint64_t ps_time_us;

#define PS_USEC_PER_SEC ((ps_time_us)1000000)

/* An IPv4 or IPv6 address. IPv4 lives in bytes[0..3], the rest zero, so
 * keys built from ps_addr compare with memcmp. */
typedef struct ps_addr {
    uint8_t family; /* 4 or 6; 0 = unset */
    uint8_t bytes[16];
} ps_addr;

/* Formats `a` as text into `out` (at least 46 bytes). Returns `out`. */
char *ps_addr_format(const ps_addr *a, char *out, size_t outlen);

/* Negative-free saturating add for 64-bit counters and lengths. */
static inline uint64_t ps_sat_add64(uint64_t a, uint64_t b)
{
    return (a > UINT64_MAX - b) ? UINT64_MAX : a + b;
}

#define PS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define PS_MIN(a, b)    ((a) < (b) ? (a) : (b))
#define PS_MAX(a, b)    ((a) > (b) ? (a) : (b))

#endif
