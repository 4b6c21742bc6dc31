/* notify.c - sd_notify by hand: one AF_UNIX datagram per state to $NOTIFY_SOCKET. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"

static int fd_ = -1;
static struct sockaddr_un addr_;
static socklen_t addrlen_;
static uint64_t watchdog_us_;

void ps_notify_init(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    const char *wd = getenv("WATCHDOG_USEC");
    const char *wpid = getenv("WATCHDOG_PID");

    if (fd_ >= 0)
        close(fd_);
    fd_ = -1;
    watchdog_us_ = 0;
    if (wd && (!wpid || strtol(wpid, NULL, 10) == (long)getpid())) {
        unsigned long long us = strtoull(wd, NULL, 10);
        watchdog_us_ = us / 2;
    }
    if (!path || (path[0] != '/' && path[0] != '@'))
        return;
    size_t len = strlen(path);
    if (len < 2 || len >= sizeof(addr_.sun_path))
        return;
    memset(&addr_, 0, sizeof(addr_));
    addr_.sun_family = AF_UNIX;
    memcpy(addr_.sun_path, path, len);
    if (path[0] == '@') /* abstract namespace */
        addr_.sun_path[0] = '\0';
    addrlen_ = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

void ps_notify(const char *state)
{
    if (fd_ < 0)
        return;
    (void)sendto(fd_, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT,
                 (const struct sockaddr *)&addr_, addrlen_);
}

uint64_t ps_notify_watchdog_interval_us(void)
{
    return fd_ >= 0 ? watchdog_us_ : 0;
}
