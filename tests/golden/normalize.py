#!/usr/bin/python3
"""normalize.py - makes portside JSON Lines comparable: drops per-run random ids, keeps their structure.

Reads JSON Lines on stdin, checks each line is valid UTF-8 JSON, replaces `id` by a per-line
ordinal check (must be a UUID and unique), `aggregate_id` and `campaign.id` by their order of
first appearance.
"""
import json
import re
import sys

SCAN_ID = re.compile(r"^scan-[0-9a-f]{16}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def main():
    raw = sys.stdin.buffer.read()
    text = raw.decode("utf-8")  # raises on invalid UTF-8: a test failure
    seen_ids = set()
    aggs = {}
    camps = {}
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        rec = json.loads(line)
        if "id" in rec:
            if not UUID.match(rec["id"]) or rec["id"] in seen_ids:
                sys.exit(f"line {n}: bad or repeated id {rec['id']!r}")
            seen_ids.add(rec["id"])
            rec["id"] = "<uuid>"
        if "aggregate_id" in rec:
            if not (UUID.match(rec["aggregate_id"]) or SCAN_ID.match(rec["aggregate_id"])):
                sys.exit(f"line {n}: bad aggregate_id")
            rec["aggregate_id"] = "agg-%d" % aggs.setdefault(rec["aggregate_id"], len(aggs) + 1)
        camp = rec.get("campaign")
        if isinstance(camp, dict) and "id" in camp:
            if not UUID.match(camp["id"]):
                sys.exit(f"line {n}: bad campaign id")
            camp["id"] = "camp-%d" % camps.setdefault(camp["id"], len(camps) + 1)
        out.append(json.dumps(rec, sort_keys=True, ensure_ascii=False))
    sys.stdout.write("\n".join(out) + ("\n" if out else ""))


if __name__ == "__main__":
    main()
