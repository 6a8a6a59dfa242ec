/*
 * The active bans of one jail: fail2ban's BanManager (spec 4.3,
 * banmanager.py) with O(1) lookup by key, a min-heap on the end of ban
 * for the expiry timer, insertion order (status prints "Banned IP list"
 * in ban order) and a sorted-by-end view (`get JAIL banip --with-time`).
 *
 * A ban lasts from its ticket time (the last failure, not the moment the
 * ban ran) for bantime seconds; bantime -1 is permanent (end = fail2ban's
 * MAX_TIME). A ban whose end has already passed when it arrives, or whose
 * bantime is 0 or below -1, is refused as "expired bantime". A second
 * ban of a banned key prolongs the existing one when it would end later,
 * by fail2ban's rule: bantime = new bantime + (new time - old time).
 *
 * Capped (default 1,000,000): when full a new ban is refused and counted,
 * never an existing one dropped. Times are wall clock (epoch s) passed in
 * by the caller; the list has no clock and does no I/O.
 */
#ifndef WARDEN_BANLIST_H
#define WARDEN_BANLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "failtab.h"
#include "fkey.h"

#define BANLIST_DEFAULT_MAX 1000000 /* bans per jail */
/* fail2ban's Ticket.MAX_TIME: the end of a permanent ban. */
#define BAN_MAX_TIME ((double)0x7FFFFFFFFFFFLL)

struct ban {
	/* private, first: a walk in insertion order (status lists) then
	 * finds the link and the key's address in one cache line */
	struct ban *prev, *next; /* insertion order */
	struct ban *hnext;

	struct fkey key;   /* owned */
	double time;       /* ticket time: the last failure, epoch s */
	double bantime;    /* seconds; -1 = permanent */
	long bancount;     /* bans of this key, this one included once it
	                      is in a list (fail2ban's banCount) */
	long failures;     /* failures that led to it */
	struct fdata data; /* matched lines and captured groups (owned) */
	bool restored;     /* restored from the database at start */
	char *mtext;       /* owned or NULL: a restored ban's stored matches
	                      (JSON), parsed into data when needed (jail.c) */

	/* private */
	uint64_t hash;
	size_t heap;  /* index in the heap */
	uint64_t seq; /* insertion number, breaks ties */

	/* the jail's (jail.c): in its list of bans not committed yet, at
	 * position pend_seq counted from that list's first entry ever */
	bool pending;
	bool prebanned; /* handed to actq_preban while pending */
	uint64_t pend_seq;
};

/* A new ban of a copy of key. */
struct ban *ban_new(const struct fkey *key, double time, double bantime);
/* A new ban taking the key, data and counters of t (left empty). */
struct ban *ban_from_ticket(struct fticket *t, double bantime);
void ban_free(struct ban *b);

/* End of ban: time + bantime, or BAN_MAX_TIME when permanent. */
double ban_end(const struct ban *b);

/*
 * fail2ban's log level for "[jail] ip already banned" given the new
 * failure's time and the existing ban's time: DEBUG under 3 s, NOTICE
 * under 60 s, else WARNING (log.h levels).
 */
int ban_already_level(double new_time, double old_time);

enum banlist_result {
	BANLIST_ADDED,     /* the list owns the ban; its bancount + 1 */
	BANLIST_PROLONGED, /* key was banned, its end moved later */
	BANLIST_BANNED,    /* key was banned until at least as late */
	BANLIST_EXPIRED,   /* "expired bantime": ends before now */
	BANLIST_FULL,      /* refused: the list is at its cap */
};

struct banlist;

/* max 0 = BANLIST_DEFAULT_MAX. */
struct banlist *banlist_new(size_t max);
/* Frees the list and every ban in it. */
void banlist_free(struct banlist *bl);
void banlist_set_max(struct banlist *bl, size_t max);

/*
 * fail2ban's addBanTicket at wall time now. On BANLIST_ADDED the list
 * takes b; otherwise the caller keeps it (and frees it). On PROLONGED and
 * BANNED, *existing (may be NULL) gets the ban already in the list.
 */
enum banlist_result banlist_add(
    struct banlist *bl, struct ban *b, double now, struct ban **existing);

struct ban *banlist_find(struct banlist *bl, const struct fkey *key);

/* Removes key's ban and returns it (the caller frees it), or NULL. */
struct ban *banlist_del(struct banlist *bl, const struct fkey *key);

/* Changes a listed ban's bantime (bantime increment) and its place. */
void banlist_set_bantime(struct banlist *bl, struct ban *b, double bantime);

/*
 * Removes and returns one ban that is over at now (now > end), earliest
 * end first, or NULL when none is. The caller frees it.
 */
struct ban *banlist_pop_expired(struct banlist *bl, double now);

/* Earliest end of ban in the list (BAN_MAX_TIME for only permanent
 * bans), or INFINITY when the list is empty. */
double banlist_next_end(const struct banlist *bl);

/* Removes and returns the oldest ban (insertion order), or NULL. */
struct ban *banlist_pop_first(struct banlist *bl);

/* Iteration in insertion order; no changes meanwhile. */
struct ban *banlist_first(struct banlist *bl);
struct ban *banlist_next(struct ban *b);

/*
 * The bans sorted by end (equal ends in insertion order), as a new array
 * of n borrowed pointers in *out (free the array only). Returns n.
 */
size_t banlist_by_end(struct banlist *bl, struct ban ***out);

size_t banlist_size(const struct banlist *bl);
/* Bans ever added ("Total banned"). */
uint64_t banlist_total(const struct banlist *bl);
void banlist_set_total(struct banlist *bl, uint64_t total);
/* Bans refused because the list was full. */
uint64_t banlist_refused(const struct banlist *bl);

#endif
