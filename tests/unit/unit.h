/*
 * A small unit runner for the plain-C modules: each test is a function;
 * CHECK() records a failure and leaves the test.
 * SPDX-License-Identifier: MIT
 */
#ifndef UNIT_H
#define UNIT_H

#include <stdbool.h>
#include <stddef.h>

struct unit_test {
	const char	*name;
	void		(*fn)(void);
};

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		unit_fail(__FILE__, __LINE__, #cond);			\
		return;							\
	}								\
} while (0)

void	unit_fail(const char *, int, const char *);

extern const struct unit_test	cgi_env_tests[];
extern const struct unit_test	response_tests[];
extern const struct unit_test	proto_tests[];
extern const struct unit_test	http_tests[];
extern const struct unit_test	options_tests[];
extern const struct unit_test	warm_wire_tests[];
extern const struct unit_test	files_tests[];
extern const struct unit_test	systemd_tests[];
extern const struct unit_test	board_tests[];
extern const struct unit_test	user_tests[];
extern const struct unit_test	access_log_tests[];
extern const struct unit_test	metrics_tests[];
extern const struct unit_test	sockets_tests[];

#endif /* UNIT_H */
