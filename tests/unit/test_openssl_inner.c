// SPDX-License-Identifier: GPL-2.0
/* Where the OpenSSL read and write probes go (openssl_inner.h): the decoding
 * of a forwarder's first instructions, the search for a call, and the whole
 * finding on libraries assembled from tests/fixtures/openssl_shapes.S. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "elf_code.h"
#include "openssl_inner.h"

#define AT 0x35000ULL

static uint64_t forwarded(const uint8_t *code, size_t len)
{
	return x86_forwarded_to(code, len, AT);
}

static void forwarder_shapes(void **state)
{
	/* Debian's SSL_read_ex: sub $8,%rsp; call +0x100 */
	static const uint8_t debian[] = { 0x48, 0x83, 0xec, 0x08, 0xe8, 0x00, 0x01, 0x00, 0x00 };
	/* endbr64; push %r12; jmp -0x200 (rel32) */
	static const uint8_t cet[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x41, 0x54, 0xe9, 0x00, 0xfe, 0xff, 0xff };
	/* push %rbx; jmp -0x10 (rel8) */
	static const uint8_t short_jmp[] = { 0x53, 0xeb, 0xf0 };
	/* a call at once */
	static const uint8_t bare[] = { 0xe8, 0x10, 0x00, 0x00, 0x00 };

	assert_int_equal(forwarded(debian, sizeof(debian)), AT + 9 + 0x100);
	assert_int_equal(forwarded(cet, sizeof(cet)), AT + 11 - 0x200);
	assert_int_equal(forwarded(short_jmp, sizeof(short_jmp)), AT + 3 - 0x10);
	assert_int_equal(forwarded(bare, sizeof(bare)), AT + 5 + 0x10);
}

static void forwarder_that_touches_arguments_is_refused(void **state)
{
	/* OpenSSL 3.3's SSL_write_ex: mov %rcx,%r8; xor %ecx,%ecx; jmp */
	static const uint8_t moves[] = { 0x49, 0x89, 0xc8, 0x31, 0xc9, 0xe9, 0, 0, 0, 0 };
	/* two stack adjustments, or an adjustment by more than an imm8 */
	static const uint8_t twice[] = { 0x53, 0x48, 0x83, 0xec, 0x08, 0xe8, 0, 0, 0, 0 };
	static const uint8_t imm32[] = { 0x48, 0x81, 0xec, 0, 1, 0, 0, 0xe8, 0, 0, 0, 0 };
	/* an indirect jump (through the PLT's GOT) and a ret */
	static const uint8_t indirect[] = { 0xff, 0x25, 0, 0, 0, 0 };
	static const uint8_t ret[] = { 0xc3 };

	assert_int_equal(forwarded(moves, sizeof(moves)), 0);
	assert_int_equal(forwarded(twice, sizeof(twice)), 0);
	assert_int_equal(forwarded(imm32, sizeof(imm32)), 0);
	assert_int_equal(forwarded(indirect, sizeof(indirect)), 0);
	assert_int_equal(forwarded(ret, sizeof(ret)), 0);
}

static void truncated_forwarder_is_refused(void **state)
{
	static const uint8_t cet[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x83, 0xec, 0x08,
				       0xe8, 0x00, 0x01, 0x00, 0x00 };

	/* every shorter prefix ends inside an instruction */
	for (size_t len = 0; len < sizeof(cet); len++)
		assert_int_equal(forwarded(cet, len), 0);
	assert_int_equal(forwarded(cet, sizeof(cet)), AT + 13 + 0x100);
}

static void call_found_anywhere_in_reach(void **state)
{
	/* sub $0x18,%rsp; mov %rsp,%rcx; call -0x30 (at +7); add $0x18,%rsp; ret */
	static const uint8_t code[] = { 0x48, 0x83, 0xec, 0x18, 0x48, 0x89, 0xe1, 0xe8, 0xd0, 0xff,
					0xff, 0xff, 0x48, 0x83, 0xc4, 0x18, 0xc3 };
	uint64_t target = AT + 12 - 0x30;

	assert_true(x86_calls(code, sizeof(code), AT, target));
	assert_false(x86_calls(code, sizeof(code), AT, target + 1));
	/* the call must lie whole within the bytes given */
	assert_true(x86_calls(code, 12, AT, target));
	assert_false(x86_calls(code, 11, AT, target));
	assert_false(x86_calls(code, 0, AT, target));
}

/* The file offset of an exported function of the fixture, found apart from
 * the code under test's decoding: symbol, then section. */
static uint64_t offset_of(Elf *elf, const char *name)
{
	uint64_t offset = 0;
	GElf_Sym sym;
	size_t len = 1;

	assert_true(elf_export(elf, name, &sym));
	assert_non_null(elf_text_at(elf, sym.st_value, &len, &offset));
	/* the fixture's .text is linked at 0x200000 and lies near the file's
	 * start: an offset taken for an address would not be found */
	assert_true(sym.st_value >= 0x200000);
	assert_true(offset < 0x10000);
	return offset;
}

static const char *test_dir;

static void find_in_shape(int shape, struct openssl_inner *found, uint64_t *read, uint64_t *write)
{
	char path[PATH_MAX];
	int fd;
	Elf *elf;

	snprintf(path, sizeof(path), "%s/openssl_shape_%d.so", test_dir, shape);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	assert_non_null(elf);
	openssl_inner_find(elf, found);
	*read = offset_of(elf, "inner_read");
	*write = offset_of(elf, "inner_write");
	elf_end(elf);
	close(fd);
}

static void debian_shape_both_directions(void **state)
{
	struct openssl_inner found;
	uint64_t read, write;

	find_in_shape(1, &found, &read, &write);
	assert_int_equal(found.read, read);
	assert_int_equal(found.write, write);
	assert_int_not_equal(read, write);
}

static void flags_passed_on_keep_the_write_side_exported(void **state)
{
	struct openssl_inner found;
	uint64_t read, write;

	find_in_shape(2, &found, &read, &write);
	assert_int_equal(found.read, read);
	assert_int_equal(found.write, 0);
}

static void every_form_must_call_the_target(void **state)
{
	struct openssl_inner found;
	uint64_t read, write;

	find_in_shape(3, &found, &read, &write);
	assert_int_equal(found.read, 0);
	assert_int_equal(found.write, write);
}

static void not_an_elf_finds_nothing(void **state)
{
	char junk[] = "\x7f" "ELF and then nothing that holds together";
	struct openssl_inner found = { 1, 1 };
	Elf *elf = elf_memory(junk, sizeof(junk));

	if (elf) {
		openssl_inner_find(elf, &found);
		elf_end(elf);
		assert_int_equal(found.read, 0);
		assert_int_equal(found.write, 0);
	}
}

int main(int argc, char **argv)
{
	static char self[PATH_MAX];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(forwarder_shapes),
		cmocka_unit_test(forwarder_that_touches_arguments_is_refused),
		cmocka_unit_test(truncated_forwarder_is_refused),
		cmocka_unit_test(call_found_anywhere_in_reach),
		cmocka_unit_test(debian_shape_both_directions),
		cmocka_unit_test(flags_passed_on_keep_the_write_side_exported),
		cmocka_unit_test(every_form_must_call_the_target),
		cmocka_unit_test(not_an_elf_finds_nothing),
	};

	/* the fixtures are built beside this test */
	snprintf(self, sizeof(self), "%s", argv[0]);
	test_dir = dirname(self);
	if (elf_version(EV_CURRENT) == EV_NONE)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
