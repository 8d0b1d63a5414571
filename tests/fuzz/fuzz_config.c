// SPDX-License-Identifier: GPL-2.0
/* config_load on hostile configuration files: the input is written to a
 * memfd and read back through /proc/self/fd/N, as a file would be. */
#include "fuzz_common.h"
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "config.h"

#define ERRLEN 256

static void check_catalog(const struct catalog *c)
{
	static const uint8_t v4[16] = { [10] = 0xff, [11] = 0xff, 203, 0, 113, 7 };
	bool batch;

	for (size_t i = 0; i < c->count; i++) {
		const struct endpoint *e = &c->entries[i];

		FUZZ_CHECK(e->provider && e->provider[0]);
		FUZZ_CHECK(e->nhosts || e->ncidrs);
		for (size_t j = 0; j < e->nhosts; j++)
			FUZZ_CHECK(e->hosts[j] && e->hosts[j][0]);
		for (size_t j = 0; j < e->npaths; j++)
			FUZZ_CHECK(e->paths[j] && e->paths[j][0] == '/');
		for (size_t j = 0; j < e->nbatch_paths; j++)
			FUZZ_CHECK(e->batch_paths[j] && e->batch_paths[j][0] == '/');
		for (size_t j = 0; j < e->ncidrs; j++)
			FUZZ_CHECK(e->cidrs[j].prefix <= 128);
	}
	/* the lookups walk every loaded list */
	(void)catalog_match_host(c, "api.openai.com");
	(void)catalog_match_host(c, "x.llm.acme.internal.");
	(void)catalog_match_addr(c, v4);
	(void)catalog_llm_path(c, "/v1/chat/completions?stream=true", &batch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], *err = fuzz_outbuf(ERRLEN);
	struct config c;
	int fd = memfd_create("fuzz_config", MFD_CLOEXEC), r;
	size_t done = 0;

	FUZZ_CHECK(fd >= 0);
	/* a memfd starts 0777: config_load refuses files writable by others */
	FUZZ_CHECK(fchmod(fd, 0600) == 0);
	while (done < size) {
		ssize_t w = write(fd, data + done, size - done);

		FUZZ_CHECK(w > 0);
		done += w;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

	FUZZ_CHECK(config_init(&c) == 0);
	r = config_load(&c, path, err, ERRLEN);
	FUZZ_CHECK(r == 0 || r == -1);
	if (r == -1) {
		size_t n = strnlen(err, ERRLEN);

		FUZZ_CHECK(n < ERRLEN); /* NUL-terminated */
		FUZZ_CHECK(n > 0);
	} else {
		FUZZ_CHECK(c.interval_s >= 0.1 && c.detect.window_s >= 0.1);
		FUZZ_CHECK(!c.textfile_dir || c.textfile_dir[0] == '/');
		for (size_t i = 0; i < 5; i++) {
			const struct threshold *t = &(&c.detect.rx_bytes)[i];

			FUZZ_CHECK(t->warning > 0 && t->critical >= t->warning);
		}
	}
	check_catalog(&c.catalog);
	config_free(&c);
	close(fd);
	free(err);
	return 0;
}
