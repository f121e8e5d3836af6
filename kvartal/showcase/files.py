"""The showcase's public files: the photos, flat plans and floor plans of what is published.

``/media/`` is for signed-in readers; a visitor's browser gets a showcase picture from
``/files/<stored name>`` instead, and only while it belongs to something public: a published
project's photo, or the layout or floor plan of a unit the showcase shows
(``selectors.public_units``). Anything else — contracts, import files, the plans of an
unpublished project or of a unit not for sale — is 404, whatever the path says.
"""

from django.http import Http404
from django.urls import path
from django.views.decorators.http import require_GET

from kvartal.core.files import IMAGE_TYPES, stored_name, upload_response

from . import selectors

# Cached for an hour by browsers and shared caches, then revalidated by ETag/Last-Modified
# (a file taken off the showcase stops being served within the hour).
CACHE_CONTROL = "public, max-age=3600"


@require_GET
def public_file(request, path: str):
    """A showcase picture for anyone, by its stored name; 404 unless it is public."""
    name = stored_name(path)
    if not selectors.is_public_file(name):
        raise Http404
    return upload_response(
        request, name, types=IMAGE_TYPES, cache_control=CACHE_CONTROL, cross_origin="cross-origin"
    )


app_name = "showcase-files"

urlpatterns = [path("<path:path>", public_file, name="file")]
