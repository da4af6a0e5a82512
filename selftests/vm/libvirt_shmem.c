// SPDX-License-Identifier: GPL-2.0
/*
 * libvirt_shmem MESH SOCKET: print the <shmem> element of tools/libvirt_xml.c
 * (what `chainmesh mesh libvirt-xml` will print) for selftests/vm/libvirt.sh,
 * until the CLI has the command.
 */
#include <stdio.h>
#include <string.h>

#include "libvirt_xml.h"

int main(int argc, char **argv)
{
	struct cm_libvirt_shmem s = { .vectors = 1 };
	int err;

	if (argc != 3) {
		fprintf(stderr, "usage: %s MESH SOCKET\n", argv[0]);
		return 2;
	}
	s.mesh = argv[1];
	s.socket = argv[2];
	err = cm_libvirt_shmem_xml(stdout, &s);
	if (err) {
		fprintf(stderr, "%s: %s\n", argv[0], strerror(-err));
		return 1;
	}
	return fflush(stdout) ? 1 : 0;
}
