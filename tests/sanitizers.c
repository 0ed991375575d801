/*
 * Sanitizer defaults built into wsgi-cgi-asan, so that every run checks the
 * same way however it is started (env -i, lighttpd, Apache as www-data):
 * any report exits 86, a status no test expects.  Leaks that libpython
 * itself allocates (it frees little at exit) are suppressed by
 * tests/lsan.supp, embedded here; allocation stacks keep only the direct
 * caller, so a leak of ours is reported even when Python called us.
 * SPDX-License-Identifier: MIT
 */
const char	*__asan_default_options(void);
const char	*__lsan_default_options(void);
const char	*__ubsan_default_options(void);
const char	*__lsan_default_suppressions(void);

const char *
__asan_default_options(void)
{
	return "exitcode=86:detect_leaks=1:malloc_context_size=2";
}

const char *
__lsan_default_options(void)
{
	return "exitcode=86";
}

const char *
__ubsan_default_options(void)
{
	return "exitcode=86:print_stacktrace=1:halt_on_error=1";
}

const char *
__lsan_default_suppressions(void)
{
	return
#include "lsan.supp.inc"
	    ;
}
