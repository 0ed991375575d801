/*
 * libFuzzer target for options.c: the input's first line is a #! line,
 * the second WSGI_CGI_OPTIONS, the rest argv words separated by NUL
 * bytes.  Checks that what is parsed stays within its bounds.
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

#define MAX_ARGS	64

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct options	 o;
	struct shebang	 sb;
	char		*buf, *line, *var, *p, *end, *argv[MAX_ARGS + 2];
	char		 why[512];
	int		 argc = 1, first, r;

	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	line = buf;
	if ((var = memchr(buf, '\n', size)) == NULL)
		var = buf + size;
	else
		*var++ = '\0';
	if ((p = strchr(var, '\n')) == NULL)
		p = var + strlen(var);
	else
		*p++ = '\0';
	(void)options_shebang_parse(line, strlen(line), &sb);
	if (strlen(sb.text) > OPT_SHEBANG_MAX || strlen(sb.interp) >
	    OPT_SHEBANG_MAX)
		abort();
	argv[0] = (char *)"wsgi-cgi";
	for (end = buf + size; p < end && argc <= MAX_ARGS; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	options_init(&o);
	why[0] = '\0';
	r = options_gather(&o, argc % 2 == 0, argc, argv, *var != '\0' ? var :
	    NULL, &sb, why, sizeof(why));
	if (r < OPT_OK || r > OPT_ERROR || (r == OPT_ERROR && why[0] == '\0'))
		abort();
	if (r == OPT_OK && (o.callable == NULL || o.npaths > OPT_PATHS_MAX ||
	    strlen(o.callable) == 0 || o.timeout == 0 || (o.workers != 0 &&
	    o.workers > OPT_WORKERS_MAX)))
		abort();
	if (options_argv(&o, argc, argv, &first, why, sizeof(why)) == OPT_OK &&
	    (first < 1 || first > argc))
		abort();
	free(buf);
	return 0;
}
