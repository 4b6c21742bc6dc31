#!/usr/bin/python3
"""redis-consumer.py - example consumer of portside detections from the Redis stream.

Reads the stream (default portside:detections) as a member of a consumer group,
so several consumers share the work and a restarted consumer resumes where it
stopped: it first re-reads its own delivered-but-unacknowledged entries, then
new ones. portside delivers at least once: after a cut connection the same
detection (same "id") can be in the stream twice, so repeats are dropped by id
(remembered for the last --remember ids). Each new detection is printed as one
JSON line on stdout, then acknowledged (XACK).

  scripts/redis-consumer.py --port 6379 --group siem --consumer "$(hostname)"
  scripts/redis-consumer.py --host redis.example --tls --ca-file ca.pem --user alice

The password comes from the environment variable named by --password-env
(default PORTSIDE_REDIS_PASSWORD), never from the command line. Needs
python3-redis (scripts/deps.sh installs it).
"""
import argparse
import collections
import json
import os
import socket
import sys
import time

try:
    import redis
except ImportError:
    sys.exit("redis-consumer: python3-redis is missing (apt-get install python3-redis)")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=6379)
    p.add_argument("--db", type=int, default=0)
    p.add_argument("--user", default=None, help="ACL user")
    p.add_argument("--password-env", default="PORTSIDE_REDIS_PASSWORD")
    p.add_argument("--tls", action="store_true")
    p.add_argument("--ca-file", default=None)
    p.add_argument("--stream", default="portside:detections")
    p.add_argument("--field", default="detection")
    p.add_argument("--group", default="portside")
    p.add_argument("--consumer", default="%s-%d" % (socket.gethostname(), os.getpid()))
    p.add_argument("--count", type=int, default=100, help="entries per read")
    p.add_argument("--remember", type=int, default=100000, help="ids kept to drop repeats")
    p.add_argument("--exit-when-idle", type=float, default=0,
                   help="exit after this many seconds without new entries (0: run forever)")
    return p.parse_args()


class Seen:
    """Bounded set of recent ids: oldest forgotten first."""

    def __init__(self, cap):
        self.cap, self.ids = cap, collections.OrderedDict()

    def add(self, i):
        """True when i is new."""
        if i in self.ids:
            self.ids.move_to_end(i)
            return False
        self.ids[i] = None
        if len(self.ids) > self.cap:
            self.ids.popitem(last=False)
        return True


def main():
    a = parse_args()
    r = redis.Redis(host=a.host, port=a.port, db=a.db, username=a.user,
                    password=os.environ.get(a.password_env) or None,
                    ssl=a.tls, ssl_ca_certs=a.ca_file, socket_timeout=30)
    try:
        r.xgroup_create(a.stream, a.group, id="0", mkstream=True)
    except redis.ResponseError as e:
        if "BUSYGROUP" not in str(e):
            raise
    seen = Seen(a.remember)
    field = a.field.encode()
    out = sys.stdout
    backlog = True  # first our own unacknowledged entries ("0"), then new ones (">")
    idle_since = time.monotonic()
    while True:
        block = None if backlog else 1000
        resp = r.xreadgroup(a.group, a.consumer, {a.stream: "0" if backlog else ">"},
                            count=a.count, block=block)
        entries = resp[0][1] if resp else []
        if backlog and not entries:
            backlog = False
            continue
        if not entries:
            if a.exit_when_idle and time.monotonic() - idle_since >= a.exit_when_idle:
                return 0
            continue
        idle_since = time.monotonic()
        done = []
        for eid, fields in entries:
            raw = (fields or {}).get(field)
            try:
                rec = json.loads(raw) if raw else None
            except ValueError:
                rec = None
            if rec is None:
                print("redis-consumer: entry %s has no JSON %r field; skipped"
                      % (eid.decode(), a.field), file=sys.stderr)
            elif seen.add(rec.get("id")):
                out.write(raw.decode("utf-8") + "\n")  # the "work": hand it on
            done.append(eid)
        out.flush()
        r.xack(a.stream, a.group, *done)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except redis.RedisError as e:
        sys.exit("redis-consumer: %s" % e)
