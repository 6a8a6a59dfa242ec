/*
 * The control protocol's wire format (see ctl.h): framing, JSON encoding
 * and decoding of requests and responses, version checks, caps. Pure: no
 * I/O and no logging; ctl_server.c and ctl_client.c move the bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "sbuf.h"
#include "xmalloc.h"

enum ctl_frame_status
ctl_frame_parse(const uint8_t *buf, size_t len, size_t max, size_t *payload_len)
{
	size_t n;

	*payload_len = 0;
	if (len < CTL_HDR_LEN)
		return CTL_FRAME_INCOMPLETE;
	n = (size_t)buf[0] << 24 | (size_t)buf[1] << 16 | (size_t)buf[2] << 8 |
	    (size_t)buf[3];
	*payload_len = n;
	if (n > max)
		return CTL_FRAME_TOOBIG;
	if (len - CTL_HDR_LEN < n)
		return CTL_FRAME_INCOMPLETE;
	return CTL_FRAME_OK;
}

void
ctl_frame_header(uint8_t hdr[CTL_HDR_LEN], uint32_t n)
{
	hdr[0] = (uint8_t)(n >> 24);
	hdr[1] = (uint8_t)(n >> 16);
	hdr[2] = (uint8_t)(n >> 8);
	hdr[3] = (uint8_t)n;
}

/* Header + payload in one new buffer. */
static uint8_t *
frame_wrap(const char *payload, size_t n, size_t *len)
{
	uint8_t *f = xmalloc(CTL_HDR_LEN + n);

	ctl_frame_header(f, (uint32_t)n);
	memcpy(f + CTL_HDR_LEN, payload, n);
	*len = CTL_HDR_LEN + n;
	return f;
}

void
ctl_request_cleanup(struct ctl_request *r)
{
	if (r->argv != NULL)
		for (int i = 0; i < r->argc; i++)
			free(r->argv[i]);
	free(r->argv);
	r->argv = NULL;
	r->argc = 0;
}

/*
 * Checks "v": returns 0 when it is our version, else -1 with a message.
 * A missing or non-integer "v" is a protocol error, not a version one.
 */
static int
check_version(const json_t *root, const char *who, const char **errtype,
    char *err, size_t errlen)
{
	const json_t *v = json_object_get(root, "v");

	if (!json_is_integer(v)) {
		if (errtype)
			*errtype = CTL_ERR_PROTOCOL;
		snprintf(
		    err, errlen, "%s has no protocol version (\"v\")", who);
		return -1;
	}
	if (json_integer_value(v) != CTL_PROTO_VERSION) {
		if (errtype)
			*errtype = CTL_ERR_VERSION;
		snprintf(err, errlen,
		    "protocol version mismatch: %s speaks version %lld, this "
		    "side speaks version %d",
		    who, (long long)json_integer_value(v), CTL_PROTO_VERSION);
		return -1;
	}
	return 0;
}

int
ctl_request_decode(const char *buf, size_t len, struct ctl_request *out,
    const char **errtype, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;
	const json_t *args;
	size_t n;
	int rc = -1;

	out->argc = 0;
	out->argv = NULL;
	*errtype = CTL_ERR_PROTOCOL;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "request is not valid JSON: %s (byte %d)",
		    jerr.text, jerr.position);
		return -1;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "request is not a JSON object");
		goto out;
	}
	if (check_version(root, "the client", errtype, err, errlen) != 0)
		goto out;
	args = json_object_get(root, "argv");
	if (!json_is_array(args)) {
		snprintf(err, errlen, "request has no \"argv\" array");
		goto out;
	}
	n = json_array_size(args);
	if (n > CTL_MAX_ARGS) {
		snprintf(err, errlen, "request has %zu arguments (max %d)", n,
		    CTL_MAX_ARGS);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (!json_is_string(json_array_get(args, i))) {
			snprintf(
			    err, errlen, "argument %zu is not a string", i + 1);
			goto out;
		}
	out->argv = xcalloc(n + 1, sizeof(*out->argv));
	for (size_t i = 0; i < n; i++) {
		const json_t *s = json_array_get(args, i);

		out->argv[i] =
		    xmemdup(json_string_value(s), json_string_length(s));
	}
	out->argc = (int)n;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

uint8_t *
ctl_request_encode(int argc, char *const *argv, size_t max, size_t *len,
    char *err, size_t errlen)
{
	json_t *root = json_object(), *args = json_array();
	uint8_t *frame = NULL;
	char *payload = NULL;
	size_t n;

	if ((size_t)argc > CTL_MAX_ARGS) {
		snprintf(err, errlen, "too many arguments (%d, max %d)", argc,
		    CTL_MAX_ARGS);
		goto out;
	}
	for (int i = 0; i < argc; i++) {
		json_t *s = json_string(argv[i]);

		if (s == NULL) {
			snprintf(err, errlen, "argument %d is not valid UTF-8",
			    i + 1);
			goto out;
		}
		json_array_append_new(args, s);
	}
	json_object_set_new(root, "v", json_integer(CTL_PROTO_VERSION));
	json_object_set(root, "argv", args);
	payload = json_dumps(root, JSON_COMPACT);
	if (payload == NULL)
		abort(); /* only on OOM */
	n = strlen(payload);
	if (n > max) {
		snprintf(err, errlen, "request too large (%zu bytes, max %zu)",
		    n, max);
		goto out;
	}
	frame = frame_wrap(payload, n, len);
out:
	free(payload);
	json_decref(args);
	json_decref(root);
	return frame;
}

/* Dumps root (taken) into a frame. */
static uint8_t *
dump_frame(json_t *root, size_t *len)
{
	char *payload = json_dumps(root, JSON_COMPACT | JSON_ENCODE_ANY);
	uint8_t *f;

	if (payload == NULL)
		abort(); /* only on OOM: every string in root is valid */
	f = frame_wrap(payload, strlen(payload), len);
	free(payload);
	json_decref(root);
	return f;
}

uint8_t *
ctl_response_ok(json_t *result, size_t *len)
{
	json_t *root = json_object();

	json_object_set_new(root, "v", json_integer(CTL_PROTO_VERSION));
	json_object_set_new(root, "ok", json_true());
	json_object_set_new(root, "result", result ? result : json_null());
	return dump_frame(root, len);
}

uint8_t *
ctl_response_error(const char *type, const char *message, size_t *len)
{
	json_t *root = json_object(), *e = json_object();

	json_object_set_new(e, "type", ctl_json_string(type, strlen(type)));
	json_object_set_new(
	    e, "message", ctl_json_string(message, strlen(message)));
	json_object_set_new(root, "v", json_integer(CTL_PROTO_VERSION));
	json_object_set_new(root, "ok", json_false());
	json_object_set_new(root, "error", e);
	return dump_frame(root, len);
}

void
ctl_response_cleanup(struct ctl_response *r)
{
	json_decref(r->result);
	free(r->errtype);
	free(r->errmsg);
	memset(r, 0, sizeof(*r));
}

int
ctl_response_decode(const char *buf, size_t len, struct ctl_response *out,
    char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;
	const json_t *ok, *e, *t, *m;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "reply is not valid JSON: %s (byte %d)",
		    jerr.text, jerr.position);
		return -1;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "reply is not a JSON object");
		goto out;
	}
	if (check_version(root, "wardend", NULL, err, errlen) != 0)
		goto out;
	ok = json_object_get(root, "ok");
	if (!json_is_boolean(ok)) {
		snprintf(err, errlen, "reply has no \"ok\" member");
		goto out;
	}
	out->ok = json_is_true(ok);
	if (out->ok) {
		json_t *res = json_object_get(root, "result");

		out->result = res ? json_incref(res) : json_null();
		rc = 0;
		goto out;
	}
	e = json_object_get(root, "error");
	t = json_object_get(e, "type");
	m = json_object_get(e, "message");
	if (!json_is_object(e) || !json_is_string(t) || !json_is_string(m)) {
		snprintf(err, errlen, "reply has no valid \"error\" member");
		goto out;
	}
	out->errtype = xmemdup(json_string_value(t), json_string_length(t));
	out->errmsg = xmemdup(json_string_value(m), json_string_length(m));
	rc = 0;
out:
	json_decref(root);
	if (rc != 0)
		ctl_response_cleanup(out);
	return rc;
}

/* Length of the valid UTF-8 sequence at p (< end), or 0 when invalid. */
static size_t
utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t n;
	unsigned cp;

	if (c < 0x80)
		return c == 0 ? 0 : 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

json_t *
ctl_json_string(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	struct sbuf b = SBUF_INIT;
	json_t *j;

	while (p < end) {
		size_t k = utf8_seq(p, end);

		if (k == 0) {
			sbuf_add(&b, "\xef\xbf\xbd", 3);
			p++;
		} else {
			sbuf_add(&b, p, k);
			p += k;
		}
	}
	j = json_stringn(b.s ? b.s : "", b.len);
	sbuf_cleanup(&b);
	if (j == NULL)
		abort(); /* only on OOM: the bytes are valid now */
	return j;
}

bool
ctl_command_readonly(const char *cmd)
{
	static const char *const ro[] = {
	    "status", "ping", "version", "get", "banned"};

	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		if (strcmp(cmd, ro[i]) == 0)
			return true;
	return false;
}
