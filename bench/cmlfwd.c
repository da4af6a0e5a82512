// SPDX-License-Identifier: GPL-2.0
/*
 * cmlfwd: a libchainmesh node for bench/memif.sh, busy polling (no tick
 * thread, never sleeps), as a DPDK forwarding core does.
 *
 *   cmlfwd -S SOCK gen  -c CHAIN [-s SIZE] [-d SECS]
 *	SIZE-byte frames (default 64) along CHAIN from hop 0, as fast as
 *	the next node takes them (cml_send(): a copy into our pool, as
 *	testpmd's txonly writes its mbufs)
 *   cmlfwd -S SOCK fwd [-d SECS]
 *	every frame received goes on zero copy (cml_forward())
 *   cmlfwd -S SOCK sink [-d SECS] [-w WARMUP]
 *	counts frames and gives them back; prints "cmlfwd: pps P" for each
 *	second after WARMUP seconds (default 2) and at the end
 *	"cmlfwd: median-pps M"
 *
 *   cmlfwd -S SOCK hop [-n FRAMES]
 *	generator, forwarder and sink as nodes 1, 2, 3 of one process, in
 *	turn: FRAMES frames (default 32768) in bursts of 32, the forwarder's
 *	polls in cmlfwd_hop() (for callgrind)
 *
 * Every mode but hop runs for SECS seconds (default 10), then leaves the
 * mesh.
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

/* The forwarding hop of "cmlfwd hop": one poll, its frames on. */
__attribute__((noinline))
int cmlfwd_hop(struct cml_node *n, struct cml_buf *bufs)
{
	int got = cml_rx_burst(n, bufs, CMLFWD_BURST), done = 0;

	if (got > 0)
		done = cml_forward(n, bufs, got);
	cml_flush(n);
	return got == done ? done : -1;
}

/*
 * "cmlfwd hop": generator, forwarder and sink as three nodes of one
 * process, in turn, so that every poll of the forwarder finds a full
 * burst of 32 (as hop_bench's kernel loop does): for callgrind with
 * --toggle-collect=cmlfwd_hop, instructions per frame = Ir / @frames.
 */
static int cmlfwd_one_process(struct cml_config *cfg, unsigned long frames)
{
	struct cml_ctx ctx = { .chain = 1, .hop = 0 };
	struct cml_buf bufs[CMLFWD_BURST];
	struct cml_node *n[3] = { NULL };
	unsigned long moved = 0;
	uint8_t frame[64];
	int i, k, got, rc = 1;

	cmlfwd_frame(frame, sizeof(frame));
	/* nodes 1, 2, 3: the daemon hands out the lowest free id */
	for (i = 0; i < 3; i++)
		if (cml_attach(cfg, &n[i]) || cml_join(n[i]))
			goto out;
	for (i = 0; i < 50; i++) {	/* everyone sees everyone up */
		for (k = 0; k < 3; k++) {
			got = cml_rx_burst(n[k], bufs, CMLFWD_BURST);
			if (got > 0)
				cml_release(n[k], bufs, got);
		}
		usleep(20000);
	}
	while (moved < frames) {
		for (k = 0; k < CMLFWD_BURST; k++) {
			int err = cml_send(n[0], frame, sizeof(frame), &ctx);

			if (err) {
				fprintf(stderr, "cmlfwd: hop: send: %s\n",
					strerror(-err));
				goto out;
			}
		}
		cml_flush(n[0]);
		if (cmlfwd_hop(n[1], bufs) != CMLFWD_BURST)
			goto out;
		got = cml_rx_burst(n[2], bufs, CMLFWD_BURST);
		if (got != CMLFWD_BURST)
			goto out;
		cml_release(n[2], bufs, got);
		cml_flush(n[2]);
		moved += (unsigned long)got;
		/* our buffers back at the generator */
		got = cml_rx_burst(n[0], bufs, CMLFWD_BURST);
		if (got > 0)
			cml_release(n[0], bufs, got);
	}
	printf("cmlfwd: hop %lu frames, bursts of %d\n", moved, CMLFWD_BURST);
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "cmlfwd: hop: a burst did not go through (after %lu)\n",
			moved);
	for (i = 2; i >= 0; i--)
		cml_close(n[i]);
	return rc;
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
			"       cmlfwd -S SOCK fwd [-d SECS]\n"
			"       cmlfwd -S SOCK sink [-d SECS] [-w WARMUP]\n"
			"       cmlfwd -S SOCK hop [-n FRAMES]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct cml_config cfg = { .flags = CML_F_QUIET | CML_F_BUSY_POLL };
	unsigned int chain = 0, size = 64;
	unsigned long frames = 0;
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
	while ((opt = getopt(argc, argv, "c:s:d:w:n:")) != -1) {
		switch (opt) {
		case 'n': frames = strtoul(optarg, NULL, 0); break;
		case 'c': chain = (unsigned int)atoi(optarg); break;
		case 's': size = (unsigned int)atoi(optarg); break;
		case 'd': secs = atof(optarg); break;
		case 'w': warmup = atof(optarg); break;
		default: cmlfwd_usage();
		}
	}
	if (size < 60 || size > 2048 || secs <= 0 || secs > CMLFWD_MAX_SECS)
		cmlfwd_usage();
	if (!strcmp(mode, "hop"))
		return cmlfwd_one_process(&cfg, frames ? frames : 32768);
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
	else if (!strcmp(mode, "sink"))
		rc = cmlfwd_sink(n, end, warmup);
	else
		cmlfwd_usage();
	cml_close(n);
	return rc;
}
