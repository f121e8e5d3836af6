"""The clients pages: create and edit clients, their contacts, consent, export and erasure,
merges; leads; the reception desk; tasks. The client list and card live in the sales app
(they show deals).

Views are thin: a scoped lookup (another manager's row is a 404), a form, one service.
"""

from .clients import (
    _client_form,
    _likely_duplicates,
    client_create,
    client_erase,
    client_export,
    client_merge,
    client_pick,
    client_reassign,
    client_update,
    consent_create,
    consent_withdraw,
    contact_add,
    interaction_create,
    need_update,
    person_add,
)
from .common import (
    _clients_root,
    _crumbs,
    _data,
    _form_page,
    _safe_next,
    _sees,
    _visible_client,
    client_url,
)
from .leads import (
    _hold_and_deal_urls,
    _lead_crumbs,
    _visible_lead,
    lead_assign,
    lead_convert,
    lead_create,
    lead_detail,
    lead_import,
    lead_list,
    lead_status,
)
from .reception import _register_visit, reception
from .tasks import task_create, task_done, task_list

__all__ = [
    "_client_form",
    "_clients_root",
    "_crumbs",
    "_data",
    "_form_page",
    "_hold_and_deal_urls",
    "_lead_crumbs",
    "_likely_duplicates",
    "_register_visit",
    "_safe_next",
    "_sees",
    "_visible_client",
    "_visible_lead",
    "client_create",
    "client_erase",
    "client_export",
    "client_merge",
    "client_pick",
    "client_reassign",
    "client_update",
    "client_url",
    "consent_create",
    "consent_withdraw",
    "contact_add",
    "interaction_create",
    "lead_assign",
    "lead_convert",
    "lead_create",
    "lead_detail",
    "lead_import",
    "lead_list",
    "lead_status",
    "need_update",
    "person_add",
    "reception",
    "task_create",
    "task_done",
    "task_list",
]
