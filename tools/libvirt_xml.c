// SPDX-License-Identifier: GPL-2.0
/*
 * The libvirt <shmem> element of a chainmesh guest: see libvirt_xml.h.
 * Element and attributes as libvirt's domain format documents them
 * (formatdomain, "Shared memory device"), checked by virt-xml-validate in
 * selftests/vm/libvirt.sh.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "libvirt_xml.h"

#define CM_LIBVIRT_SOCK_DIR	"/run/chainmesh/"

/* @s as the content of an attribute quoted with ''. */
static void cm_xml_attr(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

int cm_libvirt_shmem_xml(FILE *f, const struct cm_libvirt_shmem *s)
{
	unsigned int in = s->indent;

	if (!s->mesh || !s->mesh[0] || !s->vectors ||
	    (s->socket && s->socket[0] != '/'))
		return -EINVAL;

	fprintf(f, "%*s<shmem name='cm-", in, "");
	cm_xml_attr(f, s->mesh);
	fputs("'>\n", f);
	fprintf(f, "%*s  <model type='ivshmem-doorbell'/>\n", in, "");
	fprintf(f, "%*s  <server path='", in, "");
	if (s->socket) {
		cm_xml_attr(f, s->socket);
	} else {
		fputs(CM_LIBVIRT_SOCK_DIR, f);
		cm_xml_attr(f, s->mesh);
		fputs(".sock", f);
	}
	fputs("'/>\n", f);
	fprintf(f, "%*s  <msi vectors='%u' ioeventfd='on'/>\n", in, "", s->vectors);
	fprintf(f, "%*s</shmem>\n", in, "");
	return ferror(f) ? -EIO : 0;
}
