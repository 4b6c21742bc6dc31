#!/usr/bin/python3
"""compare.py - checks portside's --http-log output for every peer capture against tests/peers/cases.yaml.

Usage: compare.py --cases tests/peers/cases.yaml --root pcaps/peers --outdir DIR [-v]

DIR holds, per capture NAME (its path under --root with '/' turned into '__'):
NAME.jsonl (stdout of `portside --http-log -r CAPTURE -o -`), NAME.err (stderr, with
the end-of-run summary) and NAME.rc (exit status). run.sh produces them.

Each case lists checks; a check passes when every assertion in it holds. A check marked
`xfail: REASON` is a known portside bug: it must fail, and passing is reported as a failure
(XPASS) so that fixing the bug forces the case file to be updated. Prints one line per
capture, the failing checks with what was expected and what came out, and finally
"peers: N passed, M failed (K xfail)". Exit status 1 when M > 0, 2 on a broken case file.
"""
import argparse
import json
import os
import re
import sys

import yaml

TOP_LEVEL = {"event_type", "timestamp", "flow_id", "src_ip", "src_port", "dest_ip",
             "dest_port", "proto", "sensor", "schema_version"}
HTTP_FIELDS = {"method", "url", "host", "user_agent", "protocol", "status", "server",
               "json_items", "anomalies"}
CHECK_KEYS = {"name", "basis", "why", "xfail", "select", "event_type", "count", "min_count",
              "max_count", "txs", "flows", "each", "anomalies", "no_anomalies",
              "any_anomalies", "summary"}
ASSERTIONS = {"count", "min_count", "max_count", "txs", "flows", "each", "anomalies",
              "no_anomalies", "any_anomalies", "summary"}


# Added to every case: none of the corpus is container-API traffic.
NO_DETECTIONS = {"name": "no detection records", "basis": "portside", "event_type": "detection",
                 "count": 0, "why": "no capture in the corpus is Docker/kubelet/API-server/etcd traffic"}


class CaseError(Exception):
    """The case file itself is wrong (not a portside failure)."""


def capture_key(rel):
    return rel.replace("/", "__")


def field(rec, key):
    """Value of `key` in a record: top-level keys, else inside "http"; None when absent."""
    if key in TOP_LEVEL:
        return rec.get(key)
    if key == "anomalies":
        return rec.get("http", {}).get("anomalies", [])
    return rec.get("http", {}).get(key)


def match_value(got, want):
    """Returns None when `got` satisfies `want`, else a short reason."""
    if isinstance(want, dict):
        for op, arg in want.items():
            if op == "startswith":
                ok = isinstance(got, str) and got.startswith(arg)
            elif op == "contains":
                ok = isinstance(got, str) and arg in got
            elif op == "len":
                ok = isinstance(got, str) and len(got) == arg
            elif op == "min_len":
                ok = isinstance(got, str) and len(got) >= arg
            elif op == "in":
                ok = got in arg
            else:
                raise CaseError("unknown match operator %r" % op)
            if not ok:
                return "%s %r" % (op, arg)
        return None
    if isinstance(want, list):  # anomalies: exact set
        if sorted(got or []) != sorted(want):
            return "exactly %s" % sorted(want)
        return None
    if got != want:
        return "== %r" % (want,)
    return None


def match_item(rec, item):
    """Compares one record with one expected transaction; returns a list of mismatches."""
    bad = []
    for key, want in item.items():
        if key == "anomalies_include":
            have = set(field(rec, "anomalies"))
            missing = [a for a in want if a not in have]
            if missing:
                bad.append("anomalies lack %s (have %s)" % (missing, sorted(have)))
            continue
        if key == "anomalies_exclude":
            have = set(field(rec, "anomalies"))
            extra = [a for a in want if a in have]
            if extra:
                bad.append("anomalies must not have %s" % extra)
            continue
        if key not in TOP_LEVEL and key not in HTTP_FIELDS:
            raise CaseError("unknown field %r in expected transaction" % key)
        got = field(rec, key)
        why = match_value(got, want)
        if why:
            bad.append("%s=%s, want %s" % (key, short(got), why))
    return bad


def short(v, n=90):
    s = json.dumps(v)
    return s if len(s) <= n else s[:n] + "...\""


def describe(rec):
    h = rec.get("http", {})
    return "%s:%s %s %s host=%s %s status=%s anomalies=%s" % (
        rec.get("src_port"), rec.get("dest_port"), h.get("method"), short(h.get("url"), 60),
        h.get("host"), h.get("protocol"), h.get("status"), h.get("anomalies", []))


def flow_key(rec):
    return (rec.get("flow_id"), rec.get("src_ip"), rec.get("src_port"), rec.get("dest_ip"),
            rec.get("dest_port"))


def parse_summary(err):
    """The end-of-run summary on stderr: request/response counters and anomaly counts."""
    out = {"anomalies": {}}
    m = re.search(r"HTTP requests (\d+), responses (\d+)", err)
    if m:
        out["http_requests"] = int(m.group(1))
        out["http_responses"] = int(m.group(2))
    m = re.search(r"flows (\d+) \(mid-stream (\d+)", err)
    if m:
        out["flows"] = int(m.group(1))
        out["midstream_flows"] = int(m.group(2))
    m = re.search(r"^portside: anomalies:(.*)$", err, re.M)
    if m:
        for name, n in re.findall(r"(\S+)=(\d+)", m.group(1)):
            out["anomalies"][name] = int(n)
    m = re.search(r"^portside: detections: (\d+) records", err, re.M)
    if m:
        out["detection_records"] = int(m.group(1))
    return out


def check_count(n, chk, what):
    bad = []
    if "count" in chk and n != chk["count"]:
        bad.append("%d %s, want %d" % (n, what, chk["count"]))
    if "min_count" in chk and n < chk["min_count"]:
        bad.append("%d %s, want at least %d" % (n, what, chk["min_count"]))
    if "max_count" in chk and n > chk["max_count"]:
        bad.append("%d %s, want at most %d" % (n, what, chk["max_count"]))
    return bad


def check_seq(recs, items, label):
    bad = []
    if len(recs) != len(items):
        bad.append("%s: %d transactions, want %d; got: %s" % (
            label, len(recs), len(items), "; ".join(describe(r) for r in recs) or "none"))
    for i, (rec, item) in enumerate(zip(recs, items)):
        for b in match_item(rec, item):
            bad.append("%s tx %d: %s" % (label, i + 1, b))
    return bad


def run_check(chk, records, summary):
    """Evaluates one check; returns a list of failure messages (empty: passed)."""
    et = chk.get("event_type", "http")
    sel = [r for r in records if et == "any" or r.get("event_type") == et]
    for key, want in (chk.get("select") or {}).items():
        if key not in TOP_LEVEL and key not in HTTP_FIELDS:
            raise CaseError("unknown select field %r" % key)
        sel = [r for r in sel if match_value(field(r, key), want) is None]
    bad = check_count(len(sel), chk, "%s records" % et)
    if not sel and chk.get("count") != 0 and set(chk) & {"each", "anomalies", "no_anomalies",
                                                         "any_anomalies"}:
        bad.append("no %s record selected, so nothing to check" % et)
    if "txs" in chk:
        bad += check_seq(sel, chk["txs"], "sequence")
    if "flows" in chk:
        flows = {}
        for r in sel:
            flows.setdefault(r.get("src_port"), []).append(r)
        for port, items in chk["flows"].items():
            bad += check_seq(flows.pop(int(port), []), items or [], "flow :%s" % port)
        for port, recs in flows.items():
            bad.append("flow :%s not expected: %s" % (port, "; ".join(describe(r) for r in recs)))
    if "each" in chk:
        for r in sel:
            b = match_item(r, chk["each"])
            if b:
                bad.append("%s: %s" % (describe(r), "; ".join(b)))
                if len(bad) > 12:
                    bad.append("...")
                    break
    for a in chk.get("anomalies", []):
        lack = [r for r in sel if a not in field(r, "anomalies")]
        if lack or not sel:
            bad.append("%s missing on %d of %d records%s" % (
                a, len(lack), len(sel), (" e.g. " + describe(lack[0])) if lack else ""))
    for a in chk.get("no_anomalies", []):
        have = [r for r in sel if a in field(r, "anomalies")]
        if have:
            bad.append("%s present on %d records, e.g. %s" % (a, len(have), describe(have[0])))
    for a in chk.get("any_anomalies", []):
        if not any(a in field(r, "anomalies") for r in sel):
            bad.append("no record has %s" % a)
    for key, want in (chk.get("summary") or {}).items():
        if key == "anomalies":
            for name, spec in want.items():
                got = summary["anomalies"].get(name, 0)
                if not cmp_spec(got, spec):
                    bad.append("summary %s=%d, want %s" % (name, got, spec))
        else:
            got = summary.get(key)
            if got is None or not cmp_spec(got, want):
                bad.append("summary %s=%s, want %s" % (key, got, want))
    return bad


def cmp_spec(got, spec):
    """spec: an integer, or a string like '>=3', '<=2', '>0'."""
    if isinstance(spec, int):
        return got == spec
    m = re.fullmatch(r"\s*(>=|<=|>|<|==)\s*(\d+)\s*", str(spec))
    if not m:
        raise CaseError("bad count spec %r" % spec)
    n = int(m.group(2))
    return {">=": got >= n, "<=": got <= n, ">": got > n, "<": got < n, "==": got == n}[m.group(1)]


def validate(cases):
    seen = set()
    for case in cases:
        unknown = set(case) - {"pcap", "peer", "peer_expects", "verdict", "notes", "checks",
                               "detections_allowed"}
        if unknown:
            raise CaseError("case %s: unknown keys %s" % (case.get("pcap"), sorted(unknown)))
        for k in ("pcap", "peer", "peer_expects", "verdict", "checks"):
            if k not in case:
                raise CaseError("case %s lacks %r" % (case.get("pcap"), k))
        if case["pcap"] in seen:
            raise CaseError("duplicate case %s" % case["pcap"])
        seen.add(case["pcap"])
        if case["verdict"] not in ("compared", "deliberate difference", "partly different"):
            raise CaseError("%s: bad verdict %r" % (case["pcap"], case["verdict"]))
        if not case["checks"]:
            raise CaseError("%s: no checks" % case["pcap"])
        for chk in case["checks"]:
            unknown = set(chk) - CHECK_KEYS
            if unknown:
                raise CaseError("%s: unknown check keys %s" % (case["pcap"], sorted(unknown)))
            if "name" not in chk or chk.get("basis") not in ("peer", "portside"):
                raise CaseError("%s: check needs a name and basis peer|portside" % case["pcap"])
            if chk["basis"] == "portside" and not chk.get("why"):
                raise CaseError("%s/%s: a portside-basis check must say why" % (case["pcap"], chk["name"]))
            if not (set(chk) & ASSERTIONS):
                raise CaseError("%s/%s: check asserts nothing" % (case["pcap"], chk["name"]))
    return seen


def load_records(path):
    recs = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                recs.append(json.loads(line))
            except ValueError as e:
                raise ValueError("%s:%d: not JSON: %s" % (path, n, e))
    return recs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--outdir", required=True)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    try:
        with open(args.cases, encoding="utf-8") as f:
            cases = yaml.safe_load(f)["cases"]
        covered = validate(cases)
    except (OSError, KeyError, TypeError, yaml.YAMLError, CaseError) as e:
        print("peers: bad case file: %s" % e)
        return 2

    passed = failed = xfailed = 0
    on_disk = set()
    for dirpath, _, files in os.walk(args.root):
        for fn in files:
            if fn.endswith((".pcap", ".pcapng")):
                on_disk.add(os.path.relpath(os.path.join(dirpath, fn), args.root))
    for rel in sorted(on_disk - covered):
        print("FAIL peers %s: capture has no case in %s" % (rel, args.cases))
        failed += 1

    for case in cases:
        rel = case["pcap"]
        base = os.path.join(args.outdir, capture_key(rel))
        problems, records, summary = [], [], {"anomalies": {}}
        if rel not in on_disk:
            problems.append("capture missing under %s" % args.root)
        else:
            try:
                rc = int(open(base + ".rc").read().strip() or "-1")
                err = open(base + ".err", encoding="utf-8", errors="replace").read()
                records = load_records(base + ".jsonl")
                summary = parse_summary(err)
                if rc != 0:
                    problems.append("portside exited %d: %s" % (rc, err.strip()[:300]))
            except (OSError, ValueError) as e:
                problems.append(str(e))
        results = []
        checks = list(case["checks"])
        if not case.get("detections_allowed"):
            checks.append(NO_DETECTIONS)
        for chk in checks:
            try:
                bad = problems or run_check(chk, records, summary)
            except CaseError as e:
                print("peers: bad case file: %s: %s" % (rel, e))
                return 2
            if chk.get("xfail"):
                if bad and not problems:
                    xfailed += 1
                    results.append(("xfail", chk, bad))
                else:
                    failed += 1
                    results.append(("XPASS" if not bad else "FAIL", chk, bad))
            elif bad:
                failed += 1
                results.append(("FAIL", chk, bad))
            else:
                passed += 1
                results.append(("ok", chk, bad))
        states = [r[0] for r in results]
        bad_case = any(s in ("FAIL", "XPASS") for s in states)
        print("%-4s %-72s %2d checks, %d xfail  [%s]" % (
            "FAIL" if bad_case else "ok", rel, len(states), states.count("xfail"), case["verdict"]))
        for state, chk, bad in results:
            if state == "FAIL":
                print("     FAIL %s (%s):" % (chk["name"], chk["basis"]))
                for b in bad:
                    print("          %s" % b)
            elif state == "XPASS":
                print("     XPASS %s: marked xfail (%s) but passes now; remove the xfail"
                      % (chk["name"], chk["xfail"].strip()))
            elif state == "xfail" and args.verbose:
                print("     xfail %s: %s" % (chk["name"], chk["xfail"].strip()))
                for b in bad:
                    print("          %s" % b)
    print("peers: %d passed, %d failed (%d xfail)" % (passed, failed, xfailed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
