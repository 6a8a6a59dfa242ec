/*
 * wardend's control commands: fail2ban's transmitter (server/transmitter.py)
 * over the control socket. Each command returns the JSON form of the
 * Python result fail2ban's server returns (HACKING.md "Control protocol"),
 * so the `warden` client prints fail2ban-client's exact text; errors carry
 * fail2ban's exception types and messages ("Sorry but the jail 'x' does
 * not exist" is the client's rendering of UnknownJail).
 *
 * Commands that create bans commit the database before they reply, so a
 * ban a client was told about survives kill -9.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "beautify.h"
#include "cmds.h"
#include "conf.h"
#include "ctl.h"
#include "ctl_server.h"
#include "db.h"
#include "jail.h"
#include "log.h"
#include "sbuf.h"
#include "timeval.h"
#include "wardend.h"
#include "xmalloc.h"

static json_t *
jstr(const char *s)
{
	return s ? ctl_json_string(s, strlen(s)) : json_null();
}

static void
reply_unknown_jail(struct ctl_reply *r, const char *name)
{
	ctl_reply_error(r, CTL_ERR_UNKNOWN_JAIL, "%s", name);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* `status`: [["Number of jail", N], ["Jail list", "a, b"]]. */
static json_t *
server_status(struct warden *w)
{
	const char **names = xcalloc(w->njails + 1, sizeof(*names));
	struct sbuf b = SBUF_INIT;
	json_t *r;

	for (size_t i = 0; i < w->njails; i++)
		names[i] = jail_name(w->jails[i]);
	qsort(names, w->njails, sizeof(*names), cmp_names);
	sbuf_addstr(&b, "");
	for (size_t i = 0; i < w->njails; i++) {
		if (i > 0)
			sbuf_addstr(&b, ", ");
		sbuf_addstr(&b, names[i]);
	}
	r = json_pack("[[s,I],[s,o]]", "Number of jail", (json_int_t)w->njails,
	    "Jail list", jstr(sbuf_str(&b)));
	sbuf_cleanup(&b);
	free(names);
	return r;
}

/* `banned [IP...]` over every jail. */
static json_t *
server_banned(struct warden *w, int argc, char **argv)
{
	json_t *res = json_array();

	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			json_t *l = json_array();

			for (size_t k = 0; k < w->njails; k++)
				if (jail_is_banned(w->jails[k], argv[i]))
					json_array_append_new(
					    l, jstr(jail_name(w->jails[k])));
			json_array_append_new(res, l);
		}
		return res;
	}
	for (size_t k = 0; k < w->njails; k++) {
		json_t *o = json_object();

		json_object_set_new(o, jail_name(w->jails[k]),
		    jail_banlist(w->jails[k], false, false));
		json_array_append_new(res, o);
	}
	return res;
}

/* `get X` / `set X V` of server options; NULL: not a server option. */
static bool
server_get(struct warden *w, struct ctl_reply *r, int argc, char **argv)
{
	const char *what = argv[1];

	if (strcmp(what, "loglevel") == 0) {
		ctl_reply_ok(r, jstr(warden_loglevel(w)));
	} else if (strcmp(what, "logtarget") == 0) {
		ctl_reply_ok(r, jstr(wlog_get_target()));
	} else if (strcmp(what, "syslogsocket") == 0) {
		const char *ss = w->opts.syslogsocket
		    ? w->opts.syslogsocket
		    : w->conf->server.syslogsocket;

		ctl_reply_ok(r, jstr(ss ? ss : "auto"));
	} else if (strcmp(what, "dbfile") == 0) {
		ctl_reply_ok(r, w->db ? jstr(w->dbfile) : json_null());
	} else if (strcmp(what, "dbpurgeage") == 0) {
		ctl_reply_ok(r, w->db ? json_real(w->dbpurgeage) : json_null());
	} else if (strcmp(what, "dbmaxmatches") == 0) {
		ctl_reply_ok(r,
		    w->db ? json_integer(db_maxmatches(w->db)) : json_null());
	} else if (strcmp(what, "thread") == 0) {
		ctl_reply_ok(r, json_pack("{s:i}", "stacksize", 0));
	} else {
		(void)argc;
		return false;
	}
	return true;
}

static bool
server_set(struct warden *w, struct ctl_reply *r, int argc, char **argv)
{
	const char *what = argv[1];
	char err[512];

	if (strcmp(what, "loglevel") != 0 && strcmp(what, "logtarget") != 0 &&
	    strcmp(what, "syslogsocket") != 0 && strcmp(what, "dbfile") != 0 &&
	    strcmp(what, "dbpurgeage") != 0 &&
	    strcmp(what, "dbmaxmatches") != 0 && strcmp(what, "thread") != 0 &&
	    strcmp(what, "allowipv6") != 0)
		return false;
	if (argc < 3) {
		ctl_reply_error(r, CTL_ERR_INDEX, "list index out of range");
		return true;
	}
	if (strcmp(what, "loglevel") == 0) {
		if (warden_set_loglevel(w, argv[2]) != 0)
			ctl_reply_error(
			    r, CTL_ERR_VALUE, "Invalid log level %s", argv[2]);
		else
			ctl_reply_ok(r, jstr(warden_loglevel(w)));
	} else if (strcmp(what, "logtarget") == 0) {
		const char *ss = w->opts.syslogsocket
		    ? w->opts.syslogsocket
		    : w->conf->server.syslogsocket;

		if (wlog_set_target(argv[2], ss, err, sizeof(err)) != 0) {
			wlog(WLOG_ERROR, WLOG_SERVER, "%s", err);
			ctl_reply_error(
			    r, CTL_ERR_GENERIC, "Failed to change log target");
		} else {
			wlog(WLOG_INFO, WLOG_SERVER,
			    "Changed logging target to %s for Warden v%s",
			    argv[2], WARDEN_VERSION);
			ctl_reply_ok(r, jstr(wlog_get_target()));
		}
	} else if (strcmp(what, "syslogsocket") == 0) {
		ctl_reply_ok(r, jstr(argv[2]));
	} else if (strcmp(what, "dbfile") == 0) {
		if (w->njails > 0)
			ctl_reply_error(r, CTL_ERR_GENERIC,
			    "Cannot change database when there are jails "
			    "present");
		else
			ctl_reply_error(r, CTL_ERR_GENERIC,
			    "Changing the database at run time is not "
			    "supported; restart wardend with --dbfile");
	} else if (strcmp(what, "dbpurgeage") == 0) {
		double v;

		if (w->db == NULL) {
			ctl_reply_ok(r, json_null());
		} else if (timeval_parse(argv[2], &v, NULL, err, sizeof(err)) !=
		    0) {
			ctl_reply_error(r, CTL_ERR_VALUE, "%s", err);
		} else {
			w->dbpurgeage = v;
			ctl_reply_ok(r, json_real(v));
		}
	} else if (strcmp(what, "dbmaxmatches") == 0) {
		char *end;
		long v = strtol(argv[2], &end, 10);

		if (w->db == NULL) {
			ctl_reply_ok(r, json_null());
		} else if (end == argv[2] || *end != '\0' || v < 0) {
			ctl_reply_error(r, CTL_ERR_VALUE,
			    "invalid literal for int() with base 10: '%s'",
			    argv[2]);
		} else {
			db_set_maxmatches(w->db, (unsigned)v);
			ctl_reply_ok(r, json_integer(v));
		}
	} else if (strcmp(what, "allowipv6") == 0) {
		ctl_reply_ok(r, jstr(argv[2]));
	} else {
		ctl_reply_ok(r, json_null());
	}
	return true;
}

/* `reload [--restart] [--unban] [--if-exists] JAIL|--all` */
static void
cmd_reload(struct warden *w, struct ctl_reply *r, int argc, char **argv)
{
	bool restart = false, unban = false, if_exists = false;
	const char *name = NULL;
	char err[512];
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--restart") == 0)
			restart = true;
		else if (strcmp(argv[i], "--unban") == 0)
			unban = true;
		else if (strcmp(argv[i], "--if-exists") == 0)
			if_exists = true;
		else if (strcmp(argv[i], "--all") == 0)
			name = NULL;
		else
			name = argv[i];
	}
	/* a jail neither running nor configured: the new configuration
	 * decides (it may add the jail, else "No section") */
	rc =
	    warden_reload(w, name, restart, unban, if_exists, err, sizeof(err));
	if (rc != 0) {
		ctl_reply_error(
		    r, rc == -1 ? CTL_ERR_CONFIG : CTL_ERR_GENERIC, "%s", err);
		return;
	}
	warden_commit(w);
	ctl_reply_ok(r, jstr("OK"));
}

/* `unban --all` | `unban IP...` */
static void
cmd_unban(struct warden *w, struct ctl_reply *r, int argc, char **argv)
{
	long cnt = 0;

	if (argc == 2 && strcmp(argv[1], "--all") == 0) {
		for (size_t i = 0; i < w->njails; i++)
			cnt +=
			    jail_unbanip(w->jails[i], NULL, 0, false, NULL, 0);
		if (w->db != NULL)
			for (size_t i = 0; i < w->conf->njails; i++)
				db_ban_del(w->db, w->conf->jails[i].name, NULL);
	} else {
		for (size_t i = 0; i < w->njails; i++) {
			long n = jail_unbanip(w->jails[i], argv + 1,
			    (size_t)(argc - 1), false, NULL, 0);

			if (n > 0)
				cnt += n;
		}
	}
	warden_commit(w);
	ctl_reply_ok(r, json_integer(cnt));
}

/* The end of a `set J action A METHOD` call that ran in the queue. */
static void
call_replied(void *arg, json_t *result, const char *errtype, const char *msg)
{
	struct ctl_reply *r = arg;

	if (result != NULL)
		ctl_reply_ok(r, result);
	else
		ctl_reply_error(r, errtype, "%s", msg);
}

/* `set JAIL ...` commands that are not plain options. */
static void
cmd_jail_set(struct warden *w, struct ctl_reply *r, struct jail *j, int argc,
    char **argv)
{
	const char *what = argv[2];
	const char *errtype = CTL_ERR_GENERIC;
	char err[1024];
	json_t *res;

	if (strcmp(what, "banip") == 0) {
		long n = jail_banip(j, argv + 3, (size_t)(argc - 3));

		warden_commit(w);
		ctl_reply_ok(r, json_integer(n));
		return;
	}
	if (strcmp(what, "unbanip") == 0) {
		bool report =
		    argc > 3 && strcmp(argv[3], "--report-absent") == 0;
		int first = report ? 4 : 3;
		long n;

		n = jail_unbanip(j, argv + first, (size_t)(argc - first),
		    report, err, sizeof(err));
		warden_commit(w);
		if (n < 0)
			ctl_reply_error(r, CTL_ERR_VALUE, "%s", err);
		else
			ctl_reply_ok(r, json_integer(n));
		return;
	}
	if (strcmp(what, "attempt") == 0) {
		long n;

		if (argc < 4) {
			ctl_reply_error(
			    r, CTL_ERR_INDEX, "list index out of range");
			return;
		}
		n = jail_attempt(j, argv[3], argv + 4, (size_t)(argc - 4));
		warden_commit(w);
		ctl_reply_ok(r, json_integer(n));
		return;
	}
	if (jail_action_call(j, argc - 1, argv + 1, call_replied, r) == 0)
		return; /* replied once the action ran */
	res = jail_set(j, argc - 1, argv + 1, &errtype, err, sizeof(err));
	if (res == NULL)
		ctl_reply_error(r, errtype, "%s", err);
	else
		ctl_reply_ok(r, res);
}

static void
cmd_get_set(struct warden *w, struct ctl_reply *r, int argc, char **argv)
{
	bool set = argv[0][0] == 's';
	struct jail *j;
	const char *errtype = CTL_ERR_GENERIC;
	char err[1024];
	json_t *res;

	if (argc < 2) {
		ctl_reply_error(r, CTL_ERR_INDEX, "list index out of range");
		return;
	}
	if (set ? server_set(w, r, argc, argv) : server_get(w, r, argc, argv))
		return;
	j = warden_find_jail(w, argv[1]);
	if (j == NULL) {
		reply_unknown_jail(r, argv[1]);
		return;
	}
	if (argc < 3) {
		ctl_reply_error(r, CTL_ERR_INDEX, "list index out of range");
		return;
	}
	if (set) {
		cmd_jail_set(w, r, j, argc, argv);
		return;
	}
	res = jail_get(j, argc - 1, argv + 1, &errtype, err, sizeof(err));
	if (res == NULL)
		ctl_reply_error(r, errtype, "%s", err);
	else
		ctl_reply_ok(r, res);
}

static void
log_failed(int argc, char **argv, const char *msg)
{
	struct sbuf b = SBUF_INIT;

	sbuf_addch(&b, '[');
	for (int i = 0; i < argc; i++) {
		if (i > 0)
			sbuf_addstr(&b, ", ");
		beautify_repr_str(&b, argv[i], strlen(argv[i]));
	}
	sbuf_addch(&b, ']');
	wlog(WLOG_ERROR, WLOG_TRANSM, "Command %s has failed. Received %s",
	    sbuf_str(&b), msg);
	sbuf_cleanup(&b);
}

void
server_handle(void *arg, struct ctl_reply *r, int argc, char **argv,
    const struct ctl_peer *peer)
{
	struct warden *w = arg;
	const char *cmd = argv[0];

	(void)peer;
	if (wlog_enabled(WLOG_HEAVYDEBUG))
		wlog(WLOG_HEAVYDEBUG, WLOG_TRANSM, "Command: %s", cmd);
	/*
	 * A ban decided in this iteration (or in the ticks batched behind
	 * it) is committed before any answer can show it: what `status`,
	 * `banned` or `get JAIL banned` report survives kill -9.
	 */
	if (strcmp(cmd, "ping") != 0 && strcmp(cmd, "version") != 0)
		warden_commit(w);
	if (strcmp(cmd, "ping") == 0) {
		ctl_reply_ok(r, jstr("pong"));
	} else if (strcmp(cmd, "version") == 0) {
		ctl_reply_ok(r, jstr(WARDEN_VERSION));
	} else if (strcmp(cmd, "server-status") == 0) {
		warden_ready(w, r);
	} else if (strcmp(cmd, "echo") == 0) {
		json_t *l = json_array();

		for (int i = 1; i < argc; i++)
			json_array_append_new(l, jstr(argv[i]));
		ctl_reply_ok(r, l);
	} else if (strcmp(cmd, "status") == 0) {
		json_t *res;

		if (argc == 1) {
			res = server_status(w);
		} else if (argc <= 3) {
			struct jail *j = warden_find_jail(w, argv[1]);

			if (j == NULL) {
				reply_unknown_jail(r, argv[1]);
				return;
			}
			res = jail_status(j, argc == 3 ? argv[2] : NULL);
		} else {
			ctl_reply_error(
			    r, CTL_ERR_GENERIC, "Invalid command (no status)");
			return;
		}
		ctl_reply_ok(r, res);
	} else if (strcmp(cmd, "banned") == 0) {
		ctl_reply_ok(r, server_banned(w, argc, argv));
	} else if (strcmp(cmd, "unban") == 0 && argc >= 2) {
		cmd_unban(w, r, argc, argv);
	} else if (strcmp(cmd, "get") == 0 || strcmp(cmd, "set") == 0) {
		cmd_get_set(w, r, argc, argv);
	} else if (strcmp(cmd, "flushlogs") == 0) {
		int rc = wlog_reopen();

		ctl_reply_ok(r, jstr(rc == 1 ? "rolled over" : "flushed"));
	} else if (strcmp(cmd, "reload") == 0) {
		cmd_reload(w, r, argc, argv);
	} else if (strcmp(cmd, "stop") == 0) {
		if (argc == 1) {
			ctl_reply_ok(r, NULL);
			warden_shutdown(w);
		} else if (strcmp(argv[1], "--all") == 0) {
			while (w->njails > 0)
				warden_stop_jail(w, w->jails[w->njails - 1]);
			ctl_reply_ok(r, NULL);
		} else {
			struct jail *j = warden_find_jail(w, argv[1]);

			if (j == NULL) {
				reply_unknown_jail(r, argv[1]);
				return;
			}
			warden_stop_jail(w, j);
			ctl_reply_ok(r, NULL);
		}
	} else if (strcmp(cmd, "start") == 0) {
		if (argc < 2) {
			ctl_reply_error(
			    r, CTL_ERR_INDEX, "list index out of range");
		} else if (warden_find_jail(w, argv[1]) != NULL) {
			ctl_reply_ok(r, NULL);
		} else if (warden_start_jail(w, argv[1]) != 0) {
			reply_unknown_jail(r, argv[1]);
		} else {
			warden_commit(w);
			ctl_reply_ok(r, NULL);
		}
	} else {
		log_failed(argc, argv, "Exception('Invalid command')");
		ctl_reply_error(r, CTL_ERR_GENERIC, "Invalid command");
	}
}
