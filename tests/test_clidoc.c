// SPDX-License-Identifier: GPL-2.0
/*
 * The CLI's reference against its own option tables: the man pages and the
 * bash completion list exactly the options each command's --help prints
 * (the table getopt parses with), both ways.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fixture.h"
#include "test.h"
#include "util.h"

/* Every "--name" (and "-x") in s, each once, space-separated with spaces around: " --a --b ". */
static void options_in(const char *s, char *set, size_t len)
{
	char word[64], probe[70];
	size_t n;

	snprintf(set, len, " ");
	for (; (s = strchr(s, '-')); s += n) {
		n = strspn(s, "-") + strspn(s + strspn(s, "-"), "abcdefghijklmnopqrstuvwxyz-");
		if (n <= 1 || n >= sizeof(word) || (s[1] != '-' && n != 2) || s[n - 1] == '-') {
			n = n ? n : 1;
			continue;
		}
		snprintf(word, sizeof(word), "%.*s", (int)n, s);
		snprintf(probe, sizeof(probe), " %s ", word);
		if (!strstr(set, probe) && strlen(set) + n + 2 < len)
			snprintf(set + strlen(set), len - strlen(set), "%s ", word);
	}
}

/* Options in a, not in b (both from options_in), into out; the common ones left out. */
static const char *missing(const char *a, const char *b, char *out, size_t len)
{
	static const char *const common = " --socket --json --help -h ";
	char word[64], probe[70];
	const char *p;
	int n;

	out[0] = '\0';
	for (p = a; sscanf(p, " %63s%n", word, &n) == 1; p += n) {
		snprintf(probe, sizeof(probe), " %s ", word);
		if (!strstr(b, probe) && !strstr(common, probe))
			snprintf(out + strlen(out), len - strlen(out), "%s ", word);
	}
	return out;
}

/* The line of `tierwall CMD --help` output starting "Options:" and what follows, or "". */
static const char *after(const char *s, const char *mark)
{
	const char *p = strstr(s, mark);

	return p ? p + strlen(mark) : "";
}

/* The man page's entry line for a command: "*cmd* ..." at the start of a line. */
static bool man_entry(const char *man, const char *cmd, char *line, size_t len)
{
	char head[64];
	const char *p = man, *end;

	snprintf(head, sizeof(head), "\n*%s*", cmd);
	while ((p = strstr(p, head))) {
		p++;
		if (p[strlen(head) - 1] == ' ' || p[strlen(head) - 1] == '\n') {
			end = strchr(p, '\n') ?: p + strlen(p);
			snprintf(line, len, "%.*s", (int)(end - p), p);
			return true;
		}
	}
	return false;
}

static char *slurp(const char *path)
{
	char *buf = NULL;
	size_t cap = 0;
	FILE *f = fopen(path, "re");

	if (f) {
		if (getdelim(&buf, &cap, '\0', f) < 0) {
			free(buf);
			buf = NULL;
		}
		fclose(f);
	}
	return buf;
}

/*
 * The man page's synopsis of each command and the usage line of its --help
 * list exactly the options of the table getopt parses with (which --help
 * prints under "Options:"), both forms of those with a short one; the man
 * page has no command the CLI lacks.
 */
TEST(cli_man_page_matches_option_tables)
{
	char out[16384], cmds[1024] = "", line[1024], table[2048], set[2048], diff[1024], usage[1024];
	char *man = slurp("doc/tierwall.8.scd"), *cmd, *save = NULL;
	const char *p;
	int rc, n = 0;

	if (!ASSERT_TRUE(man != NULL, "doc/tierwall.8.scd readable (tests run from the source tree)"))
		return;
	rc = fx_sh(out, sizeof(out), "%s/tierwall --help | awk '/^Commands:/ { on = 1; next } "
		   "on && /^  [a-z]/ { print $1 } on && /^$/ { exit }'", tw_build_dir);
	ASSERT_EQ(rc, 0, "tierwall --help");
	snprintf(cmds, sizeof(cmds), "%s", out);
	for (cmd = strtok_r(cmds, "\n", &save); cmd; cmd = strtok_r(NULL, "\n", &save), n++) {
		rc = fx_sh(out, sizeof(out), "%s/tierwall %s --help", tw_build_dir, cmd);
		ASSERT_EQ(rc, 0, cmd);
		options_in(after(out, "\nOptions:"), table, sizeof(table));
		p = after(out, "Usage: tierwall ");
		snprintf(usage, sizeof(usage), "%.*s", (int)strcspn(p, "\n"), p);
		options_in(usage, set, sizeof(set));
		if (strcmp(missing(table, set, diff, sizeof(diff)), ""))
			TW_FAILED("%s: its usage line lacks %s", cmd, diff);
		if (strcmp(missing(set, table, diff, sizeof(diff)), ""))
			TW_FAILED("%s: its usage line names %s, which it does not take", cmd, diff);
		if (!man_entry(man, cmd, line, sizeof(line))) {
			TW_FAILED("%s: no entry in doc/tierwall.8.scd", cmd);
			continue;
		}
		options_in(line, set, sizeof(set));
		if (strcmp(missing(table, set, diff, sizeof(diff)), ""))
			TW_FAILED("%s: the man page's synopsis lacks %s", cmd, diff);
		if (strcmp(missing(set, table, diff, sizeof(diff)), ""))
			TW_FAILED("%s: the man page names %s, which it does not take", cmd, diff);
	}
	ASSERT_TRUE(n >= 14, "tierwall --help lists the commands");
	/* The reverse: every entry of COMMANDS is a command. */
	p = after(man, "\n# COMMANDS\n");
	while ((p = strstr(p, "\n*")) && strncmp(p, "\n*#", 3) && p < after(man, "\n# EXIT STATUS")) {
		char name[64];

		p += 2;
		if (sscanf(p, "%63[a-z-]*", name) != 1)
			continue;
		rc = fx_sh(out, sizeof(out), "%s/tierwall %s --help >/dev/null 2>&1", tw_build_dir, name);
		if (rc)
			TW_FAILED("doc/tierwall.8.scd documents \"%s\", which is no command", name);
	}
	free(man);
}

/* tierwalld: every option its --help lists has an entry in OPTIONS, and no other. */
TEST(cli_daemon_man_page_matches_help)
{
	char out[16384], help[4096] = " ", set[4096], diff[1024];
	char *man = slurp("doc/tierwalld.8.scd"), *line, *save = NULL;
	const char *opts;

	if (!ASSERT_TRUE(man != NULL, "doc/tierwalld.8.scd readable (tests run from the source tree)"))
		return;
	ASSERT_EQ(fx_sh(out, sizeof(out), "%s/tierwalld --help", tw_build_dir), 0, "tierwalld --help");
	/* Option lines start with "  -", the options they describe up to the gap before the text. */
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *gap = strstr(line + 2, "  "), names[256];

		if (strncmp(line, "  -", 3))
			continue;
		snprintf(names, sizeof(names), "%.*s", gap ? (int)(gap - line) : (int)strlen(line), line);
		for (gap = strtok(names, " ,"); gap; gap = strtok(NULL, " ,"))
			if (gap[0] == '-')
				snprintf(help + strlen(help), sizeof(help) - strlen(help), "%s ", gap);
	}
	opts = after(man, "\n# OPTIONS\n");
	/* Entries are the lines that do not start with a tab, up to the next section. */
	{
		const char *end = strstr(opts, "\n# ") ?: opts + strlen(opts);
		char *sec = strndup(opts, end - opts), *entries = calloc(1, strlen(sec) + 2);

		for (line = strtok_r(sec, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (line[0] != '\t')
				strcat(strcat(entries, line), "\n");
		options_in(entries, set, sizeof(set));
		free(sec);
		free(entries);
	}
	if (strcmp(missing(help, set, diff, sizeof(diff)), ""))
		TW_FAILED("doc/tierwalld.8.scd OPTIONS lacks %s", diff);
	if (strcmp(missing(set, help, diff, sizeof(diff)), ""))
		TW_FAILED("doc/tierwalld.8.scd OPTIONS names %s, which tierwalld --help does not list", diff);
	free(man);
}

/* What bash completes for these words (the last one being typed) with the completion in file. */
static int complete_words(char *out, size_t len, const char *file, const char *words)
{
	return fx_sh(out, len, "bash -c 'source %s && COMP_WORDS=(%s) && "
		     "COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) && _${COMP_WORDS[0]}; echo \"<${COMPREPLY[*]}>\"'",
		     file, words);
}

TEST(cli_bash_completion_from_option_tables)
{
	static const char *const cases[][2] = {
		{ "tierwall ev", "<events>" },
		{ "tierwall --socket /x ve", "<verify-log>" },	/* the command after --socket PATH */
		{ "tierwall events --ki", "<--kind>" },
		{ "tierwall verify-log --verify", "<--verify-key>" },
		{ "tierwall keygen --se", "<--seal-key>" },
		{ "tierwall tag --fo", "<--force>" },
		{ "tierwall which --ki", "<>" },		/* not another command's option */
		{ "tierwalld --seal-e", "<--seal-epoch>" },	/* the daemon's, from its --help */
		{ "tierwalld --watch", "<--watch-policy>" },
	};
	char out[4096], file[PATH_MAX];
	size_t i;

	snprintf(file, sizeof(file), "%s/completion-test.bash", tw_build_dir);
	if (!ASSERT_EQ(fx_sh(out, sizeof(out), "user/cli/completion.sh %s/tierwall %s/tierwalld > %s",
			     tw_build_dir, tw_build_dir, file), 0, "completion.sh"))
		return;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ASSERT_EQ(complete_words(out, sizeof(out), file, cases[i][0]), 0, cases[i][0]);
		ASSERT_CONTAINS(out, cases[i][1], cases[i][0]);
	}
	unlink(file);
}
