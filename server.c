/*
 * Server modes' processes: the master and the workers that share the
 * listening sockets (sockets.c), graceful stop and reload, and the signals
 * behind them (as nginx's ngx_process_cycle.c); --user, --stats's socket,
 * --access-log and systemd's notifications around them.  A worker's
 * connections are room.c's; requests reach the caller's handle() through
 * the protocol files.  No Python.
 * SPDX-License-Identifier: MIT
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>


#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "access_log.h"
#include "board.h"
#include "conn.h"
#include "metrics.h"
#include "room.h"
#include "server.h"
#include "sockets.h"
#include "systemd.h"
#include "user.h"

#define RESPAWN_PAUSE	1	/* seconds between crashing workers */

static int	 user_check(const struct srv_options *, struct user *);
static int	 open_extras(const struct srv_options *);
static int	 become(const struct srv_options *, const struct user *, bool);
static void	 on_signal(int);
static int	 catch_signals(bool);
static int	 master(const struct srv_options *);
static pid_t	 spawn(const struct srv_options *, unsigned);
static void	 stop_all(pid_t *, unsigned);
static void	 reap(const struct srv_options *, pid_t *, time_t *,
		    unsigned long long *);
static int	 worker(const struct srv_options *, bool);
static void	 reexec(const struct srv_options *);
static void	 notify_ready(const struct srv_options *);
static const char *where(const struct srv_options *, char *, size_t);
static void	 notify_reloading(void);
/* In the environment of the image a reload or a renewal executes. */
#define AGAIN	"WSGI_CGI_AGAIN"

static volatile sig_atomic_t	 stopping, reloading, child_exited, reopening;
/* systemd's STATUS=: on in the process it started; what it said last. */
static bool			 status_on;
static time_t			 status_at;
static unsigned			 status_busy = UINT_MAX;
static unsigned long long	 status_served;
static const struct srv_options	*status_o;
static int			 stats_fd = -1;	/* --stats, the master's */
/* Either of the first two, in a serving process: what a response reads. */
static volatile sig_atomic_t	 ending;

/* A stop or a reload has come: what the process serves is its last. */
bool
server_ending(void)
{
	return stopping || reloading;
}

/* A stop (SIGTERM or SIGINT), not a reload, has come. */
bool
server_stopping(void)
{
	return stopping;
}

/* The flag a response reads to say its connection closes after it. */
const volatile sig_atomic_t *
server_stop_flag(void)
{
	return &ending;
}

/*
 * Serves until a SIGTERM: the listening socket on fd 0 (bound here for
 * --listen), one process or a master and its workers.
 */
int
server_run(const struct srv_options *given)
{
	struct srv_options	 so = *given, *o = &so;
	sigset_t		 ours;
	struct user		 u;
	int			 fd, rc;
	bool			 again = getenv(AGAIN) != NULL;

	sigemptyset(&ours);
	sigaddset(&ours, SIGTERM);
	sigaddset(&ours, SIGINT);
	sigaddset(&ours, SIGHUP);
	sigaddset(&ours, SIGUSR1);
	sigaddset(&ours, SIGCHLD);	/* a master's reload had it blocked */

	(void)unsetenv(AGAIN);
	if (user_check(o, &u) < 0 || sockets_take(o, again) < 0 ||
	    open_extras(o) < 0 || become(o, &u, again) < 0)
		return 2;
	if (catch_signals(o->workers > 1 || o->stats != NULL) < 0)
		err(2, "sigaction");
	/*
	 * A reload executes us with these blocked, so that one that came
	 * meanwhile waited, pending, for the handlers: now it is seen.
	 */
	(void)sigprocmask(SIG_UNBLOCK, &ours, NULL);
	/* A FastCGI request's stderr is its own; the server's stays ours. */
	if ((fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3)) >= 0)
		conn_log_to(fd);
	/* --stats is answered by a master, even of one worker. */
	rc = o->workers > 1 || o->stats != NULL ? master(o) : worker(o, false);
	sockets_unlink();
	return rc;
}

/* --user's USER[:GROUP] into *u, checked before anything is bound. */
static int
user_check(const struct srv_options *o, struct user *u)
{
	char	reason[256];

	memset(u, 0, sizeof(*u));
	if (o->user == NULL)
		return 0;
	if (user_lookup(o->user, u, reason, sizeof(reason)) < 0) {
		warnx("%s", reason);
		return -1;
	}
	/* The image a reload executes is that user already. */
	if (getuid() != 0 && getuid() != u->uid) {
		warnx("--user %s: only root can change its user", o->user);
		return -1;
	}
	return 0;
}

/*
 * What the master has besides: --stats's socket, the board its workers
 * count on (which --stats and systemd's STATUS= read), and --access-log's
 * file, opened before --user takes effect (a directory only root may
 * write is fine).
 */
static int
open_extras(const struct srv_options *o)
{
	int	fl;

	if (o->stats != NULL) {
		if (sockets_unix_addr(o->stats)) {
			warnx("--stats %s: HOST:PORT, not a Unix socket",
			    o->stats);
			return -1;
		}
		if ((stats_fd = sockets_inet(o->stats)) < 0)
			return -1;
		fl = fcntl(stats_fd, F_GETFL);
		(void)fcntl(stats_fd, F_SETFL, fl | O_NONBLOCK);
	}
	/* The process systemd started tells it its state (Type=notify). */
	status_on = sd_notify_open() && board_open(o->workers);
	if (o->stats != NULL && !board_open(o->workers)) {
		warn("--stats");
		return -1;
	}
	if (access_log_open(o->access_log) < 0) {
		warn("--access-log=%s", o->access_log);
		return -1;
	}
	return 0;
}

/*
 * --user: the socket is bound; the process takes u's identity before the
 * application loads.  Without it, a server that bound its own socket (or
 * was given systemd's) as root says so once: a socket a web server hands
 * over is that server's choice of user.
 */
static int
become(const struct srv_options *o, const struct user *u, bool kept)
{
	char	reason[256];

	if (o->user != NULL && getuid() == 0) {
		/* A socket is the user's, and its group's (--socket-mode). */
		sockets_chown(o->user, u->uid, u->gid);
		if (user_become(u, reason, sizeof(reason)) < 0) {
			warnx("%s", reason);
			return -1;
		}
	} else if (o->user == NULL && getuid() == 0 && !kept &&
	    (o->nlisten > 0 || sd_listen_adopted()))
		warnx("the application runs as root: --user USER runs it as "
		    "USER once the socket is bound");
	return 0;
}

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		reopening = 1;
	else if (sig == SIGHUP)
		reloading = ending = 1;
	else if (sig == SIGCHLD)
		child_exited = 1;
	else {
		if (!stopping)
			sd_notify("STOPPING=1");
		stopping = ending = 1;
	}
}

/*
 * SIGTERM and SIGINT stop gracefully, SIGHUP reloads; without SA_RESTART,
 * so that a worker waiting in accept(2) sees them at once.
 */
static int
catch_signals(bool is_master)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 ||
	    sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGHUP, &sa, NULL) < 0 ||
	    sigaction(SIGUSR1, &sa, NULL) < 0)
		return -1;
	if (is_master && sigaction(SIGCHLD, &sa, NULL) < 0)
		return -1;
	return 0;
}

/*
 * The master: loads the application once, so that its workers share the
 * pages it imported, and forks o->workers workers; replaces one that exits;
 * passes a SIGTERM on (each finishes its request).  SIGHUP stops the
 * workers gracefully and executes the master again, which loads everything
 * afresh; meanwhile connections wait in the listening socket's queue.
 */
static int
master(const struct srv_options *o)
{
	pid_t		*pids;
	time_t		*born;
	sigset_t	 block, old;
	unsigned	 i;
	bool		 ready = false;
	struct timespec	 tick = { 1, 0 };
	struct pollfd	 sp = { stats_fd, POLLIN, 0 };
	/* What --stats says besides the board; renewals counted here. */
	struct metrics_master m = { o->workers, o->threads > 0 ?
			    o->threads : 1, NULL, { 0 }, { 0 }, o->nsockets };

	if (o->init(o->ctx) < 0)
		return 1;
	if ((pids = calloc(o->workers, sizeof(*pids))) == NULL ||
	    (born = calloc(o->workers, sizeof(*born))) == NULL)
		err(2, "calloc");
	m.pids = pids;
	for (i = 0; i < o->nsockets; i++)
		m.listen_fds[i] = o->sockets[i].fd;
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR1);
	(void)sigprocmask(SIG_BLOCK, &block, &old);
	for (;;) {
		for (i = 0; !stopping && i < o->workers; i++) {
			if (pids[i] > 0)
				continue;
			/* A worker that dies at once is not a busy loop. */
			if (born[i] != 0 && time(NULL) - born[i] < RESPAWN_PAUSE)
				(void)sleep(RESPAWN_PAUSE);
			born[i] = time(NULL);
			pids[i] = spawn(o, i);
		}
		if (!ready) {
			ready = true;
			notify_ready(o);
		}
		/* A stop that came with the reload wins over it. */
		if (reloading && !stopping) {
			notify_reloading();
			reloading = 0;
			stop_all(pids, o->workers);
			if (!stopping)
				reexec(o);
			continue;
		}
		if (stopping) {
			/* The workers take what is queued, then close too. */
			sockets_let_go(o);
			break;
		}
		/* A signal, or a second for systemd's STATUS= line. */
		if (!child_exited) {
			sp.revents = 0;
			(void)ppoll(&sp, stats_fd >= 0, status_on ? &tick :
			    NULL, &old);
			if (sp.revents != 0)
				metrics_answer(stats_fd, &m);
			/* The workers write the log: each reopens it. */
			if (reopening)
				for (i = 0; i < o->workers; i++)
					if (pids[i] > 0)
						(void)kill(pids[i], SIGUSR1);
			server_tick();
		}
		child_exited = 0;
		reap(o, pids, born, m.renewals);
	}
	stop_all(pids, o->workers);
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	free(pids);
	free(born);
	sockets_unlink();
	return o->fini(o->ctx, 0);
}

/* SIGTERM to every worker, and wait until they have all finished. */
static void
stop_all(pid_t *pids, unsigned n)
{
	unsigned	i;
	pid_t		pid;
	int		status;

	for (i = 0; i < n; i++)
		if (pids[i] > 0) {
			(void)kill(pids[i], SIGTERM);
			pids[i] = 0;
		}
	do
		pid = wait(&status);
	while (pid > 0 || (pid < 0 && errno == EINTR));
}

static pid_t
spawn(const struct srv_options *o, unsigned slot)
{
	sigset_t	none;
	pid_t		pid;

	o->fork(o->ctx, SRV_FORK_BEFORE);
	if ((pid = fork()) < 0) {
		warn("fork");
		o->fork(o->ctx, SRV_FORK_PARENT);
		return 0;
	}
	o->fork(o->ctx, pid == 0 ? SRV_FORK_CHILD : SRV_FORK_PARENT);
	if (pid == 0) {
		stopping = reloading = child_exited = ending = 0;
		sockets_forget();
		sd_notify_close();
		if (stats_fd >= 0)
			(void)close(stats_fd);
		stats_fd = -1;
		status_on = false;
		board_take(slot);
		(void)signal(SIGCHLD, SIG_DFL);
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		_exit(worker(o, true));
	}
	return pid;
}

/*
 * A serving process: starts the application, then serves the connections
 * in its room (room.c) until stopped.  Alone (no master) it executes
 * itself again to reload or after --max-requests, keeping the listening
 * socket.
 */
static int
worker(const struct srv_options *o, bool under_master)
{
	unsigned	i;
	int		fl;

	/* A worker of a master has the application already. */
	if (!under_master) {
		if (o->init(o->ctx) < 0)
			return 1;
		board_take(0);
		notify_ready(o);
	}
	/* The sockets are non-blocking: the room waits in poll(2). */
	for (i = 0; i < o->nsockets; i++)
		if ((fl = fcntl(o->sockets[i].fd, F_GETFL)) >= 0)
			(void)fcntl(o->sockets[i].fd, F_SETFL, fl | O_NONBLOCK);
	/* A request left behind on a thread: no waiting for it at the end. */
	if (!room_run(o)) {
		if (!under_master && !stopping)
			reexec(o);
		if (!under_master)
			sockets_unlink();
		return 0;
	}
	if (!stopping && !under_master) {
		if (reloading)
			notify_reloading();
		reexec(o);
		if (!stopping)
			return 1;
	}
	/* The socket goes before the process, whose end may not return. */
	if (!under_master)
		sockets_unlink();
	return o->fini(o->ctx, 0);
}

/*
 * The process executes itself again, keeping the listening socket on fd 0
 * and SIGTERM, SIGINT and SIGHUP blocked across execv(2): a signal that
 * comes before the new image has its handlers stays pending for them,
 * instead of killing it (its default action) or being lost.
 */
static void
reexec(const struct srv_options *o)
{
	sigset_t	block, old;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR1);
	(void)sigprocmask(SIG_BLOCK, &block, &old);
	/* A stop that came while this one was ending is not lost. */
	if (stopping) {
		(void)sigprocmask(SIG_SETMASK, &old, NULL);
		return;
	}
	/* The sockets after the first are kept open for the new image. */
	sockets_keep(o, true);
	sd_listen_again();
	(void)setenv(AGAIN, "1", 1);
	(void)execv("/proc/self/exe", o->argv);
	(void)unsetenv(AGAIN);
	sockets_keep(o, false);
	warn("cannot execute again to reload");
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
}

/* systemd (Type=notify): the application is loaded, and served. */
static void
notify_ready(const struct srv_options *o)
{
	char	w[512];

	status_o = o;
	sd_notifyf("READY=1\nSTATUS=serving %s with %u worker%s of %u "
	    "thread%s", where(o, w, sizeof(w)), o->workers, o->workers == 1 ? "" : "s",
	    o->threads > 0 ? o->threads : 1, o->threads > 1 ? "s" : "");
}

/* What the server serves, for a person: its addresses, into buf. */
static const char *
where(const struct srv_options *o, char *buf, size_t size)
{
	size_t	k, len = 0;

	if (sd_listen_adopted())
		return o->nsockets == 1 ? "the socket from systemd" :
		    "the sockets from systemd";
	if (o->nlisten == 0)
		return "fd 0";
	buf[0] = '\0';
	for (k = 0; k < o->nlisten && len < size; k++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s",
		    k == 0 ? "" : " and ", o->listen[k]);
	return buf;
}

/*
 * Between turns of a serving loop, and of the master's: a SIGUSR1's
 * reopening of the access log; systemd's STATUS= line, when the board has
 * changed, once a second at most (the requests in flight of what can run
 * at once, and the requests served), in the process systemd started
 * alone.  Cheap to call often.
 */
void
server_tick(void)
{
	const struct srv_options	*o = status_o;
	unsigned long long		 served;
	unsigned			 busy, threads;
	time_t				 now;
	char				 w[512];

	/* SIGUSR1: --access-log=FILE opened anew (it was rotated). */
	if (reopening) {
		reopening = 0;
		if (access_log_reopen() < 0)
			warn("--access-log: reopening");
	}
	if (!status_on || o == NULL || (now = time(NULL)) == status_at)
		return;
	status_at = now;
	if (!board_sum(&busy, &served) ||
	    (busy == status_busy && served == status_served))
		return;
	status_busy = busy;
	status_served = served;
	threads = o->threads > 0 ? o->threads : 1;
	if (threads > 1)
		sd_notifyf("STATUS=serving %s: %u of %u threads busy (%u "
		    "worker%s), requests served: %llu", where(o, w, sizeof(w)), busy,
		    threads * o->workers, o->workers, o->workers == 1 ? "" : "s",
		    served);
	else
		sd_notifyf("STATUS=serving %s: %u of %u worker%s busy, "
		    "requests served: %llu", where(o, w, sizeof(w)), busy, o->workers,
		    o->workers == 1 ? "" : "s", served);
}

/* systemd: a SIGHUP's reload begins; READY=1 ends it. */
static void
notify_reloading(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
}

/*
 * The workers that ended, their slots made free for new ones, counted by
 * why (renewals, for --stats: as each said on the board, or a crash).
 */
static void
reap(const struct srv_options *o, pid_t *pids, time_t *born,
    unsigned long long *renewals)
{
	struct board_counts	c;
	unsigned		i;
	pid_t			pid;
	int			status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (i = 0; i < o->workers; i++) {
			if (pids[i] != pid)
				continue;
			pids[i] = 0;
			/* Renewed (--max-requests): no pause. */
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
				born[i] = 0;
				if (board_read(i, &c) && c.end > BOARD_STOPPED &&
				    c.end <= BOARD_REQUEST_TIMEOUT)
					renewals[c.end]++;
			} else {
				renewals[BOARD_RUNNING]++;
				warnx("worker %ld ended (status %d): replacing "
				    "it", (long)pid, status);
			}
		}
}
