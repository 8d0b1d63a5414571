// SPDX-License-Identifier: GPL-2.0
/* The accountant turns kernel counters into row figures: no byte counted
 * twice, none lost between two reads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "accountant.h"
#include "classify.h"

#define NO_SUCH_PID 0x7ffffff0u

struct fixture {
	struct row_table rows;
	struct accountant acct;
	struct catalog catalog;
	struct names names;
	struct classifier classifier;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct flow_namer namer;

	assert_int_equal(rows_init(&f->rows), 0);
	assert_int_equal(catalog_init_builtin(&f->catalog), 0);
	assert_int_equal(names_init(&f->names, 16), 0);
	f->classifier.catalog = &f->catalog;
	f->classifier.names = &f->names;
	namer = classifier_namer(&f->classifier);
	assert_int_equal(accountant_init(&f->acct, &f->rows, &namer), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	accountant_free(&f->acct);
	names_free(&f->names);
	catalog_free(&f->catalog);
	rows_free(&f->rows);
	free(f);
	return 0;
}

static struct ew_flow_key key(uint64_t cookie, uint8_t proto, uint8_t last_octet)
{
	struct ew_flow_key k = { .cookie = cookie, .peer_port = 443, .proto = proto };

	k.peer[10] = k.peer[11] = 0xff;
	k.peer[12] = 198;
	k.peer[13] = 51;
	k.peer[14] = 100;
	k.peer[15] = last_octet;
	return k;
}

static struct ew_flow flow(uint64_t tx, uint64_t rx)
{
	struct ew_flow f = { .tx_bytes = tx, .rx_bytes = rx };

	f.owner.tgid = NO_SUCH_PID;
	f.owner.uid = 1000;
	strcpy(f.owner.comm, "harvest");
	return f;
}

/* The same counters as a close event carries them. */
static struct ew_flow_final final(uint64_t tx, uint64_t rx)
{
	struct ew_flow f = flow(tx, rx);

	return (struct ew_flow_final){ .owner = f.owner, .tx_bytes = tx, .rx_bytes = rx };
}

static struct row *the_row(struct fixture *f, const char *host)
{
	struct row *r = rows_find(&f->rows, NO_SUCH_PID, host);

	assert_non_null(r);
	return r;
}

static void repeated_reads_add_only_what_was_gained(void **state)
{
	struct fixture *f = *state;
	struct ew_flow_key k = key(1, IPPROTO_TCP, 1);
	struct ew_flow v = flow(100, 1000);
	struct row *r;

	assert_false(accountant_flow(&f->acct, &k, &v, 1.0));
	accountant_end_pass(&f->acct, 1.0);
	v.tx_bytes = 150;
	v.rx_bytes = 5000;
	assert_false(accountant_flow(&f->acct, &k, &v, 2.0));
	accountant_end_pass(&f->acct, 2.0);
	r = the_row(f, "198.51.100.1");
	assert_int_equal(r->tx_bytes_total, 150);
	assert_int_equal(r->rx_bytes_total, 5000);
	assert_int_equal(r->connections, 1);
	assert_int_equal(r->connections_total, 1);
	assert_string_equal(r->comm, "harvest");
	assert_int_equal(r->uid, 1000);
	assert_null(r->exe);
}

static void close_event_adds_the_last_bytes(void **state)
{
	struct fixture *f = *state;
	struct ew_flow_key k = key(2, IPPROTO_TCP, 1);
	struct ew_flow v = flow(10, 20);
	struct ew_event ev = { .type = EW_EV_TCP_CLOSED, .key = k, .flow = final(30, 70) };
	struct row *r;

	accountant_flow(&f->acct, &k, &v, 1.0);
	accountant_end_pass(&f->acct, 1.0);
	accountant_event(&f->acct, &ev, 1.5);
	r = the_row(f, "198.51.100.1");
	assert_int_equal(r->tx_bytes_total, 30);
	assert_int_equal(r->rx_bytes_total, 70);
	assert_int_equal(r->connections_total, 1);
	accountant_end_pass(&f->acct, 2.0);
	assert_int_equal(r->connections, 0);
	assert_int_equal(r->tx_bytes_total, 30);
}

/* TLS plaintext read after a flow's close event still finds the flow's row,
 * until the pass ends; a flow never seen, with no map to read, has none. */
static void closed_flow_keeps_its_row_to_the_end_of_the_pass(void **state)
{
	struct fixture *f = *state;
	struct ew_flow_key k = key(7, IPPROTO_TCP, 1), unknown = key(8, IPPROTO_TCP, 1);
	struct ew_event ev = { .type = EW_EV_TCP_CLOSED, .key = k, .flow = final(10, 900) };
	struct row *r;

	accountant_event(&f->acct, &ev, 1.0);
	r = the_row(f, "198.51.100.1");
	assert_ptr_equal(accountant_flow_row(&f->acct, -1, &k, 1.1), r);
	assert_int_equal(r->connections, 1);
	assert_null(accountant_flow_row(&f->acct, -1, &unknown, 1.1));
	accountant_end_pass(&f->acct, 2.0);
	assert_int_equal(r->connections, 0);
	assert_null(accountant_flow_row(&f->acct, -1, &k, 2.1));
	assert_int_equal(r->rx_bytes_total, 900);
}

/* The same socket connected again to the same peer has a new kernel entry
 * under the old key, read after the old one's close event: a second
 * connection counted from zero, even with counts above the first's; its entry
 * stays until its own close (here one the kernel flagged). */
static void entry_made_again_after_its_close_is_a_new_connection(void **state)
{
	struct fixture *f = *state;
	struct ew_flow_key k = key(9, IPPROTO_TCP, 1);
	struct ew_event ev = { .type = EW_EV_TCP_CLOSED, .key = k, .flow = final(10, 500) };
	struct ew_flow again = flow(20, 800);
	struct row *r;

	accountant_event(&f->acct, &ev, 1.0);
	assert_false(accountant_flow(&f->acct, &k, &again, 1.2));
	accountant_end_pass(&f->acct, 1.2);
	r = the_row(f, "198.51.100.1");
	assert_int_equal(r->rx_bytes_total, 1300);
	assert_int_equal(r->tx_bytes_total, 30);
	assert_int_equal(r->connections, 1);
	assert_int_equal(r->connections_total, 2);
	again = flow(20, 900);
	again.flags = EW_FLOW_CLOSED;
	assert_true(accountant_flow(&f->acct, &k, &again, 2.0));
	assert_int_equal(r->rx_bytes_total, 1400);
	assert_int_equal(r->connections, 0);
}

static void flow_closed_between_reads_is_counted_whole(void **state)
{
	struct fixture *f = *state;
	struct ew_event ev = { .type = EW_EV_TCP_CLOSED, .key = key(3, IPPROTO_TCP, 2),
			       .flow = final(5, 3000) };
	struct row *r;

	accountant_event(&f->acct, &ev, 1.0);
	accountant_end_pass(&f->acct, 1.0);
	r = the_row(f, "198.51.100.2");
	assert_int_equal(r->rx_bytes_total, 3000);
	assert_int_equal(r->tx_bytes_total, 5);
	assert_int_equal(r->connections, 0);
	assert_int_equal(r->connections_total, 1);
}

static void flow_gone_without_event_is_dropped_after_two_passes(void **state)
{
	struct fixture *f = *state;
	struct ew_flow_key k = key(4, IPPROTO_TCP, 1);
	struct ew_flow v = flow(1, 1);
	struct row *r;

	accountant_flow(&f->acct, &k, &v, 1.0);
	accountant_end_pass(&f->acct, 1.0);
	r = the_row(f, "198.51.100.1");
	accountant_end_pass(&f->acct, 2.0); /* missing once: its event may still come */
	assert_int_equal(r->connections, 1);
	accountant_end_pass(&f->acct, 3.0);
	assert_int_equal(r->connections, 0);
	assert_int_equal(r->rx_bytes_total, 1);
}

/* A pass that sees every flow skips the walk over them: a flow that closes in
 * such a pass, or goes missing later, still ends. */
static void every_flow_seen_then_one_closed_one_missing(void **state)
{
	struct fixture *f = *state;
	struct ew_flow_key a = key(11, IPPROTO_TCP, 1), b = key(12, IPPROTO_TCP, 1),
			   c = key(13, IPPROTO_TCP, 1);
	struct ew_flow v = flow(5, 50);
	struct ew_event close_c = { .type = EW_EV_TCP_CLOSED, .key = c, .flow = final(6, 60) };
	struct row *r;

	for (int pass = 1; pass <= 3; pass++) {
		accountant_flow(&f->acct, &a, &v, pass);
		accountant_flow(&f->acct, &b, &v, pass);
		accountant_flow(&f->acct, &c, &v, pass);
		if (pass == 3) /* every flow seen, and c closes */
			accountant_event(&f->acct, &close_c, 3.1);
		accountant_end_pass(&f->acct, pass);
	}
	r = the_row(f, "198.51.100.1");
	assert_int_equal(r->connections, 2);
	/* b is gone from the map: missing once, then dropped */
	accountant_flow(&f->acct, &a, &v, 4.0);
	accountant_end_pass(&f->acct, 4.0);
	assert_int_equal(r->connections, 2);
	accountant_flow(&f->acct, &a, &v, 5.0);
	accountant_end_pass(&f->acct, 5.0);
	assert_int_equal(r->connections, 1);
	assert_int_equal(r->rx_bytes_total, 50 + 50 + 60);
	/* a stays, seen in every pass */
	accountant_flow(&f->acct, &a, &v, 6.0);
	accountant_end_pass(&f->acct, 6.0);
	assert_int_equal(r->connections, 1);
}

static void event_after_a_missed_pass_is_not_counted_twice(void **state)
{
	struct fixture *f = *state;
	struct ew_flow_key k = key(5, IPPROTO_TCP, 1);
	struct ew_flow v = flow(0, 100);
	struct ew_event ev = { .type = EW_EV_TCP_CLOSED, .key = k, .flow = final(0, 150) };
	struct row *r;

	accountant_flow(&f->acct, &k, &v, 1.0);
	accountant_end_pass(&f->acct, 1.0);
	accountant_end_pass(&f->acct, 2.0); /* deleted in the kernel, event not read yet */
	accountant_event(&f->acct, &ev, 2.1);
	r = the_row(f, "198.51.100.1");
	assert_int_equal(r->rx_bytes_total, 150);
	assert_int_equal(r->connections_total, 1);
}

static void recreated_kernel_entry_counts_anew(void **state)
{
	struct fixture *f = *state;
	struct ew_flow_key k = key(6, IPPROTO_UDP, 1);
	struct ew_flow v = flow(500, 500);

	accountant_flow(&f->acct, &k, &v, 1.0);
	v.tx_bytes = 40;
	v.rx_bytes = 0;
	accountant_flow(&f->acct, &k, &v, 2.0);
	assert_int_equal(the_row(f, "198.51.100.1")->tx_bytes_total, 540);
}

static void released_udp_socket_finishes_all_its_flows(void **state)
{
	struct fixture *f = *state;
	struct ew_flow_key a = key(7, IPPROTO_UDP, 1), b = key(7, IPPROTO_UDP, 2);
	struct ew_flow_key other = key(8, IPPROTO_UDP, 1);
	struct ew_event ev = { .type = EW_EV_SOCK_RELEASED, .key.cookie = 7 };
	struct ew_flow v = flow(10, 10);

	accountant_flow(&f->acct, &a, &v, 1.0);
	accountant_end_pass(&f->acct, 1.0);
	accountant_event(&f->acct, &ev, 1.5);
	assert_true(accountant_flow(&f->acct, &a, &v, 2.0));
	assert_true(accountant_flow(&f->acct, &b, &v, 2.0));
	assert_false(accountant_flow(&f->acct, &other, &v, 2.0));
	accountant_end_pass(&f->acct, 2.0);
	assert_int_equal(the_row(f, "198.51.100.1")->connections, 1); /* cookie 8 */
	assert_int_equal(the_row(f, "198.51.100.2")->connections, 0);
	/* the release is forgotten after the pass: a new socket may reuse nothing */
	assert_false(accountant_flow(&f->acct, &other, &v, 3.0));
}

static void deferred_close_flag_finishes_the_flow(void **state)
{
	struct fixture *f = *state;
	struct ew_flow_key k = key(9, IPPROTO_TCP, 1);
	struct ew_flow v = flow(1, 2);

	v.flags = EW_FLOW_CLOSED;
	assert_true(accountant_flow(&f->acct, &k, &v, 1.0));
	assert_int_equal(the_row(f, "198.51.100.1")->connections, 0);
	assert_int_equal(the_row(f, "198.51.100.1")->rx_bytes_total, 2);
}

static void idle_udp_flow_is_finished_tcp_is_not(void **state)
{
	struct fixture *f = *state;
	struct ew_flow_key u = key(10, IPPROTO_UDP, 1), t = key(11, IPPROTO_TCP, 1);
	struct ew_flow v = flow(1, 1);

	f->acct.udp_idle_s = 60;
	accountant_flow(&f->acct, &u, &v, 0.0);
	accountant_flow(&f->acct, &t, &v, 0.0);
	assert_false(accountant_flow(&f->acct, &u, &v, 59.0));
	assert_true(accountant_flow(&f->acct, &u, &v, 60.0));
	assert_false(accountant_flow(&f->acct, &t, &v, 600.0));
}

/* Its entry is where the kernel copies the counts from the socket's storage:
 * deleted, the datagrams that follow would count nowhere. */
static void udp_flow_counted_in_socket_lasts_until_release(void **state)
{
	struct fixture *f = *state;
	struct ew_flow_key u = key(12, IPPROTO_UDP, 1);
	struct ew_event ev = { .type = EW_EV_SOCK_RELEASED, .key.cookie = 12 };
	struct ew_flow v = flow(1, 1);

	f->acct.udp_idle_s = 60;
	v.flags = EW_FLOW_COUNTED_IN_SOCKET;
	accountant_flow(&f->acct, &u, &v, 0.0);
	assert_false(accountant_flow(&f->acct, &u, &v, 6000.0));
	accountant_event(&f->acct, &ev, 6001.0);
	assert_true(accountant_flow(&f->acct, &u, &v, 6001.0));
}

static void tcp_flow_without_payload_waits_until_it_has_some(void **state)
{
	struct fixture *f = *state;
	struct ew_flow_key k = key(14, IPPROTO_TCP, 1);
	struct ew_flow v = flow(0, 0);

	accountant_flow(&f->acct, &k, &v, 1.0);
	assert_null(rows_find(&f->rows, NO_SUCH_PID, "198.51.100.1"));
	v.tx_bytes = 517;
	accountant_flow(&f->acct, &k, &v, 2.0);
	assert_int_equal(the_row(f, "198.51.100.1")->tx_bytes_total, 517);
}

static void flows_to_one_host_share_a_row(void **state)
{
	struct fixture *f = *state;
	struct ew_flow_key a = key(12, IPPROTO_TCP, 1), b = key(13, IPPROTO_TCP, 1);
	struct ew_flow v = flow(1, 100);
	struct row *r;

	accountant_flow(&f->acct, &a, &v, 1.0);
	accountant_flow(&f->acct, &b, &v, 1.0);
	r = the_row(f, "198.51.100.1");
	assert_int_equal(r->connections, 2);
	assert_int_equal(r->rx_bytes_total, 200);
	assert_int_equal(f->rows.ht.count, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(repeated_reads_add_only_what_was_gained, setup, teardown),
		cmocka_unit_test_setup_teardown(close_event_adds_the_last_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(every_flow_seen_then_one_closed_one_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(flow_closed_between_reads_is_counted_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(closed_flow_keeps_its_row_to_the_end_of_the_pass, setup,
						teardown),
		cmocka_unit_test_setup_teardown(entry_made_again_after_its_close_is_a_new_connection, setup,
						teardown),
		cmocka_unit_test_setup_teardown(flow_gone_without_event_is_dropped_after_two_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(event_after_a_missed_pass_is_not_counted_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(recreated_kernel_entry_counts_anew, setup, teardown),
		cmocka_unit_test_setup_teardown(released_udp_socket_finishes_all_its_flows, setup, teardown),
		cmocka_unit_test_setup_teardown(deferred_close_flag_finishes_the_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(idle_udp_flow_is_finished_tcp_is_not, setup, teardown),
		cmocka_unit_test_setup_teardown(udp_flow_counted_in_socket_lasts_until_release, setup,
						teardown),
		cmocka_unit_test_setup_teardown(flows_to_one_host_share_a_row, setup, teardown),
		cmocka_unit_test_setup_teardown(tcp_flow_without_payload_waits_until_it_has_some, setup, teardown),
	};

	return cmocka_run_group_tests_name("accountant", tests, NULL, NULL);
}
