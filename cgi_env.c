/*
 * Reads the RFC 3875 meta-variables from an envp array into a struct
 * cgi_request and validates the ones the launcher relies on.  Plain C: it
 * never prints, exits or touches Python, so it can be unit-tested and fuzzed.
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cgi_env.h"
#include "http.h"

/* The variables the parser looks at; the first occurrence of each wins. */
enum cgi_key {
	K_GATEWAY_INTERFACE,
	K_REQUEST_METHOD,
	K_SERVER_PROTOCOL,
	K_CONTENT_LENGTH,
	K_HTTPS,
	K_REQUEST_SCHEME,
	K_QUERY_STRING,
	K_SCRIPT_FILENAME,
	K_PATH_TRANSLATED,
	K_REDIRECT_STATUS,
	K_SCRIPT_NAME,
	K_PATH_INFO,
	K_SERVER_NAME,
	K_SERVER_PORT,
	K_HTTP_HOST,
	K_REQUEST_URI,
	K_REDIRECT_URL,
	K_REDIRECT_HANDLER,
	K_COUNT
};

static size_t		 key_of(const char *, const char **);
static bool		 parse_protocol(const char *, struct cgi_request *);
static bool		 is_https(const char *, const char *);
static void		 add_defaults(struct cgi_request *,
			    const char *const *);

static const char *const key_names[K_COUNT] = {
	[K_GATEWAY_INTERFACE] = "GATEWAY_INTERFACE",
	[K_REQUEST_METHOD] = "REQUEST_METHOD",
	[K_SERVER_PROTOCOL] = "SERVER_PROTOCOL",
	[K_CONTENT_LENGTH] = "CONTENT_LENGTH",
	[K_HTTPS] = "HTTPS",
	[K_REQUEST_SCHEME] = "REQUEST_SCHEME",
	[K_QUERY_STRING] = "QUERY_STRING",
	[K_SCRIPT_FILENAME] = "SCRIPT_FILENAME",
	[K_PATH_TRANSLATED] = "PATH_TRANSLATED",
	[K_REDIRECT_STATUS] = "REDIRECT_STATUS",
	[K_SCRIPT_NAME] = "SCRIPT_NAME",
	[K_PATH_INFO] = "PATH_INFO",
	[K_SERVER_NAME] = "SERVER_NAME",
	[K_SERVER_PORT] = "SERVER_PORT",
	[K_HTTP_HOST] = "HTTP_HOST",
	[K_REQUEST_URI] = "REQUEST_URI",
	[K_REDIRECT_URL] = "REDIRECT_URL",
	[K_REDIRECT_HANDLER] = "REDIRECT_HANDLER",
};

/*
 * PEP 3333 "Unicode Issues": request data reaches the application as its
 * raw bytes decoded as ISO-8859-1.  These are the names wsgiref's
 * read_environ() transcodes, plus the URL variables it forgets.
 */
static const char *const request_vars[] = {
	"SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REQUEST_METHOD",
	"AUTH_TYPE", "CONTENT_TYPE", "CONTENT_LENGTH", "HTTPS", "REMOTE_USER",
	"REMOTE_IDENT", "REQUEST_URI", "REDIRECT_URL", "SCRIPT_URL",
	"SCRIPT_URI",
};

static const char *const error_text[] = {
	[CGI_OK] = "no error",
	[CGI_ENOMETHOD] = "REQUEST_METHOD is missing or empty",
	[CGI_EMETHOD] = "REQUEST_METHOD is not an HTTP method token",
	[CGI_ENOPROTOCOL] = "SERVER_PROTOCOL is missing",
	[CGI_EPROTOCOL] = "SERVER_PROTOCOL is not HTTP/x.y or INCLUDED",
	[CGI_ELENGTH] = "CONTENT_LENGTH is not a decimal number of bytes",
};

#define HTTPS_DEFAULT_PORT	"443"
#define HTTP_DEFAULT_PORT	"80"

/*
 * Fills req from envp.  Pointers in req point into envp (or at constants)
 * and stay valid as long as envp does.  server: a gateway protocol's
 * variables, which are a server's whether GATEWAY_INTERFACE is among them
 * or not.  Returns CGI_OK or a cgi_err.
 */
int
cgi_env_parse(char *const envp[], struct cgi_request *req, bool server)
{
	const char	*v[K_COUNT] = { NULL };
	const char	*val;
	size_t		 i, k;

	memset(req, 0, sizeof(*req));
	for (i = 0; envp[i] != NULL; i++)
		if ((k = key_of(envp[i], &val)) < K_COUNT && v[k] == NULL)
			v[k] = val;

	req->gateway = server || v[K_GATEWAY_INTERFACE] != NULL;
	req->https = is_https(v[K_HTTPS], v[K_REQUEST_SCHEME]);
	req->query_string = v[K_QUERY_STRING];
	req->script_filename = v[K_SCRIPT_FILENAME];
	req->path_translated = v[K_PATH_TRANSLATED];
	req->redirected = v[K_REDIRECT_STATUS] != NULL;
	req->redirect_url = v[K_REDIRECT_URL];
	req->redirect_handler = v[K_REDIRECT_HANDLER];
	req->request_uri = v[K_REQUEST_URI];
	req->script_name = v[K_SCRIPT_NAME];
	req->path_info = v[K_PATH_INFO];
	req->proto_major = 1;
	req->protocol = "HTTP/1.0";

	/* PEP 3333: REQUEST_METHOD "cannot ever be an empty string". */
	req->method = v[K_REQUEST_METHOD];
	if (req->method == NULL && !req->gateway)
		req->method = "GET";
	else if (req->method == NULL || *req->method == '\0')
		return CGI_ENOMETHOD;
	if (!http_token(req->method, strlen(req->method)))
		return CGI_EMETHOD;
	req->head = strcmp(req->method, "HEAD") == 0;

	if (v[K_SERVER_PROTOCOL] != NULL) {
		if (!parse_protocol(v[K_SERVER_PROTOCOL], req))
			return CGI_EPROTOCOL;
		req->protocol = v[K_SERVER_PROTOCOL];
	} else if (req->gateway)
		return CGI_ENOPROTOCOL;

	/*
	 * RFC 3875 4.1.2: CONTENT_LENGTH = "" | 1*digit, and "" means no body
	 * is attached.  Only an absent one means the body runs to EOF.
	 */
	val = v[K_CONTENT_LENGTH];
	if (val != NULL) {
		if (*val != '\0' && !http_length(val, strlen(val),
		    &req->content_length))
			return CGI_ELENGTH;
		req->has_length = true;
	}

	if (!req->gateway)
		add_defaults(req, v);
	return CGI_OK;
}

const char *
cgi_env_strerror(int e)
{
	if (e < 0 || (size_t)e >= sizeof(error_text) / sizeof(error_text[0]))
		return "unknown error";
	return error_text[e];
}

/* The HTTP status that answers a cgi_err: the client's fault or ours. */
int
cgi_env_status(int e)
{
	return e == CGI_ELENGTH ? 400 : 500;
}

/*
 * True when the variable carries request bytes (wsgiref's _needs_transcode):
 * the names above, HTTP_*, SSL_*, and REDIRECT_ followed by any of these.
 */
bool
cgi_env_is_request_var(const char *name, size_t len)
{
	static const char redirect[] = "REDIRECT_";
	size_t	i, n;

	while (len >= sizeof(redirect) - 1 &&
	    memcmp(name, redirect, sizeof(redirect) - 1) == 0) {
		if (len == sizeof("REDIRECT_URL") - 1 &&
		    memcmp(name, "REDIRECT_URL", len) == 0)
			return true;
		name += sizeof(redirect) - 1;
		len -= sizeof(redirect) - 1;
	}
	if ((len >= 5 && memcmp(name, "HTTP_", 5) == 0) ||
	    (len >= 4 && memcmp(name, "SSL_", 4) == 0))
		return true;
	for (i = 0; i < sizeof(request_vars) / sizeof(request_vars[0]); i++) {
		n = strlen(request_vars[i]);
		if (n == len && memcmp(name, request_vars[i], n) == 0)
			return true;
	}
	return false;
}

/*
 * The key that "NAME=value" names (K_COUNT for none), and *val its value:
 * the lengths compared first, so that a request's thirty variables cost
 * little more than thirty strchr(3)s.
 */
static size_t
key_of(const char *entry, const char **val)
{
	static size_t	 key_len[K_COUNT];
	const char	*eq;
	size_t		 k, n;

	if (key_len[0] == 0)
		for (k = 0; k < K_COUNT; k++)
			key_len[k] = strlen(key_names[k]);
	if ((eq = strchr(entry, '=')) == NULL)
		return K_COUNT;
	n = (size_t)(eq - entry);
	*val = eq + 1;
	for (k = 0; k < K_COUNT; k++)
		if (key_len[k] == n && memcmp(entry, key_names[k], n) == 0)
			return k;
	return K_COUNT;
}

/*
 * RFC 3875 4.1.16: "HTTP" "/" 1*digit "." 1*digit, or INCLUDED (a server-side
 * include; answered as HTTP/1.0).  HTTP/2 and HTTP/3 are accepted without a
 * minor version, as some servers send them.
 */
static bool
parse_protocol(const char *s, struct cgi_request *req)
{
	unsigned	part[2] = { 0, 0 };
	size_t		i, digits;

	if (strcmp(s, "INCLUDED") == 0) {
		req->included = true;
		return true;
	}
	if (strlen(s) < 5 || !http_caseeq(s, 5, "http/"))
		return false;
	s += 5;
	for (i = 0; i < 2; i++) {
		for (digits = 0; *s >= '0' && *s <= '9'; s++, digits++) {
			if (digits == 3)
				return false;
			part[i] = part[i] * 10 + (unsigned)(*s - '0');
		}
		if (digits == 0)
			return false;
		if (i == 0 && *s == '\0' && part[0] >= 2)
			break;
		if (i == 0 && *s++ != '.')
			return false;
	}
	if (*s != '\0')
		return false;
	req->proto_major = part[0];
	req->proto_minor = part[1];
	return true;
}

/* HTTPS on/yes/1 in any case (wsgiref is case-sensitive), or the scheme. */
static bool
is_https(const char *https, const char *scheme)
{
	static const char *const yes[] = { "on", "yes", "1" };
	size_t	i;

	if (https != NULL)
		for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
			if (http_caseeq(https, strlen(https), yes[i]))
				return true;
	return scheme != NULL && http_caseeq(scheme, strlen(scheme), "https");
}

/*
 * A variable the environ gets in place of the process's (the shell
 * defaults, or what the Action shape corrects); false when there is no room.
 */
bool
cgi_env_set(struct cgi_request *req, const char *name, const char *value)
{
	if (req->ndefaults >= CGI_NDEFAULTS)
		return false;
	req->defaults[req->ndefaults].name = name;
	req->defaults[req->ndefaults].value = value;
	req->ndefaults++;
	return true;
}

/* Spec 2.3, wsgiref.util.setup_testing_defaults: set only what is absent. */
static void
add_defaults(struct cgi_request *req, const char *const *v)
{
	const char	*server_name = v[K_SERVER_NAME];

	if (v[K_REQUEST_METHOD] == NULL)
		(void)cgi_env_set(req, "REQUEST_METHOD", "GET");
	if (v[K_SCRIPT_NAME] == NULL && v[K_PATH_INFO] == NULL) {
		(void)cgi_env_set(req, "SCRIPT_NAME", "");
		(void)cgi_env_set(req, "PATH_INFO", "/");
	}
	if (v[K_QUERY_STRING] == NULL)
		(void)cgi_env_set(req, "QUERY_STRING", "");
	if (server_name == NULL) {
		server_name = "localhost";
		(void)cgi_env_set(req, "SERVER_NAME", server_name);
	}
	if (v[K_SERVER_PORT] == NULL)
		(void)cgi_env_set(req, "SERVER_PORT",
		    req->https ? HTTPS_DEFAULT_PORT : HTTP_DEFAULT_PORT);
	if (v[K_SERVER_PROTOCOL] == NULL)
		(void)cgi_env_set(req, "SERVER_PROTOCOL", "HTTP/1.0");
	if (v[K_HTTP_HOST] == NULL)
		(void)cgi_env_set(req, "HTTP_HOST", server_name);
}
