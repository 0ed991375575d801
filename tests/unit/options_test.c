/*
 * Unit tests of options.c: the table, each source (argv, a #! line,
 * WSGI_CGI_OPTIONS), their precedence, and the #! line's reading.
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "options.h"
#include "server.h"
#include "unit.h"
#include "warm.h"

static char	why[256];

/* argv from a NULL-ended list; its count. */
static int
argv_of(char **out, const char *const *words)
{
	int	n = 0;

	out[n++] = (char *)"wsgi-cgi";
	while (*words != NULL)
		out[n++] = (char *)*words++;
	out[n] = NULL;
	return n;
}

static int
parse(struct options *o, const char *const *words, int *first)
{
	char	*argv[40];
	int	 argc = argv_of(argv, words);

	options_init(o);
	return options_argv(o, argc, argv, first, why, sizeof(why));
}

static void
defaults(void)
{
	struct options	o;

	options_init(&o);
	CHECK(strcmp(o.callable, "application") == 0 && !o.named);
	CHECK(o.timeout == OPT_TIMEOUT_DEFAULT && o.workers == 0 &&
	    o.protocols == 0 && o.warm == 0 && o.ctl == OPT_CTL_NONE);
}

static void
command_line(void)
{
	struct options	o;
	int		first;

	CHECK(parse(&o, (const char *[]){ "--callable", "app", "--debug",
	    "--python-path=/a", "--python-path", "/b", "--listen", "/s",
	    "--socket-mode", "660", "--protocol", "scgi", "--protocol=uwsgi",
	    "--workers", "3", "--threads=8", "--max-requests=9", "--timeout",
	    "5", "--access-log", "--warm=30", "--user", "www-data:www-data",
	    "--listen=[::1]:8080", "s.py", "--debug", NULL }, &first) ==
	    OPT_OK);
	CHECK(first == 25);
	CHECK(strcmp(o.user, "www-data:www-data") == 0);
	CHECK(o.access_log && o.access_log_file == NULL);
	CHECK(strcmp(o.callable, "app") == 0 && o.named && o.debug);
	CHECK(o.npaths == 2 && strcmp(o.paths[0], "/a") == 0 &&
	    strcmp(o.paths[1], "/b") == 0);
	CHECK(o.nlisten == 2 && strcmp(o.listen[0], "/s") == 0 &&
	    strcmp(o.listen[1], "[::1]:8080") == 0 && o.socket_mode == 0660);
	CHECK(o.protocols == (SRV_SCGI | SRV_UWSGI));
	CHECK(o.workers == 3 && o.threads == 8 && o.max_requests == 9 &&
	    o.max_given &&
	    o.timeout == 5 && o.access_log && o.warm == 30);
	CHECK(parse(&o, (const char *[]){ "--access-log=/var/log/a.log", "s.py",
	    NULL }, &first) == OPT_OK && o.access_log &&
	    strcmp(o.access_log_file, "/var/log/a.log") == 0);
	CHECK(parse(&o, (const char *[]){ "--access-log=", "s.py", NULL },
	    &first) == OPT_ERROR);
	/* "--" ends them; a lone "-" is the script. */
	CHECK(parse(&o, (const char *[]){ "--", "--debug", NULL }, &first) ==
	    OPT_OK && first == 2 && !o.debug);
	CHECK(parse(&o, (const char *[]){ "-", NULL }, &first) == OPT_OK &&
	    first == 1);
	CHECK(parse(&o, (const char *[]){ "-h", NULL }, &first) == OPT_HELP);
	CHECK(parse(&o, (const char *[]){ "--version", NULL }, &first) ==
	    OPT_VERSION);
	/* --warm alone, --warm-app, the control options. */
	CHECK(parse(&o, (const char *[]){ "--warm-app", "--warm-status", NULL },
	    &first) == OPT_OK && o.warm == WARM_IDLE_DEFAULT && o.warm_app &&
	    o.ctl == OPT_CTL_STATUS);
	CHECK(parse(&o, (const char *[]){ "--warm", "--warm-stop", NULL },
	    &first) == OPT_OK && o.warm == WARM_IDLE_DEFAULT &&
	    o.ctl == OPT_CTL_STOP);
}

static void
mistakes(void)
{
	struct options	o;
	int		first;

	CHECK(parse(&o, (const char *[]){ "--bogus", NULL }, &first) ==
	    OPT_ERROR && strcmp(why, "unknown option --bogus") == 0);
	CHECK(parse(&o, (const char *[]){ "--check=1", NULL }, &first) ==
	    OPT_ERROR && strcmp(why, "unknown option --check=1") == 0);
	CHECK(parse(&o, (const char *[]){ "--callable", NULL }, &first) ==
	    OPT_ERROR && strcmp(why, "--callable needs a value") == 0);
	CHECK(parse(&o, (const char *[]){ "--callable=", NULL }, &first) ==
	    OPT_ERROR && strcmp(why, "--callable needs a value") == 0);
	CHECK(parse(&o, (const char *[]){ "--workers", "0", NULL }, &first) ==
	    OPT_ERROR && strcmp(why, "--workers: 0 is not a valid value") == 0);
	CHECK(parse(&o, (const char *[]){ "--workers", "1025", NULL },
	    &first) == OPT_ERROR);
	CHECK(parse(&o, (const char *[]){ "--threads", "0", NULL }, &first) ==
	    OPT_ERROR && strcmp(why, "--threads: 0 is not a valid value") == 0);
	CHECK(parse(&o, (const char *[]){ "--threads", "257", NULL },
	    &first) == OPT_ERROR);
	CHECK(parse(&o, (const char *[]){ "--request-timeout", "0", NULL },
	    &first) == OPT_ERROR);
	CHECK(parse(&o, (const char *[]){ "--max-rss", "x", NULL }, &first) ==
	    OPT_ERROR && strcmp(why, "--max-rss: x is not a valid value") == 0);
	CHECK(parse(&o, (const char *[]){ "--request-timeout=30",
	    "--max-rss", "512", NULL }, &first) == OPT_OK &&
	    o.request_timeout == 30 && o.max_rss == 512);
	CHECK(parse(&o, (const char *[]){ "--timeout", "-1", NULL }, &first) ==
	    OPT_ERROR);
	CHECK(parse(&o, (const char *[]){ "--socket-mode", "8", NULL },
	    &first) == OPT_ERROR);
	CHECK(parse(&o, (const char *[]){ "--protocol", "gopher", NULL },
	    &first) == OPT_ERROR &&
	    strcmp(why, "--protocol: gopher is not a valid value") == 0);
	CHECK(parse(&o, (const char *[]){ "--warm=0", NULL }, &first) ==
	    OPT_ERROR && strcmp(why, "--warm: 0 is not 1-86400 seconds") == 0);
	CHECK(parse(&o, (const char *[]){ "--max-requests", "4294967296",
	    NULL }, &first) == OPT_ERROR);
	for (int i = 0; i <= OPT_PATHS_MAX; i++) {
		char	*argv[3] = { (char *)"x", (char *)"--python-path=/p",
			    NULL };

		if (i == 0)
			options_init(&o);
		if (i < OPT_PATHS_MAX)
			CHECK(options_argv(&o, 2, argv, &first, why,
			    sizeof(why)) == OPT_OK);
		else
			CHECK(options_argv(&o, 2, argv, &first, why,
			    sizeof(why)) == OPT_ERROR);
	}
	CHECK(strcmp(why, "--python-path: at most 16") == 0);
	for (int i = 0; i <= OPT_LISTEN_MAX; i++) {
		char	*argv[3] = { (char *)"x", (char *)"--listen=:80",
			    NULL };

		if (i == 0)
			options_init(&o);
		CHECK(options_argv(&o, 2, argv, &first, why, sizeof(why)) ==
		    (i < OPT_LISTEN_MAX ? OPT_OK : OPT_ERROR));
	}
	CHECK(strcmp(why, "--listen: at most 8") == 0);
}

/* A #! line's one argument: split on blanks, as env -S does. */
static void
shebang_argument(void)
{
	struct options	o;
	int		first;

	CHECK(parse(&o, (const char *[]){ "--callable app --debug", "s.py",
	    NULL }, &first) == OPT_OK && first == 2 && o.debug &&
	    strcmp(o.callable, "app") == 0);
	CHECK(parse(&o, (const char *[]){ "--debug x", "s.py", NULL },
	    &first) == OPT_ERROR && strcmp(why, "x: not an option") == 0);
}

#define SB(s)	options_shebang_parse(s, strlen(s), &sb)

static void
shebang_lines(void)
{
	struct shebang	sb;

	CHECK(SB("#!/usr/bin/wsgi-cgi --debug\nrest") && sb.ours &&
	    strcmp(sb.text, "--debug") == 0 &&
	    strcmp(sb.interp, "/usr/bin/wsgi-cgi") == 0);
	CHECK(SB("#! /usr/bin/env -S wsgi-cgi --warm \r\n") && sb.ours &&
	    strcmp(sb.text, "--warm") == 0);
	CHECK(SB("#!/usr/bin/env wsgi-cgi-asan") && sb.ours &&
	    sb.text[0] == '\0');
	CHECK(SB("#!/usr/bin/python3 -u\n") && !sb.ours &&
	    strcmp(sb.text, "-u") == 0);
	CHECK(!SB("# not one") && !sb.ours && sb.text[0] == '\0');
	CHECK(!SB("#") && !SB(""));
	CHECK(SB("#!") && !sb.ours);
}

/* WSGI_CGI_OPTIONS, then the #! line, then a shell's command line. */
static void
precedence(void)
{
	struct options	o;
	struct shebang	sb;
	char		*argv[8];
	int		 argc;

	(void)SB("#!/usr/bin/wsgi-cgi --callable sb --timeout 7");
	argc = argv_of(argv, (const char *[]){ "--timeout", "9", "s.py",
	    NULL });
	options_init(&o);
	CHECK(options_gather(&o, false, argc, argv, "--callable var "
	    "--timeout 5 --debug", &sb, why, sizeof(why)) == OPT_OK);
	CHECK(strcmp(o.callable, "sb") == 0 && o.timeout == 9 && o.debug);
	/* Under a server, argv is never read. */
	options_init(&o);
	CHECK(options_gather(&o, true, argc, argv, "--timeout 5", &sb, why,
	    sizeof(why)) == OPT_OK && o.timeout == 7);
	/* The kernel's argv[1] is the #! line's text: not read twice. */
	argc = argv_of(argv, (const char *[]){ "--callable sb --timeout 7",
	    "s.py", NULL });
	options_init(&o);
	CHECK(options_gather(&o, false, argc, argv, NULL, &sb, why,
	    sizeof(why)) == OPT_OK && o.timeout == 7 && o.npaths == 0);
	/* Errors say where; --help belongs on the command line only. */
	options_init(&o);
	CHECK(options_gather(&o, true, argc, argv, "--bogus", &sb, why,
	    sizeof(why)) == OPT_ERROR &&
	    strcmp(why, "WSGI_CGI_OPTIONS: unknown option --bogus") == 0);
	(void)SB("#!/usr/bin/wsgi-cgi --help");
	options_init(&o);
	CHECK(options_gather(&o, true, argc, argv, NULL, &sb, why,
	    sizeof(why)) == OPT_ERROR && strcmp(why, "--help and --version "
	    "belong on the command line only") == 0);
	/* Each source keeps its own words: values outlive the next one. */
	(void)SB("#!/usr/bin/wsgi-cgi --venv /v");
	options_init(&o);
	CHECK(options_gather(&o, true, argc, argv, "--listen /l", &sb, why,
	    sizeof(why)) == OPT_OK && o.nlisten == 1 &&
	    strcmp(o.listen[0], "/l") == 0 && strcmp(o.venv, "/v") == 0);
	/* --listen adds an address in each source, as --python-path does. */
	(void)SB("#!/usr/bin/wsgi-cgi --listen /s");
	options_init(&o);
	CHECK(options_gather(&o, true, argc, argv, "--listen :8080", &sb, why,
	    sizeof(why)) == OPT_OK && o.nlisten == 2 &&
	    strcmp(o.listen[0], ":8080") == 0 && strcmp(o.listen[1], "/s") == 0);
}

const struct unit_test options_tests[] = {
	{ "options: defaults", defaults },
	{ "options: every option of the table, on the command line",
	    command_line },
	{ "options: unknown, valueless, out of range: the message", mistakes },
	{ "options: a #! line's single argument is split on blanks",
	    shebang_argument },
	{ "options: #! lines, direct and through env -S", shebang_lines },
	{ "options: WSGI_CGI_OPTIONS, then the #! line, then argv",
	    precedence },
	{ NULL, NULL }
};
