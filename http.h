/*
 * HTTP byte classes (RFC 9110) and the decimal length, shared by the
 * environment parser and the response writer.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#ifndef HTTP_H
#define HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool	http_token(const char *, size_t);
bool	http_text(const char *, size_t);
bool	http_caseeq(const char *, size_t, const char *);
bool	http_length(const char *, size_t, uint64_t *);

#endif /* HTTP_H */
