# Who the application runs as: uid, gid, supplementary groups, euid.
import os


def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('%d %d %s %d\n' % (os.getuid(), os.getgid(),
             ','.join(str(g) for g in sorted(os.getgroups())),
             os.geteuid())).encode()]
