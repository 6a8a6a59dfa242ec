#!/usr/bin/env python3
"""Writes a sample log of tests/filters/ from blocks of log lines.

    annotate.py OUT FILTER MODES BLOCKFILE...

MODES is a comma list of the filter's modes ("-" for a filter without
modes). Each BLOCKFILE starts with comment lines ("# ...", the block's
provenance, copied as is) followed by log lines. For every line the filter
is run (warden regex --json, fail2ban's test clock) in every mode; lines are
then written in sections "# filterOptions: [modes...]" grouped by the set of
modes that match them, each with a "# failJSON:" annotation: match, host,
user and the time computed here from the line's text (not taken from
warden). A matching line is written once for the modes that match it and
once, as "match": false, for the modes that do not.

The output is a proposal: read it, and correct any verdict that is wrong
before committing (that review is the test). The runner that checks the
committed file is tests/filters/run.
"""
import calendar
import json
import os
import re
import subprocess
import sys
import time

TEST_NOW = 1124013600
os.environ["TZ"] = "CET-01CEST-02,M3.5.0,M10.5.0"
time.tzset()
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
WARDEN = os.environ.get("WARDEN") or os.path.join(
    REPO, os.environ.get("BUILD", "build"), "warden")
MON = {m: i for i, m in enumerate(
    "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}


def local_iso(t):
    frac = ("%.6f" % (t % 1))[1:] if t % 1 else ""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t)) + frac


def mk(y, mo, d, h, mi, s, frac=0.0, off=None):
    tt = (y, mo, d, h, mi, s, 0, 0, -1)
    if off is None:
        return time.mktime(tt) + frac
    return calendar.timegm(tt) - off + frac


def offset(z):
    if z in ("Z", None):
        return 0
    sign = -1 if z[0] == "-" else 1
    z = z[1:].replace(":", "")
    return sign * (int(z[:2]) * 3600 + int(z[2:]) * 60)


def line_time(line):
    """The line's date as epoch seconds, by the formats the samples use."""
    m = re.match(r"^@4([0-9a-f]{15})[0-9a-f]{8}\s", line)
    if m:
        return float(int(m.group(1), 16))
    m = re.match(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?"
                 r"(Z|[+-]\d\d:?\d\d)\s", line)
    if m:
        g = m.groups()
        return mk(*map(int, g[:6]), float(g[6] or 0), offset(g[7]))
    m = re.match(r"^(\d{4})[-/](\d\d)[-/](\d\d) (\d\d):(\d\d):(\d\d)"
                 r"(?:[,.](\d+))?\s", line)
    if m:
        g = m.groups()
        return mk(*map(int, g[:6]), float("0." + g[6]) if g[6] else 0.0)
    m = re.match(r"^\[\w{3} (\w{3}) (\d\d) (\d\d):(\d\d):(\d\d)(\.\d+)? "
                 r"(\d{4})\]", line)
    if m:
        g = m.groups()
        return mk(int(g[6]), MON[g[0]], int(g[1]), int(g[2]), int(g[3]),
                  int(g[4]), float(g[5] or 0))
    m = re.search(r"\[(\d\d)[-/](\w{3})[-/](\d{4})[: ](\d\d):(\d\d):(\d\d)"
                  r" ([+-]\d{4})\]", line)
    if m:
        g = m.groups()
        return mk(int(g[2]), MON[g[1]], int(g[0]), int(g[3]), int(g[4]),
                  int(g[5]), 0.0, offset(g[6]))
    m = re.match(r"^(\w{3}) +(\d+) (\d\d):(\d\d):(\d\d)\s", line)
    if m:
        g = m.groups()
        y = time.localtime(TEST_NOW).tm_year
        t = mk(y, MON[g[0]], int(g[1]), int(g[2]), int(g[3]), int(g[4]))
        if t > TEST_NOW + 86400:
            t = mk(y - 1, MON[g[0]], int(g[1]), int(g[2]), int(g[3]),
                   int(g[4]))
        return t
    m = re.match(r"^(\d\d):(\d\d):(\d\d)(\.\d+)?\s", line)
    if m:
        d = time.localtime(TEST_NOW)
        g = m.groups()
        return mk(d.tm_year, d.tm_mon, d.tm_mday, int(g[0]), int(g[1]),
                  int(g[2]), float(g[3] or 0))
    return None


def run(flt, mode, lines, journal=False):
    spec = flt if mode == "-" else "%s[mode=%s]" % (flt, mode)
    path = "/tmp/annotate-%d.log" % os.getpid()
    with open(path, "w") as fp:
        fp.write("".join(l + "\n" for l in lines))
    args = [WARDEN, "regex", "-c", os.path.join(REPO, "etc/warden"), "-r",
            "--now", str(TEST_NOW), "--json"]
    out = subprocess.run(args + [path, spec], stdout=subprocess.PIPE,
                         check=True).stdout.decode()
    os.unlink(path)
    res = {}
    for row in out.splitlines():
        o = json.loads(row)
        res[o["line"]] = o["failures"] or []
    return [res.get(i + 1, []) for i in range(len(lines))]


def opts(modes):
    return json.dumps([{} if m == "-" else {"mode": m} for m in modes])


def main():
    out, flt, modes = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    w = []
    w.append("# Sample log for Warden's filter.d/%s.conf, with the expected"
             " verdict of" % flt)
    w.append("# every line (\"# failJSON:\", fail2ban's sample annotation"
             " format). Checked")
    w.append("# by tests/filters/run. Each block says where its lines come"
             " from.")
    for bf in sys.argv[4:]:
        with open(bf, encoding="utf-8") as fp:
            rows = fp.read().splitlines()
        head = [r for r in rows if r.startswith("#")]
        lines = [r for r in rows if r.strip() and not r.startswith("#")]
        verdicts = {m: run(flt, m, lines) for m in modes}
        groups = {}
        order = []
        for i, l in enumerate(lines):
            key = tuple(m for m in modes if verdicts[m][i])
            if key not in groups:
                groups[key] = []
                order.append(key)
            groups[key].append(i)
        w.append("")
        w.extend(head)
        for key in sorted(order, key=lambda k: (-len(k), k)):
            idx = groups[key]
            neg = [m for m in modes if m not in key]
            for sect_modes, want in ((list(key), True), (neg, False)):
                if not sect_modes:
                    continue
                w.append("")
                w.append("# filterOptions: " + opts(sect_modes))
                for i in idx:
                    fd = {"match": want}
                    if want:
                        f = verdicts[key[0]][i][0]
                        t = line_time(lines[i])
                        if t is not None:
                            # fail2ban's dates are whole seconds.
                            t = float(int(t))
                            fd = {"time": local_iso(t), "match": True}
                        fd["host"] = f["id"]
                        u = (f.get("groups") or {}).get("user")
                        if u is not None:
                            fd["user"] = u
                    w.append("# failJSON: " + json.dumps(fd))
                    w.append(lines[i])
    with open(out, "w", encoding="utf-8") as fp:
        fp.write("\n".join(w) + "\n")


if __name__ == "__main__":
    main()
