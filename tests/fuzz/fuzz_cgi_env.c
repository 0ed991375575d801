/*
 * libFuzzer target for cgi_env.c: the input is an environment, entries
 * separated by NUL bytes.  Checks that whatever it parses is consistent.
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgi_env.h"
#include "http.h"

#define MAX_ENTRIES	64

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cgi_request	 req;
	char			*envp[MAX_ENTRIES + 1];
	char			*buf, *p, *end, *eq;
	uint64_t		 n;
	size_t			 count = 0, i;
	int			 e;

	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (p = buf, end = buf + size; p <= end && count < MAX_ENTRIES;
	    p += strlen(p) + 1)
		envp[count++] = p;
	envp[count] = NULL;

	e = cgi_env_parse(envp, &req, false);
	if (cgi_env_strerror(e) == NULL || (cgi_env_status(e) != 400 &&
	    cgi_env_status(e) != 500))
		abort();
	if (e == CGI_OK) {
		if (req.method == NULL || *req.method == '\0' ||
		    req.protocol == NULL || req.ndefaults > CGI_NDEFAULTS)
			abort();
		if (req.gateway && req.ndefaults != 0)
			abort();
		for (i = 0; i < req.ndefaults; i++)
			if (req.defaults[i].name == NULL ||
			    req.defaults[i].value == NULL)
				abort();
	}
	for (i = 0; i < count; i++) {
		if ((eq = strchr(envp[i], '=')) == NULL)
			continue;
		(void)cgi_env_is_request_var(envp[i], (size_t)(eq - envp[i]));
		/* A length it accepts is all digits and round-trips. */
		if (http_length(eq + 1, strlen(eq + 1), &n) &&
		    strspn(eq + 1, "0123456789") != strlen(eq + 1))
			abort();
	}
	free(buf);
	return 0;
}
