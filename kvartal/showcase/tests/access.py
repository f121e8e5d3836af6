"""The showcase's back-office pages in the URL × role table (collected by
accounts/tests/test_access.py). The public pages (namespace ``showcase``) are open to anyone
and tested by this app's own tests; its public pictures (``showcase-files``) are walked here
too, as open to anyone (tests/test_files.py has what they refuse)."""

import io
from decimal import Decimal

from django.conf import settings
from PIL import Image

from kvartal.accounts.models import Role
from kvartal.inventory.models import Unit
from kvartal.showcase.models import (
    Experiment,
    ExperimentKind,
    InstalmentPlan,
    MortgageProgramme,
    ProgrammeKind,
    ProjectShowcase,
)

PUBLIC = "public"  # accounts/tests/test_access.py: open without signing in

MANAGE = frozenset({Role.ADMIN, Role.MARKETER})  # showcase.manage
# inventory.view: everyone signed in but agency partners (they have their cabinet)
READ = frozenset(r.value for r in Role) - {Role.AGENCY_PARTNER}

PAGES: dict = {
    "showcase-office:home": (MANAGE, None),
    "showcase-office:project": (MANAGE, "showcase_project"),
    "showcase-office:programme-new": (MANAGE, None),
    "showcase-office:programme": (MANAGE, "showcase_programme"),
    "showcase-office:plan-new": (MANAGE, None),
    "showcase-office:plan": (MANAGE, "showcase_plan"),
    "showcase-office:experiment-new": (MANAGE, None),
    "showcase-office:experiment": (MANAGE, "showcase_experiment"),
    "showcase-office:terms": (READ, "showcase_unit"),
    "showcase-office:offer": (READ, "showcase_unit"),
    "showcase-files:file": (PUBLIC, "showcase_file"),
}


def _published_plan(unit) -> str:
    """A PNG layout for ``unit``, its project published on the showcase."""
    name = f"plans/units/walk-{unit.pk}.png"
    path = settings.MEDIA_ROOT / name
    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.BytesIO()
    Image.new("RGB", (4, 3), "red").save(out, "PNG")
    path.write_bytes(out.getvalue())
    Unit.objects.filter(pk=unit.pk).update(layout=name)
    ProjectShowcase.objects.update_or_create(
        project_id=unit.building.project_id, defaults={"is_published": True}
    )
    return name


def build_objects(*, persona, unit) -> dict:
    programme = MortgageProgramme.objects.create(
        name="Семейная", bank="Банк", kind=ProgrammeKind.STATE, rate=Decimal("6")
    )
    plan = InstalmentPlan.objects.create(
        name="12 месяцев", down_payment=Decimal("30"), months=12, markup=Decimal("5")
    )
    experiment = Experiment.objects.create(name="Порядок", kind=ExperimentKind.UNIT_ORDER)
    return {
        "showcase_project": {"project_id": unit.building.project_id},
        "showcase_programme": {"pk": programme.pk},
        "showcase_plan": {"pk": plan.pk},
        "showcase_experiment": {"pk": experiment.pk},
        "showcase_unit": {"unit_id": unit.pk},
        "showcase_file": {"path": _published_plan(unit)},
    }
