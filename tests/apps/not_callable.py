# Its application is not callable.
application = 'not a function'
