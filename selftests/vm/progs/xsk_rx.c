// SPDX-License-Identifier: GPL-2.0
/*
 * xsk_rx: count the frames an AF_XDP socket receives on queue 0 of a
 * device, for the chainmesh VM tests. No libbpf/libxdp in the guests: the
 * XSKMAP, the XDP program (redirect everything to the socket) and its
 * attachment (a BPF link, native mode) are made with the bpf syscall.
 *
 *   xsk_rx DEV IDLE_MS [MAX_S]   prints "listening", then, once no frame
 *                                came for IDLE_MS, "received N bytes B"
 */
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif

#define NFRAMES	256
#define FSIZE	4096

static int sys_bpf(int cmd, union bpf_attr *a)
{
	return syscall(__NR_bpf, cmd, a, sizeof(*a));
}

static void die(const char *what)
{
	fprintf(stderr, "xsk_rx: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int xsk_prog(int map_fd)
{
	struct bpf_insn insns[] = {
		/* r2 = ctx->rx_queue_index */
		{ .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = 2, .src_reg = 1,
		  .off = offsetof(struct xdp_md, rx_queue_index) },
		/* r1 = map */
		{ .code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = 1,
		  .src_reg = BPF_PSEUDO_MAP_FD, .imm = map_fd },
		{ 0 },
		/* r3 = XDP_PASS: what a miss returns */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 3, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_redirect_map },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	static char log[4096];
	union bpf_attr a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_XDP;
	a.insns = (uintptr_t)insns;
	a.insn_cnt = sizeof(insns) / sizeof(insns[0]);
	a.license = (uintptr_t)"GPL";
	a.log_buf = (uintptr_t)log;
	a.log_size = sizeof(log);
	a.log_level = 1;
	fd = sys_bpf(BPF_PROG_LOAD, &a);
	if (fd < 0) {
		fprintf(stderr, "%s", log);
		die("BPF_PROG_LOAD");
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct sockaddr_xdp sxdp = { .sxdp_family = AF_XDP };
	uint32_t *fq_prod, *rx_prod, *rx_cons, fprod, cons, key = 0;
	struct xdp_mmap_offsets off;
	int fd, map_fd, prog_fd, n = NFRAMES, idle_ms, max_s, i;
	struct xdp_umem_reg mr;
	socklen_t olen = sizeof(off);
	struct xdp_desc *rx_ring;
	long count = 0, bytes = 0;
	unsigned int ifindex;
	struct pollfd pfd;
	union bpf_attr a;
	uint64_t *fq_ring;
	void *umem, *fq, *rx;
	time_t end;

	if (argc < 3) {
		fprintf(stderr, "usage: xsk_rx DEV IDLE_MS [MAX_S]\n");
		return 2;
	}
	ifindex = if_nametoindex(argv[1]);
	if (!ifindex)
		die(argv[1]);
	idle_ms = atoi(argv[2]);
	max_s = argc > 3 ? atoi(argv[3]) : 60;

	umem = mmap(NULL, NFRAMES * FSIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (umem == MAP_FAILED)
		die("mmap umem");
	fd = socket(AF_XDP, SOCK_RAW, 0);
	if (fd < 0)
		die("socket(AF_XDP)");
	memset(&mr, 0, sizeof(mr));
	mr.addr = (uintptr_t)umem;
	mr.len = NFRAMES * FSIZE;
	mr.chunk_size = FSIZE;
	if (setsockopt(fd, SOL_XDP, XDP_UMEM_REG, &mr, sizeof(mr)) ||
	    setsockopt(fd, SOL_XDP, XDP_UMEM_FILL_RING, &n, sizeof(n)) ||
	    setsockopt(fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &n, sizeof(n)) ||
	    setsockopt(fd, SOL_XDP, XDP_RX_RING, &n, sizeof(n)))
		die("setsockopt(SOL_XDP)");
	if (getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &olen))
		die("XDP_MMAP_OFFSETS");
	fq = mmap(NULL, off.fr.desc + NFRAMES * sizeof(uint64_t),
		  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
		  XDP_UMEM_PGOFF_FILL_RING);
	rx = mmap(NULL, off.rx.desc + NFRAMES * sizeof(struct xdp_desc),
		  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
		  XDP_PGOFF_RX_RING);
	if (fq == MAP_FAILED || rx == MAP_FAILED)
		die("mmap rings");
	fq_prod = (uint32_t *)((char *)fq + off.fr.producer);
	fq_ring = (uint64_t *)((char *)fq + off.fr.desc);
	rx_prod = (uint32_t *)((char *)rx + off.rx.producer);
	rx_cons = (uint32_t *)((char *)rx + off.rx.consumer);
	rx_ring = (struct xdp_desc *)((char *)rx + off.rx.desc);

	sxdp.sxdp_ifindex = ifindex;
	sxdp.sxdp_queue_id = 0;
	sxdp.sxdp_flags = XDP_COPY;
	if (bind(fd, (struct sockaddr *)&sxdp, sizeof(sxdp)))
		die("bind");

	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_XSKMAP;
	a.key_size = 4;
	a.value_size = 4;
	a.max_entries = 1;
	map_fd = sys_bpf(BPF_MAP_CREATE, &a);
	if (map_fd < 0)
		die("BPF_MAP_CREATE");
	memset(&a, 0, sizeof(a));
	a.map_fd = map_fd;
	a.key = (uintptr_t)&key;
	a.value = (uintptr_t)&fd;
	if (sys_bpf(BPF_MAP_UPDATE_ELEM, &a))
		die("BPF_MAP_UPDATE_ELEM");
	prog_fd = xsk_prog(map_fd);
	memset(&a, 0, sizeof(a));
	a.link_create.prog_fd = prog_fd;
	a.link_create.target_ifindex = ifindex;
	a.link_create.attach_type = BPF_XDP;
	a.link_create.flags = XDP_FLAGS_DRV_MODE;
	if (sys_bpf(BPF_LINK_CREATE, &a) < 0)
		die("BPF_LINK_CREATE (native XDP)");

	for (i = 0; i < NFRAMES; i++)
		fq_ring[i] = (uint64_t)i * FSIZE;
	fprod = NFRAMES;
	__atomic_store_n(fq_prod, fprod, __ATOMIC_RELEASE);
	printf("listening %s\n", argv[1]);
	fflush(stdout);

	cons = 0;
	pfd.fd = fd;
	pfd.events = POLLIN;
	end = time(NULL) + max_s;
	while (time(NULL) < end) {
		uint32_t prod;

		if (poll(&pfd, 1, count ? idle_ms : 1000) <= 0) {
			if (count)
				break;
			continue;
		}
		prod = __atomic_load_n(rx_prod, __ATOMIC_ACQUIRE);
		for (; cons != prod; cons++) {
			struct xdp_desc *d = &rx_ring[cons & (NFRAMES - 1)];

			count++;
			bytes += d->len;
			fq_ring[fprod++ & (NFRAMES - 1)] = d->addr;
		}
		__atomic_store_n(rx_cons, cons, __ATOMIC_RELEASE);
		__atomic_store_n(fq_prod, fprod, __ATOMIC_RELEASE);
	}
	printf("received %ld bytes %ld\n", count, bytes);
	return 0;
}
