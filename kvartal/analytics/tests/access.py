"""The analytics pages in the URL × role table (collected by accounts/tests/test_access.py).

The public side (``shared:*``, a signed link, no sign-in) is tested in test_pages.py.
"""

from kvartal.accounts.models import Role

READERS = frozenset(
    {Role.ADMIN, Role.DIRECTOR, Role.SALES_HEAD, Role.ACCOUNTANT, Role.MARKETER}
)  # analytics.view
BUILDERS = frozenset(
    {Role.ADMIN, Role.SALES_HEAD}
)  # analytics.build: no edit screens for directors
ADMINS = frozenset({Role.ADMIN})  # analytics.configure

PAGES: dict = {
    "analytics:index": (READERS, None),
    "analytics:dashboard": (READERS, None),
    "analytics:access": (ADMINS, None),
    "analytics:links": (READERS, None),
    "analytics:link-withdraw": (READERS, "shared_link"),
    "analytics:report": (READERS, "report"),
    "analytics:export": (READERS, "report_xlsx"),
    "analytics:share": (READERS, "report"),
    "analytics:builder": (BUILDERS, None),
    "analytics:template": (READERS, "template"),
    "analytics:template-edit": (BUILDERS, "template"),
    "analytics:template-delete": (BUILDERS, "template"),
    "analytics:template-export": (READERS, "template_xlsx"),
    "analytics:template-share": (READERS, "template"),
}


def build_objects(*, persona, unit) -> dict:
    from kvartal.analytics.models import ReportTemplate
    from kvartal.analytics.sharing import link_create
    from kvartal.testing import make_user

    admin = make_user(Role.ADMIN)
    reader = persona if persona is not None and persona.role in READERS else admin
    owner = persona if persona is not None and persona.role in BUILDERS else admin
    link = link_create(report="sales", query="", title="Продажи", days=7, by=reader)
    template = ReportTemplate.objects.create(
        name="Продажи по менеджерам",
        owner=owner,
        source="sales",
        dimensions=["manager"],
        measures=["count", "amount"],
        shared_roles=[r.value for r in Role],
    )
    return {
        "shared_link": {"pk": link.pk},
        "report": {"key": "sales"},
        "report_xlsx": {"key": "sales", "fmt": "xlsx"},
        "template": {"pk": template.pk},
        "template_xlsx": {"pk": template.pk, "fmt": "xlsx"},
    }
