// SPDX-License-Identifier: GPL-2.0
/* The /proc and mount-table parsers: cgroup_path_from_text on a hostile
 * /proc/PID/cgroup text, cgroup2_mount_from on a hostile mounts table. */
#include "fuzz_common.h"
#include "cgroup.h"
#include "procinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	char path[64], mount[32];
	FILE *f;

	if (!cgroup_path_from_text(text, path, sizeof(path))) {
		FUZZ_CHECK(strnlen(path, sizeof(path)) < sizeof(path));
		FUZZ_CHECK(path[0] != '\0');
	}
	f = fmemopen(text, strlen(text), "r");
	if (f) {
		if (!cgroup2_mount_from(f, mount, sizeof(mount)))
			FUZZ_CHECK(strnlen(mount, sizeof(mount)) < sizeof(mount));
		fclose(f);
	}
	free(text);
	return 0;
}
