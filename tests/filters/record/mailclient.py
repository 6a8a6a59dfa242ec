"""One mail client action for record/mail.sh (Python standard library).

    mailclient.py imap|imap3|imapplain|pop3|submission|smtpauth SRC USER PASS [MECH]
    mailclient.py imapnone|abort SRC
    mailclient.py rcpt SRC RCPT HELO

SRC is the local address to connect from; the server is 127.0.0.1 (or ::1
when SRC is an IPv6 address). Failures are expected and not reported.
"""
import base64
import imaplib
import poplib
import smtplib
import socket
import sys

action, src = sys.argv[1], sys.argv[2]
dst = "::1" if ":" in src else "127.0.0.1"


def conn(port):
    return socket.create_connection((dst, port), 10, source_address=(src, 0))


class IMAP(imaplib.IMAP4):
    def _create_socket(self, timeout):
        return conn(self.port)


class POP3(poplib.POP3):
    def _create_socket(self, timeout):
        return conn(self.port)


def smtp(port, helo):
    s = smtplib.SMTP(timeout=10, source_address=(src, 0))
    s.connect(dst, port)
    s.ehlo(helo)
    return s


try:
    if action in ("imap", "imap3"):
        m = IMAP(dst, 2143)
        for _ in range(3 if action == "imap3" else 1):
            try:
                m.login(sys.argv[3], sys.argv[4])
                break
            except imaplib.IMAP4.error:
                pass
        m.logout()
    elif action == "imapplain":
        m = IMAP(dst, 2143)
        cred = "\0%s\0%s" % (sys.argv[3], sys.argv[4])
        try:
            m.authenticate("PLAIN", lambda _: cred.encode())
        except imaplib.IMAP4.error:
            pass
        m.logout()
    elif action == "imapnone":
        m = IMAP(dst, 2143)
        m.logout()
    elif action == "pop3":
        p = POP3(dst, 2110)
        try:
            p.user(sys.argv[3])
            p.pass_(sys.argv[4])
        except poplib.error_proto:
            pass
        p.quit()
    elif action == "submission":
        s = smtp(2587, "client.example")
        try:
            s.login(sys.argv[3], sys.argv[4])
        except smtplib.SMTPException:
            pass
        s.quit()
    elif action == "smtpauth":
        s = smtp(2525, "client.example")
        mech = sys.argv[5]
        user, pw = sys.argv[3], sys.argv[4]
        try:
            if mech == "PLAIN":
                tok = base64.b64encode(("\0%s\0%s" % (user, pw)).encode())
                s.docmd("AUTH", "PLAIN " + tok.decode())
            else:
                s.docmd("AUTH", "LOGIN")
                s.docmd(base64.b64encode(user.encode()).decode())
                s.docmd(base64.b64encode(pw.encode()).decode())
        except smtplib.SMTPException:
            pass
        s.quit()
    elif action == "rcpt":
        s = smtp(2525, sys.argv[4])
        s.docmd("MAIL", "FROM:<sender@example.net>")
        s.docmd("RCPT", "TO:<%s>" % sys.argv[3])
        s.quit()
    elif action == "abort":
        s = smtp(2525, "client.example")
        s.docmd("AUTH", "LOGIN")
        s.sock.close()
except (OSError, smtplib.SMTPException, imaplib.IMAP4.error,
        poplib.error_proto) as e:
    print("mailclient %s %s: %s" % (action, src, e), file=sys.stderr)
