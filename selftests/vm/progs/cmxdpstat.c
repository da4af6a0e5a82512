// SPDX-License-Identifier: GPL-2.0
/*
 * cmxdpstat: prints the per-source counters of xdp_count.o (the map
 * cm_src_pkts) without bpftool: finds the map by name through the bpf
 * syscall. Built static, like cmudp.
 *
 *   cmxdpstat [MAP]   "source A.B.C.D packets N bytes B" per entry
 */
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct cm_src_val {
	__u64 packets;
	__u64 bytes;
};

static long cm_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int cm_dump(int fd)
{
	struct cm_src_val v;
	__u32 key, next;
	union bpf_attr a;
	char addr[INET_ADDRSTRLEN];
	int first = 1, n = 0;

	for (;;) {
		memset(&a, 0, sizeof(a));
		a.map_fd = fd;
		a.key = first ? 0 : (__u64)(unsigned long)&key;
		a.next_key = (__u64)(unsigned long)&next;
		if (cm_bpf(BPF_MAP_GET_NEXT_KEY, &a))
			break;
		first = 0;
		key = next;
		memset(&a, 0, sizeof(a));
		a.map_fd = fd;
		a.key = (__u64)(unsigned long)&key;
		a.value = (__u64)(unsigned long)&v;
		if (cm_bpf(BPF_MAP_LOOKUP_ELEM, &a))
			continue;
		inet_ntop(AF_INET, &key, addr, sizeof(addr));
		printf("source %s packets %llu bytes %llu\n", addr,
		       (unsigned long long)v.packets, (unsigned long long)v.bytes);
		n++;
	}
	return n;
}

int main(int argc, char **argv)
{
	const char *want = argc > 1 ? argv[1] : "cm_src_pkts";
	struct bpf_map_info info;
	union bpf_attr a;
	__u32 id = 0;
	int fd, found = 0;

	for (;;) {
		memset(&a, 0, sizeof(a));
		a.start_id = id;
		if (cm_bpf(BPF_MAP_GET_NEXT_ID, &a))
			break;
		id = a.next_id;
		memset(&a, 0, sizeof(a));
		a.map_id = id;
		fd = cm_bpf(BPF_MAP_GET_FD_BY_ID, &a);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		memset(&a, 0, sizeof(a));
		a.info.bpf_fd = fd;
		a.info.info_len = sizeof(info);
		a.info.info = (__u64)(unsigned long)&info;
		if (!cm_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) &&
		    !strncmp(info.name, want, sizeof(info.name))) {
			found = 1;
			cm_dump(fd);
		}
		close(fd);
	}
	if (!found)
		fprintf(stderr, "cmxdpstat: no map %s\n", want);
	return !found;
}
