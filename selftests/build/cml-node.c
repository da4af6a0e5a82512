// SPDX-License-Identifier: GPL-2.0
/*
 * cml-node: a libchainmesh node for the userspace mesh test
 * (selftests/build/userspace.sh), built against the INSTALLED library
 * through its pkg-config file.
 *
 *   cml-node {-S SOCK | -P PCI-DIR} [-q] MODE [--count N] [--size S]
 *            [--chain C] [--duration T] [--owner N] [--wait N[,N...]]
 *            [--no-judge] [--flows F]
 *
 * -S: attach through chainmesh-ivshmemd's socket (on the host); -P: inside
 * a guest, through the ivshmem device's BARs, the sysfs directory of the
 * PCI device (/sys/bus/pci/devices/D: resource0, resource2), polling
 * (selftests/vm/dpdk.sh runs it so as a hop).
 *
 *   source   N IPv4/UDP frames of S bytes, classified by the node's flow
 *            table (or following --chain C from hop 0), sequence number in
 *            the payload; waits until every buffer is home
 *   forward  every frame received goes on zero copy (cml_forward()) until
 *            --count frames or --duration seconds
 *   sink     counts frames, checks order and the payload, gives them back,
 *            until --count frames (0: no limit) or --duration seconds
 *
 * --flows F: the source's frames belong to F flows (UDP source ports
 * 40000 + seq % F: on a mesh of several queues, several lanes); order is
 * checked per flow (frames of different lanes may pass each other).
 * --owner N: count frames whose buffer is not from node N's pool;
 * --wait: first wait until these nodes are up (and 1 s more, for
 * the others to see them too); --no-judge: never judge a
 * peer broken (bad_limit 0, as chaos.sh sets on its victims).
 *
 * Every mode prints the buffer offsets it saw ("offsets HASH" over the
 * sequence of offsets in the order of the frames) so the test can compare
 * them between hops, and a final "cml-node: stats ..." line:
 * rx tx fwd fwd_drops tx_drops rx_drops bad bad_chain judged pool_free
 * pool_size order_errors payload_errors. Exit 0, 1 on error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include <chainmesh/libchainmesh.h>

#define BURST	32

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* FNV-1a over the offsets, in frame order. */
static void hash_off(uint64_t *h, uint64_t off)
{
	int i;

	for (i = 0; i < 8; i++) {
		*h ^= (off >> (8 * i)) & 0xff;
		*h *= 0x100000001b3ull;
	}
}

#define CML_NODE_MAX_FLOWS	256

static void build(uint8_t *f, uint32_t len, uint32_t seq, uint32_t flows)
{
	uint32_t sport = 40000 + seq % flows;

	uint8_t *ip = f + 14, *udp = ip + 20;
	uint32_t i;

	memset(f, 0, 42);
	f[12] = 0x08;			/* dest MAC: set by the library */
	ip[0] = 0x45;
	ip[2] = (len - 14) >> 8;
	ip[3] = (len - 14) & 0xff;
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = 10; ip[15] = 1;	/* 10.0.0.1 -> 10.0.0.2 */
	ip[16] = 10; ip[19] = 2;
	udp[0] = sport >> 8;
	udp[1] = sport & 0xff;
	udp[2] = 0x04; udp[3] = 0xd2;	/* dport 1234 */
	udp[4] = (len - 34) >> 8;
	udp[5] = (len - 34) & 0xff;
	memcpy(f + 42, &seq, 4);
	for (i = 46; i < len; i++)
		f[i] = (uint8_t)(seq + i);
}

static bool payload_ok(const uint8_t *f, uint32_t len, uint32_t seq)
{
	uint32_t i;

	for (i = 46; i < len; i++)
		if (f[i] != (uint8_t)(seq + i))
			return false;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "chain", required_argument, NULL, 'C' },
		{ "duration", required_argument, NULL, 'd' },
		{ "owner", required_argument, NULL, 'o' },
		{ "wait", required_argument, NULL, 'w' },
		{ "no-judge", no_argument, NULL, 'J' },
		{ "flows", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	struct cml_config cfg = { .flags = 0 };
	uint64_t count = 100, got = 0, sent = 0, hash = 0xcbf29ce484222325ull;
	uint64_t order_err = 0, payload_err = 0, owner_err = 0, end;
	const char *wait_for = NULL;
	uint64_t settle;
	int owner = -1;
	uint32_t size = 128, flows = 1, flow, seq, i;
	static uint32_t expect[CML_NODE_MAX_FLOWS];
	int chain = -1, duration = 30, opt, err, n, ret = 0;
	struct cml_buf bufs[BURST];
	struct cml_node *node;
	struct cml_stats st;
	struct cml_ctx ctx;
	const char *mode;
	uint8_t frame[2048];
	struct sigaction sa;

	while ((opt = getopt_long(argc, argv, "S:P:q", lopts, NULL)) != -1) {
		switch (opt) {
		case 'S': cfg.socket = optarg; break;
		case 'P': cfg.pci = optarg; break;
		case 'q': cfg.flags |= CML_F_QUIET; break;
		case 'c': count = strtoull(optarg, NULL, 0); break;
		case 's': size = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'C': chain = atoi(optarg); break;
		case 'd': duration = atoi(optarg); break;
		case 'o': owner = atoi(optarg); break;
		case 'w': wait_for = optarg; break;
		case 'J': cfg.bad_limit = CML_NEVER; break;
		case 'F': flows = (uint32_t)strtoul(optarg, NULL, 0); break;
		default: return 2;
		}
	}
	if (optind != argc - 1 || !cfg.socket == !cfg.pci || size < 46 || size > sizeof(frame) ||
	    flows < 1 || flows > CML_NODE_MAX_FLOWS)
		return 2;
	mode = argv[optind];
	/* flow f's first frame is frame f */
	for (i = 0; i < flows; i++)
		expect[i] = i;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* The sink ticks from a helper thread, the others from their loop. */
	if (!strcmp(mode, "sink"))
		cfg.flags |= CML_F_TICK_THREAD;
	err = cml_attach(&cfg, &node);
	if (!err)
		err = cml_join(node);
	if (err) {
		fprintf(stderr, "cml-node: %s\n", strerror(-err));
		return 1;
	}
	printf("cml-node: node %u joined, %s\n", cml_node_id(node), mode);
	fflush(stdout);
	end = now_ms() + (uint64_t)duration * 1000;
	/* --wait N[,N...]: until these nodes are up, as this node sees them */
	while (wait_for && !stop && now_ms() < end) {
		const char *p = wait_for;
		bool all = true;
		char *e;

		while (*p) {
			if (!cml_peer_up(node, (uint32_t)strtoul(p, &e, 0)))
				all = false;
			p = *e ? e + 1 : e;
		}
		if (all) {
			/* Each node learns of the others at its own tick:
			 * give the rest of the chain ten to see them too. */
			settle = now_ms() + 1000;
			while (!stop && now_ms() < settle) {
				n = cml_rx_burst(node, bufs, BURST);
				cml_release(node, bufs, n);
				cml_flush(node);
				cml_wait(node, 10);
			}
			break;
		}
		n = cml_rx_burst(node, bufs, BURST);
		cml_release(node, bufs, n);
		cml_flush(node);
		cml_wait(node, 10);
	}

	if (!strcmp(mode, "source")) {
		ctx.chain = (uint16_t)chain;
		ctx.hop = 0;
		while (!stop && sent < count && now_ms() < end) {
			/* Our buffers back first, the tick when due. */
			n = cml_rx_burst(node, bufs, BURST);
			cml_release(node, bufs, n);
			for (i = 0; i < BURST && sent < count; i++) {
				build(frame, size, (uint32_t)sent, flows);
				err = cml_send(node, frame, size,
					       chain >= 0 ? &ctx : NULL);
				if (err)
					break;
				sent++;
			}
			cml_flush(node);
			/* -EHOSTDOWN until the next hop is up, -ENOBUFS or
			 * -EAGAIN while it is behind: sleep on the doorbell. */
			if (err && err != -EHOSTDOWN && err != -ENOBUFS &&
			    err != -EAGAIN && err != -ENOENT) {
				fprintf(stderr, "cml-node: send: %s\n", strerror(-err));
				ret = 1;
				break;
			}
			if (err)
				cml_wait(node, 10);
		}
		/* Every buffer home. */
		end = now_ms() + 5000;
		do {
			n = cml_rx_burst(node, bufs, BURST);
			cml_release(node, bufs, n);
			cml_flush(node);
			cml_get_stats(node, &st);
			if (st.pool_free == st.pool_size)
				break;
			cml_wait(node, 10);
		} while (!stop && now_ms() < end);
		if (sent < count)
			ret = 1;
	} else if (!strcmp(mode, "forward") || !strcmp(mode, "sink")) {
		bool fwd = !strcmp(mode, "forward");

		while (!stop && (!count || got < count) && now_ms() < end) {
			n = cml_rx_burst(node, bufs, BURST);
			for (i = 0; i < (uint32_t)n; i++) {
				hash_off(&hash, bufs[i].offset);
				if (owner >= 0 && bufs[i].owner != (uint32_t)owner)
					owner_err++;
				/* order and payload: of our own frames
				 * (UDP to port 1234) only, not of the
				 * traffic of a lab chain we forward */
				if (bufs[i].len < 46 || bufs[i].data[23] != 17 ||
				    bufs[i].data[36] != 0x04 ||
				    bufs[i].data[37] != 0xd2)
					continue;
				memcpy(&seq, bufs[i].data + 42, 4);
				flow = ((uint32_t)bufs[i].data[34] << 8 |
					bufs[i].data[35]) - 40000;
				if (flow >= flows) {
					order_err++;
				} else {
					if (seq != expect[flow])
						order_err++;
					expect[flow] = seq + flows;
				}
				if (!payload_ok(bufs[i].data, bufs[i].len, seq))
					payload_err++;
			}
			got += (uint64_t)n;
			if (!fwd) {
				cml_release(node, bufs, n);
				cml_flush(node);
				if (n < BURST)
					cml_wait(node, 10);
				continue;
			}
			/* Backpressure: what the next hop has no room for
			 * yet stays ours, read nothing more until it went. */
			for (i = 0; (int)i < n && !stop && now_ms() < end; ) {
				i += (uint32_t)cml_forward(node, bufs + i,
							   n - (int)i);
				cml_flush(node);
				if ((int)i < n)
					cml_wait(node, 10);
			}
			cml_release(node, bufs + i, n - (int)i);
			cml_flush(node);
			if (n < BURST)
				cml_wait(node, 10);
		}
		/* Stay a moment: the sender waits for its buffers. */
		end = now_ms() + 300;
		while (!stop && now_ms() < end) {
			n = cml_rx_burst(node, bufs, BURST);
			cml_release(node, bufs, n);
			cml_flush(node);
			cml_wait(node, 10);
		}
		if (count && got < count)
			ret = 1;
	} else {
		fprintf(stderr, "cml-node: unknown mode %s\n", mode);
		ret = 2;
	}

	cml_get_stats(node, &st);
	printf("cml-node: offsets %016" PRIx64 " frames %" PRIu64 "\n", hash,
	       got ? got : sent);
	printf("cml-node: stats node %u rx %" PRIu64 " tx %" PRIu64 " fwd %" PRIu64
	       " fwd_drops %" PRIu64 " tx_drops %" PRIu64 " rx_drops %" PRIu64
	       " bad %" PRIu64 " bad_chain %" PRIu64 " judged %" PRIu64
	       " pool_free %u pool_size %u order_errors %" PRIu64
	       " payload_errors %" PRIu64 " owner_errors %" PRIu64 " tx_busy %" PRIu64
	       " bad_addr %" PRIu64 " bad_align %" PRIu64 " bad_owner %" PRIu64
	       " bad_len %" PRIu64 " bad_index %" PRIu64 " bad_return %" PRIu64
	       " kicks_sent %" PRIu64 " kicks_got %"
	       PRIu64 "\n", cml_node_id(node), st.rx_packets, st.tx_packets,
	       st.forwarded, st.forward_drops, st.tx_drops, st.rx_drops, st.bad,
	       st.bad_chain, st.judged, st.pool_free, st.pool_size, order_err,
	       payload_err, owner_err, st.tx_busy, st.bad_addr, st.bad_align, st.bad_owner,
	       st.bad_len, st.bad_index, st.bad_return, st.kicks_sent,
	       st.kicks_got);
	fflush(stdout);
	cml_close(node);
	return ret;
}
