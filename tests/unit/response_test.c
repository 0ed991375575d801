/*
 * Unit tests of response.c: status and header validation, withheld headers,
 * Content-Length rules, NPH and failure handling (spec section 4), writing
 * into a memory file that is read back.
 * SPDX-License-Identifier: MIT
 */
#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "response.h"
#include "unit.h"

#define OUT_MAX	4096

static int	 open_out(struct response **);
static char	*read_out(int);
static int	 hdr(struct response *, const char *, const char *);

static char	 out[OUT_MAX];

/* A response writing to a memory file; returns a descriptor to read it. */
static int
open_out(struct response **r)
{
	int	fd = memfd_create("response", 0);

	*r = resp_new(dup(fd), "test.py");
	return fd;
}

static char *
read_out(int fd)
{
	ssize_t	n = pread(fd, out, sizeof(out) - 1, 0);

	close(fd);
	out[n < 0 ? 0 : n] = '\0';
	return out;
}

static int
hdr(struct response *r, const char *name, const char *value)
{
	return resp_header(r, name, strlen(name), value, strlen(value));
}

static void
status_rules(void)
{
	static const char *const good[] = {
		"200 OK", "404 Not Found", "599 X",
		"200 \xc9t\xe9", "200 A\tB",
	};
	static const char *const bad[] = {
		"200", "200 ", "200OK", "2000 OK", "099 X", "600 X", "20x OK",
		"200  OK", "200 OK ", " 200 OK", "200 OK\r\nX-Injected: 1",
		"200 OK\n", "200 O\x7fK", "abc def",
	};
	size_t	i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(resp_check_status(good[i], strlen(good[i])) == RESP_OK);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(resp_check_status(bad[i], strlen(bad[i])) ==
		    RESP_ESTATUS);
	/* A NUL inside is a control character too. */
	CHECK(resp_check_status("200 O\0K", 7) == RESP_ESTATUS);
	/* Interim statuses are the server's (issue: 100 Continue then a
	 * body that looked like a response became the response). */
	CHECK(resp_check_status("100 Continue", 12) == RESP_EINTERIM);
	CHECK(resp_check_status("101 Switching Protocols", 23) ==
	    RESP_EINTERIM);
	CHECK(resp_check_status("103 Early Hints", 15) == RESP_EINTERIM);
	CHECK(resp_check_status("199 X", 5) == RESP_EINTERIM);
}

static void
header_rules(void)
{
	CHECK(resp_check_header("X-A", 3, "b", 1) == RESP_OK);
	CHECK(resp_check_header("X-A", 3, "", 0) == RESP_OK);
	CHECK(resp_check_header("X-A", 3, "a\tb \xff", 5) == RESP_OK);
	CHECK(resp_check_header("", 0, "b", 1) == RESP_ENAME);
	CHECK(resp_check_header("X A", 3, "b", 1) == RESP_ENAME);
	CHECK(resp_check_header("X:", 2, "b", 1) == RESP_ENAME);
	CHECK(resp_check_header("X\r\nY", 4, "b", 1) == RESP_ENAME);
	CHECK(resp_check_header("X", 1, "a\r\nY: z", 7) == RESP_EVALUE);
	CHECK(resp_check_header("X", 1, "a\nb", 3) == RESP_EVALUE);
	CHECK(resp_check_header("X", 1, "a\rb", 3) == RESP_EVALUE);
	CHECK(resp_check_header("X", 1, "a\0\r\nY: z", 8) == RESP_EVALUE);
	CHECK(resp_check_header("X", 1, "a\x7f", 2) == RESP_EVALUE);
	CHECK(resp_check_header("Connection", 10, "close", 5) ==
	    RESP_EHOPBYHOP);
	CHECK(resp_check_header("TRANSFER-ENCODING", 17, "chunked", 7) ==
	    RESP_EHOPBYHOP);
	CHECK(resp_check_header("keep-alive", 10, "1", 1) == RESP_EHOPBYHOP);
	CHECK(resp_check_header("Upgrade", 7, "h2c", 3) == RESP_EHOPBYHOP);
	CHECK(resp_check_header("status", 6, "200 OK", 6) == RESP_ESTATUSHDR);
}

static void
headers_then_body(void)
{
	struct response	*r;
	int		fd = open_out(&r);

	CHECK(resp_status(r, "200 OK", 6) == RESP_OK);
	CHECK(hdr(r, "Content-Type", "text/plain") == RESP_OK);
	CHECK(resp_body(r, "", 0) == RESP_OK);
	CHECK(lseek(fd, 0, SEEK_END) == 0);	/* withheld: no body yet */
	CHECK(resp_body(r, "ab", 2) == RESP_OK);
	CHECK(resp_body(r, "cd", 2) == RESP_OK);
	CHECK(resp_finish(r) == RESP_OK && !resp_failed(r));
	CHECK(strcmp(read_out(fd), "Status: 200 OK\r\n"
	    "Content-Type: text/plain\r\n\r\nabcd") == 0);
	resp_free(r);
}

static void
single_block_length(void)
{
	struct response	*r;
	int		fd = open_out(&r);

	CHECK(resp_status(r, "200 OK", 6) == RESP_OK);
	resp_single(r);
	CHECK(resp_body(r, "hello", 5) == RESP_OK);
	CHECK(resp_finish(r) == RESP_OK);
	CHECK(strcmp(read_out(fd), "Status: 200 OK\r\n"
	    "Content-Length: 5\r\n\r\nhello") == 0);
	resp_free(r);
}

/* Fuzzer finding: a result whose len() is 1 but that yields more. */
static void
single_block_is_a_limit(void)
{
	struct response	*r;
	int		fd = open_out(&r);

	CHECK(resp_status(r, "200 OK", 6) == RESP_OK);
	resp_single(r);
	CHECK(resp_body(r, "ab", 2) == RESP_OK);
	CHECK(resp_body(r, "cd", 2) == RESP_OK);
	CHECK(resp_finish(r) == RESP_OK && !resp_failed(r));
	CHECK(strcmp(read_out(fd), "Status: 200 OK\r\n"
	    "Content-Length: 2\r\n\r\nab") == 0);
	resp_free(r);
}

static void
empty_body_length(void)
{
	struct response	*r;
	int		fd = open_out(&r);

	CHECK(resp_status(r, "200 OK", 6) == RESP_OK);
	CHECK(resp_finish(r) == RESP_OK);
	CHECK(strcmp(read_out(fd), "Status: 200 OK\r\n"
	    "Content-Length: 0\r\n\r\n") == 0);
	resp_free(r);
	fd = open_out(&r);
	CHECK(resp_status(r, "204 No Content", 14) == RESP_OK);
	CHECK(resp_finish(r) == RESP_OK);
	CHECK(strcmp(read_out(fd), "Status: 204 No Content\r\n\r\n") == 0);
	resp_free(r);
	fd = open_out(&r);
	CHECK(resp_status(r, "304 Not Modified", 16) == RESP_OK);
	resp_single(r);
	CHECK(resp_body(r, "x", 1) == RESP_OK);
	CHECK(resp_finish(r) == RESP_OK);
	/* RFC 9110 6.4.1: no body, whatever the application returns. */
	CHECK(strcmp(read_out(fd), "Status: 304 Not Modified\r\n\r\n") == 0);
	CHECK(resp_sent(r) == 1);
	resp_free(r);
}

static void
declared_length(void)
{
	struct response	*r;
	int		fd = open_out(&r);

	CHECK(resp_status(r, "200 OK", 6) == RESP_OK);
	CHECK(hdr(r, "Content-Length", "3") == RESP_OK);
	CHECK(hdr(r, "content-length", "3") == RESP_OK);
	CHECK(hdr(r, "Content-Length", "4") == RESP_ETWICE);
	CHECK(hdr(r, "Content-Length", "-1") == RESP_ELENGTH);
	CHECK(hdr(r, "Content-Length", "") == RESP_ELENGTH);
	CHECK(hdr(r, "Content-Length", "99999999999999999999") ==
	    RESP_ELENGTH);
	CHECK(resp_body(r, "hello", 5) == RESP_OK);
	CHECK(resp_body(r, "more", 4) == RESP_OK);
	CHECK(resp_finish(r) == RESP_OK && !resp_failed(r));
	CHECK(strcmp(read_out(fd), "Status: 200 OK\r\n"
	    "Content-Length: 3\r\n\r\nhel") == 0);
	resp_free(r);
}

static void
short_body(void)
{
	struct response	*r;
	int		fd = open_out(&r);

	CHECK(resp_status(r, "200 OK", 6) == RESP_OK);
	CHECK(hdr(r, "Content-Length", "10") == RESP_OK);
	CHECK(resp_body(r, "abc", 3) == RESP_OK);
	CHECK(resp_finish(r) == RESP_OK && resp_failed(r));
	(void)read_out(fd);
	/* A HEAD response keeps the GET length without a body. */
	resp_free(r);
	fd = open_out(&r);
	resp_request(r, true, "HTTP/1.0", 1, 0);
	CHECK(resp_status(r, "200 OK", 6) == RESP_OK);
	CHECK(hdr(r, "Content-Length", "10") == RESP_OK);
	CHECK(resp_finish(r) == RESP_OK && !resp_failed(r));
	CHECK(strcmp(read_out(fd), "Status: 200 OK\r\n"
	    "Content-Length: 10\r\n\r\n") == 0);
	resp_free(r);
}

static void
status_replaced(void)
{
	struct response	*r;
	int		fd = open_out(&r);

	CHECK(resp_body(r, "x", 1) == RESP_ENOSTATUS);
	CHECK(hdr(r, "X", "y") == RESP_ENOSTATUS);
	CHECK(resp_status(r, "200 OK", 6) == RESP_OK);
	CHECK(hdr(r, "X-Old", "1") == RESP_OK);
	CHECK(resp_status(r, "503 Busy", 8) == RESP_OK);
	CHECK(hdr(r, "X-New", "1") == RESP_OK);
	CHECK(resp_body(r, "x", 1) == RESP_OK);
	CHECK(resp_status(r, "200 OK", 6) == RESP_ESENT);
	CHECK(hdr(r, "X", "y") == RESP_ESENT);
	CHECK(resp_finish(r) == RESP_OK);
	CHECK(strcmp(read_out(fd), "Status: 503 Busy\r\nX-New: 1\r\n\r\nx") ==
	    0);
	resp_free(r);
}

static void
nph(void)
{
	struct response	*r;
	int		fd = open_out(&r);

	resp_nph(r, true);
	resp_request(r, false, "HTTP/1.1", 1, 1);
	CHECK(resp_status(r, "200 OK", 6) == RESP_OK);
	CHECK(hdr(r, "Date", "Tue, 01 Jan 2030 00:00:00 GMT") == RESP_OK);
	CHECK(resp_body(r, "hi", 2) == RESP_OK);
	CHECK(resp_finish(r) == RESP_OK);
	CHECK(strcmp(read_out(fd), "HTTP/1.1 200 OK\r\n"
	    "Date: Tue, 01 Jan 2030 00:00:00 GMT\r\n"
	    "Connection: close\r\n\r\nhi") == 0);
	resp_free(r);
	fd = open_out(&r);
	resp_nph(r, true);
	resp_request(r, true, "HTTP/1.0", 1, 0);
	CHECK(resp_status(r, "200 OK", 6) == RESP_OK);
	CHECK(resp_body(r, "hi", 2) == RESP_OK);
	CHECK(resp_finish(r) == RESP_OK);
	CHECK(strncmp(read_out(fd), "HTTP/1.0 200 OK\r\nDate: ", 23) == 0);
	CHECK(strstr(out, "Connection") == NULL);
	CHECK(strcmp(out + strlen(out) - 4, "\r\n\r\n") == 0);
	resp_free(r);
	fd = open_out(&r);
	resp_nph(r, true);
	resp_request(r, false, "HTTP/0.9", 0, 9);
	CHECK(resp_status(r, "200 OK", 6) == RESP_OK);
	CHECK(resp_body(r, "body", 4) == RESP_OK);
	CHECK(resp_finish(r) == RESP_OK);
	CHECK(strcmp(read_out(fd), "body") == 0);
	resp_free(r);
}

static void
fail_before_and_after(void)
{
	struct response	*r;
	int		fd = open_out(&r);

	CHECK(resp_status(r, "200 OK", 6) == RESP_OK);
	CHECK(hdr(r, "X-Lost", "1") == RESP_OK);
	CHECK(resp_fail(r, 500, "oops", 4) ==
	    RESP_OK);
	CHECK(resp_failed(r) && resp_state(r) == RESP_CLOSED);
	CHECK(strcmp(read_out(fd), "Status: 500 Internal Server Error\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 4\r\n\r\noops") == 0);
	resp_free(r);
	fd = open_out(&r);
	CHECK(resp_status(r, "200 OK", 6) == RESP_OK);
	CHECK(resp_body(r, "part", 4) == RESP_OK);
	CHECK(resp_fail(r, 500, "oops", 4) ==
	    RESP_OK);
	CHECK(resp_failed(r));
	CHECK(strcmp(read_out(fd), "Status: 200 OK\r\n\r\npart") == 0);
	CHECK(resp_body(r, "x", 1) == RESP_EWRITE);
	resp_free(r);
}

/* RFC 3875 4.3.2: no body for HEAD in CGI style either; lengths hold. */
static void
head_no_body(void)
{
	struct response	*r;
	int		fd = open_out(&r), in = memfd_create("in", 0);

	resp_request(r, true, "HTTP/1.0", 1, 0);
	CHECK(resp_status(r, "200 OK", 6) == RESP_OK);
	resp_single(r);
	CHECK(resp_body(r, "hello", 5) == RESP_OK);
	CHECK(resp_finish(r) == RESP_OK && !resp_failed(r));
	CHECK(strcmp(read_out(fd), "Status: 200 OK\r\n"
	    "Content-Length: 5\r\n\r\n") == 0);
	resp_free(r);
	fd = open_out(&r);
	resp_request(r, true, "HTTP/1.0", 1, 0);
	CHECK(write(in, "0123456789", 10) == 10);
	CHECK(resp_status(r, "200 OK", 6) == RESP_OK);
	CHECK(resp_default_length(r, 10) == RESP_OK);
	CHECK(resp_sendfile(r, in, 0, 10) == RESP_OK);
	CHECK(resp_finish(r) == RESP_OK && !resp_failed(r));
	CHECK(strcmp(read_out(fd), "Status: 200 OK\r\n"
	    "Content-Length: 10\r\n\r\n") == 0);
	close(in);
	resp_free(r);
	fd = open_out(&r);
	resp_request(r, true, "HTTP/1.0", 1, 0);
	CHECK(resp_fail(r, 500, NULL, 0) == RESP_OK);
	CHECK(strcmp(read_out(fd), "Status: 500 Internal Server Error\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 59\r\n\r\n") ==
	    0);
	resp_free(r);
}

/* A file that cannot be read cuts the response short: not a success. */
static void
unreadable_file(void)
{
	struct response	*r;
	int		fd = open_out(&r), dir = open(".", O_RDONLY);

	CHECK(resp_status(r, "200 OK", 6) == RESP_OK);
	CHECK(resp_default_length(r, 100) == RESP_OK);
	/* sendfile(2) refuses a directory (EINVAL), then pread(2) fails. */
	CHECK(resp_sendfile(r, dir, 0, 100) == RESP_EREAD);
	CHECK(resp_failed(r) && resp_state(r) == RESP_CLOSED &&
	    resp_errno(r) == EISDIR);
	close(dir);
	(void)read_out(fd);
	resp_free(r);
}

static void
sendfile_from_offset(void)
{
	struct response	*r;
	int		fd = open_out(&r), in = memfd_create("in", 0);

	CHECK(write(in, "0123456789", 10) == 10);
	CHECK(resp_status(r, "200 OK", 6) == RESP_OK);
	CHECK(resp_default_length(r, 6) == RESP_OK);
	CHECK(resp_sendfile(r, in, 4, 6) == RESP_OK);
	CHECK(resp_finish(r) == RESP_OK && !resp_failed(r));
	close(in);
	CHECK(strcmp(read_out(fd), "Status: 200 OK\r\n"
	    "Content-Length: 6\r\n\r\n456789") == 0);
	resp_free(r);
}

static void
client_gone(void)
{
	struct response	*r;
	int		p[2];

	CHECK(pipe(p) == 0);
	close(p[0]);
	r = resp_new(p[1], "test.py");
	CHECK(resp_status(r, "200 OK", 6) == RESP_OK);
	CHECK(resp_body(r, "x", 1) == RESP_EWRITE);
	CHECK(resp_errno(r) == EPIPE && resp_failed(r));
	CHECK(resp_state(r) == RESP_CLOSED);
	CHECK(resp_finish(r) == RESP_EWRITE);
	resp_free(r);
}

const struct unit_test response_tests[] = {
	{ "response: status must be NNN reason, no CTLs (spec 4.1)",
	    status_rules },
	{ "response: header names are tokens, values have no CTLs",
	    header_rules },
	{ "response: headers wait for the first non-empty block (4.3)",
	    headers_then_body },
	{ "response: a one-block result gets its Content-Length (4.4)",
	    single_block_length },
	{ "response: a one-block length holds for a lying len() (fuzz)",
	    single_block_is_a_limit },
	{ "response: empty body, Content-Length 0 but not on 204/304, "
	    "whose body is dropped",
	    empty_body_length },
	{ "response: never more than the declared Content-Length",
	    declared_length },
	{ "response: a short body is a failure, not for HEAD", short_body },
	{ "response: status replaced until headers are sent",
	    status_replaced },
	{ "response: NPH status line, Date, Connection, HEAD, 0.9 (4.8)",
	    nph },
	{ "response: failure before and after headers (6.2)",
	    fail_before_and_after },
	{ "response: sendfile from a file offset (5.1)",
	    sendfile_from_offset },
	{ "response: HEAD writes no body in CGI style; lengths hold (4.2a)",
	    head_no_body },
	{ "response: a failed read of the file is a failure, not success",
	    unreadable_file },
	{ "response: EPIPE closes and marks the response (6.3)",
	    client_gone },
	{ NULL, NULL }
};
