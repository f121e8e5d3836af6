"""Hooks through which higher apps (sales) take part in the clients' operations.

Clients never imports a higher app. Sales registers functions here from its
``AppConfig.ready()``; the clients services call every registered function inside their own
transaction, so a refusal (a ``DomainError``) from any of them undoes the whole operation.
"""

from collections.abc import Callable

# (source, target) → {what: how many moved}. Move the rows that point at ``source`` to
# ``target``; raise DomainError when they cannot be moved (e.g. both are buyers on one deal).
MergeHandler = Callable[[object, object], dict[str, int]]
# client → {section name: JSON-ready rows} added to the personal-data export.
ExportProvider = Callable[[object], dict]

# (clients, names, label, phones, tasks) → {what: how many redacted}. ``clients``: the erased
# client and the records merged into it; ``names``: their full names and surnames before the
# erasure (to find in free texts); ``label``: the anonymous name to put in their place
# ("Client #12"); ``phones``: their normalised phone numbers before the erasure (main and
# further contacts), to find the rows kept by number only (a call, an agency's fixation, a
# showcase code);
# ``tasks``: the ids of the tasks about them — theirs and their leads', the leads found by
# their phones and e-mails too (those leads are blanked before the handlers run).
EraseHandler = Callable[[list, set, str, set, set], dict[str, int]]

merge_handlers: list[MergeHandler] = []
export_providers: list[ExportProvider] = []
erase_handlers: list[EraseHandler] = []

# (request, client) → blocks for the client card and the call-centre panel (``Panel`` from
# ``inventory.extensions``: a template, its context and an order). Higher apps register them:
# the showcase (what the visitor looked at, saved and compared), the call centre (calls and
# the history summary), agencies (the fixation) …; the card and the panel show them all.
ClientPanels = Callable[[object, object], list]
client_panels: list[ClientPanels] = []

# (phone_normalized, unit or None, at) → None, or raise ``DomainError``: a check a new lead must
# pass before it is saved. Agencies register one: a phone an agency has fixed for the project
# cannot become the developer's own lead until the agency's protection window ends.
LeadCheck = Callable[[str, object, object], None]
lead_checks: list[LeadCheck] = []
