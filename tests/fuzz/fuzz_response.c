/*
 * libFuzzer target for response.c and http.c: the input is a script of
 * operations (status, header, body, file, finish, fail) with their bytes.
 * Whatever it is, what reaches the response descriptor must be a
 * well-formed CGI head (CRLF lines, a Status line, then "token: text"
 * lines, a blank line) and never more body than a declared Content-Length.
 * SPDX-License-Identifier: MIT
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "response.h"

#define OUT_MAX		(1 << 20)
#define OPS_MAX		64

enum op { OP_STATUS, OP_HEADER, OP_BODY, OP_SINGLE, OP_FILE, OP_FINISH,
	OP_FAIL, OP_COUNT };

int		LLVMFuzzerTestOneInput(const uint8_t *, size_t);
static size_t	take(const uint8_t **, size_t *, const uint8_t **);
static void	check(const char *, size_t, bool);
static bool	tchar(unsigned char);

static char	out[OUT_MAX];

/* A length byte, then that many bytes (or what is left). */
static size_t
take(const uint8_t **data, size_t *size, const uint8_t **bytes)
{
	size_t	n;

	if (*size == 0)
		return 0;
	n = **data;
	(*data)++;
	(*size)--;
	if (n > *size)
		n = *size;
	*bytes = *data;
	*data += n;
	*size -= n;
	return n;
}

static bool
tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

/* The head is well-formed and the body within a declared length. */
static void
check(const char *o, size_t len, bool nph)
{
	const char	*p = o, *end = o + len, *eol, *c;
	unsigned long long declared = 0;
	bool		 has_length = false, first = true;

	if (len == 0)
		return;
	for (;;) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL || eol == p || eol[-1] != '\r')
			abort();	/* every head line ends in CRLF */
		if (eol - p == 1)
			break;		/* the blank line */
		if (memchr(p, '\r', (size_t)(eol - 1 - p)) != NULL)
			abort();	/* no bare CR inside a line */
		if (first && !nph && strncmp(p, "Status: ", 8) != 0)
			abort();
		if (!first || !nph) {
			if (first)
				p += 8;
			else {
				for (c = p; c < eol && *c != ':'; c++)
					if (!tchar((unsigned char)*c))
						abort();
				if (c == p || c + 1 >= eol || c[1] != ' ')
					abort();
				if (c - p == 14 &&
				    strncasecmp(p, "content-length", 14) == 0) {
					has_length = true;
					declared = strtoull(c + 2, NULL, 10);
				}
			}
		}
		for (c = p; c < eol - 1; c++)
			if (*c == '\0')
				abort();
		first = false;
		p = eol + 1;
	}
	if (has_length && (unsigned long long)(end - (p + 2)) > declared)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct response	*r;
	const uint8_t	*a, *b;
	size_t		 na, nb;
	ssize_t		 got;
	int		 fd, copy, in, ops = 0;
	bool		 nph;

	if (size < 1)
		return 0;
	nph = data[0] & 1;
	fd = memfd_create("out", 0);
	in = memfd_create("in", 0);
	if (fd < 0 || in < 0 || write(in, "0123456789abcdef", 16) != 16)
		abort();
	copy = dup(fd);
	if ((r = resp_new(copy, "fuzz")) == NULL)
		abort();
	resp_nph(r, nph);
	resp_request(r, (data[0] & 2) != 0, "HTTP/1.1", 1, 1);
	data++;
	size--;
	while (size > 0 && ops++ < OPS_MAX) {
		enum op	o = (enum op)(*data % OP_COUNT);

		data++;
		size--;
		switch (o) {
		case OP_STATUS:
			na = take(&data, &size, &a);
			(void)resp_status(r, (const char *)a, na);
			break;
		case OP_HEADER:
			na = take(&data, &size, &a);
			nb = take(&data, &size, &b);
			(void)resp_header(r, (const char *)a, na,
			    (const char *)b, nb);
			break;
		case OP_BODY:
			na = take(&data, &size, &a);
			(void)resp_body(r, a, na);
			break;
		case OP_SINGLE:
			resp_single(r);
			break;
		case OP_FILE:
			na = take(&data, &size, &a);
			(void)resp_default_length(r, na % 17);
			(void)resp_sendfile(r, in, (off_t)(na % 16), na % 17);
			break;
		case OP_FINISH:
			(void)resp_finish(r);
			break;
		case OP_FAIL:
			(void)resp_fail(r, 500, "x", 1);
			break;
		default:
			abort();
		}
	}
	if (resp_state(r) != RESP_CLOSED)
		(void)resp_fail(r, 500, "x", 1);
	resp_free(r);
	got = pread(fd, out, sizeof(out), 0);
	close(fd);
	close(in);
	check(out, got < 0 ? 0 : (size_t)got, nph);
	return 0;
}
