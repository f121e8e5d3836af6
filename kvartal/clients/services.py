"""Writers of clients. Keyword-only, atomic; raise ValidationError keyed by field."""

from django.db import transaction

from .models import Client


@transaction.atomic
def client_create(*, by, manager=None, **fields) -> Client:
    """Create a client (person or company) owned by ``manager`` (default: ``by``)."""
    client = Client(**fields, manager=manager or by, created_by=by)
    client.full_clean()
    client.save()
    return client
