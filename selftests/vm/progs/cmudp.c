// SPDX-License-Identifier: GPL-2.0
/*
 * cmudp: a UDP sender and counter for the chainmesh VM tests (busybox has
 * no UDP netcat). Built static, so it needs nothing in the guest.
 *
 *   cmudp send ADDR PORT COUNT [SIZE]   send COUNT datagrams of SIZE bytes
 *                                       as fast as the socket takes them;
 *                                       prints "sent N errors E"
 *   cmudp recv PORT IDLE_MS [MAX_S]     count datagrams (IPv4 and IPv6)
 *                                       until none came for IDLE_MS;
 *                                       prints "received N bytes B"
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

static int cm_send(const char *addr, int port, long count, int size)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	struct sockaddr *sa;
	long sent = 0, errors = 0, i;
	static char buf[65536];
	socklen_t salen;
	int fd;

	if (inet_pton(AF_INET, addr, &s4.sin_addr) == 1) {
		s4.sin_port = htons(port);
		sa = (struct sockaddr *)&s4;
		salen = sizeof(s4);
	} else if (inet_pton(AF_INET6, addr, &s6.sin6_addr) == 1) {
		s6.sin6_port = htons(port);
		sa = (struct sockaddr *)&s6;
		salen = sizeof(s6);
	} else {
		fprintf(stderr, "cmudp: bad address %s\n", addr);
		return 2;
	}
	if (size < 1 || size > (int)sizeof(buf))
		size = 64;
	fd = socket(sa->sa_family, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	for (i = 0; i < count; i++) {
		snprintf(buf, size, "cmudp %ld", i);
		if (sendto(fd, buf, size, 0, sa, salen) == size)
			sent++;
		else
			errors++;
	}
	printf("sent %ld errors %ld\n", sent, errors);
	return 0;
}

static int cm_recv(int port, int idle_ms, int max_s)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	long n = 0, bytes = 0;
	static char buf[65536];
	struct pollfd pfd;
	time_t end;
	int fd, off = 0;

	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	s6.sin6_port = htons(port);
	s6.sin6_addr = in6addr_any;
	if (bind(fd, (struct sockaddr *)&s6, sizeof(s6))) {
		perror("bind");
		return 1;
	}
	/* Tell the caller we listen (it polls for this line). */
	printf("listening %d\n", port);
	fflush(stdout);
	end = time(NULL) + max_s;
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (time(NULL) < end) {
		ssize_t r;

		/* Wait for the first datagram up to max_s, then for idle_ms. */
		if (poll(&pfd, 1, n ? idle_ms : 1000) <= 0) {
			if (n)
				break;
			continue;
		}
		r = recv(fd, buf, sizeof(buf), 0);
		if (r >= 0) {
			n++;
			bytes += r;
		}
	}
	printf("received %ld bytes %ld\n", n, bytes);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "send"))
		return cm_send(argv[2], atoi(argv[3]), atol(argv[4]),
			       argc > 5 ? atoi(argv[5]) : 64);
	if (argc >= 4 && !strcmp(argv[1], "recv"))
		return cm_recv(atoi(argv[2]), atoi(argv[3]),
			       argc > 4 ? atoi(argv[4]) : 60);
	fprintf(stderr, "usage: cmudp send ADDR PORT COUNT [SIZE] | recv PORT IDLE_MS [MAX_S]\n");
	return 2;
}
