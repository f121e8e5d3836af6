"""The URLs of ``bench_showcase``'s server: the site's, plus the floor — a bare Django view
that reads the same unit row and renders a minimal template. Never mounted in production
(only ``kvartal.showcase.bench_settings`` points here)."""

from django.http import HttpResponse
from django.template import Context, Engine
from django.urls import path

from kvartal.inventory.models import Unit
from kvartal.urls import urlpatterns as site

_TEMPLATE = Engine().from_string(
    "<!doctype html><title>{{ unit.number }}</title><p>{{ unit.number }} {{ unit.price }}</p>"
)


def floor(request, unit_id: int):
    unit = Unit.objects.get(pk=unit_id)
    return HttpResponse(_TEMPLATE.render(Context({"unit": unit})))


urlpatterns = [path("bench-floor/<int:unit_id>/", floor), *site]
