// SPDX-License-Identifier: GPL-2.0
/*
 * ioc_race MESH SECONDS: register and unregister node 1's doorbell of
 * mesh MESH through /dev/chainmesh as fast as it can, for SECONDS, while
 * the test adds and deletes the mesh: the ioctl must find either no mesh
 * or a complete one (threat-model.rst, "the host's own interfaces").
 * Prints "ioc_race ok N missing M other K" and exits 0 when every ioctl
 * returned 0 or ENODEV (no such mesh).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#include <linux/chainmesh.h>

int main(int argc, char **argv)
{
	unsigned long ok = 0, missing = 0, other = 0;
	struct chainmesh_ioc_doorbell d;
	time_t end;
	int dev, efd;

	if (argc != 3 || strlen(argv[1]) >= sizeof(d.mesh)) {
		fprintf(stderr, "usage: ioc_race MESH SECONDS\n");
		return 2;
	}
	dev = open("/dev/" CHAINMESH_DEV_NAME, O_RDWR);
	efd = eventfd(0, EFD_CLOEXEC);
	if (dev < 0 || efd < 0) {
		perror("ioc_race: /dev/chainmesh or eventfd");
		return 1;
	}
	end = time(NULL) + atoi(argv[2]);
	while (time(NULL) < end) {
		memset(&d, 0, sizeof(d));
		strcpy(d.mesh, argv[1]);
		d.node = 1;
		d.fd = (ok + missing) & 1 ? -1 : efd;
		if (!ioctl(dev, CHAINMESH_IOC_DOORBELL, &d))
			ok++;
		else if (errno == ENODEV)
			missing++;
		else
			other++;
	}
	printf("ioc_race ok %lu missing %lu other %lu\n", ok, missing, other);
	return other ? 1 : 0;
}
