// SPDX-License-Identifier: GPL-2.0
#include "procinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int read_proc_file(uint32_t pid, const char *name, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/%s", pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

int cgroup_path_from_text(const char *text, char *out, size_t len)
{
	const char *p = text;

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);

		if (n >= 3 && !strncmp(p, "0::", 3)) {
			n -= 3;
			if (n == 0 || n >= len)
				return -EINVAL;
			memcpy(out, p + 3, n);
			out[n] = '\0';
			return 0;
		}
		p = eol ? eol + 1 : NULL;
	}
	return -ENOENT;
}

int proc_exe(uint32_t pid, char *out, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	n = readlink(path, out, len - 1);
	if (n < 0)
		return -errno;
	out[n] = '\0';
	return 0;
}

int proc_cgroup_path(uint32_t pid, char *out, size_t len)
{
	char buf[8192];
	int err = read_proc_file(pid, "cgroup", buf, sizeof(buf));

	return err ? err : cgroup_path_from_text(buf, out, len);
}

int proc_comm(uint32_t pid, char *out, size_t len)
{
	char buf[64];
	int err = read_proc_file(pid, "comm", buf, sizeof(buf));

	if (err)
		return err;
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(out, len, "%s", buf);
	return 0;
}

int proc_uid(uint32_t pid, uint32_t *uid)
{
	char buf[4096];
	const char *p;
	int err = read_proc_file(pid, "status", buf, sizeof(buf));

	if (err)
		return err;
	p = strstr(buf, "\nUid:");
	if (!p || sscanf(p + 5, "%u", uid) != 1)
		return -EINVAL;
	return 0;
}
