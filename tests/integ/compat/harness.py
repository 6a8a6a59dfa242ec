"""run-compat's harness: one scenario suite, two servers under test.

A scenario is a function taking a `T` (assertions + waiting) whose `env`
(an `Env`) owns one private temporary directory: a copy of compat/conf
plus fail2ban.local with the scenario's socket, pid file, database and
log file, the jails' log files (<workdir>/<jail>.log) and the recording
action's files (<workdir>/<jail>.rec). The same scenario code runs
against fail2ban-server + fail2ban-client (`--server fail2ban`, to prove
the expectations) and against wardend + warden (`--server warden`).

Waiting is always deadline-based polling (every 50 ms), never a fixed
sleep: fail2ban's polling backend needs about a second per change,
wardend's inotify a few milliseconds.

Every process a scenario starts runs in its own session and is killed
(process group, SIGTERM then SIGKILL) and reaped when the scenario ends,
whatever happened; a server that daemonized itself is found through its
pid file and killed by pid after checking that its command line names
the scenario's directory.
"""

import glob
import importlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
CONF = os.path.join(HERE, "conf")
POLL = 0.05
SYNC_IP = "203.0.113.254"  # in every jail's ignoreip (conf/jail.conf)

LOG_RE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (\S+)\s*\[(\d+)\]: (\S+)\s+(.*)$")


def ts(t):
    """A log line's date: local time, whole seconds."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


_LOCAL = {}


def check_not_local(ip):
    """Test addresses must not be this host's own: wardend's ignoreself
    also covers every interface address (daemon-design.md), fail2ban's
    only the resolved host names, so such an address would be ignored by
    one and banned by the other. 127.0.0.1 is the deliberate exception.
    An address is local when a socket can bind to it."""
    if ip == "127.0.0.1" or ":" in ip:
        return
    if ip not in _LOCAL:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind((ip, 0))
            _LOCAL[ip] = True
        except OSError:
            _LOCAL[ip] = False
        finally:
            s.close()
    if _LOCAL[ip]:
        raise RuntimeError("test address %s is one of this host's own "
                           "addresses (ignoreself): the scenario needs "
                           "another one" % ip)


class Abort(Exception):
    """A wait failed: the scenario cannot go on (already reported)."""


class Result:
    def __init__(self, argv, rc, out, err):
        self.argv, self.rc, self.out, self.err = argv, rc, out, err

    def __repr__(self):
        return "rc=%d stdout=%r stderr=%r" % (self.rc, self.out, self.err)


# ---- the two servers under test ------------------------------------------

class Kind:
    """How to run one implementation's server and client."""
    name = None
    timeout = 10.0  # default deadline of a wait, seconds

    def server_argv(self, env, background=False):
        raise NotImplementedError

    def client_argv(self, env, args, opts_first=False):
        raise NotImplementedError

    def proc_env(self):
        return None

    def no_server_message(self, sock):
        raise NotImplementedError

    def missing(self):
        """None when runnable, else why not."""
        return None


class Fail2ban(Kind):
    """The installed fail2ban-server/-client, else Debian's package
    extracted by tests/fetch-fail2ban, run with /usr/bin/python3."""
    name = "fail2ban"
    timeout = 12.0

    def __init__(self):
        self.pythonpath = None
        srv, cli = shutil.which("fail2ban-server"), shutil.which(
            "fail2ban-client")
        self.py = "/usr/bin/python3" if os.path.exists(
            "/usr/bin/python3") else "python3"
        if srv and cli:
            self.srv, self.cli = srv, cli
            return
        self.srv = self.cli = None
        try:
            root = subprocess.run([os.path.join(REPO, "tests", "fetch-fail2ban")],
                                  capture_output=True, text=True, cwd=REPO,
                                  timeout=300).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            root = ""
        if root and os.path.exists(os.path.join(root, "usr/bin/fail2ban-client")):
            self.srv = os.path.join(root, "usr/bin/fail2ban-server")
            self.cli = os.path.join(root, "usr/bin/fail2ban-client")
            self.pythonpath = os.path.join(root, "usr/lib/python3/dist-packages")

    def missing(self):
        if not self.srv:
            return "fail2ban is neither installed nor fetchable"
        return None

    def proc_env(self):
        if not self.pythonpath:
            return None
        e = dict(os.environ)
        e["PYTHONPATH"] = self.pythonpath
        return e

    def server_argv(self, env, background=False):
        return [self.py, self.srv, "-b" if background else "-f", "-x",
                "-c", env.conf, "-s", env.sock, "-p", env.pidfile,
                "--logtarget", env.logfile]

    def client_argv(self, env, args, opts_first=True):
        return [self.py, self.cli, "-c", env.conf, "-s", env.sock,
                "-p", env.pidfile] + list(args)

    def no_server_message(self, sock):
        return ("Failed to access socket path: %s. Is fail2ban running?"
                % sock)


class Warden(Kind):
    """$BUILD/wardend and $WARDEN. The client takes fail2ban-client's
    options after its command word (`warden status -s SOCK JAIL`, the
    form HACKING.md documents); the option-order scenario also tries
    fail2ban-client's order (`warden -s SOCK ping`)."""
    name = "warden"
    timeout = 6.0

    def __init__(self):
        build = os.environ.get("BUILD", "build")
        if not os.path.isabs(build):
            build = os.path.join(REPO, build)
        self.client = os.environ.get("WARDEN") or os.path.join(build, "warden")
        self.daemon = os.path.join(build, "wardend")
        if not os.path.exists(self.daemon):
            alt = os.path.join(os.path.dirname(self.client), "wardend")
            if os.path.exists(alt):
                self.daemon = alt

    def missing(self):
        for p in (self.client, self.daemon):
            if not os.access(p, os.X_OK):
                return "%s not built" % p
        return None

    def server_argv(self, env, background=False):
        return [self.daemon, "-b" if background else "-f", "-x",
                "-c", env.conf, "-s", env.sock, "-p", env.pidfile,
                "--logtarget", env.logfile, "--dbfile", env.dbfile]

    def client_argv(self, env, args, opts_first=False):
        opts = ["-c", env.conf, "-s", env.sock, "-p", env.pidfile]
        if opts_first or not args:
            return [self.client] + opts + list(args)
        return [self.client, args[0]] + opts + list(args[1:])

    def no_server_message(self, sock):
        return ("Failed to access socket path: %s. Is wardend running?"
                % sock)


KINDS = {"fail2ban": Fail2ban, "warden": Warden}


# ---- one scenario's world --------------------------------------------------

class Env:
    def __init__(self, kind, name, keep=False):
        self.kind, self.keep = kind, keep
        base = os.environ.get("TMPDIR", "/tmp")
        self.dir = tempfile.mkdtemp(prefix="run-compat.", dir=base)
        self.conf = os.path.join(self.dir, "conf")
        shutil.copytree(CONF, self.conf)
        self.sock = os.path.join(self.dir, "s.sock")
        self.pidfile = os.path.join(self.dir, "s.pid")
        self.logfile = os.path.join(self.dir, "server.log")
        self.dbfile = os.path.join(self.dir, "db.sqlite3")
        self.procs = []       # Popen objects (servers, clients left over)
        self.proc = None      # the current server
        self.daemon_pids = []  # servers that detached (from the pid file)
        self.nstart = 0
        self.syncs = {}       # jail -> barrier lines written
        self.markers = 0
        self.jail_names = []
        with open(os.path.join(self.conf, "fail2ban.local"), "w") as f:
            f.write("[Definition]\nlogtarget = %s\nsocket = %s\n"
                    "pidfile = %s\ndbfile = %s\n"
                    % (self.logfile, self.sock, self.pidfile, self.dbfile))

    def path(self, name):
        return os.path.join(self.dir, name)

    # -- configuration --
    def jails(self, text, logs=True):
        """Writes conf/jail.local: [DEFAULT] workdir plus TEXT (sections
        of enabled jails) and creates an empty log file for every jail
        named in TEXT unless logs is False."""
        body = "[DEFAULT]\nworkdir = %s\n\n%s\n" % (self.dir, text.strip())
        with open(os.path.join(self.conf, "jail.local"), "w") as f:
            f.write(body)
        names = [n for n in re.findall(r"^\[([^\]]+)\]\s*$", text, re.M)
                 if n not in ("DEFAULT", "INCLUDES")]
        self.jail_names = names
        if logs:
            for n in names:
                p = self.path(n + ".log")
                if not os.path.exists(p):
                    open(p, "a").close()
        return names

    # -- log lines --
    def write(self, name, text):
        with open(self.path(name), "a") as f:
            f.write(text)

    def fail(self, jail, ip, n=1, t=None, file=None):
        """Appends N failure lines for IP dated T (default now) to the
        jail's log, in one write."""
        check_not_local(ip)
        when = ts(time.time() if t is None else t)
        line = "%s compat: auth failure from %s\n" % (when, ip)
        self.write(file or jail + ".log", line * n)

    def rec(self, jail):
        try:
            with open(self.path(jail + ".rec")) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def reclog(self, jail):
        """The recording action's detailed lines: [(time, words...)]."""
        try:
            with open(self.path(jail + ".rec.log")) as f:
                rows = [ln.split() for ln in f.read().splitlines()]
        except FileNotFoundError:
            return []
        return [(float(r[0]),) + tuple(r[1:]) for r in rows if r]

    # -- the server's log --
    def server_log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def messages(self):
        """[(logger, level, message)] of the server's log."""
        out = []
        for ln in self.server_log().splitlines():
            m = LOG_RE.match(ln)
            if m:
                out.append((m.group(1), m.group(3), m.group(4)))
        return out

    def count_msg(self, msg, level=None):
        return sum(1 for _, lv, m in self.messages()
                   if m == msg and (level is None or lv == level))

    # -- processes --
    def _spawn(self, argv, out_name):
        out = open(self.path(out_name), "ab")
        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, cwd=self.dir,
                                 env=self.kind.proc_env(),
                                 start_new_session=True)
        finally:
            out.close()
        self.procs.append(p)
        return p

    def client(self, *args, opts_first=False, timeout=60):
        argv = self.kind.client_argv(self, args, opts_first=opts_first)
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             cwd=self.dir, env=self.kind.proc_env(),
                             start_new_session=True)
        self.procs.append(p)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            killpg(p)
            out, err = p.communicate()
            return Result(argv, -1, out.decode(errors="replace"),
                          err.decode(errors="replace") + "\n[client timed out]")
        self.procs.remove(p)
        return Result(argv, p.returncode, out.decode(errors="replace"),
                      err.decode(errors="replace"))

    def socket_answers(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(1)
            s.connect(self.sock)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def launch(self):
        """Starts the server in the foreground (its own session)."""
        self.nstart += 1
        self.proc = self._spawn(self.kind.server_argv(self),
                                "server.out.%d" % self.nstart)
        return self.proc

    def server_out(self):
        chunks = []
        for p in sorted(glob.glob(self.path("server.out.*"))):
            with open(p, errors="replace") as f:
                chunks.append(f.read())
        return "".join(chunks)

    def pid_from_file(self):
        try:
            with open(self.pidfile) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def ours(self, pid):
        """Whether PID is a live process whose command line names our
        directory (so a recycled pid is never killed)."""
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmd = f.read()
            with open("/proc/%d/stat" % pid) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        return state != "Z" and self.dir.encode() in cmd

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                killpg(p)
        for pid in set(self.daemon_pids + [self.pid_from_file() or 0]):
            if pid and self.ours(pid):
                kill_pid(pid, self)
        self.procs = []
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def killpg(p, grace=3.0):
    """SIGTERM to P's process group, SIGKILL after GRACE, then reap."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(p.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    # leftovers of the group (action children) get the last word
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_pid(pid, env, grace=3.0):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.time() + grace
        while time.time() < deadline:
            if not env.ours(pid):
                return
            time.sleep(POLL)


# ---- assertions --------------------------------------------------------------

def _show(v):
    if isinstance(v, str) and "\n" in v:
        return "\n".join("    | " + ln for ln in v.split("\n"))
    return "    " + repr(v)


class T:
    """Assertions of one scenario. Soft checks record a failure and go
    on; a failed wait records it and aborts the scenario (Abort)."""

    def __init__(self, env):
        self.env = env
        self.kind = env.kind
        self.name = env.kind.name
        self.failures = []
        self.checks = 0

    # -- recording --
    def fail(self, desc, expected=None, got=None, note=None):
        lines = ["%s" % desc]
        if note:
            lines.append("  " + note)
        if expected is not None or got is not None:
            lines.append("  expected:")
            lines.append(_show(expected))
            lines.append("  got:")
            lines.append(_show(got))
        self.failures.append("\n".join(lines))

    def eq(self, desc, got, expected):
        self.checks += 1
        if got != expected:
            self.fail(desc, expected, got)
            return False
        return True

    def true(self, desc, cond, note=None):
        self.checks += 1
        if not cond:
            self.fail(desc, note=note)
        return bool(cond)

    # -- waiting --
    def wait(self, desc, fn, timeout=None, show=None):
        """Polls FN until it returns a true value (returned); aborts."""
        self.checks += 1
        deadline = time.time() + (timeout or self.kind.timeout)
        while True:
            v = fn()
            if v:
                return v
            if time.time() >= deadline:
                self.fail("timed out (%.1fs): %s" % (timeout or self.kind.timeout,
                                                     desc),
                          note=("last: " + show()) if show else None)
                raise Abort()
            time.sleep(POLL)

    def wait_eq(self, desc, getter, expected, timeout=None, hard=True):
        """Polls GETTER until it equals EXPECTED; on timeout records
        expected vs the last value and aborts (unless hard is False)."""
        self.checks += 1
        deadline = time.time() + (timeout or self.kind.timeout)
        while True:
            v = getter()
            if v == expected:
                return v
            if time.time() >= deadline:
                self.fail("timed out (%.1fs): %s" % (timeout or self.kind.timeout,
                                                     desc), expected, v)
                if hard:
                    raise Abort()
                return v
            time.sleep(POLL)

    # -- client --
    def client(self, *args, **kw):
        return self.env.client(*args, **kw)

    def cmd(self, desc, args, out, rc=0, err_has=None):
        """Runs the client with ARGS; checks stdout exactly (OUT plus one
        newline; OUT None: no output at all) and the exit status."""
        r = self.env.client(*args)
        exp = "" if out is None else out + "\n"
        self.checks += 1
        ok = r.out == exp and r.rc == rc
        if err_has is not None and err_has not in r.err:
            ok = False
        if not ok:
            self.fail("%s: `%s`" % (desc, " ".join(args)),
                      "rc=%d stdout:\n%s%s" % (
                          rc, exp, "" if err_has is None else
                          "stderr containing: %r" % err_has),
                      "rc=%d stdout:\n%s\nstderr: %s" % (
                          r.rc, r.out, r.err.strip()))
        return r

    def status_of(self, jail):
        """`status JAIL` parsed into {label: value} (strings)."""
        r = self.env.client("status", jail)
        d = {}
        for ln in r.out.splitlines():
            m = re.match(r"^[|` -]*([A-Za-z][A-Za-z ]*):\t(.*)$", ln)
            if m:
                d[m.group(1)] = m.group(2)
        return d

    def counters(self, jail):
        """(currently failed, total failed, currently banned, total banned,
        banned list) from `status JAIL`, or None."""
        d = self.status_of(jail)
        try:
            return (int(d["Currently failed"]), int(d["Total failed"]),
                    int(d["Currently banned"]), int(d["Total banned"]),
                    d["Banned IP list"])
        except (KeyError, ValueError):
            return None

    # -- server lifecycle --
    def start(self, jails=None, timeout=None):
        """Starts the server and waits until every jail (default: the
        ones jail.local names) logged "Jail 'J' started" once more and
        the client's ping answers."""
        env = self.env
        jails = env.jail_names if jails is None else jails
        before = {j: env.count_msg("Jail '%s' started" % j) for j in jails}
        p = env.launch()
        deadline = time.time() + (timeout or max(self.kind.timeout, 15))
        while True:
            if p.poll() is not None:
                self.fail("server exited with status %s while starting"
                          % p.returncode)
                raise Abort()
            if all(env.count_msg("Jail '%s' started" % j) > before[j]
                   for j in jails) and env.socket_answers():
                break
            if time.time() >= deadline:
                missing = [j for j in jails
                           if env.count_msg("Jail '%s' started" % j) <= before[j]]
                self.fail("server not ready: jails not started: %s, socket %s"
                          % (missing, "answers" if env.socket_answers()
                             else "silent"))
                raise Abort()
            time.sleep(POLL)
        r = env.client("ping")
        self.checks += 1
        if r.rc != 0:
            self.fail("ping after start", "rc=0", repr(r))
            raise Abort()
        for j in jails:
            env.syncs.setdefault(j, 0)
        return p

    def start_fails(self, timeout=None):
        """Starts the server and expects it to exit with a failure
        status; returns the status."""
        p = self.env.launch()
        try:
            rc = p.wait(timeout=timeout or max(self.kind.timeout, 15))
        except subprocess.TimeoutExpired:
            self.fail("server expected to fail at start, still running")
            raise Abort()
        self.true("server exits with a failure status (got %d)" % rc, rc != 0)
        return rc

    def stop(self):
        """`stop` through the client, then waits for the server to exit."""
        p = self.env.proc
        self.cmd("stop", ["stop"], "Shutdown successful")
        try:
            p.wait(timeout=max(self.kind.timeout, 15))
        except subprocess.TimeoutExpired:
            self.fail("server still running after `stop`")
            raise Abort()
        self.true("server exit status 0 after stop (got %s)" % p.returncode,
                  p.returncode == 0)

    def kill9(self):
        p = self.env.proc
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()

    # -- barriers --
    def sync(self, *jails):
        """Writes a failure from the always-ignored SYNC_IP to each jail's
        log and waits until the server logged ignoring it: every line
        written before has been read."""
        env = self.env
        for j in jails:
            env.syncs[j] = env.syncs.get(j, 0) + 1
            env.fail(j, SYNC_IP)
        for j in jails:
            want = env.syncs[j]
            msg = "[%s] Ignore %s by ip" % (j, SYNC_IP)
            self.wait("%s read its log up to barrier #%d" % (j, want),
                      lambda: env.count_msg(msg) >= want,
                      show=lambda: "%d barrier lines seen" % env.count_msg(msg))

    def marker(self, jail, maxretry):
        """Bans a fresh marker address through JAIL's log and waits for
        its `ban` line in the recording file: every ban decided from
        earlier lines has been executed. Returns the marker address and
        the time written in its log lines."""
        env = self.env
        env.markers += 1
        ip = "203.0.113.%d" % (100 + env.markers)
        t = int(time.time())
        env.fail(jail, ip, n=maxretry, t=t)
        self.wait("marker %s banned in %s" % (ip, jail),
                  lambda: "ban " + ip in env.rec(jail),
                  show=lambda: repr(env.rec(jail)))
        return ip, t


# ---- scenarios and the runner ----------------------------------------------

SCENARIOS = []


def scenario(name):
    def deco(fn):
        SCENARIOS.append((name, fn))
        return fn
    return deco


def load_scenarios():
    d = os.path.join(HERE, "scenarios")
    for path in sorted(glob.glob(os.path.join(d, "*.py"))):
        mod = os.path.splitext(os.path.basename(path))[0]
        if mod.startswith("_"):
            continue
        importlib.import_module("scenarios." + mod)


def tail(text, n=30):
    lines = text.splitlines()
    return lines[-n:]


def run_one(kind, name, fn, keep):
    env = Env(kind, name, keep)
    t = T(env)
    t0 = time.time()
    try:
        fn(t)
    except Abort:
        pass
    except Exception:
        t.fail("exception in scenario", note=traceback.format_exc().rstrip())
    finally:
        diag = []
        if t.failures:
            diag.append("server log (last lines):")
            diag += ["  " + ln for ln in tail(env.server_log())]
            so = env.server_out().strip()
            if so:
                diag.append("server stdout/stderr (last lines):")
                diag += ["  " + ln for ln in tail(so, 15)]
            if keep:
                diag.append("kept: " + env.dir)
        env.cleanup()
    return t, time.time() - t0, diag


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(
        prog="run-compat",
        description="Black-box compatibility scenarios (TAP) against "
        "wardend + warden or fail2ban-server + fail2ban-client.")
    ap.add_argument("--server", choices=sorted(KINDS), default="warden")
    ap.add_argument("--only", metavar="REGEX",
                    help="run only the scenarios whose name matches")
    ap.add_argument("--list", action="store_true", help="list scenarios")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directories of failed scenarios")
    a = ap.parse_args(argv)

    sys.path.insert(0, HERE)
    load_scenarios()
    todo = [(n, f) for n, f in SCENARIOS
            if not a.only or re.search(a.only, n)]
    if a.list:
        for n, _ in todo:
            print(n)
        return 0
    kind = KINDS[a.server]()
    why = kind.missing()
    print("1..%d" % len(todo))
    if why:
        for i, (n, _) in enumerate(todo, 1):
            print("not ok %d - %s [%s]: %s" % (i, n, kind.name, why))
        return 1
    started = time.time()
    nfail = 0
    for i, (n, fn) in enumerate(todo, 1):
        t, secs, diag = run_one(kind, n, fn, a.keep)
        if t.failures:
            nfail += 1
            print("not ok %d - %s [%s] (%.1fs)" % (i, n, kind.name, secs))
            for f in t.failures:
                for ln in f.split("\n"):
                    print("#   " + ln)
            for ln in diag:
                print("#     " + ln)
        else:
            print("ok %d - %s [%s] (%d checks, %.1fs)"
                  % (i, n, kind.name, t.checks, secs))
        sys.stdout.flush()
    print("# %s: %d of %d scenarios passed in %.1fs"
          % (kind.name, len(todo) - nfail, len(todo), time.time() - started))
    return 1 if nfail else 0
