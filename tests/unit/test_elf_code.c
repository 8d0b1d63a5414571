// SPDX-License-Identifier: GPL-2.0
/* Looking up a file's exports (elf_code.h): through .gnu.hash on a real
 * library with thousands of them, every symbol compared with a walk of the
 * table made here; the walk of every symbol on a file without .gnu.hash, and
 * on one whose .gnu.hash is broken; the file offsets the probes go at. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "elf_code.h"
#include "elf_fixtures.h"

/* The fixture's exports (tests/fixtures/openssl_shapes.S, SHAPE 1). */
static const char *const shape_exports[] = { "SSL_read", "SSL_read_ex", "SSL_write", "SSL_write_ex",
					     "inner_read", "inner_write", NULL };

static Elf_Scn *section_of_type(Elf *elf, Elf64_Word type, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, sh) && sh->sh_type == type)
			return scn;
	return NULL;
}

static void every_export_of_a_real_library_through_the_hash(void **state)
{
	struct opened_elf lib = open_elf(MANY_EXPORTS);
	size_t defined = 0, absent = 0;
	Elf_Data *data;
	GElf_Shdr sh;
	Elf_Scn *scn;

	assert_non_null(section_of_type(lib.elf, SHT_GNU_HASH, &sh));
	scn = section_of_type(lib.elf, SHT_DYNSYM, &sh);
	assert_non_null(scn);
	data = elf_getdata(scn, NULL);
	for (size_t i = 1; i < sh.sh_size / sh.sh_entsize; i++) {
		const char *name;
		char other[512];
		GElf_Sym want, got;

		assert_non_null(gelf_getsym(data, (int)i, &want));
		name = elf_strptr(lib.elf, sh.sh_link, want.st_name);
		assert_non_null(name);
		/* an import: not among the file's exports */
		if (want.st_shndx == SHN_UNDEF) {
			absent += !elf_export(lib.elf, name, &got);
			continue;
		}
		assert_true(elf_export(lib.elf, name, &got));
		assert_int_equal(got.st_value, want.st_value);
		assert_int_equal(got.st_name, want.st_name);
		defined++;
		/* a name one letter longer lands on another chain or ends this one */
		snprintf(other, sizeof(other), "%s_", name);
		assert_false(elf_export(lib.elf, other, &got));
	}
	/* libcrypto exports thousands and imports from libc */
	assert_true(defined > 1000);
	assert_true(absent > 10);
	close_elf(lib);
}

static void assert_shape_exports(Elf *elf)
{
	GElf_Sym sym;

	for (size_t i = 0; shape_exports[i]; i++)
		assert_true(elf_export(elf, shape_exports[i], &sym));
	assert_false(elf_export(elf, "SSL_free", &sym));
	assert_false(elf_export(elf, "", &sym));
	assert_false(elf_export(elf, "SSL_rea", &sym));
}

static void without_gnu_hash_every_symbol_is_read(void **state)
{
	struct opened_elf gnu = open_fixture("openssl_shape_1.so");
	struct opened_elf sysv = open_fixture("openssl_shape_sysv.so");
	GElf_Shdr sh;

	assert_non_null(section_of_type(gnu.elf, SHT_GNU_HASH, &sh));
	assert_null(section_of_type(sysv.elf, SHT_GNU_HASH, &sh));
	assert_shape_exports(gnu.elf);
	assert_shape_exports(sysv.elf);
	close_elf(gnu);
	close_elf(sysv);
}

/* A copy of the fixture in memory with its .gnu.hash header word at index
 * set to value. */
static char *with_hash_word(size_t index, uint32_t value, size_t *size)
{
	char *bytes = fixture_bytes("openssl_shape_1.so", size);
	Elf *elf = elf_memory(bytes, *size);
	GElf_Shdr sh;

	assert_non_null(elf);
	assert_non_null(section_of_type(elf, SHT_GNU_HASH, &sh));
	elf_end(elf);
	memcpy(bytes + sh.sh_offset + index * sizeof(value), &value, sizeof(value));
	return bytes;
}

static void broken_gnu_hash_falls_back_to_every_symbol(void **state)
{
	/* no buckets; more buckets, or a larger bloom filter, than the
	 * section holds */
	static const struct { size_t index; uint32_t value; } breaks[] = {
		{ 0, 0 }, { 0, 0xffffff }, { 2, 0xffffff },
	};

	for (size_t i = 0; i < sizeof(breaks) / sizeof(breaks[0]); i++) {
		size_t size;
		char *bytes = with_hash_word(breaks[i].index, breaks[i].value, &size);
		Elf *elf = elf_memory(bytes, size);

		assert_non_null(elf);
		assert_shape_exports(elf);
		elf_end(elf);
		free(bytes);
	}
}

static void export_offsets_are_file_offsets_of_code(void **state)
{
	struct opened_elf o = open_fixture("openssl_shape_1.so");
	GElf_Shdr text;
	GElf_Sym sym;
	Elf_Scn *scn = NULL;

	/* the fixture's .text is linked at 0x200000, away from its offset */
	while ((scn = elf_nextscn(o.elf, scn))) {
		assert_non_null(gelf_getshdr(scn, &text));
		if (text.sh_flags & SHF_EXECINSTR)
			break;
	}
	assert_non_null(scn);
	assert_int_equal(text.sh_addr, 0x200000);
	for (size_t i = 0; shape_exports[i]; i++) {
		assert_true(elf_export(o.elf, shape_exports[i], &sym));
		assert_int_equal(elf_export_offset(o.elf, shape_exports[i]),
				 sym.st_value - text.sh_addr + text.sh_offset);
	}
	assert_int_equal(elf_export_offset(o.elf, "SSL_free"), 0);
	close_elf(o);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_export_of_a_real_library_through_the_hash),
		cmocka_unit_test(without_gnu_hash_every_symbol_is_read),
		cmocka_unit_test(broken_gnu_hash_falls_back_to_every_symbol),
		cmocka_unit_test(export_offsets_are_file_offsets_of_code),
	};

	if (fixtures_init(argv[0]))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
