// SPDX-License-Identifier: GPL-2.0
/*
 * tools/libvirt_xml.c: the <shmem> element a libvirt domain needs to join
 * a mesh, byte for byte, its escaping, and what it refuses.
 */
#include "harness.h"

#include "../../tools/libvirt_xml.c"

static int xml(const struct cm_libvirt_shmem *s, char **out)
{
	size_t len;
	FILE *f;
	int err;

	f = open_memstream(out, &len);
	if (!f)
		return -ENOMEM;
	err = cm_libvirt_shmem_xml(f, s);
	fclose(f);
	return err;
}

TEST(default_socket)
{
	struct cm_libvirt_shmem s = { .mesh = "m", .vectors = 1 };
	char *out = NULL;

	ASSERT_EQ(0, xml(&s, &out));
	EXPECT_EQ(0, strcmp("<shmem name='cm-m'>\n"
		     "  <model type='ivshmem-doorbell'/>\n"
		     "  <server path='/run/chainmesh/m.sock'/>\n"
		     "  <msi vectors='1' ioeventfd='on'/>\n"
		     "</shmem>\n", out)) TH_LOG("got:\n%s", out);
	free(out);
}

TEST(socket_vectors_indent)
{
	struct cm_libvirt_shmem s = {
		.mesh = "lab", .socket = "/tmp/lab-x/ivshmem.sock",
		.vectors = 4, .indent = 4,
	};
	char *out = NULL;

	ASSERT_EQ(0, xml(&s, &out));
	EXPECT_EQ(0, strcmp("    <shmem name='cm-lab'>\n"
		     "      <model type='ivshmem-doorbell'/>\n"
		     "      <server path='/tmp/lab-x/ivshmem.sock'/>\n"
		     "      <msi vectors='4' ioeventfd='on'/>\n"
		     "    </shmem>\n", out)) TH_LOG("got:\n%s", out);
	free(out);
}

TEST(escaped)
{
	struct cm_libvirt_shmem s = {
		.mesh = "a'b&<c>\"", .socket = "/run/x'y&z.sock", .vectors = 1,
	};
	char *out = NULL;

	ASSERT_EQ(0, xml(&s, &out));
	EXPECT_NOT_NULL(strstr(out, "name='cm-a&apos;b&amp;&lt;c&gt;&quot;'")) TH_LOG("got:\n%s", out);
	EXPECT_NOT_NULL(strstr(out, "path='/run/x&apos;y&amp;z.sock'")) TH_LOG("got:\n%s", out);
	free(out);
}

TEST(refused)
{
	struct cm_libvirt_shmem s = { .mesh = "m", .vectors = 1 };
	char *out = NULL;

	s.mesh = "";
	EXPECT_EQ(-EINVAL, xml(&s, &out));
	free(out);
	out = NULL;
	s.mesh = NULL;
	EXPECT_EQ(-EINVAL, xml(&s, &out));
	free(out);
	out = NULL;
	s.mesh = "m";
	s.vectors = 0;
	EXPECT_EQ(-EINVAL, xml(&s, &out));
	free(out);
	out = NULL;
	s.vectors = 1;
	s.socket = "relative.sock";
	EXPECT_EQ(-EINVAL, xml(&s, &out));
	free(out);
}

TEST_HARNESS_MAIN
