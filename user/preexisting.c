// SPDX-License-Identifier: GPL-2.0
#include "preexisting.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "cgroup.h"
#include "egresswatch.h"
#include "hashtab.h"
#include "procinfo.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

struct seen_inode {
	struct ht_node node;
	ino_t ino;
};

static int sockopt_int(int fd, int opt)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, opt, &v, &len))
		return -1;
	return v;
}

/* Outbound-capable sockets: TCP with a peer that is not a listener, and UDP. */
static bool worth_tracking(int fd)
{
	int domain = sockopt_int(fd, SO_DOMAIN);
	int proto = sockopt_int(fd, SO_PROTOCOL);
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);

	if (domain != AF_INET && domain != AF_INET6)
		return false;
	if (proto == IPPROTO_UDP)
		return true;
	if (proto != IPPROTO_TCP || sockopt_int(fd, SO_ACCEPTCONN) == 1)
		return false;
	return getpeername(fd, (struct sockaddr *)&peer, &len) == 0;
}

static int owner_of(uint32_t pid, const char *cgroup_root, struct ew_owner *o)
{
	char cg[PATH_MAX], path[PATH_MAX * 2];
	struct stat st;

	memset(o, 0, sizeof(*o));
	o->tgid = pid;
	o->flags = EW_OWNER_PREEXISTING;
	if (proc_uid(pid, &o->uid) || proc_comm(pid, o->comm, sizeof(o->comm)))
		return -ENOENT;
	if (!proc_cgroup_path(pid, cg, sizeof(cg))) {
		snprintf(path, sizeof(path), "%s%s", cgroup_root, cg);
		if (!stat(path, &st))
			o->cgroup_id = st.st_ino; /* a cgroup's id is its inode on cgroup2 */
	}
	return 0;
}

static void scan_process(uint32_t pid, int owners_fd, const char *cgroup_root,
			 struct hashtab *seen, struct preexisting_result *res)
{
	char dir[64], link[320], target[64];
	struct ew_owner owner;
	struct dirent *de;
	int pidfd = -1;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%u/fd", pid);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct seen_inode *s;
		unsigned long ino;
		ssize_t n;
		int fd;

		snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (sscanf(target, "socket:[%lu]", &ino) != 1 ||
		    ht_find(seen, &(ino_t){ ino }, sizeof(ino_t)))
			continue;
		s = calloc(1, sizeof(*s));
		if (!s)
			continue;
		s->ino = ino;
		s->node.key = &s->ino;
		s->node.key_len = sizeof(s->ino);
		ht_insert(seen, &s->node);

		if (pidfd == -1) { /* first socket of this process */
			pidfd = syscall(SYS_pidfd_open, pid, 0);
			if (pidfd >= 0 && owner_of(pid, cgroup_root, &owner)) {
				close(pidfd);
				pidfd = -2;
			}
			if (pidfd < 0)
				pidfd = -2;
		}
		if (pidfd == -2) { /* the process is out of reach */
			res->failed++;
			continue;
		}
		fd = syscall(SYS_pidfd_getfd, pidfd, atoi(de->d_name), 0);
		if (fd < 0) {
			res->failed++;
			continue;
		}
		if (worth_tracking(fd)) {
			/* NOEXIST: a socket that passed connect since we attached
			 * already has its real owner. */
			if (!bpf_map_update_elem(owners_fd, &fd, &owner, BPF_NOEXIST) || errno == EEXIST)
				res->attributed++;
			else
				res->failed++;
		}
		close(fd);
	}
	if (pidfd >= 0)
		close(pidfd);
	closedir(d);
}

int preexisting_attribute(int owners_fd, struct preexisting_result *res)
{
	char cgroup_root[PATH_MAX];
	uint32_t self = getpid();
	struct hashtab seen;
	struct ht_iter it;
	struct ht_node *n;
	struct dirent *de;
	DIR *proc;

	memset(res, 0, sizeof(*res));
	if (cgroup2_mount(cgroup_root, sizeof(cgroup_root)))
		cgroup_root[0] = '\0';
	proc = opendir("/proc");
	if (!proc)
		return -errno;
	if (ht_init(&seen)) {
		closedir(proc);
		return -ENOMEM;
	}
	while ((de = readdir(proc))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);

		if (*end || !pid || pid == self)
			continue;
		scan_process(pid, owners_fd, cgroup_root, &seen, res);
	}
	closedir(proc);
	ht_iter_init(&it, &seen);
	while ((n = ht_iter_next(&it)))
		free(container_of(n, struct seen_inode, node));
	ht_free(&seen);
	return 0;
}
