/*
 * Unit tests of the gateway protocols' parsers: params.c, fcgi.c, scgi.c
 * and uwsgi.c, from byte strings as web servers send them.
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fcgi.h"
#include "params.h"
#include "scgi.h"
#include "unit.h"
#include "uwsgi.h"

static const unsigned char *
u(const char *s)
{
	return (const unsigned char *)s;
}

static void
params_rules(void)
{
	struct params	p;
	static char	big[PARAMS_MAX_BYTES];

	params_init(&p);
	CHECK(params_add(&p, "A", 1, "1", 1) == PARAMS_OK);
	CHECK(params_add(&p, "B", 1, "", 0) == PARAMS_OK);
	CHECK(p.count == 2 && strcmp(p.envp[0], "A=1") == 0 &&
	    strcmp(p.envp[1], "B=") == 0 && p.envp[2] == NULL);
	CHECK(params_add(&p, "", 0, "x", 1) == PARAMS_ENAME);
	CHECK(params_add(&p, "A=B", 3, "x", 1) == PARAMS_ENAME);
	CHECK(params_add(&p, "A\0B", 3, "x", 1) == PARAMS_ENAME);
	CHECK(params_add(&p, "C", 1, "x\0y", 3) == PARAMS_EVALUE);
	memset(big, 'x', sizeof(big));
	CHECK(params_add(&p, "BIG", 3, big, sizeof(big)) == PARAMS_ETOOBIG);
	params_free(&p);
	CHECK(p.count == 0 && p.envp == NULL);
}

static void
fcgi_headers(void)
{
	struct fcgi_header	h;
	unsigned char		b[FCGI_HEADER_LEN];
	bool			keep;
	unsigned		role;

	fcgi_make_header(b, FCGI_STDOUT, 0x1234, 65535);
	CHECK(fcgi_parse_header(b, &h) == FCGI_OK && h.type == FCGI_STDOUT &&
	    h.id == 0x1234 && h.length == 65535 && h.padding == 0);
	b[0] = 2;
	CHECK(fcgi_parse_header(b, &h) == FCGI_EVERSION);
	CHECK(fcgi_parse_header(u("\1\0\0\1\0\0\0\0"), &h) == FCGI_ETYPE);
	CHECK(fcgi_parse_header(u("\1\14\0\1\0\0\0\0"), &h) == FCGI_ETYPE);
	CHECK(fcgi_parse_begin(u("\0\1\1\0\0\0\0\0"), 8, &role, &keep) ==
	    FCGI_OK && role == FCGI_RESPONDER && keep);
	CHECK(fcgi_parse_begin(u("\0\1\0\0\0\0\0\0"), 8, &role, &keep) ==
	    FCGI_OK && !keep);
	CHECK(fcgi_parse_begin(u("\0\1\0"), 3, &role, &keep) == FCGI_EBEGIN);
}

/* 1- and 4-byte lengths; a pair split across records waits for the rest. */
static void
fcgi_pairs(void)
{
	static const unsigned char stream[] =
	    "\x0e\x03" "REQUEST_METHOD" "GET"
	    "\x80\x00\x00\x04" "\x80\x00\x00\x01" "PATH" "/";
	struct params	p;
	size_t		used;
	int		perr = 0;

	params_init(&p);
	CHECK(fcgi_parse_pairs(stream, 10, &used, &p, &perr) == FCGI_OK &&
	    used == 0 && p.count == 0);
	CHECK(fcgi_parse_pairs(stream, sizeof(stream) - 1, &used, &p,
	    &perr) == FCGI_OK && used == sizeof(stream) - 1 && p.count == 2);
	CHECK(strcmp(p.envp[0], "REQUEST_METHOD=GET") == 0 &&
	    strcmp(p.envp[1], "PATH=/") == 0);
	params_free(&p);
	/* A length that claims 2 GiB waits, never reads past the stream. */
	CHECK(fcgi_parse_pairs(u("\xff\xff\xff\xff\x01" "A"), 6, &used, &p,
	    &perr) == FCGI_OK && used == 0);
	/* A NUL in a value is refused. */
	CHECK(fcgi_parse_pairs(u("\x01\x03" "Ax\0y"), 6, &used, &p, &perr) ==
	    FCGI_EPARAMS && perr == PARAMS_EVALUE);
	params_free(&p);
}

static void
fcgi_records_out(void)
{
	unsigned char		out[64];
	struct fcgi_header	h;
	size_t			n;
	static const unsigned char q[] =
	    "\x0e\x00" "FCGI_MAX_CONNS" "\x0f\x00" "FCGI_MPXS_CONNS"
	    "\x07\x00" "UNKNOWN";

	n = fcgi_make_end(out, 7, 1, FCGI_CANT_MPX_CONN);
	CHECK(n == 16 && fcgi_parse_header(out, &h) == FCGI_OK &&
	    h.type == FCGI_END_REQUEST && h.id == 7 && h.length == 8);
	CHECK(memcmp(out + 8, "\0\0\0\1\1\0\0\0", 8) == 0);
	n = fcgi_make_values(out, sizeof(out), q, sizeof(q) - 1, 4, 4);
	CHECK(fcgi_parse_header(out, &h) == FCGI_OK &&
	    h.type == FCGI_GET_VALUES_RESULT && h.id == 0 &&
	    n == FCGI_HEADER_LEN + h.length);
	CHECK(h.length == 2 + 14 + 1 + 2 + 15 + 1);
	CHECK(memcmp(out + 8, "\x0e\x01" "FCGI_MAX_CONNS" "4", 17) == 0);
	CHECK(memcmp(out + 25, "\x0f\x01" "FCGI_MPXS_CONNS" "0", 18) == 0);
	n = fcgi_make_unknown(out, 200);
	CHECK(n == 16 && out[1] == FCGI_UNKNOWN_TYPE && out[8] == 200);
}

static void
scgi_requests(void)
{
	static const char good[] = "CONTENT_LENGTH\0" "5\0" "SCGI\0" "1\0"
	    "REQUEST_METHOD\0" "POST\0,";
	struct params	p;
	size_t		len, prefix;
	int		perr = 0;

	CHECK(scgi_prefix(u("70:CONT"), 7, &len, &prefix) == SCGI_OK &&
	    len == 70 && prefix == 3);
	CHECK(scgi_prefix(u("70"), 2, &len, &prefix) == SCGI_EAGAIN);
	CHECK(scgi_prefix(u("7a:"), 3, &len, &prefix) == SCGI_ELENGTH);
	CHECK(scgi_prefix(u(":"), 1, &len, &prefix) == SCGI_ELENGTH);
	CHECK(scgi_prefix(u("07:"), 3, &len, &prefix) == SCGI_ELENGTH);
	CHECK(scgi_prefix(u("0:"), 2, &len, &prefix) == SCGI_ELENGTH);
	CHECK(scgi_prefix(u("99999999:"), 9, &len, &prefix) == SCGI_ELENGTH);
	CHECK(scgi_prefix(u("-5:"), 3, &len, &prefix) == SCGI_ELENGTH);
	params_init(&p);
	CHECK(scgi_parse(u(good), sizeof(good) - 2, &p, &perr) == SCGI_OK &&
	    p.count == 3 && strcmp(p.envp[2], "REQUEST_METHOD=POST") == 0);
	params_free(&p);
	CHECK(scgi_parse(u("CONTENT_LENGTH\0" "0\0;"), 17, &p, &perr) ==
	    SCGI_ECOMMA);
	params_free(&p);
	CHECK(scgi_parse(u("CONTENT_LENGTH\0" "0\0,"), 17, &p, &perr) ==
	    SCGI_ENOSCGI);
	params_free(&p);
	CHECK(scgi_parse(u("SCGI\0" "1\0,"), 7, &p, &perr) == SCGI_EFIRST);
	params_free(&p);
	CHECK(scgi_parse(u("CONTENT_LENGTH\0" "0\0" "X,"), 18, &p, &perr) ==
	    SCGI_EPAIR);
	params_free(&p);
}

static void
uwsgi_packets(void)
{
	static const unsigned char vars[] =
	    "\x0e\x00" "REQUEST_METHOD" "\x03\x00" "GET"
	    "\x04\x00" "PATH" "\x00\x00";
	struct params	p;
	size_t		size;
	int		perr = 0;

	CHECK(uwsgi_parse_header(u("\0\x10\x01\0"), &size) == UWSGI_OK &&
	    size == 0x0110);
	CHECK(uwsgi_parse_header(u("\x05\x10\x01\0"), &size) ==
	    UWSGI_EMODIFIER);
	CHECK(uwsgi_parse_header(u("\0\x10\x01\x01"), &size) ==
	    UWSGI_EMODIFIER);
	params_init(&p);
	CHECK(uwsgi_parse(vars, sizeof(vars) - 1, &p, &perr) == UWSGI_OK &&
	    p.count == 2 && strcmp(p.envp[0], "REQUEST_METHOD=GET") == 0 &&
	    strcmp(p.envp[1], "PATH=") == 0);
	params_free(&p);
	/* A size that runs past the packet. */
	CHECK(uwsgi_parse(vars, 10, &p, &perr) == UWSGI_EPAIR);
	params_free(&p);
	CHECK(uwsgi_parse(u("\x01\x00" "A" "\x05\x00" "xy"), 7, &p, &perr) ==
	    UWSGI_EPAIR);
	params_free(&p);
	CHECK(uwsgi_parse(u("\x01"), 1, &p, &perr) == UWSGI_EPAIR);
	params_free(&p);
}

const struct unit_test proto_tests[] = {
	{ "params: names and values are checked; the total is bounded",
	    params_rules },
	{ "fastcgi: record headers, BEGIN_REQUEST", fcgi_headers },
	{ "fastcgi: name-value pairs with 1- and 4-byte lengths, split",
	    fcgi_pairs },
	{ "fastcgi: END_REQUEST, GET_VALUES_RESULT, UNKNOWN_TYPE",
	    fcgi_records_out },
	{ "scgi: netstring length, variables, CONTENT_LENGTH first, SCGI=1",
	    scgi_requests },
	{ "uwsgi: header, 16-bit little-endian variables", uwsgi_packets },
	{ NULL, NULL }
};
