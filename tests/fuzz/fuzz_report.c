/*
 * Fuzzes the report message parser (report.h) on raw datagram bytes. A
 * message it accepts must hold only what the grammar allows (service
 * charset, a login without spaces or control bytes, a single address),
 * must re-render through report_format() within the datagram cap, and
 * the rendered text must parse back to the same report. Also runs the
 * login and service checks on the raw bytes.
 */
#include <assert.h>
#include <sys/socket.h>
#include <stdint.h>
#include <string.h>

#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct report_msg m, m2;
	char buf[REPORT_MAX_MSG + 1];
	int n;

	(void)report_login_valid(s, size);
	(void)report_service_valid(s, size);
	if (report_parse(s, size, &m) != REPORT_OK_PARSED)
		return 0;
	assert(size <= REPORT_MAX_MSG);
	assert(report_service_valid(m.service, strlen(m.service)));
	assert(m.addr.prefix == (m.addr.family == AF_INET ? 32 : 128));
	if (m.has_user) {
		assert(m.user_len == strlen(m.user));
		assert(report_login_valid(m.user, m.user_len));
		for (size_t i = 0; i < m.user_len; i++)
			assert((unsigned char)m.user[i] > 0x20 &&
			    m.user[i] != 0x7f);
	} else {
		assert(m.verb == REPORT_FAIL && m.user_len == 0);
	}
	n = report_format(&m, buf, sizeof(buf));
	assert(n > 0 && n <= REPORT_MAX_MSG);
	assert(report_parse(buf, (size_t)n, &m2) == REPORT_OK_PARSED);
	assert(m2.verb == m.verb && strcmp(m2.service, m.service) == 0 &&
	    addr_equal(&m2.addr, &m.addr) && m2.has_user == m.has_user &&
	    m2.user_len == m.user_len &&
	    memcmp(m2.user, m.user, m.user_len) == 0);
	return 0;
}
