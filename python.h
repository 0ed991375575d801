/*
 * The embedded interpreter: start, end, fork, and warm start's needs.
 * SPDX-License-Identifier: MIT
 */
#ifndef PYTHON_H
#define PYTHON_H

#ifndef PY_SSIZE_T_CLEAN
#define PY_SSIZE_T_CLEAN
#endif
#include <Python.h>

#include <stdbool.h>
#include <stddef.h>

enum py_mode {
	PY_CGI,		/* buffered stdio: the response's pipe */
	PY_SERVER,	/* unbuffered stdio: a log */
	PY_WARM		/* a warm backend: as CGI */
};

enum py_fork {
	PY_FORK_BEFORE,
	PY_FORK_PARENT,
	PY_FORK_CHILD
};

/* Where packages come from: --python-path, --venv. */
struct py_site {
	const char		*venv;
	const char *const	*paths;
	size_t			 npaths;
};

int		 py_start(const char *, const char *, int, char *[],
		    const struct py_site *, enum py_mode);
int		 py_end(int);
int		 py_stop(int);
void		 py_fork(int);
Py_ssize_t	 py_modules_count(void);
int		 py_modules_save(int, const char *);
int		 py_modules_load(int, const char *);
int		 py_module_files(void (*)(void *, const char *), void *);
int		 py_environ_set(char **);
int		 py_argv_set(const char *);
void		 py_exc_line(char *, size_t);
void		 py_stack(PyThreadState *, char *, size_t);

#endif /* PYTHON_H */
