// SPDX-License-Identifier: GPL-2.0
/* The endpoint catalog, the configuration file, and the classifier's order of
 * trust between names, DNS answers and address ranges. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <netinet/in.h>
#include "catalog.h"
#include "classify.h"
#include "config.h"
#include "names.h"

static void host_patterns(void **state)
{
	assert_true(host_pattern_match("api.openai.com", "API.OpenAI.com"));
	assert_true(host_pattern_match("api.openai.com", "api.openai.com."));
	assert_false(host_pattern_match("api.openai.com", "api.openai.com.evil.net"));
	assert_false(host_pattern_match("api.openai.com", "xapi.openai.com"));
	assert_true(host_pattern_match("*.openai.azure.com", "myres.openai.azure.com"));
	assert_false(host_pattern_match("*.openai.azure.com", "openai.azure.com"));
	assert_false(host_pattern_match("*.openai.azure.com", "a.b.openai.azure.com"));
	assert_true(host_pattern_match("bedrock-runtime.*.amazonaws.com",
				       "bedrock-runtime.us-east-1.amazonaws.com"));
	assert_false(host_pattern_match("bedrock-runtime.*.amazonaws.com",
					"bedrock-runtime.amazonaws.com"));
	assert_true(host_pattern_match("*-aiplatform.googleapis.com",
				       "us-central1-aiplatform.googleapis.com"));
	assert_false(host_pattern_match("*-aiplatform.googleapis.com", "aiplatform.googleapis.com"));
	assert_false(host_pattern_match("*-aiplatform.googleapis.com",
					"x.us-aiplatform.googleapis.com"));
}

static void path_patterns(void **state)
{
	assert_true(path_pattern_match("/v1/chat/completions", "/v1/chat/completions?stream=1"));
	assert_true(path_pattern_match("/v1/chat/completions", "/v1/chat/completions/"));
	assert_false(path_pattern_match("/v1/chat/completions", "/v1/chat/completions/x"));
	assert_true(path_pattern_match("/v1beta/models/*:generateContent",
				       "/v1beta/models/gemini-2.5-pro:generateContent"));
	assert_false(path_pattern_match("/v1beta/models/*:generateContent",
					"/v1beta/models/a/b:generateContent"));
	assert_true(path_pattern_match("/model/*/invoke", "/model/anthropic.claude-v2/invoke"));
}

static void builtin_catalog_covers_the_providers(void **state)
{
	static const char *const expect[][2] = {
		{ "api.openai.com", "openai" }, { "x.openai.azure.com", "azure-openai" },
		{ "api.anthropic.com", "anthropic" }, { "generativelanguage.googleapis.com", "gemini" },
		{ "europe-west4-aiplatform.googleapis.com", "vertex" },
		{ "bedrock-runtime.eu-west-1.amazonaws.com", "bedrock" }, { "api.mistral.ai", "mistral" },
		{ "api.cohere.com", "cohere" }, { "api.deepseek.com", "deepseek" }, { "api.x.ai", "xai" },
		{ "api.groq.com", "groq" }, { "api.together.xyz", "together" },
		{ "api.fireworks.ai", "fireworks" }, { "openrouter.ai", "openrouter" },
		{ "api.perplexity.ai", "perplexity" }, { "router.huggingface.co", "huggingface" },
		{ "api.replicate.com", "replicate" }, { "dashscope.aliyuncs.com", "dashscope" },
		{ "api.moonshot.ai", "moonshot" }, { "api.z.ai", "zhipu" }, { "open.bigmodel.cn", "zhipu" },
		{ "qianfan.baidubce.com", "qianfan" }, { "ark.cn-beijing.volces.com", "volcengine" },
		{ "api.minimax.io", "minimax" }, { "api.cerebras.ai", "cerebras" },
		{ "api.sambanova.ai", "sambanova" }, { "api.deepinfra.com", "deepinfra" },
		{ "api.siliconflow.cn", "siliconflow" },
	};
	struct catalog c;
	bool batch;

	assert_int_equal(catalog_init_builtin(&c), 0);
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		const struct endpoint *e = catalog_match_host(&c, expect[i][0]);

		assert_non_null(e);
		assert_string_equal(e->provider, expect[i][1]);
	}
	assert_null(catalog_match_host(&c, "www.openai.com"));
	assert_true(catalog_match_host(&c, "openrouter.ai")->router);
	assert_true(catalog_llm_path(&c, "/v1/messages", &batch) && !batch);
	assert_true(catalog_llm_path(&c, "/v1/messages/batches", &batch) && batch);
	assert_true(catalog_llm_path(&c, "/model/x/converse-stream", &batch) && !batch);
	assert_false(catalog_llm_path(&c, "/index.html", &batch));
	catalog_free(&c);
}

static void cidrs(void **state)
{
	struct cidr c;
	uint8_t in[16] = { [10] = 0xff, [11] = 0xff, 203, 0, 113, 77 };
	uint8_t out[16] = { [10] = 0xff, [11] = 0xff, 203, 0, 114, 1 };
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34 };

	assert_int_equal(cidr_parse("203.0.113.0/24", &c), 0);
	assert_true(cidr_contains(&c, in));
	assert_false(cidr_contains(&c, out));
	assert_int_equal(cidr_parse("2001:db8::/32", &c), 0);
	assert_true(cidr_contains(&c, v6));
	assert_false(cidr_contains(&c, in));
	assert_int_equal(cidr_parse("2001:db8:1234::/47", &c), 0);
	assert_true(cidr_contains(&c, v6));
	assert_int_not_equal(cidr_parse("203.0.113.0/33", &c), 0);
	assert_int_not_equal(cidr_parse("203.0.113.0", &c), 0);
	assert_int_not_equal(cidr_parse("203.0.113.0/", &c), 0);
	assert_int_not_equal(cidr_parse("nonsense/8", &c), 0);
	assert_int_not_equal(cidr_parse("10.0.0.0/8x", &c), 0);
}

/* ---- configuration ---- */

static char path[64];

static const char *write_config(const char *text)
{
	FILE *f;

	strcpy(path, "/tmp/ew-test-config-XXXXXX");
	close(mkstemp(path));
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	chmod(path, 0600);
	return path;
}

static int load(const char *text, struct config *c, char *err, size_t len)
{
	int r;

	assert_int_equal(config_init(c), 0);
	r = config_load(c, write_config(text), err, len);
	unlink(path);
	return r;
}

static void contract_example_loads(void **state)
{
	struct config c;
	char err[512];
	const struct endpoint *e;
	uint8_t addr[16] = { [10] = 0xff, [11] = 0xff, 203, 0, 113, 5 };

	assert_int_equal(load("[general]\n"
			      "interval = 5                 ; seconds\n"
			      "textfile_dir = /var/lib/prometheus/node-exporter\n"
			      "alerts = /var/log/egresswatch/alerts.jsonl   ; a path\n"
			      "payload = on\n"
			      "tcp_counters = packets\n"
			      "\n[detect]\nwindow = 600\nrx_bytes_warning = 268435456\n"
			      "requests_warning = 3000\noutput_tokens_warning = 2000000\n"
			      "connections_warning = 32\napi_keys_warning = 5\napi_keys_critical = 7\n"
			      "\n[endpoint acme]\nprovider = acme\n"
			      "hosts = llm.acme.internal, *.llm.acme.internal\n"
			      "paths = /v1/chat/completions\ncidrs = 203.0.113.0/24\n"
			      "\n[endpoint openai]\nhosts = api.openai.com, openai-proxy.corp\n",
			      &c, err, sizeof(err)), 0);
	assert_true(c.interval_s == 5);
	assert_string_equal(c.textfile_dir, "/var/lib/prometheus/node-exporter");
	assert_string_equal(c.alerts, "/var/log/egresswatch/alerts.jsonl");
	assert_true(c.payload);
	assert_false(c.tcp_from_socket);
	assert_int_equal(c.detect.rx_bytes.critical, 4 * 268435456ULL);
	assert_int_equal(c.detect.api_keys.critical, 7);
	e = catalog_match_host(&c.catalog, "a.llm.acme.internal");
	assert_non_null(e);
	assert_string_equal(e->provider, "acme");
	assert_ptr_equal(catalog_match_addr(&c.catalog, addr), e);
	/* the override replaced the built-in entry, not added a second */
	e = catalog_match_host(&c.catalog, "openai-proxy.corp");
	assert_string_equal(e->provider, "openai");
	assert_true(e->from_config);
	assert_int_equal(e->npaths, 0);
	config_free(&c);
}

static void defaults_without_a_file(void **state)
{
	struct config c;

	assert_int_equal(config_init(&c), 0);
	assert_true(c.interval_s == 5 && c.detect.window_s == 600 && c.payload);
	assert_int_equal(c.detect.requests.warning, 3000);
	assert_int_equal(c.detect.requests.critical, 12000);
	assert_int_equal(c.detect.api_keys.critical, 20);
	assert_null(c.textfile_dir);
	assert_true(c.tcp_from_socket);
	config_free(&c);
}

static void bad_config_names_file_and_line(void **state)
{
	static const struct { const char *text; int line; const char *words; } cases[] = {
		{ "[general]\ninterval = 5\nintervall = 4\n", 3, "unknown key 'intervall'" },
		{ "[general]\n\ninterval = fast\n", 3, "interval: 'fast'" },
		{ "[general]\ninterval = 0\n", 2, "interval" },
		{ "[general]\npayload = maybe\n", 2, "payload" },
		{ "[general]\npayload_capture = 100\n", 2, "payload_capture: '100'" },
		{ "[general]\ntls_socket_link = sometimes\n", 2, "tls_socket_link" },
		{ "[general]\ntcp_counters = kernel\n", 2, "tcp_counters: 'kernel' is not socket or packets" },
		{ "[general]\npayload_capture = 65536\n", 2, "from 256 to 16384" },
		{ "[detect]\nrequests_warning = -3\n", 2, "requests_warning" },
		{ "[detect]\nrequests_warnin = 3\n", 2, "unknown key" },
		{ "[detect]\nwindow = 10\nwindow = 20\n", 3, "set twice" },
		{ "[general]\nalerts = relative.log\n", 2, "alerts" },
		{ "[nonsense]\nx = 1\n", 2, "unknown section [nonsense]" },
		{ "[endpoint x]\nhosts = bad host!\n", 2, "hosts" },
		{ "[endpoint x]\ncidrs = 10.0.0.0/99\n", 2, "cidrs: '10.0.0.0/99'" },
		{ "[endpoint x]\npaths = v1/chat\n", 2, "does not start with '/'" },
		{ "[endpoint x]\nfoo = 1\n", 2, "unknown key 'foo'" },
		{ "[general]\ninterval = 5\n\n[endpoint empty]\npaths = /x\n", 5, "needs hosts or cidrs" },
		{ "[general]\nthis is not ini\n", 2, "" },
		{ "[detect]\nrx_bytes_warning = 100\nrx_bytes_critical = 50\n", 0, "below" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512], where[96];
		struct config c;

		assert_int_equal(load(cases[i].text, &c, err, sizeof(err)), -1);
		if (cases[i].line) {
			snprintf(where, sizeof(where), "%s:%d: ", path, cases[i].line);
			if (strncmp(err, where, strlen(where)))
				fail_msg("case %zu: '%s' does not start with '%s'", i, err, where);
		}
		if (!strstr(err, cases[i].words))
			fail_msg("case %zu: '%s' does not say '%s'", i, err, cases[i].words);
		config_free(&c);
	}
}

static void long_lines_and_unsafe_files_are_refused(void **state)
{
	char text[600], err[512];
	struct config c;

	snprintf(text, sizeof(text), "[endpoint x]\nhosts = %0300d\n", 1);
	assert_int_equal(load(text, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":2: line longer than"));
	config_free(&c);

	assert_int_equal(config_init(&c), 0);
	write_config("[general]\ninterval = 5\n");
	chmod(path, 0666);
	assert_int_equal(config_load(&c, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "writable by any user"));
	unlink(path);
	assert_int_equal(config_load(&c, "/nonexistent/egresswatch.conf", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
	config_free(&c);
}

/* ---- classification ---- */

static void v4(uint8_t a[16], int last)
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	a[12] = 198, a[13] = 51, a[14] = 100, a[15] = last;
}

static void dns_answer(struct names *n, uint32_t tgid, const char *name, int last, double now)
{
	/* a minimal response: question name, one A record pointing at it */
	struct ew_sample s = { .type = EW_EV_SAMPLE_DNS, .tgid = tgid };
	size_t o = 12, l;
	const char *p = name;

	s.data[2] = 0x81, s.data[3] = 0x80, s.data[5] = 1, s.data[7] = 1;
	while (*p) {
		l = strcspn(p, ".");
		s.data[o++] = l;
		memcpy(s.data + o, p, l);
		o += l;
		p += l + (p[l] == '.');
	}
	s.data[o++] = 0;
	s.data[o++] = 0, s.data[o++] = 1, s.data[o++] = 0, s.data[o++] = 1;
	s.data[o++] = 0xc0, s.data[o++] = 12, s.data[o++] = 0, s.data[o++] = 1, s.data[o++] = 0;
	s.data[o++] = 1, s.data[o++] = 0, s.data[o++] = 0, s.data[o++] = 0x0e, s.data[o++] = 0x10;
	s.data[o++] = 0, s.data[o++] = 4, s.data[o++] = 198, s.data[o++] = 51, s.data[o++] = 100;
	s.data[o++] = last;
	s.len = o;
	names_dns_sample(n, &s, now);
}

static void order_of_trust(void **state)
{
	struct catalog cat;
	struct names names;
	struct classifier c = { &cat, &names };
	struct classification out;
	struct ew_flow_key k = { .cookie = 1, .proto = IPPROTO_TCP, .peer_port = 443 };
	struct endpoint e = { 0 };

	assert_int_equal(catalog_init_builtin(&cat), 0);
	e.provider = strdup("cdnllm");
	e.cidrs = calloc(1, sizeof(*e.cidrs));
	e.ncidrs = 1;
	cidr_parse("198.51.100.0/24", e.cidrs);
	catalog_put(&cat, &e);
	assert_int_equal(names_init(&names, 100), 0);
	v4(k.peer, 9);

	/* nothing known but the address: the CIDR */
	assert_true(classify_flow(&c, &k, 10, false, 0, &out));
	assert_string_equal(out.host, "198.51.100.9");
	assert_string_equal(out.by, "cidr");
	assert_string_equal(out.provider, "cdnllm");

	/* a DNS answer names the address: the name decides, not the range */
	dns_answer(&names, 10, "static.example.net", 9, 0);
	assert_true(classify_flow(&c, &k, 10, false, 1, &out));
	assert_string_equal(out.host, "static.example.net");
	assert_string_equal(out.by, "dns");
	assert_null(out.provider);

	/* the same CDN address, later resolved by another process for an LLM
	 * name: process 10 keeps its own answer, process 11 gets its own */
	dns_answer(&names, 11, "api.openai.com", 9, 2);
	assert_true(classify_flow(&c, &k, 10, false, 3, &out));
	assert_string_equal(out.host, "static.example.net");
	assert_true(classify_flow(&c, &k, 11, false, 3, &out));
	assert_string_equal(out.host, "api.openai.com");
	assert_string_equal(out.provider, "openai");
	/* a process that asked nothing: the address has two live names
	 * host-wide, so DNS names nothing and the range decides */
	assert_true(classify_flow(&c, &k, 12, false, 3, &out));
	assert_string_equal(out.by, "cidr");
	/* one name host-wide (another address) does name it */
	dns_answer(&names, 11, "api.anthropic.com", 10, 4);
	k.peer[15] = 10;
	assert_true(classify_flow(&c, &k, 12, false, 5, &out));
	assert_string_equal(out.host, "api.anthropic.com");
	assert_string_equal(out.by, "dns");
	/* after the TTL (and the floor), the answer is gone */
	assert_true(classify_flow(&c, &k, 12, false, 5 + 3600 + 1, &out));
	assert_string_equal(out.by, "cidr");

	names_free(&names);
	catalog_free(&cat);
}

static void pending_hello_waits_then_gives_up(void **state)
{
	struct catalog cat;
	struct names names;
	struct classifier c = { &cat, &names };
	struct classification out;
	struct ew_sample s = { .type = EW_EV_SAMPLE_CLIENT, .key = { .cookie = 5, .proto = IPPROTO_TCP } };

	catalog_init_builtin(&cat);
	names_init(&names, 100);
	v4(s.key.peer, 1);
	/* a TLS record header promising more than came */
	s.data[0] = 0x16, s.data[1] = 3, s.data[2] = 1, s.data[3] = 2, s.data[4] = 0, s.data[5] = 1;
	s.data[7] = 1; /* a handshake of 256 bytes */
	s.len = 9;
	names_client_sample(&names, &s, 10.0);
	assert_false(classify_flow(&c, &s.key, 1, false, 10.5, &out));
	assert_true(classify_flow(&c, &s.key, 1, true, 10.5, &out));
	assert_string_equal(out.by, "ip");
	assert_true(classify_flow(&c, &s.key, 1, false, 10.0 + NAME_PENDING_MAX_S, &out));
	names_forget_flow(&names, 5);
	assert_null(names_of_flow(&names, 5));
	names_free(&names);
	catalog_free(&cat);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(host_patterns),
		cmocka_unit_test(path_patterns),
		cmocka_unit_test(builtin_catalog_covers_the_providers),
		cmocka_unit_test(cidrs),
		cmocka_unit_test(contract_example_loads),
		cmocka_unit_test(defaults_without_a_file),
		cmocka_unit_test(bad_config_names_file_and_line),
		cmocka_unit_test(long_lines_and_unsafe_files_are_refused),
		cmocka_unit_test(order_of_trust),
		cmocka_unit_test(pending_hello_waits_then_gives_up),
	};

	return cmocka_run_group_tests_name("catalog, config, classification", tests, NULL, NULL);
}
