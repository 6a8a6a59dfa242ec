/*
 * Fuzzes the control protocol's decoders as a server and a client meet
 * them: the input is a byte stream split into frames by ctl_frame_parse
 * (with a small cap, so oversize headers happen), each payload decoded as
 * a request and as a response. Decoded requests must re-encode to a frame
 * that decodes to the same argv; decoded responses are printed by the
 * beautifier for the request's argv (or a set of fixed commands), and
 * errors by beautify_error. Also checks ctl_json_string on raw bytes.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beautify.h"
#include "ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *fixed[][5] = {
    {"status", NULL},
    {"status", "j", NULL},
    {"get", "loglevel", NULL},
    {"get", "dbpurgeage", NULL},
    {"get", "j", "logpath", NULL},
    {"get", "j", "journalmatch", NULL},
    {"get", "j", "datepattern", NULL},
    {"get", "j", "failregex", NULL},
    {"get", "j", "actionmethods", "a", NULL},
    {"get", "j", "banip", "--with-time", NULL},
    {"echo", NULL},
    {"ping", NULL},
    {"banned", NULL},
};

static int
count(char **v)
{
	int n = 0;

	while (v[n])
		n++;
	return n;
}

static void
print_all(const struct ctl_request *req, const struct ctl_response *r)
{
	bool bad;
	char *s;

	if (!r->ok) {
		s = beautify_error(r->errtype, r->errmsg);
		free(s);
		return;
	}
	if (req != NULL && req->argc > 0) {
		s = beautify_result(req->argc, req->argv, r->result, &bad);
		free(s);
	}
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		s = beautify_result(count(fixed[i]), fixed[i], r->result, &bad);
		free(s);
	}
	s = beautify_pyrepr(r->result);
	free(s);
}

static void
one_payload(const char *p, size_t n, struct ctl_request *last)
{
	struct ctl_request req;
	struct ctl_response resp;
	const char *et;
	char err[256];

	if (ctl_request_decode(p, n, &req, &et, err, sizeof(err)) == 0) {
		size_t len, plen;
		uint8_t *f = ctl_request_encode(
		    req.argc, req.argv, 1 << 24, &len, err, sizeof(err));
		struct ctl_request again;

		/* Decoded strings are valid UTF-8 without NUL: they encode. */
		assert(f != NULL);
		assert(ctl_frame_parse(f, len, 1 << 24, &plen) == CTL_FRAME_OK);
		assert(ctl_request_decode((char *)f + CTL_HDR_LEN, plen, &again,
		           &et, err, sizeof(err)) == 0);
		assert(again.argc == req.argc);
		for (int i = 0; i < req.argc; i++)
			assert(strcmp(again.argv[i], req.argv[i]) == 0);
		ctl_request_cleanup(&again);
		free(f);
		ctl_request_cleanup(last);
		*last = req;
	} else {
		assert(et != NULL && err[0] != '\0');
	}
	if (ctl_response_decode(p, n, &resp, err, sizeof(err)) == 0) {
		print_all(last, &resp);
		ctl_response_cleanup(&resp);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_request last = {0, NULL};
	size_t off = 0, plen;
	json_t *s;

	while (off < size) {
		enum ctl_frame_status st =
		    ctl_frame_parse(data + off, size - off, 4096, &plen);

		if (st != CTL_FRAME_OK) {
			/* Not a frame: take the rest as one bare payload. */
			one_payload(
			    (const char *)data + off, size - off, &last);
			break;
		}
		one_payload(
		    (const char *)data + off + CTL_HDR_LEN, plen, &last);
		off += CTL_HDR_LEN + plen;
	}
	ctl_request_cleanup(&last);
	s = ctl_json_string((const char *)data, size);
	assert(json_is_string(s));
	json_decref(s);
	return 0;
}
