"""The tables every hold, sale and change writes to carry no index that another one makes
redundant: each index costs every insert an entry, and one whose columns another index starts
with (or a pattern index for a column only ever compared whole) buys no read."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

# Written on every hold, status move, price change, data edit and audited service.
WRITTEN_OFTEN = (
    "audit_auditevent",
    "inventory_statuschange",
    "inventory_pricechange",
    "inventory_unitchange",
    "sales_hold",
    "sales_holdevent",
)


def _indexes(table: str) -> dict[str, tuple[str, ...]]:
    """Name → columns of the table's plain (not unique) indexes."""
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
    return {
        name: tuple(c["columns"])
        for name, c in found.items()
        if c["index"] and not c["unique"] and not c["primary_key"]
    }


@pytest.mark.parametrize("table", WRITTEN_OFTEN)
def test_no_index_is_made_redundant_by_another(table):
    indexes = _indexes(table)
    assert indexes, f"{table}: no index read"
    redundant = [
        f"{name} {columns} (by {other} {wider})"
        for name, columns in indexes.items()
        for other, wider in indexes.items()
        if other != name and wider[: len(columns)] == columns
    ]
    assert not redundant, f"{table}: {redundant}"


def test_each_way_the_audit_log_is_read_has_its_index():
    """What the audit page filters by (newest first) and what erasure looks up."""
    columns = set(_indexes("audit_auditevent").values())
    for wanted in (
        ("at",),
        ("kind", "at"),
        ("door", "at"),
        ("actor_id", "at"),
        ("object_type", "object_id"),
        ("subject",),
    ):
        assert wanted in columns
