// SPDX-License-Identifier: GPL-2.0
#include "tls_probes.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "elf_code.h"
#include "loader.h"
#include "openssl_inner.h"
#include "tls.h"
#include "tls.skel.h"

struct file_id {
	dev_t dev;
	ino_t ino;
};

struct file_entry {
	struct ht_node node;
	struct file_id id;
	struct bpf_link *links[16];
	int nlinks;
};

/* The direction a function carries, for the internal OpenSSL functions that
 * stand in for a direction's exported ones (openssl_inner.h). */
enum probe_dir { DIR_NONE, DIR_READ, DIR_WRITE };

struct probe_fn {
	const char *symbol;
	size_t prog_offset; /* of the struct bpf_program * in the skeleton's progs */
	bool retprobe;
	bool required;      /* without it the library is not followed */
	enum probe_dir dir;
	bool ex;            /* SSL_read_ex / SSL_write_ex: its programs serve the internal function */
};

#define PROG(name) offsetof(struct tls_bpf, progs.name)

static const struct probe_fn openssl_fns[] = {
	{ "SSL_write", PROG(ssl_write), false, true, DIR_WRITE, false },
	{ "SSL_write", PROG(ssl_write_ret), true, true, DIR_WRITE, false },
	{ "SSL_read", PROG(ssl_read), false, true, DIR_READ, false },
	{ "SSL_read", PROG(ssl_read_ret), true, true, DIR_READ, false },
	/* OpenSSL 1.1.1 and 3: the _ex forms python and others call */
	{ "SSL_write_ex", PROG(ssl_write_ex), false, false, DIR_WRITE, true },
	{ "SSL_write_ex", PROG(ssl_write_ex_ret), true, false, DIR_WRITE, true },
	{ "SSL_read_ex", PROG(ssl_read_ex), false, false, DIR_READ, true },
	{ "SSL_read_ex", PROG(ssl_read_ex_ret), true, false, DIR_READ, true },
	/* OpenSSL 3.3 and later */
	{ "SSL_write_ex2", PROG(ssl_write_ex2), false, false, DIR_WRITE, false },
	{ "SSL_write_ex2", PROG(ssl_write_ex_ret), true, false, DIR_WRITE, false },
	{ "SSL_free", PROG(ssl_free), false, true, DIR_NONE, false },
	{ NULL },
};

static const struct probe_fn gnutls_fns[] = {
	{ "gnutls_record_send", PROG(gnutls_send), false, true, DIR_NONE, false },
	{ "gnutls_record_send", PROG(gnutls_send_ret), true, true, DIR_NONE, false },
	{ "gnutls_record_recv", PROG(gnutls_recv), false, true, DIR_NONE, false },
	{ "gnutls_record_recv", PROG(gnutls_recv_ret), true, true, DIR_NONE, false },
	{ "gnutls_deinit", PROG(gnutls_deinit), false, true, DIR_NONE, false },
	{ NULL },
};

bool tls_library_name(const char *base, bool *gnutls)
{
	if (!strncmp(base, "libssl.so", 9) && (base[9] == '\0' || base[9] == '.')) {
		*gnutls = false;
		return true;
	}
	if (!strncmp(base, "libgnutls.so.", 13)) {
		*gnutls = true;
		return true;
	}
	return false;
}

/* Opens and loads the programs; socket_link false leaves out the syscall and
 * thread-exit tracepoints, for a kernel that refuses them. */
static int load(struct tls_probes *p, uint32_t capture_max, bool socket_link)
{
	int err;

	tls_bpf__destroy(p->skel);
	p->skel = tls_bpf__open();
	if (!p->skel)
		return -errno;
	p->skel->rodata->capture_max = capture_max;
	bpf_program__set_autoload(p->skel->progs.tls_syscall, socket_link);
	bpf_program__set_autoload(p->skel->progs.tls_thread_exit, socket_link);
	err = tls_bpf__load(p->skel);
	if (err) {
		tls_bpf__destroy(p->skel);
		p->skel = NULL;
	}
	return err;
}

int tls_probes_start(struct tls_probes *p, uint32_t capture_max, bool socket_link,
		     struct ring_buffer *rb, ring_buffer_sample_fn on_event, void *ctx)
{
	int err;

	memset(p, 0, sizeof(*p));
	if (ht_init(&p->files))
		return -ENOMEM;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	err = load(p, capture_max, socket_link);
	if (err && socket_link) {
		/* the uprobes alone still give the plaintext, named by Host */
		int linked_err = err;

		socket_link = false;
		err = load(p, capture_max, false);
		if (!err)
			fprintf(stderr, "egresswatch: cannot load the sys_enter tracepoint program (%s): "
				"TLS requests are named by their Host alone, not by their socket\n",
				strerror(-linked_err));
	}
	if (err) {
		fprintf(stderr, "egresswatch: cannot load the TLS uprobe programs: %s\n", strerror(-err));
		return err;
	}
	err = ring_buffer__add(rb, bpf_map__fd(p->skel->maps.tls_events), on_event, ctx);
	if (err) {
		fprintf(stderr, "egresswatch: cannot read the TLS event ring buffer: %s\n", strerror(-err));
		return err;
	}
	if (!socket_link)
		return 0;
	/* the exit hook first: it keeps the count of open calls honest */
	p->skel->links.tls_thread_exit = bpf_program__attach(p->skel->progs.tls_thread_exit);
	if (p->skel->links.tls_thread_exit)
		p->skel->links.tls_syscall = bpf_program__attach(p->skel->progs.tls_syscall);
	if (!p->skel->links.tls_syscall)
		fprintf(stderr, "egresswatch: cannot attach the sys_enter tracepoint (%s): "
			"TLS requests are named by their Host alone, not by their socket\n",
			strerror(errno));
	return 0;
}

void tls_probes_stop(struct tls_probes *p)
{
	struct ht_iter it;
	struct ht_node *n;

	if (p->files.buckets) {
		ht_iter_init(&it, &p->files);
		while ((n = ht_iter_next(&it))) {
			struct file_entry *f = container_of(n, struct file_entry, node);

			for (int i = 0; i < f->nlinks; i++)
				bpf_link__destroy(f->links[i]);
			ht_remove(&p->files, n);
			free(f);
		}
		ht_free(&p->files);
	}
	tls_bpf__destroy(p->skel);
	p->skel = NULL;
}

struct tls_kernel_maps tls_probes_maps(const struct tls_probes *p)
{
	return (struct tls_kernel_maps){
		.ignored_fd = bpf_map__fd(p->skel->maps.ignored),
		.read_skip_fd = bpf_map__fd(p->skel->maps.read_skip),
	};
}

int tls_probes_read_stats(const struct tls_probes *p, __u64 out[EW_TLS_STAT_MAX])
{
	return percpu_array_sum(bpf_map__fd(p->skel->maps.tls_stats), EW_TLS_STAT_MAX, out);
}

/* Each file is looked at once: a second look at the same inode costs a stat. */
static struct file_entry *first_look(struct tls_probes *p, const char *path)
{
	struct file_entry *f;
	struct stat st;
	struct file_id id;

	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return NULL;
	memset(&id, 0, sizeof(id));
	id.dev = st.st_dev;
	id.ino = st.st_ino;
	if (ht_find(&p->files, &id, sizeof(id)))
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->id = id;
	f->node.key = &f->id;
	f->node.key_len = sizeof(f->id);
	ht_insert(&p->files, &f->node);
	return f;
}

/* A library opened once for both looking into it and attaching to it: the
 * inode first_look recorded (a container can swap its file for another in
 * between), its ELF, and the name the probes are attached through, which
 * leads to that same inode. */
struct opened_library {
	int fd;
	Elf *elf;
	char path[32];
};

static bool open_library(const struct file_entry *f, const char *path, struct opened_library *lib)
{
	struct stat st;

	/* O_NONBLOCK: a file swapped for a FIFO does not block the open */
	lib->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (lib->fd < 0)
		return false;
	/* ELF_C_READ reads the file where it is asked: a mapping of it would
	 * show the breakpoints of uprobes already set on it (the kernel puts
	 * them in every mapping of the library, a read-only one included), and
	 * would fault on a file truncated meanwhile */
	if (fstat(lib->fd, &st) || !S_ISREG(st.st_mode) || st.st_dev != f->id.dev ||
	    st.st_ino != f->id.ino || !(lib->elf = elf_begin(lib->fd, ELF_C_READ, NULL))) {
		close(lib->fd);
		return false;
	}
	snprintf(lib->path, sizeof(lib->path), "/proc/self/fd/%d", lib->fd);
	return true;
}

static void close_library(struct opened_library *lib)
{
	elf_end(lib->elf);
	close(lib->fd);
}

static struct bpf_link *attach_one(struct tls_probes *p, const char *path, const struct probe_fn *fn,
				   uint64_t offset)
{
	struct bpf_program *prog = *(struct bpf_program **)((char *)p->skel + fn->prog_offset);
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = fn->retprobe);

	return bpf_program__attach_uprobe_opts(prog, -1, path, offset, &opts);
}

/* Every probe of fns, the internal OpenSSL functions standing in for a
 * direction's exported ones where inner has them; all or none. Each at its
 * file offset, found here in the file already open: libbpf, given a name,
 * would read the whole symbol table again for every probe, which on node
 * (75,000 symbols) took 100 ms, while the program was starting and could
 * already be sending its first request. */
static bool attach_all(struct tls_probes *p, struct file_entry *f, const struct opened_library *lib,
		       const struct probe_fn *fns, const struct openssl_inner *inner)
{
	for (const struct probe_fn *fn = fns; fn->symbol; fn++) {
		uint64_t in = fn->dir == DIR_READ ? inner->read : fn->dir == DIR_WRITE ? inner->write : 0;
		uint64_t offset = in ? in : elf_export_offset(lib->elf, fn->symbol);
		struct bpf_link *link;

		/* the internal function is probed once, under the _ex form, whose
		 * arguments it takes */
		if (in && !fn->ex)
			continue;
		/* an optional function absent from this version is no failure */
		link = offset ? attach_one(p, lib->path, fn, offset) : NULL;
		if (link) {
			f->links[f->nlinks++] = link;
		} else if (fn->required || in) {
			for (int i = 0; i < f->nlinks; i++)
				bpf_link__destroy(f->links[i]);
			f->nlinks = 0;
			return false;
		}
	}
	return true;
}

/* exe: an executable, followed only if it exports OpenSSL itself. */
static void attach(struct tls_probes *p, struct file_entry *f, const char *path,
		   const struct probe_fn *fns, bool exe)
{
	struct openssl_inner inner = { 0 }, exported = { 0 };
	struct opened_library lib;
	GElf_Sym sym;
	bool done;

	if (!open_library(f, path, &lib))
		return;
	if (exe && !elf_export(lib.elf, "SSL_write", &sym)) {
		close_library(&lib);
		return;
	}
	if (fns == openssl_fns)
		openssl_inner_find(lib.elf, &inner);
	done = attach_all(p, f, &lib, fns, &inner);
	/* a kernel that refuses a probe inside a function still takes the
	 * exported functions' entries */
	if (!done && (inner.read || inner.write))
		done = attach_all(p, f, &lib, fns, &exported);
	if (done)
		p->libraries++;
	else
		p->failures++;
	close_library(&lib);
}

static void consider_library(struct tls_probes *p, const char *path)
{
	const char *base = strrchr(path, '/');
	struct file_entry *f;
	bool gnutls;

	if (!tls_library_name(base ? base + 1 : path, &gnutls))
		return;
	f = first_look(p, path);
	if (f)
		attach(p, f, path, gnutls ? gnutls_fns : openssl_fns, false);
}

void tls_probes_scan_process(struct tls_probes *p, pid_t pid, bool maps)
{
	char path[PATH_MAX], line[PATH_MAX + 256];
	struct file_entry *f;
	FILE *m;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	f = first_look(p, path);
	/* an executable with OpenSSL linked in and its symbols exported (node) */
	if (f)
		attach(p, f, path, openssl_fns, true);
	if (!maps)
		return;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	m = fopen(path, "re");
	if (!m)
		return;
	while (fgets(line, sizeof(line), m)) {
		char *file = strchr(line, '/');

		if (!file || !strstr(file, "/lib"))
			continue;
		file[strcspn(file, "\n")] = '\0';
		/* through the process's root: a container's own copy */
		snprintf(path, sizeof(path), "/proc/%d/root%s", pid, file);
		consider_library(p, path);
	}
	fclose(m);
}

void tls_probes_scan_system(struct tls_probes *p)
{
	static const char *const dirs[] = { "/lib", "/lib64", "/usr/lib", "/usr/lib64",
					    "/usr/local/lib", "/lib/x86_64-linux-gnu",
					    "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
					    "/usr/lib/aarch64-linux-gnu", NULL };
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	for (size_t i = 0; dirs[i]; i++) {
		d = opendir(dirs[i]);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			snprintf(path, sizeof(path), "%s/%s", dirs[i], de->d_name);
			consider_library(p, path);
		}
		closedir(d);
	}
	d = opendir("/proc");
	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (!*end && pid > 0 && pid != getpid())
			tls_probes_scan_process(p, pid, true);
	}
	closedir(d);
}
