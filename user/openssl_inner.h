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
 * _ex form, after an optional endbr64, jumps to it at once (a tail call) or
 * calls it after one stack adjustment (neither touches the argument
 * registers); its target in .text starts with a push (after an optional
 * endbr64, which the probe then follows); the direction's other exported
 * forms (SSL_read; SSL_write, and SSL_write_ex2 where it exists) call that
 * same function; and the read and write targets differ. The target then
 * takes SSL_read_ex's arguments and stores the count as it does. Anywhere
 * else (another shape, another architecture) the exported functions are
 * probed. */
#ifndef EW_OPENSSL_INNER_H
#define EW_OPENSSL_INNER_H

#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct openssl_inner {
	uint64_t read;  /* file offsets of the probe points; 0: none found */
	uint64_t write;
};

void openssl_inner_find(Elf *elf, struct openssl_inner *out);

/* The decoding, exposed for the tests. code: bytes at address vaddr. */
/* The function the code passes its arguments on to, unchanged (the shape
 * above), or 0. */
uint64_t x86_forwarded_to(const uint8_t *code, size_t len, uint64_t vaddr);
/* Whether the code holds a direct call to target. */
bool x86_calls(const uint8_t *code, size_t len, uint64_t vaddr, uint64_t target);
/* Where a function's entry push is (0, or 4 after an endbr64); SIZE_MAX if
 * it starts with anything else. */
size_t x86_push_at_entry(const uint8_t *code, size_t len);

#endif
