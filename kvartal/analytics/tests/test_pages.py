"""The report pages: filters and their errors, exports, shared links, director access."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kvartal.accounts.models import Role
from kvartal.analytics.models import ReportAccess, SharedLink, SharedLinkOpen
from kvartal.analytics.sharing import sign
from kvartal.testing import make_user

from .factories import make_floor_units, msk, sell

pytestmark = pytest.mark.django_db
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def director(client):
    user = make_user(Role.DIRECTOR)
    client.force_login(user)
    return user


@pytest.fixture
def sold(settings):
    settings.TIME_ZONE = "Europe/Moscow"
    units = make_floor_units()
    sell(units[0], msk(2026, 1, 10, 12, 0), price=Decimal("4000000"))
    return units


def report_url(key="sales", **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("analytics:report", args=[key]) + (f"?{query}" if query else "")


def test_the_report_page_shows_figures_table_and_chart(client, director, sold):
    response = client.get(report_url(date_from="2026-01-01", date_to="2026-01-31", step="week"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Sales statistics" in page
    assert "4,000,000" in page or "4 000 000" in page
    assert "<svg" in page


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date_from": "2026-03-01", "date_to": "2026-01-01"}, "The period starts after it ends"),
        ({"step": "fortnight"}, "Unknown step"),
        ({"date_from": "2026-13-45"}, "Enter a valid date"),
        ({"date_from": "2000-01-01", "date_to": "2026-01-01", "step": "day"}, "Too many steps"),
        ({"project": "999999"}, "Select a valid choice"),
        ({"date_from": "9999-12-30", "date_to": "9999-12-31"}, "Choose a date between"),
        ({"unit_type": "villa"}, "Select a valid choice"),
    ],
)
def test_bad_filters_get_a_clear_message_not_an_error(client, director, params, message):
    response = client.get(report_url(**params))
    assert response.status_code == 400
    assert message in response.content.decode()
    export = client.get(reverse("analytics:export", args=["sales", "xlsx"]) + "?step=fortnight")
    assert export.status_code == 400
    assert "Unknown step" in export.content.decode()


def test_exports(client, director, sold):
    query = "?date_from=2026-01-01&date_to=2026-01-31"
    xlsx = client.get(reverse("analytics:export", args=["sales", "xlsx"]) + query)
    assert xlsx.status_code == 200
    assert xlsx["Content-Type"] == XLSX
    assert xlsx.content[:2] == b"PK"
    pdf = client.get(reverse("analytics:export", args=["sales", "pdf"]) + query)
    assert pdf.status_code == 200
    assert pdf.content[:4] == b"%PDF"
    assert client.get(reverse("analytics:export", args=["sales", "csv"])).status_code == 404


def test_an_unknown_report_is_not_found(client, director):
    assert client.get(report_url("no-such-report")).status_code == 404


def _share(client, query="date_from=2026-01-01&date_to=2026-01-31", days="7"):
    response = client.post(
        reverse("analytics:share", args=["sales"]), {"query": query, "days": days}
    )
    assert response.status_code == 302
    return SharedLink.objects.order_by("-pk").first()


def test_a_shared_link_shows_the_live_report_read_only_and_logs_each_opening(
    client, director, sold
):
    link = _share(client)
    url = reverse("shared:report", args=[sign(link)])
    client.logout()
    response = client.get(url, HTTP_USER_AGENT="Test browser", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Sales statistics" in page
    assert "read-only" in page
    assert "csrfmiddlewaretoken" not in page  # nothing to submit
    # Live: a sale recorded after sharing shows at the next opening.
    sell(sold[1], msk(2026, 1, 20, 12, 0))  # 38.40 m² × 150 000 = 5 760 000
    again = client.get(url).content.decode()
    assert "9,760,000" in again or "9 760 000" in again  # 4 000 000 + 5 760 000
    opens = list(SharedLinkOpen.objects.filter(link=link).order_by("pk"))
    assert [(o.outcome, o.address, o.user_agent) for o in opens[:1]] == [
        ("shown", "10.1.2.3", "Test browser")
    ]
    assert len(opens) == 2
    assert client.get(reverse("shared:export", args=[sign(link), "xlsx"])).status_code == 200


def test_a_tampered_expired_or_withdrawn_link_gets_a_message(client, director, sold):
    link = _share(client)
    signed = sign(link)
    client.logout()
    damaged = signed[:-2] + ("yy" if signed.endswith("xx") else "xx")  # never the same text
    tampered = client.get(reverse("shared:report", args=[damaged]))
    assert tampered.status_code == 400
    assert "This link is damaged" in tampered.content.decode()
    SharedLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = client.get(reverse("shared:report", args=[signed]))
    assert expired.status_code == 410
    assert "This link has expired" in expired.content.decode()
    assert SharedLinkOpen.objects.get(link=link).outcome == "expired"
    SharedLink.objects.filter(pk=link.pk).update(
        expires_at=timezone.now() + timedelta(days=1), revoked_at=timezone.now()
    )
    withdrawn = client.get(reverse("shared:report", args=[signed]))
    assert withdrawn.status_code == 410
    assert "This link was withdrawn" in withdrawn.content.decode()
    # The author's list says how the last opening ended, in the reader's language.
    client.force_login(director)
    page = client.get(reverse("analytics:links"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "отказ: ссылка отозвана" in page and ">revoked<" not in page


def test_sharing_refuses_bad_days_and_bad_filters_and_creates_nothing(client, director):
    for days in ("0", "91", "soon"):
        client.post(reverse("analytics:share", args=["sales"]), {"query": "", "days": days})
    client.post(
        reverse("analytics:share", args=["sales"]), {"query": "step=fortnight", "days": "7"}
    )
    assert SharedLink.objects.count() == 0


def test_withdrawing_is_for_the_author_or_an_administrator(client, director, sold):
    link = _share(client)
    other = make_user(Role.SALES_HEAD)
    client.force_login(other)
    response = client.post(reverse("analytics:link-withdraw", args=[link.pk]))
    assert response.status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None
    client.force_login(director)
    client.post(reverse("analytics:link-withdraw", args=[link.pk]))
    link.refresh_from_db()
    assert link.revoked_at is not None


def test_an_administrator_chooses_the_reports_of_a_director(client, director):
    admin = make_user(Role.ADMIN)
    client.force_login(admin)
    response = client.post(
        reverse("analytics:access"),
        {f"limit-{director.pk}": "1", f"reports-{director.pk}": ["price-m2", "nonsense"]},
    )
    assert response.status_code == 302
    assert ReportAccess.objects.get(user=director).reports == ["price-m2"]
    client.force_login(director)
    index = client.get(reverse("analytics:index")).content.decode()
    assert reverse("analytics:report", args=["price-m2"]) in index
    assert reverse("analytics:report", args=["sales"]) not in index
    assert client.get(report_url("sales")).status_code == 404
    assert client.get(report_url("price-m2")).status_code == 200
    # Without the limit again: every report.
    client.force_login(admin)
    client.post(reverse("analytics:access"), {})
    assert not ReportAccess.objects.filter(user=director).exists()


def test_a_director_has_no_edit_screens(client, director):
    for name in (
        "inventory:project-create",
        "inventory:price-bulk",
        "sales:deal-create",
        "analytics:builder",
        "analytics:access",
    ):
        assert client.get(reverse(name)).status_code == 403
    page = client.get(reverse("analytics:dashboard"))
    assert page.status_code == 200


def test_the_dashboard_shows_this_month_and_year(client, director, settings):
    settings.TIME_ZONE = "Europe/Moscow"
    units = make_floor_units()
    now = timezone.localtime()
    sell(units[0], now - timedelta(minutes=5), price=Decimal("4000000"))
    page = client.get(reverse("analytics:dashboard")).content.decode()
    assert "Sales this month" in page
    assert "Sales this year" in page
    assert "4,000,000" in page or "4 000 000" in page
    # Computed again as soon as the data changes.
    sell(units[1], now - timedelta(minutes=1))  # 38.40 m² × 150 000 = 5 760 000
    again = client.get(reverse("analytics:dashboard")).content.decode()
    assert "9,760,000" in again or "9 760 000" in again


def test_a_long_table_shows_its_first_rows_and_says_so(client, director):
    from django.template.loader import render_to_string

    from kvartal.analytics.results import Column, Result, Table

    rows = [{"n": i} for i in range(301)]
    result = Result(title="T", tables=[Table("t", "T", [Column("n", "N", "int")], rows)])
    html = render_to_string("analytics/_result.html", {"result": result})
    assert html.count("<tr>") == 1 + 300  # the head and the first 300
    assert "The first 300 rows of 301 are shown" in html


def test_a_link_ends_when_its_author_loses_the_report(client, director, sold):
    link = _share(client)
    url = reverse("shared:report", args=[sign(link)])
    ReportAccess.objects.create(user=director, reports=["stock"])
    client.logout()
    assert client.get(url).status_code == 410
    ReportAccess.objects.filter(user=director).delete()
    assert client.get(url).status_code == 200
    director.is_active = False
    director.save()
    assert client.get(url).status_code == 410


def test_odd_json_in_a_template_s_roles_is_ignored(client, director):
    from kvartal.analytics.models import ReportTemplate

    owner = make_user(Role.ADMIN)
    for roles in (5, [["x"]], "xdirectorx", {"director": 1}):
        template = ReportTemplate.objects.create(
            name="t",
            owner=owner,
            source="sales",
            dimensions=["month"],
            measures=["count"],
            shared_roles=roles,
        )
        assert client.get(reverse("analytics:template", args=[template.pk])).status_code == 404
    assert client.get(reverse("analytics:index")).status_code == 200


def test_a_huge_building_id_is_refused_politely(client, director):
    response = client.get(report_url(building="99999999999999999999"))
    assert response.status_code == 400


def test_only_an_administrator_chooses_the_directors_reports(client, director):
    for role in (Role.DIRECTOR, Role.SALES_HEAD):
        client.force_login(make_user(role))
        response = client.post(
            reverse("analytics:access"),
            {f"limit-{director.pk}": "1", f"reports-{director.pk}": ["sales"]},
        )
        assert response.status_code == 403
    assert not ReportAccess.objects.exists()


def test_the_links_page_reads_a_count_and_the_last_opening_not_every_opening(
    client, director, sold
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    link = _share(client)
    signed = sign(link)

    def opened(times):
        for _n in range(times):
            client.get(reverse("shared:report", args=[signed]))
        client.force_login(director)
        with CaptureQueriesContext(connection) as captured:
            page = client.get(reverse("analytics:links"))
        return len(captured), page.content.decode()

    few, _page = opened(1)
    many, page = opened(4)
    assert many == few
    assert SharedLinkOpen.objects.filter(link=link).count() == 5
    assert '<td class="num">5</td>' in page
