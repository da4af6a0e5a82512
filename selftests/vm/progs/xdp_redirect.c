// SPDX-License-Identifier: GPL-2.0
/* Every frame to the device CM_IFINDEX (set when building for a guest):
 * on a chainmesh device XDP_REDIRECT copies the frame into a page first. */
#include <linux/bpf.h>

#define SEC(name) __attribute__((section(name), used))

#ifndef CM_IFINDEX
#define CM_IFINDEX 4
#endif

static long (*bpf_redirect)(__u32 ifindex, __u64 flags) = (void *)BPF_FUNC_redirect;

SEC("xdp")
int cm_xdp_redirect(struct xdp_md *ctx)
{
	return bpf_redirect(CM_IFINDEX, 0);
}

char _license[] SEC("license") = "GPL";
