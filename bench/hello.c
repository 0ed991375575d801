/* The C hello-world CGI program that warm start is measured against. */
#include <stdio.h>

int
main(void)
{
	fputs("Content-Type: text/plain\r\nContent-Length: 13\r\n\r\n"
	    "Hello World!\n", stdout);
	return 0;
}
