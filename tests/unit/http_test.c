/*
 * Unit tests of http_req.c: HTTP/1.1 request heads, strictly; the body's
 * framing; chunked decoding; the request's CGI variables.
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_req.h"
#include "params.h"
#include "unit.h"

static struct http_req	r;

static int
parse(const char *s)
{
	return http_req_parse(s, strlen(s), &r);
}

static const char *
var(const struct params *p, const char *name)
{
	size_t	i, n = strlen(name);

	for (i = 0; i < p->count; i++)
		if (strncmp(p->envp[i], name, n) == 0 && p->envp[i][n] == '=')
			return p->envp[i] + n + 1;
	return NULL;
}

static void
heads(void)
{
	const char	*ok = "GET /a/b?x=1 HTTP/1.1\r\nHost: h\r\n"
			    "X-A:  1 \r\n\r\nBODY";

	CHECK(parse(ok) == HTTP_REQ_OK);
	CHECK(r.head_len == strlen(ok) - 4 && r.mlen == 3 &&
	    memcmp(r.method, "GET", 3) == 0 && r.tlen == 8 && r.minor == 1 &&
	    r.keep_alive && !r.has_length && !r.chunked && r.nfields == 2);
	CHECK(r.fields[1].vlen == 1 && r.fields[1].value[0] == '1');
	/* Incomplete at every length short of the blank line. */
	for (size_t i = 0; i < strlen(ok) - 4; i++)
		CHECK(http_req_parse(ok, i, &r) == HTTP_REQ_AGAIN);
	/* Leading empty lines are ignored (RFC 9112 2.2). */
	CHECK(parse("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n") ==
	    HTTP_REQ_OK);
	CHECK(parse("GET / HTTP/1.0\r\n\r\n") == HTTP_REQ_OK && !r.keep_alive);
	CHECK(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n") ==
	    HTTP_REQ_OK && r.keep_alive);
	CHECK(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: x, close\r\n"
	    "\r\n") == HTTP_REQ_OK && !r.keep_alive);
	CHECK(parse("GET / HTTP/1.2\r\nHost: h\r\n\r\n") == HTTP_REQ_OK &&
	    r.version_high);
	CHECK(parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n") == HTTP_REQ_OK);
	CHECK(parse("GET http://h/p HTTP/1.1\r\nHost: h\r\n\r\n") ==
	    HTTP_REQ_OK);
}

static void
bad_lines(void)
{
	CHECK(parse("GET / HTTP/1.1\nHost: h\r\n\r\n") == HTTP_REQ_ELINE);
	CHECK(parse("GET / HTTP/1.1\r\nHost: h\n\r\n") == HTTP_REQ_ELINE);
	CHECK(parse("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n") ==
	    HTTP_REQ_ELINE);
	CHECK(http_req_parse("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 25, &r) ==
	    HTTP_REQ_ELINE);
	CHECK(parse("GET  / HTTP/1.1\r\nHost: h\r\n\r\n") ==
	    HTTP_REQ_ETARGET);
	CHECK(parse("GET / HTTP/1.1 \r\nHost: h\r\n\r\n") == HTTP_REQ_ELINE);
	CHECK(parse("G(T / HTTP/1.1\r\nHost: h\r\n\r\n") == HTTP_REQ_EMETHOD);
	CHECK(parse("GET a HTTP/1.1\r\nHost: h\r\n\r\n") == HTTP_REQ_ETARGET);
	CHECK(parse("GET * HTTP/1.1\r\nHost: h\r\n\r\n") == HTTP_REQ_ETARGET);
	CHECK(parse("GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n") ==
	    HTTP_REQ_ETARGET);
	CHECK(parse("GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n") ==
	    HTTP_REQ_ETARGET);
	CHECK(parse("GET / HTTP/2.0\r\nHost: h\r\n\r\n") == HTTP_REQ_EVERSION);
	CHECK(http_req_status(HTTP_REQ_EVERSION) == 505);
	CHECK(parse("GET / HTTP/1.10\r\nHost: h\r\n\r\n") == HTTP_REQ_ELINE);
	CHECK(parse("GET / http/1.1\r\nHost: h\r\n\r\n") == HTTP_REQ_ELINE);
	CHECK(parse("GET /\r\n\r\n") == HTTP_REQ_ELINE);
	/* A fragment is not part of a target (RFC 9112 3.2). */
	CHECK(parse("GET /a?page=1#x HTTP/1.1\r\nHost: h\r\n\r\n") ==
	    HTTP_REQ_ETARGET);
	/* Tokens that are no method's form: 501; a leading bare LF: 400. */
	CHECK(parse("get / HTTP/1.1\r\nHost: h\r\n\r\n") ==
	    HTTP_REQ_EMETHOD_UNKNOWN);
	CHECK(http_req_status(HTTP_REQ_EMETHOD_UNKNOWN) == 501);
	CHECK(parse("-BLARGH / HTTP/1.1\r\nHost: h\r\n\r\n") ==
	    HTTP_REQ_EMETHOD_UNKNOWN);
	CHECK(parse("M-SEARCH_2 / HTTP/1.1\r\nHost: h\r\n\r\n") ==
	    HTTP_REQ_OK);
	CHECK(parse("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n") ==
	    HTTP_REQ_ELINE);
	CHECK(http_req_status(HTTP_REQ_ELINE) == 400);
}

static void
hosts(void)
{
	/* host[:port]: a reg-name, an IPv4 address or an IP-literal. */
	CHECK(parse("GET / HTTP/1.1\r\nHost: a b/c@d\r\n\r\n") ==
	    HTTP_REQ_EHOST);
	CHECK(parse("GET / HTTP/1.1\r\nHost: a:b\r\n\r\n") ==
	    HTTP_REQ_EHOST);
	CHECK(parse("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n") ==
	    HTTP_REQ_EHOST);
	CHECK(parse("GET / HTTP/1.1\r\nHost: u@h\r\n\r\n") ==
	    HTTP_REQ_EHOST);
	CHECK(parse("GET / HTTP/1.0\r\nHost: h/x\r\n\r\n") ==
	    HTTP_REQ_EHOST);
	CHECK(parse("GET / HTTP/1.1\r\nHost: ex-1.org:8080\r\n\r\n") ==
	    HTTP_REQ_OK);
	CHECK(parse("GET / HTTP/1.1\r\nHost: 10.0.0.1:\r\n\r\n") ==
	    HTTP_REQ_OK);
	CHECK(parse("GET / HTTP/1.1\r\nHost: [fe80::1%25e]:1\r\n\r\n") ==
	    HTTP_REQ_EHOST);
	CHECK(parse("GET / HTTP/1.1\r\nHost: [::ffff:1.2.3.4]:1\r\n\r\n") ==
	    HTTP_REQ_OK);
	/* An absolute target's authority: not empty, no userinfo. */
	CHECK(parse("GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n") ==
	    HTTP_REQ_EHOST);
	CHECK(parse("GET http://u@h/x HTTP/1.1\r\nHost: h\r\n\r\n") ==
	    HTTP_REQ_EHOST);
	CHECK(parse("GET http://a b/ HTTP/1.1\r\nHost: h\r\n\r\n") ==
	    HTTP_REQ_ELINE);
	/* HTTP/1.0: any close wins over keep-alive. */
	CHECK(parse("GET / HTTP/1.0\r\nConnection: close\r\n"
	    "Connection: keep-alive\r\n\r\n") == HTTP_REQ_OK &&
	    !r.keep_alive);
	CHECK(parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n"
	    "\r\n") == HTTP_REQ_OK && !r.keep_alive);
}

static void
bad_fields(void)
{
	char	*big;
	size_t	 i, n;

	/* Whitespace before the colon; obs-fold; no colon; CTL. */
	CHECK(parse("GET / HTTP/1.1\r\nHost : h\r\n\r\n") == HTTP_REQ_EFIELD);
	CHECK(parse("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n") ==
	    HTTP_REQ_EFIELD);
	CHECK(parse("GET / HTTP/1.1\r\nHost: h\r\nXY\r\n\r\n") ==
	    HTTP_REQ_EFIELD);
	CHECK(parse("GET / HTTP/1.1\r\nHost: h\r\nX: a\x01\r\n\r\n") ==
	    HTTP_REQ_EFIELD);
	CHECK(parse("GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n") ==
	    HTTP_REQ_EFIELD);
	/* Host: exactly one in HTTP/1.1. */
	CHECK(parse("GET / HTTP/1.1\r\n\r\n") == HTTP_REQ_EHOST);
	CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") ==
	    HTTP_REQ_EHOST);
	/* 100 fields at most; 8 KiB of request line; 64 KiB of head. */
	n = 20 + 101 * 8 + 4;
	big = malloc(HTTP_HEAD_MAX * 2);
	CHECK(big != NULL);
	strcpy(big, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (i = 0; i < 100; i++)
		strcat(big, "X-A: 1\r\n");
	strcat(big, "\r\n");
	CHECK(parse(big) == HTTP_REQ_EHEAD);
	CHECK(http_req_status(HTTP_REQ_EHEAD) == 431);
	memset(big, 'a', HTTP_LINE_MAX + 10);
	memcpy(big, "GET /", 5);
	big[HTTP_LINE_MAX + 10] = '\0';
	CHECK(parse(big) == HTTP_REQ_EURI);
	CHECK(http_req_status(HTTP_REQ_EURI) == 414);
	strcpy(big, "GET / HTTP/1.1\r\nHost: h\r\nX: ");
	n = strlen(big);
	memset(big + n, 'a', HTTP_HEAD_MAX);
	big[n + HTTP_HEAD_MAX] = '\0';
	CHECK(parse(big) == HTTP_REQ_EHEAD);
	free(big);
}

static void
framing(void)
{
	CHECK(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
	    "\r\n") == HTTP_REQ_OK && r.has_length && r.content_length == 5);
	/* Repeats agree, or are refused; never signs, spaces, hex. */
	CHECK(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
	    "Content-Length: 5\r\n\r\n") == HTTP_REQ_OK);
	CHECK(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n"
	    "\r\n") == HTTP_REQ_OK && r.content_length == 5);
	CHECK(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
	    "Content-Length: 6\r\n\r\n") == HTTP_REQ_ELENGTH);
	CHECK(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n"
	    "\r\n") == HTTP_REQ_ELENGTH);
	CHECK(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x5\r\n"
	    "\r\n") == HTTP_REQ_ELENGTH);
	CHECK(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: "
	    "99999999999999999999999\r\n\r\n") == HTTP_REQ_ELENGTH);
	CHECK(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n") ==
	    HTTP_REQ_ELENGTH);
	/* Transfer-Encoding: chunked alone; never with Content-Length. */
	CHECK(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
	    "Chunked\r\n\r\n") == HTTP_REQ_OK && r.chunked);
	CHECK(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
	    "chunked\r\nContent-Length: 5\r\n\r\n") == HTTP_REQ_ETE);
	CHECK(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
	    "chunked, gzip\r\n\r\n") == HTTP_REQ_ETE);
	CHECK(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
	    "chunked\r\nTransfer-Encoding: chunked\r\n\r\n") == HTTP_REQ_ETE);
	CHECK(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
	    "gzip\r\n\r\n") == HTTP_REQ_ETE);
	CHECK(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
	    "gzip, chunked\r\n\r\n") == HTTP_REQ_ECODING);
	CHECK(http_req_status(HTTP_REQ_ECODING) == 501);
	CHECK(parse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") ==
	    HTTP_REQ_ETE);
	CHECK(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ,\r\n"
	    "\r\n") == HTTP_REQ_ETE);
	/* Expect. */
	CHECK(parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\n"
	    "Content-Length: 1\r\n\r\n") == HTTP_REQ_OK && r.expect_continue);
	CHECK(parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: x\r\n\r\n") ==
	    HTTP_REQ_EEXPECT);
	CHECK(http_req_status(HTTP_REQ_EEXPECT) == 417);
}

/* body of a chunked encoding fed in pieces of n bytes. */
static int
dechunk(const char *in, size_t len, size_t n, char *out, size_t *olen,
    bool *done)
{
	struct http_chunked	c;
	size_t			pos = 0, used, made, k;

	http_chunked_init(&c);
	*olen = 0;
	while (pos < len && !c.done) {
		k = len - pos < n ? len - pos : n;
		if (http_chunked_decode(&c, in + pos, k, &used, out + *olen,
		    4096 - *olen, &made) != HTTP_CHUNK_OK)
			return -1;
		pos += used;
		*olen += made;
		if (used == 0 && made == 0)
			return -1;
	}
	*done = c.done;
	return (int)pos;
}

static void
chunked(void)
{
	static const char	ok[] = "5;a=b;c=\"d e\"\r\nhello\r\n"
				    "1\r\n \r\nA\r\n0123456789\r\n"
				    "0\r\nX-T: 1\r\nY: 2\r\n\r\nNEXT";
	char			out[4096];
	size_t			olen, n;
	bool			done;

	for (n = 1; n < sizeof(ok); n++) {
		CHECK(dechunk(ok, sizeof(ok) - 1, n, out, &olen, &done) ==
		    (int)sizeof(ok) - 5);
		CHECK(done && olen == 16 &&
		    memcmp(out, "hello 0123456789", 16) == 0);
	}
	CHECK(dechunk("0\r\n\r\n", 5, 5, out, &olen, &done) == 5 && done &&
	    olen == 0);
	/* Bad sizes, a missing CRLF after data, bare LF, overflow. */
	CHECK(dechunk("x\r\n", 3, 3, out, &olen, &done) < 0);
	CHECK(dechunk("-1\r\n", 4, 4, out, &olen, &done) < 0);
	CHECK(dechunk("\r\n", 2, 2, out, &olen, &done) < 0);
	CHECK(dechunk("5\nhello\r\n", 10, 10, out, &olen, &done) < 0);
	CHECK(dechunk("5\r\nhelloX\r\n", 11, 11, out, &olen, &done) < 0);
	CHECK(dechunk("1000000000000000\r\n", 18, 18, out, &olen, &done) < 0);
	CHECK(dechunk("5;\x01\r\n", 6, 6, out, &olen, &done) < 0);
	CHECK(dechunk("0\r\n X: 1\r\n\r\n", 12, 12, out, &olen, &done) < 0);
	CHECK(dechunk("0\r\nX: 1\n\r\n", 10, 10, out, &olen, &done) < 0);
	/* Every malformed size line, in every split. */
	static const char *const bad[] = {
		"zz\r\n", "-5\r\n", "+5\r\n", "0x5\r\n", "\r\n", "6_0\r\n",
		" 0\r\n", "fffffffffffffffffffff\r\n", "10000000000000005\r\n",
		"5\rhello\r\n", "5\nhello\r\n", "5\r\nhelloX",
		"0 \r\n\r\n", "a \r\n0123456789\r\n", "2 erfrferferf\r\n",
		"2;\r\n", "2; \r\n", "2;a=\"b\r\n", "2;a=\r\n", "2;a b\r\n",
		"2;a=\"b\"c\r\n", "2;a=b c\r\n", "2;=b\r\n", "2;a=\"\x01\"\r\n",
		"2 ;a \r\n",
	};
	for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++)
		for (n = 1; n <= strlen(bad[b]); n++)
			CHECK(dechunk(bad[b], strlen(bad[b]), n, out, &olen,
			    &done) < 0);
	/* Extensions as the grammar has them: BWS around ";" and "=". */
	static const char *const good[] = {
		"2;a\r\nhi\r\n0\r\n\r\n", "2 ; a = b\r\nhi\r\n0\r\n\r\n",
		"2\t;a=\"q\\\"x\" ;b\r\nhi\r\n0\r\n\r\n",
		"2;a=\"\"\r\nhi\r\n0;z\r\n\r\n",
	};
	for (size_t g = 0; g < sizeof(good) / sizeof(good[0]); g++)
		for (n = 1; n <= strlen(good[g]); n++)
			CHECK(dechunk(good[g], strlen(good[g]), n, out, &olen,
			    &done) == (int)strlen(good[g]) && done &&
			    olen == 2 && memcmp(out, "hi", 2) == 0);
}

static void
variables(void)
{
	struct params		p;
	struct http_where	w = { "127.0.0.1", "8000", "10.0.0.1", "4242",
				    false };
	int			perr;

	CHECK(parse("POST /a%20b/%2Fc?q=%20&r HTTP/1.1\r\nHost: ex.org:81\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 3\r\nX-A: 1\r\n"
	    "x-a: 2\r\nCookie: a=1\r\nCookie: b=2\r\nX_Forged: 1\r\n"
	    "\r\n") == HTTP_REQ_OK);
	params_init(&p);
	CHECK(http_req_env(&r, &w, &p, &perr) == 0);
	CHECK(strcmp(var(&p, "REQUEST_METHOD"), "POST") == 0);
	CHECK(strcmp(var(&p, "SCRIPT_NAME"), "") == 0);
	CHECK(strcmp(var(&p, "PATH_INFO"), "/a b//c") == 0);
	CHECK(strcmp(var(&p, "QUERY_STRING"), "q=%20&r") == 0);
	CHECK(strcmp(var(&p, "REQUEST_URI"), "/a%20b/%2Fc?q=%20&r") == 0);
	CHECK(strcmp(var(&p, "SERVER_PROTOCOL"), "HTTP/1.1") == 0);
	CHECK(strcmp(var(&p, "SERVER_NAME"), "ex.org") == 0);
	CHECK(strcmp(var(&p, "SERVER_PORT"), "81") == 0);
	CHECK(strcmp(var(&p, "REMOTE_ADDR"), "10.0.0.1") == 0);
	CHECK(strcmp(var(&p, "REMOTE_PORT"), "4242") == 0);
	CHECK(strcmp(var(&p, "CONTENT_TYPE"), "text/plain") == 0);
	CHECK(strcmp(var(&p, "CONTENT_LENGTH"), "3") == 0);
	CHECK(strcmp(var(&p, "HTTP_X_A"), "1, 2") == 0);
	CHECK(strcmp(var(&p, "HTTP_COOKIE"), "a=1; b=2") == 0);
	CHECK(var(&p, "HTTP_X_FORGED") == NULL);
	CHECK(var(&p, "HTTP_CONTENT_LENGTH") == NULL);
	params_free(&p);
	/* absolute-form: its authority, not Host (RFC 9112 3.2.2). */
	CHECK(parse("GET http://h HTTP/1.0\r\n\r\n") == HTTP_REQ_OK);
	params_init(&p);
	CHECK(http_req_env(&r, &w, &p, &perr) == 0);
	CHECK(strcmp(var(&p, "PATH_INFO"), "/") == 0);
	CHECK(strcmp(var(&p, "SERVER_NAME"), "h") == 0);
	CHECK(strcmp(var(&p, "SERVER_PORT"), "80") == 0);
	CHECK(strcmp(var(&p, "HTTP_HOST"), "h") == 0);
	params_free(&p);
	CHECK(parse("GET http://evil.example:8080/env?x HTTP/1.1\r\n"
	    "Host: good.example\r\n\r\n") == HTTP_REQ_OK);
	params_init(&p);
	CHECK(http_req_env(&r, &w, &p, &perr) == 0);
	CHECK(strcmp(var(&p, "SERVER_NAME"), "evil.example") == 0);
	CHECK(strcmp(var(&p, "SERVER_PORT"), "8080") == 0);
	CHECK(strcmp(var(&p, "HTTP_HOST"), "evil.example:8080") == 0);
	CHECK(strcmp(var(&p, "PATH_INFO"), "/env") == 0);
	CHECK(strcmp(var(&p, "QUERY_STRING"), "x") == 0);
	params_free(&p);
	/* No Host value: the socket's name. */
	CHECK(parse("GET / HTTP/1.1\r\nHost:\r\n\r\n") == HTTP_REQ_OK);
	params_init(&p);
	CHECK(http_req_env(&r, &w, &p, &perr) == 0);
	CHECK(strcmp(var(&p, "SERVER_NAME"), "127.0.0.1") == 0);
	CHECK(strcmp(var(&p, "SERVER_PORT"), "8000") == 0);
	params_free(&p);
	CHECK(parse("GET /x HTTP/1.1\r\nHost: [::1]:9\r\n\r\n") ==
	    HTTP_REQ_OK);
	params_init(&p);
	CHECK(http_req_env(&r, &w, &p, &perr) == 0);
	CHECK(strcmp(var(&p, "SERVER_NAME"), "[::1]") == 0);
	CHECK(strcmp(var(&p, "SERVER_PORT"), "9") == 0);
	params_free(&p);
	/* %00 in the path: a NUL in PATH_INFO, refused by params. */
	CHECK(parse("GET /a%00b HTTP/1.1\r\nHost: h\r\n\r\n") == HTTP_REQ_OK);
	params_init(&p);
	CHECK(http_req_env(&r, &w, &p, &perr) < 0 && perr == PARAMS_EVALUE);
	params_free(&p);
}

const struct unit_test http_tests[] = {
	{ "http: request heads, keep-alive, leading CRLF, forms of target",
	    heads },
	{ "http: bare CR or LF, NUL, spaces, methods, targets, versions",
	    bad_lines },
	{ "http: whitespace before colon, obs-fold, Host, limits (431, 414)",
	    bad_fields },
	{ "http: Host and the absolute form's authority; HTTP/1.0 close wins",
	    hosts },
	{ "http: Content-Length and Transfer-Encoding (smuggling), Expect",
	    framing },
	{ "http: chunked bodies in every split, extensions, trailers, errors",
	    chunked },
	{ "http: CGI variables: PATH_INFO decoded, repeats joined, _ dropped",
	    variables },
	{ NULL, NULL }
};
