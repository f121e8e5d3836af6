from django.conf import settings
from django.contrib import admin
from django.urls import include, path, register_converter
from django.views.generic import RedirectView

from kvartal.api.problems import problem_response
from kvartal.core import views as core_views
from kvartal.core.converters import IdConverter
from kvartal.inventory.views.media import media

register_converter(IdConverter, "id")

urlpatterns = [
    path("app/", include("kvartal.inventory.urls")),
    path("app/", include("kvartal.clients.urls")),
    path("app/", include("kvartal.sales.urls")),
    path("app/", include("kvartal.analytics.urls")),
    path("shared/", include("kvartal.analytics.public_urls")),
    path("app/audit/", include("kvartal.audit.urls")),
    path("app/ops/", include("kvartal.ops.urls")),
    path("app/pricing/", include("kvartal.pricing.urls")),
    path("app/agencies/", include("kvartal.agencies.urls")),
    path("app/documents/", include("kvartal.documents.urls")),
    path("app/feeds/", include("kvartal.feeds.urls")),
    path("feeds/", include("kvartal.feeds.public_urls")),
    path("app/calls/", include("kvartal.callcentre.urls")),
    path("app/showcase/", include("kvartal.showcase.office_urls")),
    path("api/v1/", include("kvartal.api.urls")),
    path("app/integrations/", include("kvartal.api.pages_urls")),
    path("accounts/", include("kvartal.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # One sign-in page for everyone (lockouts, the second factor): the admin's sends there.
    path(
        "admin/login/",
        RedirectView.as_view(pattern_name="accounts:login", query_string=True, permanent=False),
    ),
    path("admin/", admin.site.urls),
    path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", media, name="media"),
    # the showcase's public pictures (only those of what is published; /media/ needs sign-in)
    path("files/", include("kvartal.showcase.files")),
    # the buyer's showcase owns "/" (last: every other prefix above is matched first)
    path("", include("kvartal.showcase.urls")),
]


def error_400(request, exception=None):
    """A request refused before any view (``core.middleware``): the page, or on the API its
    problem details, in the API's one error shape."""
    if request.path.startswith("/api/"):
        return problem_response(400, "bad_request", "The request could not be read.")
    return core_views.error_400(request, exception)


handler400 = error_400
handler403 = "kvartal.core.views.error_403"
handler404 = "kvartal.core.views.error_404"
handler500 = "kvartal.core.views.error_500"
