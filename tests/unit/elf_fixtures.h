/* SPDX-License-Identifier: GPL-2.0 */
/* The libraries the Makefile builds beside the ELF tests (test_openssl_inner,
 * test_elf_code), opened from there. Include after cmocka.h. */
#ifndef EW_TEST_ELF_FIXTURES_H
#define EW_TEST_ELF_FIXTURES_H

#include <fcntl.h>
#include <gelf.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char fixture_dir[PATH_MAX];

struct opened_elf {
	int fd;
	Elf *elf;
};

/* The fixtures' directory, the test's own (argv[0]'s); libelf readied. */
static inline int fixtures_init(const char *argv0)
{
	char self[PATH_MAX];

	snprintf(self, sizeof(self), "%s", argv0);
	snprintf(fixture_dir, sizeof(fixture_dir), "%s", dirname(self));
	return elf_version(EV_CURRENT) == EV_NONE ? -1 : 0;
}

static inline struct opened_elf open_elf(const char *path)
{
	struct opened_elf o;

	o.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (o.fd < 0)
		fail_msg("cannot open %s", path);
	o.elf = elf_begin(o.fd, ELF_C_READ, NULL);
	assert_non_null(o.elf);
	return o;
}

static inline struct opened_elf open_fixture(const char *name)
{
	/* room for the directory and a name: a cut path would open another */
	char path[2 * PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", fixture_dir, name);
	return open_elf(path);
}

static inline void close_elf(struct opened_elf o)
{
	elf_end(o.elf);
	close(o.fd);
}

/* A fixture's bytes, in memory the caller frees. */
static inline char *fixture_bytes(const char *name, size_t *size)
{
	struct opened_elf o = open_fixture(name);
	off_t end = lseek(o.fd, 0, SEEK_END);
	char *bytes;

	assert_true(end > 0);
	bytes = malloc((size_t)end);
	assert_non_null(bytes);
	assert_int_equal(pread(o.fd, bytes, (size_t)end, 0), end);
	close_elf(o);
	*size = (size_t)end;
	return bytes;
}

#endif
