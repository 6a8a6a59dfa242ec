/*
 * Output of a loaded configuration: fail2ban's command stream (one
 * Python-repr list per line, as `fail2ban-client -d`), and a JSON document
 * of Warden's typed view with a stable key order.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"
#include "sbuf.h"

int
conf_dump(const struct conf *c, FILE *fp)
{
	struct sbuf b = SBUF_INIT;

	if (c->priv->fatal) {
		if (c->priv->early_error)
			fprintf(fp, "ERROR: %s\n", c->priv->fatal);
		else
			fprintf(fp,
			    "ERROR: The configuration stream failed "
			    "because of the invalid syntax.\n");
		return -1;
	}
	for (size_t i = 0; i < c->priv->stream->n; i++) {
		sbuf_reset(&b);
		py_repr(c->priv->stream->items[i], &b);
		fprintf(fp, "%s\n", sbuf_str(&b));
	}
	sbuf_cleanup(&b);
	return ferror(fp) ? -1 : 0;
}

static json_t *
jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *
jre(const struct filterdef_re *r)
{
	json_t *o;

	if (r->re == NULL)
		return json_null();
	o = json_object();
	json_object_set_new(o, "re", json_string(r->re));
	json_object_set_new(o, "file", jstr(r->file));
	json_object_set_new(o, "line", json_integer(r->line));
	return o;
}

static json_t *
jre_list(const struct filterdef_re_list *l)
{
	json_t *a = json_array();

	for (size_t i = 0; i < l->n; i++)
		json_array_append_new(a, jre(&l->v[i]));
	return a;
}

static json_t *
jstrv(const struct strv *sv)
{
	json_t *a = json_array();

	for (size_t i = 0; i < sv->n; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

static json_t *
jkv(const struct conf_kvlist *l)
{
	json_t *o = json_object();

	for (size_t i = 0; i < l->n; i++)
		json_object_set_new(o, l->v[i].key, json_string(l->v[i].value));
	return o;
}

static json_t *
jtri(int v)
{
	return v < 0 ? json_null() : json_boolean(v);
}

static json_t *
jnum(double v)
{
	if (v == (double)(long long)v)
		return json_integer((json_int_t)v);
	return json_real(v);
}

static json_t *
jfilter(const struct conf_jail *j)
{
	const struct filterdef *f = &j->filter;
	json_t *o = json_object();

	json_object_set_new(o, "spec", jstr(j->filter_spec));
	json_object_set_new(o, "name", jstr(f->name));
	json_object_set_new(o, "usedns", jstr(f->usedns));
	json_object_set_new(o, "prefregex", jre(&f->prefregex));
	json_object_set_new(o, "failregex", jre_list(&f->failregex));
	json_object_set_new(o, "ignoreregex", jre_list(&f->ignoreregex));
	json_object_set_new(o, "maxlines", json_integer(f->maxlines));
	json_object_set_new(o, "datepattern", jre(&f->datepattern));
	json_object_set_new(o, "journalmatch", jstrv(&f->journalmatch));
	return o;
}

static json_t *
jaction(const struct conf_action *a)
{
	json_t *o = json_object(), *cmds;

	json_object_set_new(o, "name", json_string(a->name));
	json_object_set_new(o, "actname", json_string(a->actname));
	json_object_set_new(o, "file", jstr(a->file));
	json_object_set_new(o, "python", json_boolean(a->python));
	if (a->python) {
		json_error_t err;
		json_t *p = json_loads(a->python_params, 0, &err);

		json_object_set_new(o, "params", p ? p : json_null());
		return o;
	}
	cmds = json_object();
	for (int i = 0; i < CONF_ACT_NCMDS; i++)
		if (a->cmd[i])
			json_object_set_new(cmds, conf_action_cmd_name(i),
			    json_string(a->cmd[i]));
	if (a->userlock)
		json_object_set_new(
		    cmds, "actionuserlock", json_string(a->userlock));
	if (a->userunlock)
		json_object_set_new(
		    cmds, "actionuserunlock", json_string(a->userunlock));
	json_object_set_new(o, "commands", cmds);
	json_object_set_new(
	    o, "actionstart_on_demand", jtri(a->start_on_demand));
	json_object_set_new(
	    o, "actionrepair_on_unban", jtri(a->repair_on_unban));
	json_object_set_new(o, "norestored", jtri(a->norestored));
	json_object_set_new(o, "timeout", jnum(a->timeout));
	json_object_set_new(o, "properties", jkv(&a->props));
	return o;
}

static json_t *
jjail(const struct conf_jail *j)
{
	json_t *o = json_object(), *b, *a;
	const struct conf_bantime_ext *x = &j->bantime_ext;

	json_object_set_new(o, "name", json_string(j->name));
	json_object_set_new(o, "file", jstr(j->file));
	json_object_set_new(o, "line", json_integer(j->line));
	b = json_object();
	json_object_set_new(b, "name", jstr(j->backend_name));
	json_object_set_new(b, "params", jkv(&j->backend_params));
	json_object_set_new(o, "backend", b);
	if (j->service != NULL) { /* backend = report only */
		json_object_set_new(o, "service", jstr(j->service));
		json_object_set_new(o, "reportusers", jstr(j->reportusers));
		json_object_set_new(o, "reportgroups", jstr(j->reportgroups));
	}
	if (j->members.n > 0) /* an aggregate jail only */
		json_object_set_new(o, "jails", jstrv(&j->members));
	json_object_set_new(o, "filter", jfilter(j));
	json_object_set_new(o, "maxretry", json_integer(j->maxretry));
	if (j->usermaxretry > 0) { /* login tracking only */
		json_object_set_new(
		    o, "usermaxretry", json_integer(j->usermaxretry));
		json_object_set_new(o, "userfindtime",
		    jnum(isnan(j->userfindtime) ? j->findtime
		                                : j->userfindtime));
		json_object_set_new(o, "userbantime",
		    jnum(isnan(j->userbantime) ? j->bantime : j->userbantime));
	}
	json_object_set_new(o, "maxmatches", json_integer(j->maxmatches));
	json_object_set_new(o, "findtime", jnum(j->findtime));
	json_object_set_new(o, "bantime", jnum(j->bantime));
	b = json_object();
	json_object_set_new(b, "increment", json_boolean(x->increment));
	json_object_set_new(b, "factor", jnum(x->factor));
	json_object_set_new(b, "formula", jstr(x->formula));
	a = json_array();
	for (size_t i = 0; i < x->nmultipliers; i++)
		json_array_append_new(a, json_integer(x->multipliers[i]));
	json_object_set_new(b, "multipliers", a);
	json_object_set_new(
	    b, "maxtime", x->maxtime < 0 ? json_null() : jnum(x->maxtime));
	json_object_set_new(
	    b, "rndtime", x->rndtime < 0 ? json_null() : jnum(x->rndtime));
	json_object_set_new(b, "overalljails", json_boolean(x->overalljails));
	json_object_set_new(o, "bantime_ext", b);
	json_object_set_new(o, "ignoreself", json_boolean(j->ignoreself));
	a = json_array();
	for (size_t i = 0; i < j->nignoreip; i++) {
		static const char *const kinds[] = {"addr", "dns", "file"};
		json_t *e = json_object();

		json_object_set_new(
		    e, "kind", json_string(kinds[j->ignoreip[i].kind]));
		if (j->ignoreip[i].kind == CONF_IGNORE_ADDR) {
			char buf[ADDR_STRLEN];

			json_object_set_new(e, "value",
			    json_string(
			        addr_format(&j->ignoreip[i].addr, buf)));
		} else {
			json_object_set_new(
			    e, "value", json_string(j->ignoreip[i].text));
		}
		json_array_append_new(a, e);
	}
	json_object_set_new(o, "ignoreip", a);
	json_object_set_new(o, "ignorecommand", jstr(j->ignorecommand));
	if (j->ignorecache.key) {
		b = json_object();
		json_object_set_new(b, "key", json_string(j->ignorecache.key));
		json_object_set_new(
		    b, "max_count", json_integer(j->ignorecache.max_count));
		json_object_set_new(
		    b, "max_time", jnum(j->ignorecache.max_time));
		json_object_set_new(o, "ignorecache", b);
	} else {
		json_object_set_new(o, "ignorecache", json_null());
	}
	json_object_set_new(o, "logencoding", jstr(j->logencoding));
	json_object_set_new(o, "logtimezone", jstr(j->logtimezone));
	a = json_array();
	for (size_t i = 0; i < j->nlogpaths; i++) {
		json_t *e = json_object();

		json_object_set_new(
		    e, "pattern", json_string(j->logpaths[i].pattern));
		json_object_set_new(
		    e, "tail", json_boolean(j->logpaths[i].tail));
		json_object_set_new(e, "files", jstrv(&j->logpaths[i].files));
		json_array_append_new(a, e);
	}
	json_object_set_new(o, "logpaths", a);
	a = json_array();
	for (size_t i = 0; i < j->nactions; i++)
		json_array_append_new(a, jaction(&j->actions[i]));
	json_object_set_new(o, "actions", a);
	return o;
}

int
conf_dump_json(const struct conf *c, FILE *fp)
{
	json_t *root = json_object(), *s = json_object(), *a;
	const struct conf_server *sv = &c->server;
	int rc;

	json_object_set_new(s, "source", jstr(sv->source));
	json_object_set_new(s, "loglevel", jstr(sv->loglevel));
	json_object_set_new(s, "logtarget", jstr(sv->logtarget));
	json_object_set_new(s, "syslogsocket", jstr(sv->syslogsocket));
	json_object_set_new(s, "socket", jstr(sv->socket));
	json_object_set_new(s, "pidfile", jstr(sv->pidfile));
	json_object_set_new(s, "allowipv6", jstr(sv->allowipv6));
	json_object_set_new(s, "dbfile", jstr(sv->dbfile));
	json_object_set_new(s, "dbmaxmatches", json_integer(sv->dbmaxmatches));
	json_object_set_new(s, "dbpurgeage", jnum(sv->dbpurgeage));
	json_object_set_new(s, "stacksize", json_integer(sv->stacksize));
	json_object_set_new(root, "server", s);
	a = json_array();
	for (size_t i = 0; i < c->njails; i++)
		json_array_append_new(a, jjail(&c->jails[i]));
	json_object_set_new(root, "jails", a);
	a = json_array();
	for (size_t i = 0; i < c->nbroken; i++) {
		json_t *e = json_object();

		json_object_set_new(e, "name", json_string(c->broken[i].name));
		json_object_set_new(
		    e, "error", json_string(c->broken[i].error));
		json_array_append_new(a, e);
	}
	json_object_set_new(root, "broken", a);
	rc = json_dumpf(root, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', fp);
	json_decref(root);
	return rc == 0 && !ferror(fp) ? 0 : -1;
}
