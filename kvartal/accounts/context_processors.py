from .permissions import capabilities_of


def kvartal(request):
    """Navigation needs the signed-in user's capabilities on every page."""
    user = getattr(request, "user", None)
    caps = capabilities_of(user) if user is not None and user.is_authenticated else frozenset()
    return {"caps": caps}
