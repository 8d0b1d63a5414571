// SPDX-License-Identifier: GPL-2.0
#include "config.h"
#include "tls.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ENDPOINT_PREFIX "endpoint "

struct endpoint_section {
	char name[128];
	struct endpoint e;
	int line; /* of its first key, for errors found at the end */
	bool provider_set, hosts_set, paths_set, batch_paths_set, cidrs_set, router_set;
};

struct parse_state {
	struct config *cfg;
	FILE *file;
	int line;
	char msg[256];
	char first_msg[256]; /* inih goes on after an error, and reports the first */
	bool line_too_long;
	struct endpoint_section *sections;
	size_t nsections;
	char seen[64][64]; /* "section\0key" pairs of [general] and [detect], for duplicates */
	size_t nseen;
};

static void finish_thresholds(struct detect_config *d)
{
	struct threshold *t[] = { &d->rx_bytes, &d->requests, &d->output_tokens, &d->connections,
				  &d->api_keys };

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!t[i]->critical_set)
			t[i]->critical = t[i]->warning * 4;
}

int config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->interval_s = 5;
	c->payload = true;
	c->max_flows = 65536;
	c->payload_capture = EW_TLS_CAPTURE_MAX;
	c->tls_socket_link = true;
	c->tcp_from_socket = true;
	c->max_series = 500;
	c->detect.window_s = 600;
	c->detect.rx_bytes.warning = 268435456;
	c->detect.requests.warning = 3000;
	c->detect.output_tokens.warning = 2000000;
	c->detect.connections.warning = 32;
	c->detect.api_keys.warning = 5;
	finish_thresholds(&c->detect);
	return catalog_init_builtin(&c->catalog);
}

void config_free(struct config *c)
{
	free(c->textfile_dir);
	free(c->alerts);
	catalog_free(&c->catalog);
	memset(c, 0, sizeof(*c));
}

static int fail(struct parse_state *st, const char *fmt, const char *a, const char *b)
{
	snprintf(st->msg, sizeof(st->msg), fmt, a, b);
	return 0; /* inih: this line is in error */
}

static int parse_u64(const char *v, uint64_t *out)
{
	char *end;

	if (*v == '-' || *v == '\0')
		return -1;
	errno = 0;
	*out = strtoull(v, &end, 10);
	return errno || *end ? -1 : 0;
}

static int parse_seconds(const char *v, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(v, &end);
	return errno || *end || end == v || !isfinite(*out) || *out < 0.1 || *out > 86400 * 7 ? -1 : 0;
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "on", "yes", "true", "1" }, *const no[] = { "off", "no", "false", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(v, yes[i]) || !strcasecmp(v, no[i])) {
			*out = !strcasecmp(v, yes[i]);
			return 0;
		}
	}
	return -1;
}

/* "a, b,c" into a NULL-terminated vector of trimmed, non-empty items. */
static char **split_list(const char *v, size_t *count)
{
	char *copy = strdup(v), *save = NULL, *tok;
	char **out = NULL;
	size_t n = 0;

	if (!copy)
		return NULL;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		char **grown;

		while (*tok == ' ' || *tok == '\t')
			tok++;
		end = tok + strlen(tok);
		while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (!*tok)
			continue;
		grown = realloc(out, (n + 2) * sizeof(*out));
		if (!grown)
			break;
		out = grown;
		out[n++] = strdup(tok);
		out[n] = NULL;
	}
	free(copy);
	*count = n;
	return out;
}

static bool valid_host_pattern(const char *h)
{
	if (!*h || strlen(h) > 253)
		return false;
	for (const char *p = h; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '.' || *p == '*' || *p == '_'))
			return false;
	return true;
}

static bool once(struct parse_state *st, const char *section, const char *name)
{
	char key[64];

	snprintf(key, sizeof(key), "%s/%s", section, name);
	for (size_t i = 0; i < st->nseen; i++)
		if (!strcmp(st->seen[i], key))
			return false;
	if (st->nseen < sizeof(st->seen) / sizeof(st->seen[0]))
		strcpy(st->seen[st->nseen++], key);
	return true;
}

int config_set_string(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? strdup(v) : NULL;
	return v && !*dst ? -1 : 0;
}

static int general_key(struct parse_state *st, const char *name, const char *v)
{
	struct config *c = st->cfg;
	uint64_t n;

	if (!strcmp(name, "interval")) {
		if (parse_seconds(v, &c->interval_s))
			return fail(st, "interval: '%s' is not a number of seconds from 0.1 to 604800%s", v, "");
	} else if (!strcmp(name, "textfile_dir")) {
		if (v[0] != '/')
			return fail(st, "textfile_dir: '%s' is not an absolute path%s", v, "");
		config_set_string(&c->textfile_dir, v);
	} else if (!strcmp(name, "alerts")) {
		if (strcmp(v, "-") && strcmp(v, "syslog") && v[0] != '/')
			return fail(st, "alerts: '%s' is not an absolute path, \"-\" or \"syslog\"%s", v, "");
		config_set_string(&c->alerts, v);
	} else if (!strcmp(name, "payload")) {
		if (parse_bool(v, &c->payload))
			return fail(st, "payload: '%s' is not on or off%s", v, "");
	} else if (!strcmp(name, "tls_socket_link")) {
		if (parse_bool(v, &c->tls_socket_link))
			return fail(st, "tls_socket_link: '%s' is not on or off%s", v, "");
	} else if (!strcmp(name, "tcp_counters")) {
		if (strcmp(v, "socket") && strcmp(v, "packets"))
			return fail(st, "tcp_counters: '%s' is not socket or packets%s", v, "");
		c->tcp_from_socket = !strcmp(v, "socket");
	} else if (!strcmp(name, "payload_capture")) {
		if (parse_u64(v, &n) || n < EW_TLS_CAPTURE_MIN || n > EW_TLS_CAPTURE_MAX)
			return fail(st, "payload_capture: '%s' is not a byte count from 256 to 16384%s", v,
				    "");
		c->payload_capture = n;
	} else if (!strcmp(name, "max_flows")) {
		if (parse_u64(v, &n) || n < 1024 || n > 16777216)
			return fail(st, "max_flows: '%s' is not a count from 1024 to 16777216%s", v, "");
		c->max_flows = n;
	} else if (!strcmp(name, "max_series")) {
		if (parse_u64(v, &n) || n < 1 || n > 100000)
			return fail(st, "max_series: '%s' is not a count from 1 to 100000%s", v, "");
		c->max_series = n;
	} else {
		return fail(st, "unknown key '%s' in [general]%s", name, "");
	}
	return 1;
}

static int detect_key(struct parse_state *st, const char *name, const char *v)
{
	static const char *const names[] = { "rx_bytes", "requests", "output_tokens", "connections",
					     "api_keys" };
	struct detect_config *d = &st->cfg->detect;
	struct threshold *t[] = { &d->rx_bytes, &d->requests, &d->output_tokens, &d->connections,
				  &d->api_keys };
	uint64_t n;

	if (!strcmp(name, "window")) {
		if (parse_seconds(v, &d->window_s))
			return fail(st, "window: '%s' is not a number of seconds from 0.1 to 604800%s", v, "");
		return 1;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t len = strlen(names[i]);
		bool warning, critical;

		if (strncmp(name, names[i], len) || name[len] != '_')
			continue;
		warning = !strcmp(name + len, "_warning");
		critical = !strcmp(name + len, "_critical");
		if (!warning && !critical)
			break;
		if (parse_u64(v, &n) || n == 0)
			return fail(st, "%s: '%s' is not a whole number above 0", name, v);
		if (warning) {
			t[i]->warning = n;
		} else {
			t[i]->critical = n;
			t[i]->critical_set = true;
		}
		return 1;
	}
	return fail(st, "unknown key '%s' in [detect]%s", name, "");
}

static struct endpoint_section *section_for(struct parse_state *st, const char *name)
{
	struct endpoint_section *s;

	for (size_t i = 0; i < st->nsections; i++)
		if (!strcmp(st->sections[i].name, name))
			return &st->sections[i];
	s = realloc(st->sections, (st->nsections + 1) * sizeof(*s));
	if (!s)
		return NULL;
	st->sections = s;
	s = &st->sections[st->nsections++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->line = st->line;
	return s;
}

static int endpoint_key(struct parse_state *st, const char *section, const char *name,
			const char *v)
{
	struct endpoint_section *s = section_for(st, section + strlen(ENDPOINT_PREFIX));
	struct endpoint *e;
	bool *set;

	if (!s)
		return fail(st, "out of memory%s%s", "", "");
	e = &s->e;
	if (!strcmp(name, "provider"))
		set = &s->provider_set;
	else if (!strcmp(name, "hosts"))
		set = &s->hosts_set;
	else if (!strcmp(name, "paths"))
		set = &s->paths_set;
	else if (!strcmp(name, "batch_paths"))
		set = &s->batch_paths_set;
	else if (!strcmp(name, "cidrs"))
		set = &s->cidrs_set;
	else if (!strcmp(name, "router"))
		set = &s->router_set;
	else
		return fail(st, "unknown key '%s' in [%s]", name, section);
	if (*set)
		return fail(st, "%s is set twice in [%s]", name, section);
	*set = true;

	if (!strcmp(name, "provider")) {
		for (const char *p = v; *p; p++)
			if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_'))
				return fail(st, "provider: '%s' is not an id of letters, digits, '-' and '_'%s", v, "");
		if (!*v || strlen(v) > 64)
			return fail(st, "provider: '%s' must have 1 to 64 characters%s", v, "");
		e->provider = strdup(v);
	} else if (!strcmp(name, "hosts")) {
		e->hosts = split_list(v, &e->nhosts);
		for (size_t i = 0; i < e->nhosts; i++)
			if (!valid_host_pattern(e->hosts[i]))
				return fail(st, "hosts: '%s' is not a host name or pattern%s", e->hosts[i], "");
	} else if (!strcmp(name, "paths") || !strcmp(name, "batch_paths")) {
		size_t n;
		char **v2 = split_list(v, &n);

		for (size_t i = 0; i < n; i++)
			if (v2[i][0] != '/') {
				snprintf(st->msg, sizeof(st->msg), "%s: '%s' does not start with '/'", name, v2[i]);
				for (size_t j = 0; j < n; j++)
					free(v2[j]);
				free(v2);
				return 0;
			}
		if (!strcmp(name, "paths")) {
			e->paths = v2;
			e->npaths = n;
		} else {
			e->batch_paths = v2;
			e->nbatch_paths = n;
		}
	} else if (!strcmp(name, "cidrs")) {
		size_t n;
		char **items = split_list(v, &n);
		int bad = -1;

		e->cidrs = calloc(n ? n : 1, sizeof(*e->cidrs));
		e->ncidrs = n;
		for (size_t i = 0; i < n; i++)
			if (bad < 0 && cidr_parse(items[i], &e->cidrs[i]))
				bad = i;
		if (bad >= 0)
			snprintf(st->msg, sizeof(st->msg), "cidrs: '%s' is not an address/prefix", items[bad]);
		for (size_t i = 0; i < n; i++)
			free(items[i]);
		free(items);
		if (bad >= 0)
			return 0;
	} else {
		if (parse_bool(v, &e->router))
			return fail(st, "router: '%s' is not on or off%s", v, "");
	}
	return 1;
}

static int check_line(struct parse_state *st, const char *section, const char *name,
		      const char *value);

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *st = user;
	int ok;

	st->msg[0] = '\0';
	ok = check_line(st, section, name, value);
	if (!ok && !st->first_msg[0])
		snprintf(st->first_msg, sizeof(st->first_msg), "%s",
			 st->msg[0] ? st->msg : "not a section header or a key = value line");
	return ok;
}

static int check_line(struct parse_state *st, const char *section, const char *name,
		      const char *value)
{
	if (st->line_too_long)
		return fail(st, "line longer than %s characters%s", "199", "");
	if (!strncmp(section, ENDPOINT_PREFIX, strlen(ENDPOINT_PREFIX)) &&
	    section[strlen(ENDPOINT_PREFIX)])
		return endpoint_key(st, section, name, value);
	if (strcmp(section, "general") && strcmp(section, "detect"))
		return fail(st, "unknown section [%s]%s", section, "");
	if (!once(st, section, name))
		return fail(st, "%s is set twice in [%s]", name, section);
	if (!*value)
		return fail(st, "%s has no value%s", name, "");
	return !strcmp(section, "general") ? general_key(st, name, value)
					   : detect_key(st, name, value);
}

/* inih's reader: counts lines so that errors found in the handler or after the
 * parse can name theirs, and refuses lines inih would cut. */
static char *read_line(char *buf, int size, void *stream)
{
	struct parse_state *st = stream;
	char *line = fgets(buf, size, st->file);
	size_t n;
	int c;

	if (!line)
		return NULL;
	st->line++;
	n = strlen(line);
	if (n == (size_t)size - 1 && line[n - 1] != '\n') {
		while ((c = fgetc(st->file)) != EOF && c != '\n')
			;
		st->line_too_long = true;
		strcpy(buf, "x=1\n"); /* makes the handler report this line */
	} else {
		st->line_too_long = false;
	}
	return buf;
}

/* Puts the [endpoint] sections into the catalog, or with commit false only
 * frees them: a configuration that failed changes nothing. */
static int finish_sections(struct parse_state *st, const char *path, char *err, size_t errlen,
			   bool commit)
{
	int status = commit ? 0 : -1;

	for (size_t i = 0; i < st->nsections; i++) {
		struct endpoint_section *s = &st->sections[i];

		if (status == 0) {
			if (!s->e.provider)
				s->e.provider = strdup(s->name);
			if (!s->e.nhosts && !s->e.ncidrs) {
				snprintf(err, errlen, "%s:%d: [endpoint %s] needs hosts or cidrs", path,
					 s->line, s->name);
				status = -1;
			} else {
				s->e.from_config = true;
				if (catalog_put(&st->cfg->catalog, &s->e))
					status = -1;
			}
		}
		endpoint_free(&s->e);
	}
	free(st->sections);
	return status;
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	struct parse_state st = { .cfg = c };
	struct stat sb;
	int line;

	st.file = fopen(path, "re");
	if (!st.file) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(st.file), &sb) == 0 && (sb.st_mode & S_IWOTH)) {
		snprintf(err, errlen, "%s: writable by any user: refused (chmod o-w %s)", path, path);
		fclose(st.file);
		return -1;
	}
	line = ini_parse_stream(read_line, &st, handler, &st);
	fclose(st.file);
	if (line != 0) {
		snprintf(err, errlen, "%s:%d: %s", path, line,
			 st.first_msg[0] ? st.first_msg : "not a section header or a key = value line");
		finish_sections(&st, path, NULL, 0, false);
		return -1;
	}
	if (finish_sections(&st, path, err, errlen, true))
		return -1;
	finish_thresholds(&c->detect);
	for (size_t i = 0; i < 5; i++) {
		const struct threshold *t = &(&c->detect.rx_bytes)[i];

		if (t->critical < t->warning) {
			snprintf(err, errlen, "%s: a *_critical threshold is below its *_warning", path);
			return -1;
		}
	}
	return 0;
}
