// SPDX-License-Identifier: GPL-2.0
/*
 * cmlfwd: a libchainmesh node for bench/memif.sh, busy polling (no tick
 * thread, never sleeps), as a DPDK forwarding core does.
 *
 *   cmlfwd -S SOCK gen  -c CHAIN [-s SIZE] [-d SECS]
 *	SIZE-byte frames (default 64) along CHAIN from hop 0, as fast as
 *	the next node takes them (cml_send(): a copy into our pool, as
 *	testpmd's txonly writes its mbufs)
 *   cmlfwd -S SOCK fwd [-d SECS] [-i POLLS]
 *	every frame received goes on zero copy (cml_forward()); then POLLS
 *	polls more (cmlfwd_idle(): what an empty poll costs)
 *   cmlfwd -S SOCK sink [-d SECS] [-w WARMUP]
 *	counts frames and gives them back; prints "cmlfwd: pps P" for each
 *	second after WARMUP seconds (default 2) and at the end
 *	"cmlfwd: median-pps M"
 *
 * Every mode runs for SECS seconds (default 10), then leaves the mesh.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <chainmesh/libchainmesh.h>

#include "median.h"

#define CMLFWD_BURST	32
#define CMLFWD_MAX_SECS	600

static double cmlfwd_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void cmlfwd_frame(uint8_t *f, unsigned int size)
{
	static const uint8_t hdr[] = {
		0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00,
		/* IPv4, 10.0.0.1 -> 10.0.0.2, UDP */
		0x45, 0, 0, 50, 0, 0, 0x40, 0, 64, 17, 0, 0,
		10, 0, 0, 1, 10, 0, 0, 2,
		/* 1234 -> 1234 */
		0x04, 0xd2, 0x04, 0xd2, 0, 30, 0, 0,
	};

	memset(f, 0, size);
	memcpy(f, hdr, sizeof(hdr) < size ? sizeof(hdr) : size);
}

static int cmlfwd_gen(struct cml_node *n, unsigned int chain,
		      unsigned int size, double end)
{
	struct cml_ctx ctx = { .chain = (uint16_t)chain, .hop = 0 };
	struct cml_buf bufs[CMLFWD_BURST];
	uint8_t frame[2048];
	unsigned long sent = 0;
	int i, got, err;

	cmlfwd_frame(frame, size);
	while (cmlfwd_now() < end) {
		/* our buffers back (and anything sent to us, released) */
		got = cml_rx_burst(n, bufs, CMLFWD_BURST);
		if (got > 0)
			cml_release(n, bufs, got);
		for (i = 0; i < CMLFWD_BURST; i++) {
			err = cml_send(n, frame, size, &ctx);
			if (err == -EAGAIN || err == -ENOBUFS)
				break;
			/* the chain's next node not up (yet): dropped */
			if (err && err != -EHOSTDOWN && err != -ENOENT) {
				fprintf(stderr, "cmlfwd: send: %s\n", strerror(-err));
				return 1;
			}
			sent += !err;
		}
		cml_flush(n);
	}
	printf("cmlfwd: sent %lu\n", sent);
	return 0;
}

__attribute__((noinline))
int cmlfwd_fwd(struct cml_node *n, double end)
{
	struct cml_buf bufs[CMLFWD_BURST];
	unsigned long fwd = 0, spin = 0, empty = 0;
	int held = 0, got, done;

	/* the clock every 1024 polls: it costs more than an empty poll */
	while ((++spin & 1023) || cmlfwd_now() < end) {
		got = cml_rx_burst(n, bufs + held, CMLFWD_BURST - held);
		if (got > 0)
			held += got;
		else
			empty++;
		if (!held)
			continue;
		/* what the next node had no room for waits for the next turn */
		done = cml_forward(n, bufs, held);
		fwd += (unsigned long)done;
		held -= done;
		if (held)
			memmove(bufs, bufs + done, (size_t)held * sizeof(*bufs));
		cml_flush(n);
	}
	cml_release(n, bufs, held);
	cml_flush(n);
	printf("cmlfwd: forwarded %lu polls %lu empty %lu\n", fwd, spin, empty);
	return 0;
}

/* @polls polls with nothing to receive (the generator stopped): what an
 * empty poll costs, for bench/memif.sh's instruction count. */
__attribute__((noinline))
void cmlfwd_idle(struct cml_node *n, unsigned long polls)
{
	struct cml_buf bufs[CMLFWD_BURST];
	unsigned long i, got = 0;
	int k;

	for (i = 0; i < polls; i++) {
		k = cml_rx_burst(n, bufs, CMLFWD_BURST);
		if (k > 0) {
			got += (unsigned long)k;
			cml_release(n, bufs, k);
		}
	}
	cml_flush(n);
	printf("cmlfwd: idle %lu got %lu\n", polls, got);
}

static int cmlfwd_sink(struct cml_node *n, double end, double warmup)
{
	double pps[CMLFWD_MAX_SECS], mark, t;
	struct cml_buf bufs[CMLFWD_BURST];
	unsigned long count = 0;
	bool measuring = false;
	int got, k = 0;

	mark = cmlfwd_now() + warmup;
	while ((t = cmlfwd_now()) < end) {
		got = cml_rx_burst(n, bufs, CMLFWD_BURST);
		if (got > 0) {
			count += (unsigned long)got;
			cml_release(n, bufs, got);
			cml_flush(n);
		}
		if (!measuring) {
			if (t >= mark) {
				measuring = true;
				mark = t;
				count = 0;
			}
		} else if (t >= mark + 1.0) {
			if (k < CMLFWD_MAX_SECS) {
				pps[k] = (double)count / (t - mark);
				printf("cmlfwd: pps %.0f\n", pps[k++]);
				fflush(stdout);
			}
			count = 0;
			mark = t;
		}
	}
	if (!k) {
		fprintf(stderr, "cmlfwd: no full second measured\n");
		return 1;
	}
	printf("cmlfwd: median-pps %.0f\n", median(pps, k));
	return 0;
}

static void cmlfwd_usage(void)
{
	fprintf(stderr, "usage: cmlfwd -S SOCK gen -c CHAIN [-s SIZE] [-d SECS]\n"
			"       cmlfwd -S SOCK fwd [-d SECS] [-i POLLS]\n"
			"       cmlfwd -S SOCK sink [-d SECS] [-w WARMUP]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct cml_config cfg = { .flags = CML_F_QUIET | CML_F_BUSY_POLL };
	unsigned int chain = 0, size = 64;
	unsigned long idle = 0;
	double secs = 10, warmup = 2, end;
	struct cml_node *n;
	const char *mode;
	int opt, err, rc;

	while ((opt = getopt(argc, argv, "+S:")) != -1) {
		if (opt != 'S')
			cmlfwd_usage();
		cfg.socket = optarg;
	}
	if (!cfg.socket || optind >= argc)
		cmlfwd_usage();
	mode = argv[optind];
	optind++;
	while ((opt = getopt(argc, argv, "c:s:d:w:i:")) != -1) {
		switch (opt) {
		case 'i': idle = strtoul(optarg, NULL, 0); break;
		case 'c': chain = (unsigned int)atoi(optarg); break;
		case 's': size = (unsigned int)atoi(optarg); break;
		case 'd': secs = atof(optarg); break;
		case 'w': warmup = atof(optarg); break;
		default: cmlfwd_usage();
		}
	}
	if (size < 60 || size > 2048 || secs <= 0 || secs > CMLFWD_MAX_SECS)
		cmlfwd_usage();
	err = cml_attach(&cfg, &n);
	if (!err)
		err = cml_join(n);
	if (err) {
		fprintf(stderr, "cmlfwd: %s\n", strerror(-err));
		return 1;
	}
	printf("cmlfwd: node %u joined, %s\n", cml_node_id(n), mode);
	fflush(stdout);
	end = cmlfwd_now() + secs;
	if (!strcmp(mode, "gen") && chain)
		rc = cmlfwd_gen(n, chain, size, end);
	else if (!strcmp(mode, "fwd"))
		rc = cmlfwd_fwd(n, end);
	if (!strcmp(mode, "fwd") && idle)
		cmlfwd_idle(n, idle);
	else if (!strcmp(mode, "sink"))
		rc = cmlfwd_sink(n, end, warmup);
	else
		cmlfwd_usage();
	cml_close(n);
	return rc;
}
