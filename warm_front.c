/*
 * Warm start's front end (a CGI request's process) and the control
 * commands (--warm-status, --warm-stop); the backend, its children and
 * spares are warm_backend.c's.
 *
 * Files, in the private directory that also holds the bytecode cache
 * ($TMPDIR/wsgi-cgi-UID, mode 0700, checked): NAME.sock, the backend's
 * socket (SOCK_SEQPACKET: a message is one read); NAME.lock, flock(2)ed by
 * the live backend from the moment it is spawned, so that one backend
 * runs; NAME.mods, the modules that the script imported last time.  NAME
 * is warm-H1-H2: H1 hashes the script's real path, H2 this executable and
 * the interpreter's configuration (--venv, --python-path), so that an
 * upgrade or another configuration never meets an old backend.
 *
 * A request:  front end connects; the backend accepts it when it has room
 * for a child and says HELLO; only then does the front end send REQUEST
 * with its descriptors (body, response, stderr, working directory, and a
 * memfd with argv and the environment).  The backend answers COLD (the
 * front end serves the request itself) or forks; the child says STARTED
 * before it touches anything, and STATUS at its end.  Whatever else
 * happens before STARTED (an EOF, a reply that makes no sense) means no
 * child has the request, so it is served cold; after STARTED the front
 * end waits for STATUS, passing a signal from the server on.
 * SPDX-License-Identifier: MIT
 */
#include "script.h"

#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/vfs.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "warm.h"
#include "warm_wire.h"

#define HELLO_MS	5000	/* waiting for room in a busy backend */
#define CTL_MS		2000	/* --warm-status, --warm-stop */

static volatile sig_atomic_t	 front_signal;

static uint64_t	 fnv(uint64_t, const void *, size_t);
static int	 connect_to(int, const char *);
static bool	 hello(int, int);
static int	 offer(const struct warm *, int, char *[], char *const *, int,
		    int);
static void	 on_signal(int);

static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char	*b = p;

	while (n-- > 0) {
		h ^= *b++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * The backend of script (as the request names it) under config (the
 * interpreter's options): fills w; -1 with why when there can be none.
 */
int
warm_open(struct warm *w, const char *script, const char *config,
    unsigned idle, char *why, size_t len)
{
	struct stat	st;
	uint64_t	h1, h2;
	int		v = WARM_WIRE_VERSION;

	memset(w, 0, sizeof(*w));
	w->dir = w->release = -1;
	w->idle = idle;
	if (realpath(script, w->script) == NULL ||
	    stat("/proc/self/exe", &st) < 0) {
		(void)snprintf(why, len, "warm start: %s", strerror(errno));
		return -1;
	}
	h1 = fnv(0xcbf29ce484222325ULL, w->script, strlen(w->script));
	h2 = fnv(0xcbf29ce484222325ULL, &v, sizeof(v));
	h2 = fnv(h2, &st.st_dev, sizeof(st.st_dev));
	h2 = fnv(h2, &st.st_ino, sizeof(st.st_ino));
	h2 = fnv(h2, &st.st_size, sizeof(st.st_size));
	h2 = fnv(h2, &st.st_mtim, sizeof(st.st_mtim));
	h2 = fnv(h2, config, strlen(config));
	(void)snprintf(w->name, sizeof(w->name), "warm-%016llx-%016llx",
	    (unsigned long long)h1, (unsigned long long)h2);
	if ((w->dir = script_private_dir(true)) < 0) {
		(void)snprintf(why, len, "warm start: the private directory "
		    "(%s) is missing or not this user's alone: serving cold",
		    script_private_path());
		return -1;
	}
	return 0;
}

/* A connection to the backend named name in dir, or -1. */
static int
connect_to(int dir, const char *name)
{
	struct sockaddr_un	 sa;
	int			 s;

	if (warm_sock_path(NULL, dir, name, &sa) < 0 ||
	    (s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    !warm_same_user(s)) {
		(void)close(s);
		return -1;
	}
	return s;
}

/* The backend's HELLO on s within ms: it has taken the connection. */
static bool
hello(int s, int ms)
{
	struct warm_msg	m;
	int		n = 0;

	return warm_recv(s, &m, NULL, 0, &n, ms) > 0 && m.type == WM_HELLO;
}

static void
on_signal(int sig)
{
	front_signal = sig;
}

/*
 * The request to the backend: its descriptors (fds 0-2), its directory,
 * its variables and argv in a memfd, its umask and script.  0, or -1 when
 * the backend does not answer hello or something cannot be made.
 */
static int
offer(const struct warm *w, int s, char *argv[], char *const *envp, int in,
    int out)
{
	struct warm_msg	m;
	mode_t		um;
	int		fds[WARM_NFDS], r = -1;

	fds[0] = in;
	fds[1] = out;
	fds[2] = STDERR_FILENO;
	fds[3] = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	fds[4] = warm_blob_write(argv, envp);
	if (fds[3] >= 0 && fds[4] >= 0 && hello(s, HELLO_MS)) {
		memset(&m, 0, sizeof(m));
		m.type = WM_REQUEST;
		um = umask(0);
		(void)umask(um);
		m.value = (int32_t)um;
		(void)snprintf(m.text, sizeof(m.text), "%s", w->script);
		r = warm_send(s, &m, fds, WARM_NFDS);
	}
	if (fds[3] >= 0)
		(void)close(fds[3]);
	if (fds[4] >= 0)
		(void)close(fds[4]);
	return r;
}

/*
 * The front end: the request goes to the backend if one answers.  1: a
 * child served it and *status is the exit status (why: a line to log, or
 * empty); 0: serve it cold (why: a line to log, or empty).  in and out
 * are the body's and the response's descriptors; they are closed once a
 * child has the request.
 */
int
warm_front(struct warm *w, char *argv[], char *const *envp, int in, int out,
    int *status, char *why, size_t len)
{
	static const int	 sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction	 sa, old[3];
	sigset_t		 block, mask, none;
	struct warm_msg		 m;
	size_t			 i;
	int			 s, n, r, served = 0;
	bool			 started = false;

	*why = '\0';
	if ((s = connect_to(w->dir, w->name)) < 0)
		return 0;
	/* Signals from the server wait for ppoll(); then they go on. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	(void)sigemptyset(&sa.sa_mask);
	(void)sigemptyset(&block);
	(void)sigemptyset(&none);
	for (i = 0; i < 3; i++) {
		(void)sigaddset(&block, sigs[i]);
		(void)sigaction(sigs[i], &sa, &old[i]);
	}
	(void)sigprocmask(SIG_BLOCK, &block, &mask);
	r = offer(w, s, argv, envp, in, out);
	while (r == 0) {
		struct pollfd	p = { s, POLLIN, 0 };

		if (front_signal != 0) {
			if (!started)
				_exit(128 + front_signal);
			memset(&m, 0, sizeof(m));
			m.type = WM_SIGNAL;
			m.value = front_signal;
			front_signal = 0;
			(void)warm_send(s, &m, NULL, 0);
		}
		if (ppoll(&p, 1, NULL, &none) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (warm_recv(s, &m, NULL, 0, &n, 0) <= 0) {
			if (started) {
				(void)snprintf(why, len, "the warm backend "
				    "went away: the request's exit status is "
				    "unknown");
				*status = 1;
				served = 1;
			}
			break;
		}
		if (!started && m.type == WM_COLD) {
			(void)snprintf(why, len, "%s", m.text);
			break;
		}
		if (!started && m.type == WM_STARTED) {
			/* The child holds the response: it ends with it. */
			started = true;
			(void)close(in);
			(void)close(out);
			continue;
		}
		if (started && m.type == WM_STATUS) {
			*status = WIFEXITED(m.value) ? WEXITSTATUS(m.value) :
			    WIFSIGNALED(m.value) ? 128 + WTERMSIG(m.value) : 1;
			served = 1;
			break;
		}
		/* A STATUS before STARTED: no child took it. */
		if (!started)
			break;
	}
	(void)close(s);
	if (!served) {
		(void)sigprocmask(SIG_SETMASK, &mask, NULL);
		for (i = 0; i < 3; i++)
			(void)sigaction(sigs[i], &old[i], NULL);
	}
	return served;
}

/* NAME.mods: the module list, in the private directory. */
int
warm_list_name(const struct warm *w, char *buf, size_t len)
{
	int	n = snprintf(buf, len, "%s.mods", w->name);

	return n > 0 && (size_t)n < len ? 0 : -1;
}

/* The cold request is done: its backend may start. */
void
warm_cold_done(struct warm *w)
{
	if (w->release >= 0) {
		(void)close(w->release);
		w->release = -1;
	}
}

/*
 * --warm-status (stop false) and --warm-stop: every backend of script,
 * whatever its configuration.  0 when there was one, else 1.
 */
int
warm_ctl(const char *script, bool stop)
{
	struct warm_msg	 m;
	struct warm	 w;
	struct dirent	*d;
	DIR		*dir;
	char		 prefix[40], why[PATH_MAX + 64];
	size_t		 l;
	int		 s, n, found = 0, fd;

	if (warm_open(&w, script, "", 0, why, sizeof(why)) < 0) {
		(void)fprintf(stderr, "wsgi-cgi: %s: %s\n", script, why);
		return 1;
	}
	(void)snprintf(prefix, sizeof(prefix), "%.22s", w.name);
	if ((fd = dup(w.dir)) < 0 || (dir = fdopendir(fd)) == NULL) {
		(void)fprintf(stderr, "wsgi-cgi: %s: %s\n", script,
		    strerror(errno));
		return 1;
	}
	while ((d = readdir(dir)) != NULL) {
		l = strlen(d->d_name);
		if (strncmp(d->d_name, prefix, strlen(prefix)) != 0 ||
		    l < 5 || strcmp(d->d_name + l - 5, ".sock") != 0 ||
		    l - 5 >= sizeof(w.name))
			continue;
		memcpy(w.name, d->d_name, l - 5);
		w.name[l - 5] = '\0';
		if ((s = connect_to(w.dir, w.name)) < 0)
			continue;
		if (!hello(s, CTL_MS)) {
			(void)close(s);
			continue;
		}
		memset(&m, 0, sizeof(m));
		m.type = stop ? WM_STOP : WM_QUERY;
		if (warm_send(s, &m, NULL, 0) < 0 ||
		    warm_recv(s, &m, NULL, 0, &n, CTL_MS) <= 0) {
			(void)close(s);
			continue;
		}
		found++;
		if (stop)
			(void)printf("%s: warm backend %d stopped", script,
			    (int)m.value);
		else
			(void)printf("%s: warm backend %d, up %llds, %llu "
			    "requests, %u running", script, (int)m.value,
			    (long long)(time(NULL) - m.since),
			    (unsigned long long)m.served, m.running);
		if (m.text[0] != '\0')
			(void)printf(" (%s)", m.text);
		(void)printf("\n");
		(void)fflush(stdout);
		/* Stopped: its end is the connection's. */
		while (stop && warm_recv(s, &m, NULL, 0, &n, -1) > 0)
			;
		(void)close(s);
	}
	(void)closedir(dir);
	if (found == 0)
		(void)printf("%s: no warm backend\n", script);
	return found > 0 ? 0 : 1;
}
