/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EW_CATALOG_BUILTIN_H
#define EW_CATALOG_BUILTIN_H

#include <stdbool.h>

struct builtin_endpoint {
	const char *provider;
	const char *const *hosts;
	const char *const *paths;
	const char *const *batch_paths;
	bool router;
};

/* Ends with an entry whose provider is NULL. */
extern const struct builtin_endpoint builtin_endpoints[];

#endif
