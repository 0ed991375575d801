/*
 * Unit tests of metrics.c: the board's counts summed over workers, the
 * histogram cumulative, the master's renewals, in the text format.
 * SPDX-License-Identifier: MIT
 */
#include <sys/types.h>

#include <string.h>
#include <unistd.h>

#include "board.h"
#include "metrics.h"
#include "unit.h"

static void
render(void)
{
	struct metrics_master	m;
	pid_t			pids[2];
	char			page[16384];
	size_t			n;

	CHECK(board_open(2));
	board_take(0);
	/* Four begun, three ended: one in flight. */
	board_begin();
	board_begin();
	board_begin();
	board_begin();
	board_request(3, 200, 300);		/* HTTP, 0.3 ms */
	board_request(3, 404, 20000);		/* HTTP, 20 ms */
	board_request(0, 502, 7000000);		/* FastCGI, 7 s */
	memset(&m, 0, sizeof(m));
	pids[0] = getpid();
	pids[1] = 0;
	m.workers = 2;
	m.threads = 4;
	m.pids = pids;
	m.renewals[BOARD_RUNNING] = 1;
	m.renewals[BOARD_MAX_REQUESTS] = 3;
	m.nlisten = 0;
	n = metrics_render(&m, page, sizeof(page));
	CHECK(n > 0 && n < sizeof(page) && page[n - 1] == '\n');
	CHECK(strstr(page, "# TYPE wsgi_cgi_requests_total counter\n"));
	CHECK(strstr(page, "wsgi_cgi_requests_total{protocol=\"http\","
	    "status=\"2xx\"} ") != NULL);
	CHECK(strstr(page, "wsgi_cgi_requests_total{protocol=\"fastcgi\","
	    "status=\"5xx\"} ") != NULL);
	CHECK(strstr(page, "wsgi_cgi_request_duration_seconds_bucket"
	    "{le=\"+Inf\"} ") != NULL);
	CHECK(strstr(page, "wsgi_cgi_requests_in_flight ") != NULL);
	CHECK(strstr(page, "wsgi_cgi_workers{state=\"busy\"} 1\n"));
	CHECK(strstr(page, "wsgi_cgi_workers{state=\"idle\"} 0\n"));
	CHECK(strstr(page, "wsgi_cgi_threads 4\n"));
	CHECK(strstr(page, "wsgi_cgi_worker_renewals_total{reason=\"crash\"} "
	    "1\n"));
	CHECK(strstr(page, "wsgi_cgi_worker_renewals_total{reason="
	    "\"max_requests\"} 3\n"));
	CHECK(strstr(page, "{reason=\"stop\"}") == NULL);
	CHECK(strstr(page, "wsgi_cgi_worker_resident_memory_bytes{worker=\"0\"}"));
	CHECK(strstr(page, "{worker=\"1\"}") == NULL);
	CHECK(strstr(page, "wsgi_cgi_listen_queue") == NULL);
	/* Too small a buffer: cut, never past it. */
	CHECK(metrics_render(&m, page, 64) == 63);
	board_request(3, 200, 1);
}

const struct unit_test metrics_tests[] = {
	{ "metrics: the board and the master's counts in the text format",
	    render },
	{ NULL, NULL }
};
