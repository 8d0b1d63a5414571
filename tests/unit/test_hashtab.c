// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include "hashtab.h"

struct item {
	struct ht_node node;
	int key;
};

static void insert_find_remove_through_growth(void **state)
{
	enum { N = 5000 };
	struct item *items = calloc(N, sizeof(*items));
	struct hashtab ht;
	struct ht_iter it;
	struct ht_node *n;
	size_t seen = 0;

	assert_int_equal(ht_init(&ht), 0);
	for (int i = 0; i < N; i++) {
		items[i].key = i;
		items[i].node.key = &items[i].key;
		items[i].node.key_len = sizeof(int);
		ht_insert(&ht, &items[i].node);
	}
	assert_int_equal(ht.count, N);
	assert_true(ht.nbuckets >= N / 2);
	for (int i = 0; i < N; i++)
		assert_ptr_equal(ht_find(&ht, &i, sizeof(i)), &items[i].node);
	/* remove every odd key while iterating */
	ht_iter_init(&it, &ht);
	while ((n = ht_iter_next(&it))) {
		seen++;
		if (container_of(n, struct item, node)->key % 2)
			ht_remove(&ht, n);
	}
	assert_int_equal(seen, N);
	assert_int_equal(ht.count, N / 2);
	for (int i = 0; i < N; i++)
		assert_true((ht_find(&ht, &i, sizeof(i)) != NULL) == (i % 2 == 0));
	ht_free(&ht);
	free(items);
}

static void keys_of_different_length_differ(void **state)
{
	struct item a = { .key = 1 };
	struct hashtab ht;
	long long wide = 1;

	ht_init(&ht);
	a.node.key = &a.key;
	a.node.key_len = sizeof(a.key);
	ht_insert(&ht, &a.node);
	assert_null(ht_find(&ht, &wide, sizeof(wide)));
	ht_free(&ht);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(insert_find_remove_through_growth),
		cmocka_unit_test(keys_of_different_length_differ),
	};

	return cmocka_run_group_tests_name("hashtab", tests, NULL, NULL);
}
