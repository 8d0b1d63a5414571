// SPDX-License-Identifier: GPL-2.0
/* The detector on rows made by hand: each rule at its thresholds, hysteresis,
 * aggregation per workload and host, the sliding window and the rate limit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "detect.h"
#include "seen_set.h"

#define INTERVAL_S 1.0
#define WINDOW_S 20.0
#define ROWS_MAX 40
#define ALERTS_MAX 128
#define EXE "/usr/bin/harvest"
#define CGROUP "/system.slice/harvest.service"
#define MIB (1024 * 1024)

struct test_row {
	struct row row;
	bool router, uncatalogued;
};

struct seen_alert {
	char rule[32], severity[16], state[16];
	enum detect_level level;
	uint32_t pid, processes;
	double value, threshold;
	char output[768];
	char first_workload[256];
	size_t nworkloads;
};

struct fixture {
	struct detect_config cfg;
	struct detector *d;
	double now;
	struct test_row rows[ROWS_MAX];
	size_t nrows;
	struct seen_alert alerts[ALERTS_MAX];
	size_t nalerts;
};

static void record(void *ctx, const struct alert *a)
{
	struct fixture *f = ctx;
	const char *who = a->level == LEVEL_HOST ? "this host (test-host)" : "harvest";
	struct seen_alert *s;
	char window[32];

	/* Every line: one sentence on one line that names who and the window. */
	assert_true(f->nalerts < ALERTS_MAX);
	s = &f->alerts[f->nalerts++];
	snprintf(window, sizeof(window), " %g s", a->window_s);
	assert_null(strpbrk(a->output, "\n\r"));
	assert_non_null(strstr(a->output, window));
	assert_non_null(strstr(a->output, who));
	snprintf(s->rule, sizeof(s->rule), "%s", a->rule);
	snprintf(s->severity, sizeof(s->severity), "%s", a->severity);
	snprintf(s->state, sizeof(s->state), "%s", a->state);
	snprintf(s->output, sizeof(s->output), "%s", a->output);
	s->level = a->level;
	s->pid = a->has_pid ? a->pid : 0;
	s->processes = a->processes;
	s->value = a->value;
	s->threshold = a->threshold;
	if (!a->workloads || !a->workloads[0])
		return;
	snprintf(s->first_workload, sizeof(s->first_workload), "%s", a->workloads[0]);
	while (a->workloads[s->nworkloads])
		s->nworkloads++;
}

static void free_rows(struct fixture *f)
{
	for (size_t i = 0; i < f->nrows; i++) {
		seen_free(&f->rows[i].row.keys);
		seen_free(&f->rows[i].row.orgs);
		free(f->rows[i].row.exe);
		free(f->rows[i].row.cgroup);
	}
	memset(f->rows, 0, sizeof(f->rows));
	f->nrows = 0;
}

/* A new detector, no rows, no alerts, time back at 0. */
static void restart(struct fixture *f)
{
	detector_free(f->d);
	free_rows(f);
	f->d = detector_new(&f->cfg, INTERVAL_S, "test-host");
	assert_non_null(f->d);
	f->nalerts = 0;
	f->now = 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->cfg = (struct detect_config){
		.window_s = WINDOW_S,
		.rx_bytes = { 1000, 4000 },
		.requests = { 100, 400 },
		.output_tokens = { 1000, 4000 },
		.connections = { 20, 80 },
		.api_keys = { 3, 12 },
	};
	restart(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	detector_free(f->d);
	free_rows(f);
	free(f);
	return 0;
}

static struct test_row *new_row(struct fixture *f, uint32_t pid, const char *exe,
				const char *host, const char *provider)
{
	struct test_row *t = &f->rows[f->nrows++];

	assert_true(f->nrows <= ROWS_MAX);
	t->row.pid = pid;
	t->row.uid = 1000;
	strcpy(t->row.comm, "harvest");
	t->row.exe = exe ? strdup(exe) : NULL;
	t->row.cgroup = strdup(CGROUP);
	snprintf(t->row.cls.host, sizeof(t->row.cls.host), "%s", host);
	t->row.cls.provider = provider;
	t->row.cls.by = "sni";
	return t;
}

static struct test_row *openai_row(struct fixture *f, uint32_t pid)
{
	return new_row(f, pid, EXE, "api.openai.com", "openai");
}

static void add_fingerprint(struct hashtab *set, uint8_t id, double last_seen)
{
	struct fingerprint fp = { .b = { id } };

	seen_note(set, &fp, sizeof(fp), last_seen, 4096);
}

/* One interval: every row goes to the detector, then its interval figures restart. */
static void run_interval(struct fixture *f)
{
	f->now += INTERVAL_S;
	detector_begin(f->d, f->now, 1.8e9 + f->now);
	for (size_t i = 0; i < f->nrows; i++) {
		struct test_row *t = &f->rows[i];

		detector_add(f->d, &t->row, t->row.cls.provider, t->router, t->uncatalogued);
		t->row.rx_bytes = t->row.tx_bytes = t->row.requests = 0;
		t->row.output_tokens = t->row.batch_requests = 0;
	}
	detector_end(f->d, record, f);
}

static void run_intervals(struct fixture *f, int n)
{
	while (n--)
		run_interval(f);
}

static const struct seen_alert *find(const struct fixture *f, const char *rule,
				     const char *severity, const char *state,
				     enum detect_level level)
{
	for (size_t i = 0; i < f->nalerts; i++) {
		const struct seen_alert *s = &f->alerts[i];

		if (!strcmp(s->rule, rule) && !strcmp(s->severity, severity) &&
		    !strcmp(s->state, state) && s->level == level)
			return s;
	}
	return NULL;
}

static size_t count(const struct fixture *f, const char *rule, const char *severity,
		    const char *state, enum detect_level level)
{
	size_t n = 0;

	for (size_t i = 0; i < f->nalerts; i++) {
		const struct seen_alert *s = &f->alerts[i];

		n += !strcmp(s->rule, rule) && !strcmp(s->severity, severity) &&
		     !strcmp(s->state, state) && s->level == level;
	}
	return n;
}

static size_t fired(const struct fixture *f, const char *rule, const char *severity,
		    enum detect_level level)
{
	return count(f, rule, severity, "firing", level);
}

/* ---- Each rule at, just under and just over its warning threshold ---- */

typedef void (*row_setter)(struct test_row *t, uint64_t v);

static void set_rx(struct test_row *t, uint64_t v)
{
	t->row.rx_bytes = v;
}

static void set_tokens(struct test_row *t, uint64_t v)
{
	t->row.plaintext = true;
	t->row.requests = 1;
	t->row.output_tokens = v;
}

static void set_requests(struct test_row *t, uint64_t v)
{
	t->row.plaintext = true;
	t->row.requests = v;
}

static void set_connections(struct test_row *t, uint64_t v)
{
	t->row.connections = v;
}

static void set_keys(struct test_row *t, uint64_t v)
{
	t->row.plaintext = true;
	t->row.requests = 1;
	for (uint64_t i = 0; i < v; i++)
		add_fingerprint(&t->row.keys, i, INTERVAL_S);
}

static void set_batches(struct test_row *t, uint64_t v)
{
	t->row.plaintext = true;
	t->row.requests = 1;
	t->row.batch_requests = v;
}

static void set_router_requests(struct test_row *t, uint64_t v)
{
	t->router = true;
	t->row.plaintext = true;
	t->row.requests = v;
	t->row.tx_bytes = 1;
}

static void set_uncatalogued_rx(struct test_row *t, uint64_t v)
{
	t->uncatalogued = true;
	t->row.rx_bytes = v;
}

/* Whether a process's first interval, its row set to v, fires the rule's warning. */
static bool warning_fires(struct fixture *f, const char *rule, row_setter set, uint64_t v)
{
	restart(f);
	set(openai_row(f, 4242), v);
	run_interval(f);
	return fired(f, rule, "warning", LEVEL_PROCESS) == 1;
}

static void assert_warning_at(struct fixture *f, const char *rule, row_setter set, uint64_t at)
{
	assert_false(warning_fires(f, rule, set, at - 1));
	assert_true(warning_fires(f, rule, set, at));
	assert_true(warning_fires(f, rule, set, at + 1));
}

static void each_rule_fires_from_its_warning_threshold(void **state)
{
	struct fixture *f = *state;

	assert_warning_at(f, "llm_output_volume", set_rx, 1000);
	assert_warning_at(f, "llm_output_volume", set_tokens, 1000);
	assert_warning_at(f, "llm_request_rate", set_requests, 100);
	assert_warning_at(f, "llm_concurrency", set_connections, 20);
	assert_warning_at(f, "llm_key_rotation", set_keys, 3);
	assert_warning_at(f, "llm_batch_harvest", set_batches, 1);
	assert_warning_at(f, "llm_router", set_router_requests, 1);
	assert_warning_at(f, "llm_router", set_uncatalogued_rx, MIB);
}

static void requests_without_plaintext_cannot_fire(void **state)
{
	struct fixture *f = *state;
	struct test_row *t = openai_row(f, 4242);

	t->row.requests = 1000;
	t->row.tx_bytes = 1;
	run_interval(f);
	assert_int_equal(fired(f, "llm_request_rate", "warning", LEVEL_PROCESS), 0);
}

static void tokens_are_reported_when_both_volumes_cross(void **state)
{
	struct fixture *f = *state;
	struct test_row *t = openai_row(f, 4242);
	const struct seen_alert *a;

	t->row.rx_bytes = 2000;
	set_tokens(t, 1000);
	run_interval(f);
	a = find(f, "llm_output_volume", "warning", "firing", LEVEL_PROCESS);
	assert_non_null(a);
	assert_true(a->value == 1000 && a->threshold == 1000);
	assert_non_null(strstr(a->output, "received 1000 output tokens from api.openai.com"));
}

static void critical_fires_from_its_own_threshold(void **state)
{
	struct fixture *f = *state;

	openai_row(f, 4242)->row.rx_bytes = 3999;
	run_interval(f);
	assert_int_equal(fired(f, "llm_output_volume", "warning", LEVEL_PROCESS), 1);
	assert_int_equal(fired(f, "llm_output_volume", "critical", LEVEL_PROCESS), 0);
	f->rows[0].row.rx_bytes = 1;
	set_batches(&f->rows[0], 10);
	run_interval(f);
	assert_int_equal(fired(f, "llm_output_volume", "critical", LEVEL_PROCESS), 1);
	assert_int_equal(fired(f, "llm_batch_harvest", "critical", LEVEL_PROCESS), 1);
	assert_int_equal(fired(f, "llm_output_volume", "warning", LEVEL_PROCESS), 1);
}

static void router_critical_follows_the_rx_warning(void **state)
{
	struct fixture *f = *state;

	f->cfg.rx_bytes = (struct threshold){ 2 * MIB, 8 * MIB };
	detector_configure(f->d, &f->cfg);
	set_uncatalogued_rx(new_row(f, 4242, EXE, "llm.example.net", "uncatalogued"), 3 * MIB / 2);
	run_interval(f);
	assert_int_equal(fired(f, "llm_router", "warning", LEVEL_PROCESS), 1);
	assert_int_equal(fired(f, "llm_router", "critical", LEVEL_PROCESS), 0);
	f->rows[0].row.rx_bytes = MIB / 2;
	run_interval(f);
	assert_int_equal(fired(f, "llm_router", "critical", LEVEL_PROCESS), 1);
}

/* ---- Hysteresis and the window ---- */

static void resolves_below_the_resolve_ratio_only(void **state)
{
	struct fixture *f = *state;
	struct test_row *t = openai_row(f, 4242);

	t->row.connections = 20;
	run_interval(f);
	assert_int_equal(fired(f, "llm_concurrency", "warning", LEVEL_PROCESS), 1);
	t->row.connections = 17;
	run_interval(f);
	assert_int_equal(count(f, "llm_concurrency", "warning", "resolved", LEVEL_PROCESS), 0);
	assert_true(detector_pid_alerting(f->d, 4242));
	t->row.connections = 15;
	run_interval(f);
	assert_int_equal(count(f, "llm_concurrency", "warning", "resolved", LEVEL_PROCESS), 1);
	assert_int_equal(count(f, "llm_concurrency", "warning", "resolved", LEVEL_HOST), 1);
	assert_false(detector_pid_alerting(f->d, 4242));
}

static void count_active(void *ctx, const struct active_alert *a)
{
	(*(size_t *)ctx)++;
}

static void old_buckets_slide_out_and_resolve(void **state)
{
	struct fixture *f = *state;
	size_t active = 0;

	openai_row(f, 4242)->row.rx_bytes = 1000;
	run_interval(f);
	assert_int_equal(fired(f, "llm_output_volume", "warning", LEVEL_PROCESS), 1);
	run_intervals(f, WINDOW_S - 1);
	assert_true(detector_pid_alerting(f->d, 4242));
	assert_int_equal(count(f, "llm_output_volume", "warning", "resolved", LEVEL_PROCESS), 0);
	run_interval(f);
	assert_int_equal(count(f, "llm_output_volume", "warning", "resolved", LEVEL_PROCESS), 1);
	assert_int_equal(count(f, "llm_output_volume", "warning", "resolved", LEVEL_WORKLOAD), 1);
	assert_int_equal(count(f, "llm_output_volume", "warning", "resolved", LEVEL_HOST), 1);
	assert_false(detector_pid_alerting(f->d, 4242));
	detector_each_active(f->d, count_active, &active);
	assert_int_equal(active, 0);
}

static void keys_last_seen_outside_the_window_do_not_count(void **state)
{
	struct fixture *f = *state;
	struct test_row *t = openai_row(f, 4242);
	const struct seen_alert *a;

	t->row.connections = 1;
	run_intervals(f, 25);
	t->row.plaintext = true;
	for (uint8_t i = 0; i < 5; i++)
		add_fingerprint(&t->row.keys, i, 1.0);
	add_fingerprint(&t->row.keys, 10, f->now + INTERVAL_S);
	add_fingerprint(&t->row.keys, 11, f->now + INTERVAL_S);
	run_interval(f);
	assert_int_equal(fired(f, "llm_key_rotation", "warning", LEVEL_PROCESS), 0);
	add_fingerprint(&t->row.keys, 12, f->now + INTERVAL_S);
	run_interval(f);
	a = find(f, "llm_key_rotation", "warning", "firing", LEVEL_PROCESS);
	assert_non_null(a);
	assert_true(a->value == 3);
}

static void reconfigured_window_keeps_what_fits(void **state)
{
	struct fixture *f = *state;

	openai_row(f, 4242)->row.rx_bytes = 1000;
	run_interval(f);
	f->cfg.window_s = 40;
	detector_configure(f->d, &f->cfg);
	/* With the 20 s window the first interval would have slid out at 21 s. */
	run_intervals(f, 30);
	assert_int_equal(count(f, "llm_output_volume", "warning", "resolved", LEVEL_PROCESS), 0);
	f->cfg.window_s = 10;
	detector_configure(f->d, &f->cfg);
	run_interval(f);
	assert_int_equal(count(f, "llm_output_volume", "warning", "resolved", LEVEL_PROCESS), 1);
}

/* ---- Aggregation ---- */

static void workers_under_the_threshold_add_up_per_workload(void **state)
{
	struct fixture *f = *state;
	const struct seen_alert *a;

	for (uint32_t pid = 1000; pid < 1032; pid++)
		openai_row(f, pid)->row.rx_bytes = 100;
	run_interval(f);
	assert_int_equal(fired(f, "llm_output_volume", "warning", LEVEL_PROCESS), 0);
	a = find(f, "llm_output_volume", "warning", "firing", LEVEL_WORKLOAD);
	assert_non_null(a);
	assert_int_equal(a->processes, 32);
	assert_string_equal(a->output, "workload " EXE " in " CGROUP " (32 processes) received "
			    "3.1 KiB from api.openai.com (openai) in 20 s");
	assert_int_equal(fired(f, "llm_output_volume", "warning", LEVEL_HOST), 1);
}

static void restarted_process_keeps_its_workload_history(void **state)
{
	struct fixture *f = *state;
	const struct seen_alert *a;

	openai_row(f, 1)->row.rx_bytes = 600;
	run_interval(f);
	openai_row(f, 2)->row.rx_bytes = 600;
	run_interval(f);
	assert_int_equal(fired(f, "llm_output_volume", "warning", LEVEL_PROCESS), 0);
	a = find(f, "llm_output_volume", "warning", "firing", LEVEL_WORKLOAD);
	assert_non_null(a);
	assert_int_equal(a->processes, 2);
}

static void host_alert_lists_its_workloads(void **state)
{
	struct fixture *f = *state;
	const struct seen_alert *a;

	new_row(f, 1, "/opt/harvest-b", "api.anthropic.com", "anthropic")->row.rx_bytes = 500;
	openai_row(f, 2)->row.rx_bytes = 700;
	run_interval(f);
	assert_int_equal(fired(f, "llm_output_volume", "warning", LEVEL_WORKLOAD), 0);
	a = find(f, "llm_output_volume", "warning", "firing", LEVEL_HOST);
	assert_non_null(a);
	assert_int_equal(a->nworkloads, 2);
	assert_string_equal(a->first_workload, EXE " (" CGROUP ")");
	assert_string_equal(a->output, "this host (test-host) may be harvesting model outputs: "
			    "received 1.2 KiB from LLM endpoints in 20 s, by " EXE " (" CGROUP
			    "), /opt/harvest-b (" CGROUP ")");
}

static void providers_count_per_workload_routers_apart(void **state)
{
	struct fixture *f = *state;
	static const char *const more[] = { "gemini", "mistral", "deepseek" };

	openai_row(f, 1)->row.rx_bytes = 10;
	new_row(f, 1, EXE, "api.anthropic.com", "anthropic")->row.rx_bytes = 10;
	set_router_requests(new_row(f, 1, EXE, "openrouter.ai", "openrouter"), 0);
	f->rows[2].row.rx_bytes = 10;
	run_interval(f);
	assert_int_equal(fired(f, "llm_multi_provider", "warning", LEVEL_WORKLOAD), 0);
	for (size_t i = 0; i < 3; i++)
		new_row(f, 1, EXE, more[i], more[i])->row.rx_bytes = 10;
	run_interval(f);
	assert_int_equal(fired(f, "llm_multi_provider", "warning", LEVEL_WORKLOAD), 1);
	assert_int_equal(fired(f, "llm_multi_provider", "critical", LEVEL_WORKLOAD), 1);
	assert_int_equal(fired(f, "llm_multi_provider", "warning", LEVEL_HOST), 1);
	assert_int_equal(fired(f, "llm_multi_provider", "warning", LEVEL_PROCESS), 0);
}

/* ---- Sustained automation ---- */

static void regular_traffic_is_sustained_automation(void **state)
{
	struct fixture *f = *state;
	struct test_row *t = openai_row(f, 4242);

	for (int i = 1; i <= 20; i++) {
		set_requests(t, 10);
		run_interval(f);
		/* 18 of 20 intervals busy make 0.9 of the window; all 20, critical. */
		assert_int_equal(fired(f, "llm_sustained_automation", "warning", LEVEL_PROCESS),
				 i >= 18);
		assert_int_equal(fired(f, "llm_sustained_automation", "critical", LEVEL_PROCESS),
				 i >= 20);
	}
}

static void bursty_traffic_is_not(void **state)
{
	struct fixture *f = *state;
	struct test_row *t = openai_row(f, 4242);

	for (int i = 0; i < 40; i++) {
		set_requests(t, i % 2 ? 30 : 1);
		run_interval(f);
	}
	assert_int_equal(fired(f, "llm_sustained_automation", "warning", LEVEL_PROCESS), 0);
	assert_int_equal(fired(f, "llm_request_rate", "warning", LEVEL_PROCESS), 1);
}

/* ---- Rate limit ---- */

static void count_output_volume(void *ctx, const char *rule, const char *severity,
				uint64_t emitted, uint64_t suppressed)
{
	uint64_t *n = ctx;

	if (!strcmp(rule, "llm_output_volume") && !strcmp(severity, "warning")) {
		n[0] = emitted;
		n[1] = suppressed;
	}
}

static void rate_limit_holds_back_firings_and_their_resolutions(void **state)
{
	struct fixture *f = *state;
	uint64_t counts[2] = { 0 };
	size_t active = 0;
	char exe[32];

	f->cfg.rx_bytes.critical = 1000000;
	detector_configure(f->d, &f->cfg);
	for (uint32_t pid = 1; pid <= 12; pid++) {
		snprintf(exe, sizeof(exe), "/usr/bin/harvest-%u", pid);
		new_row(f, pid, exe, "api.openai.com", "openai")->row.rx_bytes = 1000;
	}
	run_interval(f);
	/* 12 processes, 12 workloads and the host cross; the host's line goes first. */
	detector_each_count(f->d, count_output_volume, counts);
	assert_int_equal(counts[0], 10);
	assert_int_equal(counts[1], 15);
	assert_int_equal(f->nalerts, 10);
	assert_int_equal(fired(f, "llm_output_volume", "warning", LEVEL_HOST), 1);
	detector_each_active(f->d, count_active, &active);
	assert_int_equal(active, 25);
	for (uint32_t pid = 1; pid <= 12; pid++)
		assert_true(detector_pid_alerting(f->d, pid));
	run_intervals(f, WINDOW_S);
	assert_int_equal(f->nalerts, 20);
	assert_int_equal(count(f, "llm_output_volume", "warning", "resolved", LEVEL_HOST), 1);
}

/* ---- Sentences ---- */

static void sentences_name_who_what_and_the_window(void **state)
{
	struct fixture *f = *state;
	struct test_row *t = openai_row(f, 4242);
	const struct seen_alert *a;

	t->row.rx_bytes = 1536;
	run_interval(f);
	a = find(f, "llm_output_volume", "warning", "firing", LEVEL_PROCESS);
	assert_non_null(a);
	assert_string_equal(a->output, "harvest (pid 4242, uid 1000, " CGROUP ") received 1.5 KiB "
			    "from api.openai.com (openai) in 20 s");
	run_intervals(f, WINDOW_S);
	a = find(f, "llm_output_volume", "warning", "resolved", LEVEL_PROCESS);
	assert_non_null(a);
	assert_string_equal(a->output, "harvest (pid 4242, uid 1000, " CGROUP ") is no longer over "
			    "the warning threshold: received 0 B from LLM endpoints in 20 s");
}

static void control_characters_never_break_the_line(void **state)
{
	struct fixture *f = *state;
	struct test_row *t = openai_row(f, 4242);
	const struct seen_alert *a;

	strcpy(t->row.comm, "harvest\nevil");
	t->row.rx_bytes = 1000;
	run_interval(f);
	a = find(f, "llm_output_volume", "warning", "firing", LEVEL_PROCESS);
	assert_non_null(a);
	assert_non_null(strstr(a->output, "harvest?evil (pid 4242"));
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(each_rule_fires_from_its_warning_threshold),
		TEST(requests_without_plaintext_cannot_fire),
		TEST(tokens_are_reported_when_both_volumes_cross),
		TEST(critical_fires_from_its_own_threshold),
		TEST(router_critical_follows_the_rx_warning),
		TEST(resolves_below_the_resolve_ratio_only),
		TEST(old_buckets_slide_out_and_resolve),
		TEST(keys_last_seen_outside_the_window_do_not_count),
		TEST(reconfigured_window_keeps_what_fits),
		TEST(workers_under_the_threshold_add_up_per_workload),
		TEST(restarted_process_keeps_its_workload_history),
		TEST(host_alert_lists_its_workloads),
		TEST(providers_count_per_workload_routers_apart),
		TEST(regular_traffic_is_sustained_automation),
		TEST(bursty_traffic_is_not),
		TEST(rate_limit_holds_back_firings_and_their_resolutions),
		TEST(sentences_name_who_what_and_the_window),
		TEST(control_characters_never_break_the_line),
	};

	return cmocka_run_group_tests_name("detect", tests, NULL, NULL);
}
