// SPDX-License-Identifier: GPL-2.0
/* The row table: keys, intervals, ageing, sorting and filtering. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "rows.h"

static struct row *add(struct row_table *t, uint32_t pid, const char *host, const char *provider,
		       uint64_t tx, uint64_t rx, double now)
{
	struct identity id = { .pid = pid, .uid = 7, .comm = "c", .exe = "/bin/c", .cgroup = "/x" };
	struct classification cls = { .provider = provider, .by = provider ? "sni" : "ip" };
	struct row *r;

	strcpy(cls.host, host);
	r = rows_get(t, &id, &cls, now);
	assert_non_null(r);
	rows_add_bytes(r, tx, rx, now);
	return r;
}

static void one_row_per_process_and_host(void **state)
{
	struct row_table t;

	rows_init(&t);
	struct row *a = add(&t, 1, "api.openai.com", "openai", 1, 2, 0);
	struct row *b = add(&t, 1, "api.openai.com", "openai", 3, 4, 0);
	struct row *c = add(&t, 1, "api.openai.co", "openai", 0, 1, 0);
	struct row *d = add(&t, 2, "api.openai.com", "openai", 0, 1, 0);

	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, c);
	assert_ptr_not_equal(a, d);
	assert_int_equal(a->tx_bytes_total, 4);
	assert_int_equal(a->rx_bytes, 6);
	assert_string_equal(a->exe, "/bin/c");
	assert_ptr_equal(rows_find(&t, 2, "api.openai.com"), d);
	assert_null(rows_find(&t, 3, "api.openai.com"));
	rows_free(&t);
}

static void interval_counters_restart_totals_do_not(void **state)
{
	struct row_table t;

	rows_init(&t);
	struct row *a = add(&t, 1, "h", "p", 10, 20, 0);

	rows_begin_interval(&t);
	assert_int_equal(a->tx_bytes, 0);
	assert_int_equal(a->rx_bytes, 0);
	assert_int_equal(a->rx_bytes_total, 20);
	rows_free(&t);
}

static void idle_rows_without_connections_age_out(void **state)
{
	struct row_table t;

	rows_init(&t);
	struct row *open = add(&t, 1, "open", "p", 1, 1, 0);

	add(&t, 2, "idle", "p", 1, 1, 0);
	add(&t, 3, "recent", "p", 1, 1, 8);
	open->connections = 1;
	rows_expire(&t, 10, 10);
	assert_non_null(rows_find(&t, 1, "open"));
	assert_null(rows_find(&t, 2, "idle"));
	assert_non_null(rows_find(&t, 3, "recent"));
	rows_free(&t);
}

static void sorted_by_rx_then_filtered_to_llm(void **state)
{
	struct row_table t;
	struct row **v;
	int n;

	rows_init(&t);
	add(&t, 1, "a", "openai", 500, 10, 0);
	add(&t, 2, "b", NULL, 0, 1000, 0);
	add(&t, 3, "c", "anthropic", 5, 300, 0);
	n = rows_sorted(&t, SORT_RX, false, &v);
	assert_int_equal(n, 2);
	assert_int_equal(v[0]->pid, 3);
	assert_int_equal(v[1]->pid, 1);
	free(v);
	n = rows_sorted(&t, SORT_RX, true, &v);
	assert_int_equal(n, 3);
	assert_int_equal(v[0]->pid, 2);
	free(v);
	n = rows_sorted(&t, SORT_TX, true, &v);
	assert_int_equal(v[0]->pid, 1);
	free(v);
	rows_free(&t);
}

static void sort_names(void **state)
{
	enum row_sort s;

	assert_int_equal(row_sort_parse("tx", &s), 0);
	assert_int_equal(s, SORT_TX);
	assert_int_equal(row_sort_parse("tokens", &s), 0);
	assert_int_equal(s, SORT_TOKENS);
	assert_int_not_equal(row_sort_parse("pid", &s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_row_per_process_and_host),
		cmocka_unit_test(interval_counters_restart_totals_do_not),
		cmocka_unit_test(idle_rows_without_connections_age_out),
		cmocka_unit_test(sorted_by_rx_then_filtered_to_llm),
		cmocka_unit_test(sort_names),
	};

	return cmocka_run_group_tests_name("rows", tests, NULL, NULL);
}
