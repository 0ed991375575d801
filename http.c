/*
 * HTTP byte classes, table-driven: tokens (RFC 9110 5.6.2) and field text
 * (5.5: visible characters, obs-text, SP and HTAB; no other control).
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

#define TCHAR	0x01
#define TEXT	0x02
#define BOTH	(TCHAR | TEXT)

/* Indexed by byte: what each may be part of. */
static const unsigned char ctype[256] = {
	['\t'] = TEXT, [' '] = TEXT,
	['!'] = BOTH, ['"'] = TEXT, ['#'] = BOTH, ['$'] = BOTH, ['%'] = BOTH,
	['&'] = BOTH, ['\''] = BOTH, ['('] = TEXT, [')'] = TEXT, ['*'] = BOTH,
	['+'] = BOTH, [','] = TEXT, ['-'] = BOTH, ['.'] = BOTH, ['/'] = TEXT,
	['0'] = BOTH, ['1'] = BOTH, ['2'] = BOTH, ['3'] = BOTH, ['4'] = BOTH,
	['5'] = BOTH, ['6'] = BOTH, ['7'] = BOTH, ['8'] = BOTH, ['9'] = BOTH,
	[':'] = TEXT, [';'] = TEXT, ['<'] = TEXT, ['='] = TEXT, ['>'] = TEXT,
	['?'] = TEXT, ['@'] = TEXT,
	['A'] = BOTH, ['B'] = BOTH, ['C'] = BOTH, ['D'] = BOTH, ['E'] = BOTH,
	['F'] = BOTH, ['G'] = BOTH, ['H'] = BOTH, ['I'] = BOTH, ['J'] = BOTH,
	['K'] = BOTH, ['L'] = BOTH, ['M'] = BOTH, ['N'] = BOTH, ['O'] = BOTH,
	['P'] = BOTH, ['Q'] = BOTH, ['R'] = BOTH, ['S'] = BOTH, ['T'] = BOTH,
	['U'] = BOTH, ['V'] = BOTH, ['W'] = BOTH, ['X'] = BOTH, ['Y'] = BOTH,
	['Z'] = BOTH,
	['['] = TEXT, ['\\'] = TEXT, [']'] = TEXT, ['^'] = BOTH, ['_'] = BOTH,
	['`'] = BOTH,
	['a'] = BOTH, ['b'] = BOTH, ['c'] = BOTH, ['d'] = BOTH, ['e'] = BOTH,
	['f'] = BOTH, ['g'] = BOTH, ['h'] = BOTH, ['i'] = BOTH, ['j'] = BOTH,
	['k'] = BOTH, ['l'] = BOTH, ['m'] = BOTH, ['n'] = BOTH, ['o'] = BOTH,
	['p'] = BOTH, ['q'] = BOTH, ['r'] = BOTH, ['s'] = BOTH, ['t'] = BOTH,
	['u'] = BOTH, ['v'] = BOTH, ['w'] = BOTH, ['x'] = BOTH, ['y'] = BOTH,
	['z'] = BOTH,
	['{'] = TEXT, ['|'] = BOTH, ['}'] = TEXT, ['~'] = BOTH,
	[0x80] = TEXT, [0x81] = TEXT, [0x82] = TEXT, [0x83] = TEXT,
	[0x84] = TEXT, [0x85] = TEXT, [0x86] = TEXT, [0x87] = TEXT,
	[0x88] = TEXT, [0x89] = TEXT, [0x8a] = TEXT, [0x8b] = TEXT,
	[0x8c] = TEXT, [0x8d] = TEXT, [0x8e] = TEXT, [0x8f] = TEXT,
	[0x90] = TEXT, [0x91] = TEXT, [0x92] = TEXT, [0x93] = TEXT,
	[0x94] = TEXT, [0x95] = TEXT, [0x96] = TEXT, [0x97] = TEXT,
	[0x98] = TEXT, [0x99] = TEXT, [0x9a] = TEXT, [0x9b] = TEXT,
	[0x9c] = TEXT, [0x9d] = TEXT, [0x9e] = TEXT, [0x9f] = TEXT,
	[0xa0] = TEXT, [0xa1] = TEXT, [0xa2] = TEXT, [0xa3] = TEXT,
	[0xa4] = TEXT, [0xa5] = TEXT, [0xa6] = TEXT, [0xa7] = TEXT,
	[0xa8] = TEXT, [0xa9] = TEXT, [0xaa] = TEXT, [0xab] = TEXT,
	[0xac] = TEXT, [0xad] = TEXT, [0xae] = TEXT, [0xaf] = TEXT,
	[0xb0] = TEXT, [0xb1] = TEXT, [0xb2] = TEXT, [0xb3] = TEXT,
	[0xb4] = TEXT, [0xb5] = TEXT, [0xb6] = TEXT, [0xb7] = TEXT,
	[0xb8] = TEXT, [0xb9] = TEXT, [0xba] = TEXT, [0xbb] = TEXT,
	[0xbc] = TEXT, [0xbd] = TEXT, [0xbe] = TEXT, [0xbf] = TEXT,
	[0xc0] = TEXT, [0xc1] = TEXT, [0xc2] = TEXT, [0xc3] = TEXT,
	[0xc4] = TEXT, [0xc5] = TEXT, [0xc6] = TEXT, [0xc7] = TEXT,
	[0xc8] = TEXT, [0xc9] = TEXT, [0xca] = TEXT, [0xcb] = TEXT,
	[0xcc] = TEXT, [0xcd] = TEXT, [0xce] = TEXT, [0xcf] = TEXT,
	[0xd0] = TEXT, [0xd1] = TEXT, [0xd2] = TEXT, [0xd3] = TEXT,
	[0xd4] = TEXT, [0xd5] = TEXT, [0xd6] = TEXT, [0xd7] = TEXT,
	[0xd8] = TEXT, [0xd9] = TEXT, [0xda] = TEXT, [0xdb] = TEXT,
	[0xdc] = TEXT, [0xdd] = TEXT, [0xde] = TEXT, [0xdf] = TEXT,
	[0xe0] = TEXT, [0xe1] = TEXT, [0xe2] = TEXT, [0xe3] = TEXT,
	[0xe4] = TEXT, [0xe5] = TEXT, [0xe6] = TEXT, [0xe7] = TEXT,
	[0xe8] = TEXT, [0xe9] = TEXT, [0xea] = TEXT, [0xeb] = TEXT,
	[0xec] = TEXT, [0xed] = TEXT, [0xee] = TEXT, [0xef] = TEXT,
	[0xf0] = TEXT, [0xf1] = TEXT, [0xf2] = TEXT, [0xf3] = TEXT,
	[0xf4] = TEXT, [0xf5] = TEXT, [0xf6] = TEXT, [0xf7] = TEXT,
	[0xf8] = TEXT, [0xf9] = TEXT, [0xfa] = TEXT, [0xfb] = TEXT,
	[0xfc] = TEXT, [0xfd] = TEXT, [0xfe] = TEXT, [0xff] = TEXT,
};

/* 1*tchar. */
bool
http_token(const char *s, size_t len)
{
	size_t	i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		if ((ctype[(unsigned char)s[i]] & TCHAR) == 0)
			return false;
	return true;
}

/* Field text: a NUL, CR or LF anywhere makes it false. */
bool
http_text(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if ((ctype[(unsigned char)s[i]] & TEXT) == 0)
			return false;
	return true;
}

/* s[0..len) equals lower, ignoring ASCII case. */
bool
http_caseeq(const char *s, size_t len, const char *lower)
{
	size_t	i;
	char	c;

	for (i = 0; i < len; i++) {
		c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != lower[i] || lower[i] == '\0')
			return false;
	}
	return lower[len] == '\0';
}

/*
 * A Content-Length (RFC 9110 8.6) or CONTENT_LENGTH (RFC 3875 4.1.2):
 * 1*DIGIT, at most UINT64_MAX; no sign, blank, underscore or empty string.
 */
bool
http_length(const char *s, size_t len, uint64_t *out)
{
	uint64_t	n = 0;
	unsigned	d;
	size_t		i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (unsigned)(s[i] - '0');
		if (n > (UINT64_MAX - d) / 10)
			return false;
		n = n * 10 + d;
	}
	*out = n;
	return true;
}
