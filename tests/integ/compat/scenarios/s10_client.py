"""Client output and exit codes: status layouts, ping, get/set, errors,
flushlogs, start/stop through the client (spec sections 6.2-6.4)."""

import os

from harness import scenario, SYNC_IP


def status_tree(jail, cf, tf, files, cb, tb, banned=(), short=False):
    """fail2ban-client's `status JAIL` tree (spec 6.3), TABs after ':'."""
    lines = ["Status for the jail: %s" % jail,
             "|- Filter",
             "|  |- Currently failed:\t%d" % cf,
             "|  |- Total failed:\t%d" % tf,
             "|  `- File list:\t%s" % " ".join(files),
             "`- Actions",
             "   |- Currently banned:\t%d" % cb]
    if short:
        lines.append("   `- Total banned:\t%d" % tb)
    else:
        lines.append("   |- Total banned:\t%d" % tb)
        lines.append("   `- Banned IP list:\t%s" % " ".join(banned))
    return "\n".join(lines)


@scenario("status-layouts")
def status_layouts(t):
    env = t.env
    env.jails("[test]\nenabled = true\n[alpha]\nenabled = true\n")
    t.start()
    t.cmd("ping", ["ping"], "Server replied: pong")
    t.cmd("server status tree", ["status"],
          "Status\n|- Number of jail:\t2\n`- Jail list:\talpha, test")
    log = env.path("test.log")
    t.cmd("empty jail status", ["status", "test"],
          status_tree("test", 0, 0, [log], 0, 0))
    env.fail("test", "192.0.2.1", n=3)
    t.wait_eq("recording after 3 failures", lambda: env.rec("test"),
              ["ban 192.0.2.1"])
    env.fail("test", "192.0.2.5")
    t.sync("test")
    t.cmd("jail status tree", ["status", "test"],
          status_tree("test", 1, 4, [log], 1, 1, ["192.0.2.1"]))
    t.cmd("jail status basic", ["status", "test", "basic"],
          status_tree("test", 1, 4, [log], 1, 1, ["192.0.2.1"]))
    t.cmd("unknown status flavor prints basic", ["status", "test", "nosuch"],
          status_tree("test", 1, 4, [log], 1, 1, ["192.0.2.1"]))
    t.wait("WARNING about the unknown flavor", lambda: env.count_msg(
        "Unsupported extended jail status flavor 'nosuch'. Supported: "
        "['short', 'basic', 'cymru']", "WARNING") == 1)
    t.cmd("jail status short", ["status", "test", "short"],
          status_tree("test", 1, 4, [log], 1, 1, short=True))
    t.cmd("other jail untouched", ["status", "alpha"],
          status_tree("alpha", 0, 0, [env.path("alpha.log")], 0, 0))
    # errors: fail2ban's texts on stdout, exit status 255
    t.cmd("unknown jail", ["status", "nosuch"],
          "Sorry but the jail 'nosuch' does not exist", rc=255)
    t.cmd("unknown jail in get", ["get", "nosuch", "maxretry"],
          "Sorry but the jail 'nosuch' does not exist", rc=255)
    t.cmd("get without an option", ["get", "test"],
          "Sorry but the command is invalid", rc=255)
    t.cmd("get of an unknown option", ["get", "test", "nosuchoption"],
          "Invalid command (no get action or not yet implemented)", rc=255)
    t.cmd("get maxretry (default 3)", ["get", "test", "maxretry"], "3")
    t.true("NOTICE Ban logged once",
           env.count_msg("[test] Ban 192.0.2.1", "NOTICE") == 1,
           note="messages: %r" % [m for m in env.messages() if "Ban" in m[2]])


@scenario("no-server")
def no_server(t):
    env = t.env
    env.jails("[test]\nenabled = true\n")
    msg = t.kind.no_server_message(env.sock)
    for args in (["ping"], ["status"], ["status", "test"]):
        r = env.client(*args)
        t.eq("`%s` without a server: exit status" % " ".join(args), r.rc, 255)
        t.eq("`%s` without a server: stdout" % " ".join(args), r.out, "")
        t.true("`%s` without a server: stderr names the socket"
               % " ".join(args), msg in r.err,
               note="expected %r in stderr %r" % (msg, r.err))


@scenario("get-set")
def get_set(t):
    env = t.env
    env.jails("""
[test]
enabled = true
maxretry = 4
findtime = 10m
bantime = 1h
ignoreip = 198.51.100.0/24 %s
""" % SYNC_IP)
    t.start()
    t.cmd("get maxretry", ["get", "test", "maxretry"], "4")
    t.cmd("get findtime (10m)", ["get", "test", "findtime"], "600")
    t.cmd("get bantime (1h)", ["get", "test", "bantime"], "3600")
    t.cmd("get actions", ["get", "test", "actions"],
          "The jail test has the following actions:\nrecord")
    t.cmd("get logpath", ["get", "test", "logpath"],
          "Current monitored log file(s):\n`- %s" % env.path("test.log"))
    t.cmd("get ignoreip (networks, then addresses)", ["get", "test", "ignoreip"],
          "These IP addresses/networks are ignored:\n"
          "|- 198.51.100.0/24\n`- %s" % SYNC_IP)
    t.cmd("get ignoreself", ["get", "test", "ignoreself"], "True")
    t.cmd("get banip with no ban", ["get", "test", "banip"], "")
    # the jail's start echoes its settings in seconds (spec 9)
    for msg, logger in (("maxRetry: 4", "fail2ban.filter"),
                        ("findtime: 600", "fail2ban.filter"),
                        ("banTime: 3600", "fail2ban.actions")):
        t.true("INFO '  %s' logged at start" % msg,
               (logger, "INFO", msg) in env.messages(),
               note="got: %r" % [m for m in env.messages()
                                 if m[2].split(":")[0] == msg.split(":")[0]])
    t.cmd("set maxretry", ["set", "test", "maxretry", "2"], "2")
    t.cmd("get maxretry after set", ["get", "test", "maxretry"], "2")
    t.cmd("set findtime", ["set", "test", "findtime", "1h"], "3600")
    t.cmd("set bantime", ["set", "test", "bantime", "300"], "300")
    # the new maxretry applies to the next failures
    env.fail("test", "192.0.2.7", n=2)
    t.wait_eq("ban after 2 failures with maxretry set to 2",
              lambda: env.rec("test"), ["ban 192.0.2.7"])
    ip = "192.0.2.7"
    line = env.client("get", "test", "banip", "--with-time").out.splitlines()
    t.true("the new bantime (300) applies to the new ban",
           len(line) == 1 and " + 300 = " in line[0], note=repr(line))
    t.cmd("get banip", ["get", "test", "banip"], ip)


@scenario("flushlogs")
def flushlogs(t):
    env = t.env
    env.jails("[test]\nenabled = true\n")
    t.start()
    os.rename(env.logfile, env.logfile + ".1")
    t.cmd("flushlogs on a log file", ["flushlogs"], "logs: rolled over")
    env.fail("test", SYNC_IP)
    t.wait("the server writes to a new log file after flushlogs",
           lambda: env.count_msg("[test] Ignore %s by ip" % SYNC_IP) >= 1,
           show=lambda: repr(env.server_log()[-300:]))
    with open(env.logfile + ".1") as f:
        old = f.read()
    t.true("the rotated log file got no new lines",
           "Ignore %s" % SYNC_IP not in old)


@scenario("client-start-stop")
def client_start_stop(t):
    """`start` through the client (the server detaches), a second `start`,
    `stop`, and the state afterwards."""
    env = t.env
    env.jails("[test]\nenabled = true\n")
    r = env.client("start")
    pid = env.pid_from_file()
    if pid:
        env.daemon_pids.append(pid)
    t.eq("start: exit status and output", (r.rc, r.out),
         (0, "Server ready\n"))
    if r.rc != 0:
        t.fail("start failed", note=r.err.strip())
        return
    t.true("pid file names a running server", pid and env.ours(pid),
           note="pid file: %r" % pid)
    t.wait("jail started", lambda: env.count_msg("Jail 'test' started") >= 1)
    t.cmd("ping", ["ping"], "Server replied: pong")
    t.cmd("banip", ["set", "test", "banip", "192.0.2.9"], "1")
    t.wait_eq("ban recorded", lambda: env.rec("test"), ["ban 192.0.2.9"])
    t.cmd("restart", ["restart"], "Shutdown successful\nServer ready")
    t.wait("old server gone after restart", lambda: not env.ours(pid))
    pid2 = env.pid_from_file()
    if pid2:
        env.daemon_pids.append(pid2)
    t.true("a new server runs after restart", pid2 and pid2 != pid
           and env.ours(pid2), note="pid file: %r (was %r)" % (pid2, pid))
    pid = pid2
    t.wait_eq("restart lifts and restores the ban", lambda: env.rec("test"),
              ["ban 192.0.2.9", "unban 192.0.2.9", "ban 192.0.2.9"])
    t.eq("NOTICE Restore Ban", env.count_msg("[test] Restore Ban 192.0.2.9",
                                             "NOTICE"), 1)
    r = env.client("start")
    t.eq("second start: exit status", r.rc, 255)
    t.true("second start: 'Server already running' on stderr",
           "Server already running" in r.err, note=repr(r))
    t.cmd("stop", ["stop"], "Shutdown successful")
    t.wait("server gone after stop", lambda: not env.ours(pid))
    t.true("socket removed after stop", not os.path.exists(env.sock))
    r = env.client("ping")
    t.eq("ping after stop: exit status", r.rc, 255)


@scenario("client-option-order")
def client_option_order(t):
    """fail2ban-client's own order: options before the command."""
    env = t.env
    env.jails("[test]\nenabled = true\n")
    t.start()
    r = env.client("ping", opts_first=True)
    t.eq("`CLIENT -c CONF -s SOCK -p PID ping`", (r.rc, r.out),
         (0, "Server replied: pong\n"))
    r = env.client("status", "test", opts_first=True)
    t.true("`CLIENT -c CONF -s SOCK -p PID status test`",
           r.rc == 0 and r.out.startswith("Status for the jail: test\n"),
           note=repr(r))
