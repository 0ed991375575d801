/*
 * The request variables of a gateway protocol as an environment array.
 * Names and values are checked here once for every protocol: a NUL byte
 * would cut a C string short, and an '=' in a name would move the split.
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "params.h"

#define PARAMS_FIRST_CAP	32

static const char *const error_text[] = {
	[PARAMS_OK] = "no error",
	[PARAMS_ENAME] = "a variable's name is empty or has '=' or NUL in it",
	[PARAMS_EVALUE] = "a variable's value has a NUL byte in it",
	[PARAMS_ETOOBIG] = "the request's variables are too large",
	[PARAMS_ENOMEM] = "out of memory",
};

void
params_init(struct params *p)
{
	memset(p, 0, sizeof(*p));
}

int
params_add(struct params *p, const char *name, size_t nlen,
    const char *value, size_t vlen)
{
	char	**grown, *e;
	size_t	  cap;

	if (nlen == 0 || memchr(name, '=', nlen) != NULL ||
	    memchr(name, '\0', nlen) != NULL)
		return PARAMS_ENAME;
	if (memchr(value, '\0', vlen) != NULL)
		return PARAMS_EVALUE;
	if (p->count + 1 >= PARAMS_MAX_COUNT ||
	    nlen + vlen + 2 > PARAMS_MAX_BYTES - p->bytes)
		return PARAMS_ETOOBIG;
	if (p->count + 1 >= p->cap) {
		cap = p->cap == 0 ? PARAMS_FIRST_CAP : p->cap * 2;
		if ((grown = realloc(p->envp, cap * sizeof(*grown))) == NULL)
			return PARAMS_ENOMEM;
		p->envp = grown;
		p->cap = cap;
	}
	if ((e = malloc(nlen + vlen + 2)) == NULL)
		return PARAMS_ENOMEM;
	memcpy(e, name, nlen);
	e[nlen] = '=';
	memcpy(e + nlen + 1, value, vlen);
	e[nlen + 1 + vlen] = '\0';
	p->envp[p->count++] = e;
	p->envp[p->count] = NULL;
	p->bytes += nlen + vlen + 2;
	return PARAMS_OK;
}

void
params_free(struct params *p)
{
	size_t	i;

	for (i = 0; i < p->count; i++)
		free(p->envp[i]);
	free(p->envp);
	params_init(p);
}

const char *
params_strerror(int e)
{
	if (e < 0 || (size_t)e >= sizeof(error_text) / sizeof(error_text[0]))
		return "unknown error";
	return error_text[e];
}
