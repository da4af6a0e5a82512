// SPDX-License-Identifier: GPL-2.0
/* XDP_PASS: gives a veth peer the NAPI that XDP redirects need. */
#include <linux/bpf.h>

#define SEC(name) __attribute__((section(name), used))

SEC("xdp")
int cm_xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
