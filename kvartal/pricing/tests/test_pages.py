"""The pricing pages: who may open them, the preview on the table and the board, proposing
and deciding through the pages."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from kvartal.accounts.models import Role
from kvartal.core.testing import make_user
from kvartal.inventory.models import Unit
from kvartal.pricing import services
from kvartal.pricing.models import Batch, BatchSource, BatchStatus

from .factories import make_price_list, new_stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def price_list(keeper):
    return make_price_list(new_stock(by=keeper).building)


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.ADMIN, 200),
        (Role.SALES_HEAD, 200),
        (Role.DIRECTOR, 200),
        (Role.INVENTORY_KEEPER, 200),
        (Role.MARKETER, 200),
        (Role.SALES_MANAGER, 403),
        (Role.CASHIER, 403),
    ],
)
def test_who_opens_the_pricing_pages(client, price_list, role, status):
    client.force_login(make_user(role))
    for url in (
        reverse("pricing:index"),
        reverse("pricing:pricelist-list"),
        reverse("pricing:pricelist-preview", args=[price_list.pk]),
        reverse("pricing:pricelist-preview", args=[price_list.pk]) + "?view=board",
    ):
        assert client.get(url).status_code == status, url


def test_the_preview_shows_old_and_new_prices_and_sends_a_batch(client, keeper, price_list):
    client.force_login(keeper)
    page = client.get(reverse("pricing:pricelist-preview", args=[price_list.pk]))
    assert page.status_code == 200
    assert "Change in revenue" in page.text and "5,500,000" in page.text  # 27.50 × 200 000
    board = client.get(reverse("pricing:pricelist-preview", args=[price_list.pk]) + "?view=board")
    assert board.text.count("pc-new") >= 6
    response = client.post(reverse("pricing:pricelist-preview", args=[price_list.pk]))
    batch = Batch.objects.get()
    assert response.url == reverse("pricing:batch-detail", args=[batch.pk])
    assert batch.lines.count() == 6 and batch.status == BatchStatus.PENDING
    assert Unit.objects.filter(price=0).count() == 6


def test_the_price_list_form_saves_rates_and_refuses_a_zero_base(client, keeper):
    section = new_stock(by=keeper)
    client.force_login(keeper)
    data = {
        "name": "Старт",
        "building": section.building_id,
        "section": "",
        "step_from_floor": "2",
        "step_mode": "percent",
        "step_value": "0.5",
        "min_per_m2": "",
        "round_to": "1000",
        "rates-TOTAL_FORMS": "1",
        "rates-INITIAL_FORMS": "0",
        "rates-0-kind": "apartment",
        "rates-0-rooms": "",
        "rates-0-per_m2": "0",
        "factors-TOTAL_FORMS": "0",
        "factors-INITIAL_FORMS": "0",
    }
    response = client.post(reverse("pricing:pricelist-create"), data)
    assert response.status_code == 400
    assert "greater than zero" in response.text
    assert not section.building.price_lists.exists()
    data["rates-0-per_m2"] = "180000"
    response = client.post(reverse("pricing:pricelist-create"), data)
    price_list = section.building.price_lists.get()
    assert response.url == reverse("pricing:pricelist-preview", args=[price_list.pk])
    assert price_list.rates.get().per_m2 == Decimal("180000")


def test_approving_and_rolling_back_through_the_page(client, keeper, sales_head, price_list):
    preview = services.price_list_preview(price_list=price_list)
    batch = services.batch_propose(
        title="x", source=BatchSource.PRICE_LIST, lines=preview.lines, by=keeper
    )
    url = reverse("pricing:batch-decide", args=[batch.pk])
    client.force_login(keeper)
    assert client.post(url, {"action": "approve"}).status_code == 403
    client.force_login(sales_head)
    page = client.get(reverse("pricing:batch-detail", args=[batch.pk]))
    assert "Approve" in page.text
    client.post(url, {"action": "approve", "effective_at": ""})
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPLIED and not Unit.objects.filter(price=0).exists()
    client.post(url, {"action": "rollback"})
    batch.refresh_from_db()
    assert batch.status == BatchStatus.ROLLED_BACK
    assert Unit.objects.filter(price=0).count() == 6


def test_the_bulk_price_page_sends_its_change_for_approval(client, keeper, sales_head):
    from kvartal.core.testing import make_section
    from kvartal.inventory.models import PriceChange

    section = make_section(floors=1, per_floor=2, price_per_m2=Decimal("100000"), by=keeper)
    client.force_login(keeper)
    url = reverse("inventory:price-bulk") + f"?building={section.building_id}"
    change = {"mode": "percent", "value": "10", "round_to": "1000", "reason": "рост спроса"}
    assert "Send 2 prices for approval" in client.post(url, {**change, "preview": "1"}).text
    response = client.post(url, {**change, "apply": "1"})
    batch = Batch.objects.get()
    assert response.url == reverse("pricing:batch-detail", args=[batch.pk])
    assert batch.source == BatchSource.MANUAL and batch.title == "рост спроса"
    assert not PriceChange.objects.filter(batch__isnull=False).exists()  # not before approval
    services.batch_approve(batch=batch, by=sales_head)
    assert set(section.units.values_list("price", flat=True)) == {
        Decimal("3025000"),
        Decimal("4224000"),
    }


@pytest.mark.parametrize("floors", [2, 6])
def test_the_preview_and_the_batch_pages_cost_the_same_queries_for_any_size(
    client, keeper, floors, django_assert_max_num_queries
):
    from kvartal.core.testing import make_section

    section = make_section(floors=floors, per_floor=4, price_per_m2=None, by=keeper)
    price_list = make_price_list(section.building)
    client.force_login(keeper)
    url = reverse("pricing:pricelist-preview", args=[price_list.pk])
    with django_assert_max_num_queries(12):
        assert client.get(url + "?view=board").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(url).status_code == 200
    batch = services.batch_propose(
        title="x",
        source=BatchSource.PRICE_LIST,
        lines=services.price_list_preview(price_list=price_list).lines,
        by=keeper,
    )
    with django_assert_max_num_queries(12):
        assert client.get(reverse("pricing:batch-detail", args=[batch.pk])).status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(reverse("pricing:index")).status_code == 200


def test_the_price_list_form_names_its_visible_cells_only(client, keeper):
    """Each visible input of a rate or factor row is named by column and row; the hidden ones
    (the row's id, its price list) are not read out, so they are not named."""
    new_stock(by=keeper)
    client.force_login(keeper)
    html = client.get(reverse("pricing:pricelist-create")).text
    assert 'aria-label="Kind, row 1"' in html
    assert re.search(r'<input type="hidden"[^>]*aria-label', html) is None
