#!/usr/bin/env bats
# The README's recipes, each as a user would deploy it behind lighttpd:
# a Flask app (application = app, or --callable app), a Django project's
# own wsgi.py (--python-path), and a classic CGIHandler().run(app) script
# whose #! line was switched to wsgi-cgi.
load helpers

setup_file() {
	export DIR=$BATS_FILE_TMPDIR
	mkdir -p "$DIR/www/cgi-bin" "$DIR/srv"
	# Flask, the two ways.
	{
		echo "#!$WSGI_CGI"
		cat <<-'PY'
		from flask import Flask
		app = Flask(__name__)

		@app.route('/')
		def index():
		    return 'Hello from Flask\n'

		application = app
		PY
	} >"$DIR/www/cgi-bin/flask-app"
	{
		echo "#!$WSGI_CGI --callable app"
		grep -v '^application = app' "$DIR/www/cgi-bin/flask-app" |
		    tail -n +2
	} >"$DIR/www/cgi-bin/flask-callable"
	# Django: a project made by django-admin, served by its own wsgi.py
	# through a two-line file in cgi-bin.
	(cd "$DIR/srv" && django-admin startproject mysite)
	{
		echo "#!$WSGI_CGI --python-path $DIR/srv/mysite"
		echo 'from mysite.wsgi import application'
	} >"$DIR/www/cgi-bin/django"
	# A classic CGI script: only its #! line changed.
	{
		echo "#!$WSGI_CGI"
		cat <<-'PY'
		from wsgiref.handlers import CGIHandler
		from flask import Flask
		app = Flask(__name__)

		@app.route('/')
		def index():
		    return 'Hello from a classic CGI script\n'

		CGIHandler().run(app)
		PY
	} >"$DIR/www/cgi-bin/classic.cgi"
	chmod 755 "$DIR/www/cgi-bin"/*
	# lighttpd's main setup, cgi.assign: the #! line is not run by the
	# kernel, but its options are the author's and still hold.
	{
		echo '#!/usr/local/bin/wsgi-cgi --callable app'
		tail -n +2 "$DIR/www/cgi-bin/flask-callable"
	} >"$DIR/www/assigned.py"
	lighttpd_start "$DIR"
}

teardown_file() {
	lighttpd_stop "$DIR"
}

@test "recipe: a Flask app with application = app" {
	run curl -sS -i "$LIGHTTPD_URL/cgi-bin/flask-app/"
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
	assert_line 'Hello from Flask'
}

@test "recipe: a Flask app named by --callable app in its #! line" {
	run curl -sS -i "$LIGHTTPD_URL/cgi-bin/flask-callable/"
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
	assert_line 'Hello from Flask'
}

@test "recipe: cgi.assign runs wsgi-cgi SCRIPT, and the script's #! options hold" {
	run curl -sS -i "$LIGHTTPD_URL/assigned.py/"
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
	assert_line 'Hello from Flask'
}

@test "recipe: a Django project's wsgi.py, its directory named by --python-path" {
	run curl -sS -i "$LIGHTTPD_URL/cgi-bin/django/admin/login/"
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
	assert_output --partial 'Django administration'
	# Without it, the project's package is not importable.
	sed -i "1s|.*|#!$WSGI_CGI|" "$DIR/www/cgi-bin/django"
	run curl -sS -i "$LIGHTTPD_URL/cgi-bin/django/admin/login/"
	assert_line --index 0 $'HTTP/1.1 500 Internal Server Error\r'
	run grep "No module named 'mysite'" "$DIR/error.log"
	assert_success
}

@test "recipe: a classic CGIHandler().run(app) script with its #! line switched" {
	run curl -sS -i "$LIGHTTPD_URL/cgi-bin/classic.cgi/"
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
	assert_line 'Hello from a classic CGI script'
}
