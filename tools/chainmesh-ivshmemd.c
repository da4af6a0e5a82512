// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh-ivshmemd: a server for QEMU's ivshmem-doorbell device.
 *
 * Speaks the ivshmem client-server protocol (QEMU docs/specs/ivshmem-spec.rst):
 * every message is one little-endian int64, optionally with one fd passed by
 * SCM_RIGHTS. On connect a client receives, in order:
 *
 *   0              protocol version
 *   ID             its peer id
 *   -1 + memfd     the shared region
 *   P + efd[v]     for every other peer P and every vector v (in order)
 *   ID + efd[v]    its own eventfds, one per vector (in order)
 *
 * and every other peer receives "ID + efd[v]" for each vector of the new
 * one.
 *
 * When a client goes away its eventfds are KEPT and the others are NOT
 * told: QEMU's ivshmem (7.2 at least) frees a departed peer's eventfd
 * array on that message but never allocates it again, so a later client
 * with the same id makes every other QEMU write into freed memory (heap
 * corruption, "malloc(): unaligned fastbin chunk detected"). Instead an
 * id's eventfds outlive its clients: a client that takes the id again gets
 * the same eventfds as its own, which the others already hold, and nobody
 * else hears of it. Ringing an absent peer only bumps an eventfd counter.
 *
 * Peer ids are deterministic: a new connection always gets the LOWEST id
 * that is not in use, so peers started one at a time get 0, 1, 2, ... and
 * a peer that leaves and reconnects gets its old id back (if nobody took it),
 * with the same doorbell eventfds (see above).
 * chainmesh uses the peer id as node id: node 0, the host, connects first.
 *
 * The region is an anonymous memfd whose size (a power of two, as QEMU
 * requires) is the BAR2 size every guest sees. It is sealed against resize.
 *
 * Host mode (-M MESH): the region is mesh MESH of chainmesh_host.ko on this
 * machine, taken from /dev/chainmesh, and the host module is peer 0 (node
 * 0) without connecting: the first QEMU gets id 1. The daemon creates
 * peer 0's eventfds as for any peer (guests ring node 0 through them) and
 * registers them with the module, as it does each guest's vector 0 (the
 * module rings a guest through it); a guest's is unregistered when it
 * leaves.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <endian.h>
#include <linux/chainmesh.h>
#include <linux/chainmesh_region.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#define CMD_NAME		"chainmesh-ivshmemd"
/* Where `chainmesh mesh qemu-args NAME` tells QEMU to connect (-M NAME),
 * or /run/chainmesh/chainmesh-ivshmemd.sock without -M. */
#define CMD_RUN_DIR		"/run/chainmesh"
#define CMD_DEF_SOCK		CMD_RUN_DIR "/NAME.sock"
#define CMD_DEF_SIZE		(16ULL << 20)
#define CMD_DEF_VECTORS		1
#define CMD_MAX_VECTORS		64
#define CMD_DEF_PEERS		64
/* the doorbell register carries 16 bits of peer id */
#define CMD_MAX_PEERS		65536
#define CMD_PROTO_VERSION	0
/* a client that does not drain its socket for this long is dropped */
#define CMD_SEND_TIMEOUT_MS	2000

struct cmd_peer {
	bool host;			/* host mode: peer 0, the host module */
	int sock;			/* -1: id free, unless host */
	int efd[CMD_MAX_VECTORS];
};

struct cmd_server {
	const char *sock_path;
	const char *pid_path;
	const char *log_path;
	char def_sock[sizeof(CMD_RUN_DIR) + CHAINMESH_NAME_LEN + 32];
	const char *mesh;		/* host mode: the host module's mesh */
	uint64_t size;
	unsigned int vectors;
	bool vectors_set;		/* -n given */
	unsigned int max_peers;
	bool verbose;
	bool daemonize;

	FILE *log;
	int listen_fd;
	int sig_fd;
	int shm_fd;
	int dev_fd;			/* host mode: /dev/chainmesh */
	bool sock_created;
	bool pid_created;
	struct cmd_peer *peers;
	unsigned int nr_peers;
};

static void cmd_log(struct cmd_server *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void cmd_log(struct cmd_server *s, const char *fmt, ...)
{
	FILE *f = s->log ? s->log : stderr;
	struct timespec ts;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(f, "%lld.%03ld " CMD_NAME "[%d]: ", (long long)ts.tv_sec,
		ts.tv_nsec / 1000000, (int)getpid());
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
}

static void cmd_usage(FILE *f)
{
	fprintf(f,
"Usage: " CMD_NAME " [options]\n"
"\n"
"Serve QEMU ivshmem-doorbell devices over a unix socket: hand every client\n"
"the shared region (a memfd) and the doorbell eventfds of all peers.\n"
"\n"
"  -S PATH   unix socket to listen on (default " CMD_DEF_SOCK " with\n"
"            -M NAME, as 'chainmesh mesh qemu-args' says, else\n"
"            " CMD_RUN_DIR "/" CMD_NAME ".sock; " CMD_RUN_DIR " is created\n"
"            when missing)\n"
"  -m SIZE   region size, a power of two >= 4K; suffix K, M or G\n"
"            (default 16M)\n"
"  -M MESH   host mode: the region is mesh MESH of chainmesh_host.ko\n"
"            (/dev/chainmesh), which is peer 0; QEMU guests get ids from 1\n"
"  -n N      interrupt vectors per peer, 1..%d (default %d; -M: the mesh's queues)\n"
"  -c N      maximum number of peers, 1..%d (default %d)\n"
"  -l FILE   log to FILE (appended) instead of stderr; SIGHUP reopens it\n"
"  -p FILE   write the pid to FILE once the socket is listening\n"
"  -d        detach (daemonize) once the socket listens and the pidfile is\n"
"            written; the default is to stay in the foreground (as under\n"
"            systemd, logging to stderr)\n"
"  -v        verbose: log every message sent\n"
"  -h        this help\n"
"\n"
"Peer ids: each new connection gets the lowest id not in use, so clients\n"
"that connect one at a time get ids 0, 1, 2, ... in connection order, and\n"
"a reconnecting client gets the lowest free id again, with the same doorbell\n"
"eventfds (QEMU must never see an id leave and come back). Joins and leaves are\n"
"logged as 'peer ID joined' and 'peer ID left'.\n"
"\n"
"QEMU side: -chardev socket,path=PATH,id=ivs\n"
"           -device ivshmem-doorbell,chardev=ivs,vectors=N\n"
"\n"
"SIGTERM or SIGINT: close every client, unlink the socket and pidfile, exit 0.\n"
"SIGHUP: reopen the log file (-l), for logrotate.\n"
"\n"
"Exit status: 0 after SIGTERM or SIGINT; 1 when it cannot start (bad\n"
"option, no region, cannot listen, cannot write the pidfile), with -d too:\n"
"it detaches only once it serves; 2 for a bad command line.\n",
		CMD_MAX_VECTORS, CMD_DEF_VECTORS, CMD_MAX_PEERS, CMD_DEF_PEERS);
}

static int cmd_parse_size(const char *arg, uint64_t *size)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno || end == arg || arg[0] == '-')
		return -1;
	switch (*end) {
	case 'k': case 'K':
		shift = 10;
		end++;
		break;
	case 'm': case 'M':
		shift = 20;
		end++;
		break;
	case 'g': case 'G':
		shift = 30;
		end++;
		break;
	}
	if (*end == 'i' && shift)
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end)
		return -1;
	if (v > (UINT64_MAX >> shift))
		return -1;
	*size = (uint64_t)v << shift;
	return 0;
}

static int cmd_parse_uint(const char *arg, unsigned int min, unsigned int max,
			  unsigned int *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 0);
	if (errno || end == arg || *end || arg[0] == '-' || v < min || v > max)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

/* One message: a little-endian int64, with fd attached if fd >= 0. */
static int cmd_send(struct cmd_server *s, int sock, int64_t val, int fd)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	int64_t le = (int64_t)htole64((uint64_t)val);
	struct iovec iov = { .iov_base = &le, .iov_len = sizeof(le) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;
	ssize_t n;

	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}

	do {
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(le)) {
		if (s->verbose)
			cmd_log(s, "send %" PRId64 " to fd %d failed: %s", val,
				sock, n < 0 ? strerror(errno) : "short write");
		return -1;
	}
	if (s->verbose)
		cmd_log(s, "sent %" PRId64 "%s to fd %d", val,
			fd >= 0 ? " + fd" : "", sock);
	return 0;
}

/* Tell @sock about peer @id: its id once per vector, each with an eventfd. */
static int cmd_send_peer(struct cmd_server *s, int sock, unsigned int id)
{
	unsigned int v;

	for (v = 0; v < s->vectors; v++)
		if (cmd_send(s, sock, id, s->peers[id].efd[v]))
			return -1;
	return 0;
}

/* An id taken: by a client, or by the host module in host mode. */
static bool cmd_peer_used(const struct cmd_peer *p)
{
	return p->sock >= 0 || p->host;
}

/* Host mode: give the host module peer @id's vector 0 eventfd (-1: none). */
static int cmd_host_bell(struct cmd_server *s, unsigned int id, int fd)
{
	struct chainmesh_ioc_doorbell d;

	if (s->dev_fd < 0)
		return 0;
	memset(&d, 0, sizeof(d));
	snprintf(d.mesh, sizeof(d.mesh), "%s", s->mesh);
	d.node = id;
	d.fd = fd;
	if (ioctl(s->dev_fd, CHAINMESH_IOC_DOORBELL, &d)) {
		cmd_log(s, "mesh %s: %s doorbell of node %u: %s", s->mesh,
			fd < 0 ? "cannot unregister" : "cannot register", id,
			strerror(errno));
		return -1;
	}
	return 0;
}

static void cmd_peer_close_efds(struct cmd_server *s, unsigned int id)
{
	struct cmd_peer *p = &s->peers[id];
	unsigned int v;

	for (v = 0; v < s->vectors; v++) {
		if (p->efd[v] >= 0)
			close(p->efd[v]);
		p->efd[v] = -1;
	}
}

/* The client goes; the id's eventfds stay (see the top of the file). */
static void cmd_peer_close(struct cmd_server *s, unsigned int id)
{
	struct cmd_peer *p = &s->peers[id];

	/* The host module stops ringing it; a next client registers again. */
	if (p->efd[0] >= 0)
		cmd_host_bell(s, id, -1);
	if (p->sock >= 0)
		close(p->sock);
	p->sock = -1;
	s->nr_peers--;
}

/* Drop peer @id's client. The others are not told (see the top). */
static void cmd_peer_remove(struct cmd_server *s, unsigned int id,
			    const char *why)
{
	cmd_peer_close(s, id);
	cmd_log(s, "peer %u left (%s)", id, why);
}

static void cmd_accept(struct cmd_server *s)
{
	struct timeval tv = {
		.tv_sec = CMD_SEND_TIMEOUT_MS / 1000,
		.tv_usec = (CMD_SEND_TIMEOUT_MS % 1000) * 1000,
	};
	struct cmd_peer *p;
	unsigned int id, i, v;
	bool fresh;
	int sock;

	sock = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (sock < 0) {
		if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
			cmd_log(s, "accept: %s", strerror(errno));
		return;
	}

	for (id = 0; id < s->max_peers; id++)
		if (!cmd_peer_used(&s->peers[id]))
			break;
	if (id == s->max_peers) {
		cmd_log(s, "refusing client: all %u peer ids in use",
			s->max_peers);
		close(sock);
		return;
	}

	/* a client that stops reading must not stall the others */
	if (setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		cmd_log(s, "SO_SNDTIMEO: %s", strerror(errno));

	p = &s->peers[id];
	/* an id used before keeps its eventfds: the others hold them */
	fresh = p->efd[0] < 0;
	for (v = 0; fresh && v < s->vectors; v++) {
		p->efd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (p->efd[v] < 0) {
			cmd_log(s, "eventfd: %s", strerror(errno));
			goto err_close_efds;
		}
	}
	/* Host mode: the module rings the guest through vector 0; ids past
	 * the mesh's nodes are refused here. */
	if (cmd_host_bell(s, id, p->efd[0]))
		goto err_close_efds;
	p->sock = sock;
	s->nr_peers++;

	if (cmd_send(s, sock, CMD_PROTO_VERSION, -1) ||
	    cmd_send(s, sock, id, -1) ||
	    cmd_send(s, sock, -1, s->shm_fd))
		goto err_remove;
	/* every id that ever had a client (absent ones ring nobody) */
	for (i = 0; i < s->max_peers; i++) {
		if (i == id || s->peers[i].efd[0] < 0)
			continue;
		if (cmd_send_peer(s, sock, i))
			goto err_remove;
	}
	if (cmd_send_peer(s, sock, id))
		goto err_remove;

	cmd_log(s, "peer %u joined (%u connected)", id, s->nr_peers);

	for (i = 0; fresh && i < s->max_peers; i++) {
		if (i == id || s->peers[i].sock < 0)
			continue;
		if (cmd_send_peer(s, s->peers[i].sock, id))
			shutdown(s->peers[i].sock, SHUT_RDWR);
	}
	return;

err_remove:
	/* nobody has heard of it yet: drop it silently */
	cmd_peer_close(s, id);
	if (fresh)
		cmd_peer_close_efds(s, id);
	cmd_log(s, "client for peer id %u went away during setup", id);
	return;
err_close_efds:
	while (fresh && v--) {
		close(p->efd[v]);
		p->efd[v] = -1;
	}
	close(sock);
}

/* Clients never talk; anything readable is either junk or end of file. */
static void cmd_peer_input(struct cmd_server *s, unsigned int id, short revents)
{
	char buf[256];
	ssize_t n;

	if (revents & POLLIN) {
		n = recv(s->peers[id].sock, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0)
			return;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		cmd_peer_remove(s, id, n == 0 ? "disconnected" : strerror(errno));
		return;
	}
	if (revents & (POLLHUP | POLLERR | POLLNVAL))
		cmd_peer_remove(s, id, "hangup");
}

/* Host mode without -n: a vector per queue of the mesh (its region
 * header's; `mesh qemu-args` asks QEMU for as many). */
static void cmd_host_vectors(struct cmd_server *s)
{
	const struct chainmesh_region_hdr *h;
	uint32_t q = 0;

	h = mmap(NULL, sizeof(*h), PROT_READ, MAP_SHARED, s->shm_fd, 0);
	if (h == MAP_FAILED) {
		cmd_log(s, "mmap region header: %s", strerror(errno));
		return;
	}
	if (le32toh(__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE)) == CHAINMESH_MAGIC &&
	    le32toh(h->version) == CHAINMESH_LAYOUT_VERSION)
		q = le32toh(h->queues);
	munmap((void *)h, sizeof(*h));
	if (q >= 1 && q <= CHAINMESH_MAX_QUEUES)
		s->vectors = q;
}

/* Host mode: the region and peer 0's eventfds come from and go to the
 * host module. */
static int cmd_host_shm(struct cmd_server *s)
{
	struct chainmesh_ioc_region r;
	struct cmd_peer *p = &s->peers[0];
	unsigned int v;

	s->dev_fd = open("/dev/" CHAINMESH_DEV_NAME, O_RDWR | O_CLOEXEC);
	if (s->dev_fd < 0) {
		cmd_log(s, "/dev/" CHAINMESH_DEV_NAME ": %s (is chainmesh_host loaded?)",
			strerror(errno));
		return -1;
	}
	memset(&r, 0, sizeof(r));
	snprintf(r.mesh, sizeof(r.mesh), "%s", s->mesh);
	if (ioctl(s->dev_fd, CHAINMESH_IOC_REGION_FD, &r)) {
		cmd_log(s, "mesh %s: cannot get its region: %s", s->mesh,
			strerror(errno));
		return -1;
	}
	s->shm_fd = r.fd;
	s->size = r.size;
	if (!s->vectors_set)
		cmd_host_vectors(s);

	for (v = 0; v < s->vectors; v++) {
		p->efd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (p->efd[v] < 0) {
			cmd_log(s, "eventfd: %s", strerror(errno));
			return -1;
		}
	}
	p->host = true;
	if (cmd_host_bell(s, 0, p->efd[0]))
		return -1;
	return 0;
}

static int cmd_create_shm(struct cmd_server *s)
{
	s->shm_fd = memfd_create("chainmesh-ivshmem",
				 MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (s->shm_fd < 0) {
		cmd_log(s, "memfd_create: %s", strerror(errno));
		return -1;
	}
	if (ftruncate(s->shm_fd, (off_t)s->size)) {
		cmd_log(s, "ftruncate %" PRIu64 ": %s", s->size, strerror(errno));
		return -1;
	}
	/* the BAR size is fixed once QEMU has mapped it */
	if (fcntl(s->shm_fd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		cmd_log(s, "warning: cannot seal region: %s", strerror(errno));
	return 0;
}

/* Refuse to steal a live server's socket; remove a stale one. */
static int cmd_listen(struct cmd_server *s)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(s->sock_path) >= sizeof(sun.sun_path)) {
		cmd_log(s, "socket path too long: %s", s->sock_path);
		return -1;
	}
	strcpy(sun.sun_path, s->sock_path);

	if (lstat(s->sock_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			cmd_log(s, "%s exists and is not a socket", s->sock_path);
			return -1;
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(fd);
			cmd_log(s, "%s: another server is listening", s->sock_path);
			return -1;
		}
		close(fd);
		unlink(s->sock_path);
	}

	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->listen_fd < 0) {
		cmd_log(s, "socket: %s", strerror(errno));
		return -1;
	}
	if (bind(s->listen_fd, (struct sockaddr *)&sun, sizeof(sun))) {
		cmd_log(s, "bind %s: %s", s->sock_path, strerror(errno));
		return -1;
	}
	s->sock_created = true;
	if (listen(s->listen_fd, 16)) {
		cmd_log(s, "listen: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int cmd_write_pidfile(struct cmd_server *s)
{
	FILE *f;

	f = fopen(s->pid_path, "we");
	if (!f) {
		cmd_log(s, "pidfile %s: %s", s->pid_path, strerror(errno));
		return -1;
	}
	s->pid_created = true;
	fprintf(f, "%d\n", (int)getpid());
	if (fclose(f)) {
		cmd_log(s, "pidfile %s: %s", s->pid_path, strerror(errno));
		return -1;
	}
	return 0;
}

static int cmd_signals(struct cmd_server *s)
{
	sigset_t mask;

	/* a vanished client must cost us an EPIPE, never our life */
	signal(SIGPIPE, SIG_IGN);

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -1;
	s->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->sig_fd < 0) {
		cmd_log(s, "signalfd: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* SIGHUP: a new log file where the old one was (logrotate moved it). */
static void cmd_reopen_log(struct cmd_server *s)
{
	FILE *f;

	if (!s->log_path) {
		cmd_log(s, "SIGHUP: no log file to reopen (logging to stderr)");
		return;
	}
	f = fopen(s->log_path, "ae");
	if (!f) {
		cmd_log(s, "SIGHUP: cannot reopen %s: %s; logging on to the old file",
			s->log_path, strerror(errno));
		return;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	cmd_log(s, "SIGHUP: reopening the log %s", s->log_path);
	fclose(s->log);
	s->log = f;
	cmd_log(s, "log reopened on SIGHUP");
}

/*
 * The default socket's directory, /run/chainmesh (systemd's
 * RuntimeDirectory=chainmesh makes it too). Only that one: a directory
 * named by -S is the caller's business.
 */
static int cmd_run_dir(struct cmd_server *s)
{
	if (s->sock_path != s->def_sock)
		return 0;
	if (mkdir(CMD_RUN_DIR, 0755) && errno != EEXIST) {
		cmd_log(s, "mkdir " CMD_RUN_DIR ": %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * -d: fork; the parent waits until the child says it serves (the socket
 * listens, the pidfile is written) and exits 0, or 1 if the child failed
 * first. Returns in the child, a session leader, with *@ready to write
 * one byte to once ready.
 */
static int cmd_detach(struct cmd_server *s, int *ready)
{
	int p[2], null;
	ssize_t n;
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC)) {
		cmd_log(s, "pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		cmd_log(s, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		do
			n = read(p[0], &c, 1);
		while (n < 0 && errno == EINTR);
		/* not exit(): the socket and pidfile are the child's now */
		_exit(n == 1 ? 0 : 1);
	}
	close(p[0]);
	*ready = p[1];
	if (setsid() < 0) {
		cmd_log(s, "setsid: %s", strerror(errno));
		return -1;
	}
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		/* errors keep going to stderr until the log takes over */
		if (s->log)
			dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	return 0;
}

static int cmd_loop(struct cmd_server *s)
{
	struct pollfd *pfd;
	unsigned int *ids;
	unsigned int n, i;
	int ret = 0;

	pfd = calloc(s->max_peers + 2, sizeof(*pfd));
	ids = calloc(s->max_peers + 2, sizeof(*ids));
	if (!pfd || !ids) {
		cmd_log(s, "out of memory");
		ret = 1;
		goto out;
	}

	for (;;) {
		pfd[0] = (struct pollfd){ .fd = s->sig_fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
		n = 2;
		for (i = 0; i < s->max_peers; i++) {
			if (s->peers[i].sock < 0)
				continue;
			pfd[n] = (struct pollfd){
				.fd = s->peers[i].sock, .events = POLLIN,
			};
			ids[n++] = i;
		}

		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			cmd_log(s, "poll: %s", strerror(errno));
			ret = 1;
			goto out;
		}

		if (pfd[0].revents) {
			struct signalfd_siginfo si;

			if (read(s->sig_fd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					cmd_reopen_log(s);
					continue;
				}
				cmd_log(s, "signal %u, exiting", si.ssi_signo);
				goto out;
			}
		}
		/* peers first: a leaving peer frees its id for a newcomer */
		for (i = 2; i < n; i++)
			if (pfd[i].revents && s->peers[ids[i]].sock == pfd[i].fd)
				cmd_peer_input(s, ids[i], pfd[i].revents);
		if (pfd[1].revents & POLLIN)
			cmd_accept(s);
	}
out:
	free(ids);
	free(pfd);
	return ret;
}

static void cmd_cleanup(struct cmd_server *s)
{
	unsigned int i;

	if (s->peers) {
		for (i = 0; i < s->max_peers; i++)
			if (s->peers[i].sock >= 0)
				cmd_peer_close(s, i);
		if (s->peers[0].host) {
			cmd_peer_close(s, 0);
			s->nr_peers++;	/* never counted as a client */
		}
		for (i = 0; i < s->max_peers; i++)
			cmd_peer_close_efds(s, i);
		free(s->peers);
	}
	if (s->dev_fd >= 0)
		close(s->dev_fd);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->sock_created)
		unlink(s->sock_path);
	if (s->pid_created)
		unlink(s->pid_path);
	if (s->shm_fd >= 0)
		close(s->shm_fd);
	if (s->sig_fd >= 0)
		close(s->sig_fd);
}

int main(int argc, char **argv)
{
	struct cmd_server s = {
		.size = CMD_DEF_SIZE,
		.vectors = CMD_DEF_VECTORS,
		.max_peers = CMD_DEF_PEERS,
		.listen_fd = -1,
		.sig_fd = -1,
		.shm_fd = -1,
		.dev_fd = -1,
	};
	bool size_given = false;
	unsigned int i, v;
	int opt, ret = 1, ready = -1;

	while ((opt = getopt(argc, argv, "S:m:M:n:c:l:p:dvh")) != -1) {
		switch (opt) {
		case 'S':
			s.sock_path = optarg;
			break;
		case 'm':
			if (cmd_parse_size(optarg, &s.size) || s.size < 4096 ||
			    (s.size & (s.size - 1))) {
				fprintf(stderr, CMD_NAME ": -m %s: need a power of two >= 4K\n",
					optarg);
				return 2;
			}
			size_given = true;
			break;
		case 'M':
			if (!optarg[0] || strlen(optarg) >= CHAINMESH_NAME_LEN) {
				fprintf(stderr, CMD_NAME ": -M %s: need 1..%d characters\n",
					optarg, CHAINMESH_NAME_LEN - 1);
				return 2;
			}
			s.mesh = optarg;
			break;
		case 'n':
			if (cmd_parse_uint(optarg, 1, CMD_MAX_VECTORS, &s.vectors)) {
				fprintf(stderr, CMD_NAME ": -n %s: need 1..%d\n",
					optarg, CMD_MAX_VECTORS);
				return 2;
			}
			s.vectors_set = true;
			break;
		case 'c':
			if (cmd_parse_uint(optarg, 1, CMD_MAX_PEERS, &s.max_peers)) {
				fprintf(stderr, CMD_NAME ": -c %s: need 1..%d\n",
					optarg, CMD_MAX_PEERS);
				return 2;
			}
			break;
		case 'l':
			s.log_path = optarg;
			break;
		case 'p':
			s.pid_path = optarg;
			break;
		case 'd':
			s.daemonize = true;
			break;
		case 'v':
			s.verbose = true;
			break;
		case 'h':
			cmd_usage(stdout);
			return 0;
		default:
			cmd_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		cmd_usage(stderr);
		return 2;
	}
	if (s.mesh && size_given) {
		fprintf(stderr, CMD_NAME ": -m and -M: the mesh has its own size\n");
		return 2;
	}
	if (!s.sock_path) {
		snprintf(s.def_sock, sizeof(s.def_sock), CMD_RUN_DIR "/%s.sock",
			 s.mesh ? s.mesh : CMD_NAME);
		s.sock_path = s.def_sock;
	}

	if (s.log_path) {
		s.log = fopen(s.log_path, "ae");
		if (!s.log) {
			fprintf(stderr, CMD_NAME ": %s: %s\n", s.log_path,
				strerror(errno));
			return 1;
		}
		setvbuf(s.log, NULL, _IOLBF, 0);
	}

	s.peers = calloc(s.max_peers, sizeof(*s.peers));
	if (!s.peers) {
		cmd_log(&s, "out of memory");
		goto out;
	}
	for (i = 0; i < s.max_peers; i++) {
		s.peers[i].sock = -1;
		for (v = 0; v < CMD_MAX_VECTORS; v++)
			s.peers[i].efd[v] = -1;
	}

	if (cmd_signals(&s) || (s.mesh ? cmd_host_shm(&s) : cmd_create_shm(&s)))
		goto out;

	/* Listen first, then detach: an error here is our exit status, and
	 * QEMU finds the socket as soon as we return. The cwd stays: -S and
	 * -p may be relative. */
	if (cmd_run_dir(&s) || cmd_listen(&s))
		goto out;
	if (s.daemonize && cmd_detach(&s, &ready))
		goto out;
	if (s.pid_path && cmd_write_pidfile(&s))
		goto out;

	cmd_log(&s, "listening on %s, region %" PRIu64 " bytes, %u vector%s, up to %u peers%s%s",
		s.sock_path, s.size, s.vectors, s.vectors == 1 ? "" : "s",
		s.max_peers, s.mesh ? ", host mesh " : "", s.mesh ? s.mesh : "");
	if (ready >= 0) {
		if (write(ready, "", 1) != 1)
			cmd_log(&s, "cannot tell the parent we are ready: %s",
				strerror(errno));
		close(ready);
		ready = -1;
	}

	ret = cmd_loop(&s);
out:
	cmd_cleanup(&s);
	if (s.log)
		fclose(s.log);
	return ret;
}
