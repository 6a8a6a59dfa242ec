"""Log files (spec 4.7): rotation by rename and copytruncate in the
middle of a run, with the failures of one address split across the
rotation, for the default backend and for polling."""

import os

from harness import scenario

JAILS = """
[auto]
enabled = true
[poll]
enabled = true
backend = polling
"""


def split_across(t, rotate):
    """Two failures, the barrier, ROTATE(path), one failure in the new
    file: the count survives the rotation and the third failure bans."""
    env = t.env
    env.jails(JAILS)
    t.start()
    jails = ("auto", "poll")
    for j in jails:
        env.fail(j, "192.0.2.80", n=2)
    t.sync(*jails)
    for j in jails:
        t.eq("%s: two failures counted before the rotation" % j,
             t.counters(j), (1, 2, 0, 0, ""))
    for j in jails:
        rotate(env.path(j + ".log"))
        env.fail(j, "192.0.2.80")
    for j in jails:
        t.wait_eq("%s: the failure after the rotation bans" % j,
                  lambda: env.rec(j), ["ban 192.0.2.80"])
    # the new file keeps being followed from where it is
    for j in jails:
        env.fail(j, "192.0.2.81", n=3)
    for j in jails:
        t.wait_eq("%s: later failures in the new file" % j,
                  lambda: env.rec(j), ["ban 192.0.2.80", "ban 192.0.2.81"])
        t.wait_eq("%s: counters" % j, lambda: t.counters(j),
                  (0, 6, 2, 2, "192.0.2.80 192.0.2.81"))
        t.cmd("%s: file list unchanged" % j, ["get", j, "logpath"],
              "Current monitored log file(s):\n`- %s" % env.path(j + ".log"))


@scenario("rotation-rename")
def rotation_rename(t):
    def rotate(path):
        os.rename(path, path + ".1")
        open(path, "w").close()
    split_across(t, rotate)


@scenario("rotation-copytruncate")
def rotation_copytruncate(t):
    def rotate(path):
        with open(path, "rb") as f, open(path + ".1", "wb") as g:
            g.write(f.read())
        os.truncate(path, 0)
    split_across(t, rotate)
