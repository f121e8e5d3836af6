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

# (clients, names, label) → {what: how many redacted}. ``clients``: the erased client and
# the records merged into it; ``names``: their full names and surnames before the erasure
# (to find in free texts); ``label``: the anonymous name to put in their place ("Client #12").
EraseHandler = Callable[[list, set, str], dict[str, int]]

merge_handlers: list[MergeHandler] = []
export_providers: list[ExportProvider] = []
erase_handlers: list[EraseHandler] = []
