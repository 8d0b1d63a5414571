// SPDX-License-Identifier: GPL-2.0
#include "openssl_inner.h"

#include <string.h>
#include "elf_code.h"

/* The forwarding shape fits in 4 + 4 + 5 bytes; a caller is searched over at
 * most this much of its code (SSL_read is 144 bytes in Debian's build). */
#define FORWARD_BYTES 16
#define CALLER_BYTES 512

#define X86_CALL_REL32 0xe8
#define X86_JMP_REL32 0xe9
#define X86_JMP_REL8 0xeb

static const uint8_t endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };

static size_t endbr64_len(const uint8_t *c, size_t len)
{
	return len >= sizeof(endbr64) && !memcmp(c, endbr64, sizeof(endbr64)) ? sizeof(endbr64) : 0;
}

/* The length of a push of a 64-bit register at c (1 or 2 bytes), or 0. */
static size_t push_len(const uint8_t *c, size_t len)
{
	if (len >= 1 && c[0] >= 0x50 && c[0] <= 0x57)
		return 1;
	if (len >= 2 && c[0] == 0x41 && c[1] >= 0x50 && c[1] <= 0x57)
		return 2;
	return 0;
}

static uint64_t rel32_target(const uint8_t *insn, uint64_t insn_vaddr)
{
	/* little-endian, sign-extended */
	int32_t rel = (int32_t)((uint32_t)insn[1] | (uint32_t)insn[2] << 8 |
				(uint32_t)insn[3] << 16 | (uint32_t)insn[4] << 24);

	return insn_vaddr + 5 + (uint64_t)(int64_t)rel;
}

uint64_t x86_forwarded_to(const uint8_t *c, size_t len, uint64_t vaddr)
{
	size_t i = endbr64_len(c, len), n;

	/* a tail call: a jump before anything touches the stack */
	if (len - i >= 2 && c[i] == X86_JMP_REL8)
		return vaddr + i + 2 + (uint64_t)(int64_t)(int8_t)c[i + 1];
	if (len - i >= 5 && c[i] == X86_JMP_REL32)
		return rel32_target(c + i, vaddr + i);
	/* a call after the one stack adjustment that aligns it as the ABI has
	 * it (16 bytes at the call): sub $8 (or 24, ...) or one push. A call
	 * with no adjustment (-mfentry's call __fentry__) is not a forwarding. */
	if (len - i >= 4 && c[i] == 0x48 && c[i + 1] == 0x83 && c[i + 2] == 0xec &&
	    c[i + 3] < 0x80 && (c[i + 3] & 15) == 8)
		i += 4;
	else if ((n = push_len(c + i, len - i)))
		i += n;
	else
		return 0;
	if (len - i < 5 || c[i] != X86_CALL_REL32)
		return 0;
	return rel32_target(c + i, vaddr + i);
}

bool x86_calls(const uint8_t *c, size_t len, uint64_t vaddr, uint64_t target)
{
	/* A byte search, not a decoding: an 0xe8 inside another instruction
	 * whose next four bytes happen to give exactly target is the only false
	 * match. */
	for (size_t i = 0; i + 5 <= len; i++)
		if (c[i] == X86_CALL_REL32 && rel32_target(c + i, vaddr + i) == target)
			return true;
	return false;
}

size_t x86_push_at_entry(const uint8_t *c, size_t len)
{
	size_t i = endbr64_len(c, len);

	return push_len(c + i, len - i) ? i : SIZE_MAX;
}

/* Whether the exported function name calls target; absent is fine when not
 * required. */
static bool exported_calls(Elf *elf, const char *name, bool required, uint64_t target)
{
	const uint8_t *code;
	uint64_t offset;
	GElf_Sym sym;
	size_t len;

	if (!elf_export(elf, name, &sym))
		return !required;
	len = sym.st_size < CALLER_BYTES ? sym.st_size : CALLER_BYTES;
	code = elf_text_at(elf, sym.st_value, &len, &offset);
	return code && x86_calls(code, len, sym.st_value, target);
}

/* The file offset of the push at the entry of the function the exported
 * forwarder passes its arguments on to, when the direction's other forms
 * call that function too; 0 if not. */
static uint64_t inner_of(Elf *elf, const char *forwarder, const char *caller, const char *optional_caller)
{
	uint64_t target, offset;
	const uint8_t *code;
	GElf_Sym sym;
	size_t len, at;

	if (!elf_export(elf, forwarder, &sym))
		return 0;
	len = sym.st_size < FORWARD_BYTES ? sym.st_size : FORWARD_BYTES;
	code = elf_text_at(elf, sym.st_value, &len, &offset);
	if (!code || !(target = x86_forwarded_to(code, len, sym.st_value)))
		return 0;
	/* probed after an endbr64 (the stack is as at entry, so the uretprobe
	 * finds the return address): at the push, which the kernel emulates */
	len = sizeof(endbr64) + 2;
	code = elf_text_at(elf, target, &len, &offset);
	if (!code || (at = x86_push_at_entry(code, len)) == SIZE_MAX || !offset)
		return 0;
	if (!exported_calls(elf, caller, true, target) ||
	    (optional_caller && !exported_calls(elf, optional_caller, false, target)))
		return 0;
	return offset + at;
}

void openssl_inner_find(Elf *elf, struct openssl_inner *out)
{
	GElf_Ehdr eh;

	memset(out, 0, sizeof(*out));
	if (!gelf_getehdr(elf, &eh) || eh.e_machine != EM_X86_64 || eh.e_ident[EI_CLASS] != ELFCLASS64)
		return;
	out->read = inner_of(elf, "SSL_read_ex", "SSL_read", NULL);
	/* OpenSSL 3.3's SSL_write_ex passes flags on to SSL_write_ex2: not the
	 * forwarding shape, so the exported write functions keep their probes */
	out->write = inner_of(elf, "SSL_write_ex", "SSL_write", "SSL_write_ex2");
	/* one function for both directions is no read or write function (a
	 * profiling hook every function calls, say) */
	if (out->read == out->write)
		memset(out, 0, sizeof(*out));
}
