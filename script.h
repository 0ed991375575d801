/*
 * Loading the WSGI script and finding its application.
 * SPDX-License-Identifier: MIT
 */
#ifndef SCRIPT_H
#define SCRIPT_H

#include <stdbool.h>
#include <stddef.h>

PyObject	*script_load(const char *, const char *, bool, char *, size_t,
		    bool *);

#endif /* SCRIPT_H */
