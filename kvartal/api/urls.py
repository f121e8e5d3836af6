"""Mounted at /api/v1/ by kvartal/urls.py (namespace ``api-v1``)."""

from .api import api

patterns, _app, app_name = api.urls
urlpatterns = list(patterns)
