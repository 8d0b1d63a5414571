// SPDX-License-Identifier: GPL-2.0
/* openssl_inner_find and the export lookup (through .gnu.hash or not) on
 * hostile ELF files (a container's libssl is anyone's bytes), and the x86
 * decoding on hostile code. */
#include <libelf.h>
#include "elf_code.h"
#include "fuzz_common.h"
#include "openssl_inner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *bytes = fuzz_dup(data, size);
	struct openssl_inner found;
	uint64_t vaddr, target;
	Elf *elf;

	/* the same bytes as code at the address their first eight give */
	if (size >= 8) {
		const uint8_t *code = bytes + 8;
		size_t len = size - 8;

		memcpy(&vaddr, bytes, 8);
		target = x86_forwarded_to(code, len, vaddr);
		/* a forwarding needs its jump or call whole: 2 bytes at least */
		FUZZ_CHECK(!target || len >= 2);
		(void)x86_calls(code, len, vaddr, target);
		FUZZ_CHECK(x86_push_at_entry(code, len) == SIZE_MAX ||
			   x86_push_at_entry(code, len) + 1 <= len);
	}

	if (elf_version(EV_CURRENT) == EV_NONE)
		abort();
	elf = elf_memory((char *)bytes, size);
	if (elf) {
		openssl_inner_find(elf, &found);
		/* an offset is inside the file: the probe is set there */
		FUZZ_CHECK((!found.read || found.read < size) && (!found.write || found.write < size));
		/* the lookup through a hostile .gnu.hash, under the sanitizers
		 * (the offset found may be anything: the kernel refuses one
		 * outside the file) */
		(void)elf_export_offset(elf, "SSL_write");
		elf_end(elf);
	}
	free(bytes);
	return 0;
}
