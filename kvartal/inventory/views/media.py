from django.conf import settings
from django.http import FileResponse, Http404
from django.utils._os import safe_join

from kvartal.accounts.permissions import INVENTORY_VIEW, require


@require(INVENTORY_VIEW)
def media(request, path: str):
    """Uploaded plans, layouts and the logo: internal material, for signed-in readers only."""
    try:
        full = safe_join(settings.MEDIA_ROOT, path)
        return FileResponse(open(full, "rb"))  # noqa: SIM115 - FileResponse closes it
    except (OSError, ValueError) as error:
        raise Http404 from error
