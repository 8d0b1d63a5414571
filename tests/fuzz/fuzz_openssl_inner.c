// SPDX-License-Identifier: GPL-2.0
/* openssl_inner_find on hostile ELF files (a container's libssl is anyone's
 * bytes), and the x86 decoding on hostile code. */
#include <libelf.h>
#include "fuzz_common.h"
#include "openssl_inner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *bytes = fuzz_dup(data, size);
	struct openssl_inner found;
	uint64_t vaddr = 0, target;
	Elf *elf;

	if (size >= 8)
		memcpy(&vaddr, data, 8);
	/* the same bytes as code: a target, if any, is one the code names */
	target = x86_forwarded_to(bytes, size, vaddr);
	if (target)
		FUZZ_CHECK(size >= 2);
	(void)x86_calls(bytes, size, vaddr, target);

	if (elf_version(EV_CURRENT) == EV_NONE)
		abort();
	elf = elf_memory((char *)bytes, size);
	if (elf) {
		openssl_inner_find(elf, &found);
		/* an offset is inside the file: the probe is set there */
		FUZZ_CHECK((!found.read || found.read < size) && (!found.write || found.write < size));
		elf_end(elf);
	}
	free(bytes);
	return 0;
}
