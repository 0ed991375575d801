#!/usr/bin/env bats
# make install and uninstall, with PREFIX and DESTDIR (spec 9.1).
load helpers

@test "make install puts the binary and the man page under DESTDIR/PREFIX" {
	root=$BATS_TEST_TMPDIR/root
	run make -s -C "$TESTS/.." install DESTDIR="$root" PREFIX=/opt/wc
	assert_success
	run stat -c %a "$root/opt/wc/bin/wsgi-cgi" \
	    "$root/opt/wc/share/man/man1/wsgi-cgi.1"
	assert_output $'755\n644'
	run --separate-stderr env -i "$root/opt/wc/bin/wsgi-cgi" "$APPS/hello.py"
	assert_success
	assert_line 'Hello World!'
	run make -s -C "$TESTS/.." uninstall DESTDIR="$root" PREFIX=/opt/wc
	assert_success
	[ ! -e "$root/opt/wc/bin/wsgi-cgi" ]
	[ ! -e "$root/opt/wc/share/man/man1/wsgi-cgi.1" ]
}
