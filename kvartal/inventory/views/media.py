from kvartal.accounts.permissions import INVENTORY_VIEW, require
from kvartal.core.files import upload_response


@require(INVENTORY_VIEW)
def media(request, path: str):
    """Uploaded plans, layouts, photos and the logo: internal material, for signed-in readers
    only. Images (by content) are shown inline, anything else is downloaded; contracts and
    import files are never served here (``kvartal.core.files``)."""
    return upload_response(request, path)
