"""Reading what is already in a log file at start (spec 3.5, 4.7)."""

import time

from harness import scenario


@scenario("backlog-at-start")
def backlog_at_start(t):
    """Lines written while no server ran: a `head` log (the default) is
    read from the start, skipping failures older than findtime and
    counting recent ones (a ban at start); a `tail` log starts at its end.
    Both then follow new lines."""
    env = t.env
    env.jails("""
[test]
enabled = true
[tailed]
enabled = true
logpath = %(workdir)s/tailed.log tail
""")
    now = int(time.time())
    for j in ("test", "tailed"):
        env.fail(j, "192.0.2.180", n=3, t=now - 700)  # older than findtime
        env.fail(j, "192.0.2.181", n=3, t=now - 60)
        env.fail(j, "192.0.2.182", n=2, t=now - 30)
    t.start()
    t.wait_eq("head: the recent backlog bans", lambda: env.rec("test"),
              ["ban 192.0.2.181"])
    t.sync("test", "tailed")
    t.eq("head: counters (old lines skipped, recent ones counted)",
         t.counters("test"), (1, 5, 1, 1, "192.0.2.181"))
    t.eq("tail: the backlog is not read", t.counters("tailed"),
         (0, 0, 0, 0, ""))
    for j in ("test", "tailed"):
        env.fail(j, "192.0.2.182", n=3 if j == "tailed" else 1)
    t.wait_eq("both follow new lines", lambda: (env.rec("test"),
                                                env.rec("tailed")),
              (["ban 192.0.2.181", "ban 192.0.2.182"], ["ban 192.0.2.182"]))
    t.eq("no Found line for the old failures", [
        m for _, _, m in env.messages() if "Found 192.0.2.180" in m], [])
