"""The chessboard's figures add up: the per-status counts, areas and sums make the board's
total, and the page says which price a sold unit's sum uses (issue 11: "its totals do not add
up; say which price a sold sum uses")."""

import pytest

from kvartal.inventory import services
from kvartal.inventory.models import UnitStatus
from kvartal.inventory.tests.sales_state import set_sales_state

from .test_chessboard import STUDIO, THREE, TWO, board_url, building, unit_at  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_status_totals_add_up_to_the_boards_total(client, manager, keeper, building):  # noqa: F811
    set_sales_state(unit=unit_at(building, 2, 1), status=UnitStatus.SOLD, by=keeper)
    set_sales_state(unit=unit_at(building, 1, 3), status=UnitStatus.RESERVED, by=keeper)
    services.unit_set_status(
        unit=unit_at(building, 2, 4), status=UnitStatus.NOT_FOR_SALE, by=keeper
    )
    client.force_login(manager)
    response = client.get(board_url(building))
    board = response.context["board"]
    totals = {t.status: t for t in board.totals}
    assert sum(t.count for t in board.totals) == board.shown == board.total == 8
    assert sum(t.area for t in board.totals) == board.shown_area
    assert sum(t.price for t in board.totals) == board.shown_price
    # the sold unit's sum is its list price (the note says so), by hand: a studio
    assert totals[UnitStatus.SOLD].price == STUDIO
    assert totals[UnitStatus.RESERVED].price == TWO
    assert totals[UnitStatus.NOT_FOR_SALE].price == THREE
    assert "at the units' list prices, sold units too" in response.content.decode()
