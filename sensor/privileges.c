/* privileges.c - uid/gid switch and capability trimming with raw syscalls (no libcap). */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "privileges.h"

static int cap_get(struct __user_cap_data_struct d[2])
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    return (int)syscall(SYS_capget, &h, d);
}

static int cap_set(uint64_t eff, uint64_t perm)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof(d));
    d[0].effective = (uint32_t)eff;
    d[1].effective = (uint32_t)(eff >> 32);
    d[0].permitted = (uint32_t)perm;
    d[1].permitted = (uint32_t)(perm >> 32);
    return (int)syscall(SYS_capset, &h, d);
}

uint64_t ps_privileges_effective(void)
{
    struct __user_cap_data_struct d[2];
    if (cap_get(d) != 0)
        return 0;
    return (uint64_t)d[1].effective << 32 | d[0].effective;
}

/* Removes every capability but `keep` from the bounding set (needs CAP_SETPCAP). */
static void bound_to(uint64_t keep)
{
    for (unsigned long c = 0; c <= 63; c++) {
        if (keep & (1ull << c))
            continue;
        if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
            (void)prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
    }
}

int ps_privileges_drop(const char *user, bool keep_net_raw, char *err, size_t errlen)
{
    const uint64_t keep = keep_net_raw ? 1ull << CAP_NET_RAW : 0;
    bool switch_user = user && user[0];
    uid_t uid = 0;

    if (!switch_user && geteuid() == 0)
        return PS_OK;
    if (switch_user) {
        errno = 0;
        struct passwd *pw = getpwnam(user);
        if (!pw) {
            snprintf(err, errlen, "runtime.user '%s': %s", user,
                     errno ? strerror(errno) : "no such user");
            return PS_ERR_NOT_FOUND;
        }
        uid = pw->pw_uid;
        gid_t gid = pw->pw_gid;
        if (geteuid() != 0 && geteuid() != uid) {
            snprintf(err, errlen, "runtime.user '%s': only root can switch users", user);
            return PS_ERR_IO;
        }
        bound_to(keep); /* while CAP_SETPCAP is still effective */
        if (prctl(PR_SET_KEEPCAPS, keep ? 1 : 0, 0, 0, 0) != 0 ||
            (geteuid() == 0 && setgroups(1, &gid) != 0) || setresgid(gid, gid, gid) != 0 ||
            setresuid(uid, uid, uid) != 0) {
            snprintf(err, errlen, "cannot switch to user '%s': %s", user, strerror(errno));
            return PS_ERR_IO;
        }
        (void)prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    } else {
        bound_to(keep); /* without CAP_SETPCAP this is a no-op; capset below still trims */
    }
    /* Only capabilities still permitted can be kept. */
    struct __user_cap_data_struct d[2];
    uint64_t perm = cap_get(d) == 0 ? ((uint64_t)d[1].permitted << 32 | d[0].permitted) : 0;
    uint64_t want = keep & perm;
    if (cap_set(want, want) != 0) {
        snprintf(err, errlen, "cannot reduce capabilities: %s", strerror(errno));
        return PS_ERR_IO;
    }
    (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
        return PS_ERR_IO;
    }
    if (switch_user && uid != 0 &&
        (setuid(0) == 0 || seteuid(0) == 0)) { /* must be impossible now */
        snprintf(err, errlen, "privileges could be regained after switching to '%s'", user);
        return PS_ERR_IO;
    }
    return PS_OK;
}
