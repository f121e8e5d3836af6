"""The demo's showcase: every project published, two subsidised programmes, two instalment
plans and the full-payment discount, so ``/`` shows the catalogue with every way to pay."""

from decimal import Decimal

from kvartal.inventory.models import Project
from kvartal.showcase.models import InstalmentPlan, MortgageProgramme, ProjectShowcase

HEADLINES = [
    "Квартал у парка, школа и сад во дворе",
    "Видовые квартиры у набережной",
    "Тихий центр, подземный паркинг",
]


def setup_showcase(say) -> None:
    say("Showcase: projects published, programmes and plans …")
    for n, project in enumerate(Project.objects.order_by("pk")):
        ProjectShowcase.objects.update_or_create(
            project=project,
            defaults={
                "is_published": True,
                "headline": HEADLINES[n % len(HEADLINES)],
                "full_payment_discount": Decimal("3"),
                "mortgage_rate": Decimal("18"),
            },
        )
    MortgageProgramme.objects.get_or_create(
        name="Семейная ипотека",
        defaults={
            "bank": "Уральский банк",
            "kind": "state",
            "rate": Decimal("6"),
            "min_down_payment": Decimal("20"),
            "max_loan": Decimal("6000000"),
            "conditions": "Семьи с ребёнком до 6 лет; лимит кредита 6 млн ₽.",
        },
    )
    MortgageProgramme.objects.get_or_create(
        name="0,1 % на первый год",
        defaults={
            "bank": "Уральский банк",
            "kind": "developer",
            "rate": Decimal("0.1"),
            "months": 12,
            "min_down_payment": Decimal("20"),
            "conditions": "Субсидия застройщика: первый год 0,1 %, дальше рыночная ставка.",
        },
    )
    InstalmentPlan.objects.get_or_create(
        name="Рассрочка на 12 месяцев",
        defaults={"down_payment": Decimal("30"), "months": 12},
    )
    InstalmentPlan.objects.get_or_create(
        name="Рассрочка на 24 месяца",
        defaults={"down_payment": Decimal("20"), "months": 24, "markup": Decimal("4")},
    )
