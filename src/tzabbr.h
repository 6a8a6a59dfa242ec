/*
 * Time zone abbreviations with fixed UTC offsets, as fail2ban accepts them
 * in log lines (%Z, %Exz) and in `logtimezone`. The offsets never switch
 * for daylight saving: "CET" is always +01:00, "CEST" always +02:00. The
 * table is our own, written from public zone data, and knows exactly the
 * names fail2ban 1.0.2 knows so that unknown names fail the same way.
 */
#ifndef WARDEN_TZABBR_H
#define WARDEN_TZABBR_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Looks up the abbreviation s (len bytes, case-sensitive, e.g. "CEST").
 * Returns true and sets *minutes (east of UTC) when it is known.
 */
bool tzabbr_lookup(const char *s, size_t len, int *minutes);

/* Number of entries and the i-th entry, for tests. */
size_t tzabbr_count(void);
const char *tzabbr_name(size_t i, int *minutes);

#endif
