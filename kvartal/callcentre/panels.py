"""The call centre's block on the client card: the history summary and the last calls."""

from kvartal.inventory.extensions import Panel

from .models import Call
from .selectors import summary_of


def client_card_panels(request, client) -> list[Panel]:
    match = getattr(request, "resolver_match", None)
    if match is not None and match.app_name == "callcentre":
        return []  # the panel shows these itself
    calls = list(
        Call.objects.filter(client=client).select_related("operator").order_by("-started_at")[:10]
    )
    return [
        Panel(
            "callcentre/client_panel.html",
            {"calls": calls, "client": client, "summary": summary_of(client)},
            order=20,
        )
    ]
