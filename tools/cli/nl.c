// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink over libmnl for the "chainmesh" family (see nl.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/chainmesh.h>

#include "nl.h"

static int cm_extack_attr(const struct nlattr *a, void *data)
{
	struct cm_talk *t = data;

	switch (mnl_attr_get_type(a)) {
	case NLMSGERR_ATTR_MSG:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
			snprintf(t->msg, sizeof(t->msg), "%s", mnl_attr_get_str(a));
		break;
	case NLMSGERR_ATTR_MISS_TYPE:
		if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0) {
			t->miss_type = mnl_attr_get_u32(a);
			t->miss = true;
		}
		break;
	}
	return MNL_CB_OK;
}

static int cm_on_error(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct cm_talk *t = data;
	unsigned int off = sizeof(*e);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		t->err = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (!e->error)
		return MNL_CB_STOP;		/* the ACK */
	t->err = -e->error;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
		mnl_attr_parse(nlh, off, cm_extack_attr, t);
	}
	return MNL_CB_ERROR;
}

/* The end of a dump: an int, negative if the dump failed, then extack. */
static int cm_on_done(const struct nlmsghdr *nlh, void *data)
{
	struct cm_talk *t = data;
	int err;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(int))
		return MNL_CB_STOP;
	memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
	if (err >= 0)
		return MNL_CB_STOP;
	t->err = -err;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS)
		mnl_attr_parse(nlh, sizeof(int), cm_extack_attr, t);
	return MNL_CB_ERROR;
}

static int cm_on_data(const struct nlmsghdr *nlh, void *data)
{
	struct cm_talk *t = data;

	return t->cb ? t->cb(nlh, t->data) : MNL_CB_OK;
}

static mnl_cb_t cm_ctl_cbs[NLMSG_MIN_TYPE] = {
	[NLMSG_ERROR] = cm_on_error,
	[NLMSG_DONE] = cm_on_done,
};

/* A request in @buf; cm_talk() numbers it. */
struct nlmsghdr *cm_msg(void *buf, uint16_t type, uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = type == GENL_ID_CTRL ? 1 : CHAINMESH_GENL_VERSION;
	return nlh;
}

/*
 * Send @nlh and process replies until the ACK or the end of the dump.
 * Return: 0, or an errno with @t's message filled in when the kernel
 * sent one.
 */
int cm_talk(struct cm_nl *nl, struct nlmsghdr *nlh, struct cm_talk *t)
{
	unsigned int seq = ++nl->seq;
	ssize_t n;
	int ret;

	nlh->nlmsg_seq = seq;
	t->err = 0;
	t->msg[0] = '\0';
	t->miss = false;
	if (mnl_socket_sendto(nl->sk, nlh, nlh->nlmsg_len) < 0)
		return errno;
	do {
		n = mnl_socket_recvfrom(nl->sk, nl->buf, sizeof(nl->buf));
		if (n < 0)
			return errno;
		ret = mnl_cb_run2(nl->buf, n, seq, nl->portid, cm_on_data, t,
				  cm_ctl_cbs, NLMSG_MIN_TYPE);
	} while (ret > MNL_CB_STOP);
	if (ret < 0)
		return t->err ? t->err : errno;
	return 0;
}

/* Parsing replies */

struct cm_tb {
	const struct nlattr **tb;
	unsigned int max;
};

static int cm_tb_attr(const struct nlattr *a, void *data)
{
	struct cm_tb *t = data;
	uint16_t type = mnl_attr_get_type(a);

	if (type <= t->max)
		t->tb[type] = a;
	return MNL_CB_OK;
}

void cm_parse(const struct nlmsghdr *nlh, const struct nlattr **tb,
	      unsigned int max)
{
	struct cm_tb t = { tb, max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), cm_tb_attr, &t);
}

void cm_parse_nested(const struct nlattr *nest, const struct nlattr **tb,
		     unsigned int max)
{
	struct cm_tb t = { tb, max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (nest)
		mnl_attr_parse_nested(nest, cm_tb_attr, &t);
}

uint64_t a_u64(const struct nlattr *a)
{
	return a && mnl_attr_get_payload_len(a) >= 8 ? mnl_attr_get_u64(a) : 0;
}

uint32_t a_u32(const struct nlattr *a)
{
	return a && mnl_attr_get_payload_len(a) >= 4 ? mnl_attr_get_u32(a) : 0;
}

uint16_t a_u16(const struct nlattr *a)
{
	return a && mnl_attr_get_payload_len(a) >= 2 ? mnl_attr_get_u16(a) : 0;
}

uint8_t a_u8(const struct nlattr *a)
{
	return a && mnl_attr_get_payload_len(a) >= 1 ? mnl_attr_get_u8(a) : 0;
}

const char *a_str(const struct nlattr *a)
{
	return a && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0 ?
	       mnl_attr_get_str(a) : "";
}

/* Family resolution */

static int cm_family_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[CTRL_ATTR_MAX + 1];
	const struct nlattr *g[CTRL_ATTR_MCAST_GRP_MAX + 1];
	const struct nlattr *grp;
	struct cm_nl *nl = data;

	cm_parse(nlh, tb, CTRL_ATTR_MAX);
	nl->family = a_u16(tb[CTRL_ATTR_FAMILY_ID]);
	if (!tb[CTRL_ATTR_MCAST_GROUPS])
		return MNL_CB_OK;
	mnl_attr_for_each_nested(grp, tb[CTRL_ATTR_MCAST_GROUPS]) {
		cm_parse_nested(grp, g, CTRL_ATTR_MCAST_GRP_MAX);
		if (!strcmp(a_str(g[CTRL_ATTR_MCAST_GRP_NAME]), CHAINMESH_MCGRP_MONITOR))
			nl->mcgrp_monitor = a_u32(g[CTRL_ATTR_MCAST_GRP_ID]);
	}
	return MNL_CB_OK;
}

/*
 * A bound generic netlink socket that asks for the kernel's error
 * messages and no copy of our requests in its ACKs.
 * Return: NULL, or the step that failed ("open ...", "bind ...") with
 * errno set.
 */
const char *cm_nl_open(struct cm_nl *nl)
{
	int one = 1, err;

	nl->sk = mnl_socket_open(NETLINK_GENERIC);
	if (!nl->sk)
		return "open a generic netlink socket";
	if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = errno;
		mnl_socket_close(nl->sk);
		nl->sk = NULL;
		errno = err;
		return "bind the netlink socket";
	}
	nl->portid = mnl_socket_get_portid(nl->sk);
	nl->seq = time(NULL);
	mnl_socket_setsockopt(nl->sk, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sk, NETLINK_CAP_ACK, &one, sizeof(one));
	return NULL;
}

/*
 * The family's id and its monitor group into @nl.
 * Return: 0, or an errno (ENOENT: no such family) with @t's message.
 * @nl->family stays 0 if the kernel's reply had no id.
 */
int cm_nl_family(struct cm_nl *nl, struct cm_talk *t)
{
	char req[256] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;

	t->cb = cm_family_cb;
	t->data = nl;
	nlh = cm_msg(req, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, NLM_F_ACK);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, CHAINMESH_GENL_NAME);
	return cm_talk(nl, nlh, t);
}
