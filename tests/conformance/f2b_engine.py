"""Development aid for tests/conformance/run --engine fail2ban.

Computes the per-line results of `warden regex --json` with fail2ban's own
Python classes instead of warden, set up the way fail2ban's sample harness
sets up its Filter (raw hosts, every failregex checked, no find-time check).
It exists to validate the conformance runner: against fail2ban itself the
runner must pass every annotation.

Run it with the python that has fail2ban's dependencies (/usr/bin/python3)
and PYTHONPATH pointing at the extracted fail2ban tree. The command line is
the subset of `warden regex` that the runner uses:

    f2b_engine.py -c CONFIG [-r] --now EPOCH --json [--journal-lines] FILE SPEC

Hosts are always raw (-r is accepted and implied), as in the harness.

FILE is read as UTF-8; lines starting with '#' and empty lines are skipped
and produce no output, like fail2ban-regex. Every other line prints one JSON
object: line, ignored, failures (id, time, regex, groups, matches). Exit
status 255 with a message on stderr when the filter cannot be loaded.

This file imports fail2ban at run time; it contains none of its code.
"""

import datetime
import json
import sys


def usage():
    sys.stderr.write(
        "usage: f2b_engine.py -c CONFIG [-r] --now EPOCH --json "
        "[--journal-lines] FILE SPEC\n")
    sys.exit(255)


def parse_args(argv):
    args = {"config": "/etc/fail2ban", "now": None, "journal": False}
    pos = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-c", "--config") and i + 1 < len(argv):
            args["config"] = argv[i + 1]
            i += 2
            continue
        if a == "--now" and i + 1 < len(argv):
            args["now"] = int(argv[i + 1])
            i += 2
            continue
        if a in ("--json", "-r", "--raw"):
            i += 1
            continue
        if a == "--journal-lines":
            args["journal"] = True
            i += 1
            continue
        if a.startswith("-") and len(a) > 1:
            usage()
        pos.append(a)
        i += 1
    if len(pos) != 2 or args["now"] is None:
        usage()
    args["file"], args["spec"] = pos
    return args


def to_json(v):
    """Converts a value of fail2ban's failure dict into plain JSON data."""
    from fail2ban.server.ipdns import IPAddr
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, IPAddr):
        return str(v)
    if isinstance(v, set):
        return sorted(to_json(x) for x in v)
    if isinstance(v, tuple) and all(isinstance(x, str) for x in v):
        return "".join(v)
    if isinstance(v, (list, tuple)):
        return [to_json(x) for x in v]
    if isinstance(v, dict):
        return {str(k): to_json(x) for k, x in v.items()}
    return str(v)


def load_filter(config, spec):
    from fail2ban.client.filterreader import FilterReader
    from fail2ban.helpers import extractOptions
    from fail2ban.server.filter import Filter

    name, opts = extractOptions(spec)
    flt = Filter(None)
    flt.returnRawHost = True
    flt.checkAllRegex = True
    flt.checkFindTime = False
    flt.active = True
    reader = FilterReader(name, "jail", dict(opts), basedir=config)
    if not reader.read():
        raise ValueError("cannot read filter %r in %s" % (name, config))
    reader.getOptions({})
    for opt in reader.convert():
        if opt[0] == "multi-set":
            vals = opt[3]
        elif opt[0] == "set":
            vals = [opt[3]]
        else:
            continue
        for v in vals:
            if opt[2] == "prefregex":
                flt.prefRegex = v
            elif opt[2] == "addfailregex":
                flt.addFailRegex(v)
            elif opt[2] == "addignoreregex":
                flt.addIgnoreRegex(v)
            elif opt[2] == "maxlines":
                flt.setMaxLines(v)
            elif opt[2] == "datepattern":
                flt.setDatePattern(v)
    return flt


def main(argv):
    args = parse_args(argv)
    from fail2ban.server.mytime import MyTime

    now = args["now"]
    MyTime.setTime(now)
    MyTime.setAlternateNow(now)
    now_str = datetime.datetime.fromtimestamp(
        now, datetime.timezone.utc).replace(tzinfo=None).isoformat()
    try:
        flt = load_filter(args["config"], args["spec"])
    except Exception as e:  # any load error is a usage error here
        sys.stderr.write("f2b_engine: %s\n" % (e,))
        return 255

    ignored = [False]

    def on_ignore(idx, regex):
        ignored[0] = True

    flt.onIgnoreRegex = on_ignore
    with open(args["file"], "rb") as fp:
        data = fp.read()
    out = sys.stdout
    for lnum, raw in enumerate(data.split(b"\n"), 1):
        if lnum > 1 and raw == b"" and lnum == data.count(b"\n") + 1:
            break
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line.startswith("#") or not line:
            continue
        ignored[0] = False
        if args["journal"]:
            ret = flt.processLine(("", now_str, line), now)
        else:
            ret = flt.processLine(line)
        failures = []
        for failregex, fid, ftime, fail in ret or ():
            groups = {k: to_json(v) for k, v in fail.items() if k != "matches"}
            failures.append({
                "id": None if fid is None else str(fid),
                "time": ftime,
                "regex": failregex,
                "groups": groups,
                "matches": to_json(fail.get("matches", [])),
            })
        out.write(json.dumps({"line": lnum, "ignored": ignored[0],
                              "failures": failures}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
