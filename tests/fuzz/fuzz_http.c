/*
 * libFuzzer target for http_req.c: the first byte picks the head parser
 * (then the CGI variables of what it accepts) or the chunked decoder
 * (fed in pieces of the second byte's size).  Checks that an accepted
 * head lies within the input, that a body never exceeds what a chunked
 * input can hold, and that nothing is read past the end (ASan).
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_req.h"
#include "params.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
head(const char *in, size_t size)
{
	static struct http_req	r;
	struct http_where	w = { "127.0.0.1", "80", "127.0.0.1", "1",
				    false };
	struct params		p;
	size_t			i;
	int			e, perr;

	e = http_req_parse(in, size, &r);
	if (e != HTTP_REQ_OK)
		return;
	if (r.head_len > size || r.nfields > HTTP_FIELDS_MAX ||
	    (r.chunked && r.has_length))
		abort();
	params_init(&p);
	if (http_req_env(&r, &w, &p, &perr) == 0)
		for (i = 0; i < p.count; i++)
			if (strchr(p.envp[i], '=') == NULL ||
			    p.envp[i][0] == '=')
				abort();
	params_free(&p);
}

static void
chunks(const char *in, size_t size, size_t step)
{
	struct http_chunked	c;
	char			out[256];
	size_t			pos = 0, used, made, total = 0, k;

	http_chunked_init(&c);
	while (pos < size && !c.done) {
		k = size - pos < step ? size - pos : step;
		if (http_chunked_decode(&c, in + pos, k, &used, out,
		    sizeof(out), &made) != HTTP_CHUNK_OK)
			return;
		if (used > k || made > sizeof(out))
			abort();
		pos += used;
		total += made;
		if (used == 0 && made == 0)
			break;
	}
	if (total > size)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*copy;
	size_t	 step;

	if (size < 2)
		return 0;
	step = data[1] == 0 ? 1 : data[1];
	/* An exact copy, so that ASan sees any read past the end. */
	if ((copy = malloc(size - 2 + 1)) == NULL)
		return 0;
	memcpy(copy, data + 2, size - 2);
	if (data[0] % 2 == 0)
		head(copy, size - 2);
	else
		chunks(copy, size - 2, step);
	free(copy);
	return 0;
}
