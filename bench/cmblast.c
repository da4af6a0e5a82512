// SPDX-License-Identifier: GPL-2.0
/*
 * cmblast: UDP packet rate between two lab guests, for bench/chain.sh.
 * Built static (gcc -static), so the guests need nothing else.
 *
 *   cmblast send ADDR PORT SECS [SIZE]
 *	send SIZE-byte datagrams (default 64) as fast as the socket takes
 *	them for SECS seconds; prints "sent N errors E secs S pps P"
 *   cmblast recv PORT MAX_SECS IDLE_MS
 *	count datagrams until IDLE_MS passed without one (after the first)
 *	or MAX_SECS in all; prints "received N bytes B secs S pps P", S the
 *	time from the first to the last datagram
 *
 * The rate that counts is the receiver's: what made it through the chain.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cm_send(const char *addr, int port, double secs, int size)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	static char buf[65536];
	long sent = 0, errors = 0;
	double t0, t;
	int fd, i;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "cmblast: bad address %s\n", addr);
		return 2;
	}
	sa.sin_port = htons(port);
	if (size < 1 || size > (int)sizeof(buf))
		size = 64;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("cmblast: socket");
		return 1;
	}
	memset(buf, 0x5a, size);
	t0 = t = now();
	while (t - t0 < secs) {
		for (i = 0; i < 64; i++) {	/* the clock every 64 sends */
			if (send(fd, buf, size, 0) == size)
				sent++;
			else
				errors++;
		}
		t = now();
	}
	printf("sent %ld errors %ld secs %.3f pps %.0f\n", sent, errors,
	       t - t0, sent / (t - t0));
	return 0;
}

static int cm_recv(int port, double max_secs, int idle_ms)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	double start, first = 0, last = 0;
	long n = 0, bytes = 0;
	static char buf[65536];
	struct pollfd p;
	int fd, rcv = 4 << 20;

	sa.sin_port = htons(port);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("cmblast: socket");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	p.fd = fd;
	p.events = POLLIN;
	start = now();
	for (;;) {
		double t = now();
		int wait = n ? idle_ms : 100;
		ssize_t r;

		if (t - start > max_secs || (n && (t - last) * 1000 > idle_ms))
			break;
		if (poll(&p, 1, wait) <= 0)
			continue;
		while ((r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
			last = now();
			if (!n)
				first = last;
			n++;
			bytes += r;
		}
	}
	printf("received %ld bytes %ld secs %.3f pps %.0f\n", n, bytes,
	       last - first, n > 1 ? (n - 1) / (last - first) : 0.0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "send"))
		return cm_send(argv[2], atoi(argv[3]), atof(argv[4]),
			       argc > 5 ? atoi(argv[5]) : 64);
	if (argc == 5 && !strcmp(argv[1], "recv"))
		return cm_recv(atoi(argv[2]), atof(argv[3]), atoi(argv[4]));
	fprintf(stderr,
		"usage: cmblast send ADDR PORT SECS [SIZE]\n"
		"       cmblast recv PORT MAX_SECS IDLE_MS\n");
	return 2;
}
