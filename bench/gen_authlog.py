#!/usr/bin/env python3
"""Writes a reproducible syslog auth.log for the `warden regex` benchmark.

    bench/gen_authlog.py [--lines N] [--seed S] [--ips N] [--out FILE]

The log looks like what rsyslog's traditional format writes on an
internet-facing Debian 12 host (OpenSSH 9.2): `Mon dd hh:mm:ss host
proc[pid]: message`. It mixes sshd sessions of several kinds (invalid users,
password guessing with several tries per connection, PAM failures, "too many
authentication failures", key probes closed by authenticating users,
scanners, preauth disconnects, protocol errors), accepted logins with their
PAM/logind session lines, and cron, sudo and systemd noise. Sessions
interleave like concurrent connections do. Attackers come from a pool of
addresses (IPv4 and about a tenth IPv6) with a skewed, Zipf-like activity.

The same seed and arguments always give the same bytes (Python's `random`
is stable across versions for these calls). Python standard library only.
"""

import argparse
import bisect
import itertools
import random
import sys

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
          "Oct", "Nov", "Dec")
DAYS_IN = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
HOST = "srv1"

INVALID_USERS = (
    "admin", "test", "user", "oracle", "postgres", "ubuntu", "guest",
    "ftpuser", "git", "support", "deploy", "pi", "jenkins", "hadoop", "mysql",
    "minecraft", "teamspeak", "nagios", "tomcat", "www", "webmaster", "dev",
    "steam", "centos", "debian", "ansible", "vagrant", "docker", "backup",
    "es", "elastic", "zabbix", "odoo", "sftp", "ts3", "user1", "test1",
    "administrator", "default", "service", "monitor", "gitlab-runner", "sol",
    "solana", "validator", "node", "ethereum", "bitcoin", "kafka", "redis",
)
VALID_USERS = ("alice", "bob", "deploy_ci", "carol")
KEYTYPES = ("RSA", "ED25519", "ECDSA")
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
KEX_OFFERS = (
    "diffie-hellman-group14-sha1,diffie-hellman-group-exchange-sha1,"
    "diffie-hellman-group1-sha1",
    "diffie-hellman-group1-sha1",
    "diffie-hellman-group-exchange-sha1,diffie-hellman-group14-sha1",
)
HOSTKEY_OFFERS = ("ssh-rsa,ssh-dss", "ssh-dss", "ssh-rsa")
BYES = ("Bye Bye", "", "disconnected by user", "Normal Shutdown, Thank you "
        "for playing")


class Clock:
    """Wall time of the log, a year-less syslog timestamp."""

    def __init__(self, rnd):
        self.rnd = rnd
        self.month = 0
        self.day = 1
        self.sec = 0.0

    def tick(self, mean):
        self.sec += self.rnd.expovariate(1.0 / mean)
        while self.sec >= 86400:
            self.sec -= 86400
            self.day += 1
            if self.day > DAYS_IN[self.month]:
                self.day = 1
                self.month = (self.month + 1) % 12

    def stamp(self):
        s = int(self.sec)
        return "%s %2d %02d:%02d:%02d" % (MONTHS[self.month], self.day,
                                          s // 3600, s // 60 % 60, s % 60)


class Gen:
    def __init__(self, seed, n_ips):
        self.rnd = random.Random(seed)
        self.clock = Clock(self.rnd)
        self.pid = 1000
        self.session_no = 100
        self.ips = self.make_ips(n_ips)
        # Zipf-like activity: a few addresses do most of the work.
        weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(self.ips))]
        self.cum = list(itertools.accumulate(weights))

    def make_ips(self, n):
        r = self.rnd
        ips = set()
        n6 = n // 10
        while len(ips) < n - n6:
            a = r.randint(1, 223)
            if a in (10, 127) or (a == 192 and r.random() < 0.5):
                continue
            ips.add("%d.%d.%d.%d" % (a, r.randint(0, 255), r.randint(0, 255),
                                     r.randint(1, 254)))
        prefixes = ["2001:%x:%x" % (r.randint(0x400, 0xfff),
                                    r.randint(0, 0xffff)) for _ in range(300)]
        while len(ips) < n:
            p = r.choice(prefixes)
            if r.random() < 0.5:
                ips.add("%s::%x" % (p, r.randint(1, 0xffff)))
            else:
                ips.add("%s:%x:%x:%x:%x:%x" % (
                    p, r.randint(0, 0xffff), r.randint(0, 0xffff),
                    r.randint(0, 0xffff), r.randint(0, 0xffff),
                    r.randint(1, 0xffff)))
        out = sorted(ips)
        r.shuffle(out)
        return out

    def attacker(self):
        x = self.rnd.random() * self.cum[-1]
        return self.ips[bisect.bisect_left(self.cum, x)]

    def next_pid(self):
        self.pid += self.rnd.randint(1, 40)
        if self.pid > 4000000:
            self.pid = 1000
        return self.pid

    def port(self):
        return self.rnd.randint(1024, 65535)

    def fingerprint(self):
        return "".join(self.rnd.choice(B64) for _ in range(43))

    def invalid_user(self):
        r = self.rnd
        if r.random() < 0.85:
            return r.choice(INVALID_USERS)
        return r.choice(INVALID_USERS) + str(r.randint(1, 999))

    # Each session is a list of (program, message) in order.

    def s_invalid_password(self):
        ip, port, user = self.attacker(), self.port(), self.invalid_user()
        out = [("sshd", "Invalid user %s from %s port %d" % (user, ip, port)),
               ("sshd", "pam_unix(sshd:auth): check pass; user unknown"),
               ("sshd", "pam_unix(sshd:auth): authentication failure; "
                "logname= uid=0 euid=0 tty=ssh ruser= rhost=%s" % ip),
               ("sshd", "Failed password for invalid user %s from %s port %d "
                "ssh2" % (user, ip, port))]
        bye = self.rnd.choice(BYES)
        if self.rnd.random() < 0.7:
            out.append(("sshd", "Received disconnect from %s port %d:11: %s "
                        "[preauth]" % (ip, port, bye)))
            out.append(("sshd", "Disconnected from invalid user %s %s port %d "
                        "[preauth]" % (user, ip, port)))
        else:
            out.append(("sshd", "Connection closed by invalid user %s %s port "
                        "%d [preauth]" % (user, ip, port)))
        return out

    def s_password_guess(self):
        """A valid account (mostly root), one to six tries on one connection."""
        r = self.rnd
        ip, port = self.attacker(), self.port()
        user = "root" if r.random() < 0.8 else r.choice(VALID_USERS)
        tries = r.choice((1, 1, 2, 3, 3, 4, 5, 6, 6, 6))
        out = [("sshd", "pam_unix(sshd:auth): authentication failure; "
                "logname= uid=0 euid=0 tty=ssh ruser= rhost=%s  user=%s"
                % (ip, user))]
        for _ in range(tries):
            out.append(("sshd", "Failed password for %s from %s port %d ssh2"
                        % (user, ip, port)))
        if tries == 6:
            out.append(("sshd", "error: maximum authentication attempts "
                        "exceeded for %s from %s port %d ssh2 [preauth]"
                        % (user, ip, port)))
            out.append(("sshd", "Disconnecting authenticating user %s %s port "
                        "%d: Too many authentication failures [preauth]"
                        % (user, ip, port)))
            out.append(("sshd", "PAM 5 more authentication failures; logname= "
                        "uid=0 euid=0 tty=ssh ruser= rhost=%s  user=%s"
                        % (ip, user)))
        elif tries > 1:
            out.append(("sshd", "PAM %d more authentication failures; "
                        "logname= uid=0 euid=0 tty=ssh ruser= rhost=%s  "
                        "user=%s" % (tries - 1, ip, user)))
            out.append(("sshd", "Connection closed by authenticating user %s "
                        "%s port %d [preauth]" % (user, ip, port)))
        else:
            out.append(("sshd", "Received disconnect from %s port %d:11: "
                        "Bye Bye [preauth]" % (ip, port)))
            out.append(("sshd", "Disconnected from authenticating user %s %s "
                        "port %d [preauth]" % (user, ip, port)))
        return out

    def s_key_probe(self):
        r = self.rnd
        ip, port = self.attacker(), self.port()
        user = "root" if r.random() < 0.9 else r.choice(VALID_USERS)
        if r.random() < 0.15:
            return [("sshd", "Failed publickey for %s from %s port %d ssh2: "
                     "%s SHA256:%s" % (user, ip, port, r.choice(KEYTYPES),
                                       self.fingerprint())),
                    ("sshd", "Connection closed by authenticating user %s %s "
                     "port %d [preauth]" % (user, ip, port))]
        return [("sshd", "Connection closed by authenticating user %s %s port "
                 "%d [preauth]" % (user, ip, port))]

    def s_invalid_closed(self):
        ip, port, user = self.attacker(), self.port(), self.invalid_user()
        return [("sshd", "Invalid user %s from %s port %d" % (user, ip, port)),
                ("sshd", "Connection closed by invalid user %s %s port %d "
                 "[preauth]" % (user, ip, port))]

    def s_scanner(self):
        r = self.rnd
        ip, port = self.attacker(), self.port()
        k = r.random()
        if k < 0.25:
            return [("sshd", "Connection closed by %s port %d [preauth]"
                     % (ip, port))]
        if k < 0.40:
            return [("sshd", "Connection reset by %s port %d [preauth]"
                     % (ip, port))]
        if k < 0.52:
            return [("sshd", "error: kex_exchange_identification: Connection "
                     "closed by remote host"),
                    ("sshd", "Connection closed by %s port %d" % (ip, port))]
        if k < 0.60:
            return [("sshd", "error: kex_exchange_identification: read: "
                     "Connection reset by peer"),
                    ("sshd", "Connection reset by %s port %d" % (ip, port))]
        if k < 0.70:
            return [("sshd", "banner exchange: Connection from %s port %d: "
                     "invalid format" % (ip, port))]
        if k < 0.80:
            return [("sshd", "Unable to negotiate with %s port %d: no matching "
                     "key exchange method found. Their offer: %s [preauth]"
                     % (ip, port, r.choice(KEX_OFFERS)))]
        if k < 0.86:
            return [("sshd", "Unable to negotiate with %s port %d: no matching "
                     "host key type found. Their offer: %s [preauth]"
                     % (ip, port, r.choice(HOSTKEY_OFFERS)))]
        if k < 0.93:
            return [("sshd", "Timeout before authentication for %s port %d"
                     % (ip, port))]
        return [("sshd", "Received disconnect from %s port %d:11: Bye Bye "
                 "[preauth]" % (ip, port)),
                ("sshd", "Disconnected from %s port %d [preauth]"
                 % (ip, port))]

    def s_not_allowed(self):
        ip, port = self.attacker(), self.port()
        user = self.rnd.choice(("root", "ubuntu", "admin"))
        return [("sshd", "User %s from %s not allowed because not listed in "
                 "AllowUsers" % (user, ip)),
                ("sshd", "pam_unix(sshd:auth): authentication failure; "
                 "logname= uid=0 euid=0 tty=ssh ruser= rhost=%s  user=%s"
                 % (ip, user)),
                ("sshd", "Failed password for invalid user %s from %s port %d "
                 "ssh2" % (user, ip, port)),
                ("sshd", "Connection closed by invalid user %s %s port %d "
                 "[preauth]" % (user, ip, port))]

    def s_login(self):
        r = self.rnd
        user = r.choice(VALID_USERS)
        uid = 1000 + VALID_USERS.index(user)
        ip = "192.168.%d.%d" % (r.randint(0, 3), r.randint(2, 250)) \
            if r.random() < 0.7 else "10.20.%d.%d" % (r.randint(0, 9),
                                                      r.randint(2, 250))
        port = self.port()
        self.session_no += 1
        sess = self.session_no
        if r.random() < 0.8:
            how = "publickey for %s from %s port %d ssh2: %s SHA256:%s" % (
                user, ip, port, r.choice(KEYTYPES), self.fingerprint())
        else:
            how = "password for %s from %s port %d ssh2" % (user, ip, port)
        return [("sshd", "Accepted " + how),
                ("sshd", "pam_unix(sshd:session): session opened for user "
                 "%s(uid=%d) by (uid=0)" % (user, uid)),
                ("systemd-logind", "New session %d of user %s." % (sess, user)),
                ("systemd", "Started session-%d.scope - Session %d of User %s."
                 % (sess, sess, user)),
                ("sshd", "Received disconnect from %s port %d:11: disconnected "
                 "by user" % (ip, port)),
                ("sshd", "Disconnected from user %s %s port %d"
                 % (user, ip, port)),
                ("sshd", "pam_unix(sshd:session): session closed for user %s"
                 % user),
                ("systemd-logind", "Session %d logged out. Waiting for "
                 "processes to exit." % sess),
                ("systemd-logind", "Removed session %d." % sess)]

    def s_cron(self):
        user = "root" if self.rnd.random() < 0.85 else "www-data"
        uid = 0 if user == "root" else 33
        return [("CRON", "pam_unix(cron:session): session opened for user "
                 "%s(uid=%d) by (uid=0)" % (user, uid)),
                ("CRON", "pam_unix(cron:session): session closed for user %s"
                 % user)]

    def s_sudo(self):
        r = self.rnd
        user = r.choice(VALID_USERS[:2])
        cmd = r.choice(("/usr/bin/apt update", "/usr/bin/systemctl restart "
                        "nginx", "/usr/bin/journalctl -u ssh",
                        "/usr/sbin/nft list ruleset", "/usr/bin/tail -f "
                        "/var/log/auth.log"))
        return [("sudo", "   %s : TTY=pts/%d ; PWD=/home/%s ; USER=root ; "
                 "COMMAND=%s" % (user, r.randint(0, 3), user, cmd)),
                ("sudo", "pam_unix(sudo:session): session opened for user "
                 "root(uid=0) by %s(uid=%d)" % (user, 1000 + VALID_USERS.index(
                     user))),
                ("sudo", "pam_unix(sudo:session): session closed for user "
                 "root")]

    def s_systemd(self):
        r = self.rnd
        return [r.choice((
            ("systemd", "Starting systemd-tmpfiles-clean.service - Cleanup of "
             "Temporary Directories..."),
            ("systemd", "logrotate.service: Deactivated successfully."),
            ("systemd", "Finished logrotate.service - Rotate log files."),
            ("systemd-logind", "Watching system buttons on /dev/input/event0 "
             "(Power Button)"),
            ("systemd", "session-%d.scope: Deactivated successfully."
             % self.session_no),
        ))]

    KINDS = (
        # (weight, method): proportions of sessions, not of lines
        (22, "s_invalid_password"),
        (13, "s_password_guess"),
        (16, "s_key_probe"),
        (9, "s_invalid_closed"),
        (24, "s_scanner"),
        (2, "s_not_allowed"),
        (2, "s_login"),
        (7, "s_cron"),
        (1, "s_sudo"),
        (4, "s_systemd"),
    )

    def lines(self, n):
        r = self.rnd
        kinds = [getattr(self, m) for _, m in self.KINDS]
        cum = list(itertools.accumulate(w for w, _ in self.KINDS))
        active = []  # [pid, program-override, remaining lines]
        written = 0
        while written < n:
            if not active or (len(active) < 12 and r.random() < 0.35):
                x = r.random() * cum[-1]
                sess = kinds[bisect.bisect_left(cum, x)]()
                active.append([self.next_pid(), sess])
            k = r.randrange(len(active)) if r.random() < 0.6 else 0
            pid, sess = active[k]
            prog, msg = sess.pop(0)
            if not sess:
                active.pop(k)
            self.clock.tick(2.0)
            if prog == "systemd":
                tag = "systemd[1]"
            elif prog == "systemd-logind":
                tag = "systemd-logind[412]"
            elif prog == "sudo":
                tag = "sudo"
            else:
                tag = "%s[%d]" % (prog, pid)
            yield "%s %s %s: %s\n" % (self.clock.stamp(), HOST, tag, msg)
            written += 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1000000)
    ap.add_argument("--seed", type=int, default=20051124)
    ap.add_argument("--ips", type=int, default=20000,
                    help="attacker addresses in the pool")
    ap.add_argument("--out", default="-")
    a = ap.parse_args()
    gen = Gen(a.seed, a.ips)
    fp = sys.stdout if a.out == "-" else open(a.out, "w", encoding="ascii")
    buf = []
    for line in gen.lines(a.lines):
        buf.append(line)
        if len(buf) >= 8192:
            fp.write("".join(buf))
            buf = []
    fp.write("".join(buf))
    if fp is not sys.stdout:
        fp.close()


if __name__ == "__main__":
    main()
