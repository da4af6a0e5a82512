// SPDX-License-Identifier: GPL-2.0
/* XDP_PASS, declaring xdp.frags: a multi-buffer program, which a
 * chainmesh node hands frames of several buffers (GSO frames up to
 * 64 KiB) as one multi-buffer xdp_buff. */
#include <linux/bpf.h>

#define SEC(name) __attribute__((section(name), used))

SEC("xdp.frags")
int cm_xdp_frags_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
