/*
 * Loads the WSGI script as a module that is not __main__, with its bytecode
 * cached in the standard __pycache__ (or a private per-user directory), and
 * finds the application callable in it.
 * SPDX-License-Identifier: MIT
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <marshal.h>

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "files.h"
#include "script.h"

#define PYFUNC(f)	((PyCFunction)(void (*)(void))(f))
#define MODULE_NAME	"_wsgi_cgi_script"
#define PYC_HEADER	16	/* magic, flags, mtime, size (PEP 552) */
#define PYC_SUFFIX	".cpython-" Py_STRINGIFY(PY_MAJOR_VERSION) \
			    Py_STRINGIFY(PY_MINOR_VERSION) ".pyc"
/* Another name than NAME.py's: a suffix importlib never makes. */
#define PYC_SUFFIX_OTHER ".cpython-" Py_STRINGIFY(PY_MAJOR_VERSION) \
			    Py_STRINGIFY(PY_MINOR_VERSION) ".wsgi-cgi.pyc"
#define CACHE_DIR_MODE	0700
#define LIST_MAX	10	/* callables named in a "no callable" error */
#define CACHE_PLACES	2	/* __pycache__, then the private directory */
#define NAMES_MAX	256

static char	*read_file(int, size_t, size_t *);
static int	 line_of(const char *, const char *);
static int	 cache_dir(const char *, int, bool, char *, size_t);
static int	 open_dir(const char *, bool, mode_t, mode_t, bool);
static bool	 trusted(const struct stat *, mode_t, bool);
static PyObject	*cache_read(int, const char *, const struct stat *, bool);
static void	 torn(int, siginfo_t *, void *);
static int	 cache_write(int, const char *, const struct stat *,
		    const struct timespec *, PyObject *);
static PyObject	*compile_script(const char *, const char *, const struct stat *,
		    int);
static int	 set_path(const char *);
static int	 hook_cgihandler(PyObject *);
static PyObject	*cgihandler_run(PyObject *, PyObject *const *, Py_ssize_t);
static void	 list_callables(PyObject *, const char *, char *, size_t);
static void	 put_le32(unsigned char *, uint32_t);
static uint32_t	 get_le32(const unsigned char *);

/*
 * The application handed to CGIHandler().run() by a classic .cgi script,
 * by its latest load (a server mode loads it again after an edit).
 */
static PyObject	*handed_app;

/* The cache file being read, for torn(). */
static unsigned char		*volatile mapped;
static size_t			 mapped_len;
static uintptr_t		 page_size;
static volatile sig_atomic_t	 was_torn;

static PyMethodDef run_def = {
	"run", PYFUNC(cgihandler_run), METH_FASTCALL,
	"served by wsgi-cgi instead"
};

/*
 * Returns a new reference to the callable named callable in the script at
 * path.  On failure, returns NULL with reason filled (and an exception
 * pending when *traceback is set).
 */
PyObject *
script_load(const char *path, const char *callable, bool named,
    char *reason, size_t len, bool *traceback)
{
	PyObject	*mod = NULL, *code = NULL, *fn = NULL, *r = NULL;
	PyObject	*app = NULL, *d, *modules;
	struct stat	 st;
	char		 real[PATH_MAX];
	int		 fd = -1;

	*traceback = false;
	/* Without blocking: a FIFO would hang until a writer came. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) < 0) {
		(void)snprintf(reason, len, "cannot open the script: %s",
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		(void)snprintf(reason, len, "the script is not a regular file");
		goto out;
	}
	/* The real path, once: for the cache and for sys.path. */
	if (realpath(path, real) == NULL)
		real[0] = '\0';
	*traceback = true;
	if ((code = compile_script(path, real, &st, fd)) == NULL) {
		(void)snprintf(reason, len, "cannot compile the script");
		goto out;
	}
	(void)snprintf(reason, len, "error while loading the script");
	if (set_path(real) < 0 ||
	    (mod = PyModule_New(MODULE_NAME)) == NULL ||
	    (modules = PyImport_GetModuleDict()) == NULL ||	/* borrowed */
	    PyDict_SetItemString(modules, MODULE_NAME, mod) < 0)
		goto out;
	d = PyModule_GetDict(mod);				/* borrowed */
	/* What a previous load of the script handed to run() is stale. */
	Py_CLEAR(handed_app);
	if ((fn = PyUnicode_DecodeFSDefault(path)) == NULL ||
	    PyDict_SetItemString(d, "__file__", fn) < 0 ||
	    PyDict_SetItemString(d, "__builtins__", PyEval_GetBuiltins()) < 0 ||
	    hook_cgihandler(code) < 0 ||
	    (r = PyEval_EvalCode(code, d, d)) == NULL)
		goto out;
	*traceback = false;
	app = PyDict_GetItemString(d, callable);		/* borrowed */
	if (app == NULL && !named && handed_app != NULL)
		app = handed_app;
	if (app == NULL) {
		list_callables(d, callable, reason, len);
		goto out;
	}
	if (!PyCallable_Check(app)) {
		(void)snprintf(reason, len, "'%s' is not callable (it is %s)",
		    callable, Py_TYPE(app)->tp_name);
		app = NULL;
		goto out;
	}
	Py_INCREF(app);
out:
	if (fd >= 0)
		close(fd);
	Py_XDECREF(mod);
	Py_XDECREF(code);
	Py_XDECREF(fn);
	Py_XDECREF(r);
	return app;
}

/*
 * The code object: from the cache when it is trusted (cache_read), else
 * compiled and cached for the next request.
 */
static PyObject *
compile_script(const char *path, const char *real, const struct stat *st,
    int fd)
{
	PyObject	*code = NULL, *fn = NULL;
	struct timespec	 now;
	char		 name[NAME_MAX + 1];
	char		*src = NULL;
	const char	*nul;
	size_t		 len;
	int		 i, dir;

	for (i = 0; i < CACHE_PLACES; i++)
		if ((dir = cache_dir(real, i, false, name, sizeof(name))) >= 0) {
			code = cache_read(dir, name, st, i == 0);
			(void)close(dir);
			if (code != NULL)
				return code;
		}
	/* Taken before the source is read: the cache is no newer. */
	if (clock_gettime(CLOCK_REALTIME, &now) < 0)
		now.tv_sec = 0;
	if ((src = read_file(fd, (size_t)st->st_size, &len)) == NULL ||
	    (fn = PyUnicode_DecodeFSDefault(path)) == NULL)
		goto out;
	/* As python3 3.12 does; a C string would end at the NUL. */
	if ((nul = memchr(src, '\0', len)) != NULL) {
		PyErr_SetString(PyExc_SyntaxError, "source code cannot contain "
		    "null bytes");
		PyErr_SyntaxLocationObject(fn, line_of(src, nul), 0);
		goto out;
	}
	if ((code = Py_CompileStringObject(src, fn, Py_file_input, NULL,
	    -1)) == NULL)
		goto out;
	for (i = 0; i < CACHE_PLACES; i++)
		if ((dir = cache_dir(real, i, true, name, sizeof(name))) >= 0) {
			if (cache_write(dir, name, st, &now, code) == 0)
				i = CACHE_PLACES;
			(void)close(dir);
		}
out:
	free(src);
	Py_XDECREF(fn);
	return code;
}

/* The 1-based line of *end, which lies in src. */
static int
line_of(const char *src, const char *end)
{
	const char	*p;
	int		 line = 1;

	for (p = src; p < end && (p = memchr(p, '\n',
	    (size_t)(end - p))) != NULL; p++)
		line++;
	return line;
}

/* The whole source, NUL-terminated, *len bytes; an exception on failure. */
static char *
read_file(int fd, size_t size, size_t *len)
{
	char	*buf;
	size_t	 got = 0;
	ssize_t	 n;

	if ((buf = malloc(size + 1)) == NULL) {
		PyErr_NoMemory();
		return NULL;
	}
	while (got < size) {
		n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			PyErr_SetFromErrno(PyExc_OSError);
			return NULL;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*len = got;
	return buf;
}

/*
 * The directory of cache place 0 or 1, opened once (O_NOFOLLOW, then only
 * openat: nothing can be swapped in between), and the file's name in it:
 * - 0: __pycache__ beside the real script, importlib's NAME.cpython-XY.pyc
 *   for NAME.py (python3 shares it); another name gets a suffix that
 *   importlib never makes, so app and app.py never share a file.  Used only
 *   when it is the effective user's (or root's) and nobody else can write
 *   to it: another user's .pyc would run as the script's owner.
 * - 1: $TMPDIR/wsgi-cgi-UID, which must be ours and private, the file named
 *   by the whole real path, escaped so that two paths never meet.
 * Returns the directory's descriptor, or -1.
 */
static int
cache_dir(const char *real, int place, bool create, char *name, size_t len)
{
	char		 dir[PATH_MAX];
	const char	*base;
	size_t		 stem, i, n;
	int		 k;

	if (*real != '/')
		return -1;
	base = strrchr(real, '/') + 1;
	if (place == 0) {
		stem = strlen(base);
		if (stem > 3 && strcmp(base + stem - 3, ".py") == 0)
			k = snprintf(name, len, "%.*s" PYC_SUFFIX,
			    (int)(stem - 3), base);
		else
			k = snprintf(name, len, "%s" PYC_SUFFIX_OTHER, base);
		if (k < 0 || (size_t)k >= len)
			return -1;
		k = snprintf(dir, sizeof(dir), "%.*s__pycache__",
		    (int)(base - real), real);
		if (k < 0 || (size_t)k >= sizeof(dir))
			return -1;
		return open_dir(dir, create, 0755, 022, true);
	}
	for (i = 0, n = 0; real[i] != '\0'; i++) {
		if (n + 4 > len)
			return -1;
		if (real[i] == '/' || real[i] == '%')
			n += (size_t)snprintf(name + n, 4, "%%%02X",
			    (unsigned char)real[i]);
		else
			name[n++] = real[i];
	}
	if (n + sizeof(PYC_SUFFIX) > len)
		return -1;
	memcpy(name + n, PYC_SUFFIX, sizeof(PYC_SUFFIX));
	return script_private_dir(create);
}

/* The script's real directory first on sys.path, before it is loaded. */
int
script_path_first(const char *real)
{
	return set_path(real);
}

/* $TMPDIR/wsgi-cgi-UID (or /tmp's), or "" when the name is too long. */
const char *
script_private_path(void)
{
	static char	 dir[PATH_MAX];
	const char	*tmp = getenv("TMPDIR");
	int		 k;

	if (tmp == NULL || *tmp != '/')
		tmp = "/tmp";
	k = snprintf(dir, sizeof(dir), "%s/wsgi-cgi-%lu", tmp,
	    (unsigned long)geteuid());
	if (k < 0 || (size_t)k >= sizeof(dir))
		dir[0] = '\0';
	return dir;
}

/*
 * The user's private directory (mode 0700, the user's own, no symlink),
 * made first when create is set: its descriptor, or -1.  The bytecode
 * cache of scripts outside a writable __pycache__ and warm start's
 * sockets live there.
 */
int
script_private_dir(bool create)
{
	const char	*dir = script_private_path();

	if (*dir == '\0')
		return -1;
	return open_dir(dir, create, CACHE_DIR_MODE, 077, false);
}

/*
 * path as a directory descriptor, made first when create is set; only when
 * it is the effective user's (or root's, when root may own it) and none of
 * the mode bits in deny are set.
 */
static int
open_dir(const char *path, bool create, mode_t mode, mode_t deny,
    bool root)
{
	struct stat	st;
	int		fd;

	if (create && mkdir(path, mode) < 0 && errno != EEXIST)
		return -1;
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !trusted(&st, deny, root)) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

static bool
trusted(const struct stat *st, mode_t deny, bool root)
{
	return (st->st_uid == geteuid() || (root && st->st_uid == 0)) &&
	    (st->st_mode & deny) == 0;
}

/*
 * The cache file is mapped, not copied: its pages are already in memory, and
 * a copy would cost a fresh page of ours for every page of it.  It is used
 * when its recorded mtime and size match the source (importlib's rule),
 * when it is as trusted as its directory, and when it was written at least
 * two seconds after the source last changed (st_ctime, which no tool can
 * set back): an edit that keeps the size within the same second is never
 * hidden (git's "racy" rule).  A file cut short while mapped (in place,
 * which no Python tool does) makes reading it raise SIGBUS; torn() then maps
 * zeros over the rest, the result is dropped, and the request goes on with
 * a cache miss.
 */
static PyObject *
cache_read(int dir, const char *name, const struct stat *st, bool root)
{
	PyObject		*code = NULL;
	unsigned char		*buf = MAP_FAILED;
	struct sigaction	 sa, old;
	struct stat		 cst;
	size_t			 size = 0;
	int			 fd;

	if ((fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return NULL;
	if (fstat(fd, &cst) < 0 || !S_ISREG(cst.st_mode) ||
	    !trusted(&cst, 022, root) || cst.st_size < PYC_HEADER ||
	    cst.st_mtime < st->st_ctime + FILES_RACY_SECONDS)
		goto out;
	size = (size_t)cst.st_size;
	if ((buf = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0)) ==
	    MAP_FAILED)
		goto out;
	mapped = buf;
	mapped_len = size;
	page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
	was_torn = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = torn;
	sa.sa_flags = SA_SIGINFO;
	(void)sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &old) < 0)
		goto out;
	if (get_le32(buf) == (uint32_t)PyImport_GetMagicNumber() &&
	    get_le32(buf + 4) == 0 &&
	    get_le32(buf + 8) == (uint32_t)st->st_mtime &&
	    get_le32(buf + 12) == (uint32_t)st->st_size)
		code = PyMarshal_ReadObjectFromString(
		    (const char *)buf + PYC_HEADER,
		    (Py_ssize_t)(size - PYC_HEADER));
	(void)sigaction(SIGBUS, &old, NULL);
	if (code != NULL && (was_torn || !PyCode_Check(code)))
		Py_CLEAR(code);
	PyErr_Clear();	/* a bad cache file is a cache miss */
out:
	if (buf != MAP_FAILED)
		(void)munmap(buf, size);
	mapped = NULL;
	close(fd);
	return code;
}

/*
 * SIGBUS inside the mapped cache file: the file has shrunk.  Zeros in place
 * of the rest let the reader finish; its result is then not used.  A SIGBUS
 * anywhere else is not ours: the default action, at once.  (mmap is not on
 * POSIX's async-signal-safe list, but on Linux it is the bare system call.)
 */
static void
torn(int sig, siginfo_t *si, void *ctx)
{
	uintptr_t	 at = (uintptr_t)si->si_addr, lo = (uintptr_t)mapped;
	uintptr_t	 page = at & ~(page_size - 1);

	(void)ctx;
	if (mapped == NULL || at < lo || at >= lo + mapped_len ||
	    mmap((void *)page, lo + mapped_len - page, PROT_READ,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
		(void)signal(sig, SIG_DFL);
		return;		/* the access faults again, fatally */
	}
	was_torn = 1;
}

/*
 * Written to a temporary name and renamed, so readers never see half; dated
 * when the source was read (now), for cache_read's racy rule; writable by
 * its owner only, whatever the source's mode.
 */
static int
cache_write(int dir, const char *name, const struct stat *st,
    const struct timespec *now, PyObject *code)
{
	PyObject	*data = NULL;
	unsigned char	 head[PYC_HEADER];
	struct timespec	 times[2];
	char		 tmp[NAME_MAX + 1];
	ssize_t		 len;
	int		 fd = -1, n;
	bool		 ok = false;

	n = snprintf(tmp, sizeof(tmp), "%s.%ld", name, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp) ||
	    (data = PyMarshal_WriteObjectToString(code,
	    Py_MARSHAL_VERSION)) == NULL)
		goto out;
	put_le32(head, (uint32_t)PyImport_GetMagicNumber());
	put_le32(head + 4, 0);
	put_le32(head + 8, (uint32_t)st->st_mtime);
	put_le32(head + 12, (uint32_t)st->st_size);
	if ((fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, st->st_mode & 0644)) < 0)
		goto out;
	len = PyBytes_GET_SIZE(data);
	times[0] = times[1] = *now;
	ok = write(fd, head, sizeof(head)) == (ssize_t)sizeof(head) &&
	    write(fd, PyBytes_AS_STRING(data), (size_t)len) == len &&
	    futimens(fd, times) == 0;
	ok = close(fd) == 0 && ok && renameat(dir, tmp, dir, name) == 0;
	if (!ok)
		(void)unlinkat(dir, tmp, 0);
out:
	PyErr_Clear();	/* a cache that cannot be written is no error */
	Py_XDECREF(data);
	return ok ? 0 : -1;
}

/* As "python3 script" does: the script's real directory first on sys.path. */
static int
set_path(const char *real)
{
	PyObject	*dir = NULL, *syspath;
	const char	*slash;
	int		 rc = -1;

	if (*real != '/')
		return 0;
	slash = strrchr(real, '/');
	if ((syspath = PySys_GetObject("path")) == NULL ||	/* borrowed */
	    (dir = PyUnicode_DecodeFSDefaultAndSize(real,
	    slash == real ? 1 : slash - real)) == NULL)
		goto out;
	/* Loaded again (a server mode's fresh code): there already. */
	if (PyList_GET_SIZE(syspath) > 0 &&
	    PyUnicode_Compare(PyList_GET_ITEM(syspath, 0), dir) == 0) {
		rc = 0;
		goto out;
	}
	if (PyList_Insert(syspath, 0, dir) < 0)
		goto out;
	rc = 0;
out:
	Py_XDECREF(dir);
	return rc;
}

/*
 * A classic .cgi script ends with an unguarded CGIHandler().run(app): when
 * the code names CGIHandler and has no __main__ guard, run() is replaced so
 * that it hands the application over instead of serving with wsgiref.
 */
static int
hook_cgihandler(PyObject *code)
{
	PyObject	*names, *consts, *mod = NULL, *cls = NULL, *fn = NULL;
	PyObject	*key = NULL, *main_ = NULL;
	int		 rc = -1, has;

	names = ((PyCodeObject *)code)->co_names;		/* borrowed */
	consts = ((PyCodeObject *)code)->co_consts;		/* borrowed */
	if ((key = PyUnicode_FromString("CGIHandler")) == NULL ||
	    (main_ = PyUnicode_FromString("__main__")) == NULL)
		goto out;
	if ((has = PySequence_Contains(names, key)) <= 0 ||
	    (has = PySequence_Contains(consts, main_)) != 0) {
		rc = has < 0 ? -1 : 0;
		goto out;
	}
	if ((mod = PyImport_ImportModule("wsgiref.handlers")) == NULL ||
	    (cls = PyObject_GetAttrString(mod, "CGIHandler")) == NULL ||
	    (fn = PyCFunction_New(&run_def, NULL)) == NULL ||
	    PyObject_SetAttrString(cls, "run", fn) < 0)
		goto out;
	rc = 0;
out:
	Py_XDECREF(key);
	Py_XDECREF(main_);
	Py_XDECREF(mod);
	Py_XDECREF(cls);
	Py_XDECREF(fn);
	return rc;
}

/* CGIHandler.run(self, app): a plain function in the class, so no self. */
static PyObject *
cgihandler_run(PyObject *unused, PyObject *const *args, Py_ssize_t nargs)
{
	(void)unused;
	if (nargs < 1)
		return PyErr_Format(PyExc_TypeError, "run() needs the "
		    "application");
	if (handed_app == NULL) {
		Py_INCREF(args[nargs - 1]);
		handed_app = args[nargs - 1];	/* owned here until exit */
	}
	Py_RETURN_NONE;
}

/* "no callable named 'application' (the script defines: app, make_app)" */
static void
list_callables(PyObject *d, const char *callable, char *reason, size_t len)
{
	PyObject	*key, *value, *mod;
	Py_ssize_t	 pos = 0;
	const char	*name;
	char		 names[NAMES_MAX] = "";
	size_t		 used = 0;
	int		 count = 0, n;

	while (count < LIST_MAX && PyDict_Next(d, &pos, &key, &value)) {
		if (!PyUnicode_Check(key) || !PyCallable_Check(value) ||
		    PyType_Check(value) || PyCFunction_Check(value) ||
		    (name = PyUnicode_AsUTF8(key)) == NULL || name[0] == '_')
			continue;
		/* Functions count only when the script defines them. */
		if (PyFunction_Check(value) &&
		    ((mod = PyFunction_GetModule(value)) == NULL ||
		    !PyUnicode_Check(mod) ||
		    PyUnicode_CompareWithASCIIString(mod, MODULE_NAME) != 0))
			continue;
		n = snprintf(names + used, sizeof(names) - used, "%s%s",
		    count++ == 0 ? "" : ", ", name);
		if (n < 0 || (size_t)n >= sizeof(names) - used)
			break;
		used += (size_t)n;
	}
	PyErr_Clear();
	if (count == 0)
		(void)snprintf(reason, len, "no callable named '%s' (the "
		    "script defines no callables)", callable);
	else
		(void)snprintf(reason, len, "no callable named '%s' (the "
		    "script defines: %s)", callable, names);
}

static void
put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t
get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}
