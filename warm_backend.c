/*
 * Warm start's backend: one per script, configuration and user, started
 * by a cold request (warm_spawn), it loads the script's imports, then
 * accepts front ends and forks a child per request (or hands it to a spare
 * forked ahead), until idle, stale or stopped.  The wire is warm_wire.c's,
 * the pages warm_pages.c's, the watched files warm_watch.c's.
 * SPDX-License-Identifier: MIT
 */
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

#include "files.h"
#include "warm.h"
#include "warm_backend.h"
#include "warm_wire.h"

#define RECV_MS		1000	/* a front end's request after HELLO */
#define KILL_MS		3000	/* SIGTERM, then SIGKILL, as Apache does */
#define CHILDREN_MIN	8
#define LEARN_FIRST	16	/* children that say which pages they wrote, */
#define LEARN_EVERY	32	/* and then one in so many */
#define KEEP_VARS	"PATH\0HOME\0LANG\0LANGUAGE\0TZ\0TMPDIR\0USER\0LOGNAME\0"

/* The backend's poll(2) set: these, then the front ends' connections. */
enum { P_SIG, P_LISTEN, P_DONE, P_KIDS };

static void	 detach(const int *, size_t);
static void	 clean_env(void);
static void	 backend(struct warm *, int, const struct warm_ops *);
static unsigned	 threads(void);
static void	 backend_check(struct backend *);
static void	 backend_open(struct backend *);
static void	 front_ends(struct backend *, const struct pollfd *, size_t);
static void	 accept_one(struct backend *);
static void	 info(const struct backend *, struct warm_msg *);
static void	 request(struct backend *, int, struct warm_msg *, int *);
static bool	 spare_start(struct backend *);
static void	 spare_drop(struct backend *, size_t);
static void	 spares_make(struct backend *);
static void	 child_setup(struct backend *);
static void	 run_child(struct backend *, int, const struct warm_msg *,
		    int *, bool);
static void	 reap(struct backend *);
static void	 answered(struct backend *);
static size_t	 busy(const struct backend *);
static void	 retire(struct backend *);

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

/* The backend's life; it never returns. */
static void
backend(struct warm *w, int lock, const struct warm_ops *ops)
{
	struct backend		 b;
	struct pollfd		*p;
	size_t			 i, np;
	int64_t			 t;
	long			 cpus = sysconf(_SC_NPROCESSORS_ONLN);

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
	backend_check(&b);
	backend_open(&b);
	b.idle_at = warm_now_ms() + (int64_t)w->idle * 1000;
	warm_pages_init(&b);
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
			t = b.idle_at - warm_now_ms();
		for (i = 0; i < b.nkids; i++)
			if (b.kids[i].kill_at > 0 &&
			    (t < 0 || b.kids[i].kill_at - warm_now_ms() < t))
				t = b.kids[i].kill_at - warm_now_ms();
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
		front_ends(&b, p, np);
		for (i = 0; i < b.nkids; i++)
			if (b.kids[i].kill_at > 0 &&
			    b.kids[i].kill_at <= warm_now_ms()) {
				(void)kill(b.kids[i].pid, SIGKILL);
				b.kids[i].kill_at = 0;
			}
		if (p[P_LISTEN].revents != 0 && b.listen >= 0)
			accept_one(&b);
		if (b.nkids == 0 && !b.retiring && warm_now_ms() >= b.idle_at)
			retire(&b);
	}
}

/*
 * The script loaded, or why not (b->refusal, which the front ends are
 * told); a backend whose imports are too fresh to trust ends here.
 */
static void
backend_check(struct backend *b)
{
	const struct warm_ops	*ops = b->ops;
	struct timespec		 t0;
	int64_t			 t;

	(void)clock_gettime(CLOCK_REALTIME, &t0);
	b->since = t0.tv_sec;
	if (ops->start(ops->ctx, b->w->script, b->refusal,
	    sizeof(b->refusal)) < 0)
		return;
	if (threads() > 1)
		(void)snprintf(b->refusal, sizeof(b->refusal), "warm start: "
		    "the script's imports started threads, and a process "
		    "with threads cannot fork safely: serving cold");
	else if (ops->files(ops->ctx, warm_watch_add, b) < 0 ||
	    b->nwatch == WATCH_MAX)
		(void)snprintf(b->refusal, sizeof(b->refusal), "warm start: "
		    "cannot list the imported modules: serving cold");
	else if (b->newest >= warm_ns(&t0) - FILES_RACY_SECONDS *
	    1000000000LL) {
		/*
		 * A file changed so recently that another change within the
		 * same clock tick would not show: this import is not
		 * trusted.  Hold the lock until it would be, then go.
		 */
		t = (b->newest - warm_ns(&t0)) / 1000000 +
		    FILES_RACY_SECONDS * 1000LL + 1;
		if (t > 0)
			(void)poll(NULL, 0, (int)t);
		_exit(0);
	}
}

/* Its signals as a descriptor, the children's pipe, the socket. */
static void
backend_open(struct backend *b)
{
	struct sockaddr_un	sa;
	sigset_t		sigs;
	char			name[WARM_NAME_MAX + 8];

	(void)sigemptyset(&sigs);
	(void)sigaddset(&sigs, SIGCHLD);
	(void)sigaddset(&sigs, SIGTERM);
	(void)sigaddset(&sigs, SIGINT);
	(void)sigaddset(&sigs, SIGHUP);
	(void)snprintf(name, sizeof(name), "%s.sock", b->w->name);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) < 0 ||
	    pipe2(b->done, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    (b->sigfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK)) < 0 ||
	    warm_sock_path(b->w, b->w->dir, b->w->name, &sa) < 0 ||
	    (b->listen = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) < 0 ||
	    (unlinkat(b->w->dir, name, 0) < 0 && errno != ENOENT) ||
	    bind(b->listen, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(b->listen, SOMAXCONN) < 0)
		_exit(1);
}

/* The front ends that spoke: a signal to pass on, or gone. */
static void
front_ends(struct backend *b, const struct pollfd *p, size_t np)
{
	struct warm_msg	m;
	size_t		i;
	int		n;

	for (i = 0; i < b->nkids && P_KIDS + i < np; i++) {
		if (p[P_KIDS + i].revents == 0 || b->kids[i].conn < 0 ||
		    b->kids[i].conn != p[P_KIDS + i].fd)
			continue;
		if (warm_recv(b->kids[i].conn, &m, NULL, 0, &n, 0) > 0) {
			if (m.type == WM_SIGNAL && (m.value == SIGTERM ||
			    m.value == SIGINT || m.value == SIGHUP))
				(void)kill(b->kids[i].pid, m.value);
			continue;
		}
		(void)close(b->kids[i].conn);
		b->kids[i].conn = -1;
		/* Gone after the answer: the front end's own end. */
		if (b->kids[i].done)
			continue;
		/* Gone before it: the server gave up. */
		(void)kill(b->kids[i].pid, SIGTERM);
		b->kids[i].kill_at = warm_now_ms() + KILL_MS;
	}
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
	if (!warm_same_user(c) || warm_send(c, &m, NULL, 0) < 0 ||
	    warm_recv(c, &m, fds, WARM_NFDS, &n, RECV_MS) <= 0) {
		(void)close(c);
		return;
	}
	b->idle_at = warm_now_ms() + (int64_t)b->w->idle * 1000;
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
		if (warm_stale(b))
			retire(b);
		goto cold;
	}
	if (warm_stale(b)) {
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
		hurried = !warm_pages_copy(b, sv[1]);
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
	ssize_t		 w;
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
		warm_pages_learn(b);
	/* And the backend may make the next spare. */
	a.pid = (int32_t)getpid();
	a.hurried = hurried;
	/* A full pipe already says a child is done. */
	w = write(b->done[1], &a, sizeof(a));
	(void)w;
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

int64_t
warm_now_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
