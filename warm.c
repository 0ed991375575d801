/*
 * Warm start: the front end (a CGI request's process), the backend (one
 * per script, configuration and user) and its children.
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

#define COPY_PAGES	64	/* copied between looks for a request */
#define HELLO_MS	5000	/* waiting for room in a busy backend */
#define CTL_MS		2000	/* --warm-status, --warm-stop */
#define RECV_MS		1000	/* a front end's request after HELLO */
#define KILL_MS		3000	/* SIGTERM, then SIGKILL, as Apache does */
#define RACY_SECONDS	2	/* as the bytecode cache's rule */
#define CHILDREN_MIN	8
#define WATCH_MAX	8192
#define WAITERS_MAX	8
#define SPARES_MAX	2	/* when requests come back to back; else 1 */
#define LEARN_FIRST	16	/* children that say which pages they wrote, */
#define LEARN_EVERY	32	/* and then one in so many */
#define REGIONS_MAX	512
#define REGION_PAGES	(1u << 16)	/* larger: reserved, not a heap */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif
#define KEEP_VARS	"PATH\0HOME\0LANG\0LANGUAGE\0TZ\0TMPDIR\0USER\0LOGNAME\0"

/* The backend's poll(2) set: these, then the front ends' connections. */
enum { P_SIG, P_LISTEN, P_DONE, P_KIDS };

/* On the done pipe: a child has answered its request. */
struct answer {
	int32_t		 pid;
	int32_t		 hurried;	/* it came before its spare was ready */
};

/*
 * A file an import came from, as it was; its path in backend's paths.
 * Watched by inotify, or (polled) stat(2)ed before each request.
 */
struct watch {
	size_t		 path;
	struct stat	 st;
	bool		 polled;
};

/* A writable private mapping of the backend's; its pages from bit. */
struct region {
	uintptr_t	 start, end;
	size_t		 bit;
};

struct kid {
	pid_t		 pid;
	int		 conn;		/* the front end's; -1: it has gone */
	int64_t		 kill_at;	/* ms: SIGKILL then, if still there */
	bool		 done;		/* its request answered: it is ending */
};

/* A child forked ahead: its request comes on sock. */
struct spare {
	pid_t		 pid;
	int		 sock;
};

struct backend {
	struct warm		*w;
	const struct warm_ops	*ops;
	int			 lock, listen, sigfd;
	int			 done[2];	/* children: struct answer */
	bool			 retiring;
	char			 refusal[PATH_MAX];	/* serving cold: why */
	bool			 refused_said;
	struct watch		*watch;
	size_t			 nwatch, watch_cap;
	char			*paths;		/* NUL-ended, one after another */
	size_t			 paths_len, paths_cap;
	int			 inotify;	/* any event: something changed */
	size_t			 npolled;
	int64_t			 newest;	/* ns: the watched files' times */
	struct kid		*kids;
	size_t			 nkids, cap;
	struct spare		 spares[SPARES_MAX];	/* oldest first */
	size_t			 nspares, want;
	/* The pages children wrote (shared): the next spare copies them. */
	struct region		 regions[REGIONS_MAX];
	size_t			 nregions;
	unsigned char		*dirty;
	size_t			 npages;
	int			 waiters[WAITERS_MAX];
	size_t			 nwaiters;
	uint64_t		 served;
	int64_t			 since, idle_at;
};

static volatile sig_atomic_t	 front_signal;

static uint64_t	 fnv(uint64_t, const void *, size_t);
static int	 sock_path(const struct warm *, int, const char *,
		    struct sockaddr_un *);
static int	 connect_to(int, const char *);
static bool	 hello(int, int);
static bool	 same_user(int);
static void	 on_signal(int);
static void	 detach(const int *, size_t);
static void	 clean_env(void);
static void	 backend(struct warm *, int, const struct warm_ops *);
static void	 add_watch(void *, const char *);
static bool	 stale(const struct backend *);
static bool	 local_fs(dev_t, const char *);
static unsigned	 threads(void);
static void	 accept_one(struct backend *);
static void	 request(struct backend *, int, struct warm_msg *, int *);
static bool	 spare_start(struct backend *);
static void	 spare_drop(struct backend *, size_t);
static void	 spares_make(struct backend *);
static void	 pages_init(struct backend *);
static void	 pages_learn(const struct backend *);
static bool	 pages_copy(const struct backend *, int);
static void	 child_setup(struct backend *);
static void	 run_child(struct backend *, int, const struct warm_msg *, int *,
		    bool);
static void	 reap(struct backend *);
static void	 answered(struct backend *);
static size_t	 busy(const struct backend *);
static void	 retire(struct backend *);
static void	 info(const struct backend *, struct warm_msg *);
static int64_t	 now_ms(void);
static int64_t	 ns(const struct timespec *);

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

/*
 * dir/name+suffix as an address that cannot be raced: through the checked
 * directory's descriptor.
 */
static int
sock_path(const struct warm *w, int dir, const char *name,
    struct sockaddr_un *sa)
{
	int	n;

	(void)w;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path),
	    "/proc/self/fd/%d/%s.sock", dir, name);
	return n > 0 && (size_t)n < sizeof(sa->sun_path) ? 0 : -1;
}

/* A connection to the backend named name in dir, or -1. */
static int
connect_to(int dir, const char *name)
{
	struct sockaddr_un	 sa;
	int			 s;

	if (sock_path(NULL, dir, name, &sa) < 0 ||
	    (s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    !same_user(s)) {
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

/* The peer runs as this user (SO_PEERCRED). */
static bool
same_user(int s)
{
	struct ucred	cr;
	socklen_t	len = sizeof(cr);

	return getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 &&
	    cr.uid == geteuid();
}

static void
on_signal(int sig)
{
	front_signal = sig;
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
	mode_t			 um;
	size_t			 i;
	int			 s, fds[WARM_NFDS], n, r, served = 0;
	bool			 started = false;

	*why = '\0';
	if ((s = connect_to(w->dir, w->name)) < 0)
		return 0;
	/* Made while the backend accepts. */
	fds[0] = in;
	fds[1] = out;
	fds[2] = STDERR_FILENO;
	fds[3] = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	fds[4] = warm_blob_write(argv, envp);
	if (fds[3] < 0 || fds[4] < 0 || !hello(s, HELLO_MS)) {
		if (fds[3] >= 0)
			(void)close(fds[3]);
		if (fds[4] >= 0)
			(void)close(fds[4]);
		(void)close(s);
		return 0;
	}
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
	memset(&m, 0, sizeof(m));
	m.type = WM_REQUEST;
	um = umask(0);
	(void)umask(um);
	m.value = (int32_t)um;
	(void)snprintf(m.text, sizeof(m.text), "%s", w->script);
	r = warm_send(s, &m, fds, WARM_NFDS);
	(void)close(fds[3]);
	(void)close(fds[4]);
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

/*
 * No backend answered: one is started unless one is starting or running
 * (its lock).  It waits until warm_cold_done() (or this process's end),
 * so that this request's module list is what it imports.  It is nobody's
 * child here (a double fork) and shares no descriptor with the server.
 */
void
warm_spawn(struct warm *w, const struct warm_ops *ops)
{
	char	name[WARM_NAME_MAX + 8];
	int	lock, p[2], keep[3];
	pid_t	pid;

	if (w->dir < 0 || w->release >= 0)
		return;
	(void)snprintf(name, sizeof(name), "%s.lock", w->name);
	if ((lock = openat(w->dir, name, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0)
		return;
	if (flock(lock, LOCK_EX | LOCK_NB) < 0 || pipe2(p, O_CLOEXEC) < 0) {
		(void)close(lock);
		return;
	}
	if ((pid = fork()) < 0) {
		(void)close(lock);
		(void)close(p[0]);
		(void)close(p[1]);
		return;
	}
	if (pid > 0) {
		/* The lock is the child's now (one open file, shared). */
		(void)close(lock);
		(void)close(p[0]);
		w->release = p[1];
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return;
	}
	if (setsid() < 0 || fork() != 0)
		_exit(0);
	(void)close(p[1]);
	keep[0] = lock;
	keep[1] = p[0];
	keep[2] = w->dir;
	detach(keep, 3);
	clean_env();
	/* Until the cold request has written its module list. */
	while (read(p[0], name, sizeof(name)) != 0 && errno == EINTR)
		;
	(void)close(p[0]);
	backend(w, lock, ops);
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
 * Every descriptor but keep closed; 0-2 on /dev/null; signals as a new
 * process has them (SIGPIPE ignored, as main() has it).
 */
static void
detach(const int *keep, size_t nkeep)
{
	sigset_t	none;
	size_t		i;
	int		fd, max = (int)sysconf(_SC_OPEN_MAX), null;

	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = 0; fd < max; fd++) {
		for (i = 0; i < nkeep && keep[i] != fd; i++)
			;
		if (i == nkeep)
			(void)close(fd);
	}
	if ((null = open("/dev/null", O_RDWR)) != 0 ||
	    dup2(null, 1) != 1 || dup2(null, 2) != 2)
		_exit(1);
	(void)sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)signal(SIGTERM, SIG_DFL);
	(void)signal(SIGINT, SIG_DFL);
	(void)signal(SIGHUP, SIG_DFL);
	(void)signal(SIGCHLD, SIG_DFL);
	(void)signal(SIGPIPE, SIG_IGN);
}

/*
 * The backend's environment: not the request's that started it (its
 * headers, its CGI variables), only what describes the system: KEEP_VARS
 * and LC_*.  The request's strings are wiped where they were, since the
 * kernel shows that memory as /proc/PID/environ, the children's too.  A
 * child gets its own request's environment.
 */
static void
clean_env(void)
{
	static char	*kept[64];
	extern char	**environ;
	const char	*k;
	size_t		 n = 0, l;
	char		**e;
	bool		 keep;

	for (e = environ; *e != NULL; e++) {
		keep = strncmp(*e, "LC_", 3) == 0 && strchr(*e, '=') != NULL;
		for (k = KEEP_VARS; !keep && *k != '\0'; k += l + 1) {
			l = strlen(k);
			keep = strncmp(*e, k, l) == 0 && (*e)[l] == '=';
		}
		if (keep && n + 1 < sizeof(kept) / sizeof(kept[0]) &&
		    (kept[n] = strdup(*e)) != NULL)
			n++;
		memset(*e, '\0', strlen(*e));
	}
	kept[n] = NULL;
	environ = kept;
}

static int64_t
now_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

/* The backend's life; it never returns. */
static void
backend(struct warm *w, int lock, const struct warm_ops *ops)
{
	struct backend		 b;
	struct sockaddr_un	 sa;
	struct pollfd		*p;
	struct timespec		 t0;
	sigset_t		 sigs;
	size_t			 i, np;
	int64_t			 t;
	long			 cpus = sysconf(_SC_NPROCESSORS_ONLN);
	char			 name[WARM_NAME_MAX + 8];

	/* In ps(1) and for pkill -x: the backend, not a request. */
	(void)prctl(PR_SET_NAME, "wsgi-cgi-warm", 0, 0, 0);
	memset(&b, 0, sizeof(b));
	b.w = w;
	b.ops = ops;
	b.lock = lock;
	b.listen = b.sigfd = -1;
	b.done[0] = b.done[1] = -1;
	b.inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	b.want = 1;
	b.cap = cpus > 0 && (size_t)cpus * 4 > CHILDREN_MIN ?
	    (size_t)cpus * 4 : CHILDREN_MIN;
	if ((b.kids = calloc(b.cap, sizeof(*b.kids))) == NULL ||
	    (p = calloc(b.cap + P_KIDS, sizeof(*p))) == NULL)
		_exit(1);
	(void)clock_gettime(CLOCK_REALTIME, &t0);
	b.since = t0.tv_sec;
	if (ops->start(ops->ctx, w->script, b.refusal, sizeof(b.refusal)) < 0)
		;
	else if (threads() > 1)
		(void)snprintf(b.refusal, sizeof(b.refusal), "warm start: "
		    "the script's imports started threads, and a process "
		    "with threads cannot fork safely: serving cold");
	else if (ops->files(ops->ctx, add_watch, &b) < 0 ||
	    b.nwatch == WATCH_MAX)
		(void)snprintf(b.refusal, sizeof(b.refusal), "warm start: "
		    "cannot list the imported modules: serving cold");
	else if (b.newest >= ns(&t0) - RACY_SECONDS * 1000000000LL) {
		/*
		 * A file changed so recently that another change within the
		 * same clock tick would not show: this import is not
		 * trusted.  Hold the lock until it would be, then go.
		 */
		t = (b.newest - ns(&t0)) / 1000000 + RACY_SECONDS * 1000LL + 1;
		if (t > 0)
			(void)poll(NULL, 0, (int)t);
		_exit(0);
	}
	(void)sigemptyset(&sigs);
	(void)sigaddset(&sigs, SIGCHLD);
	(void)sigaddset(&sigs, SIGTERM);
	(void)sigaddset(&sigs, SIGINT);
	(void)sigaddset(&sigs, SIGHUP);
	(void)snprintf(name, sizeof(name), "%s.sock", w->name);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) < 0 ||
	    pipe2(b.done, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    (b.sigfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK)) < 0 ||
	    sock_path(w, w->dir, w->name, &sa) < 0 ||
	    (b.listen = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) < 0 ||
	    (unlinkat(w->dir, name, 0) < 0 && errno != ENOENT) ||
	    bind(b.listen, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(b.listen, SOMAXCONN) < 0)
		_exit(1);
	b.idle_at = now_ms() + (int64_t)w->idle * 1000;
	pages_init(&b);
	spares_make(&b);
	for (;;) {
		if (b.retiring && b.nkids == 0)
			_exit(0);
		p[P_SIG] = (struct pollfd){ b.sigfd, POLLIN, 0 };
		p[P_LISTEN] = (struct pollfd){ b.listen,
		    b.listen >= 0 && b.nkids < b.cap ? POLLIN : 0, 0 };
		p[P_DONE] = (struct pollfd){ b.done[0], POLLIN, 0 };
		np = P_KIDS;
		for (i = 0; i < b.nkids; i++)
			p[np++] = (struct pollfd){ b.kids[i].conn, POLLIN, 0 };
		t = -1;
		if (b.nkids == 0 && !b.retiring)
			t = b.idle_at - now_ms();
		for (i = 0; i < b.nkids; i++)
			if (b.kids[i].kill_at > 0 &&
			    (t < 0 || b.kids[i].kill_at - now_ms() < t))
				t = b.kids[i].kill_at - now_ms();
		if (poll(p, np, t < 0 ? -1 : (int)(t > 0 ? t : 0)) < 0 &&
		    errno != EINTR)
			_exit(1);
		if (p[P_SIG].revents != 0) {
			struct signalfd_siginfo	si;

			while (read(b.sigfd, &si, sizeof(si)) ==
			    (ssize_t)sizeof(si))
				if (si.ssi_signo != SIGCHLD)
					retire(&b);
			reap(&b);
		}
		if (p[P_DONE].revents != 0)
			answered(&b);
		/* The front ends: a signal to pass on, or gone. */
		for (i = 0; i < b.nkids && P_KIDS + i < np; i++) {
			struct warm_msg	m;
			int		n;

			if (p[P_KIDS + i].revents == 0 || b.kids[i].conn < 0 ||
			    b.kids[i].conn != p[P_KIDS + i].fd)
				continue;
			if (warm_recv(b.kids[i].conn, &m, NULL, 0, &n, 0) > 0) {
				if (m.type == WM_SIGNAL && (m.value == SIGTERM ||
				    m.value == SIGINT || m.value == SIGHUP))
					(void)kill(b.kids[i].pid, m.value);
				continue;
			}
			(void)close(b.kids[i].conn);
			b.kids[i].conn = -1;
			/* Gone after the answer: the front end's own end. */
			if (b.kids[i].done)
				continue;
			/* Gone before it: the server gave up. */
			(void)kill(b.kids[i].pid, SIGTERM);
			b.kids[i].kill_at = now_ms() + KILL_MS;
		}
		for (i = 0; i < b.nkids; i++)
			if (b.kids[i].kill_at > 0 &&
			    b.kids[i].kill_at <= now_ms()) {
				(void)kill(b.kids[i].pid, SIGKILL);
				b.kids[i].kill_at = 0;
			}
		if (p[P_LISTEN].revents != 0 && b.listen >= 0)
			accept_one(&b);
		if (b.nkids == 0 && !b.retiring && now_ms() >= b.idle_at)
			retire(&b);
	}
}

/* A file an import came from: its state now (ops->files()'s callback). */
static void
add_watch(void *arg, const char *path)
{
	struct backend	*b = arg;
	struct watch	*nw;
	struct stat	 st;
	size_t		 n, l;
	char		*np;
	bool		 polled;

	if (b->nwatch == WATCH_MAX || stat(path, &st) < 0)
		return;
	if (b->nwatch == b->watch_cap) {
		n = b->watch_cap == 0 ? 256 : b->watch_cap * 2;
		if ((nw = realloc(b->watch, n * sizeof(*nw))) == NULL) {
			b->nwatch = WATCH_MAX;
			return;
		}
		b->watch = nw;
		b->watch_cap = n;
	}
	l = strlen(path) + 1;
	if (b->paths_len + l > b->paths_cap) {
		n = (b->paths_len + l) * 2;
		if ((np = realloc(b->paths, n)) == NULL) {
			b->nwatch = WATCH_MAX;
			return;
		}
		b->paths = np;
		b->paths_cap = n;
	}
	memcpy(b->paths + b->paths_len, path, l);
	/* Watched first, then its state: a change between shows. */
	polled = b->inotify < 0 || !local_fs(st.st_dev, path) ||
	    inotify_add_watch(b->inotify, path, IN_MODIFY | IN_ATTRIB |
	    IN_MOVE_SELF | IN_DELETE_SELF | IN_CLOSE_WRITE) < 0;
	if (stat(path, &st) < 0) {
		b->nwatch = WATCH_MAX;
		return;
	}
	b->watch[b->nwatch].path = b->paths_len;
	b->watch[b->nwatch].st = st;
	b->watch[b->nwatch].polled = polled;
	b->npolled += polled;
	b->nwatch++;
	b->paths_len += l;
	if (ns(&st.st_mtim) > b->newest)
		b->newest = ns(&st.st_mtim);
	if (ns(&st.st_ctim) > b->newest)
		b->newest = ns(&st.st_ctim);
}

/*
 * An imported file changed (an edit, a file renamed over it, apt), or has
 * gone: the backend no longer has the code a cold request would run.
 */
static bool
stale(const struct backend *b)
{
	const struct stat	*o;
	struct stat		 st;
	char			 ev[4096];
	size_t			 i;

	/* An event, or an error reading them (even an overflow), is news. */
	if (b->inotify >= 0 && b->npolled < b->nwatch &&
	    (read(b->inotify, ev, sizeof(ev)) > 0 || errno != EAGAIN))
		return true;
	for (i = 0; i < b->nwatch && b->npolled > 0; i++) {
		if (!b->watch[i].polled)
			continue;
		o = &b->watch[i].st;
		if (stat(b->paths + b->watch[i].path, &st) < 0 ||
		    st.st_dev != o->st_dev || st.st_ino != o->st_ino ||
		    st.st_size != o->st_size ||
		    st.st_mtim.tv_sec != o->st_mtim.tv_sec ||
		    st.st_mtim.tv_nsec != o->st_mtim.tv_nsec ||
		    st.st_ctim.tv_sec != o->st_ctim.tv_sec ||
		    st.st_ctim.tv_nsec != o->st_ctim.tv_nsec)
			return true;
	}
	return false;
}

/*
 * A filesystem whose changes this kernel sees all of: not one that others
 * change too (NFS, SMB, FUSE, 9p, cluster filesystems), where inotify
 * misses their writes.  The answer for the last device is kept.
 */
static bool
local_fs(dev_t dev, const char *path)
{
	static const long	 remote[] = {
		0x6969,		/* NFS */
		0x517b,		/* SMB */
		(long)0xff534d42,	/* CIFS */
		(long)0xfe534d42,	/* SMB2 */
		0x65735546,	/* FUSE */
		0x01021997,	/* 9p */
		0x00c36400,	/* Ceph */
		0x5346414f,	/* AFS */
		0x73757245,	/* Coda */
		0x01161970,	/* GFS2 */
		0x7461636f,	/* OCFS2 */
		0x0bd00bd0,	/* Lustre */
		0x47504653,	/* GPFS */
	};
	static dev_t		 last_dev;
	static bool		 last_local, known;
	struct statfs		 sf;
	size_t			 i;

	if (known && dev == last_dev)
		return last_local;
	if (statfs(path, &sf) < 0)
		return false;
	last_local = true;
	for (i = 0; i < sizeof(remote) / sizeof(remote[0]); i++)
		if ((long)sf.f_type == remote[i])
			last_local = false;
	last_dev = dev;
	known = true;
	return last_local;
}

/* The process's threads, from /proc/self/status. */
static unsigned
threads(void)
{
	char		 line[256];
	unsigned	 n = 0;
	FILE		*f;

	if ((f = fopen("/proc/self/status", "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Threads: %u", &n) == 1)
			break;
	(void)fclose(f);
	return n;
}

/* A connection: this user's only; HELLO, then what it asks. */
static void
accept_one(struct backend *b)
{
	struct warm_msg	m;
	int		c, fds[WARM_NFDS], n = 0;

	if ((c = accept4(b->listen, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return;
	memset(&m, 0, sizeof(m));
	m.type = WM_HELLO;
	if (!same_user(c) || warm_send(c, &m, NULL, 0) < 0 ||
	    warm_recv(c, &m, fds, WARM_NFDS, &n, RECV_MS) <= 0) {
		(void)close(c);
		return;
	}
	b->idle_at = now_ms() + (int64_t)b->w->idle * 1000;
	switch (m.type) {
	case WM_REQUEST:
		if (n == WARM_NFDS) {
			request(b, c, &m, fds);
			return;
		}
		break;
	case WM_STOP:
		retire(b);
		/* FALLTHROUGH */
	case WM_QUERY:
		info(b, &m);
		if (warm_send(c, &m, NULL, 0) == 0 && m.type == WM_STOP &&
		    b->nwaiters < WAITERS_MAX) {
			/* --warm-stop waits for the end (EOF). */
			b->waiters[b->nwaiters++] = c;
			warm_close_fds(fds, n);
			return;
		}
		break;
	default:
		break;
	}
	warm_close_fds(fds, n);
	(void)close(c);
}

static void
info(const struct backend *b, struct warm_msg *m)
{
	int	type = m->type;

	memset(m, 0, sizeof(*m));
	m->type = WM_INFO;
	m->value = (int32_t)getpid();
	m->running = (uint32_t)b->nkids;
	m->served = b->served;
	m->since = b->since;
	(void)snprintf(m->text, sizeof(m->text), "%s", b->refusal);
	/* The caller tells STOP from QUERY by it. */
	m->type = (uint16_t)(type == WM_STOP ? WM_STOP : WM_INFO);
}

/*
 * REQUEST: this backend's script only; COLD when the backend cannot serve
 * it as a cold process would (its imports' files changed, or a refusal,
 * said to the first front end only); else a child.
 */
static void
request(struct backend *b, int c, struct warm_msg *m, int *fds)
{
	struct warm_msg	r;
	pid_t		pid;
	int		all[WARM_MAX_FDS];

	memset(&r, 0, sizeof(r));
	r.type = WM_COLD;
	if (strcmp(m->text, b->w->script) != 0 || b->retiring)
		goto cold;
	if (b->refusal[0] != '\0') {
		if (!b->refused_said)
			(void)snprintf(r.text, sizeof(r.text), "%s",
			    b->refusal);
		b->refused_said = true;
		if (stale(b))
			retire(b);
		goto cold;
	}
	if (stale(b)) {
		retire(b);
		goto cold;
	}
	/*
	 * Its written pages are worth learning only while spares are made,
	 * and then only now and then: they hardly change.
	 */
	m->running = b->nkids <= 2 && (b->served < LEARN_FIRST ||
	    b->served % LEARN_EVERY == 0);
	pid = -1;
	if (b->nspares > 0) {
		/* The oldest spare takes it: the fork was done before. */
		pid = b->spares[0].pid;
		all[0] = c;
		memcpy(all + 1, fds, sizeof(int) * WARM_NFDS);
		if (warm_send(b->spares[0].sock, m, all, WARM_MAX_FDS) < 0) {
			(void)kill(pid, SIGKILL);
			pid = -1;
		}
		spare_drop(b, 0);
	}
	if (pid <= 0) {
		b->ops->fork(b->ops->ctx, WARM_FORK_BEFORE);
		pid = fork();
		if (pid == 0) {
			child_setup(b);
			/* No spare was ready: one more would have been. */
			run_child(b, c, m, fds, true);
		}
		b->ops->fork(b->ops->ctx, WARM_FORK_PARENT);
		if (pid < 0)
			goto cold;
	}
	warm_close_fds(fds, WARM_NFDS);
	b->kids[b->nkids].pid = pid;
	b->kids[b->nkids].conn = c;
	b->kids[b->nkids].kill_at = 0;
	b->kids[b->nkids].done = false;
	b->nkids++;
	b->served++;
	return;
cold:
	(void)warm_send(c, &r, NULL, 0);
	warm_close_fds(fds, WARM_NFDS);
	(void)close(c);
}

/*
 * The next request's child, forked ahead (one at a time): it waits for
 * the request, with its connection, on a socket pair; an EOF there (the
 * backend retired or died) ends it.
 */
static bool
spare_start(struct backend *b)
{
	struct warm_msg	m;
	int		sv[2], fds[WARM_MAX_FDS], n = 0;
	bool		hurried;
	pid_t		pid;

	if (b->nspares >= b->want || b->retiring || b->refusal[0] != '\0' ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return false;
	b->ops->fork(b->ops->ctx, WARM_FORK_BEFORE);
	pid = fork();
	if (pid == 0) {
		(void)close(sv[0]);
		child_setup(b);
		hurried = !pages_copy(b, sv[1]);
		if (warm_recv(sv[1], &m, fds, WARM_MAX_FDS, &n, -1) <= 0 ||
		    m.type != WM_REQUEST || n != WARM_MAX_FDS)
			_exit(0);
		(void)close(sv[1]);
		run_child(b, fds[0], &m, fds + 1, hurried);
	}
	b->ops->fork(b->ops->ctx, WARM_FORK_PARENT);
	(void)close(sv[1]);
	if (pid < 0) {
		(void)close(sv[0]);
		return false;
	}
	b->spares[b->nspares].pid = pid;
	b->spares[b->nspares].sock = sv[0];
	b->nspares++;
	return true;
}

/* Spare i leaves the list (its request sent, or it ended). */
static void
spare_drop(struct backend *b, size_t i)
{
	(void)close(b->spares[i].sock);
	memmove(b->spares + i, b->spares + i + 1,
	    (--b->nspares - i) * sizeof(b->spares[0]));
}

/*
 * The spares wanted, made while no child serves a request: one, or two
 * while requests come back to back (a spare still copying when its
 * request came): the second has had a whole request's time to copy.
 */
static void
spares_make(struct backend *b)
{
	while (b->nspares < b->want && spare_start(b))
		;
}

/*
 * Copy-on-write: a child's first write to each page it shares with the
 * backend costs a fault and a copy, a few microseconds each, and a
 * framework's request writes to about a thousand pages (reference
 * counts).  Children say which pages they wrote (present and exclusively
 * theirs in /proc/self/pagemap) in a shared bitmap; a spare, waiting for
 * its request, takes those copies ahead (MADV_POPULATE_WRITE, which skips
 * what is not mapped).  Not under the sanitizers, whose shadow mappings
 * are vast.
 */
static void
pages_init(struct backend *b)
{
#ifndef WSGI_CGI_SANITIZE
	char		 line[512], perms[8];
	unsigned long	 lo, hi;
	size_t		 pages;
	long		 psz = sysconf(_SC_PAGESIZE);
	FILE		*f;

	if (psz <= 0 || (f = fopen("/proc/self/maps", "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL &&
	    b->nregions < REGIONS_MAX) {
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 ||
		    strcmp(perms, "rw-p") != 0 || hi <= lo)
			continue;
		pages = (hi - lo) / (unsigned long)psz;
		if (pages > REGION_PAGES)
			continue;
		b->regions[b->nregions].start = lo;
		b->regions[b->nregions].end = hi;
		b->regions[b->nregions].bit = b->npages;
		b->nregions++;
		b->npages += pages;
	}
	(void)fclose(f);
	if (b->npages == 0 || (b->dirty = mmap(NULL, (b->npages + 7) / 8,
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)) ==
	    MAP_FAILED) {
		b->dirty = NULL;
		b->nregions = 0;
	}
#else
	(void)b;
#endif
}

/* In a child, its response sent: the pages it wrote, into the bitmap. */
static void
pages_learn(const struct backend *b)
{
	uint64_t	 e[512];
	size_t		 r, i, n, page, want;
	long		 psz = sysconf(_SC_PAGESIZE);
	ssize_t		 got;
	int		 fd;

	if (b->dirty == NULL || psz <= 0 ||
	    (fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)) < 0)
		return;
	for (r = 0; r < b->nregions; r++) {
		n = (b->regions[r].end - b->regions[r].start) / (size_t)psz;
		for (page = 0; page < n; page += (size_t)got / sizeof(e[0])) {
			want = n - page < 512 ? n - page : 512;
			got = pread(fd, e, want * sizeof(e[0]), (off_t)(
			    (b->regions[r].start / (size_t)psz + page) *
			    sizeof(e[0])));
			if (got <= 0)
				break;
			for (i = 0; i < (size_t)got / sizeof(e[0]); i++)
				/* Present (bit 63), exclusively mapped (56). */
				if ((e[i] >> 63 & 1) && (e[i] >> 56 & 1)) {
					size_t	bit = b->regions[r].bit +
					    page + i;

					b->dirty[bit / 8] |= (unsigned char)
					    (1u << (bit % 8));
				}
		}
	}
	(void)close(fd);
}

/*
 * In a spare: the pages children wrote, copied now, in runs, until its
 * request comes on sock (then the rest are copied as they are written);
 * true when all were.  (At normal priority: a thread at idle priority
 * could not be stopped in time on a busy machine.)
 */
static bool
pages_copy(const struct backend *b, int sock)
{
	struct pollfd	pfd;
	size_t		r, i, n, run, copied = 0;
	long		psz = sysconf(_SC_PAGESIZE);

	if (b->dirty == NULL || psz <= 0)
		return true;
	pfd.fd = sock;
	pfd.events = POLLIN;
	for (r = 0; r < b->nregions; r++) {
		n = (b->regions[r].end - b->regions[r].start) / (size_t)psz;
		for (i = 0; i < n; i += run > 0 ? run : 1) {
			for (run = 0; i + run < n && copied + run < COPY_PAGES;
			    run++) {
				size_t	bit = b->regions[r].bit + i + run;

				if (!(b->dirty[bit / 8] >> (bit % 8) & 1))
					break;
			}
			if (run == 0)
				continue;
			(void)madvise((void *)(b->regions[r].start +
			    i * (size_t)psz), run * (size_t)psz,
			    MADV_POPULATE_WRITE);
			if ((copied += run) >= COPY_PAGES) {
				if (poll(&pfd, 1, 0) != 0)
					return false;
				copied = 0;
			}
		}
	}
	return true;
}

/* A new child: Python's at-fork hooks; none of the backend's files. */
static void
child_setup(struct backend *b)
{
	sigset_t	none;
	size_t		i;

	b->ops->fork(b->ops->ctx, WARM_FORK_CHILD);
	(void)prctl(PR_SET_NAME, "wsgi-cgi", 0, 0, 0);
	(void)close(b->listen);
	(void)close(b->sigfd);
	(void)close(b->lock);
	(void)close(b->inotify);
	(void)close(b->done[0]);
	for (i = 0; i < b->nspares; i++)
		(void)close(b->spares[i].sock);
	for (i = 0; i < b->nkids; i++)
		if (b->kids[i].conn >= 0)
			(void)close(b->kids[i].conn);
	for (i = 0; i < b->nwaiters; i++)
		(void)close(b->waiters[i]);
	(void)sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * The child: the request's descriptors, directory, umask, argv, env.
 * hurried: it came before this child was ready (no spare, or one still
 * copying).
 */
static void
run_child(struct backend *b, int c, const struct warm_msg *m, int *fds,
    bool hurried)
{
	struct warm_msg	 r;
	struct answer	 a;
	char		**argv, **envp;
	size_t		 i;
	int		 argc, rc;

	/* Not started: the backend's STATUS will say so, and it is cold. */
	if (warm_blob_read(fds[4], &argv, &argc, &envp) < 0)
		_exit(1);
	memset(&r, 0, sizeof(r));
	r.type = WM_STARTED;
	r.value = (int32_t)getpid();
	if (warm_send(c, &r, NULL, 0) < 0)
		_exit(1);
	if (dup2(fds[0], STDIN_FILENO) < 0 || dup2(fds[1], STDOUT_FILENO) < 0 ||
	    dup2(fds[2], STDERR_FILENO) < 0 || fchdir(fds[3]) < 0)
		_exit(1);
	for (i = 0; i < WARM_NFDS; i++)
		if (fds[i] > STDERR_FILENO)
			(void)close(fds[i]);
	(void)umask((mode_t)m->value & 0777);
	rc = b->ops->child(b->ops->ctx, argc, argv, envp);
	memset(&r, 0, sizeof(r));
	r.type = WM_STATUS;
	r.value = (rc & 0xff) << 8;
	(void)warm_send(c, &r, NULL, 0);
	/* The front end has its answer: now, for the next child. */
	if (m->running)
		pages_learn(b);
	/* And the backend may make the next spare. */
	a.pid = (int32_t)getpid();
	a.hurried = hurried;
	(void)write(b->done[1], &a, sizeof(a));
#ifdef WSGI_CGI_SANITIZE
	exit(rc);
#else
	_exit(rc);
#endif
}

/* Children that ended: their status to their front ends. */
static void
reap(struct backend *b)
{
	struct warm_msg	m;
	pid_t		pid;
	size_t		i;
	int		st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (i = 0; i < b->nspares && b->spares[i].pid != pid; i++)
			;
		if (i < b->nspares) {
			spare_drop(b, i);
			continue;
		}
		for (i = 0; i < b->nkids && b->kids[i].pid != pid; i++)
			;
		if (i == b->nkids)
			continue;
		if (b->kids[i].conn >= 0) {
			memset(&m, 0, sizeof(m));
			m.type = WM_STATUS;
			m.value = st;
			(void)warm_send(b->kids[i].conn, &m, NULL, 0);
			(void)close(b->kids[i].conn);
		}
		b->kids[i] = b->kids[--b->nkids];
	}
	/* The next spare is made while no request needs the CPUs. */
	if (busy(b) == 0)
		spares_make(b);
}

/*
 * Children that have answered their requests (their pids on the done
 * pipe): they are ending, so the next spare is made now, as the last
 * one's process goes, not while it serves.
 */
static void
answered(struct backend *b)
{
	struct answer	a[64];
	ssize_t		n;
	size_t		i, k;

	/* Records of a pipe write's atomic size: read whole. */
	while ((n = read(b->done[0], a, sizeof(a))) > 0)
		for (k = 0; k < (size_t)n / sizeof(a[0]); k++) {
			/* Back to back: two spares; else one. */
			b->want = a[k].hurried ? SPARES_MAX : 1;
			for (i = 0; i < b->nkids; i++)
				if (b->kids[i].pid == (pid_t)a[k].pid)
					b->kids[i].done = true;
		}
	if (busy(b) == 0)
		spares_make(b);
}

/* The children still serving their requests. */
static size_t
busy(const struct backend *b)
{
	size_t	i, n = 0;

	for (i = 0; i < b->nkids; i++)
		if (!b->kids[i].done)
			n++;
	return n;
}

/*
 * No new requests: the socket and the lock go at once (a new backend may
 * start); the children finish, then the process ends.
 */
static void
retire(struct backend *b)
{
	char	name[WARM_NAME_MAX + 8];

	if (b->retiring)
		return;
	b->retiring = true;
	(void)snprintf(name, sizeof(name), "%s.sock", b->w->name);
	(void)unlinkat(b->w->dir, name, 0);
	(void)close(b->listen);
	b->listen = -1;
	(void)close(b->lock);
	b->lock = -1;
	/* The spares see EOF and end. */
	while (b->nspares > 0)
		spare_drop(b, b->nspares - 1);
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
