// SPDX-License-Identifier: GPL-2.0
/* Where the OpenSSL read and write probes go (openssl_inner.h): the decoding
 * of a forwarder's first instructions, the search for a call, the entry push,
 * and the whole finding on libraries assembled from
 * tests/fixtures/openssl_shapes.S. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "elf_code.h"
#include "elf_fixtures.h"
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
	/* endbr64; push %r12; call -0x200 */
	static const uint8_t cet_push[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x41, 0x54, 0xe8, 0x00, 0xfe, 0xff, 0xff };
	/* sub $0x18,%rsp; call +0x10 */
	static const uint8_t sub24[] = { 0x48, 0x83, 0xec, 0x18, 0xe8, 0x10, 0x00, 0x00, 0x00 };
	/* tail calls: endbr64; jmp -0x10 (rel8), jmp +0x20 (rel32) */
	static const uint8_t tail8[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0xeb, 0xf0 };
	static const uint8_t tail32[] = { 0xe9, 0x20, 0x00, 0x00, 0x00 };

	assert_int_equal(forwarded(debian, sizeof(debian)), AT + 9 + 0x100);
	assert_int_equal(forwarded(cet_push, sizeof(cet_push)), AT + 11 - 0x200);
	assert_int_equal(forwarded(sub24, sizeof(sub24)), AT + 9 + 0x10);
	assert_int_equal(forwarded(tail8, sizeof(tail8)), AT + 6 - 0x10);
	assert_int_equal(forwarded(tail32, sizeof(tail32)), AT + 5 + 0x20);
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

static void forwarding_needs_the_stack_as_the_abi_has_it(void **state)
{
	/* a call at once (-mfentry's call __fentry__) leaves the callee's stack
	 * misaligned, as does sub $16 */
	static const uint8_t bare_call[] = { 0xe8, 0x10, 0x00, 0x00, 0x00 };
	static const uint8_t sub16[] = { 0x48, 0x83, 0xec, 0x10, 0xe8, 0x10, 0x00, 0x00, 0x00 };
	/* a jump after a push would return into the pushed value */
	static const uint8_t push_jmp[] = { 0x53, 0xeb, 0xf0 };
	static const uint8_t sub_jmp[] = { 0x48, 0x83, 0xec, 0x08, 0xe9, 0, 0, 0, 0 };

	assert_int_equal(forwarded(bare_call, sizeof(bare_call)), 0);
	assert_int_equal(forwarded(sub16, sizeof(sub16)), 0);
	assert_int_equal(forwarded(push_jmp, sizeof(push_jmp)), 0);
	assert_int_equal(forwarded(sub_jmp, sizeof(sub_jmp)), 0);
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

static void push_at_entry(void **state)
{
	static const uint8_t push[] = { 0x41, 0x55 };
	static const uint8_t cet_push[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x53 };
	static const uint8_t sub[] = { 0x48, 0x83, 0xec, 0x38 };
	static const uint8_t cet_sub[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x83, 0xec, 0x38 };

	assert_int_equal(x86_push_at_entry(push, sizeof(push)), 0);
	assert_int_equal(x86_push_at_entry(cet_push, sizeof(cet_push)), 4);
	assert_int_equal(x86_push_at_entry(sub, sizeof(sub)), SIZE_MAX);
	assert_int_equal(x86_push_at_entry(cet_sub, sizeof(cet_sub)), SIZE_MAX);
	/* cut inside the push */
	assert_int_equal(x86_push_at_entry(push, 1), SIZE_MAX);
	assert_int_equal(x86_push_at_entry(cet_push, 4), SIZE_MAX);
}

/* The file offset of an exported function of a fixture, from the section
 * headers, apart from the code under test. */
static uint64_t offset_of(Elf *elf, const char *name)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Sym sym;

	assert_true(elf_export(elf, name, &sym));
	assert_int_equal(elf_getshdrstrndx(elf, &shstrndx), 0);
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		assert_non_null(gelf_getshdr(scn, &sh));
		if (strcmp(elf_strptr(elf, shstrndx, sh.sh_name), ".text"))
			continue;
		/* the fixtures' .text is linked at 0x200000, not at its offset */
		assert_int_equal(sh.sh_addr, 0x200000);
		assert_int_not_equal(sh.sh_offset, sh.sh_addr);
		return sym.st_value - sh.sh_addr + sh.sh_offset;
	}
	fail_msg("no .text");
	return 0;
}

static void find_in_shape(int shape, struct openssl_inner *found, uint64_t *read, uint64_t *write)
{
	char name[32];
	struct opened_elf o;

	snprintf(name, sizeof(name), "openssl_shape_%d.so", shape);
	o = open_fixture(name);
	openssl_inner_find(o.elf, found);
	*read = offset_of(o.elf, "inner_read");
	*write = offset_of(o.elf, "inner_write");
	close_elf(o);
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

static void cet_tail_call_probed_past_endbr_flags_keep_write_exported(void **state)
{
	struct openssl_inner found;
	uint64_t read, write;

	find_in_shape(2, &found, &read, &write);
	assert_int_equal(found.read, read + 4);
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

/* A shape in which neither direction is found: the exported functions are
 * probed. */
static void assert_nothing_found(int shape)
{
	struct openssl_inner found;
	uint64_t read, write;

	find_in_shape(shape, &found, &read, &write);
	assert_int_equal(found.read, 0);
	assert_int_equal(found.write, 0);
}

static void target_without_push_or_call_without_alignment_refused(void **state)
{
	assert_nothing_found(4);
}

static void one_target_for_both_directions_refused(void **state)
{
	assert_nothing_found(5);
}

/* Every cut of a library: what is found is the whole file's answer or
 * nothing, never another offset. */
static void truncated_library_finds_all_or_nothing(void **state)
{
	struct openssl_inner full, found;
	size_t size;
	char *whole = fixture_bytes("openssl_shape_1.so", &size);
	Elf *elf;

	elf = elf_memory(whole, size);
	assert_non_null(elf);
	openssl_inner_find(elf, &full);
	elf_end(elf);
	assert_int_not_equal(full.read, 0);
	for (size_t cut = 0; cut < size; cut += 7) {
		uint8_t *copy = malloc(cut ? cut : 1);

		memcpy(copy, whole, cut);
		elf = elf_memory((char *)copy, cut);
		if (elf) {
			openssl_inner_find(elf, &found);
			elf_end(elf);
			assert_true(found.read == 0 || found.read == full.read);
			assert_true(found.write == 0 || found.write == full.write);
		}
		free(copy);
	}
	free(whole);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(forwarder_shapes),
		cmocka_unit_test(forwarder_that_touches_arguments_is_refused),
		cmocka_unit_test(forwarding_needs_the_stack_as_the_abi_has_it),
		cmocka_unit_test(truncated_forwarder_is_refused),
		cmocka_unit_test(call_found_anywhere_in_reach),
		cmocka_unit_test(push_at_entry),
		cmocka_unit_test(debian_shape_both_directions),
		cmocka_unit_test(cet_tail_call_probed_past_endbr_flags_keep_write_exported),
		cmocka_unit_test(every_form_must_call_the_target),
		cmocka_unit_test(target_without_push_or_call_without_alignment_refused),
		cmocka_unit_test(one_target_for_both_directions_refused),
		cmocka_unit_test(truncated_library_finds_all_or_nothing),
	};

	if (fixtures_init(argv[0]))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
