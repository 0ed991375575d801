/*
 * PEP 3333's environ: the request's CGI variables and the process's
 * environment, decoded as PEP 3333 says, and the wsgi.* keys, made once
 * and interned.
 * SPDX-License-Identifier: MIT
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdbool.h>
#include <string.h>

#include "cgi_env.h"

#include "response.h"
#include "wsgi.h"
#include "wsgi_req.h"

enum wsgi_key {
	W_VERSION,
	W_URL_SCHEME,
	W_INPUT,
	W_ERRORS,
	W_MULTITHREAD,
	W_MULTIPROCESS,
	W_RUN_ONCE,
	W_FILE_WRAPPER,
	W_INPUT_TERMINATED,
	W_COUNT
};

static int	 wsgi_keys(void);
static int	 key_set(PyObject *, enum wsgi_key, PyObject *);
static int	 env_set(PyObject *, const char *, PyObject *);
static PyObject	*env_value(const char *, size_t, const char *);

static const char *const key_text[W_COUNT] = {
	[W_VERSION] = "wsgi.version",
	[W_URL_SCHEME] = "wsgi.url_scheme",
	[W_INPUT] = "wsgi.input",
	[W_ERRORS] = "wsgi.errors",
	[W_MULTITHREAD] = "wsgi.multithread",
	[W_MULTIPROCESS] = "wsgi.multiprocess",
	[W_RUN_ONCE] = "wsgi.run_once",
	[W_FILE_WRAPPER] = "wsgi.file_wrapper",
	[W_INPUT_TERMINATED] = "wsgi.input_terminated",
};

/* Owned by this file for the process's life (wsgi_keys()). */
static PyObject	*keys[W_COUNT], *version, *scheme_http, *scheme_https;

/*
 * The wsgi.* keys and their constant values, made once per process (a
 * server mode builds an environ per request) and interned, so that the
 * application's own lookups compare pointers.
 */
static int
wsgi_keys(void)
{
	size_t	i;

	if (version != NULL)
		return 0;
	for (i = 0; i < W_COUNT; i++)
		if ((keys[i] = PyUnicode_InternFromString(key_text[i])) == NULL)
			return -1;
	if ((scheme_http = PyUnicode_InternFromString("http")) == NULL ||
	    (scheme_https = PyUnicode_InternFromString("https")) == NULL ||
	    (version = Py_BuildValue("(ii)", 1, 0)) == NULL)
		return -1;
	return 0;
}

/* Stores v (a new reference, stolen; NULL means it failed) under keys[k]. */
static int
key_set(PyObject *d, enum wsgi_key k, PyObject *v)
{
	int	rc;

	if (v == NULL)
		return -1;
	rc = PyDict_SetItem(d, keys[k], v);
	Py_DECREF(v);
	return rc;
}

/* Stores v (a new reference, stolen; NULL means it failed) under key. */
static int
env_set(PyObject *d, const char *key, PyObject *v)
{
	int	rc;

	if (v == NULL)
		return -1;
	rc = PyDict_SetItemString(d, key, v);
	Py_DECREF(v);
	return rc;
}

/*
 * A variable's value as environ holds it: request data as its bytes in
 * latin-1 (PEP 3333), the rest as Python decodes os.environ.
 */
static PyObject *
env_value(const char *name, size_t len, const char *value)
{
	if (cgi_env_is_request_var(name, len))
		return PyUnicode_DecodeLatin1(value, (Py_ssize_t)strlen(value),
		    NULL);
	return PyUnicode_DecodeFSDefault(value);
}

/*
 * Every variable of the request (the process environment under CGI; the
 * first of a name wins), the request's ones as bytes-in-str (PEP 3333), then
 * the shell defaults and the wsgi.* keys.  input and errors (NULL:
 * sys.stderr) are borrowed.
 */
PyObject *
wsgi_environ(const struct wsgi_call *call, PyObject *input, PyObject *errors)
{
	char *const			*envp = call->envp;
	const struct cgi_request	*req = call->req;
	PyObject	*d = NULL, *key = NULL, *val = NULL, *result = NULL;
	const char	*eq;
	size_t		 i;

	if ((d = PyDict_New()) == NULL)
		goto out;
	for (i = 0; envp[i] != NULL; i++) {
		if ((eq = strchr(envp[i], '=')) == NULL)
			continue;
		key = PyUnicode_DecodeFSDefaultAndSize(envp[i],
		    eq - envp[i]);
		if (key == NULL)
			goto out;
		val = env_value(envp[i], (size_t)(eq - envp[i]), eq + 1);
		if (val == NULL || PyDict_SetDefault(d, key, val) == NULL)
			goto out;
		Py_CLEAR(key);
		Py_CLEAR(val);
	}
	for (i = 0; i < req->ndefaults; i++)
		if (env_set(d, req->defaults[i].name,
		    env_value(req->defaults[i].name,
		    strlen(req->defaults[i].name), req->defaults[i].value)) < 0)
			goto out;
	if (errors == NULL &&
	    (errors = PySys_GetObject("stderr")) == NULL)	/* borrowed */
		errors = Py_None;
	/* Each new reference is taken where env_set() steals it. */
	if (wsgi_keys() < 0 ||
	    key_set(d, W_VERSION, Py_NewRef(version)) < 0 ||
	    key_set(d, W_URL_SCHEME, Py_NewRef(req->https ? scheme_https :
	    scheme_http)) < 0 ||
	    key_set(d, W_INPUT, Py_NewRef(input)) < 0 ||
	    key_set(d, W_ERRORS, Py_NewRef(errors)) < 0 ||
	    key_set(d, W_MULTITHREAD, PyBool_FromLong(call->multithread)) <
	    0 ||
	    key_set(d, W_MULTIPROCESS, PyBool_FromLong(call->multiprocess)) <
	    0 ||
	    key_set(d, W_RUN_ONCE, PyBool_FromLong(call->run_once)) < 0 ||
	    key_set(d, W_FILE_WRAPPER,
	    Py_NewRef((PyObject *)&FileWrapperType)) < 0 ||
	    key_set(d, W_INPUT_TERMINATED, PyBool_FromLong(1)) < 0)
		goto out;
	result = d;
	d = NULL;
out:
	Py_XDECREF(d);
	Py_XDECREF(key);
	Py_XDECREF(val);
	return result;
}
