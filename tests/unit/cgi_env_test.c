/*
 * Unit tests of cgi_env.c: RFC 3875 meta-variables from synthetic envp
 * arrays (spec sections 2 and 3.3).
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <string.h>

#include "cgi_env.h"
#include "unit.h"

static const char	*default_of(const struct cgi_request *, const char *);
static int		 parse(struct cgi_request *, const char *, const char *,
			    const char *);

/* Up to three "NAME=value" entries; NULL ends the list early. */
static int
parse(struct cgi_request *req, const char *a, const char *b, const char *c)
{
	char	*envp[4] = { NULL, NULL, NULL, NULL };

	envp[0] = (char *)(uintptr_t)a;
	if (a != NULL) {
		envp[1] = (char *)(uintptr_t)b;
		if (b != NULL)
			envp[2] = (char *)(uintptr_t)c;
	}
	return cgi_env_parse(envp, req, false);
}

static const char *
default_of(const struct cgi_request *req, const char *name)
{
	size_t	i;

	for (i = 0; i < req->ndefaults; i++)
		if (strcmp(req->defaults[i].name, name) == 0)
			return req->defaults[i].value;
	return NULL;
}

static void
shell_defaults(void)
{
	struct cgi_request	req;

	CHECK(parse(&req, NULL, NULL, NULL) == CGI_OK);
	CHECK(!req.gateway);
	CHECK(strcmp(req.method, "GET") == 0);
	CHECK(strcmp(default_of(&req, "REQUEST_METHOD"), "GET") == 0);
	CHECK(strcmp(default_of(&req, "SCRIPT_NAME"), "") == 0);
	CHECK(strcmp(default_of(&req, "PATH_INFO"), "/") == 0);
	CHECK(strcmp(default_of(&req, "QUERY_STRING"), "") == 0);
	CHECK(strcmp(default_of(&req, "SERVER_NAME"), "localhost") == 0);
	CHECK(strcmp(default_of(&req, "SERVER_PORT"), "80") == 0);
	CHECK(strcmp(default_of(&req, "SERVER_PROTOCOL"), "HTTP/1.0") == 0);
	CHECK(strcmp(default_of(&req, "HTTP_HOST"), "localhost") == 0);
}

static void
shell_defaults_keep_what_is_set(void)
{
	struct cgi_request	req;

	CHECK(parse(&req, "PATH_INFO=/x", "SERVER_NAME=example.org",
	    "HTTPS=on") == CGI_OK);
	CHECK(default_of(&req, "PATH_INFO") == NULL);
	CHECK(default_of(&req, "SCRIPT_NAME") == NULL);
	CHECK(default_of(&req, "SERVER_NAME") == NULL);
	CHECK(strcmp(default_of(&req, "HTTP_HOST"), "example.org") == 0);
	CHECK(strcmp(default_of(&req, "SERVER_PORT"), "443") == 0);
}

static void
gateway_adds_nothing(void)
{
	struct cgi_request	req;

	CHECK(parse(&req, "GATEWAY_INTERFACE=CGI/1.1", "REQUEST_METHOD=GET",
	    "SERVER_PROTOCOL=HTTP/1.1") == CGI_OK);
	CHECK(req.gateway);
	CHECK(req.ndefaults == 0);
	CHECK(req.proto_major == 1 && req.proto_minor == 1);
}

static void
method_required_under_a_server(void)
{
	struct cgi_request	req;

	CHECK(parse(&req, "GATEWAY_INTERFACE=CGI/1.1",
	    "SERVER_PROTOCOL=HTTP/1.1", NULL) == CGI_ENOMETHOD);
	CHECK(parse(&req, "GATEWAY_INTERFACE=CGI/1.1", "REQUEST_METHOD=",
	    "SERVER_PROTOCOL=HTTP/1.1") == CGI_ENOMETHOD);
	CHECK(parse(&req, "REQUEST_METHOD=", NULL, NULL) == CGI_ENOMETHOD);
	CHECK(parse(&req, "REQUEST_METHOD=GE T", NULL, NULL) == CGI_EMETHOD);
	CHECK(parse(&req, "REQUEST_METHOD=GET\r\n", NULL, NULL) ==
	    CGI_EMETHOD);
	CHECK(parse(&req, "REQUEST_METHOD=PROPFIND", NULL, NULL) == CGI_OK);
	CHECK(parse(&req, "REQUEST_METHOD=HEAD", NULL, NULL) == CGI_OK &&
	    req.head);
}

static void
protocol(void)
{
	struct cgi_request	req;

	CHECK(parse(&req, "GATEWAY_INTERFACE=CGI/1.1", "REQUEST_METHOD=GET",
	    NULL) == CGI_ENOPROTOCOL);
	CHECK(parse(&req, "SERVER_PROTOCOL=INCLUDED", NULL, NULL) == CGI_OK &&
	    req.included);
	CHECK(parse(&req, "SERVER_PROTOCOL=HTTP/2", NULL, NULL) == CGI_OK &&
	    req.proto_major == 2);
	CHECK(parse(&req, "SERVER_PROTOCOL=http/1.0", NULL, NULL) == CGI_OK);
	CHECK(parse(&req, "SERVER_PROTOCOL=HTTP/0.9", NULL, NULL) == CGI_OK &&
	    req.proto_major == 0 && req.proto_minor == 9);
	CHECK(parse(&req, "SERVER_PROTOCOL=HTTP/1", NULL, NULL) ==
	    CGI_EPROTOCOL);
	CHECK(parse(&req, "SERVER_PROTOCOL=HTTP/1.1x", NULL, NULL) ==
	    CGI_EPROTOCOL);
	CHECK(parse(&req, "SERVER_PROTOCOL=HTTP/1000.1", NULL, NULL) ==
	    CGI_EPROTOCOL);
	CHECK(parse(&req, "SERVER_PROTOCOL=FTP/1.0", NULL, NULL) ==
	    CGI_EPROTOCOL);
	CHECK(parse(&req, "SERVER_PROTOCOL=", NULL, NULL) == CGI_EPROTOCOL);
}

static void
content_length(void)
{
	static const char *const bad[] = {
		"CONTENT_LENGTH=abc", "CONTENT_LENGTH=-1", "CONTENT_LENGTH=+5",
		"CONTENT_LENGTH= 5", "CONTENT_LENGTH=5 ", "CONTENT_LENGTH=5_000",
		"CONTENT_LENGTH=0x10", "CONTENT_LENGTH=18446744073709551616",
		"CONTENT_LENGTH=99999999999999999999999",
	};
	struct cgi_request	req;
	size_t			i;

	/* RFC 3875 4.1.2: empty means no body is attached, not "to EOF". */
	CHECK(parse(&req, "CONTENT_LENGTH=", NULL, NULL) == CGI_OK &&
	    req.has_length && req.content_length == 0);
	CHECK(parse(&req, NULL, NULL, NULL) == CGI_OK && !req.has_length);
	CHECK(parse(&req, "CONTENT_LENGTH=0", NULL, NULL) == CGI_OK &&
	    req.has_length && req.content_length == 0);
	CHECK(parse(&req, "CONTENT_LENGTH=18446744073709551615", NULL,
	    NULL) == CGI_OK && req.content_length == UINT64_MAX);
	CHECK(parse(&req, "CONTENT_LENGTH=007", NULL, NULL) == CGI_OK &&
	    req.content_length == 7);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(parse(&req, bad[i], NULL, NULL) == CGI_ELENGTH);
	CHECK(cgi_env_status(CGI_ELENGTH) == 400);
	CHECK(cgi_env_status(CGI_ENOMETHOD) == 500);
}

static void
url_scheme(void)
{
	struct cgi_request	req;

	CHECK(parse(&req, "HTTPS=on", NULL, NULL) == CGI_OK && req.https);
	CHECK(parse(&req, "HTTPS=ON", NULL, NULL) == CGI_OK && req.https);
	CHECK(parse(&req, "HTTPS=Yes", NULL, NULL) == CGI_OK && req.https);
	CHECK(parse(&req, "HTTPS=1", NULL, NULL) == CGI_OK && req.https);
	CHECK(parse(&req, "HTTPS=off", NULL, NULL) == CGI_OK && !req.https);
	CHECK(parse(&req, "HTTPS=", NULL, NULL) == CGI_OK && !req.https);
	CHECK(parse(&req, "REQUEST_SCHEME=https", NULL, NULL) == CGI_OK &&
	    req.https);
	CHECK(parse(&req, "REQUEST_SCHEME=http", NULL, NULL) == CGI_OK &&
	    !req.https);
}

static void
first_occurrence_wins(void)
{
	struct cgi_request	req;

	CHECK(parse(&req, "REQUEST_METHOD=POST", "REQUEST_METHOD=GE T",
	    NULL) == CGI_OK && strcmp(req.method, "POST") == 0);
	CHECK(parse(&req, "CONTENT_LENGTH=3", "CONTENT_LENGTH=x", NULL) ==
	    CGI_OK && req.content_length == 3);
	CHECK(parse(&req, "REQUEST_METHODX=1", "REQUEST_METHOD", NULL) ==
	    CGI_OK && strcmp(req.method, "GET") == 0);
}

static void
request_vars(void)
{
	static const char *const yes[] = {
		"PATH_INFO", "SCRIPT_NAME", "QUERY_STRING", "HTTP_X", "SSL_X",
		"REQUEST_URI", "REDIRECT_URL", "REDIRECT_PATH_INFO",
		"REDIRECT_REDIRECT_HTTP_HOST", "SCRIPT_URI", "CONTENT_TYPE",
		"HTTPS", "REMOTE_USER", "AUTH_TYPE", "REDIRECT_REQUEST_URI",
	};
	static const char *const no[] = {
		"SERVER_NAME", "REDIRECT_STATUS", "HTTP", "SSL", "PATH",
		"REMOTE_ADDR", "REDIRECT_", "PATH_INFOX", "DOCUMENT_ROOT",
		"SCRIPT_FILENAME",
	};
	size_t	i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		CHECK(cgi_env_is_request_var(yes[i], strlen(yes[i])));
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		CHECK(!cgi_env_is_request_var(no[i], strlen(no[i])));
}

static void
server_variables(void)
{
	struct cgi_request	req;

	CHECK(parse(&req, "SCRIPT_FILENAME=/srv/a.py",
	    "PATH_TRANSLATED=/srv/b.py", "REDIRECT_STATUS=200") == CGI_OK);
	CHECK(strcmp(req.script_filename, "/srv/a.py") == 0);
	CHECK(strcmp(req.path_translated, "/srv/b.py") == 0);
	CHECK(req.redirected);
	CHECK(strcmp(cgi_env_strerror(CGI_ELENGTH),
	    "CONTENT_LENGTH is not a decimal number of bytes") == 0);
	CHECK(strcmp(cgi_env_strerror(-1), "unknown error") == 0);
}

const struct unit_test cgi_env_tests[] = {
	{ "cgi_env: shell defaults (spec 2.3)", shell_defaults },
	{ "cgi_env: shell defaults never override",
	    shell_defaults_keep_what_is_set },
	{ "cgi_env: a server's environment gets no defaults",
	    gateway_adds_nothing },
	{ "cgi_env: REQUEST_METHOD required and a token (spec 2.4)",
	    method_required_under_a_server },
	{ "cgi_env: SERVER_PROTOCOL forms, INCLUDED legal", protocol },
	{ "cgi_env: CONTENT_LENGTH is \"\" or 1*digit (spec 3.3)",
	    content_length },
	{ "cgi_env: url_scheme from HTTPS or REQUEST_SCHEME", url_scheme },
	{ "cgi_env: the first of duplicate names wins",
	    first_occurrence_wins },
	{ "cgi_env: which variables carry request bytes", request_vars },
	{ "cgi_env: server variables and messages", server_variables },
	{ NULL, NULL }
};
