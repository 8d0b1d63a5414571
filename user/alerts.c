// SPDX-License-Identifier: GPL-2.0
#include "alerts.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static bool is_syslog(const struct alert_sink *s)
{
	return !strcmp(s->dest, "syslog");
}

static bool is_stdout(const struct alert_sink *s)
{
	return !strcmp(s->dest, "-");
}

static int open_file(struct alert_sink *s)
{
	s->fd = open(s->dest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	return s->fd < 0 ? -errno : 0;
}

int alert_sink_open(struct alert_sink *s, const char *dest, const char *hostname)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->hostname = hostname;
	s->dest = strdup(dest);
	if (!s->dest)
		return -ENOMEM;
	if (is_syslog(s)) {
		openlog("egresswatch", LOG_PID, LOG_DAEMON);
		return 0;
	}
	if (is_stdout(s)) {
		s->fd = STDOUT_FILENO;
		return 0;
	}
	return open_file(s);
}

void alert_sink_reopen(struct alert_sink *s)
{
	if (is_syslog(s) || is_stdout(s))
		return;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

void alert_sink_close(struct alert_sink *s)
{
	if (!s->dest)
		return;
	if (is_syslog(s))
		closelog();
	else if (!is_stdout(s) && s->fd >= 0)
		close(s->fd);
	free(s->dest);
	s->dest = NULL;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *count_or_null(bool has, uint64_t v)
{
	return has ? json_integer(v) : json_null();
}

static const char *level_name(enum detect_level l)
{
	return l == LEVEL_PROCESS ? "process" : l == LEVEL_WORKLOAD ? "workload" : "host";
}

char *alert_json(const struct alert *a, const char *hostname)
{
	json_t *root = json_object(), *f = json_object(), *workloads;
	char when[40], frac[16];
	time_t secs = (time_t)a->wall_time;
	struct tm tm;
	char *text;

	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(frac, sizeof(frac), ".%06ldZ", (long)((a->wall_time - secs) * 1e6));
	strncat(when, frac, sizeof(when) - strlen(when) - 1);

	json_object_set_new(root, "time", json_string(when));
	json_object_set_new(root, "source", json_string("egresswatch"));
	json_object_set_new(root, "hostname", json_string(hostname));
	json_object_set_new(root, "rule", json_string(a->rule));
	json_object_set_new(root, "severity", json_string(a->severity));
	json_object_set_new(root, "state", json_string(a->state));
	json_object_set_new(root, "output", json_string(a->output));
	json_object_set_new(f, "pid", a->has_pid ? json_integer(a->pid) : json_null());
	json_object_set_new(f, "comm", str_or_null(a->comm));
	json_object_set_new(f, "exe", str_or_null(a->exe));
	json_object_set_new(f, "uid", a->has_uid ? json_integer(a->uid) : json_null());
	json_object_set_new(f, "cgroup", str_or_null(a->cgroup));
	json_object_set_new(f, "provider", str_or_null(a->provider));
	json_object_set_new(f, "host", str_or_null(a->host));
	json_object_set_new(f, "window_s", json_real(a->window_s));
	json_object_set_new(f, "rx_bytes", json_integer(a->rx_bytes));
	json_object_set_new(f, "tx_bytes", json_integer(a->tx_bytes));
	json_object_set_new(f, "requests", count_or_null(a->has_requests, a->requests));
	json_object_set_new(f, "output_tokens", count_or_null(a->has_output_tokens, a->output_tokens));
	json_object_set_new(f, "connections_max", json_integer(a->connections_max));
	json_object_set_new(f, "api_keys", count_or_null(a->has_api_keys, a->api_keys));
	json_object_set_new(f, "level", json_string(level_name(a->level)));
	json_object_set_new(f, "processes", json_integer(a->processes));
	json_object_set_new(f, "value", json_real(a->value));
	json_object_set_new(f, "threshold", json_real(a->threshold));
	if (a->workloads) {
		workloads = json_array();
		for (size_t i = 0; a->workloads[i]; i++)
			json_array_append_new(workloads, json_string(a->workloads[i]));
		json_object_set_new(f, "workloads", workloads);
	}
	json_object_set_new(root, "fields", f);
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return text;
}

/* One write for the whole line: O_APPEND keeps lines from several writers whole. */
static int write_line(struct alert_sink *s, const char *line)
{
	size_t len = strlen(line);
	char *buf = malloc(len + 1);
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, line, len);
	buf[len] = '\n';
	n = write(s->fd, buf, len + 1);
	free(buf);
	if (n < 0)
		return -errno;
	return (size_t)n == len + 1 ? 0 : -EIO;
}

void alert_sink_emit(void *sink, const struct alert *a)
{
	struct alert_sink *s = sink;
	char *line = alert_json(a, s->hostname);
	int err = 0;

	if (!line)
		return;
	if (is_syslog(s)) {
		syslog(!strcmp(a->severity, "critical") ? LOG_CRIT : LOG_WARNING, "%s", line);
	} else {
		if (s->fd < 0)
			err = open_file(s);
		if (!err)
			err = write_line(s, line);
	}
	free(line);
	if (err) {
		s->failures++;
		if (!s->failing)
			fprintf(stderr, "egresswatch: cannot write alerts to %s: %s (will retry)\n",
				s->dest, strerror(-err));
		s->failing = true;
		alert_sink_reopen(s);
		return;
	}
	if (s->failing)
		fprintf(stderr, "egresswatch: writing alerts to %s again\n", s->dest);
	s->failing = false;
	s->written++;
}
