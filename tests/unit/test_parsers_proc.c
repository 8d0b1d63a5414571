// SPDX-License-Identifier: GPL-2.0
/* Small parsers of kernel text: mounts, /proc/PID/cgroup; address text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "addr.h"
#include "cgroup.h"
#include "procinfo.h"
#include <unistd.h>
#include <sys/prctl.h>

static int mount_of(const char *table, char *out, size_t len)
{
	FILE *f = fmemopen((void *)table, strlen(table), "r");
	int err = cgroup2_mount_from(f, out, len);

	fclose(f);
	return err;
}

static void cgroup2_found_in_hybrid_layout(void **state)
{
	char out[64];

	assert_int_equal(mount_of("tmpfs /sys/fs/cgroup tmpfs rw 0 0\n"
				  "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n"
				  "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/unified");
	assert_int_equal(mount_of("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup");
	assert_int_equal(mount_of("cgroup /sys/fs/cgroup/cpu cgroup rw 0 0\n", out, sizeof(out)),
			 -ENOENT);
	assert_int_equal(mount_of("garbage\n\n", out, sizeof(out)), -ENOENT);
	assert_int_equal(mount_of("cgroup2 /a/very/long/path/that/does/not/fit cgroup2 rw 0 0\n",
				  out, 8), -ENAMETOOLONG);
}

static void unified_line_of_proc_cgroup(void **state)
{
	char out[64];

	assert_int_equal(cgroup_path_from_text("4:memory:/x\n0::/system.slice/a.service\n", out,
					       sizeof(out)), 0);
	assert_string_equal(out, "/system.slice/a.service");
	assert_int_equal(cgroup_path_from_text("0::/", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	assert_int_equal(cgroup_path_from_text("1:cpu:/\n", out, sizeof(out)), -ENOENT);
	assert_int_equal(cgroup_path_from_text("0::\n", out, sizeof(out)), -EINVAL);
	assert_int_equal(cgroup_path_from_text("0::/long/long/long", out, 5), -EINVAL);
}

static void addresses_as_text(void **state)
{
	uint8_t v4[16] = { [10] = 0xff, [11] = 0xff, [12] = 198, [13] = 51, [14] = 100, [15] = 7 };
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	char out[64];

	assert_true(addr_is_v4mapped(v4));
	assert_false(addr_is_v4mapped(v6));
	addr_format(v4, out, sizeof(out));
	assert_string_equal(out, "198.51.100.7");
	addr_format(v6, out, sizeof(out));
	assert_string_equal(out, "2001:db8::1");
}

static void own_process_from_proc(void **state)
{
	char exe[4096], comm[16], own[16], cg[4096];
	uint32_t uid;

	/* what the kernel calls this thread (also under valgrind, which renames it) */
	prctl(PR_GET_NAME, own);
	assert_int_equal(proc_exe(getpid(), exe, sizeof(exe)), 0);
	assert_int_equal(exe[0], '/');
	assert_int_equal(proc_comm(getpid(), comm, sizeof(comm)), 0);
	assert_string_equal(comm, own);
	assert_int_equal(proc_uid(getpid(), &uid), 0);
	assert_int_equal(uid, getuid());
	assert_int_equal(proc_cgroup_path(getpid(), cg, sizeof(cg)), 0);
	assert_int_equal(cg[0], '/');
	assert_int_equal(proc_exe(0x7ffffff0, exe, sizeof(exe)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cgroup2_found_in_hybrid_layout),
		cmocka_unit_test(unified_line_of_proc_cgroup),
		cmocka_unit_test(addresses_as_text),
		cmocka_unit_test(own_process_from_proc),
	};

	return cmocka_run_group_tests_name("proc and address parsers", tests, NULL, NULL);
}
