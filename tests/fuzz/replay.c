// SPDX-License-Identifier: GPL-2.0
/* Replays corpora through a fuzz target without libFuzzer: links with one
 * fuzz_<name>.c and calls LLVMFuzzerTestOneInput on every regular file in the
 * directories (or on the files) named on the command line. Built with
 * -fsanitize=address,undefined, any finding aborts the run. Prints
 * "<target>: N inputs replayed"; exits non-zero on any failure, including a
 * directory that cannot be read or holds no input. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#ifndef FUZZ_TARGET_NAME
#define FUZZ_TARGET_NAME NULL
#endif

static const char *target_name(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	if (FUZZ_TARGET_NAME)
		return FUZZ_TARGET_NAME;
	base = base ? base + 1 : argv0;
	if (!strncmp(base, "replay_", 7))
		base += 7;
	return base;
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	int r;

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		size_t n;

		if (len == cap) {
			uint8_t *grown = realloc(buf, cap = cap ? cap * 2 : 4096);

			if (!grown) {
				fprintf(stderr, "%s: out of memory\n", path);
				free(buf);
				fclose(f);
				return -1;
			}
			buf = grown;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "%s: read error\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	/* An exact-size copy, so that ASan sees reads past the end. */
	{
		uint8_t *exact = malloc(len ? len : 1);

		if (!exact) {
			free(buf);
			return -1;
		}
		memcpy(exact, buf, len);
		free(buf);
		r = LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	if (r != 0 && r != -1) {
		fprintf(stderr, "%s: LLVMFuzzerTestOneInput returned %d\n", path, r);
		return -1;
	}
	return 0;
}

static int skip_entry(const struct dirent *d)
{
	return d->d_name[0] != '.'; /* no ".", "..", nor hidden files */
}

int main(int argc, char **argv)
{
	static const uint8_t empty[1];
	const char *name = target_name(argv[0]);
	unsigned long count = 0;
	int failed = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	/* libFuzzer always starts with the empty input. */
	LLVMFuzzerTestOneInput(empty, 0);

	for (int i = 1; i < argc; i++) {
		struct dirent **list;
		struct stat st;
		int n;

		if (stat(argv[i], &st)) {
			fprintf(stderr, "%s: %s: %s\n", name, argv[i], strerror(errno));
			failed = 1;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_file(argv[i]))
				failed = 1;
			else
				count++;
			continue;
		}
		n = scandir(argv[i], &list, skip_entry, alphasort);
		if (n < 0) {
			fprintf(stderr, "%s: %s: %s\n", name, argv[i], strerror(errno));
			failed = 1;
			continue;
		}
		for (int j = 0; j < n; j++) {
			char path[4096];

			snprintf(path, sizeof(path), "%s/%s", argv[i], list[j]->d_name);
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
				if (run_file(path))
					failed = 1;
				else
					count++;
			}
			free(list[j]);
		}
		free(list);
	}
	if (count == 0) {
		fprintf(stderr, "%s: no input found\n", name);
		failed = 1;
	}
	printf("%s: %lu inputs replayed%s\n", name, count, failed ? " (FAILED)" : "");
	return failed;
}
