/*
 * The options: one table, read from WSGI_CGI_OPTIONS, the script's #! line
 * and a shell's command line, each over the one before.  Nothing from a
 * request ever becomes an option: a caller under a server reads only the
 * first two.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "server.h"
#include "warm.h"

enum opt_id {
	O_HELP, O_VERSION, O_CHECK, O_DEBUG, O_ACCESS_LOG, O_WARM, O_WARM_APP,
	O_WARM_STATUS, O_WARM_STOP, O_CALLABLE, O_PYTHON_PATH, O_VENV,
	O_LISTEN, O_SOCKET_MODE, O_USER, O_STATS, O_PROTOCOL, O_WORKERS, O_THREADS,
	O_MAX_REQUESTS, O_REQUEST_TIMEOUT, O_MAX_RSS,
	O_TIMEOUT
};

enum opt_arg {
	A_NONE,		/* a flag */
	A_VALUE,	/* --name value, or --name=value */
	A_OPTIONAL	/* --name, or --name=value only */
};

struct opt_def {
	const char	*name;
	const char	*alias;
	enum opt_id	 id;
	enum opt_arg	 arg;
};

static int	 parse_words(struct options *, char *, char *, size_t);
static int	 option(struct options *, char **, int, int *, char *,
		    size_t);
static const struct opt_def *lookup(const char *, size_t);
static int	 apply(struct options *, const struct opt_def *, const char *,
		    char *, size_t);
static int	 apply_value(struct options *, const struct opt_def *,
		    const char *);
static int	 append(const char **, size_t *, size_t, const struct opt_def *,
		    const char *, char *, size_t);

/* Every option, as --help lists them. */
static const struct opt_def table[] = {
	{ "--help", "-h", O_HELP, A_NONE },
	{ "--version", "-V", O_VERSION, A_NONE },
	{ "--check", NULL, O_CHECK, A_NONE },
	{ "--debug", NULL, O_DEBUG, A_NONE },
	{ "--callable", NULL, O_CALLABLE, A_VALUE },
	{ "--python-path", NULL, O_PYTHON_PATH, A_VALUE },
	{ "--venv", NULL, O_VENV, A_VALUE },
	{ "--listen", NULL, O_LISTEN, A_VALUE },
	{ "--socket-mode", NULL, O_SOCKET_MODE, A_VALUE },
	{ "--user", NULL, O_USER, A_VALUE },
	{ "--stats", NULL, O_STATS, A_VALUE },
	{ "--protocol", NULL, O_PROTOCOL, A_VALUE },
	{ "--workers", NULL, O_WORKERS, A_VALUE },
	{ "--threads", NULL, O_THREADS, A_VALUE },
	{ "--max-requests", NULL, O_MAX_REQUESTS, A_VALUE },
	{ "--timeout", NULL, O_TIMEOUT, A_VALUE },
	{ "--request-timeout", NULL, O_REQUEST_TIMEOUT, A_VALUE },
	{ "--max-rss", NULL, O_MAX_RSS, A_VALUE },
	{ "--access-log", NULL, O_ACCESS_LOG, A_OPTIONAL },
	{ "--warm", NULL, O_WARM, A_OPTIONAL },
	{ "--warm-app", NULL, O_WARM_APP, A_NONE },
	{ "--warm-status", NULL, O_WARM_STATUS, A_NONE },
	{ "--warm-stop", NULL, O_WARM_STOP, A_NONE },
};

static const struct {
	const char	*name;
	unsigned	 bit;
} protocols[] = {
	{ "fastcgi", SRV_FASTCGI }, { "scgi", SRV_SCGI },
	{ "uwsgi", SRV_UWSGI }, { "http", SRV_HTTP },
};

void
options_init(struct options *o)
{
	_Static_assert(OPT_LISTEN_MAX <= SRV_SOCKETS_MAX,
	    "a socket for each --listen");
	memset(o, 0, sizeof(*o));
	o->callable = "application";
	o->timeout = OPT_TIMEOUT_DEFAULT;
}

/*
 * The options on a shell's command line, up to SCRIPT (*first).  A first
 * word with blanks is a #! line's single argument and is split (as env -S
 * does).
 */
int
options_argv(struct options *o, int argc, char *argv[], int *first,
    char *why, size_t len)
{
	int	i = 1, r;

	*first = argc;
	if (argc > 1 && argv[1][0] == '-' && strpbrk(argv[1], " \t")) {
		(void)snprintf(o->argv_text, sizeof(o->argv_text), "%s",
		    argv[1]);
		if ((r = parse_words(o, o->argv_text, why, len)) != OPT_OK)
			return r;
		*first = 2;
		return OPT_OK;
	}
	while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if ((r = option(o, argv, argc, &i, why, len)) != OPT_OK)
			return r;
	}
	*first = i;
	return OPT_OK;
}

/*
 * The options in force, each source over the one before: var (the value
 * of WSGI_CGI_OPTIONS, or NULL), the script's own #! line (its author's,
 * however the script was started), then from a shell (not gateway) the
 * command line, unless it is that #! line again, as the kernel passes it.
 */
int
options_gather(struct options *o, bool gateway, int argc, char *argv[],
    const char *var, const struct shebang *sb, char *why, size_t len)
{
	const char	*where = "WSGI_CGI_OPTIONS";
	char		 inner[OPT_VAR_MAX / 2];
	int		 r = OPT_OK, first;

	if (var != NULL) {
		(void)snprintf(o->var_text, sizeof(o->var_text), "%s", var);
		r = parse_words(o, o->var_text, inner, sizeof(inner));
	}
	if (r == OPT_OK && sb->ours) {
		(void)snprintf(o->shebang_text, sizeof(o->shebang_text), "%s",
		    sb->text);
		r = parse_words(o, o->shebang_text, inner, sizeof(inner));
		where = "the #! line";
	}
	if (r == OPT_HELP || r == OPT_VERSION) {
		(void)snprintf(why, len, "--help and --version belong on the "
		    "command line only");
		return OPT_ERROR;
	}
	if (r != OPT_OK) {
		(void)snprintf(why, len, "%s: %.400s", where, inner);
		return r;
	}
	if (gateway || (argc > 1 && sb->ours && strcmp(argv[1], sb->text) == 0))
		return OPT_OK;
	return options_argv(o, argc, argv, &first, why, len);
}

/* Blank-separated options, in text (split in place). */
static int
parse_words(struct options *o, char *text, char *why, size_t len)
{
	char	*w[OPT_WORDS_MAX + 1];
	char	*p, *save = NULL;
	int	 n = 0, i = 0, r;

	for (p = strtok_r(text, " \t", &save); p != NULL &&
	    n < OPT_WORDS_MAX; p = strtok_r(NULL, " \t", &save))
		w[n++] = p;
	w[n] = NULL;
	while (i < n) {
		if (w[i][0] != '-') {
			(void)snprintf(why, len, "%s: not an option", w[i]);
			return OPT_ERROR;
		}
		if ((r = option(o, w, n, &i, why, len)) != OPT_OK)
			return r;
	}
	return OPT_OK;
}

/* argv[*i] is an option; advances *i past it and its value. */
static int
option(struct options *o, char **argv, int argc, int *i, char *why,
    size_t len)
{
	const struct opt_def	*d;
	const char		*arg = argv[*i], *val = NULL;
	size_t			 n;

	if (strncmp(arg, "--", 2) == 0 && (val = strchr(arg, '=')) != NULL)
		n = (size_t)(val++ - arg);
	else
		n = strlen(arg);
	(*i)++;
	/* A flag given a value is no option of ours. */
	if ((d = lookup(arg, n)) == NULL || (d->arg == A_NONE && val != NULL)) {
		(void)snprintf(why, len, "unknown option %s", arg);
		return OPT_ERROR;
	}
	if (d->arg == A_VALUE && val == NULL && *i < argc)
		val = argv[(*i)++];
	if (d->arg == A_VALUE && (val == NULL || *val == '\0')) {
		(void)snprintf(why, len, "%s needs a value", d->name);
		return OPT_ERROR;
	}
	return apply(o, d, val, why, len);
}

static const struct opt_def *
lookup(const char *arg, size_t n)
{
	size_t	k;

	for (k = 0; k < sizeof(table) / sizeof(table[0]); k++)
		if ((strlen(table[k].name) == n &&
		    strncmp(arg, table[k].name, n) == 0) ||
		    (table[k].alias != NULL && strlen(table[k].alias) == n &&
		    strncmp(arg, table[k].alias, n) == 0))
			return &table[k];
	return NULL;
}

/* The option d, with its value (NULL for a flag), into o. */
static int
apply(struct options *o, const struct opt_def *d, const char *val,
    char *why, size_t len)
{
	switch (d->id) {
	case O_HELP:
		return OPT_HELP;
	case O_VERSION:
		return OPT_VERSION;
	case O_CHECK:
		o->check = true;
		return OPT_OK;
	case O_DEBUG:
		o->debug = true;
		return OPT_OK;
	case O_ACCESS_LOG:
		o->access_log = true;
		if (val != NULL && *val == '\0') {
			(void)snprintf(why, len, "--access-log=: no file");
			return OPT_ERROR;
		}
		o->access_log_file = val;
		return OPT_OK;
	case O_WARM:
		if (val == NULL)
			o->warm = WARM_IDLE_DEFAULT;
		else if (!options_uint(val, 1, WARM_IDLE_MAX, 10, &o->warm)) {
			(void)snprintf(why, len, "--warm: %.100s is not 1-%d "
			    "seconds", val, WARM_IDLE_MAX);
			return OPT_ERROR;
		}
		return OPT_OK;
	case O_WARM_APP:
		o->warm_app = true;
		if (o->warm == 0)
			o->warm = WARM_IDLE_DEFAULT;
		return OPT_OK;
	case O_WARM_STATUS:
	case O_WARM_STOP:
		o->ctl = d->id == O_WARM_STATUS ? OPT_CTL_STATUS :
		    OPT_CTL_STOP;
		return OPT_OK;
	case O_PYTHON_PATH:
		return append(o->paths, &o->npaths, OPT_PATHS_MAX, d, val, why,
		    len);
	case O_LISTEN:
		/* Each --listen adds an address served. */
		return append(o->listen, &o->nlisten, OPT_LISTEN_MAX, d, val,
		    why, len);
	default:
		if (apply_value(o, d, val) == OPT_OK)
			return OPT_OK;
		(void)snprintf(why, len, "%s: %.100s is not a valid value",
		    d->name, val);
		return OPT_ERROR;
	}
}

/* A repeatable option's value, after those given before (max at most). */
static int
append(const char **list, size_t *n, size_t max, const struct opt_def *d,
    const char *val, char *why, size_t len)
{
	if (*n == max) {
		(void)snprintf(why, len, "%s: at most %zu", d->name, max);
		return OPT_ERROR;
	}
	list[(*n)++] = val;
	return OPT_OK;
}

/* The options whose value is a name, a path or a number. */
static int
apply_value(struct options *o, const struct opt_def *d, const char *val)
{
	size_t	k;
	bool	ok = true;

	if (val == NULL)
		return OPT_ERROR;	/* option() gives each of these one */
	switch (d->id) {
	case O_CALLABLE:
		o->callable = val;
		o->named = true;
		break;
	case O_VENV:
		o->venv = val;
		break;
	case O_SOCKET_MODE:
		ok = options_uint(val, 0, 07777, 8, &o->socket_mode);
		break;
	case O_USER:
		o->user = val;
		break;
	case O_STATS:
		o->stats = val;
		break;
	case O_PROTOCOL:
		/* Each --protocol adds one to those served. */
		for (ok = false, k = 0; k < sizeof(protocols) /
		    sizeof(protocols[0]); k++)
			if (strcmp(val, protocols[k].name) == 0) {
				o->protocols |= protocols[k].bit;
				ok = true;
			}
		break;
	case O_WORKERS:
		ok = options_uint(val, 1, OPT_WORKERS_MAX, 10, &o->workers);
		break;
	case O_THREADS:
		ok = options_uint(val, 1, OPT_THREADS_MAX, 10, &o->threads);
		break;
	case O_MAX_REQUESTS:
		ok = options_uint(val, 0, ~0U, 10, &o->max_requests);
		o->max_given = true;
		break;
	case O_TIMEOUT:
		ok = options_uint(val, 1, OPT_TIMEOUT_MAX, 10, &o->timeout);
		break;
	case O_MAX_RSS:
		ok = options_uint(val, 1, OPT_RSS_MAX, 10, &o->max_rss);
		break;
	case O_REQUEST_TIMEOUT:
		ok = options_uint(val, 1, OPT_TIMEOUT_MAX, 10,
		    &o->request_timeout);
		break;
	default:
		ok = false;
	}
	return ok ? OPT_OK : OPT_ERROR;
}

/* s as a whole number from min to max in base; false if it is not. */
bool
options_uint(const char *s, unsigned min, unsigned max, int base,
    unsigned *out)
{
	unsigned long	v;
	char		*end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

/*
 * Reads the script's #! line.  Only a regular file is opened, and without
 * blocking (a FIFO would hang).
 */
bool
options_shebang(const char *script, struct shebang *sb)
{
	char		 line[OPT_SHEBANG_MAX];
	struct stat	 st;
	ssize_t		 n;
	int		 fd;

	sb->interp[0] = sb->text[0] = '\0';
	sb->ours = false;
	if ((fd = open(script, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
		return false;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		(void)close(fd);
		return false;
	}
	n = read(fd, line, sizeof(line));
	(void)close(fd);
	return n > 0 && options_shebang_parse(line, (size_t)n, sb);
}

/*
 * A #! line from the first len bytes of a file.  The interpreter is ours
 * when its name begins with wsgi-cgi, directly or through env(1); the
 * text is what follows it.
 */
bool
options_shebang_parse(const char *buf, size_t len, struct shebang *sb)
{
	char	 line[OPT_SHEBANG_MAX + 1];
	char	*p, *end, *word, *base;
	size_t	 w, n = len < OPT_SHEBANG_MAX ? len : OPT_SHEBANG_MAX;

	sb->interp[0] = sb->text[0] = '\0';
	sb->ours = false;
	if (n < 2 || buf[0] != '#' || buf[1] != '!')
		return false;
	memset(line, 0, sizeof(line));
	memcpy(line, buf, n);
	line[strcspn(line, "\n")] = '\0';
	for (end = line + strlen(line); end > line &&
	    strchr(" \t\r", end[-1]) != NULL; end--)
		;
	*end = '\0';
	p = line + 2 + strspn(line + 2, " \t");
	(void)snprintf(sb->interp, sizeof(sb->interp), "%.*s",
	    (int)strcspn(p, " \t"), p);
	for (;;) {
		word = p;
		w = strcspn(p, " \t");
		p += w;
		p += strspn(p, " \t");
		for (base = word; word + w > base &&
		    memchr(base, '/', (size_t)(word + w - base)) != NULL;)
			base = (char *)memchr(base, '/',
			    (size_t)(word + w - base)) + 1;
		w = (size_t)(word + w - base);
		/* env(1): skip it and its -S, and read the next word. */
		if (w == 3 && strncmp(base, "env", 3) == 0) {
			if (strncmp(p, "-S", 2) == 0 &&
			    (p[2] == ' ' || p[2] == '\t'))
				p += 2 + strspn(p + 2, " \t");
			continue;
		}
		break;
	}
	sb->ours = w >= 8 && strncmp(base, "wsgi-cgi", 8) == 0;
	(void)snprintf(sb->text, sizeof(sb->text), "%s", p);
	return true;
}
