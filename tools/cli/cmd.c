// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh CLI: what every object's commands do alike. Command line
 * values, errors and exit statuses, the socket, the mesh a command
 * applies to, and the requests that show, change and delete objects.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>

#include "chainmesh.h"
#include "json.h"

/* Exit statuses */

jmp_buf *fail_jmp;

static void __attribute__((noreturn)) cm_exit(int status)
{
	fflush(stdout);
	if (fail_jmp)
		longjmp(*fail_jmp, status);
	exit(status);
}

void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s", prog, batch_where);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cm_exit(EXIT_REFUSED);
}

void usage_fail(const char *object, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s", prog, batch_where);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s %s%shelp'.\n", prog, object ? object : "",
		object ? " " : "");
	cm_exit(EXIT_USAGE);
}

/* OBJECT help */
void cm_help(struct cm_cmd *c)
{
	usage_to(stdout, c->object);
	exit(0);
}

void cm_run_verb(struct cm_cmd *c, const struct cm_verb *verbs)
{
	const char *cmd = next_arg(c);
	const struct cm_verb *v;

	if (!cmd) {
		verbs->fn(c);
		return;
	}
	for (v = verbs; v->name; v++) {
		if (v->exact ? !strcmp(cmd, v->name) : matches(cmd, v->name)) {
			v->fn(c);
			return;
		}
	}
	if (matches(cmd, "help"))
		cm_help(c);
	usage_fail(c->object, "unknown command '%s %s'", c->object, cmd);
}

/* Report a refusal: what we tried, the kernel's words, the errno. */
void cm_refused(const char *what, const struct cm_talk *t, int err)
{
	if (t->msg[0])
		fail("%s: %s (%s)", what, t->msg, strerror(err));
	if (t->miss)
		fail("%s: missing attribute %u (%s)", what, t->miss_type, strerror(err));
	if (err == EPERM)
		fail("%s: %s (CAP_NET_ADMIN needed)", what, strerror(err));
	fail("%s: %s", what, strerror(err));
}

/* Command line values */

/* iproute2 style: a keyword may be abbreviated. */
bool matches(const char *arg, const char *keyword)
{
	size_t len = strlen(arg);

	return len && len <= strlen(keyword) && !strncmp(arg, keyword, len);
}

char *next_arg(struct cm_cmd *c)
{
	if (!c->argc)
		return NULL;
	c->argc--;
	return *c->argv++;
}

unsigned long parse_ulong(const char *object, const char *what,
			  const char *arg, unsigned long max)
{
	unsigned long v;
	char *end;

	errno = 0;
	if (!arg)
		usage_fail(object, "%s: value expected", what);
	v = strtoul(arg, &end, 0);
	if (errno || end == arg || *end || arg[0] == '-' || v > max)
		usage_fail(object, "%s: '%s' is not a number from 0 to %lu",
			   what, arg, max);
	return v;
}

const char *parse_name(const char *object, const char *arg)
{
	if (!arg)
		usage_fail(object, "mesh: name expected");
	if (!arg[0] || strlen(arg) >= CHAINMESH_NAME_LEN)
		usage_fail(object, "mesh: name must be 1 to %d characters",
			   CHAINMESH_NAME_LEN - 1);
	return arg;
}

/* Only "mesh NAME" may follow. */
const char *opt_mesh_only(struct cm_cmd *c)
{
	const char *name = NULL;
	char *arg;

	while ((arg = next_arg(c))) {
		if (matches(arg, "mesh"))
			name = parse_name(c->object, next_arg(c));
		else
			usage_fail(c->object, "unexpected argument '%s'", arg);
	}
	return name;
}

/* The socket, with the family resolved, or exit. */
void cm_open(struct cm_nl *nl)
{
	struct cm_talk t;
	const char *step;
	int err;

	/* -n: only a command that takes it gets past this (mesh show) */
	if (!cm_netns_ok)
		cm_netns_enter(NULL);
	step = cm_nl_open(nl);
	if (step)
		fail("cannot %s: %s", step, strerror(errno));
	err = cm_nl_family(nl, &t);
	if (err == ENOENT)
		fail("generic netlink family '%s' not found: is chainmesh_host loaded?",
		     CHAINMESH_GENL_NAME);
	if (err)
		cm_refused("cannot resolve the generic netlink family", &t, err);
	if (!nl->family)
		fail("the kernel gave no id for family '%s'", CHAINMESH_GENL_NAME);
}

/* Mesh selection */

struct cm_mesh_names {
	char names[2][CHAINMESH_NAME_LEN];
	unsigned int n;
};

static int cm_mesh_names_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[CHAINMESH_A_MAX + 1];
	struct cm_mesh_names *mn = data;

	cm_parse(nlh, tb, CHAINMESH_A_MAX);
	if (mn->n < 2)
		snprintf(mn->names[mn->n], CHAINMESH_NAME_LEN, "%s",
			 a_str(tb[CHAINMESH_A_MESH_NAME]));
	mn->n++;
	return MNL_CB_OK;
}

/* The mesh the user named, else the only one there is. */
const char *cm_mesh_pick(struct cm_nl *nl, const char *name,
			 char out[CHAINMESH_NAME_LEN])
{
	struct cm_mesh_names mn = { .n = 0 };
	struct cm_talk t = { .cb = cm_mesh_names_cb, .data = &mn };
	char req[256] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;
	int err;

	if (name)
		return name;
	nlh = cm_msg(req, nl->family, CHAINMESH_CMD_MESH_GET, NLM_F_DUMP);
	err = cm_talk(nl, nlh, &t);
	if (err)
		cm_refused("cannot list meshes", &t, err);
	if (mn.n == 0)
		fail("no mesh: the host module has no region yet");
	if (mn.n > 1)
		fail("%u meshes (%s, %s%s): say which with 'mesh NAME'", mn.n,
		     mn.names[0], mn.names[1], mn.n > 2 ? ", ..." : "");
	memcpy(out, mn.names[0], CHAINMESH_NAME_LEN);
	return out;
}

/* Requests */

/* A show: a dump (or one do), printed as text lines or one JSON array. */
void cm_show(struct cm_cmd *c, struct nlmsghdr *nlh, mnl_cb_t print,
	     const char *what)
{
	struct cm_talk t = { .cb = print };
	int err;

	if (json)
		j_open(NULL, '[');
	err = cm_talk(&c->nl, nlh, &t);
	if (json)
		j_close(']');
	fflush(stdout);
	if (err)
		cm_refused(what, &t, err);
}

void cm_change(struct cm_cmd *c, struct nlmsghdr *nlh, const char *what)
{
	struct cm_talk t = { .cb = NULL };
	int err;

	err = cm_talk(&c->nl, nlh, &t);
	if (err)
		cm_refused(what, &t, err);
}

/* "del ID [mesh NAME]" for chains and flows. */
void obj_del(struct cm_cmd *c, uint8_t cmd, uint16_t nest_type,
	     uint16_t id_type, const char *what)
{
	char buf[CHAINMESH_NAME_LEN];
	const char *name;
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	unsigned long id;

	id = parse_ulong(c->object, "id", next_arg(c), UINT32_MAX);
	name = opt_mesh_only(c);
	cm_open(&c->nl);
	name = cm_mesh_pick(&c->nl, name, buf);
	nlh = cm_msg(c->nl.req, c->nl.family, cmd, NLM_F_ACK);
	mnl_attr_put_strz(nlh, CHAINMESH_A_MESH_NAME, name);
	nest = mnl_attr_nest_start(nlh, nest_type);
	mnl_attr_put_u32(nlh, id_type, id);
	mnl_attr_nest_end(nlh, nest);
	cm_change(c, nlh, what);
}

/* "show [mesh NAME]" for chains and flows: a dump of one mesh. */
void obj_show(struct cm_cmd *c, uint8_t cmd, mnl_cb_t print, const char *what)
{
	char buf[CHAINMESH_NAME_LEN];
	struct nlmsghdr *nlh;
	const char *name;

	name = opt_mesh_only(c);
	cm_open(&c->nl);
	name = cm_mesh_pick(&c->nl, name, buf);
	nlh = cm_msg(c->nl.req, c->nl.family, cmd, NLM_F_DUMP);
	mnl_attr_put_strz(nlh, CHAINMESH_A_MESH_NAME, name);
	cm_show(c, nlh, print, what);
}
