// SPDX-License-Identifier: GPL-2.0
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <string.h>
#include <sys/stat.h>

int cgroup2_mount_from(FILE *mounts, char *out, size_t len)
{
	char line[4096], dev[256], dir[4096], type[64];

	while (fgets(line, sizeof(line), mounts)) {
		if (sscanf(line, "%255s %4095s %63s", dev, dir, type) != 3)
			continue;
		if (strcmp(type, "cgroup2"))
			continue;
		if (strlen(dir) >= len)
			return -ENAMETOOLONG;
		strcpy(out, dir);
		return 0;
	}
	return -ENOENT;
}

int cgroup2_mount(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mounts", "re");
	int err;

	if (!f)
		return -errno;
	err = cgroup2_mount_from(f, out, len);
	fclose(f);
	return err;
}

/* nftw has no user argument: the walk is single-threaded, so a file-scope
 * search state is enough. */
static struct {
	uint64_t id;
	size_t root_len;
	char *out;
	size_t len;
	int found;
} search;

static int visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	const char *rel;

	if (flag != FTW_D || st->st_ino != search.id)
		return 0;
	rel = path + search.root_len;
	if (!*rel)
		rel = "/";
	if (strlen(rel) >= search.len)
		return 0;
	strcpy(search.out, rel);
	search.found = 1;
	return 1;
}

int cgroup_path_by_id(const char *root, uint64_t id, char *out, size_t len)
{
	search.id = id;
	search.root_len = strlen(root);
	search.out = out;
	search.len = len;
	search.found = 0;
	nftw(root, visit, 16, FTW_PHYS | FTW_MOUNT);
	return search.found ? 0 : -ENOENT;
}
