/*
 * The control protocol's wire format, shared by wardend's control socket
 * (ctl_server) and the `warden` client (ctl_client): framing, request and
 * response encoding and decoding, the protocol version and the caps. Pure
 * functions over byte buffers; no I/O, no logging, so every decoder can be
 * fuzzed directly.
 *
 * A frame is a 4-byte big-endian payload length followed by that many
 * bytes of UTF-8 JSON. Requests are {"v":1,"argv":["status","sshd"]};
 * responses {"v":1,"ok":true,"result":...} or {"v":1,"ok":false,
 * "error":{"type":"UnknownJail","message":"sshd"}}. The framing and the
 * "v" member never change, so either side can always tell the other which
 * version it speaks. HACKING.md ("Control protocol") documents the result
 * shapes.
 */
#ifndef WARDEN_CTL_H
#define WARDEN_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CTL_PROTO_VERSION 1
#define CTL_HDR_LEN       4 /* bytes of the length prefix */
/* Default cap on a request payload (bytes), server side. */
#define CTL_MAX_REQUEST (64 * 1024)
/* Cap on a response payload the client accepts (bytes): a ban list of a
 * million IPv6 addresses in several jails still fits. */
#define CTL_MAX_RESPONSE (256u * 1024 * 1024)
/* Cap on the number of arguments in one request. */
#define CTL_MAX_ARGS 4096

/* Error types of responses (error.type). The client prints them as
 * fail2ban-client does its exceptions (see beautify.h). */
#define CTL_ERR_UNKNOWN_JAIL   "UnknownJail"   /* message: the jail name */
#define CTL_ERR_DUPLICATE_JAIL "DuplicateJail" /* message: the jail name */
#define CTL_ERR_INDEX          "IndexError"    /* missing arguments */
#define CTL_ERR_KEY            "KeyError"      /* printed as a Python repr */
#define CTL_ERR_VALUE          "ValueError"
#define CTL_ERR_GENERIC        "Exception"
#define CTL_ERR_PROTOCOL       "ProtocolError"   /* bad frame or JSON */
#define CTL_ERR_VERSION        "ProtocolVersion" /* "v" mismatch */
#define CTL_ERR_PERMISSION     "PermissionDenied"
#define CTL_ERR_BUSY           "Busy" /* too many clients */
/* The configuration could not be read or applied (reload): the client
 * prints nothing on stdout and "Failed during configuration: <message>"
 * as an ERROR line on stderr, as fail2ban-client does. */
#define CTL_ERR_CONFIG "ConfigError"

enum ctl_frame_status {
	CTL_FRAME_INCOMPLETE = 0, /* need more bytes */
	CTL_FRAME_OK = 1,         /* a whole frame is at the start */
	CTL_FRAME_TOOBIG = -1,    /* the announced length exceeds max */
};

/*
 * Looks at the len bytes at buf (the start of a frame). Returns
 * CTL_FRAME_OK with *payload_len set when the header and the whole
 * payload are there (the payload is buf + CTL_HDR_LEN; the frame is
 * CTL_HDR_LEN + *payload_len bytes), CTL_FRAME_INCOMPLETE when more bytes
 * are needed (*payload_len set once the header is complete, else 0), or
 * CTL_FRAME_TOOBIG when the header announces more than max bytes
 * (*payload_len is the announced length).
 */
enum ctl_frame_status ctl_frame_parse(
    const uint8_t *buf, size_t len, size_t max, size_t *payload_len);

/* Writes the 4-byte big-endian header for a payload of n bytes. */
void ctl_frame_header(uint8_t hdr[CTL_HDR_LEN], uint32_t n);

/* A decoded request. */
struct ctl_request {
	int argc;
	char **argv; /* owned; argc strings (no NUL inside), then NULL */
};

void ctl_request_cleanup(struct ctl_request *r);

/*
 * Decodes a request payload (the JSON after the header). Returns 0 and
 * fills *out (free with ctl_request_cleanup), or -1 with a message in
 * err: *errtype is set to CTL_ERR_VERSION when "v" is not
 * CTL_PROTO_VERSION, else CTL_ERR_PROTOCOL (not JSON, not an object,
 * "argv" missing, not an array of strings, more than CTL_MAX_ARGS). An
 * empty argv is accepted (the server answers it with an IndexError).
 */
int ctl_request_decode(const char *buf, size_t len, struct ctl_request *out,
    const char **errtype, char *err, size_t errlen);

/*
 * Encodes a whole request frame (header included) for argv[0..argc-1].
 * Returns new memory (caller frees) and its size in *len, or NULL when the
 * payload would exceed max bytes or an argument is not valid UTF-8 (err
 * says which).
 */
uint8_t *ctl_request_encode(int argc, char *const *argv, size_t max,
    size_t *len, char *err, size_t errlen);

/*
 * Encodes a whole success response frame; takes a reference to result
 * (NULL encodes null). Returns new memory, size in *len. Never fails:
 * results are built from valid UTF-8 strings (see ctl_json_string).
 */
uint8_t *ctl_response_ok(json_t *result, size_t *len);

/* Encodes a whole error response frame. type and message are borrowed;
 * invalid UTF-8 in message is repaired. Returns new memory. */
uint8_t *ctl_response_error(const char *type, const char *message, size_t *len);

/* A decoded response. */
struct ctl_response {
	bool ok;
	json_t *result; /* owned reference; JSON null when none (ok only) */
	char *errtype;  /* owned; error.type (!ok only) */
	char *errmsg;   /* owned; error.message (!ok only) */
};

void ctl_response_cleanup(struct ctl_response *r);

/*
 * Decodes a response payload. Returns 0 and fills *out, or -1 with a
 * message in err (not JSON, wrong shape, or "v" not CTL_PROTO_VERSION:
 * then the message names both versions).
 */
int ctl_response_decode(const char *buf, size_t len, struct ctl_response *out,
    char *err, size_t errlen);

/*
 * A JSON string from n bytes of s that may come from outside (log lines,
 * user names): invalid UTF-8 sequences and NUL bytes become U+FFFD, so the
 * result is never NULL (jansson refuses invalid UTF-8). Returns a new
 * reference.
 */
json_t *ctl_json_string(const char *s, size_t n);

/* True when the command (argv[0]) is one a read-only peer may run:
 * status, ping, version, get, banned. */
bool ctl_command_readonly(const char *cmd);

#endif
