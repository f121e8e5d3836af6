from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.utils._os import safe_join


@login_required
def media(request, path: str):
    """Uploaded plans and logos: internal material, so only for signed-in users."""
    try:
        full = safe_join(settings.MEDIA_ROOT, path)
        return FileResponse(open(full, "rb"))  # noqa: SIM115 - FileResponse closes it
    except (OSError, ValueError) as error:
        raise Http404 from error


def error_403(request, exception=None):
    return render(request, "errors/403.html", status=403)


def error_404(request, exception=None):
    return render(request, "errors/404.html", status=404)


def error_500(request):
    return render(request, "errors/500.html", status=500)
