// SPDX-License-Identifier: GPL-2.0
/* Helpers of the run, attestation and drift tests (see runhelp.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <openssl/evp.h>
#include "ctl.h"
#include "fingerprint.h"
#include "runhelp.h"
#include "test.h"
#include "util.h"

int run_cli(struct fx *f, const char *rel, char *out, size_t len, const char *fmt, ...)
{
	char args[6144];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	if (rel)
		return fx_sh(out, len, "echo $$ > %s/%s/cgroup.procs && exec %s/tierwall --socket %s %s",
			     f->root, rel, tw_build_dir, f->sock, args);
	return fx_sh(out, len, "exec %s/tierwall --socket %s %s", tw_build_dir, f->sock, args);
}

json_t *run_summary(const char *out)
{
	const char *p, *last = NULL;

	for (p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (*p == '{')
			last = p;
	return last ? json_loadb(last, strcspn(last, "\n"), 0, NULL) : NULL;
}

json_t *run_row(json_t *summary, size_t i)
{
	return json_array_get(json_object_get(summary, "targets"), i);
}

static json_t *find_record(struct fx *f, const char *kind, const char *key, const char *val,
			   int *count)
{
	char path[PATH_MAX + 32], *text = NULL, *line, *save = NULL;
	json_t *found = NULL;

	snprintf(path, sizeof(path), "%s/events.jsonl", f->log_dir);
	*count = 0;
	if (tw_read_file(path, &text, NULL))
		return NULL;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);

		if (o && !strcmp(json_string_value(json_object_get(o, "kind")) ?: "", kind)) {
			(*count)++;
			if (!found && key && !strcmp(json_string_value(json_object_get(o, key)) ?: "", val)) {
				found = o;
				continue;
			}
		}
		json_decref(o);
	}
	free(text);
	return found;
}

struct rec_key {
	const char *kind, *key, *val;
};

static bool is_record(json_t *o, const void *arg)
{
	const struct rec_key *k = arg;

	return !strcmp(json_string_value(json_object_get(o, "kind")) ?: "", k->kind) &&
	       !strcmp(json_string_value(json_object_get(o, k->key)) ?: "", k->val);
}

json_t *read_record(struct fx *f, const char *kind, const char *key, const char *val)
{
	int n;

	return find_record(f, kind, key, val, &n);
}

json_t *wait_record(struct fx *f, const char *kind, const char *key, const char *val)
{
	struct rec_key k = { kind, key, val };

	return fx_await(f, is_record, &k);
}

int count_records(struct fx *f, const char *kind)
{
	int n;

	json_decref(find_record(f, kind, NULL, NULL, &n));
	return n;
}

void rand_token(char *out, size_t bytes)
{
	unsigned char raw[96];
	int i;

	if (bytes > sizeof(raw))
		bytes = sizeof(raw);
	/* A few draws at most: 1 in 30 random 24-byte tokens lacks a digit. */
	for (i = 0; i < 100; i++) {
		if (getrandom(raw, bytes, 0) != (ssize_t)bytes)
			continue;
		EVP_EncodeBlock((unsigned char *)out, raw, bytes);
		out[strcspn(out, "=")] = '\0';
		if (tw_fp_is_credential(out, strlen(out)) && !strchr(out, '/') && !strchr(out, '+'))
			return;
	}
}

void rand_pem(char *pem, char *line)
{
	char l[96];
	int i;

	strcpy(pem, "-----BEGIN PRIVATE KEY-----\n");
	for (i = 0; i < 4; i++) {
		rand_token(l, 48);
		if (i == 2)
			strcpy(line, l);
		strcat(strcat(pem, l), "\n");
	}
	strcat(pem, "-----END PRIVATE KEY-----\n");
}

json_t *drain(struct fx *f)
{
	json_t *r = NULL;

	if (tw_ctl_call(f->sock, json_pack("{s:s}", "cmd", "drain"), &r, 5000) ||
	    !json_is_true(json_object_get(r, "ok"))) {
		json_decref(r);
		return NULL;
	}
	return r;
}

int write_text_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ssize_t n = fd < 0 ? -1 : write(fd, text, strlen(text));

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}
