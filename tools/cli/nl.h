/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Generic netlink over libmnl for the "chainmesh" family: the socket and
 * family resolution, requests, replies, the kernel's refusals with their
 * extended ACK, and reading attributes. Shared by the chainmesh CLI and
 * selftests/vm/nltest; it prints nothing and never exits.
 */
#ifndef CM_NL_H
#define CM_NL_H

#include <stdbool.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

/* Big enough for any dump batch the kernel builds. */
#define CM_BUF_SIZE	65536
/* A request of one object. */
#define CM_REQ_SIZE	8192

struct cm_nl {
	struct mnl_socket *sk;
	unsigned int portid;
	unsigned int seq;
	uint16_t family;
	uint32_t mcgrp_monitor;
	char req[CM_REQ_SIZE] __attribute__((aligned(8)));
	char buf[CM_BUF_SIZE] __attribute__((aligned(8)));
};

/* One request: its reply callback, and what the kernel said if it refused. */
struct cm_talk {
	mnl_cb_t cb;
	void *data;
	int err;
	char msg[256];
	uint32_t miss_type;
	bool miss;
};

const char *cm_nl_open(struct cm_nl *nl);
int cm_nl_family(struct cm_nl *nl, struct cm_talk *t);
struct nlmsghdr *cm_msg(void *buf, uint16_t type, uint8_t cmd,
			uint16_t flags);
int cm_talk(struct cm_nl *nl, struct nlmsghdr *nlh, struct cm_talk *t);

void cm_parse(const struct nlmsghdr *nlh, const struct nlattr **tb,
	      unsigned int max);
void cm_parse_nested(const struct nlattr *nest, const struct nlattr **tb,
		     unsigned int max);

/* Attribute values, zero (or "") when absent or short. */
uint64_t a_u64(const struct nlattr *a);
uint32_t a_u32(const struct nlattr *a);
uint16_t a_u16(const struct nlattr *a);
uint8_t a_u8(const struct nlattr *a);
const char *a_str(const struct nlattr *a);

#endif /* CM_NL_H */
