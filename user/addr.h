/* SPDX-License-Identifier: GPL-2.0 */
/* Flow addresses are stored as IPv6, IPv4 as v4-mapped (::ffff:a.b.c.d). */
#ifndef EW_ADDR_H
#define EW_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool addr_is_v4mapped(const uint8_t a[16]);
/* Text form: dotted quad for v4-mapped addresses, RFC 5952 for IPv6. */
void addr_format(const uint8_t a[16], char *out, size_t len);

#endif
