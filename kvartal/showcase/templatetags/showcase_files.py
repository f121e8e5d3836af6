from django import template
from django.urls import reverse

register = template.Library()

RASTER = (".png", ".jpg", ".jpeg", ".webp", ".gif")


@register.filter
def public_url(field_file) -> str:
    """The showcase's public address of an uploaded picture (``kvartal.showcase.files``), or
    "" when there is none or it is not a raster image (the public route serves those only: a
    drawing in SVG would be a broken image). ``/media/`` would ask a visitor to sign in."""
    name = getattr(field_file, "name", "") if field_file else ""
    if not name or not name.lower().endswith(RASTER):
        return ""
    return reverse("showcase-files:file", kwargs={"path": field_file.name})
