/*
 * HTTP/1.1 requests, strictly: every line ends with CRLF (a bare CR or LF
 * anywhere is refused), one SP between the request line's parts, no
 * whitespace before a field's colon, no obs-fold, no control byte in a
 * field; the body's length from one Content-Length (repeats must agree)
 * or from a Transfer-Encoding that is chunked alone, never both.  What a
 * lenient proxy and this parser could read differently is refused, so
 * that no request can hide inside another.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "http_req.h"

static int	 parse_line(const char *, size_t, struct http_req *);
static int	 parse_field(const char *, size_t, struct http_req *);
static int	 framing(struct http_req *);
static bool	 list_next(const char **, const char *, const char **,
		    size_t *);
static bool	 list_has(const char *, size_t, const char *);
static const char *find_crlf(const char *, size_t, int *);
static int	 hexval(char);
static int	 chunk_ext(int, char);
static bool	 host_valid(const char *, size_t);
static int	 authority(const struct http_req *, const char **, size_t *);
static int	 add_server(struct params *, const char *, size_t,
		    const struct http_where *);
static int	 add_http(struct params *, const struct http_field *,
		    const struct http_req *, int *);
static size_t	 pct_decode(const char *, size_t, char *);

/*
 * The request's head from buf: HTTP_REQ_OK with r filled (r->head_len
 * bytes used), HTTP_REQ_AGAIN when it is not all there yet, or an error.
 */
int
http_req_parse(const char *buf, size_t len, struct http_req *r)
{
	const char	*p = buf, *end = buf + len, *eol;
	int		 e, bad;

	memset(r, 0, sizeof(*r));
	/* RFC 9112 2.2: empty lines before the request line are ignored. */
	while (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
		p += 2;
	if (p < end && (*p == '\r' || *p == '\n') && (end - p >= 2 ||
	    *p == '\n'))
		return HTTP_REQ_ELINE;
	if ((eol = find_crlf(p, (size_t)(end - p), &bad)) == NULL) {
		if (bad)
			return HTTP_REQ_ELINE;
		return (size_t)(end - p) > HTTP_LINE_MAX ? HTTP_REQ_EURI :
		    HTTP_REQ_AGAIN;
	}
	if ((size_t)(eol - p) > HTTP_LINE_MAX)
		return HTTP_REQ_EURI;
	if ((e = parse_line(p, (size_t)(eol - p), r)) != HTTP_REQ_OK)
		return e;
	for (p = eol + 2;; p = eol + 2) {
		if ((eol = find_crlf(p, (size_t)(end - p), &bad)) == NULL) {
			if (bad)
				return HTTP_REQ_ELINE;
			return len > HTTP_HEAD_MAX ? HTTP_REQ_EHEAD :
			    HTTP_REQ_AGAIN;
		}
		if ((size_t)(eol + 2 - buf) > HTTP_HEAD_MAX)
			return HTTP_REQ_EHEAD;
		if (eol == p)
			break;
		if (r->nfields == HTTP_FIELDS_MAX)
			return HTTP_REQ_EHEAD;
		if ((e = parse_field(p, (size_t)(eol - p), r)) != HTTP_REQ_OK)
			return e;
	}
	r->head_len = (size_t)(eol + 2 - buf);
	return framing(r);
}

/*
 * The first CRLF in p[0..n), or NULL; *bad when a CR not before LF, a
 * lone LF or a NUL comes first.
 */
static const char *
find_crlf(const char *p, size_t n, int *bad)
{
	size_t	i;

	*bad = 0;
	for (i = 0; i < n; i++) {
		if (p[i] == '\n' || p[i] == '\0') {
			*bad = 1;
			return NULL;
		}
		if (p[i] == '\r') {
			if (i + 1 == n)
				return NULL;
			if (p[i + 1] != '\n') {
				*bad = 1;
				return NULL;
			}
			return p + i;
		}
	}
	return NULL;
}

/* method SP request-target SP HTTP-version */
static int
parse_line(const char *p, size_t n, struct http_req *r)
{
	const char	*sp1, *sp2, *v;
	size_t		 i, vlen;

	if ((sp1 = memchr(p, ' ', n)) == NULL ||
	    (sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - p))) == NULL)
		return HTTP_REQ_ELINE;
	r->method = p;
	r->mlen = (size_t)(sp1 - p);
	r->target = sp1 + 1;
	r->tlen = (size_t)(sp2 - sp1 - 1);
	v = sp2 + 1;
	vlen = n - (size_t)(v - p);
	if (!http_token(r->method, r->mlen))
		return HTTP_REQ_EMETHOD;
	/*
	 * Methods are case-sensitive, and every registered one is upper-case
	 * letters, digits, '-' and '_' from an upper-case letter: another
	 * token ("get", "-X") is a method we do not implement (501).
	 */
	for (i = 0; i < r->mlen; i++)
		if (!((r->method[i] >= 'A' && r->method[i] <= 'Z') ||
		    (i > 0 && ((r->method[i] >= '0' && r->method[i] <= '9') ||
		    r->method[i] == '-' || r->method[i] == '_'))))
			return HTTP_REQ_EMETHOD_UNKNOWN;
	if (r->tlen == 0)
		return HTTP_REQ_ETARGET;
	/* RFC 9112 3.2: a fragment is never part of a request target. */
	for (i = 0; i < r->tlen; i++)
		if ((unsigned char)r->target[i] <= 0x20 ||
		    (unsigned char)r->target[i] >= 0x7f ||
		    r->target[i] == '#')
			return HTTP_REQ_ETARGET;
	/* origin-form; absolute-form; asterisk-form for OPTIONS only. */
	if (r->target[0] != '/' &&
	    !(r->tlen >= 8 && http_caseeq(r->target, 7, "http://")) &&
	    !(r->tlen >= 9 && http_caseeq(r->target, 8, "https://")) &&
	    !(r->tlen == 1 && r->target[0] == '*' &&
	    r->mlen == 7 && memcmp(r->method, "OPTIONS", 7) == 0))
		return HTTP_REQ_ETARGET;
	if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' ||
	    v[5] > '9' || v[6] != '.' || v[7] < '0' || v[7] > '9')
		return HTTP_REQ_ELINE;
	if (v[5] != '1')
		return HTTP_REQ_EVERSION;
	r->minor = (unsigned)(v[7] - '0');
	r->version_high = r->minor > 1;
	r->keep_alive = r->minor >= 1;
	return HTTP_REQ_OK;
}

/* field-name ":" OWS field-value OWS */
static int
parse_field(const char *p, size_t n, struct http_req *r)
{
	const char	*colon, *v, *ve;
	struct http_field *f = &r->fields[r->nfields];

	/* obs-fold: a line that continues the one before. */
	if (p[0] == ' ' || p[0] == '\t')
		return HTTP_REQ_EFIELD;
	if ((colon = memchr(p, ':', n)) == NULL)
		return HTTP_REQ_EFIELD;
	/* No whitespace before the colon (RFC 9112 5.1): a token check. */
	if (!http_token(p, (size_t)(colon - p)))
		return HTTP_REQ_EFIELD;
	v = colon + 1;
	ve = p + n;
	while (v < ve && (*v == ' ' || *v == '\t'))
		v++;
	while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
		ve--;
	if (!http_text(v, (size_t)(ve - v)))
		return HTTP_REQ_EFIELD;
	f->name = p;
	f->nlen = (size_t)(colon - p);
	f->value = v;
	f->vlen = (size_t)(ve - v);
	r->nfields++;
	return HTTP_REQ_OK;
}

/* Host, the body's framing, Connection, Expect (RFC 9112 3.2, 6, 9.3). */
static int
framing(struct http_req *r)
{
	const struct http_field	*f;
	const char		*s, *item;
	uint64_t		 v;
	size_t			 i, ilen, hosts = 0, codings = 0;
	bool			 te = false, last_chunked = false;
	bool			 closed = false;

	for (i = 0; i < r->nfields; i++) {
		f = &r->fields[i];
		if (http_caseeq(f->name, f->nlen, "host")) {
			if (!host_valid(f->value, f->vlen))
				return HTTP_REQ_EHOST;
			hosts++;
		} else if (http_caseeq(f->name, f->nlen, "content-length")) {
			/* "5, 5" or a repeat: the same number, or refused. */
			for (s = f->value; list_next(&s, f->value + f->vlen,
			    &item, &ilen);) {
				if (!http_length(item, ilen, &v) ||
				    (r->has_length && v != r->content_length))
					return HTTP_REQ_ELENGTH;
				r->content_length = v;
				r->has_length = true;
			}
		} else if (http_caseeq(f->name, f->nlen,
		    "transfer-encoding")) {
			te = true;
			for (s = f->value; list_next(&s, f->value + f->vlen,
			    &item, &ilen);) {
				/* chunked twice, or not last, is refused. */
				if (last_chunked || ilen == 0)
					return HTTP_REQ_ETE;
				last_chunked = http_caseeq(item, ilen,
				    "chunked");
				codings++;
			}
		} else if (http_caseeq(f->name, f->nlen, "connection")) {
			/* Any close wins, wherever keep-alive stands. */
			if (list_has(f->value, f->vlen, "close"))
				closed = true;
			else if (r->minor == 0 &&
			    list_has(f->value, f->vlen, "keep-alive"))
				r->keep_alive = true;
		} else if (http_caseeq(f->name, f->nlen, "expect")) {
			if (!http_caseeq(f->value, f->vlen, "100-continue"))
				return HTTP_REQ_EEXPECT;
			r->expect_continue = r->minor >= 1;
		}
	}
	if (closed)
		r->keep_alive = false;
	if (r->minor >= 1 && hosts != 1)
		return HTTP_REQ_EHOST;
	/* RFC 9112 3.2.2: the absolute form's authority is the host. */
	if (r->target[0] != '/' && r->target[0] != '*' &&
	    authority(r, NULL, NULL) < 0)
		return HTTP_REQ_EHOST;
	if (r->minor == 0 && hosts > 1)
		return HTTP_REQ_EHOST;
	if (te) {
		/* Both: a smuggling classic (RFC 9112 6.3 allows neither). */
		if (r->has_length || r->minor == 0 || !last_chunked)
			return HTTP_REQ_ETE;
		if (codings > 1)
			return HTTP_REQ_ECODING;
		r->chunked = true;
	}
	return HTTP_REQ_OK;
}

/*
 * The next element of a comma-separated list that ends at e, without its
 * OWS, from *s (NULL once the list is done); false when it is done.
 */
static bool
list_next(const char **s, const char *e, const char **item, size_t *len)
{
	const char	*p = *s, *comma, *t;

	if (p == NULL)
		return false;
	if ((comma = memchr(p, ',', (size_t)(e - p))) == NULL)
		comma = e;
	while (p < comma && (*p == ' ' || *p == '\t'))
		p++;
	for (t = comma; t > p && (t[-1] == ' ' || t[-1] == '\t'); t--)
		;
	*item = p;
	*len = (size_t)(t - p);
	*s = comma == e ? NULL : comma + 1;
	return true;
}

/* A comma-separated list of tokens that has want (lower case). */
static bool
list_has(const char *s, size_t n, const char *want)
{
	const char	*e = s + n, *item;
	size_t		 len;

	while (list_next(&s, e, &item, &len))
		if (http_caseeq(item, len, want))
			return true;
	return false;
}

/*
 * RFC 9110 7.2, RFC 3986 3.2.2: uri-host [ ":" port ], the host an
 * IP-literal in brackets or a reg-name (unreserved, pct-encoded and
 * sub-delims; an IPv4 address is one too).  Empty is valid (RFC 9112 3.2).
 */
static bool
host_valid(const char *h, size_t n)
{
	static const char	 reg[] = "-._~!$&'()*+,;=%";
	size_t			 i = 0, end;

	if (n > 0 && h[0] == '[') {
		for (i = 1; i < n && h[i] != ']'; i++)
			if (hexval(h[i]) < 0 && h[i] != ':' && h[i] != '.' &&
			    h[i] != 'v' && h[i] != 'V')
				return false;
		if (i == n || i == 1)
			return false;
		i++;
	} else
		for (; i < n && h[i] != ':'; i++)
			if (!((h[i] >= 'a' && h[i] <= 'z') ||
			    (h[i] >= 'A' && h[i] <= 'Z') ||
			    (h[i] >= '0' && h[i] <= '9') ||
			    (h[i] != '\0' && strchr(reg, h[i]) != NULL)))
				return false;
	if (i == n)
		return true;
	if (h[i] != ':')
		return false;
	for (end = i + 1; end < n; end++)
		if (h[end] < '0' || h[end] > '9')
			return false;
	return true;
}

/*
 * An absolute-form target's authority (*a, *alen: the host and port): 0,
 * or -1 when it is empty, has userinfo (RFC 9110 4.2.4) or is not a host.
 */
static int
authority(const struct http_req *r, const char **a, size_t *alen)
{
	const char	*s = (const char *)memchr(r->target, ':', r->tlen) + 3;
	const char	*e = r->target + r->tlen, *p;

	for (p = s; p < e && *p != '/' && *p != '?'; p++)
		if (*p == '@')
			return -1;
	if (p == s || !host_valid(s, (size_t)(p - s)))
		return -1;
	if (a != NULL) {
		*a = s;
		*alen = (size_t)(p - s);
	}
	return 0;
}

/* The status an error is answered with. */
int
http_req_status(int e)
{
	switch (e) {
	case HTTP_REQ_EURI:
		return 414;
	case HTTP_REQ_EHEAD:
		return 431;
	case HTTP_REQ_EVERSION:
		return 505;
	case HTTP_REQ_ECODING:
	case HTTP_REQ_EMETHOD_UNKNOWN:
		return 501;
	case HTTP_REQ_EEXPECT:
		return 417;
	default:
		return 400;
	}
}

const char *
http_req_strerror(int e)
{
	static const char *const msg[] = {
		[HTTP_REQ_OK] = "no error",
		[HTTP_REQ_AGAIN] = "incomplete",
		[HTTP_REQ_ELINE] = "a malformed line (a bare CR or LF, a NUL, "
		    "or not METHOD SP TARGET SP HTTP/1.x)",
		[HTTP_REQ_EMETHOD] = "the method is not a token",
		[HTTP_REQ_EMETHOD_UNKNOWN] = "a method that is not upper-case "
		    "letters, digits, '-' and '_'",
		[HTTP_REQ_ETARGET] = "the request target is not a path, an "
		    "absolute URI or * (OPTIONS), or has a fragment (#)",
		[HTTP_REQ_EURI] = "the request line is over 8 KiB",
		[HTTP_REQ_EVERSION] = "not HTTP/1.x",
		[HTTP_REQ_EFIELD] = "a malformed field line (whitespace before "
		    "the colon, obs-fold, a control byte)",
		[HTTP_REQ_EHEAD] = "over 100 fields or 64 KiB of head",
		[HTTP_REQ_EHOST] = "HTTP/1.1 without exactly one Host, or a "
		    "host that is not host[:port]",
		[HTTP_REQ_ELENGTH] = "a bad Content-Length, or two that differ",
		[HTTP_REQ_ETE] = "a Transfer-Encoding that is not a final "
		    "chunked, or with Content-Length, or in HTTP/1.0",
		[HTTP_REQ_ECODING] = "a transfer coding other than chunked",
		[HTTP_REQ_EEXPECT] = "an Expect other than 100-continue",
	};

	return e >= 0 && (size_t)e < sizeof(msg) / sizeof(msg[0]) &&
	    msg[e] != NULL ? msg[e] : "unknown error";
}

enum {
	C_SIZE,		/* hex digits of the size */
	C_SIZE_WS,	/* BWS after the size: only before ";" */
	C_EXT_NAME0,	/* after ";": BWS, then a name */
	C_EXT_NAME,
	C_EXT_NAME_WS,	/* BWS after a name: only before "=" or ";" */
	C_EXT_VALUE0,	/* after "=": BWS, then a token or a quoted-string */
	C_EXT_TOKEN,
	C_EXT_QUOTED,
	C_EXT_QPAIR,	/* after a backslash in a quoted-string */
	C_EXT_QEND,	/* after a quoted-string's closing quote */
	C_EXT_VALUE_WS,	/* after a value: BWS, only before ";" */
	C_SIZE_LF,
	C_DATA,
	C_DATA_CR,
	C_DATA_LF,
	C_TRAILER,	/* a trailer line, or the final CRLF */
	C_TRAILER_LF,
	C_DONE
};

void
http_chunked_init(struct http_chunked *c)
{
	memset(c, 0, sizeof(*c));
	c->state = C_SIZE;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * RFC 9112 7.1.1: chunk-size [ chunk-ext ] CRLF, with
 * chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ]).
 * The state after ch, from the state after the size's digits; -1 when ch
 * cannot come there (whitespace not before ";", a ";" with no name, text
 * that is not a token, an unterminated quoted-string).
 */
static int
chunk_ext(int state, char ch)
{
	bool	ws = ch == ' ' || ch == '\t', tc = http_token(&ch, 1);

	switch (state) {
	case C_SIZE:
	case C_SIZE_WS:
		return ch == '\r' && state == C_SIZE ? C_SIZE_LF : ws ?
		    C_SIZE_WS : ch == ';' ? C_EXT_NAME0 : -1;
	case C_EXT_NAME0:
		return ws ? C_EXT_NAME0 : tc ? C_EXT_NAME : -1;
	case C_EXT_NAME:
	case C_EXT_NAME_WS:
		if (tc && state == C_EXT_NAME)
			return C_EXT_NAME;
		if (ch == '\r' && state == C_EXT_NAME)
			return C_SIZE_LF;
		return ws ? C_EXT_NAME_WS : ch == '=' ? C_EXT_VALUE0 :
		    ch == ';' ? C_EXT_NAME0 : -1;
	case C_EXT_VALUE0:
		return ws ? C_EXT_VALUE0 : ch == '"' ? C_EXT_QUOTED : tc ?
		    C_EXT_TOKEN : -1;
	case C_EXT_TOKEN:
	case C_EXT_QEND:
	case C_EXT_VALUE_WS:
		if (tc && state == C_EXT_TOKEN)
			return C_EXT_TOKEN;
		if (ch == '\r' && state != C_EXT_VALUE_WS)
			return C_SIZE_LF;
		return ws ? C_EXT_VALUE_WS : ch == ';' ? C_EXT_NAME0 : -1;
	case C_EXT_QUOTED:
		/* qdtext: HTAB, SP, VCHAR but '"' and '\\', obs-text. */
		if (ch == '"')
			return C_EXT_QEND;
		if (ch == '\\')
			return C_EXT_QPAIR;
		return http_text(&ch, 1) ? C_EXT_QUOTED : -1;
	case C_EXT_QPAIR:
		return http_text(&ch, 1) ? C_EXT_QUOTED : -1;
	default:
		return -1;
	}
}

/*
 * Decodes in[0..len): *used bytes of it are consumed, *made bytes of body
 * written to out (at most cap).  c->done at the end of the trailers.
 * Extensions are checked against their grammar and skipped, trailers are
 * checked as field lines and dropped: WSGI has no place for them.
 */
int
http_chunked_decode(struct http_chunked *c, const char *in, size_t len,
    size_t *used, char *out, size_t cap, size_t *made)
{
	size_t	i = 0, k;
	int	h;
	char	ch;

	*made = 0;
	while (i < len && c->state != C_DONE) {
		ch = in[i];
		switch (c->state) {
		case C_SIZE:
			if ((h = hexval(ch)) >= 0) {
				if (++c->digits > 15)
					return HTTP_CHUNK_EBAD;
				c->left = c->left * 16 + (unsigned)h;
				i++;
				break;
			}
			if (c->digits == 0)
				return HTTP_CHUNK_EBAD;
			/* FALLTHROUGH */
		default:
			if (c->state != C_SIZE && c->state < C_SIZE_LF &&
			    ++c->line > HTTP_CHUNK_LINE_MAX)
				return HTTP_CHUNK_EBAD;
			if ((c->state = chunk_ext(c->state, ch)) < 0)
				return HTTP_CHUNK_EBAD;
			i++;
			break;
		case C_SIZE_LF:
			if (ch != '\n')
				return HTTP_CHUNK_EBAD;
			i++;
			c->line = 0;
			c->digits = 0;
			c->state = c->left == 0 ? C_TRAILER : C_DATA;
			break;
		case C_DATA:
			k = len - i;
			if (k > c->left)
				k = (size_t)c->left;
			if (k > cap - *made)
				k = cap - *made;
			if (k == 0)
				goto out;	/* out is full */
			memcpy(out + *made, in + i, k);
			*made += k;
			i += k;
			c->left -= k;
			if (c->left == 0)
				c->state = C_DATA_CR;
			break;
		case C_DATA_CR:
			if (ch != '\r')
				return HTTP_CHUNK_EBAD;
			c->state = C_DATA_LF;
			i++;
			break;
		case C_DATA_LF:
			if (ch != '\n')
				return HTTP_CHUNK_EBAD;
			c->state = C_SIZE;
			i++;
			break;
		case C_TRAILER:
			if (ch == '\r') {
				c->state = C_TRAILER_LF;
				i++;
				break;
			}
			/* A field line: no obs-fold, no CTL; colon checked
			 * loosely, since it is dropped. */
			if ((c->line == 0 && (ch == ' ' || ch == '\t')) ||
			    !http_text(&ch, 1) ||
			    ++c->line > HTTP_CHUNK_LINE_MAX ||
			    ++c->trailer > HTTP_TRAILER_MAX)
				return HTTP_CHUNK_EBAD;
			i++;
			break;
		case C_TRAILER_LF:
			if (ch != '\n')
				return HTTP_CHUNK_EBAD;
			i++;
			c->state = c->line == 0 ? C_DONE : C_TRAILER;
			c->line = 0;
			break;
		}
	}
out:
	*used = i;
	c->done = c->state == C_DONE;
	return HTTP_CHUNK_OK;
}

/* %XX decoded into out (as many bytes or fewer); others as they are. */
static size_t
pct_decode(const char *s, size_t n, char *out)
{
	size_t	i, o = 0;
	int	a, b;

	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n &&
		    (a = hexval(s[i + 1])) >= 0 && (b = hexval(s[i + 2])) >= 0) {
			out[o++] = (char)(a * 16 + b);
			i += 2;
		} else
			out[o++] = s[i];
	}
	return o;
}

/* HTTP_NAME=value: a field as CGI names it (RFC 3875 4.1.18). */
static int
add_http(struct params *p, const struct http_field *f,
    const struct http_req *r, int *perr)
{
	char		 name[5 + 256], *val;
	size_t		 i, vlen = f->vlen, j;
	int		 e;

	if (f->nlen > 256)
		return PARAMS_OK;	/* no CGI server passes such a name */
	/*
	 * A name with '_' would meet the one with '-' (X_User, X-User):
	 * dropped, as nginx and gunicorn do, so that a client cannot
	 * forge what the proxy set.  Framing fields are ours, not the
	 * application's.
	 */
	if (memchr(f->name, '_', f->nlen) != NULL ||
	    http_caseeq(f->name, f->nlen, "content-length") ||
	    http_caseeq(f->name, f->nlen, "content-type") ||
	    http_caseeq(f->name, f->nlen, "transfer-encoding"))
		return PARAMS_OK;
	memcpy(name, "HTTP_", 5);
	for (i = 0; i < f->nlen; i++) {
		char	c = f->name[i];

		if (c == '-')
			c = '_';
		else if (c >= 'a' && c <= 'z')
			c = (char)(c - ('a' - 'A'));
		name[5 + i] = c;
	}
	/* Repeats are joined, as one list (RFC 9110 5.3); Cookie by ";". */
	for (j = 0; j < p->count; j++)
		if (strncmp(p->envp[j], name, 5 + f->nlen) == 0 &&
		    p->envp[j][5 + f->nlen] == '=')
			return PARAMS_OK;	/* joined when first seen */
	for (j = (size_t)(f - r->fields) + 1; j < r->nfields; j++)
		if (r->fields[j].nlen == f->nlen &&
		    strncasecmp(r->fields[j].name, f->name, f->nlen) == 0)
			vlen += 2 + r->fields[j].vlen;
	if (vlen == f->vlen)
		e = params_add(p, name, 5 + f->nlen, f->value, f->vlen);
	else {
		bool	cookie = http_caseeq(f->name, f->nlen, "cookie");
		size_t	o = 0;

		if ((val = malloc(vlen)) == NULL)
			return PARAMS_ENOMEM;
		memcpy(val, f->value, f->vlen);
		o = f->vlen;
		for (j = (size_t)(f - r->fields) + 1; j < r->nfields; j++)
			if (r->fields[j].nlen == f->nlen &&
			    strncasecmp(r->fields[j].name, f->name,
			    f->nlen) == 0) {
				val[o++] = cookie ? ';' : ',';
				val[o++] = ' ';
				memcpy(val + o, r->fields[j].value,
				    r->fields[j].vlen);
				o += r->fields[j].vlen;
			}
		e = params_add(p, name, 5 + f->nlen, val, o);
		free(val);
	}
	if (e != PARAMS_OK)
		*perr = e;
	return e;
}

/*
 * SERVER_NAME and SERVER_PORT: host[:port] ([v6] kept whole), or with no
 * host the listening socket's.
 */
static int
add_server(struct params *p, const char *host, size_t hlen,
    const struct http_where *w)
{
	const char	*colon;
	int		 e;

	if (host == NULL || hlen == 0) {
		if ((e = params_add(p, "SERVER_NAME", 11, w->server_addr,
		    strlen(w->server_addr))) != PARAMS_OK)
			return e;
		return params_add(p, "SERVER_PORT", 11, w->server_port,
		    strlen(w->server_port));
	}
	colon = host[0] == '[' ? memchr(host, ']', hlen) : host;
	if (colon != NULL)
		colon = memchr(colon, ':', hlen - (size_t)(colon - host));
	if ((e = params_add(p, "SERVER_NAME", 11, host, colon != NULL ?
	    (size_t)(colon - host) : hlen)) != PARAMS_OK)
		return e;
	if (colon != NULL && colon + 1 < host + hlen)
		return params_add(p, "SERVER_PORT", 11, colon + 1,
		    hlen - (size_t)(colon + 1 - host));
	return params_add(p, "SERVER_PORT", 11, w->https ? "443" : "80",
	    w->https ? 3 : 2);
}

/*
 * The request's CGI variables, as a server sets them for a script at the
 * root (PEP 3333, RFC 3875): SCRIPT_NAME empty, PATH_INFO the decoded
 * path, QUERY_STRING raw, REQUEST_URI the target; SERVER_NAME and
 * SERVER_PORT from an absolute target's authority, else from Host, else
 * the listening address.  0, or -1 with
 * *perr a params_err.
 */
int
http_req_env(const struct http_req *r, const struct http_where *w,
    struct params *p, int *perr)
{
	const char	*path = r->target, *q, *host = NULL, *a;
	size_t		 plen = r->tlen, hlen = 0, i;
	bool		 query = false, absolute;
	char		*dec = NULL, proto[16];
	int		 e;

#define ADD(n, v, l) do {						\
	if ((e = params_add(p, n, sizeof(n) - 1, v, l)) != PARAMS_OK)	\
		goto fail;						\
} while (0)
	*perr = PARAMS_OK;
	absolute = path[0] != '/' && path[0] != '*';
	/* absolute-form: what follows the authority ("" is "/"). */
	if (absolute) {
		a = (const char *)memchr(path, ':', r->tlen) + 3;
		for (path = a; path < r->target + r->tlen && *path != '/' &&
		    *path != '?'; path++)
			;
		plen = r->tlen - (size_t)(path - r->target);
	}
	if ((q = memchr(path, '?', plen)) == NULL)
		q = path + plen;
	else
		query = true;
	ADD("REQUEST_METHOD", r->method, r->mlen);
	ADD("SCRIPT_NAME", "", 0);
	if ((dec = malloc((size_t)(q - path) + 1)) == NULL) {
		e = PARAMS_ENOMEM;
		goto fail;
	}
	if (q == path)
		ADD("PATH_INFO", "/", 1);
	else
		ADD("PATH_INFO", dec, path[0] == '*' ? 0 :
		    pct_decode(path, (size_t)(q - path), dec));
	ADD("QUERY_STRING", query ? q + 1 : "",
	    query ? (size_t)(path + plen - q - 1) : 0);
	ADD("REQUEST_URI", r->target, r->tlen);
	(void)snprintf(proto, sizeof(proto), "HTTP/1.%u",
	    r->version_high ? 1 : r->minor);
	ADD("SERVER_PROTOCOL", proto, strlen(proto));
	ADD("GATEWAY_INTERFACE", "CGI/1.1", 7);
	/* RFC 9112 3.2.2: the absolute form's authority, not Host. */
	if (absolute) {
		if (authority(r, &host, &hlen) < 0) {
			e = PARAMS_EVALUE;	/* framing() refused it first */
			goto fail;
		}
		ADD("HTTP_HOST", host, hlen);
	}
	for (i = 0; i < r->nfields; i++) {
		const struct http_field *f = &r->fields[i];

		if (http_caseeq(f->name, f->nlen, "host") && host == NULL) {
			host = f->value;
			hlen = f->vlen;
		} else if (http_caseeq(f->name, f->nlen, "content-type"))
			ADD("CONTENT_TYPE", f->value, f->vlen);
	}
	if (r->has_length) {
		char	n[24];

		(void)snprintf(n, sizeof(n), "%llu",
		    (unsigned long long)r->content_length);
		ADD("CONTENT_LENGTH", n, strlen(n));
	}
	if ((e = add_server(p, host, hlen, w)) != PARAMS_OK)
		goto fail;
	if (w->remote_addr != NULL)
		ADD("REMOTE_ADDR", w->remote_addr, strlen(w->remote_addr));
	if (w->remote_port != NULL)
		ADD("REMOTE_PORT", w->remote_port, strlen(w->remote_port));
	if (w->https)
		ADD("HTTPS", "on", 2);
	for (i = 0; i < r->nfields; i++)
		if (!(absolute && http_caseeq(r->fields[i].name,
		    r->fields[i].nlen, "host")) &&
		    (e = add_http(p, &r->fields[i], r, perr)) != PARAMS_OK)
			goto fail;
	free(dec);
	return 0;
fail:
#undef ADD
	free(dec);
	*perr = e;
	return -1;
}
