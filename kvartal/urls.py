from django.conf import settings
from django.contrib import admin
from django.urls import include, path, register_converter
from django.views.generic import RedirectView

from kvartal.core.converters import IdConverter
from kvartal.inventory.views.media import media

register_converter(IdConverter, "id")

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="inventory:home", permanent=False)),
    path("app/", include("kvartal.inventory.urls")),
    path("app/", include("kvartal.clients.urls")),
    path("app/", include("kvartal.sales.urls")),
    path("app/", include("kvartal.analytics.urls")),
    path("shared/", include("kvartal.analytics.public_urls")),
    path("api/v1/", include("kvartal.api.urls")),
    path("accounts/", include("kvartal.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", media, name="media"),
]

handler403 = "kvartal.core.views.error_403"
handler404 = "kvartal.core.views.error_404"
handler500 = "kvartal.core.views.error_500"
