"""What the showcase caches, what a page costs, and that a change shows on the next view;
the price a buyer pays as the filters' and the cards' one figure."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kvartal.inventory.models import Unit
from kvartal.inventory.services import unit_set_price
from kvartal.sales.models import Promotion
from kvartal.sales.tests.factories import make_client, make_promotion
from kvartal.showcase import cache, selectors
from kvartal.showcase.models import PriceShown, ProjectShowcase

pytestmark = pytest.mark.django_db


def _digits(page) -> str:
    """The page's text with the thousands separators of either language taken out."""
    return re.sub(r"(?<=\d)[\s,\u00a0\u202f](?=\d)", "", page.text)


def test_a_returning_visitors_unit_page_costs_three_queries(
    client, project, unit, django_assert_num_queries
):
    url = reverse("showcase:unit-detail", args=[unit.pk])
    client.get(url)  # the visitor exists, the page is kept
    # the kept page with its generations (none with Redis), the visitor with their
    # favourite/compare marks, the view counted
    with django_assert_num_queries(3):
        page = client.get(url)
    assert page.status_code == 200 and "Ways to pay" in page.text


def test_a_kept_unit_page_shows_a_hold_on_the_next_view(
    client, project, unit, manager, django_capture_on_commit_callbacks
):
    from kvartal.clients.services import client_create
    from kvartal.sales.services.holds import hold_create

    url = reverse("showcase:unit-detail", args=[unit.pk])
    assert "Book online" in client.get(url).text
    assert "Book online" in client.get(url).text  # now from the kept page
    buyer = client_create(by=manager, last_name="Секретова", first_name="Анна")
    with django_capture_on_commit_callbacks(execute=True):  # committed: the unit's generation
        hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=1)
    page = client.get(url).text
    assert "Booked" in page and "Book online" not in page and "Секретова" not in page


def test_a_hold_forgets_its_unit_with_one_cache_command_after_its_commit(
    project, unit, manager, django_capture_on_commit_callbacks
):
    """The hold saves the hold, the unit and its history row: one callback, one command (it
    was three callbacks of a read and two writes each, all after every hold)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kvartal.sales.services.holds import hold_create

    buyer = make_client(manager=manager)
    with django_capture_on_commit_callbacks() as callbacks:
        hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=1)
    forgets = [c for c in callbacks if isinstance(c, cache._Pending)]
    assert len(forgets) == 1 and forgets[0].ids == {unit.pk}
    with CaptureQueriesContext(connection) as ctx:
        forgets[0]()
    assert len(ctx.captured_queries) == 1 and "DELETE" in ctx.captured_queries[0]["sql"]


def test_a_rolled_back_savepoint_does_not_take_a_later_change_with_it(
    project, units, django_capture_on_commit_callbacks
):
    from django.db import transaction

    first, second = units[0], units[1]
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        try:
            with transaction.atomic():
                cache.units_changed([first.pk])
                raise RuntimeError
        except RuntimeError:
            pass
        cache.units_changed([second.pk])  # its callback was dropped with the savepoint
    kept = [c for c in callbacks if isinstance(c, cache._Pending)]
    assert [c.ids for c in kept] == [{second.pk}]


def test_a_forgotten_generation_starts_afresh_and_never_reuses_the_old_number(
    project, unit, django_capture_on_commit_callbacks
):
    entry_key, gen = cache.unit_key(unit.pk, "ru"), cache.unit_gen(unit.pk)
    _data, generations = cache.read(entry_key, gen)
    cache.write(entry_key, {"kept": True}, generations)
    assert cache.read(entry_key, gen)[0] == {"kept": True}
    with django_capture_on_commit_callbacks(execute=True):
        cache.units_changed([unit.pk])
    data, fresh = cache.read(entry_key, gen)
    assert data is None and fresh[gen] != generations[gen]


def test_a_kept_unit_page_carries_each_visitors_own_marks_token_and_stamp(project, unit):
    from django.core import signing
    from django.test import Client

    from kvartal.showcase.visitors import _SALT

    url = reverse("showcase:unit-detail", args=[unit.pk])
    keeper_of_it, other = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    pages = {}
    for name, visitor in (("keeper", keeper_of_it), ("other", other)):
        page = visitor.get(url).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
        favourite = reverse("showcase:favourite-toggle", args=[unit.pk])
        if name == "keeper":  # their own token is accepted: the favourite is kept
            assert visitor.post(favourite, {"csrfmiddlewaretoken": token}).status_code == 302
        pages[name] = visitor.get(url).text
        stamp = re.search(r'name="started" value="([^"]+)"', pages[name])[1]
        assert signing.loads(stamp, salt=_SALT)  # a real stamp, not the slot
        assert "kvslot" not in pages[name] and "kv:slot" not in pages[name]
    assert 'aria-pressed="true">★' in pages["keeper"]
    assert 'aria-pressed="true"' not in pages["other"]


def test_a_signed_in_manager_gets_the_page_rendered_and_visitors_never_see_their_menu(
    client, project, unit, manager
):
    from django.test import Client

    url = reverse("showcase:unit-detail", args=[unit.pk])
    client.force_login(manager)
    assert "Back office" in client.get(url).text
    assert "Back office" not in Client().get(url).text
    assert "Back office" in client.get(url).text


def test_a_cached_unit_page_shows_a_new_price_and_a_new_promotion_on_the_next_view(
    client, project, unit, keeper, django_capture_on_commit_callbacks
):
    url = reverse("showcase:unit-detail", args=[unit.pk])
    client.get(url)
    with django_capture_on_commit_callbacks(execute=True):  # the cache forgets on commit
        unit_set_price(unit=unit, price=Decimal("9876000"), by=keeper, reason="прайс")
    assert "9876000" in _digits(client.get(url))
    with django_capture_on_commit_callbacks(execute=True):
        make_promotion(projects=[project], value=Decimal("10"), name="Осенняя")
    page = _digits(client.get(url))
    assert "Осенняя" in page and "8888400" in page


def test_the_catalogue_is_kept_and_a_price_change_shows_on_the_next_view(
    client,
    project,
    units,
    keeper,
    django_assert_max_num_queries,
    django_capture_on_commit_callbacks,
):
    unit = units[0]
    query = {"rooms": [str(unit.rooms)], "sort": "price"}
    client.get("/", query)
    # the cache entry with its generations, the visitor, the experiment, favourites,
    # comparison, the project filter's choices
    with django_assert_max_num_queries(6):
        client.get("/", query)
    with django_capture_on_commit_callbacks(execute=True):
        unit_set_price(unit=unit, price=Decimal("1234000"), by=keeper, reason="прайс")
    assert "1234000" in _digits(client.get("/", query))


@pytest.mark.parametrize(
    "kind, value, min_price",
    [
        (Promotion.DiscountKind.PERCENT, Decimal("7.5"), None),
        (Promotion.DiscountKind.AMOUNT, Decimal("250000.50"), None),
        (Promotion.DiscountKind.PER_M2, Decimal("140000"), None),
        (Promotion.DiscountKind.PERCENT, Decimal("40"), Decimal("5000000")),
    ],
)
def test_the_buyer_price_in_sql_is_the_shown_price(project, units, kind, value, min_price):
    rooms = sorted({u.rooms for u in units})[:1]
    make_promotion(
        projects=[project], discount_kind=kind, value=value, min_price=min_price, rooms=rooms
    )
    make_promotion(units=units[:3], value=Decimal("1"))
    now = timezone.now()
    rows = list(selectors.with_buyer_price(selectors.available_units()).select_related("building"))
    shown = selectors.shown_prices(rows, selectors.settings_of([project.pk]), now)
    assert rows
    for row in rows:
        assert Decimal(row.buyer_price) == shown[row.pk].price, row.pk
    assert any(shown[r.pk].discounted for r in rows)


def test_price_filters_and_sort_use_the_price_a_buyer_pays(
    client, project, units, django_capture_on_commit_callbacks
):
    unit = units[0]
    make_promotion(
        units=[unit],
        discount_kind=Promotion.DiscountKind.AMOUNT,
        value=(unit.price * Decimal("0.9")).quantize(Decimal(1)),
    )
    # a list price far above the limit, a promotion price within it: found, and first
    limit = unit.price / 2
    found = client.get("/", {"price_max": str(limit.quantize(Decimal(1))), "sort": "price"})
    url = reverse("showcase:unit-detail", args=[unit.pk])
    assert url in found.text
    cheaper = client.get("/", {"sort": "price"}).text
    assert cheaper.index(url) < min(
        cheaper.index(reverse("showcase:unit-detail", args=[u.pk]))
        for u in units[1:]
        if reverse("showcase:unit-detail", args=[u.pk]) in cheaper
    )
    # where the marketer shows the list price, the list price is what is filtered
    showcase = ProjectShowcase.objects.get(project=project)
    showcase.price_shown = PriceShown.LIST
    with django_capture_on_commit_callbacks(execute=True):  # the cache forgets on commit
        showcase.save()
    found = client.get("/", {"price_max": str(limit.quantize(Decimal(1))), "sort": "price"})
    assert url not in found.text
    assert Unit.objects.get(pk=unit.pk).price == unit.price


def test_the_price_per_m2_sort_uses_the_price_a_buyer_pays(
    client, project, units, django_capture_on_commit_callbacks
):
    # every flat lists at 150 000 ₽/m²; a promotion brings the last one's down to 135 000
    unit = units[-1]
    make_promotion(units=[unit], value=Decimal("10"))
    url = reverse("showcase:unit-detail", args=[unit.pk])
    others = [reverse("showcase:unit-detail", args=[u.pk]) for u in units[:-1]]

    def first_by_price_m2() -> str:
        text = client.get("/", {"sort": "price_m2"}).text
        return min([url, *others], key=lambda u: text.index(u) if u in text else len(text))

    assert first_by_price_m2() == url
    # where the marketer shows the list price, the promotion does not move it
    showcase = ProjectShowcase.objects.get(project=project)
    showcase.price_shown = PriceShown.LIST
    with django_capture_on_commit_callbacks(execute=True):
        showcase.save()
    assert first_by_price_m2() != url


def test_the_comparison_shows_the_price_per_m2_a_buyer_pays(client, project, units):
    # every flat lists at 150 000 ₽/m²; a 10 % promotion brings one down to 135 000 ₽/m²
    promoted, plain = units[0], units[1]
    make_promotion(units=[promoted], value=Decimal("10"))
    for unit in (promoted, plain):
        client.post(reverse("showcase:compare-toggle", args=[unit.pk]))
    text = _digits(client.get(reverse("showcase:compare")))
    row = re.search(r"Price per m²</th>(.*?)</tr>", text).group(1)
    cells = re.findall(r"<td>([\d.]+)", row)
    assert Decimal(cells[0]) < Decimal("140000") and Decimal(cells[1]) >= Decimal("149000")


def test_the_widget_sorts_by_the_price_a_buyer_pays(client, project, units):
    dearest = max(units, key=lambda u: u.price)
    make_promotion(
        units=[dearest],
        discount_kind=Promotion.DiscountKind.AMOUNT,
        value=(dearest.price * Decimal("0.9")).quantize(Decimal(1)),
    )
    text = client.get(reverse("showcase:embed", args=[project.pk])).text
    first = re.search(r'href="/units/(\d+)/"', text).group(1)
    assert int(first) == dearest.pk


def test_the_kept_catalogue_page_drops_a_unit_held_in_the_office_on_the_next_view(
    client, project, units, manager, django_assert_num_queries, django_capture_on_commit_callbacks
):
    from kvartal.clients.services import client_create
    from kvartal.sales.services.holds import hold_create

    unit = units[0]
    url = reverse("showcase:unit-detail", args=[unit.pk])
    query = {"rooms": [str(unit.rooms)], "sort": "price"}
    assert url in client.get("/", query).text  # rendered and kept
    # kept: the page with its generations (none with Redis), the experiment, the visitor's
    # favourites and comparison (no cookie yet: no visitor to read)
    with django_assert_num_queries(2):
        assert url in client.get("/", query).text
    buyer = client_create(by=manager, last_name="Секретова", first_name="Анна")
    with django_capture_on_commit_callbacks(execute=True):  # committed: the units generation
        hold_create(unit=unit, client=buyer, manager=manager, by=manager, days=1)
    page = client.get("/", query).text
    assert url not in page and "Секретова" not in page


def test_a_kept_catalogue_page_carries_each_visitors_own_marks_and_token(project, units):
    from django.test import Client

    keeper_of_it, other = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    unit = units[0]
    favourite = reverse("showcase:favourite-toggle", args=[unit.pk])
    pages = {}
    for name, visitor in (("keeper", keeper_of_it), ("other", other)):
        page = visitor.get("/").text
        tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page))
        assert len(tokens) == 1 and "kvslot" not in page and "kv:slot" not in page
        if name == "keeper":  # their own token is accepted: the favourite is kept
            response = visitor.post(favourite, {"csrfmiddlewaretoken": tokens.pop()})
            assert response.status_code == 302
        pages[name] = visitor.get("/").text
    assert pages["keeper"].count('aria-pressed="true">★') == 1
    assert 'aria-pressed="true"' not in pages["other"]
    token = {
        name: re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
        for name, page in pages.items()
    }
    assert token["keeper"] != token["other"]
    # the other visitor's token is theirs: their favourite is accepted too
    assert other.post(favourite, {"csrfmiddlewaretoken": token["other"]}).status_code == 302
