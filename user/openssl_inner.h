/* SPDX-License-Identifier: GPL-2.0 */
/* Where OpenSSL's read and write uprobes go.
 *
 * A uprobe's breakpoint takes the place of one instruction, which the kernel
 * then either emulates (push, direct call and jump, conditional jump) or
 * copies out and single-steps: a second trap on every call. OpenSSL 3's
 * SSL_read, SSL_read_ex, SSL_write and SSL_write_ex begin with `sub $N,%rsp`,
 * single-stepped, and are thin wrappers: SSL_read_ex passes its arguments
 * unchanged to an internal function (ssl_read_internal, not exported) that
 * SSL_read calls as well, and which begins with push. Probed there, each
 * read or write costs one trap instead of two, and one probe serves both of
 * a direction's forms.
 *
 * The internal function is used only where the code shows that shape: the
 * _ex form's first instruction, after an optional endbr64 and one stack
 * adjustment (neither touches the argument registers), is a direct call or
 * jump into .text, and the direction's other exported forms (SSL_read;
 * SSL_write, and SSL_write_ex2 where it exists) call that same function.
 * The target then takes SSL_read_ex's arguments and stores the count as it
 * does. Anywhere else (another shape, another architecture) the exported
 * functions are probed. */
#ifndef EW_OPENSSL_INNER_H
#define EW_OPENSSL_INNER_H

#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct openssl_inner {
	uint64_t read;  /* file offsets of the internal functions; 0: none found */
	uint64_t write;
};

void openssl_inner_find(Elf *elf, struct openssl_inner *out);

/* The decoding, exposed for the tests. code: bytes at address vaddr. */
/* The function the code passes its arguments on to, unchanged (the shape
 * above), or 0. */
uint64_t x86_forwarded_to(const uint8_t *code, size_t len, uint64_t vaddr);
/* Whether the code holds a direct call to target. */
bool x86_calls(const uint8_t *code, size_t len, uint64_t vaddr, uint64_t target);

#endif
