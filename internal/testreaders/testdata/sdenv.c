/*
 * sdenv reads env files exactly as systemd 252's PID 1 reads an
 * EnvironmentFile= (src/core/execute.c: load_env_file, then
 * strv_env_clean_with_callback), using the functions of the installed
 * libsystemd-shared-252.so, and prints what it got for the Go tests.
 *
 * For each path argument it writes, NUL-terminated:
 *   the path,
 *   "ok" or "error <errno>" (load_env_file failed: the unit would not start),
 *   one "=NAME=VALUE" per assignment PID 1 keeps,
 *   one "!NAME=VALUE" per assignment it drops as invalid,
 *   an empty string ending the record.
 * Values cannot hold NUL (systemd stops reading there), so the framing is
 * unambiguous.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Not in any installed header: the private ABI of libsystemd-shared-252. */
int load_env_file(FILE *f, const char *fname, char ***ret);
char **strv_env_clean_with_callback(char **l,
				    void (*invalid_callback)(const char *p, void *userdata),
				    void *userdata);

static void put(const char *tag, const char *s)
{
	fputs(tag, stdout);
	fputs(s, stdout);
	putchar('\0');
}

static void invalid(const char *p, void *userdata)
{
	(void)userdata;
	put("!", p);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char **env = NULL;
		int r;

		put("", argv[i]);
		r = load_env_file(NULL, argv[i], &env);
		if (r < 0) {
			char buf[32];
			snprintf(buf, sizeof buf, "error %d", -r);
			put("", buf);
		} else {
			put("", "ok");
			env = strv_env_clean_with_callback(env, invalid, NULL);
			for (char **p = env; p && *p; p++) {
				put("=", *p);
				free(*p);
			}
			free(env);
		}
		put("", "");
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
