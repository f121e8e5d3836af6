from django.shortcuts import render
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import ANALYTICS_VIEW, require

from ..dashboard import cached_blocks
from ..periods import local_today


@require(ANALYTICS_VIEW)
def dashboard(request):
    context = {
        "blocks": cached_blocks(request.user),
        "today": local_today(),
        "nav": "dashboard",
        "crumbs": [(None, _("Dashboard"))],
    }
    return render(request, "analytics/dashboard.html", context)
