/*
 * Unit tests of user.c: USER[:GROUP] by name or number; unknown ones and
 * malformed ones refused with a reason.
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "user.h"
#include "unit.h"

static void
lookup(void)
{
	struct user	u;
	char		why[128];

	CHECK(user_lookup("root", &u, why, sizeof(why)) == 0);
	CHECK(u.uid == 0 && u.gid == 0 && strcmp(u.name, "root") == 0);
	CHECK(user_lookup("0:0", &u, why, sizeof(why)) == 0);
	CHECK(u.uid == 0 && u.gid == 0 && strcmp(u.name, "root") == 0);
	CHECK(user_lookup("nobody:root", &u, why, sizeof(why)) == 0);
	CHECK(u.uid != 0 && u.gid == 0 && strcmp(u.name, "nobody") == 0);
	CHECK(user_lookup("no-such-user-here", &u, why, sizeof(why)) < 0);
	CHECK(strcmp(why, "--user no-such-user-here: no user "
	    "no-such-user-here") == 0);
	CHECK(user_lookup("root:no-such-group", &u, why, sizeof(why)) < 0);
	CHECK(strcmp(why, "--user root:no-such-group: no group "
	    "no-such-group") == 0);
	CHECK(user_lookup("", &u, why, sizeof(why)) < 0);
	CHECK(user_lookup(":root", &u, why, sizeof(why)) < 0);
	CHECK(user_lookup("root:", &u, why, sizeof(why)) < 0);
	CHECK(strcmp(why, "--user root:: not USER or USER:GROUP") == 0);
	CHECK(user_lookup("4294967295", &u, why, sizeof(why)) < 0);
}

const struct unit_test user_tests[] = {
	{ "user: USER[:GROUP] by name or number; unknown or malformed refused",
	    lookup },
	{ NULL, NULL }
};
