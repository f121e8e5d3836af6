"""Call scripts as data: which variant a call gets (a stable rule), where the operator is in
it, the answers saved on the call; and the A/B figures with their significance test.

Assignment: the variant of a call is chosen by hashing the script and a key — the caller's
phone (``assign_by = caller``: the same caller always hears the same variant) or the operator
(``assign_by = operator``: a group of operators tries a variant) — into the variants' weights.
No randomness and nothing stored to be consistent: the same key gives the same variant as long
as the variants and their weights stay the same.
"""

import hashlib
import math
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kvartal.clients.models import Purpose

from .models import AssignBy, Call, CallAnswer, Script, ScriptStep, ScriptVariant


def bucket(script_id: int, key: str, total: int) -> int:
    """A stable number in ``[0, total)`` for ``key`` in this script."""
    digest = hashlib.sha256(f"{script_id}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % total


def choose_variant(script: Script, key: str, variants=None) -> ScriptVariant | None:
    variants = [v for v in (variants or script.variants.order_by("pk")) if v.weight > 0]
    total = sum(v.weight for v in variants)
    if not total or not key:
        return None
    point = bucket(script.pk, key, total)
    for variant in variants:
        if point < variant.weight:
            return variant
        point -= variant.weight
    return variants[-1]  # pragma: no cover - the weights add up to total


def active_script() -> Script | None:
    return Script.objects.filter(is_active=True).order_by("-created_at", "-pk").first()


def assign(call: Call) -> ScriptVariant | None:
    """Give ``call`` its variant of the active script (once; the caller saves the call)."""
    if call.variant_id is not None:
        return call.variant
    script = active_script()
    if script is None:
        return None
    if script.assign_by == AssignBy.OPERATOR:
        key = str(call.operator_id or "")
    else:
        key = call.phone_normalized or call.external_id
    call.variant = choose_variant(script, key)
    return call.variant


@dataclass
class Walk:
    """Where a call is in its script: its variant, every step with the answer given, and the
    step to ask now (``None``: the script is done)."""

    variant: ScriptVariant
    steps: list[ScriptStep]
    answers: dict[int, str] = field(default_factory=dict)
    current: ScriptStep | None = None
    path: list[ScriptStep] = field(default_factory=list)

    def choices(self, step: ScriptStep) -> list[tuple[str, str]]:
        if step.purpose_branch:
            return list(Purpose.choices)
        return [(c, c) for c in step.choices]


def walk(call: Call) -> Walk | None:
    """Follow the call's answers from the first step along the branches."""
    if call.variant_id is None:
        with transaction.atomic():
            locked = Call.objects.select_for_update().get(pk=call.pk)
            if assign(locked) is None:
                return None
            locked.save(update_fields=["variant"])
            call.variant = locked.variant
    steps = list(call.variant.steps.all())
    if not steps:
        return None
    by_code = {s.code: s for s in steps}
    answers = dict(CallAnswer.objects.filter(call=call).values_list("step_id", "answer"))
    result = Walk(variant=call.variant, steps=steps, answers=answers)
    step, seen = steps[0], set()
    while step is not None and step.pk not in seen:
        seen.add(step.pk)
        result.path.append(step)
        if step.pk not in answers:
            result.current = step
            break
        step = by_code.get(step.next_code(answers[step.pk]))
    return result


@transaction.atomic
def answer_save(*, call: Call, by, step: int, answer: str) -> CallAnswer:
    """Save (or correct) the answer to a step of the call's own variant."""
    step_row = ScriptStep.objects.filter(pk=step, variant_id=call.variant_id).first()
    if step_row is None:
        raise ValidationError(_("This step is not in the call's script."))
    answer = (answer or "").strip()
    allowed = set(Purpose.values) if step_row.purpose_branch else {str(c) for c in step_row.choices}
    if allowed and answer not in allowed:
        raise ValidationError(_("Choose one of the answers."))
    if not answer:
        raise ValidationError(_("Give an answer."))
    row, _created = CallAnswer.objects.update_or_create(
        call=call, step=step_row, defaults={"answer": answer[:300]}
    )
    return row


# --- the A/B figures ----------------------------------------------------------------------


def _lower_gamma_series(a: float, x: float) -> float:
    term = total = 1.0 / a
    n = a
    for _step in range(500):
        n += 1
        term *= x / n
        total += term
        if abs(term) < abs(total) * 1e-15:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _upper_gamma_fraction(a: float, x: float) -> float:
    # Lentz's method for the continued fraction of the upper incomplete gamma function
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 500):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def chi2_sf(x: float, df: int) -> float:
    """P(χ² with ``df`` degrees of freedom ≥ ``x``): the p-value of a chi-squared test."""
    if x <= 0:
        return 1.0
    a, half = df / 2, x / 2
    if half < a + 1:
        return max(0.0, 1 - _lower_gamma_series(a, half))
    return min(1.0, _upper_gamma_fraction(a, half))


def chi2_independence(table: list[tuple[int, int]]) -> tuple[float, int, float] | None:
    """Pearson's chi-squared test on rows of (successes, failures): ``(χ², df, p)``, or
    ``None`` when it cannot be computed (fewer than two rows with calls, or no variation)."""
    rows = [(s, f) for s, f in table if s + f > 0]
    if len(rows) < 2:
        return None
    total = sum(s + f for s, f in rows)
    succ = sum(s for s, _f in rows)
    fail = total - succ
    if succ == 0 or fail == 0:
        return None
    chi2 = 0.0
    for s, f in rows:
        n = s + f
        for observed, column in ((s, succ), (f, fail)):
            expected = n * column / total
            chi2 += (observed - expected) ** 2 / expected
    df = len(rows) - 1
    return chi2, df, chi2_sf(chi2, df)
