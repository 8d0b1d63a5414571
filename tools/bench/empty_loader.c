// SPDX-License-Identifier: GPL-2.0
/* Attaches tools/bench/empty.bpf.c where egresswatch attaches its programs:
 * cgroup hooks on the cgroup v2 root (found in /proc/self/mounts), the raw
 * tracepoints, and uprobes/uretprobes on OpenSSL by symbol, or with --inner
 * where egresswatch puts them (the internal read and write functions, see
 * user/openssl_inner.h). With --floor, instead, only the floor of a packet
 * counter (a storage lookup per packet, see empty.bpf.c) at the cgroup hooks.
 * Prints "ready" once attached and holds everything until SIGINT or SIGTERM.
 *
 *   empty_loader [--no-cgroup] [--no-uprobes] [--inner] [--floor] [--libssl PATH]
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <libelf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "empty.skel.h"
#include "openssl_inner.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static volatile sig_atomic_t stop;

static void on_signal(int sig) { stop = 1; }

static int cgroup2_root(char *out, size_t len)
{
	char line[4096], dev[256], dir[4096], type[64];
	FILE *f = fopen("/proc/self/mounts", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%255s %4095s %63s", dev, dir, type) == 3 && !strcmp(type, "cgroup2") &&
		    strlen(dir) < len) {
			strcpy(out, dir);
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	return -ENOENT;
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return level == LIBBPF_DEBUG ? 0 : vfprintf(stderr, fmt, args);
}

/* The internal functions, where egresswatch finds them; a direction without
 * one keeps its exported functions, as in egresswatch. */
static int find_inner(const char *path, struct openssl_inner *inner)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *elf;

	if (fd < 0 || elf_version(EV_CURRENT) == EV_NONE || !(elf = elf_begin(fd, ELF_C_READ, NULL))) {
		fprintf(stderr, "empty_loader: cannot read %s\n", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	openssl_inner_find(elf, inner);
	elf_end(elf);
	close(fd);
	if (!inner->read)
		fprintf(stderr, "empty_loader: no internal read function in %s: SSL_read(_ex) probed\n", path);
	if (!inner->write)
		fprintf(stderr, "empty_loader: no internal write function in %s: SSL_write(_ex) probed\n", path);
	return 0;
}

static int attach_to_cgroup(struct bpf_program **progs, size_t n, int cg, struct bpf_link **links,
			    int *nlinks)
{
	for (size_t i = 0; i < n; i++) {
		links[*nlinks] = bpf_program__attach_cgroup(progs[i], cg);
		if (!links[*nlinks]) {
			fprintf(stderr, "empty_loader: attach %s: %s\n", bpf_program__name(progs[i]),
				strerror(errno));
			return -1;
		}
		(*nlinks)++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *libssl = "/usr/lib/x86_64-linux-gnu/libssl.so.3";
	bool cgroup = true, uprobes = true, at_inner = false, floor = false;
	struct openssl_inner inner = { 0 };
	struct empty_bpf *s = NULL;
	struct bpf_link *links[32] = {};
	int nlinks = 0, cg = -1, err = 1;
	char root[4096];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-cgroup"))
			cgroup = false;
		else if (!strcmp(argv[i], "--no-uprobes"))
			uprobes = false;
		else if (!strcmp(argv[i], "--inner"))
			at_inner = true;
		else if (!strcmp(argv[i], "--floor"))
			floor = true, uprobes = false;
		else if (!strcmp(argv[i], "--libssl") && i + 1 < argc)
			libssl = argv[++i];
		else {
			fprintf(stderr, "usage: %s [--no-cgroup] [--no-uprobes] [--inner] [--floor] [--libssl PATH]\n",
				argv[0]);
			return 2;
		}
	}
	libbpf_set_print(print_libbpf);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	if (at_inner && find_inner(libssl, &inner))
		goto cleanup;
	s = empty_bpf__open();
	if (!s) {
		perror("empty_loader: open");
		goto cleanup;
	}
	/* Load only what is attached: an unattached program would show up with
	 * zero runs and be mistaken for a measured one. */
	struct bpf_program *cg_progs[] = {
		s->progs.bx_connect4, s->progs.bx_connect6, s->progs.bx_sendmsg4,
		s->progs.bx_sendmsg6, s->progs.bx_egress,   s->progs.bx_ingress,
		s->progs.bx_sock_release,
	};
	struct bpf_program *floor_progs[] = {
		s->progs.bx_own_connect4, s->progs.bx_own_connect6, s->progs.bx_own_sendmsg4,
		s->progs.bx_own_sendmsg6, s->progs.bx_look_egress,  s->progs.bx_look_ingress,
	};
	struct bpf_program *tp_progs[] = { s->progs.bx_tcp_state, s->progs.bx_exec,
					   s->progs.bx_syscall };
	/* with --inner, the _ex programs go to the internal function (offset)
	 * and the other forms of its direction are left out, as egresswatch does */
	struct {
		struct bpf_program *prog;
		const char *sym;
		bool ret;
		uint64_t offset;
		bool attached;
	} up[] = {
		{ s->progs.bx_ssl_write, "SSL_write", false, 0, !inner.write },
		{ s->progs.bx_ssl_write_ret, "SSL_write", true, 0, !inner.write },
		{ s->progs.bx_ssl_read, "SSL_read", false, 0, !inner.read },
		{ s->progs.bx_ssl_read_ret, "SSL_read", true, 0, !inner.read },
		{ s->progs.bx_ssl_write_ex, "SSL_write_ex", false, inner.write, true },
		{ s->progs.bx_ssl_write_ex_r, "SSL_write_ex", true, inner.write, true },
		{ s->progs.bx_ssl_read_ex, "SSL_read_ex", false, inner.read, true },
		{ s->progs.bx_ssl_read_ex_r, "SSL_read_ex", true, inner.read, true },
		{ s->progs.bx_ssl_free, "SSL_free", false, 0, true },
	};
	/* the floor stands alone at the cgroup hooks */
	struct bpf_program **cg_set = floor ? floor_progs : cg_progs;
	size_t n_cg = cgroup ? (floor ? ARRAY_SIZE(floor_progs) : ARRAY_SIZE(cg_progs)) : 0;
	size_t n_tp = cgroup && !floor ? ARRAY_SIZE(tp_progs) : 0;
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, s->obj)
		bpf_program__set_autoload(prog, false);
	for (size_t i = 0; i < n_cg; i++)
		bpf_program__set_autoload(cg_set[i], true);
	for (size_t i = 0; i < n_tp; i++)
		bpf_program__set_autoload(tp_progs[i], true);
	for (size_t i = 0; i < ARRAY_SIZE(up); i++)
		bpf_program__set_autoload(up[i].prog, uprobes && up[i].attached);
	if (empty_bpf__load(s)) {
		perror("empty_loader: load");
		goto cleanup;
	}
	if (cgroup) {
		if (cgroup2_root(root, sizeof(root))) {
			fprintf(stderr, "empty_loader: no cgroup v2 mount in /proc/self/mounts\n");
			goto cleanup;
		}
		cg = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cg < 0) {
			perror(root);
			goto cleanup;
		}
		if (attach_to_cgroup(cg_set, n_cg, cg, links, &nlinks))
			goto cleanup;
		for (size_t i = 0; i < n_tp; i++) {
			links[nlinks] = bpf_program__attach(tp_progs[i]);
			if (!links[nlinks]) {
				fprintf(stderr, "empty_loader: attach %s: %s\n",
					bpf_program__name(tp_progs[i]), strerror(errno));
				goto cleanup;
			}
			nlinks++;
		}
	}
	if (uprobes) {
		for (size_t i = 0; i < ARRAY_SIZE(up); i++) {
			LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = up[i].offset ? NULL : up[i].sym,
				    .retprobe = up[i].ret);

			if (!up[i].attached)
				continue;
			links[nlinks] = bpf_program__attach_uprobe_opts(up[i].prog, -1, libssl,
									up[i].offset, &o);
			if (!links[nlinks]) {
				fprintf(stderr, "empty_loader: uprobe %s on %s: %s\n", up[i].sym, libssl,
					strerror(errno));
				goto cleanup;
			}
			nlinks++;
		}
	}
	printf("ready\n");
	fflush(stdout);
	while (!stop)
		pause();
	err = 0;
cleanup:
	for (int i = 0; i < nlinks; i++)
		bpf_link__destroy(links[i]);
	empty_bpf__destroy(s);
	if (cg >= 0)
		close(cg);
	return err;
}
