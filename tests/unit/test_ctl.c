/*
 * Tests of the control protocol: framing and caps (ctl.c), the blocking
 * client (ctl_client.c), path defaults, and the libuv server
 * (ctl_server.c) in-process on a real loop: peer-credential rejection and
 * the read-only group (when run as root, through forked children that
 * drop privileges), oversize and garbage requests, version mismatches,
 * slow, idle and non-reading clients, many clients, async replies.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "ctl.h"
#include "ctl_client.h"
#include "ctl_server.h"
#include "sbuf.h"
#include "tap.h"
#include "xmalloc.h"

static uv_loop_t *loop;
static char tmpdir[64];

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs the loop for about ms milliseconds without blocking in it. */
static void
pump(int ms)
{
	int64_t end = now_ms() + ms;

	do {
		uv_run(loop, UV_RUN_NOWAIT);
		usleep(1000);
	} while (now_ms() < end);
}

/* ---- pure wire format ---- */

static void
test_framing(void)
{
	uint8_t buf[16] = {0, 0, 0, 3, 'a', 'b', 'c', 'x'};
	size_t n;

	is_int(ctl_frame_parse(buf, 0, 100, &n), CTL_FRAME_INCOMPLETE,
	    "frame: empty is incomplete");
	is_int(ctl_frame_parse(buf, 3, 100, &n), CTL_FRAME_INCOMPLETE,
	    "frame: partial header is incomplete");
	is_int(ctl_frame_parse(buf, 6, 100, &n), CTL_FRAME_INCOMPLETE,
	    "frame: partial payload is incomplete");
	is_int(n, 3, "frame: length known from the header");
	is_int(
	    ctl_frame_parse(buf, 7, 100, &n), CTL_FRAME_OK, "frame: complete");
	is_int(ctl_frame_parse(buf, 8, 100, &n), CTL_FRAME_OK,
	    "frame: complete with trailing bytes");
	is_int(ctl_frame_parse(buf, 7, 3, &n), CTL_FRAME_OK,
	    "frame: exactly at the cap is accepted");
	is_int(ctl_frame_parse(buf, 4, 2, &n), CTL_FRAME_TOOBIG,
	    "frame: over the cap is refused from the header alone");
	ctl_frame_header(buf, 0x01020304);
	ok(buf[0] == 1 && buf[1] == 2 && buf[2] == 3 && buf[3] == 4,
	    "frame: header is big-endian");
	buf[0] = 0xff;
	is_int(ctl_frame_parse(buf, 4, CTL_MAX_REQUEST, &n), CTL_FRAME_TOOBIG,
	    "frame: 4 GiB announcement is too big");
}

static int
decode_req(const char *json, struct ctl_request *r, const char **et, char *err,
    size_t errlen)
{
	return ctl_request_decode(json, strlen(json), r, et, err, errlen);
}

static void
test_request(void)
{
	char *argv[] = {"set", "sshd", "addignoreip", "192.0.2.1", "é\"\\"};
	struct ctl_request r;
	const char *et;
	char err[256];
	size_t len, n;
	uint8_t *f = ctl_request_encode(
	    5, argv, CTL_MAX_REQUEST, &len, err, sizeof(err));

	ok(f != NULL, "request: encodes");
	is_int(ctl_frame_parse(f, len, CTL_MAX_REQUEST, &n), CTL_FRAME_OK,
	    "request: is one whole frame");
	is_int(ctl_request_decode((char *)f + 4, n, &r, &et, err, sizeof(err)),
	    0, "request: decodes");
	is_int(r.argc, 5, "request: argc round-trips");
	is_str(r.argv[4], "é\"\\", "request: UTF-8 and escapes round-trip");
	ok(r.argv[5] == NULL, "request: argv is NULL-terminated");
	ctl_request_cleanup(&r);
	free(f);

	is_int(decode_req(
	           "{\"v\":2,\"argv\":[\"ping\"]}", &r, &et, err, sizeof(err)),
	    -1, "request: version 2 refused");
	is_str(et, CTL_ERR_VERSION, "request: version error type");
	ok(strstr(err, "version 2") && strstr(err, "version 1"),
	    "request: version message names both versions (%s)", err);
	is_int(decode_req("{\"argv\":[\"ping\"]}", &r, &et, err, sizeof(err)),
	    -1, "request: missing v refused");
	is_str(et, CTL_ERR_PROTOCOL, "request: missing v is a protocol error");
	is_int(decode_req("[\"ping\"]", &r, &et, err, sizeof(err)), -1,
	    "request: a bare array refused");
	is_int(decode_req("{\"v\":1}", &r, &et, err, sizeof(err)), -1,
	    "request: missing argv refused");
	is_int(decode_req(
	           "{\"v\":1,\"argv\":[\"a\",1]}", &r, &et, err, sizeof(err)),
	    -1, "request: non-string argument refused");
	is_int(decode_req("{\"v\":1,\"argv\":[\"a\\u0000b\"]}", &r, &et, err,
	           sizeof(err)),
	    -1, "request: NUL inside an argument refused");
	is_int(decode_req(
	           "{\"v\":1,\"v\":1,\"argv\":[]}", &r, &et, err, sizeof(err)),
	    -1, "request: duplicate keys refused");
	is_int(decode_req("{\"v\":1,\"argv\":[]} x", &r, &et, err, sizeof(err)),
	    -1, "request: trailing garbage refused");
	is_int(decode_req("{\"v\":1,\"argv\":[]}", &r, &et, err, sizeof(err)),
	    0, "request: empty argv decodes (server answers IndexError)");
	ctl_request_cleanup(&r);
	{
		struct sbuf b = SBUF_INIT;

		sbuf_addstr(&b, "{\"v\":1,\"argv\":[");
		for (int i = 0; i <= CTL_MAX_ARGS; i++)
			sbuf_addstr(&b, i ? ",\"x\"" : "\"x\"");
		sbuf_addstr(&b, "]}");
		is_int(decode_req(sbuf_str(&b), &r, &et, err, sizeof(err)), -1,
		    "request: more than CTL_MAX_ARGS refused");
		sbuf_cleanup(&b);
	}
	{
		char *big = xmalloc(70000);
		char *a2[] = {"ping", big};

		memset(big, 'x', 69999);
		big[69999] = '\0';
		ok(ctl_request_encode(
		       2, a2, CTL_MAX_REQUEST, &len, err, sizeof(err)) == NULL,
		    "request: encoding over the cap fails");
		ok(strstr(err, "too large") != NULL, "request: says too large");
		big[0] = (char)0xff;
		ok(ctl_request_encode(2, a2, 1 << 20, &len, err, sizeof(err)) ==
		        NULL,
		    "request: invalid UTF-8 argument refused");
		free(big);
	}
}

static void
test_response(void)
{
	struct ctl_response r;
	char err[256];
	size_t len, n;
	uint8_t *f;

	f = ctl_response_ok(json_pack("[[s,i]]", "Number of jail", 2), &len);
	ctl_frame_parse(f, len, CTL_MAX_RESPONSE, &n);
	is_int(ctl_response_decode((char *)f + 4, n, &r, err, sizeof(err)), 0,
	    "response: ok decodes");
	ok(r.ok && json_is_array(r.result), "response: ok with result");
	ctl_response_cleanup(&r);
	free(f);

	f = ctl_response_ok(NULL, &len);
	ctl_frame_parse(f, len, CTL_MAX_RESPONSE, &n);
	ctl_response_decode((char *)f + 4, n, &r, err, sizeof(err));
	ok(r.ok && json_is_null(r.result), "response: NULL result is null");
	ctl_response_cleanup(&r);
	free(f);

	f = ctl_response_error(CTL_ERR_UNKNOWN_JAIL, "x\xff", &len);
	ctl_frame_parse(f, len, CTL_MAX_RESPONSE, &n);
	is_int(ctl_response_decode((char *)f + 4, n, &r, err, sizeof(err)), 0,
	    "response: error decodes");
	ok(!r.ok, "response: error is not ok");
	is_str(r.errtype, "UnknownJail", "response: error type");
	is_str(r.errmsg, "x\xef\xbf\xbd",
	    "response: invalid UTF-8 in a message is repaired");
	ctl_response_cleanup(&r);
	free(f);

	is_int(ctl_response_decode(
	           "{\"v\":7,\"ok\":true}", 17, &r, err, sizeof(err)),
	    -1, "response: version 7 refused");
	ok(strstr(err, "wardend speaks version 7") != NULL,
	    "response: version message (%s)", err);
	is_int(ctl_response_decode("{\"v\":1}", 7, &r, err, sizeof(err)), -1,
	    "response: missing ok refused");
	is_int(ctl_response_decode("{\"v\":1,\"ok\":false,\"error\":3}", 28, &r,
	           err, sizeof(err)),
	    -1, "response: malformed error refused");
}

static void
test_json_string(void)
{
	json_t *s =
	    ctl_json_string("a\0b\xc3\x28\xed\xa0\x80ok\xf0\x9f\x98\x80", 14);

	ok(s != NULL, "json_string: never NULL");
	is_str(json_string_value(s),
	    "a\xef\xbf\xbd"
	    "b\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdok\xf0\x9f\x98"
	    "\x80",
	    "json_string: NUL, bad lead, surrogate become U+FFFD");
	json_decref(s);
	ok(ctl_command_readonly("status") && ctl_command_readonly("get") &&
	        ctl_command_readonly("banned") &&
	        ctl_command_readonly("ping") && ctl_command_readonly("version"),
	    "readonly: status get banned ping version");
	ok(!ctl_command_readonly("set") && !ctl_command_readonly("stop") &&
	        !ctl_command_readonly("unban") &&
	        !ctl_command_readonly("reload"),
	    "readonly: set stop unban reload are not");
}

/* ---- raw client helpers (non-blocking, pumping the loop) ---- */

static int
raw_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
raw_send(int fd, const void *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EAGAIN) {
			pump(1);
			continue;
		}
		if (k <= 0)
			return;
		p = (const char *)p + k;
		n -= (size_t)k;
	}
}

static void
raw_request(int fd, int argc, char **argv)
{
	char err[256];
	size_t len;
	uint8_t *f =
	    ctl_request_encode(argc, argv, 1 << 20, &len, err, sizeof(err));

	raw_send(fd, f, len);
	free(f);
}

/* Pumps the loop until n bytes arrived on fd: 0, 1 on EOF, -1 timeout. */
static int
raw_read(int fd, uint8_t *p, size_t n, int64_t end)
{
	while (n > 0) {
		ssize_t k;

		if (now_ms() >= end)
			return -1;
		k = recv(fd, p, n, 0);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (k == 0 || (errno != EAGAIN && errno != EINTR))
			return 1;
		uv_run(loop, UV_RUN_NOWAIT);
		usleep(500);
	}
	return 0;
}

/*
 * Pumps the loop until a whole reply frame arrived on fd (0, decoded in
 * *r), the peer closed (1) or timeout_ms passed (-1). Reads exactly one
 * frame, so pipelined replies stay queued.
 */
static int
raw_reply(int fd, struct ctl_response *r, int timeout_ms)
{
	static uint8_t buf[1 << 16];
	int64_t end = now_ms() + timeout_ms;
	size_t plen;
	char err[256];
	int rc;

	memset(r, 0, sizeof(*r));
	rc = raw_read(fd, buf, 4, end);
	if (rc != 0)
		return rc;
	if (ctl_frame_parse(buf, 4, sizeof(buf), &plen) == CTL_FRAME_TOOBIG)
		return -1;
	rc = raw_read(fd, buf, plen, end);
	if (rc != 0)
		return rc;
	return ctl_response_decode((char *)buf, plen, r, err, sizeof(err)) == 0
	    ? 0
	    : -1;
}

/* Sends a frame around the JSON text payload. */
static void
raw_json(int fd, const char *payload)
{
	uint8_t hdr[4];

	ctl_frame_header(hdr, (uint32_t)strlen(payload));
	raw_send(fd, hdr, 4);
	raw_send(fd, payload, strlen(payload));
}

/* Pumps until the server closed fd (true) or timeout_ms passed. */
static bool
raw_closed(int fd, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	char buf[4096];

	while (now_ms() < end) {
		ssize_t k = recv(fd, buf, sizeof(buf), 0);

		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
			return true;
		if (k > 0)
			continue;
		uv_run(loop, UV_RUN_NOWAIT);
		usleep(500);
	}
	return false;
}

/* ---- the server ---- */

struct hstate {
	int calls;
	char last[256];
	bool last_ro;
	bool hold; /* keep the token instead of replying */
	struct ctl_reply *held;
	size_t big; /* reply with a string of this many bytes */
};

static void
handler(void *arg, struct ctl_reply *r, int argc, char **argv,
    const struct ctl_peer *peer)
{
	struct hstate *h = arg;
	size_t off = 0;

	h->calls++;
	h->last[0] = '\0';
	for (int i = 0; i < argc && off < sizeof(h->last) - 1; i++)
		off += (size_t)snprintf(h->last + off, sizeof(h->last) - off,
		    "%s%s", i ? " " : "", argv[i]);
	h->last_ro = peer->readonly;
	if (h->hold) {
		h->held = r;
		return;
	}
	if (h->big > 0) {
		char *s = xmalloc(h->big + 1);

		memset(s, 'b', h->big);
		s[h->big] = '\0';
		ctl_reply_ok(r, json_string(s));
		free(s);
		return;
	}
	if (strcmp(argv[0], "ping") == 0)
		ctl_reply_ok(r, json_string("pong"));
	else if (strcmp(argv[0], "status") == 0 && argc > 1)
		ctl_reply_error(r, CTL_ERR_UNKNOWN_JAIL, "%s", argv[1]);
	else
		ctl_reply_ok(r,
		    json_pack(
		        "[[s,i],[s,s]]", "Number of jail", 0, "Jail list", ""));
}

static struct ctl_server *
start_server(struct ctl_server_opts *o, struct hstate *h, const char *name)
{
	static char path[128];
	struct ctl_server *s = NULL;
	char err[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	o->path = path;
	if (ctl_server_new(loop, o, handler, h, &s, err, sizeof(err)) != 0)
		printf("# ctl_server_new: %s\n", err);
	return s;
}

static void
stop_server(struct ctl_server *s)
{
	ctl_server_free(s);
	pump(5);
}

static void
test_server_basic(void)
{
	struct ctl_server_opts o = {0};
	struct hstate h = {0};
	struct ctl_server *s = start_server(&o, &h, "basic.sock");
	struct ctl_response r;
	struct stat st;
	char *ping[] = {"ping"}, *stj[] = {"status", "nosuch"};
	int fd;

	ok(s != NULL, "server: starts");
	memset(&st, 0, sizeof(st));
	stat(o.path, &st);
	ok(S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0600,
	    "server: socket is 0600 (mode %o)", st.st_mode & 0777);
	fd = raw_connect(o.path);
	raw_request(fd, 1, ping);
	is_int(raw_reply(fd, &r, 1000), 0, "server: ping answered");
	ok(r.ok && json_is_string(r.result) &&
	        strcmp(json_string_value(r.result), "pong") == 0,
	    "server: pong");
	ctl_response_cleanup(&r);
	raw_request(fd, 2, stj);
	is_int(raw_reply(fd, &r, 1000), 0,
	    "server: second request on the same connection");
	ok(!r.ok && strcmp(r.errtype, "UnknownJail") == 0 &&
	        strcmp(r.errmsg, "nosuch") == 0,
	    "server: handler's error reply");
	ctl_response_cleanup(&r);
	is_str(h.last, "status nosuch", "server: handler saw the argv");
	ok(!h.last_ro, "server: root is not read-only");
	/* Two requests in one write: answered in turn. */
	{
		char err[64];
		size_t l1, l2;
		uint8_t *f1 = ctl_request_encode(1, ping, 1000, &l1, err, 64),
		        *f2 = ctl_request_encode(2, stj, 1000, &l2, err, 64),
		        both[256];

		memcpy(both, f1, l1);
		memcpy(both + l1, f2, l2);
		raw_send(fd, both, l1 + l2);
		free(f1);
		free(f2);
		ok(raw_reply(fd, &r, 1000) == 0 && r.ok,
		    "server: pipelined first reply");
		ctl_response_cleanup(&r);
		ok(raw_reply(fd, &r, 1000) == 0 && !r.ok,
		    "server: pipelined second reply");
		ctl_response_cleanup(&r);
	}
	{
		raw_json(fd, "{\"v\":1,\"argv\":[]}");
		ok(raw_reply(fd, &r, 1000) == 0 && !r.ok &&
		        strcmp(r.errtype, "IndexError") == 0,
		    "server: empty argv is an IndexError");
		ctl_response_cleanup(&r);
		raw_request(fd, 1, ping);
		ok(raw_reply(fd, &r, 1000) == 0 && r.ok,
		    "server: connection still usable after IndexError");
		ctl_response_cleanup(&r);
	}
	close(fd);
	stop_server(s);
	ok(stat(o.path, &st) != 0, "server: socket removed on free");
}

static void
test_server_errors(void)
{
	struct ctl_server_opts o = {0};
	struct hstate h = {0};
	struct ctl_server *s = start_server(&o, &h, "err.sock");
	struct ctl_response r;
	struct ctl_server_stats st;
	int fd;

	fd = raw_connect(o.path);
	raw_send(fd, "\x00\x10\x00\x00", 4);
	ok(raw_reply(fd, &r, 1000) == 0 && !r.ok &&
	        strcmp(r.errtype, "ProtocolError") == 0 &&
	        strstr(r.errmsg, "too large") != NULL,
	    "caps: 1 MiB announcement gets 'too large'");
	ctl_response_cleanup(&r);
	ok(raw_closed(fd, 1000), "caps: and the connection is closed");
	close(fd);

	fd = raw_connect(o.path);
	raw_send(fd, "\0\0\0\x05hello", 9);
	ok(raw_reply(fd, &r, 1000) == 0 && !r.ok &&
	        strcmp(r.errtype, "ProtocolError") == 0,
	    "garbage: non-JSON payload gets a ProtocolError");
	ctl_response_cleanup(&r);
	ok(raw_closed(fd, 1000), "garbage: connection closed");
	close(fd);

	fd = raw_connect(o.path);
	raw_json(fd, "{\"v\":2,\"argv\":[\"ping\"]}");
	ok(raw_reply(fd, &r, 1000) == 0 && !r.ok &&
	        strcmp(r.errtype, "ProtocolVersion") == 0 &&
	        strstr(r.errmsg, "version 2"),
	    "version: v2 request gets ProtocolVersion (%s)",
	    r.errmsg ? r.errmsg : "");
	ctl_response_cleanup(&r);
	close(fd);

	/* The request cap is exact: max bytes pass, max + 1 do not. */
	for (int extra = 0; extra < 2; extra++) {
		size_t max = CTL_MAX_REQUEST;
		char *big = xmalloc(max);
		char *argv[] = {"ping", big};
		size_t pad = max -
		    strlen("{\"v\":1,\"argv\":[\"ping\",\"\"]}") +
		    (size_t)extra;
		struct sbuf b = SBUF_INIT;
		uint8_t hdr[4];

		memset(big, 'p', pad);
		big[pad] = '\0';
		(void)argv;
		sbuf_printf(&b, "{\"v\":1,\"argv\":[\"ping\",\"%s\"]}", big);
		ctl_frame_header(hdr, (uint32_t)b.len);
		fd = raw_connect(o.path);
		raw_send(fd, hdr, 4);
		raw_send(fd, b.s, b.len);
		is_int(raw_reply(fd, &r, 2000), 0, "cap: reply to %zu bytes",
		    b.len);
		ok(extra ? !r.ok : r.ok, "cap: %zu-byte request %s", b.len,
		    extra ? "refused" : "served");
		ctl_response_cleanup(&r);
		close(fd);
		sbuf_cleanup(&b);
		free(big);
	}
	ctl_server_get_stats(s, &st);
	is_int(st.proto_errors, 4, "stats: four protocol errors counted");
	stop_server(s);
}

static void
test_server_async(void)
{
	struct ctl_server_opts o = {0};
	struct hstate h = {.hold = true};
	struct ctl_server *s = start_server(&o, &h, "async.sock");
	struct ctl_response r;
	char *ping[] = {"ping"};
	int fd = raw_connect(o.path);

	raw_request(fd, 1, ping);
	is_int(raw_reply(fd, &r, 150), -1, "async: no reply while held");
	ok(h.held != NULL && ctl_reply_connected(h.held),
	    "async: token held, client connected");
	ctl_reply_ok(h.held, json_string("later"));
	h.held = NULL;
	ok(raw_reply(fd, &r, 1000) == 0 && r.ok &&
	        strcmp(json_string_value(r.result), "later") == 0,
	    "async: late reply delivered");
	ctl_response_cleanup(&r);
	/* The client leaves before the reply: the reply is dropped. */
	raw_request(fd, 1, ping);
	pump(30);
	close(fd);
	pump(30);
	ok(h.held != NULL, "async: a client that left still holds a token");
	ctl_reply_error(h.held, CTL_ERR_GENERIC, "too late");
	h.held = NULL;
	pump(30);
	{
		struct ctl_server_stats st;

		ctl_server_get_stats(s, &st);
		is_int(st.nconns, 0,
		    "async: replying to a gone client closes its connection");
	}
	/* A token outliving the server. */
	fd = raw_connect(o.path);
	raw_request(fd, 1, ping);
	pump(30);
	ok(h.held != NULL, "async: token held at server free");
	stop_server(s);
	ok(!ctl_reply_connected(h.held), "async: token detached by free");
	ctl_reply_ok(h.held, json_string("x"));
	close(fd);
	ok(1, "async: replying after free is harmless");
}

static void
test_server_timeouts(void)
{
	struct ctl_server_opts o = {.idle_timeout_ms = 300,
	    .frame_timeout_ms = 600,
	    .write_timeout_ms = 300};
	struct hstate h = {0};
	struct ctl_server *s = start_server(&o, &h, "slow.sock");
	struct ctl_server_stats st;
	char *ping[] = {"ping"};
	int idle = raw_connect(o.path), slow = raw_connect(o.path), nr;
	uint8_t *f;
	size_t len;
	char err[64];
	int64_t t0 = now_ms(), tclose = -1;
	bool idle_closed = false;

	/* The slow client sends one byte every 100 ms: its frame never
	 * completes within 600 ms although it is never idle. */
	f = ctl_request_encode(1, ping, 1000, &len, err, sizeof(err));
	for (size_t i = 0; i < len && now_ms() - t0 < 1500; i++) {
		char c;

		raw_send(slow, f + i, 1);
		pump(100);
		if (!idle_closed && recv(idle, &c, 1, 0) == 0)
			idle_closed = true;
		if (recv(slow, &c, 1, 0) == 0) {
			tclose = now_ms() - t0;
			break;
		}
	}
	free(f);
	ok(idle_closed, "timeout: idle client closed");
	ok(tclose >= 500 && tclose <= 1000,
	    "timeout: byte-a-tick client closed after the frame timeout "
	    "(%lld ms)",
	    (long long)tclose);
	close(idle);
	close(slow);

	/* A client that does not read a large reply. */
	h.big = 8 << 20;
	nr = raw_connect(o.path);
	raw_request(nr, 1, ping);
	pump(600);
	ctl_server_get_stats(s, &st);
	is_int(st.nconns, 0, "timeout: non-reading client dropped");
	ok(st.timeouts >= 3, "timeout: three timeouts counted (%llu)",
	    (unsigned long long)st.timeouts);
	close(nr);
	h.big = 0;
	stop_server(s);
}

static void
test_server_crowd(void)
{
	struct ctl_server_opts o = {
	    .idle_timeout_ms = 5000, .frame_timeout_ms = 1000};
	struct hstate h = {0};
	struct ctl_server *s = start_server(&o, &h, "crowd.sock");
	struct ctl_server_stats st;
	struct ctl_response r;
	char *ping[] = {"ping"};
	int idle[100], slow, garbage, normal, rc;
	char *junk = xmalloc(1 << 16);
	size_t sent = 0;
	int64_t t0, lat;
	bool gclosed = false;

	memset(junk, 'A', 1 << 16);
	for (int i = 0; i < 100; i++) {
		idle[i] = raw_connect(o.path);
		pump(1);
	}
	slow = raw_connect(o.path);
	raw_send(slow, "\0", 1);
	garbage = raw_connect(o.path);
	/* 10 MB of garbage, as fast as the server takes it. */
	t0 = now_ms();
	while (sent < 10u << 20 && now_ms() - t0 < 2000) {
		ssize_t k = send(garbage, junk, 1 << 16, MSG_NOSIGNAL);

		if (k > 0) {
			sent += (size_t)k;
		} else if (k < 0 && errno != EAGAIN) {
			gclosed = true;
			break;
		}
		uv_run(loop, UV_RUN_NOWAIT);
	}
	if (!gclosed)
		gclosed = raw_closed(garbage, 1000);
	ok(gclosed, "crowd: 10 MB garbage sender cut off after %zu bytes",
	    sent);
	normal = raw_connect(o.path);
	t0 = now_ms();
	raw_request(normal, 1, ping);
	rc = raw_reply(normal, &r, 2000);
	lat = now_ms() - t0;
	ok(rc == 0 && r.ok, "crowd: a normal client is served");
	ok(lat < 200, "crowd: promptly (%lld ms)", (long long)lat);
	ctl_response_cleanup(&r);
	ctl_server_get_stats(s, &st);
	ok(st.nconns <= 64, "crowd: connections capped (%u open)", st.nconns);
	ok(st.evicted >= 36, "crowd: idle ones evicted (%llu)",
	    (unsigned long long)st.evicted);
	ok(st.buffered_max <= 2 * 4096,
	    "crowd: read buffers stayed small (max %zu bytes)",
	    st.buffered_max);
	ok(raw_closed(slow, 1500) || st.evicted > 0, "crowd: slow client gone");
	for (int i = 0; i < 100; i++)
		close(idle[i]);
	close(slow);
	close(garbage);
	close(normal);
	free(junk);
	stop_server(s);
}

static void
test_server_busy(void)
{
	struct ctl_server_opts o = {.max_clients = 2};
	struct hstate h = {.hold = true};
	struct ctl_server *s = start_server(&o, &h, "busy.sock");
	struct ctl_reply *held[2];
	struct ctl_response r;
	char *ping[] = {"ping"};
	int a, b, c, d;

	/* Two idle clients, then a third: the oldest idle one goes. */
	a = raw_connect(o.path);
	pump(5);
	b = raw_connect(o.path);
	pump(5);
	c = raw_connect(o.path);
	ok(raw_closed(a, 500), "busy: oldest idle client evicted");
	raw_request(c, 1, ping);
	pump(20);
	held[0] = h.held;
	raw_request(b, 1, ping);
	pump(20);
	held[1] = h.held;
	ok(held[0] && held[1] && held[0] != held[1],
	    "busy: both remaining clients' requests are with the handler");
	/* Everyone is busy: a newcomer is told so. */
	d = raw_connect(o.path);
	ok(raw_reply(d, &r, 1000) == 0 && !r.ok &&
	        strcmp(r.errtype, "Busy") == 0,
	    "busy: newcomer gets Busy when no one can be evicted");
	ctl_response_cleanup(&r);
	ok(raw_closed(d, 500), "busy: and is closed");
	ctl_reply_ok(held[0], json_string("pong"));
	ctl_reply_ok(held[1], json_string("pong"));
	ok(raw_reply(c, &r, 1000) == 0 && r.ok, "busy: held replies delivered");
	ctl_response_cleanup(&r);
	close(a);
	close(b);
	close(c);
	close(d);
	h.held = NULL;
	stop_server(s);
}

/* Runs fn in a child with uid/gid dropped; the parent runs the loop. The
 * child's exit status is returned (or -1). */
static int
as_user(
    uid_t uid, gid_t gid, gid_t supp, int (*fn)(const char *), const char *path)
{
	pid_t pid = fork();
	int64_t end = now_ms() + 5000;

	if (pid == 0) {
		gid_t g[1] = {supp};

		if (setgroups(supp ? 1 : 0, g) != 0 || setgid(gid) != 0 ||
		    setuid(uid) != 0)
			_exit(99);
		_exit(fn(path));
	}
	while (now_ms() < end) {
		int status;

		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		uv_run(loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

/* Child bodies: exit 0 when the outcome is the expected one. */
static int
child_denied(const char *path)
{
	struct ctl_response r;
	struct ctl_client_error e;
	char *argv[] = {"ping"};
	int rc = ctl_call(path, 1, argv, 2000, &r, &e);

	return rc == 0 && !r.ok && strcmp(r.errtype, "PermissionDenied") == 0
	    ? 0
	    : 1;
}

static int
child_connect_eacces(const char *path)
{
	struct ctl_response r;
	struct ctl_client_error e;
	char *argv[] = {"ping"};
	int rc = ctl_call(path, 1, argv, 2000, &r, &e);

	return rc != 0 && e.status == CTL_CLIENT_ECONNECT && e.errnum == EACCES
	    ? 0
	    : 1;
}

static int
child_readonly(const char *path)
{
	struct ctl_response r;
	struct ctl_client_error e;
	char *st[] = {"status"}, *set[] = {"set", "sshd", "bantime", "1"};
	struct ctl_client *c;
	int bad = 0;

	if (ctl_client_connect(path, 2000, &c, &e) != 0)
		return 2;
	if (ctl_client_call(c, 1, st, 2000, &r, &e) != 0 || !r.ok)
		bad |= 4;
	ctl_response_cleanup(&r);
	if (ctl_client_call(c, 4, set, 2000, &r, &e) != 0 || r.ok ||
	    strcmp(r.errtype, "PermissionDenied") != 0)
		bad |= 8;
	ctl_response_cleanup(&r);
	ctl_client_free(c);
	return bad;
}

static void
test_server_creds(void)
{
	struct ctl_server_opts o = {0};
	struct hstate h = {0};
	struct ctl_server *s;
	struct ctl_server_stats st;
	struct stat sb;
	const gid_t rog = 65534;

	if (geteuid() != 0) {
		ok(1, "# SKIP creds: needs root to drop privileges");
		return;
	}
	chmod(tmpdir, 0755);
	s = start_server(&o, &h, "cred.sock");
	is_int(as_user(65534, 4242, 0, child_connect_eacces, o.path), 0,
	    "creds: 0600 socket refuses other users at connect");
	chmod(o.path, 0666); /* a misconfiguration: the check still holds */
	is_int(as_user(65534, 4242, 0, child_denied, o.path), 0,
	    "creds: SO_PEERCRED refuses a non-root peer");
	is_int(h.calls, 0, "creds: the handler never saw it");
	ctl_server_get_stats(s, &st);
	is_int(st.denied, 1, "creds: denial counted");
	stop_server(s);

	o = (struct ctl_server_opts){.ro_group = true, .ro_gid = rog};
	s = start_server(&o, &h, "ro.sock");
	memset(&sb, 0, sizeof(sb));
	stat(o.path, &sb);
	ok((sb.st_mode & 0777) == 0660 && sb.st_gid == rog,
	    "rogroup: socket 0660 with the group (mode %o gid %u)",
	    sb.st_mode & 0777, (unsigned)sb.st_gid);
	is_int(as_user(65534, rog, 0, child_readonly, o.path), 0,
	    "rogroup: primary-group member may status, not set");
	ok(h.last_ro && strcmp(h.last, "status") == 0,
	    "rogroup: handler saw a read-only peer's status only");
	h.calls = 0;
	is_int(as_user(65534, 4242, rog, child_readonly, o.path), 0,
	    "rogroup: supplementary member too (SO_PEERGROUPS)");
	is_int(h.calls, 1, "rogroup: set never reached the handler");
	chmod(o.path, 0666);
	is_int(as_user(65534, 4242, 0, child_denied, o.path), 0,
	    "rogroup: a non-member is refused");
	stop_server(s);

	/* The daemon runs under umask 077: a socket directory the server
	 * creates must still let the group through to the socket. */
	{
		mode_t old = umask(077);
		char sub[160];

		o = (struct ctl_server_opts){.ro_group = true, .ro_gid = rog};
		s = start_server(&o, &h, "run/ro2.sock");
		umask(old);
		snprintf(sub, sizeof(sub), "%s/run", tmpdir);
		memset(&sb, 0, sizeof(sb));
		stat(sub, &sb);
		ok((sb.st_mode & 0777) == 0755,
		    "rogroup: socket directory made under umask 077 is 0755 "
		    "(mode %o)",
		    sb.st_mode & 0777);
		is_int(as_user(65534, rog, 0, child_readonly, o.path), 0,
		    "rogroup: the group reaches the socket through it");
		stop_server(s);
		unlink(o.path);
		rmdir(sub);
	}
	chmod(tmpdir, 0700);
}

static void
test_server_stale(void)
{
	struct ctl_server_opts o = {0};
	struct hstate h = {0};
	struct ctl_server *s, *s2 = NULL;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[128], err[256];
	int fd;

	snprintf(path, sizeof(path), "%s/stale.sock", tmpdir);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	o.path = path;
	is_int(ctl_server_new(loop, &o, handler, &h, &s, err, sizeof(err)), -1,
	    "stale: existing socket file refused");
	ok(strstr(err, "-x") != NULL, "stale: message suggests -x (%s)", err);
	o.force = true;
	is_int(ctl_server_new(loop, &o, handler, &h, &s, err, sizeof(err)), 0,
	    "stale: -x removes it");
	o.force = false;
	is_int(ctl_server_new(loop, &o, handler, &h, &s2, err, sizeof(err)), -1,
	    "stale: a live server is not replaced");
	ok(strstr(err, "already running") != NULL,
	    "stale: says already running (%s)", err);
	stop_server(s);
	snprintf(path, sizeof(path), "%s/newdir/x.sock", tmpdir);
	is_int(ctl_server_new(loop, &o, handler, &h, &s, err, sizeof(err)), 0,
	    "server: creates the socket's directory");
	stop_server(s);
}

static void
test_client(void)
{
	struct ctl_server_opts o = {0};
	struct hstate h = {.hold = true};
	struct ctl_server *s;
	struct ctl_response r;
	struct ctl_client_error e;
	char *ping[] = {"ping"}, path[128];
	int64_t t0;
	int lfd, afd;
	struct ctl_client *c;

	snprintf(path, sizeof(path), "%s/none.sock", tmpdir);
	is_int(ctl_call(path, 1, ping, 500, &r, &e), -1,
	    "client: no socket fails");
	ok(e.status == CTL_CLIENT_ECONNECT && e.errnum == ENOENT,
	    "client: ENOENT reported");
	s = start_server(&o, &h, "client.sock");
	t0 = now_ms();
	is_int(ctl_call(o.path, 1, ping, 300, &r, &e), -1,
	    "client: a server that never answers times out");
	ok(e.status == CTL_CLIENT_ETIMEOUT && now_ms() - t0 >= 290 &&
	        now_ms() - t0 < 1000,
	    "client: after the timeout (%lld ms)", (long long)(now_ms() - t0));
	pump(20);
	if (h.held)
		ctl_reply_ok(h.held, NULL);
	h.held = NULL;
	stop_server(s);

	/* A reply from a future protocol version. */
	{
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		static const char v9[] = "\0\0\0\x13{\"v\":9,\"ok\":true}  ";

		snprintf(path, sizeof(path), "%s/v9.sock", tmpdir);
		memcpy(sa.sun_path, path, strlen(path) + 1);
		lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		bind(lfd, (struct sockaddr *)&sa, sizeof(sa));
		listen(lfd, 4);
		ctl_client_connect(path, 500, &c, &e);
		afd = accept(lfd, NULL, NULL);
		ok(write(afd, v9, sizeof(v9) - 1) == sizeof(v9) - 1,
		    "client: fake v9 reply queued");
		is_int(ctl_client_call(c, 1, ping, 500, &r, &e), -1,
		    "client: v9 reply refused");
		ok(e.status == CTL_CLIENT_EPROTO &&
		        strstr(e.msg, "version 9") != NULL,
		    "client: version mismatch explained (%s)", e.msg);
		ctl_client_free(c);
		close(afd);
		/* The server hangs up without a reply. */
		ctl_client_connect(path, 500, &c, &e);
		afd = accept(lfd, NULL, NULL);
		close(afd);
		is_int(ctl_client_call(c, 1, ping, 500, &r, &e), -1,
		    "client: hang-up fails");
		is_int(e.status, CTL_CLIENT_EIO, "client: as an I/O error");
		ctl_client_free(c);
		close(lfd);
	}
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	fputs(text, fp);
	fclose(fp);
}

static void
test_paths(void)
{
	char d[128], p[200];
	struct ctl_paths cp;

	snprintf(d, sizeof(d), "%s/conf", tmpdir);
	ctl_paths_resolve(d, &cp);
	is_str(cp.socket, CTL_DEFAULT_SOCKET, "paths: no dir: built-in socket");
	is_str(cp.pidfile, CTL_DEFAULT_PIDFILE, "paths: built-in pidfile");
	ctl_paths_cleanup(&cp);
	mkdir(d, 0755);
	snprintf(p, sizeof(p), "%s/fail2ban.conf", d);
	write_file(p, "[DEFAULT]\nloglevel = INFO\n[Definition]\n");
	ctl_paths_resolve(d, &cp);
	is_str(cp.socket, CTL_F2B_SOCKET,
	    "paths: fail2ban.conf without socket: fail2ban's default");
	is_str(cp.source, "fail2ban", "paths: source fail2ban");
	ctl_paths_cleanup(&cp);
	write_file(p,
	    "[DEFAULT]\nsocket = /a.sock\npidfile = /a.pid\n"
	    "[Definition]\n");
	ctl_paths_resolve(d, &cp);
	is_str(cp.socket, "/a.sock", "paths: [DEFAULT] socket");
	ctl_paths_cleanup(&cp);
	snprintf(p, sizeof(p), "%s/fail2ban.d", d);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/fail2ban.d/b.conf", d);
	write_file(p, "[Definition]\nsocket = /b.sock\n");
	snprintf(p, sizeof(p), "%s/fail2ban.d/a.conf", d);
	write_file(p, "[Definition]\nsocket = /x.sock\n");
	ctl_paths_resolve(d, &cp);
	is_str(cp.socket, "/b.sock", "paths: fail2ban.d/*.conf in order");
	is_str(cp.pidfile, "/a.pid", "paths: untouched pidfile kept");
	ctl_paths_cleanup(&cp);
	snprintf(p, sizeof(p), "%s/fail2ban.local", d);
	write_file(p, "[Definition]\nsocket = /local.sock\n");
	snprintf(p, sizeof(p), "%s/fail2ban.d/z.local", d);
	write_file(p, "[Definition]\npidfile = /z.pid\n");
	ctl_paths_resolve(d, &cp);
	is_str(cp.socket, "/local.sock", "paths: .local over .d/*.conf");
	is_str(cp.pidfile, "/z.pid", "paths: .d/*.local last");
	ctl_paths_cleanup(&cp);
	snprintf(p, sizeof(p), "%s/warden.conf", d);
	write_file(p, "[Definition]\nsocket = /w.sock\n");
	ctl_paths_resolve(d, &cp);
	is_str(cp.socket, "/w.sock", "paths: warden.conf wins the file set");
	is_str(cp.pidfile, CTL_DEFAULT_PIDFILE,
	    "paths: fail2ban.* ignored once warden.* exists: Warden's "
	    "default pidfile");
	is_str(cp.source, "warden", "paths: source warden");
	ctl_paths_cleanup(&cp);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) == 0 ? 0 : 0;
}

int
main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_ctl.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	loop = uv_default_loop();
	test_framing();
	test_request();
	test_response();
	test_json_string();
	test_server_basic();
	test_server_errors();
	test_server_async();
	test_server_timeouts();
	test_server_crowd();
	test_server_busy();
	test_server_creds();
	test_server_stale();
	test_client();
	test_paths();
	uv_run(loop, UV_RUN_NOWAIT);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
