#!/usr/bin/env python3
"""stub_docker.py - a stub Docker Engine API server that answers like dockerd 28.x, for recording captures.

Python 3 standard library only. The routing and the canned answers are plain
functions (route(), render()) so make_edge_pcaps.py builds its hand-made
exchanges from the very same bytes.

Usage:
  stub_docker.py [--listen HOST:PORT ...] [--deny] [--allow-ping] [--quiet]
    --listen  address to serve on (repeatable; IPv6 as [addr]:port);
              default 127.0.0.1:2375
    --deny    "authz plugin" mode: every request gets 403
              {"message":"authorization denied by plugin ..."} (env STUB_DENY=1)
    --allow-ping  in --deny mode, let /_ping through (as many authz policies do)

Behaviour (as dockerd 28.2 + gorilla/mux + Go net/http, unless noted):
  - routes exist bare and under /vN.NN/; N.NN < 1.24 -> 400 plain text "too
    old", N.NN > 1.50 -> 400 JSON "too new";
  - every routed answer has Api-Version, Content-Type, Docker-Experimental,
    Ostype, Server, Date, Content-Length (Go's header order);
  - /_ping (GET/HEAD) adds Builder-Version, Cache-Control, Pragma, Swarm; the
    GET body is "OK" and its type text/plain as in the real daemon;
  - /events and /containers/{id}/logs are chunked (as dockerd streams them);
    any other route is chunked when the query has "chunked" (?chunked=1);
  - gzip: when the request has Accept-Encoding: gzip AND (?gz in the query or
    an X-Test-Gzip header) the body is gzip-encoded (dockerd never does this;
    it exists to exercise the sensor's decoder);
  - a path with "//" or dot segments -> 301 Location: cleaned path (gorilla's
    cleanPath; like the real one this answer has no Docker headers);
  - unknown path or method -> 404 {"message":"page not found"};
  - HTTP/1.1 without Host -> 400 "missing required Host header" (Go);
    HTTP/1.0 is answered as HTTP/1.0 and the connection closed.
"""
import argparse
import email.utils
import gzip
import hashlib
import json
import os
import re
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

ENGINE = "28.2.2"
API = "1.50"
MIN_API = "1.24"
SERVER = "Docker/%s (linux)" % ENGINE
FIXED_DATE = "Tue, 01 Jul 2025 10:00:00 GMT"  # used by hand-built captures

NOT_MANAGER = ('This node is not a swarm manager. Use "docker swarm init" or '
               '"docker swarm join" to connect this node to swarm and try again.')
DENY_MSG = ("authorization denied by plugin opa-docker-authz:readonly: "
            "request rejected by administrative policy")


def _hex(seed):
    return hashlib.sha256(seed.encode()).hexdigest()


# ---------------------------------------------------------------- canned data

IMAGES = [
    {"ref": "nginx:1.27-alpine", "id": "sha256:" + _hex("image-nginx"),
     "digest": "nginx@sha256:" + _hex("digest-nginx"), "created": 1749600000,
     "size": 47934620, "cmd": ["nginx", "-g", "daemon off;"],
     "entrypoint": ["/docker-entrypoint.sh"], "expose": {"80/tcp": {}},
     "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "NGINX_VERSION=1.27.5", "PKG_RELEASE=1"]},
    {"ref": "postgres:16", "id": "sha256:" + _hex("image-postgres"),
     "digest": "postgres@sha256:" + _hex("digest-postgres"), "created": 1750200000,
     "size": 438611223, "cmd": ["postgres"],
     "entrypoint": ["docker-entrypoint.sh"], "expose": {"5432/tcp": {}},
     "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:"
             "/usr/lib/postgresql/16/bin", "GOSU_VERSION=1.17", "LANG=en_US.utf8",
             "PG_MAJOR=16", "PG_VERSION=16.9-1.pgdg120+1",
             "PGDATA=/var/lib/postgresql/data"]},
]

# name, image index, running, tty, ip, ports [(priv, pub)], extra env, cmd, started
CONTAINERS = [
    {"name": "web-frontend", "img": 0, "running": True, "tty": False, "ip": "172.17.0.2",
     "ports": [(80, 8080)], "env": [], "cmd": None, "created": 1751100000, "pid": 2314,
     "status": "Up 3 days"},
    {"name": "static-assets", "img": 0, "running": True, "tty": False, "ip": "172.17.0.3",
     "ports": [(80, None)], "env": [], "cmd": None, "created": 1751100060, "pid": 2420,
     "status": "Up 3 days"},
    {"name": "db", "img": 1, "running": True, "tty": False, "ip": "172.17.0.4",
     "ports": [(5432, None)], "env": ["POSTGRES_USER=app", "POSTGRES_PASSWORD=S3cr3t-Pg-2025!",
                                      "POSTGRES_DB=shop"],
     "cmd": None, "created": 1751100120, "pid": 2533, "status": "Up 3 days (healthy)"},
    {"name": "db-backup", "img": 1, "running": False, "tty": True, "ip": "",
     "ports": [], "env": ["PGPASSWORD=S3cr3t-Pg-2025!"],
     "cmd": ["pg_dump", "-h", "db", "-U", "app", "-f", "/backup/shop.sql", "shop"],
     "created": 1751350000, "pid": 0, "status": "Exited (0) 5 hours ago"},
]
for _c in CONTAINERS:
    _c["id"] = _hex("container-" + _c["name"])


def _iso(ts):
    import datetime
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f000Z")


def _cmdline(c):
    img = IMAGES[c["img"]]
    return img["entrypoint"] + (c["cmd"] or img["cmd"])


def _net(c, full):
    n = {"IPAMConfig": None, "Links": None, "Aliases": None,
         "MacAddress": "02:42:ac:11:00:0%s" % c["ip"][-1] if c["ip"] else "",
         "DriverOpts": None, "GwPriority": 0,
         "NetworkID": _hex("network-bridge"),
         "EndpointID": _hex("endpoint-" + c["name"]) if c["running"] else "",
         "Gateway": "172.17.0.1" if c["running"] else "",
         "IPAddress": c["ip"], "IPPrefixLen": 16 if c["ip"] else 0,
         "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
         "DNSNames": None}
    return n


def container_summary(c):
    img = IMAGES[c["img"]]
    ports = []
    for priv, pub in c["ports"]:
        if pub:
            ports.append({"IP": "0.0.0.0", "PrivatePort": priv, "PublicPort": pub, "Type": "tcp"})
            ports.append({"IP": "::", "PrivatePort": priv, "PublicPort": pub, "Type": "tcp"})
        else:
            ports.append({"PrivatePort": priv, "Type": "tcp"})
    return {
        "Id": c["id"], "Names": ["/" + c["name"]], "Image": img["ref"], "ImageID": img["id"],
        "Command": " ".join(_cmdline(c)),
        "Created": c["created"], "Ports": ports,
        "Labels": {"com.docker.compose.project": "shop", "com.docker.compose.service": c["name"]},
        "State": "running" if c["running"] else "exited", "Status": c["status"],
        "HostConfig": {"NetworkMode": "bridge"},
        "NetworkSettings": {"Networks": {"bridge": _net(c, False)}},
        "Mounts": [],
    }


def container_inspect(c):
    img = IMAGES[c["img"]]
    cmd = _cmdline(c)
    started = c["created"] + 2
    pb = {}
    for priv, pub in c["ports"]:
        pb["%d/tcp" % priv] = ([{"HostIp": "0.0.0.0", "HostPort": str(pub)},
                                {"HostIp": "::", "HostPort": str(pub)}] if pub else None)
    return {
        "Id": c["id"], "Created": _iso(c["created"]), "Path": cmd[0], "Args": cmd[1:],
        "State": {"Status": "running" if c["running"] else "exited", "Running": c["running"],
                  "Paused": False, "Restarting": False, "OOMKilled": False, "Dead": False,
                  "Pid": c["pid"], "ExitCode": 0, "Error": "", "StartedAt": _iso(started),
                  "FinishedAt": "0001-01-01T00:00:00Z" if c["running"] else _iso(started + 40)},
        "Image": img["id"],
        "ResolvConfPath": "/var/lib/docker/containers/%s/resolv.conf" % c["id"],
        "HostnamePath": "/var/lib/docker/containers/%s/hostname" % c["id"],
        "HostsPath": "/var/lib/docker/containers/%s/hosts" % c["id"],
        "LogPath": "/var/lib/docker/containers/%s/%s-json.log" % (c["id"], c["id"]),
        "Name": "/" + c["name"], "RestartCount": 0, "Driver": "overlay2", "Platform": "linux",
        "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "docker-default",
        "ExecIDs": None,
        "HostConfig": {"Binds": None, "ContainerIDFile": "",
                       "LogConfig": {"Type": "json-file", "Config": {}},
                       "NetworkMode": "bridge",
                       "PortBindings": {k: v for k, v in
                                        (("%d/tcp" % p, [{"HostIp": "", "HostPort": str(q)}])
                                         for p, q in c["ports"] if q)},
                       "RestartPolicy": {"Name": "unless-stopped" if c["running"] else "no",
                                         "MaximumRetryCount": 0},
                       "AutoRemove": False, "VolumeDriver": "", "VolumesFrom": None,
                       "ConsoleSize": [0, 0], "CapAdd": None, "CapDrop": None,
                       "CgroupnsMode": "private", "Dns": [], "DnsOptions": [], "DnsSearch": [],
                       "ExtraHosts": [], "GroupAdd": None, "IpcMode": "private", "Cgroup": "",
                       "Links": None, "OomScoreAdj": 0, "PidMode": "", "Privileged": False,
                       "PublishAllPorts": False, "ReadonlyRootfs": False, "SecurityOpt": None,
                       "UTSMode": "", "UsernsMode": "", "ShmSize": 67108864, "Runtime": "runc",
                       "Isolation": "", "CpuShares": 0, "Memory": 0, "NanoCpus": 0,
                       "CgroupParent": "", "BlkioWeight": 0, "CpusetCpus": "", "CpusetMems": "",
                       "Devices": [], "MemoryReservation": 0, "MemorySwap": 0,
                       "OomKillDisable": None, "PidsLimit": None, "Ulimits": [],
                       "MaskedPaths": ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
                                       "/proc/latency_stats", "/proc/timer_list",
                                       "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                                       "/sys/firmware", "/sys/devices/virtual/powercap"],
                       "ReadonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                         "/proc/sysrq-trigger"]},
        "GraphDriver": {"Data": {
            "LowerDir": "/var/lib/docker/overlay2/%s-init/diff" % _hex("layer-" + c["name"]),
            "MergedDir": "/var/lib/docker/overlay2/%s/merged" % _hex("layer-" + c["name"]),
            "UpperDir": "/var/lib/docker/overlay2/%s/diff" % _hex("layer-" + c["name"]),
            "WorkDir": "/var/lib/docker/overlay2/%s/work" % _hex("layer-" + c["name"])},
            "Name": "overlay2"},
        "Mounts": [],
        "Config": {"Hostname": c["id"][:12], "Domainname": "", "User": "",
                   "AttachStdin": False, "AttachStdout": True, "AttachStderr": True,
                   "ExposedPorts": img["expose"], "Tty": c["tty"], "OpenStdin": False,
                   "StdinOnce": False, "Env": c["env"] + img["env"], "Cmd": c["cmd"] or img["cmd"],
                   "Image": img["ref"], "Volumes": None, "WorkingDir": "",
                   "Entrypoint": img["entrypoint"], "OnBuild": None,
                   "Labels": {"com.docker.compose.project": "shop",
                              "com.docker.compose.service": c["name"]},
                   "StopSignal": "SIGQUIT" if c["img"] == 0 else "SIGINT"},
        "NetworkSettings": {"Bridge": "", "SandboxID": _hex("sandbox-" + c["name"]) if c["running"]
                            else "", "SandboxKey": "/var/run/docker/netns/%s" %
                            _hex("sandbox-" + c["name"])[:12] if c["running"] else "",
                            "Ports": pb, "HairpinMode": False, "LinkLocalIPv6Address": "",
                            "LinkLocalIPv6PrefixLen": 0, "SecondaryIPAddresses": None,
                            "SecondaryIPv6Addresses": None,
                            "EndpointID": _hex("endpoint-" + c["name"]) if c["running"] else "",
                            "Gateway": "172.17.0.1" if c["running"] else "",
                            "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
                            "IPAddress": c["ip"], "IPPrefixLen": 16 if c["ip"] else 0,
                            "IPv6Gateway": "", "MacAddress": _net(c, True)["MacAddress"],
                            "Networks": {"bridge": _net(c, True)}},
    }


def image_summary(img, containers):
    return {"Containers": -1, "Created": img["created"], "Id": img["id"], "Labels": None,
            "ParentId": "", "RepoDigests": [img["digest"]], "RepoTags": [img["ref"]],
            "SharedSize": -1, "Size": img["size"]}


def image_inspect(img):
    return {"Id": img["id"], "RepoTags": [img["ref"]], "RepoDigests": [img["digest"]],
            "Parent": "", "Comment": "buildkit.dockerfile.v0", "Created": _iso(img["created"]),
            "DockerVersion": "", "Author": "",
            "Config": {"ExposedPorts": img["expose"], "Env": img["env"], "Cmd": img["cmd"],
                       "Entrypoint": img["entrypoint"], "WorkingDir": "", "Labels": None,
                       "StopSignal": "SIGQUIT"},
            "Architecture": "amd64", "Os": "linux", "Size": img["size"],
            "GraphDriver": {"Data": {"MergedDir": "/var/lib/docker/overlay2/%s/merged" %
                                     _hex("imglayer-" + img["ref"])}, "Name": "overlay2"},
            "RootFS": {"Type": "layers", "Layers": ["sha256:" + _hex("l%d" % i + img["ref"])
                                                    for i in range(3)]},
            "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"}}


def image_history(img):
    base = img["created"]
    if img["ref"].startswith("postgres"):
        steps = [('RUN /bin/sh -c set -ex; apt-get update; apt-get install -y --no-install-'
                  'recommends postgresql-common # buildkit', 41200000),
                 ('ENV PGDATA=/var/lib/postgresql/data', 0),
                 ('RUN /bin/sh -c echo "deploy:gh_pat_11ABCDEF0123456789" > /root/.git-credentials'
                  ' && make install # buildkit', 1200),
                 ('CMD ["postgres"]', 0)]
    else:
        steps = [('ADD alpine-minirootfs-3.21.3-x86_64.tar.gz / # buildkit', 7834000),
                 ('ENV NGINX_VERSION=1.27.5', 0),
                 ('RUN /bin/sh -c set -x && apk add --no-cache nginx # buildkit', 40100000),
                 ('CMD ["nginx" "-g" "daemon off;"]', 0)]
    out = []
    for i, (by, size) in enumerate(reversed(steps)):
        out.append({"Comment": "buildkit.dockerfile.v0", "Created": base - i * 60,
                    "CreatedBy": by, "Id": img["id"] if i == 0 else "<missing>",
                    "Size": size, "Tags": [img["ref"]] if i == 0 else None})
    return out


def version_body():
    return {"Platform": {"Name": "Docker Engine - Community"},
            "Components": [
                {"Name": "Engine", "Version": ENGINE,
                 "Details": {"ApiVersion": API, "Arch": "amd64", "BuildTime":
                             "2025-05-30T12:07:26.000000000+00:00", "Experimental": "false",
                             "GitCommit": "45873be", "GoVersion": "go1.24.3",
                             "KernelVersion": "6.1.0-37-amd64", "MinAPIVersion": MIN_API,
                             "Os": "linux"}},
                {"Name": "containerd", "Version": "1.7.27",
                 "Details": {"GitCommit": "05044ec0a9a75232cad458027ca83437aae3f4da"}},
                {"Name": "runc", "Version": "1.2.5",
                 "Details": {"GitCommit": "v1.2.5-0-g59923ef"}},
                {"Name": "docker-init", "Version": "0.19.0", "Details": {"GitCommit": "de40ad0"}}],
            "Version": ENGINE, "ApiVersion": API, "MinAPIVersion": MIN_API,
            "GitCommit": "45873be", "GoVersion": "go1.24.3", "Os": "linux", "Arch": "amd64",
            "KernelVersion": "6.1.0-37-amd64", "BuildTime": "2025-05-30T12:07:26.000000000+00:00"}


def info_body():
    running = sum(1 for c in CONTAINERS if c["running"])
    return {"ID": "7b1c2a4e-3f9d-4e0a-9c55-0f6e2b8d1a93", "Containers": len(CONTAINERS),
            "ContainersRunning": running, "ContainersPaused": 0,
            "ContainersStopped": len(CONTAINERS) - running, "Images": len(IMAGES),
            "Driver": "overlay2",
            "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"],
                             ["Using metacopy", "false"], ["Native Overlay Diff", "true"],
                             ["userxattr", "false"]],
            "Plugins": {"Volume": ["local"],
                        "Network": ["bridge", "host", "ipvlan", "macvlan", "null", "overlay"],
                        "Authorization": None,
                        "Log": ["awslogs", "fluentd", "gcplogs", "gelf", "journald", "json-file",
                                "local", "splunk", "syslog"]},
            "MemoryLimit": True, "SwapLimit": True, "KernelMemoryTCP": False,
            "CpuCfsPeriod": True, "CpuCfsQuota": True, "CPUShares": True, "CPUSet": True,
            "PidsLimit": True, "IPv4Forwarding": True, "Debug": False, "NFd": 54,
            "OomKillDisable": False, "NGoroutines": 71, "SystemTime": "2025-07-01T10:00:00.123456789Z",
            "LoggingDriver": "json-file", "CgroupDriver": "systemd", "CgroupVersion": "2",
            "NEventsListener": 0, "KernelVersion": "6.1.0-37-amd64",
            "OperatingSystem": "Debian GNU/Linux 12 (bookworm)", "OSVersion": "12",
            "OSType": "linux", "Architecture": "x86_64", "IndexServerAddress":
            "https://index.docker.io/v1/",
            "RegistryConfig": {"InsecureRegistryCIDRs": ["::1/128", "127.0.0.0/8"],
                               "IndexConfigs": {"docker.io": {"Name": "docker.io", "Mirrors": [],
                                                              "Secure": True, "Official": True}},
                               "Mirrors": None},
            "NCPU": 8, "MemTotal": 33546452992, "GenericResources": None,
            "DockerRootDir": "/var/lib/docker", "HttpProxy": "", "HttpsProxy": "", "NoProxy": "",
            "Name": "build-host-07", "Labels": [], "ExperimentalBuild": False,
            "ServerVersion": ENGINE,
            "Runtimes": {"io.containerd.runc.v2": {"path": "runc", "status": {
                "org.opencontainers.runtime-spec.features": "{}"}},
                "runc": {"path": "runc", "status": {}}},
            "DefaultRuntime": "runc",
            "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive",
                      "ControlAvailable": False, "Error": "", "RemoteManagers": None},
            "LiveRestoreEnabled": False, "Isolation": "", "InitBinary": "docker-init",
            "ContainerdCommit": {"ID": "05044ec0a9a75232cad458027ca83437aae3f4da"},
            "RuncCommit": {"ID": "v1.2.5-0-g59923ef"}, "InitCommit": {"ID": "de40ad0"},
            "SecurityOptions": ["name=apparmor", "name=seccomp,profile=builtin",
                                "name=cgroupns"],
            "CDISpecDirs": ["/etc/cdi", "/var/run/cdi"],
            "Containerd": {"Address": "/run/containerd/containerd.sock",
                           "Namespaces": {"Containers": "moby", "Plugins": "plugins.moby"}},
            "Warnings": ["WARNING: API is accessible on http://0.0.0.0:2375 without encryption.\n"
                         "         Access to the remote API is equivalent to root access on the "
                         "host. Refer\n         to the 'Docker daemon attack surface' section in "
                         "the documentation for\n         more information: https://docs.docker."
                         "com/go/attack-surface/"]}


NETWORKS = [
    {"Name": "bridge", "Driver": "bridge", "Scope": "local",
     "IPAM": {"Driver": "default", "Options": None,
              "Config": [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]},
     "Options": {"com.docker.network.bridge.default_bridge": "true",
                 "com.docker.network.bridge.enable_icc": "true",
                 "com.docker.network.bridge.enable_ip_masquerade": "true",
                 "com.docker.network.bridge.name": "docker0",
                 "com.docker.network.driver.mtu": "1500"}},
    {"Name": "host", "Driver": "host", "Scope": "local",
     "IPAM": {"Driver": "default", "Options": None, "Config": None}, "Options": {}},
    {"Name": "none", "Driver": "null", "Scope": "local",
     "IPAM": {"Driver": "default", "Options": None, "Config": None}, "Options": {}},
]


def networks_body():
    out = []
    for n in NETWORKS:
        d = {"Name": n["Name"], "Id": _hex("network-" + n["Name"]),
             "Created": "2025-06-28T08:11:02.417532114Z", "Scope": n["Scope"],
             "Driver": n["Driver"], "EnableIPv4": True, "EnableIPv6": False, "IPAM": n["IPAM"],
             "Internal": False, "Attachable": False, "Ingress": False,
             "ConfigFrom": {"Network": ""}, "ConfigOnly": False, "Containers": {},
             "Options": n["Options"], "Labels": {}}
        out.append(d)
    return out


VOLUMES = [
    {"CreatedAt": "2025-06-28T08:15:40Z", "Driver": "local",
     "Labels": {"com.docker.compose.project": "shop", "com.docker.compose.volume": "pgdata"},
     "Mountpoint": "/var/lib/docker/volumes/shop_pgdata/_data", "Name": "shop_pgdata",
     "Options": None, "Scope": "local"},
    {"CreatedAt": "2025-06-28T08:15:40Z", "Driver": "local",
     "Labels": {"com.docker.compose.project": "shop", "com.docker.compose.volume": "backup"},
     "Mountpoint": "/var/lib/docker/volumes/shop_backup/_data", "Name": "shop_backup",
     "Options": None, "Scope": "local"},
]


def system_df():
    return {"LayersSize": 486545843,
            "Images": [dict(image_summary(i, 2), Containers=2) for i in IMAGES],
            "Containers": [dict(container_summary(c), SizeRw=0, SizeRootFs=0) for c in CONTAINERS],
            "Volumes": [dict(v, UsageData={"RefCount": 1, "Size": 48211968}) for v in VOLUMES],
            "BuildCache": []}


def top_body(c):
    if c["img"] == 0:
        procs = [["root", str(c["pid"]), str(c["pid"] - 23), "0", "Jun28", "?", "00:00:00",
                  "nginx: master process nginx -g daemon off;"],
                 ["101", str(c["pid"] + 40), str(c["pid"]), "0", "Jun28", "?", "00:00:03",
                  "nginx: worker process"],
                 ["101", str(c["pid"] + 41), str(c["pid"]), "0", "Jun28", "?", "00:00:02",
                  "nginx: worker process"]]
    else:
        procs = [["999", str(c["pid"]), str(c["pid"] - 21), "0", "Jun28", "?", "00:00:12",
                  "postgres"],
                 ["999", str(c["pid"] + 60), str(c["pid"]), "0", "Jun28", "?", "00:00:00",
                  "postgres: checkpointer "]]
    return {"Processes": procs,
            "Titles": ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]}


def stats_body(c):
    cpu = {"cpu_usage": {"total_usage": 41833020000, "usage_in_kernelmode": 9210000000,
                         "usage_in_usermode": 32623020000},
           "system_cpu_usage": 2214580170000000, "online_cpus": 8,
           "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}
    return {"name": "/" + c["name"], "id": c["id"], "read": "2025-07-01T10:00:01.512341207Z",
            "preread": "2025-07-01T10:00:00.511224881Z",
            "pids_stats": {"current": 3, "limit": 38209},
            "blkio_stats": {"io_service_bytes_recursive": [
                {"major": 8, "minor": 0, "op": "read", "value": 11206656},
                {"major": 8, "minor": 0, "op": "write", "value": 4096}],
                "io_serviced_recursive": None, "io_queue_recursive": None,
                "io_service_time_recursive": None, "io_wait_time_recursive": None,
                "io_merged_recursive": None, "io_time_recursive": None,
                "sectors_recursive": None},
            "num_procs": 0, "storage_stats": {}, "cpu_stats": cpu,
            "precpu_stats": dict(cpu, cpu_usage=dict(cpu["cpu_usage"], total_usage=41830020000)),
            "memory_stats": {"usage": 13074432, "stats": {"active_anon": 0, "anon": 3878912,
                                                          "file": 8687616, "inactive_file": 4321280},
                             "limit": 33546452992},
            "networks": {"eth0": {"rx_bytes": 1928371, "rx_packets": 15233, "rx_errors": 0,
                                  "rx_dropped": 0, "tx_bytes": 20481733, "tx_packets": 14102,
                                  "tx_errors": 0, "tx_dropped": 0}}}


def changes_body(c):
    return [{"Kind": 0, "Path": "/run"}, {"Kind": 1, "Path": "/run/nginx.pid"},
            {"Kind": 0, "Path": "/var"}, {"Kind": 0, "Path": "/var/cache/nginx"},
            {"Kind": 1, "Path": "/var/cache/nginx/client_temp"}]


def log_lines(c):
    if c["img"] == 0:
        return [(1, b'/docker-entrypoint.sh: Configuration complete; ready for start up\n'),
                (1, b'198.18.0.10 - - [01/Jul/2025:09:58:11 +0000] "GET / HTTP/1.1" 200 615 "-" '
                    b'"curl/7.88.1" "-"\n'),
                (2, b'2025/07/01 09:59:02 [error] 29#29: *7 open() "/usr/share/nginx/html/.env" '
                    b'failed (2: No such file or directory)\n'),
                (1, b'198.18.0.10 - - [01/Jul/2025:09:59:02 +0000] "GET /.env HTTP/1.1" 404 153 '
                    b'"-" "curl/7.88.1" "-"\n')]
    return [(1, b'pg_dump: dumping contents of table "public.orders"\n'),
            (1, b'pg_dump: dumping contents of table "public.customers"\n')]


EVENTS = [
    {"status": "start", "id": CONTAINERS[0]["id"], "from": IMAGES[0]["ref"], "Type": "container",
     "Action": "start", "Actor": {"ID": CONTAINERS[0]["id"], "Attributes": {
         "image": IMAGES[0]["ref"], "name": CONTAINERS[0]["name"]}}, "scope": "local",
     "time": 1751350000, "timeNano": 1751350000123456789},
    {"status": "die", "id": CONTAINERS[3]["id"], "from": IMAGES[1]["ref"], "Type": "container",
     "Action": "die", "Actor": {"ID": CONTAINERS[3]["id"], "Attributes": {
         "exitCode": "0", "image": IMAGES[1]["ref"], "name": CONTAINERS[3]["name"]}},
     "scope": "local", "time": 1751350042, "timeNano": 1751350042987654321},
    {"Type": "network", "Action": "disconnect", "Actor": {"ID": _hex("network-bridge"),
                                                          "Attributes": {"container": CONTAINERS[3]["id"],
                                                                         "name": "bridge", "type": "bridge"}},
     "scope": "local", "time": 1751350042, "timeNano": 1751350042999000111},
]


# -------------------------------------------------------------------- replies

class Reply:
    """One answer: status, extra headers (beyond the Docker set), body pieces."""

    def __init__(self, status, reason, body=b"", ctype="application/json", headers=None,
                 docker_headers=True, chunks=None, stream=False):
        self.status, self.reason = status, reason
        self.body = body
        self.ctype = ctype
        self.headers = headers or []
        self.docker_headers = docker_headers
        self.chunks = chunks  # list of pieces -> chunked when set
        self.stream = stream  # dockerd streams it (chunked) by nature


def jbody(obj):
    # dockerd writes JSON with json.NewEncoder: compact, newline-terminated.
    return (json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def jreply(status, reason, obj):
    return Reply(status, reason, jbody(obj))


def msg(status, reason, text):
    return jreply(status, reason, {"message": text})


def find_container(ref):
    for c in CONTAINERS:
        if ref in (c["id"], c["name"], "/" + c["name"]) or (len(ref) >= 3 and c["id"].startswith(ref)):
            return c
    return None


def find_image(ref):
    for i in IMAGES:
        tag = i["ref"]
        names = {tag, "docker.io/library/" + tag, "library/" + tag, i["id"], i["id"][7:]}
        if ref in names or (len(ref) >= 3 and (i["id"][7:].startswith(ref)
                                               or i["id"].startswith(ref))):
            return i
        if ":" not in ref and tag.split(":")[0] == ref:
            return None  # "nginx" means nginx:latest, which is absent
    return None


VERSION_RE = re.compile(r"^/v([0-9][0-9.]*)(/.*)$")


def _vtuple(v):
    try:
        return tuple(int(x) for x in v.split("."))
    except ValueError:
        return (0,)


def clean_path(p):
    """gorilla/mux cleanPath: path.Clean keeping a trailing slash."""
    if p == "":
        return "/"
    if p[0] != "/":
        p = "/" + p
    parts = []
    for seg in p.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if parts:
                parts.pop()
            continue
        parts.append(seg)
    np = "/" + "/".join(parts)
    if p.endswith("/") and np != "/":
        np += "/"
    return np


def split_target(target):
    """(path, query) of an origin-form target (urlsplit would take "//x" for a host)."""
    path, _, query = target.partition("?")
    return path.partition("#")[0], query.partition("#")[0]


def route(method, target, headers, deny=False, allow_ping=False, body=b""):
    """Answer one request. headers: dict with lower-case keys. Returns Reply."""
    path, rawq = split_target(target)
    query = parse_qs(rawq, keep_blank_values=True)
    cp = clean_path(path)
    if cp != path:
        loc = cp + ("?" + rawq if rawq else "")
        return Reply(301, "Moved Permanently", b"", ctype=None,
                     headers=[("Location", loc)], docker_headers=False)
    apiv = None
    m = VERSION_RE.match(path)
    if m:
        apiv, path = m.group(1), m.group(2)
    if deny and not (allow_ping and path == "/_ping"):
        return msg(403, "Forbidden", DENY_MSG)
    if apiv is not None:
        if _vtuple(apiv) < _vtuple(MIN_API):
            t = ("client version %s is too old. Minimum supported API version is %s, please "
                 "upgrade your client to a newer version\n" % (apiv, MIN_API)).encode()
            return Reply(400, "Bad Request", t, ctype="text/plain; charset=utf-8",
                         headers=[("X-Content-Type-Options", "nosniff")])
        if _vtuple(apiv) > _vtuple(API):
            return msg(400, "Bad Request", "client version %s is too new. Maximum supported API "
                       "version is %s" % (apiv, API))
    get = method in ("GET", "HEAD")
    r = _route_get(path, query) if get else _route_other(method, path, query, headers, body)
    if r is None:
        r = msg(404, "Not Found", "page not found")
    return r


PULLED = set()       # images pulled since start (docker run pulls on a 404)
CREATED = {}         # container id -> image of containers created since start
KNOWN_IMAGES = {i["ref"] for i in IMAGES}


def _img_ref(name):
    for pre in ("docker.io/library/", "library/"):
        if name.startswith(pre):
            name = name[len(pre):]
    return name if ":" in name.rsplit("/", 1)[-1] else name + ":latest"


def _body_json(body):
    try:
        return json.loads(body.decode("utf-8")) if body else {}
    except (ValueError, UnicodeDecodeError):
        return None


def hijack_reply(ctype, payload=b""):
    """101 UPGRADED as dockerd writes it for attach / exec start with Upgrade: tcp;
    `payload` (multiplexed frames) follows, then the daemon closes."""
    return Reply(101, "UPGRADED", payload, ctype=ctype,
                 headers=[("Connection", "Upgrade"), ("Upgrade", "tcp")])


def mux_frame(stream, data):
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


def _route_other(method, path, query, headers=None, body=b""):
    # Execution and deployment calls, as dockerd 28 answers them (state kept
    # per process: create needs the image, pulled on a 404 as the CLI does).
    headers = headers or {}
    m = re.match(r"^/containers/([^/]+)/exec$", path)
    if method == "POST" and m:
        c = find_container(m.group(1)) or ({"name": m.group(1)} if m.group(1) in CREATED else None)
        if not c:
            return msg(404, "Not Found", "No such container: " + m.group(1))
        return Reply(201, "Created", jbody({"Id": _hex("exec-" + c["name"])}))
    if method == "POST" and path == "/containers/create":
        cfg = _body_json(body)
        if cfg is None:
            return msg(400, "Bad Request", "invalid JSON")
        # Go's encoding/json matches field names case-insensitively.
        image = next((v for k, v in cfg.items() if k.lower() == "image"), "") or ""
        ref = _img_ref(image)
        if ref not in KNOWN_IMAGES and ref not in PULLED:
            return msg(404, "Not Found", "No such image: " + ref)
        cid = _hex("created-%d-%s" % (len(CREATED), query.get("name", [""])[0]))
        CREATED[cid] = ref
        return Reply(201, "Created", jbody({"Id": cid, "Warnings": []}))
    if method == "POST" and path == "/images/create":
        img = query.get("fromImage", [""])[0]
        tag = query.get("tag", ["latest"])[0] or "latest"
        if not img:
            return msg(400, "Bad Request", "fromImage or fromSrc required")
        ref = _img_ref(img if ":" in img else img + ":" + tag)
        PULLED.add(ref)
        lines = [{"status": "Pulling from library/" + ref.split(":")[0], "id": tag},
                 {"status": "Pulling fs layer", "progressDetail": {}, "id": _hex(ref)[:12]},
                 {"status": "Download complete", "progressDetail": {}, "id": _hex(ref)[:12]},
                 {"status": "Pull complete", "progressDetail": {}, "id": _hex(ref)[:12]},
                 {"status": "Digest: sha256:" + _hex("digest-" + ref)},
                 {"status": "Status: Downloaded newer image for " + ref}]
        r = Reply(200, "OK", b"", stream=True,
                  chunks=[jbody(x).replace(b"\n", b"\r\n") for x in lines])
        r.body = b"".join(r.chunks)
        return r
    m = re.match(r"^/containers/([^/]+)/(start|wait|attach|resize|kill)$", path)
    if method == "POST" and m:
        cid, op = m.group(1), m.group(2)
        if cid not in CREATED and not find_container(cid):
            return msg(404, "Not Found", "No such container: " + cid)
        if op == "start":
            return Reply(204, "No Content", b"", ctype=None)
        if op == "wait":
            return jreply(200, "OK", {"Error": None, "StatusCode": 0})
        if op == "attach":
            if headers.get("upgrade", "").lower() == "tcp":
                return hijack_reply("application/vnd.docker.raw-stream")
            return Reply(200, "OK", b"", ctype="application/vnd.docker.raw-stream")
        return Reply(200, "OK", b"", ctype="text/plain; charset=utf-8")
    m = re.match(r"^/exec/([0-9a-f]+)/(start|resize)$", path)
    if method == "POST" and m:
        if m.group(2) == "resize":
            return Reply(200, "OK", b"", ctype="text/plain; charset=utf-8")
        out = mux_frame(1, b"uid=0(root) gid=0(root) groups=0(root),1(bin),2(daemon)\n")
        if headers.get("upgrade", "").lower() == "tcp":
            return hijack_reply("application/vnd.docker.multiplexed-stream", out)
        return Reply(200, "OK", out, ctype="application/vnd.docker.multiplexed-stream")
    if method == "POST" and path == "/containers/prune":
        return jreply(200, "OK", {"ContainersDeleted": None, "SpaceReclaimed": 0})
    return None


def _route_get(path, query):
    m = re.match(r"^/exec/([0-9a-f]+)/json$", path)
    if m:
        return jreply(200, "OK", {"ID": m.group(1), "Running": False, "ExitCode": 0,
                                  "ProcessConfig": {"entrypoint": "id", "arguments": [],
                                                    "privileged": False, "tty": False,
                                                    "user": ""},
                                  "OpenStdin": False, "OpenStderr": True, "OpenStdout": True,
                                  "CanRemove": False, "ContainerID": CONTAINERS[0]["id"],
                                  "DetachKeys": "", "Pid": 0})
    if path == "/_ping":
        return Reply(200, "OK", b"OK", ctype="text/plain; charset=utf-8",
                     headers=[("Builder-Version", "2"),
                              ("Cache-Control", "no-cache, no-store, must-revalidate"),
                              ("Pragma", "no-cache"), ("Swarm", "inactive")])
    if path == "/version":
        return jreply(200, "OK", version_body())
    if path == "/info":
        return jreply(200, "OK", info_body())
    if path == "/containers/json":
        all_ = query.get("all", ["0"])[-1] in ("1", "true", "True")
        lst = [container_summary(c) for c in CONTAINERS if all_ or c["running"]]
        return jreply(200, "OK", lst)
    m = re.match(r"^/containers/([^/]+)/(json|top|logs|stats|changes)$", path)
    if m:
        c = find_container(m.group(1))
        if not c:
            return msg(404, "Not Found", "No such container: " + m.group(1))
        what = m.group(2)
        if what == "json":
            return jreply(200, "OK", container_inspect(c))
        if what == "top":
            if not c["running"]:
                return msg(409, "Conflict", "container %s is not running" % c["id"])
            return jreply(200, "OK", top_body(c))
        if what == "changes":
            return jreply(200, "OK", changes_body(c))
        if what == "stats":
            return jreply(200, "OK", stats_body(c))
        # logs: multiplexed frames unless the container has a TTY; streamed.
        pieces = []
        for stream, line in log_lines(c):
            if query.get("stderr", ["0"])[-1] in ("0", "false") and stream == 2 and \
                    query.get("stdout") is not None:
                continue
            pieces.append(line if c["tty"] else
                          bytes([stream, 0, 0, 0]) + len(line).to_bytes(4, "big") + line)
        ct = ("application/vnd.docker.raw-stream" if c["tty"]
              else "application/vnd.docker.multiplexed-stream")
        return Reply(200, "OK", b"".join(pieces), ctype=ct, chunks=pieces, stream=True)
    if path == "/images/json":
        return jreply(200, "OK", [image_summary(i, 2) for i in IMAGES])
    m = re.match(r"^/images/(.+)/(json|history)$", path)
    if m:
        img = find_image(m.group(1))
        if not img:
            return msg(404, "Not Found", "No such image: " + m.group(1))
        return jreply(200, "OK", image_inspect(img) if m.group(2) == "json" else image_history(img))
    m = re.match(r"^/distribution/(.+)/json$", path)
    if m:
        return msg(401, "Unauthorized", "errors:\nunauthorized: authentication required\n")
    if path == "/networks":
        return jreply(200, "OK", networks_body())
    m = re.match(r"^/networks/([^/]+)$", path)
    if m:
        for n in networks_body():
            if m.group(1) in (n["Name"], n["Id"]):
                return jreply(200, "OK", n)
        return msg(404, "Not Found", "network %s not found" % m.group(1))
    if path == "/volumes":
        return jreply(200, "OK", {"Volumes": VOLUMES, "Warnings": None})
    if path == "/system/df":
        return jreply(200, "OK", system_df())
    if path == "/events":
        pieces = [jbody(e) for e in EVENTS]
        return Reply(200, "OK", b"".join(pieces), chunks=pieces, stream=True)
    if path in ("/swarm", "/nodes", "/services", "/tasks", "/secrets", "/configs",
                "/swarm/unlockkey"):
        return msg(503, "Service Unavailable", NOT_MANAGER)
    if path == "/plugins":
        return jreply(200, "OK", [])
    return None


def render(reply, method="GET", http10=False, query="", req_headers=None, date=None,
           chunk_size=None, chunked=None, gz=None):
    """Serialise a Reply as dockerd (Go net/http) would. Returns a list of byte
    pieces: the head with the body (one write) or the head then one piece per
    chunk when chunked. chunked/gz force those encodings when not None;
    chunk_size=0 means odd chunk sizes (1000, 7, 1, 300, 2000, rest)."""
    req_headers = req_headers or {}
    q = parse_qs(query, keep_blank_values=True)
    body = reply.body
    head_only = method == "HEAD"
    if gz is None:
        gz = ("gzip" in req_headers.get("accept-encoding", "") and
              ("gz" in q or "x-test-gzip" in req_headers))
    if chunked is None:
        chunked = reply.stream or "chunked" in q
    want_chunked = chunked and not http10
    hdr = []
    if reply.docker_headers:
        hdr.append(("Api-Version", API))
    extra = list(reply.headers)
    if gz and body:
        body = gzip.compress(body, mtime=0)
        extra.append(("Content-Encoding", "gzip"))
        extra.append(("Vary", "Accept-Encoding"))
    if reply.docker_headers:
        hdr += [("Docker-Experimental", "false"), ("Ostype", "linux"), ("Server", SERVER)]
    if reply.ctype and reply.docker_headers:
        hdr.append(("Content-Type", reply.ctype))
    hdr += extra
    hdr.sort(key=lambda kv: kv[0])  # Go writes the header map sorted
    hdr.append(("Date", date or email.utils.formatdate(usegmt=True)))
    pieces = None
    if want_chunked and not head_only:
        if chunk_size == 0:
            parts, i = [], 0
            for n in (1000, 7, 1, 300, 2000):
                parts.append(body[i:i + n])
                i += n
            parts.append(body[i:])
        elif chunk_size:
            parts = [body[i:i + chunk_size] for i in range(0, len(body), chunk_size)]
        elif gz or not reply.chunks:
            parts = [body[i:i + 512] for i in range(0, len(body), 512)] or []
        else:
            parts = [p for p in reply.chunks]
        hdr.append(("Transfer-Encoding", "chunked"))
        pieces = [b"%x\r\n%s\r\n" % (len(p), p) for p in parts if p] + [b"0\r\n\r\n"]
    elif reply.stream and http10:
        pass  # Go: no length, close delimits
    elif head_only and reply.ctype and reply.ctype.startswith("text/plain") and reply.status == 200:
        hdr.append(("Content-Length", "0"))  # dockerd's HEAD /_ping sets it so
    else:
        hdr.append(("Content-Length", str(len(body))))
    proto = "HTTP/1.0" if http10 else "HTTP/1.1"
    head = "%s %d %s\r\n" % (proto, reply.status, reply.reason)
    head += "".join("%s: %s\r\n" % kv for kv in hdr) + "\r\n"
    head = head.encode("latin-1")
    if head_only:
        return [head]
    if pieces is not None:
        return [head] + pieces
    return [head + body]


def response_bytes(method, target, headers=None, http10=False, deny=False, date=FIXED_DATE,
                   chunk_size=None):
    """Whole answer bytes for the hand-built captures."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    r = route(method, target, headers, deny=deny)
    return b"".join(render(r, method, http10, split_target(target)[1], headers, date, chunk_size))


# ---------------------------------------------------------------------- server

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = SERVER
    sys_version = ""

    def log_message(self, fmt, *args):
        if not self.server.quiet:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def send_error(self, code, message=None, explain=None):
        # Go answers unparseable requests with a bare text/plain 400 and closes.
        text = "%d %s" % (code, {400: "Bad Request", 414: "URI Too Long",
                                 431: "Request Header Fields Too Large",
                                 501: "Not Implemented"}.get(code, "Error"))
        self.close_connection = True
        try:
            self.wfile.write(("HTTP/1.1 %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                              "Connection: close\r\n\r\n%s" % (text, text)).encode())
        except OSError:
            pass

    def _read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        out = b""
        if "chunked" in te.lower():
            while True:
                line = self.rfile.readline(4096)
                if not line:
                    return out
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline(4096) not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(n + 2)[:n]
        n = int(self.headers.get("Content-Length", "0") or "0")
        if n > 0:
            out = self.rfile.read(min(n, 1 << 20))
        return out

    def _dispatch(self):
        http10 = self.request_version == "HTTP/1.0"
        if not http10 and self.headers.get("Host") is None:
            self.close_connection = True
            t = b"400 Bad Request: missing required Host header"
            self.wfile.write(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; "
                             b"charset=utf-8\r\nConnection: close\r\n\r\n" + t)
            return
        body = self._read_body()
        hdrs = {k.lower(): v for k, v in self.headers.items()}
        # http.server folds a leading "//" (CVE fix); dockerd sees it raw.
        words = self.requestline.split()
        target = words[1] if len(words) >= 2 else self.path
        r = route(self.command, target, hdrs, deny=self.server.deny,
                  allow_ping=self.server.allow_ping, body=body)
        if r.status == 101:
            # Hijacked stream: head, the output frames, then the daemon closes.
            self.close_connection = True
            head = render(Reply(101, r.reason, b"", ctype=r.ctype, headers=r.headers),
                          "HEAD", False, "", hdrs)[0]
            head = head.replace(b"Content-Length: 0\r\n", b"")
            self.wfile.write(head)
            self.wfile.flush()
            if r.body:
                self.wfile.write(r.body)
                self.wfile.flush()
            return
        pieces = render(r, self.command, http10, split_target(target)[1], hdrs)
        if http10 and self.headers.get("Connection", "").lower() != "keep-alive":
            self.close_connection = True
        if r.stream and http10:
            self.close_connection = True
        for p in pieces:
            self.wfile.write(p)
            self.wfile.flush()

    def __getattr__(self, name):
        # Go accepts any method token; dockerd then answers 404 page not found.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, family, deny, allow_ping, quiet):
        self.address_family = family
        self.deny, self.allow_ping, self.quiet = deny, allow_ping, quiet
        super().__init__(addr, Handler)

    def server_bind(self):
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().server_bind()


def parse_listen(s):
    m = re.match(r"^\[([0-9a-fA-F:.]+)\]:(\d+)$", s)
    if m:
        return (m.group(1), int(m.group(2))), socket.AF_INET6
    host, _, port = s.rpartition(":")
    return (host, int(port)), socket.AF_INET


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", action="append", default=[])
    ap.add_argument("--deny", action="store_true", default=os.environ.get("STUB_DENY") == "1")
    ap.add_argument("--allow-ping", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    listens = a.listen or ["127.0.0.1:2375"]
    servers = []
    for s in listens:
        addr, fam = parse_listen(s)
        servers.append(Server(addr, fam, a.deny, a.allow_ping, a.quiet))
    for srv in servers[1:]:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    sys.stderr.write("stub_docker: serving %s%s\n" % (", ".join(listens),
                                                    " (deny mode)" if a.deny else ""))
    try:
        servers[0].serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
