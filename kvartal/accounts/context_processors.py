from kvartal.core.nav import menu_for

from .permissions import capabilities_of


def kvartal(request):
    """Every page needs the signed-in user's capabilities and the menu built from them."""
    user = getattr(request, "user", None)
    caps = capabilities_of(user) if user is not None and user.is_authenticated else frozenset()
    return {"caps": caps, "menu": menu_for(user, caps)}
