/*
 * Runs every unit test, prints TAP-like lines and the closing line
 * "N passed, N failed"; exits non-zero when any failed.
 * SPDX-License-Identifier: MIT
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "unit.h"

static bool	failed;

void
unit_fail(const char *file, int line, const char *cond)
{
	printf("#   %s:%d: CHECK(%s) failed\n", file, line, cond);
	failed = true;
}

int
main(void)
{
	const struct unit_test	*suites[] = { cgi_env_tests, response_tests,
				    proto_tests, http_tests, options_tests,
				    warm_wire_tests, files_tests,
				    systemd_tests, board_tests, user_tests,
				    access_log_tests, metrics_tests,
				    sockets_tests };
	const struct unit_test	*t;
	size_t			 i;
	int			 pass = 0, fail = 0;

	(void)signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		for (t = suites[i]; t->name != NULL; t++) {
			failed = false;
			t->fn();
			printf("%s %d unit: %s\n", failed ? "not ok" : "ok",
			    pass + fail + 1, t->name);
			if (failed)
				fail++;
			else
				pass++;
		}
	printf("%d passed, %d failed\n", pass, fail);
	return fail == 0 ? 0 : 1;
}
