# Django in one file: a GET route, a POST form, JSON and an error.
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY='tests-only',
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=['*'],
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    USE_TZ=True,
)

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402


def hello(request):
    return HttpResponse('Hello, %s!\n' % request.GET.get('name', 'world'),
                        content_type='text/plain')


def form(request):
    return HttpResponse('field=%s\n' % request.POST.get('field', ''),
                        content_type='text/plain')


def json_route(request):
    return JsonResponse({'framework': 'django', 'items': [1, 2, 3]})


def error(request):
    raise RuntimeError('django route failed')


urlpatterns = [
    path('hello', hello),
    path('form', form),
    path('json', json_route),
    path('error', error),
]

application = get_wsgi_application()

if __name__ == '__main__':
    from wsgiref.handlers import CGIHandler
    CGIHandler().run(application)
