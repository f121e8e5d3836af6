from django.http import HttpResponseServerError
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import translation


def error_400(request, exception=None):
    """A request that cannot be read (a null character in a field, say)."""
    return render(request, "errors/400.html", status=400)


def error_403(request, exception=None):
    return render(request, "errors/403.html", status=403)


def error_404(request, exception=None):
    return render(request, "errors/404.html", status=404)


def error_500(request):
    """The server error page, drawn without the database (it may be what failed): no
    context processors (they read the user), the reader's language taken from the request
    itself (cookie, browser), not from the session."""
    language = translation.get_language_from_request(request)
    with translation.override(language):
        body = render_to_string("errors/500.html")
    return HttpResponseServerError(body)
