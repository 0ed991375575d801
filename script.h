/*
 * Loading the WSGI script and finding its application.
 * SPDX-License-Identifier: MIT
 */
#ifndef SCRIPT_H
#define SCRIPT_H

#ifndef PY_SSIZE_T_CLEAN
#define PY_SSIZE_T_CLEAN
#endif
#include <Python.h>

#include <stdbool.h>
#include <stddef.h>

PyObject	*script_load(const char *, const char *, bool, char *, size_t,
		    bool *);
int		 script_path_first(const char *);
int		 script_private_dir(bool);
const char	*script_private_path(void);

#endif /* SCRIPT_H */
