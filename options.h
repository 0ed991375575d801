/*
 * The options, from their three sources: WSGI_CGI_OPTIONS (the server's
 * configuration), the script's own #! line, and a shell's command line,
 * each over the one before; one table names them all.  Plain C: nothing
 * here prints, exits or touches Python.
 * SPDX-License-Identifier: MIT
 */
#ifndef OPTIONS_H
#define OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#define OPT_PATHS_MAX	16	/* --python-path */
#define OPT_LISTEN_MAX	8	/* --listen: SRV_SOCKETS_MAX */
#define OPT_WORDS_MAX	32	/* options in one source */
#define OPT_SHEBANG_MAX	256	/* Linux BINPRM_BUF_SIZE */
#define OPT_VAR_MAX	1024	/* of WSGI_CGI_OPTIONS */
#define OPT_WORKERS_MAX	1024
#define OPT_THREADS_MAX	256
#define OPT_RSS_MAX	1048576	/* MiB: a TiB */
#define OPT_TIMEOUT_DEFAULT	60	/* seconds a gateway peer may stall */
#define OPT_TIMEOUT_MAX	86400

enum opt_result {
	OPT_OK,
	OPT_HELP,
	OPT_VERSION,
	OPT_ERROR	/* why says what */
};

enum opt_ctl {
	OPT_CTL_NONE,
	OPT_CTL_STATUS,	/* --warm-status */
	OPT_CTL_STOP	/* --warm-stop */
};

struct options {
	const char	*callable;	/* --callable, default "application" */
	const char	*venv;		/* --venv */
	const char	*paths[OPT_PATHS_MAX];	/* --python-path */
	size_t		 npaths;
	bool		 named;		/* --callable was given */
	bool		 check;		/* --check */
	bool		 debug;		/* --debug */
	/* Server modes */
	const char	*listen[OPT_LISTEN_MAX];	/* --listen, each */
	size_t		 nlisten;
	unsigned	 socket_mode;	/* --socket-mode */
	const char	*user;		/* --user */
	const char	*stats;		/* --stats */
	unsigned	 protocols;	/* --protocol, enum srv_proto bits;
					   0: not given, the address's default */
	unsigned	 workers;	/* --workers; 0: not given */
	unsigned	 threads;	/* --threads; 0: not given, 1 */
	unsigned	 max_requests;	/* --max-requests; 0: no limit */
	bool		 max_given;
	unsigned	 timeout;	/* --timeout */
	unsigned	 request_timeout;	/* --request-timeout; 0: none */
	unsigned	 max_rss;	/* --max-rss, MiB; 0: none */
	bool		 access_log;	/* --access-log */
	const char	*access_log_file;	/* its =FILE; NULL: stderr */
	/* Warm start */
	unsigned	 warm;		/* --warm: idle seconds; 0: off */
	bool		 warm_app;	/* --warm-app */
	enum opt_ctl	 ctl;		/* --warm-status, --warm-stop */
	/* The words the values point into, a copy for each source. */
	char		 var_text[OPT_VAR_MAX];
	char		 shebang_text[OPT_SHEBANG_MAX + 1];
	char		 argv_text[OPT_SHEBANG_MAX + 1];
};

/* A script's own #! line. */
struct shebang {
	char		 interp[OPT_SHEBANG_MAX + 1];	/* its first word */
	char		 text[OPT_SHEBANG_MAX + 1];	/* after the interpreter */
	bool		 ours;		/* the interpreter is wsgi-cgi */
};

void	 options_init(struct options *);
int	 options_argv(struct options *, int, char *[], int *, char *, size_t);
int	 options_gather(struct options *, bool, int, char *[], const char *,
	    const struct shebang *, char *, size_t);
bool	 options_shebang(const char *, struct shebang *);
bool	 options_shebang_parse(const char *, size_t, struct shebang *);
bool	 options_uint(const char *, unsigned, unsigned, int, unsigned *);

#endif /* OPTIONS_H */
