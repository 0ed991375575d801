/*
 * The embedded interpreter: its start (isolated, with the options' paths),
 * its end, forks through PyOS_*Fork, and what warm start needs of it.
 * SPDX-License-Identifier: MIT
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "python.h"

#ifndef PYTHON_EXE
#define PYTHON_EXE		"/usr/bin/python3"
#endif
#ifndef PYTHON_PREFIX
#define PYTHON_PREFIX		"/usr"
#endif

#define EXIT_FAILED	1
#define ARGV_MAX	32
#define LIST_MAX	(1u << 20)	/* bytes of a module list */
#define PYVER		Py_STRINGIFY(PY_MAJOR_VERSION) "." \
			    Py_STRINGIFY(PY_MINOR_VERSION)
#define SCRIPT_MODULE	"_wsgi_cgi_script"
#define REASON_LINE	1024

static int	 path_add(PyObject *, const char *, Py_ssize_t);
static int	 add_site_dirs(const struct py_site *);
static int	 use_venv(const char *, bool *);
static bool	 module_name(const char *);
#ifndef WSGI_CGI_SANITIZE
static void	 py_finish(void);
#endif

/*
 * An isolated interpreter (no PYTHON* variables, no user site, no argv
 * parsing) whose sys.executable is the real Python; site is not run, its
 * package directories are added directly.
 */
int
py_start(const char *script, const char *label, int nwords, char *words[],
    const struct py_site *o, enum py_mode mode)
{
	PyPreConfig	 pre;
	PyConfig	 c;
	PyStatus	 st;
	char		*argv[ARGV_MAX + 1], line[REASON_LINE];
	int		 i, n = 0;

	PyPreConfig_InitIsolatedConfig(&pre);
	pre.utf8_mode = 1;
#ifdef WSGI_CGI_SANITIZE
	/* Python objects from malloc, so ASan sees a reference misused. */
	pre.allocator = PYMEM_ALLOCATOR_MALLOC;
#endif
	st = Py_PreInitialize(&pre);
	if (PyStatus_Exception(st))
		goto fail;
	PyConfig_InitIsolatedConfig(&c);
	c.site_import = 0;
	c.parse_argv = 0;
	/* SIGPIPE is ignored already; Python's handlers cost 2% a request. */
	c.install_signal_handlers = 0;
	/* A server mode's print() reaches its log at once, not a page later. */
	if (mode == PY_SERVER)
		c.buffered_stdio = 0;
	argv[n++] = (char *)(uintptr_t)script;
	for (i = 0; i < nwords && n < ARGV_MAX; i++)
		argv[n++] = words[i];
	st = PyConfig_SetBytesString(&c, &c.program_name, PYTHON_EXE);
	if (!PyStatus_Exception(st))
		st = PyConfig_SetBytesString(&c, &c.executable, PYTHON_EXE);
	if (!PyStatus_Exception(st))
		st = PyConfig_SetBytesArgv(&c, n, argv);
	if (!PyStatus_Exception(st))
		st = Py_InitializeFromConfig(&c);
	PyConfig_Clear(&c);
	if (PyStatus_Exception(st))
		goto fail;
	if (add_site_dirs(o) < 0) {
		py_exc_line(line, sizeof(line));
		warnx("%s: cannot start Python: %s", label, line);
		return -1;
	}
	return 0;
fail:
	warnx("cannot start Python: %s%s%s", st.func ? st.func : "",
	    st.func ? ": " : "", st.err_msg ? st.err_msg : "failed");
	return -1;
}

/* dir on sys.path at index at (-1: the end), when it is a directory. */
static int
path_add(PyObject *path, const char *dir, Py_ssize_t at)
{
	PyObject	*d;
	struct stat	 st;
	int		 rc;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	if ((d = PyUnicode_DecodeFSDefault(dir)) == NULL)
		return -1;
	rc = at < 0 ? PyList_Append(path, d) : PyList_Insert(path, at, d);
	Py_DECREF(d);
	return rc;
}

/*
 * --python-path directories first (before the standard library, as
 * PYTHONPATH's are); then a virtual environment's packages, then what
 * Debian's site.py appends (dist-packages in /usr/local and /usr), unless
 * the environment excludes the system's, for a fraction of site's cost.
 */
static int
add_site_dirs(const struct py_site *o)
{
	static const char *const dirs[] = {
		PYTHON_PREFIX "/local/lib/python" PYVER "/dist-packages",
		PYTHON_PREFIX "/lib/python3/dist-packages",
		PYTHON_PREFIX "/lib/python" PYVER "/dist-packages",
		PYTHON_PREFIX "/lib/python" PYVER "/site-packages",
	};
	PyObject	*path;
	bool		 system = true;
	size_t		 i;

	if ((path = PySys_GetObject("path")) == NULL)		/* borrowed */
		return -1;
	for (i = 0; i < o->npaths; i++)
		if (path_add(path, o->paths[i], (Py_ssize_t)i) < 0)
			return -1;
	if (o->venv != NULL && use_venv(o->venv, &system) < 0)
		return -1;
	for (i = 0; system && i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (path_add(path, dirs[i], -1) < 0)
			return -1;
	return 0;
}

/*
 * What the environment's own python does: its site-packages with their
 * .pth files (site.addsitedir, as pip install -e needs), sys.prefix and
 * sys.executable in it, and the system's packages only when pyvenv.cfg
 * says include-system-site-packages = true (*system).
 */
static int
use_venv(const char *venv, bool *system)
{
	PyObject	*site = NULL, *r = NULL, *v = NULL;
	char		 dir[PATH_MAX], line[PATH_MAX], *k;
	struct stat	 st;
	FILE		*f;
	int		 n, rc = -1;

	*system = false;
	n = snprintf(dir, sizeof(dir), "%s/pyvenv.cfg", venv);
	if (n > 0 && (size_t)n < sizeof(dir) &&
	    (f = fopen(dir, "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			k = line + strspn(line, " \t");
			if (strncmp(k, "include-system-site-packages", 28) != 0)
				continue;
			k += 28 + strspn(k + 28, " \t=");
			*system = strncasecmp(k, "true", 4) == 0;
		}
		(void)fclose(f);
	}
	n = snprintf(dir, sizeof(dir), "%s/lib/python" PYVER "/site-packages",
	    venv);
	if (n < 0 || (size_t)n >= sizeof(dir) || stat(dir, &st) < 0 ||
	    !S_ISDIR(st.st_mode)) {
		PyErr_Format(PyExc_FileNotFoundError, "--venv %s: no "
		    "lib/python" PYVER "/site-packages in it", venv);
		return -1;
	}
	if ((site = PyImport_ImportModule("site")) == NULL ||
	    (r = PyObject_CallMethod(site, "addsitedir", "s", dir)) == NULL ||
	    (v = PyUnicode_DecodeFSDefault(venv)) == NULL ||
	    PySys_SetObject("prefix", v) < 0 ||
	    PySys_SetObject("exec_prefix", v) < 0)
		goto out;
	n = snprintf(line, sizeof(line), "%s/bin/python", venv);
	if (n > 0 && (size_t)n < sizeof(line) && access(line, X_OK) == 0) {
		Py_CLEAR(v);
		if ((v = PyUnicode_DecodeFSDefault(line)) == NULL ||
		    PySys_SetObject("executable", v) < 0)
			goto out;
	}
	rc = 0;
out:
	Py_XDECREF(site);
	Py_XDECREF(r);
	Py_XDECREF(v);
	return rc;
}

/*
 * The response is already closed.  What Py_FinalizeEx does that an
 * application can see (non-daemon threads joined, atexit handlers run,
 * streams flushed) is done; returns the exit status.  The sanitizer build
 * (WSGI_CGI_SANITIZE) finalizes in full instead, so that leaks can be
 * checked.
 */
int
py_end(int rc)
{
	if (!Py_IsInitialized())
		return rc;
#ifdef WSGI_CGI_SANITIZE
	return Py_FinalizeEx() < 0 && rc == 0 ? EXIT_FAILED : rc;
#else
	py_finish();
	return rc;
#endif
}

/* py_end(), then the process ends without tearing the interpreter down. */
int
py_stop(int rc)
{
	if (!Py_IsInitialized())
		return rc;
#ifdef WSGI_CGI_SANITIZE
	return py_end(rc);
#else
	_exit(py_end(rc));
#endif
}

#ifndef WSGI_CGI_SANITIZE
/* Threads joined, atexit handlers run, streams flushed, as at exit. */
static void
py_finish(void)
{
	PyObject	*mod, *r;
	const char	*streams[] = { "stdout", "stderr" };
	size_t		 i;

	mod = PyDict_GetItemString(PyImport_GetModuleDict(), "threading");
	if (mod != NULL) {					/* borrowed */
		r = PyObject_CallMethod(mod, "_shutdown", NULL);
		Py_XDECREF(r);
		PyErr_Clear();
	}
	if ((mod = PyImport_ImportModule("atexit")) != NULL) {
		r = PyObject_CallMethod(mod, "_run_exitfuncs", NULL);
		Py_XDECREF(r);
		Py_DECREF(mod);
	}
	PyErr_Clear();
	for (i = 0; i < sizeof(streams) / sizeof(streams[0]); i++)
		if ((mod = PySys_GetObject(streams[i])) != NULL &&
		    mod != Py_None) {				/* borrowed */
			r = PyObject_CallMethod(mod, "flush", NULL);
			Py_XDECREF(r);
			PyErr_Clear();
		}
	(void)fflush(NULL);
}
#endif

/*
 * Around a fork(2) from C (enum py_fork): Python's at-fork hooks run (the
 * random module is reseeded in the child), and the objects made so far are
 * frozen (gc.freeze) so that collections in the child do not write to the
 * pages it shares.  The GIL is held.
 */
void
py_fork(int stage)
{
	PyObject	*gc, *r;
	const char	*streams[] = { "stdout", "stderr" };
	size_t		 i;

	switch (stage) {
	case PY_FORK_BEFORE:
		/* Nothing buffered is written twice. */
		for (i = 0; i < sizeof(streams) / sizeof(streams[0]); i++)
			if ((gc = PySys_GetObject(streams[i])) != NULL &&
			    gc != Py_None) {			/* borrowed */
				r = PyObject_CallMethod(gc, "flush", NULL);
				Py_XDECREF(r);
			}
		if ((gc = PyImport_ImportModule("gc")) != NULL) {
			r = PyObject_CallMethod(gc, "freeze", NULL);
			Py_XDECREF(r);
			Py_DECREF(gc);
		}
		PyErr_Clear();
		PyOS_BeforeFork();
		break;
	case PY_FORK_PARENT:
		PyOS_AfterFork_Parent();
		break;
	default:
		PyOS_AfterFork_Child();
		break;
	}
}

/* A dotted name of identifier characters. */
static bool
module_name(const char *s)
{
	const char	*p;

	if (*s == '\0' || *s == '.' || strcmp(s, "__main__") == 0 ||
	    strcmp(s, SCRIPT_MODULE) == 0)
		return false;
	for (p = s; *p != '\0'; p++)
		if (!(*p == '_' || *p == '.' || (*p >= '0' && *p <= '9') ||
		    (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return false;
	return p[-1] != '.';
}

/* How many modules are loaded (sys.modules). */
Py_ssize_t
py_modules_count(void)
{
	PyObject	*mods = PyImport_GetModuleDict();	/* borrowed */

	return mods != NULL ? PyDict_Size(mods) : 0;
}

/*
 * Warm start's module list: the names in sys.modules (but the script's
 * own), one a line, written to dir/name (through a temporary file and a
 * rename) when it differs from what is there.
 */
int
py_modules_save(int dir, const char *name)
{
	PyObject	*mods = PyImport_GetModuleDict(), *k, *v;
	Py_ssize_t	 pos = 0;
	const char	*s;
	char		 tmp[256], *old = NULL, *buf = NULL;
	size_t		 len = 0, cap = 0, n;
	ssize_t		 got = 0;
	int		 fd, rc = -1;

	if (mods == NULL)
		return -1;
	while (PyDict_Next(mods, &pos, &k, &v)) {		/* borrowed */
		if (!PyUnicode_Check(k) ||
		    (s = PyUnicode_AsUTF8(k)) == NULL) {
			PyErr_Clear();
			continue;
		}
		if (!module_name(s))
			continue;
		n = strlen(s);
		if (len + n + 1 > LIST_MAX)
			break;
		if (len + n + 1 > cap) {
			char	*nb;

			cap = (len + n + 1) * 2;
			if ((nb = realloc(buf, cap)) == NULL)
				goto out;
			buf = nb;
		}
		memcpy(buf + len, s, n);
		buf[len + n] = '\n';
		len += n + 1;
	}
	if (buf == NULL)
		return 0;
	if ((fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		if ((old = malloc(len + 1)) != NULL)
			got = read(fd, old, len + 1);
		(void)close(fd);
		if (old != NULL && (size_t)got == len &&
		    memcmp(old, buf, len) == 0) {
			rc = 0;
			goto out;
		}
	}
	(void)snprintf(tmp, sizeof(tmp), "%s.%ld", name, (long)getpid());
	if ((fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0)
		goto out;
	if (write(fd, buf, len) != (ssize_t)len || close(fd) < 0 ||
	    renameat(dir, tmp, dir, name) < 0) {
		(void)unlinkat(dir, tmp, 0);
		goto out;
	}
	rc = 0;
out:
	free(old);
	free(buf);
	return rc;
}

/*
 * The modules of dir/name imported, each as far as it goes: one that
 * fails (or is gone) is left out, as it would fail in the request too.
 */
int
py_modules_load(int dir, const char *name)
{
	PyObject	*m;
	struct stat	 st;
	char		*buf, *p, *nl;
	int		 fd;

	if ((fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)LIST_MAX ||
	    (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		(void)close(fd);
		return -1;
	}
	if (read(fd, buf, (size_t)st.st_size) != st.st_size) {
		(void)close(fd);
		free(buf);
		return -1;
	}
	(void)close(fd);
	buf[st.st_size] = '\0';
	for (p = buf; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		*nl = '\0';
		if (!module_name(p))
			continue;
		m = PyImport_ImportModule(p);
		Py_XDECREF(m);
		PyErr_Clear();
	}
	free(buf);
	return 0;
}

/* The file of every loaded module that has one (__file__), to add(). */
int
py_module_files(void (*add)(void *, const char *), void *arg)
{
	PyObject	*mods = PyImport_GetModuleDict(), *items, *f;
	Py_ssize_t	 i;
	const char	*s;

	/* A list first: a getattr could import and change the dict. */
	if (mods == NULL || (items = PyDict_Values(mods)) == NULL)
		return -1;
	for (i = 0; i < PyList_GET_SIZE(items); i++) {
		f = PyObject_GetAttrString(PyList_GET_ITEM(items, i),
		    "__file__");
		if (f != NULL && PyUnicode_Check(f) &&
		    (s = PyUnicode_AsUTF8(f)) != NULL)
			add(arg, s);
		Py_XDECREF(f);
		PyErr_Clear();
	}
	Py_DECREF(items);
	return 0;
}

/*
 * The process's environment becomes envp, in C (environ, exactly) and in
 * Python as a new process has it: posix.environ, built at start-up (entries
 * without '=' left out, the first of a repeated name winning), which is
 * also the mapping behind os.environ once os is imported.
 */
int
py_environ_set(char **envp)
{
	extern char	**environ;
	PyObject	*posix, *data, *k, *v;
	const char	*eq;
	char		**e;
	int		 rc = -1;

	posix = PyDict_GetItemString(PyImport_GetModuleDict(), "posix");
	if (posix == NULL ||					/* borrowed */
	    (data = PyObject_GetAttrString(posix, "environ")) == NULL)
		return -1;
	if (!PyDict_Check(data))
		goto out;
	PyDict_Clear(data);
	environ = envp;
	for (e = envp; *e != NULL; e++) {
		if ((eq = strchr(*e, '=')) == NULL || eq == *e)
			continue;
		k = PyBytes_FromStringAndSize(*e, eq - *e);
		v = PyBytes_FromString(eq + 1);
		if (k == NULL || v == NULL ||
		    PyDict_SetDefault(data, k, v) == NULL) {
			Py_XDECREF(k);
			Py_XDECREF(v);
			goto out;
		}
		Py_DECREF(k);
		Py_DECREF(v);
	}
	rc = 0;
out:
	Py_DECREF(data);
	return rc;
}

/* The pending exception as "Type: message" in buf (or ""), cleared. */
void
py_exc_line(char *buf, size_t len)
{
	PyObject	*type, *value, *tb, *msg = NULL;
	const char	*text = NULL;

	buf[0] = '\0';
	PyErr_Fetch(&type, &value, &tb);
	if (type == NULL)
		return;
	PyErr_NormalizeException(&type, &value, &tb);
	if (value != NULL && (msg = PyObject_Str(value)) != NULL)
		text = PyUnicode_AsUTF8(msg);
	PyErr_Clear();
	(void)snprintf(buf, len, "%s%s%s", ((PyTypeObject *)type)->tp_name,
	    text != NULL && *text != '\0' ? ": " : "",
	    text != NULL ? text : "");
	Py_XDECREF(msg);
	Py_XDECREF(type);
	Py_XDECREF(value);
	Py_XDECREF(tb);
}

/* sys.argv is [script], as py_start() makes it for a request. */
int
py_argv_set(const char *script)
{
	PyObject	*argv, *s;
	int		 rc;

	if ((s = PyUnicode_DecodeFSDefault(script)) == NULL)
		return -1;
	if ((argv = PyList_New(1)) == NULL) {
		Py_DECREF(s);
		return -1;
	}
	PyList_SET_ITEM(argv, 0, s);				/* stolen */
	rc = PySys_SetObject("argv", argv);
	Py_DECREF(argv);
	return rc;
}

/*
 * The Python stack of thread state ts, most recent call first, as
 * faulthandler prints it, into buf (a line a frame, as many as fit).
 * With the GIL.
 */
void
py_stack(PyThreadState *ts, char *buf, size_t len)
{
	PyFrameObject	*f, *back;
	PyCodeObject	*code;
	const char	*file, *name;
	size_t		 at = 0;
	int		 n;

	buf[0] = '\0';
	for (f = PyThreadState_GetFrame(ts); f != NULL; f = back) {
		code = PyFrame_GetCode(f);
		file = PyUnicode_AsUTF8(code->co_filename);
		name = PyUnicode_AsUTF8(code->co_name);
		n = snprintf(buf + at, len - at, "  File \"%s\", line %d in %s\n",
		    file != NULL ? file : "?", PyFrame_GetLineNumber(f),
		    name != NULL ? name : "?");
		if (n > 0 && (size_t)n < len - at)
			at += (size_t)n;
		Py_DECREF(code);
		back = PyFrame_GetBack(f);
		Py_DECREF(f);
	}
	PyErr_Clear();
}
