// SPDX-License-Identifier: GPL-2.0
/*
 * cmflows: many long-lived TCP and UDP connections for the chainmesh
 * replica group test (selftests/vm/chains.sh). Built static.
 *
 *   cmflows serve PORT
 *       echo every TCP connection and UDP datagram on PORT, forever
 *   cmflows run ADDR PORT NTCP NUDP SECONDS [INTERVAL_MS]
 *       open NTCP TCP connections and NUDP connected UDP sockets to
 *       ADDR:PORT, each from its own port; every INTERVAL_MS (500) each
 *       sends 8 bytes and takes back their echo. After SECONDS, one line
 *       per connection:
 *         tcp|udp SPORT replies R errors E maxgap_ms G
 *       (G: the longest time it went without an echo, E: send or receive
 *       errors, a reset among them), then "total C errors E".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CMF_MAX		1024
#define CMF_MSG		8

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static int serve(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	static struct pollfd p[CMF_MAX + 2];
	int n = 2, one = 1, i;
	char buf[2048];

	p[0].fd = socket(AF_INET, SOCK_STREAM, 0);
	p[1].fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (p[0].fd < 0 || p[1].fd < 0)
		return perror("socket"), 1;
	setsockopt(p[0].fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(p[0].fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    bind(p[1].fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(p[0].fd, 512))
		return perror("bind"), 1;
	p[0].events = p[1].events = POLLIN;
	printf("listening %d\n", port);
	fflush(stdout);
	for (;;) {
		if (poll(p, n, -1) < 0 && errno != EINTR)
			return perror("poll"), 1;
		if ((p[0].revents & POLLIN) && n < CMF_MAX + 2) {
			int fd = accept(p[0].fd, NULL, NULL);

			if (fd >= 0) {
				p[n].fd = fd;
				p[n++].events = POLLIN;
			}
		}
		if (p[1].revents & POLLIN) {
			struct sockaddr_in from;
			socklen_t fl = sizeof(from);
			ssize_t r = recvfrom(p[1].fd, buf, sizeof(buf), 0,
					     (struct sockaddr *)&from, &fl);

			if (r > 0)
				sendto(p[1].fd, buf, r, 0,
				       (struct sockaddr *)&from, fl);
		}
		for (i = 2; i < n; i++) {
			ssize_t r;

			if (!p[i].revents)
				continue;
			r = read(p[i].fd, buf, sizeof(buf));
			if (r > 0 && write(p[i].fd, buf, r) == r)
				continue;
			close(p[i].fd);
			p[i--] = p[--n];
		}
	}
}

struct conn {
	int fd;
	int tcp;
	int sport;
	long replies, errors, last, maxgap;
	int pending;	/* echo bytes still due (TCP: a stream) */
};

static int run(const char *addr, int port, int ntcp, int nudp, int secs,
	       int ival)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	static struct pollfd p[CMF_MAX];
	static struct conn c[CMF_MAX];
	long start, end, next, t, errors = 0;
	int n = ntcp + nudp, i;
	char buf[2048];

	if (n > CMF_MAX || inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return fprintf(stderr, "cmflows: bad arguments\n"), 2;
	for (i = 0; i < n; i++) {
		struct sockaddr_in me;
		socklen_t ml = sizeof(me);

		c[i].tcp = i < ntcp;
		c[i].fd = socket(AF_INET, c[i].tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
		if (c[i].fd < 0 ||
		    connect(c[i].fd, (struct sockaddr *)&sa, sizeof(sa)))
			return perror("connect"), 1;
		getsockname(c[i].fd, (struct sockaddr *)&me, &ml);
		c[i].sport = ntohs(me.sin_port);
		fcntl(c[i].fd, F_SETFL, O_NONBLOCK);
		p[i].fd = c[i].fd;
		p[i].events = POLLIN;
	}
	printf("connected %d\n", n);
	fflush(stdout);
	start = now_ms();
	end = start + secs * 1000L;
	for (i = 0; i < n; i++)
		c[i].last = start;
	for (next = start; (t = now_ms()) < end;) {
		if (t >= next) {
			memset(buf, 'x', CMF_MSG);
			for (i = 0; i < n; i++) {
				if (send(c[i].fd, buf, CMF_MSG, 0) == CMF_MSG)
					c[i].pending += CMF_MSG;
				else if (errno != EAGAIN)
					c[i].errors++;
			}
			next += ival;
			continue;
		}
		if (poll(p, n, (int)(next - t)) < 0 && errno != EINTR)
			return perror("poll"), 1;
		t = now_ms();
		for (i = 0; i < n; i++) {
			ssize_t r;

			if (!p[i].revents)
				continue;
			r = recv(c[i].fd, buf, sizeof(buf), 0);
			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				c[i].errors++;	/* reset, or closed */
				p[i].fd = -1;
				continue;
			}
			if (t - c[i].last > c[i].maxgap)
				c[i].maxgap = t - c[i].last;
			c[i].last = t;
			c[i].replies++;
		}
	}
	for (i = 0; i < n; i++) {
		if (end - c[i].last > c[i].maxgap)
			c[i].maxgap = end - c[i].last;
		errors += c[i].errors;
		printf("%s %d replies %ld errors %ld maxgap_ms %ld\n",
		       c[i].tcp ? "tcp" : "udp", c[i].sport, c[i].replies,
		       c[i].errors, c[i].maxgap);
	}
	printf("total %d errors %ld\n", n, errors);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "serve"))
		return serve(atoi(argv[2]));
	if ((argc == 7 || argc == 8) && !strcmp(argv[1], "run"))
		return run(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]),
			   atoi(argv[6]), argc == 8 ? atoi(argv[7]) : 500);
	fprintf(stderr, "usage: cmflows serve PORT | cmflows run ADDR PORT NTCP NUDP SECONDS [INTERVAL_MS]\n");
	return 2;
}
