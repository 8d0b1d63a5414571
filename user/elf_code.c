// SPDX-License-Identifier: GPL-2.0
#include "elf_code.h"

#include <string.h>

/* The dynamic symbols of section index (when it holds them), their count and
 * their string table's index. */
static Elf_Data *dynsym_at(Elf *elf, size_t index, size_t *count, size_t *strtab)
{
	Elf_Scn *scn = elf_getscn(elf, index);
	GElf_Shdr sh;

	/* a symbol's own size: a hostile sh_entsize could make a walk one step
	 * per byte */
	if (!scn || !gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM ||
	    sh.sh_entsize != gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT))
		return NULL;
	*count = sh.sh_size / sh.sh_entsize;
	*strtab = sh.sh_link;
	return elf_getdata(scn, NULL);
}

static bool symbol_named(Elf *elf, Elf_Data *symbols, size_t strtab, size_t i, const char *name,
			 GElf_Sym *sym)
{
	const char *s;

	if (!gelf_getsym(symbols, (int)i, sym) || sym->st_shndx == SHN_UNDEF)
		return false;
	s = elf_strptr(elf, strtab, sym->st_name);
	return s && !strcmp(s, name);
}

static uint32_t gnu_hash(const char *name)
{
	uint32_t h = 5381;

	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		h = h * 33 + *c;
	return h;
}

/* The lookup the dynamic linker makes, through .gnu.hash: a few symbols
 * compared instead of all of them (node exports 75,000). 1 found, 0 not
 * defined, -1 a table that cannot be followed (a hostile file), which the
 * caller answers by reading every symbol. */
static int gnu_hash_find(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, const char *name, GElf_Sym *sym)
{
	/* the bloom filter's words are the class's addresses */
	size_t bloom_word = gelf_getclass(elf) == ELFCLASS64 ? 2 : 1;
	uint32_t nbuckets, symoffset, h = gnu_hash(name);
	size_t words, buckets, chain, nsyms, strtab;
	Elf_Data *data = elf_getdata(scn, NULL);
	Elf_Data *symbols;
	const uint32_t *w;

	if (!data || !data->d_buf || data->d_size < 16 ||
	    !(symbols = dynsym_at(elf, sh->sh_link, &nsyms, &strtab)))
		return -1;
	w = data->d_buf;
	words = data->d_size / sizeof(*w);
	nbuckets = w[0];
	symoffset = w[1];
	/* header, bloom filter, buckets, then one chain word per symbol from
	 * symoffset on */
	if (!nbuckets || w[2] > (words - 4) / bloom_word)
		return -1;
	buckets = 4 + (size_t)w[2] * bloom_word;
	if (nbuckets > words - buckets)
		return -1;
	chain = buckets + nbuckets;
	for (size_t i = w[buckets + h % nbuckets]; i >= symoffset; i++) {
		uint32_t link;

		if (i - symoffset >= words - chain || i >= nsyms)
			return -1;
		link = w[chain + i - symoffset];
		/* the low bit ends the chain; the others are the hash's */
		if ((link | 1) == (h | 1) && symbol_named(elf, symbols, strtab, i, name, sym))
			return 1;
		if (link & 1)
			return 0;
	}
	return 0;
}

bool elf_export(Elf *elf, const char *name, GElf_Sym *sym)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		int found;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_GNU_HASH &&
		    (found = gnu_hash_find(elf, scn, &sh, name, sym)) >= 0)
			return found;
	}
	/* no .gnu.hash (an old or a hostile file): every symbol */
	while ((scn = elf_nextscn(elf, scn))) {
		size_t nsyms, strtab;
		Elf_Data *symbols = dynsym_at(elf, elf_ndxscn(scn), &nsyms, &strtab);

		for (size_t i = 0; symbols && i < nsyms; i++)
			if (symbol_named(elf, symbols, strtab, i, name, sym))
				return true;
	}
	return false;
}

/* Whether sh is a section of code whose addresses hold vaddr. */
static bool code_holds(const GElf_Shdr *sh, uint64_t vaddr)
{
	return sh->sh_type == SHT_PROGBITS && (sh->sh_flags & SHF_EXECINSTR) && vaddr >= sh->sh_addr &&
	       vaddr - sh->sh_addr < sh->sh_size;
}

uint64_t elf_export_offset(Elf *elf, const char *name)
{
	Elf_Scn *scn;
	GElf_Shdr sh;
	GElf_Sym sym;

	if (!elf_export(elf, name, &sym) || !(scn = elf_getscn(elf, sym.st_shndx)) || !gelf_getshdr(scn, &sh) ||
	    !code_holds(&sh, sym.st_value) || sh.sh_offset > UINT64_MAX - (sym.st_value - sh.sh_addr))
		return 0;
	return sh.sh_offset + (sym.st_value - sh.sh_addr);
}

const uint8_t *elf_text_at(Elf *elf, uint64_t vaddr, size_t *len, uint64_t *file_offset)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;
		Elf_Data *data;
		uint64_t at;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || !code_holds(&sh, vaddr))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || strcmp(name, ".text"))
			continue;
		at = vaddr - sh.sh_addr;
		if (*len > sh.sh_size - at)
			*len = sh.sh_size - at;
		if (!*len || sh.sh_offset > (uint64_t)INT64_MAX - at)
			return NULL;
		/* just these bytes, read from the file (a truncated one has
		 * fewer, and then none are given) rather than the whole section:
		 * an executable's .text can be tens of megabytes */
		data = elf_getdata_rawchunk(elf, (int64_t)(sh.sh_offset + at), *len, ELF_T_BYTE);
		if (!data || !data->d_buf || data->d_size < *len)
			return NULL;
		*file_offset = sh.sh_offset + at;
		return data->d_buf;
	}
	return NULL;
}
