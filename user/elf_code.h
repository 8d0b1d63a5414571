/* SPDX-License-Identifier: GPL-2.0 */
/* Looking into an ELF file (a library or executable of this host or of a
 * container, so untrusted bytes): the functions it exports and their code. */
#ifndef EW_ELF_CODE_H
#define EW_ELF_CODE_H

#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether the dynamic symbol table defines name; its symbol in *sym. */
bool elf_export(Elf *elf, const char *name, GElf_Sym *sym);

/* The file offset of the code of the function name exports, where a uprobe
 * on it goes; 0 where no such function is exported or its address lies in
 * no section of code. */
uint64_t elf_export_offset(Elf *elf, const char *name);

/* The bytes of .text from address vaddr on: at most *len, fewer (*len
 * lowered) where the section ends; their offset in the file in *file_offset.
 * NULL when vaddr is outside .text. */
const uint8_t *elf_text_at(Elf *elf, uint64_t vaddr, size_t *len, uint64_t *file_offset);

#endif
