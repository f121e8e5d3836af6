"""The deal flows shipped with Kvartal and the default hold terms.

Stage names are stored as data (a company renames them); the shipped English names are
marked for translation and shown through ``gettext`` (``Stage.label``), so the Russian flow
reads in Russian. Used by the data migration and by ``sales_presets`` for a fresh install.
"""

from django.utils.translation import gettext_noop

# code, name, unit status, outcome, requires, initial, termination, needs approval (a stage's
# badge colour follows its outcome: Stage.badge_class)
RU_STAGES = [
    (
        "preparation",
        gettext_noop("Contract preparation"),
        "in_deal",
        "in_work",
        "",
        True,
        False,
        False,
    ),
    (
        "signed",
        gettext_noop("Contract signed"),
        "in_deal",
        "in_work",
        "",
        False,
        False,
        False,
    ),
    (
        "registered",
        gettext_noop("Registered"),
        "sold",
        "bought",
        "registration",
        False,
        False,
        False,
    ),
    ("paid", gettext_noop("Paid in full"), "sold", "bought", "paid", False, False, False),
    (
        "handed_over",
        gettext_noop("Handed over"),
        "sold",
        "bought",
        "act",
        False,
        False,
        False,
    ),
    (
        "terminated",
        gettext_noop("Terminated"),
        "in_deal",
        "refused",
        "reason",
        False,
        True,
        True,
    ),
]
RU_FLOW = [
    ("preparation", "signed"),
    ("signed", "registered"),
    ("registered", "paid"),
    ("paid", "handed_over"),
    ("preparation", "terminated"),
    ("signed", "terminated"),
    ("registered", "terminated"),
    ("paid", "terminated"),
]

CN_STAGES = [
    (
        "pledge",
        "认筹 · " + gettext_noop("Pledge"),
        "in_deal",
        "in_work",
        "",
        True,
        False,
        False,
    ),
    (
        "subscription",
        "认购 · " + gettext_noop("Subscription"),
        "in_deal",
        "in_work",
        "",
        False,
        False,
        False,
    ),
    (
        "contract",
        "签约 · " + gettext_noop("Contract"),
        "sold",
        "bought",
        "registration",
        False,
        False,
        False,
    ),
    (
        "collected",
        "回款 · " + gettext_noop("Collected"),
        "sold",
        "bought",
        "paid",
        False,
        False,
        False,
    ),
    (
        "refund",
        "退房 · " + gettext_noop("Refunded"),
        "in_deal",
        "refused",
        "reason",
        False,
        True,
        True,
    ),
]
CN_FLOW = [
    ("pledge", "subscription"),
    ("subscription", "contract"),
    ("contract", "collected"),
    ("pledge", "refund"),
    ("subscription", "refund"),
    ("contract", "refund"),
]

SCHEMES = [
    ("ru", gettext_noop("Russia: ДДУ / ДКП"), True, RU_STAGES, RU_FLOW),
    ("cn", gettext_noop("China: 认筹 → 认购 → 签约 → 回款"), False, CN_STAGES, CN_FLOW),
]
HOLD_DAYS = [1, 3, 7, 14]


def install(apps=None) -> None:
    """Create the shipped flows and hold terms where they are missing (idempotent)."""
    if apps is None:
        from django.apps import apps as registry

        apps = registry
    StageScheme = apps.get_model("sales", "StageScheme")
    Stage = apps.get_model("sales", "Stage")
    StageTransition = apps.get_model("sales", "StageTransition")
    HoldTerm = apps.get_model("sales", "HoldTerm")
    for code, name, default, stages, flow in SCHEMES:
        scheme, created = StageScheme.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "is_default": default and not StageScheme.objects.filter(is_default=True).exists(),
            },
        )
        if not created:
            continue
        by_code = {}
        for order, (
            s_code,
            s_name,
            status,
            outcome,
            requires,
            initial,
            term,
            approval,
        ) in enumerate(stages):
            by_code[s_code] = Stage.objects.create(
                scheme=scheme,
                code=s_code,
                name=s_name,
                order=order,
                unit_status=status,
                outcome=outcome,
                requires=requires,
                is_initial=initial,
                is_termination=term,
                needs_approval=approval,
            )
        for source, target in flow:
            StageTransition.objects.create(
                scheme=scheme, source=by_code[source], target=by_code[target]
            )
    for days in HOLD_DAYS:
        HoldTerm.objects.get_or_create(days=days)
