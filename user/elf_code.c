// SPDX-License-Identifier: GPL-2.0
#include "elf_code.h"

#include <string.h>

bool elf_export(Elf *elf, const char *name, GElf_Sym *sym)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		/* a symbol's own size: a hostile sh_entsize could make the walk
		 * one step per byte */
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM ||
		    sh.sh_entsize != gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT))
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			const char *s;

			if (!gelf_getsym(data, (int)i, sym) || sym->st_shndx == SHN_UNDEF)
				continue;
			s = elf_strptr(elf, sh.sh_link, sym->st_name);
			if (s && !strcmp(s, name))
				return true;
		}
	}
	return false;
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

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_EXECINSTR) || vaddr < sh.sh_addr || vaddr - sh.sh_addr >= sh.sh_size)
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
