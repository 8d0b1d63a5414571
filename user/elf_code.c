// SPDX-License-Identifier: GPL-2.0
#include "elf_code.h"

#include <string.h>

bool elf_export(Elf *elf, const char *name, GElf_Sym *sym)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize)
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
	size_t shstrndx, file_size;

	if (elf_getshdrstrndx(elf, &shstrndx) || !elf_rawfile(elf, &file_size))
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
		data = elf_getdata(scn, NULL);
		at = vaddr - sh.sh_addr;
		/* the section's bytes as read, which a truncated file makes fewer;
		 * the probe's offset must be a byte of the file */
		if (!data || !data->d_buf || at >= data->d_size || sh.sh_offset >= file_size ||
		    at >= file_size - sh.sh_offset)
			return NULL;
		if (*len > data->d_size - at)
			*len = data->d_size - at;
		*file_offset = sh.sh_offset + at;
		return (const uint8_t *)data->d_buf + at;
	}
	return NULL;
}
