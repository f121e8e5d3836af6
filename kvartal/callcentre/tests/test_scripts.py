"""Call scripts: stable A/B assignment, branches by answer and purpose, answers on the call,
the chi-squared test against known values."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from ..models import AssignBy, Call, CallAnswer, Script, ScriptStep, ScriptVariant
from ..scripts import answer_save, chi2_independence, chi2_sf, choose_variant, walk
from .factories import make_operator, make_system

pytestmark = pytest.mark.django_db


def make_script(weights=(1, 1), assign_by=AssignBy.CALLER) -> Script:
    script = Script.objects.create(name="Входящий", assign_by=assign_by)
    for i, weight in enumerate(weights):
        variant = ScriptVariant.objects.create(script=script, name="AB"[i], weight=weight)
        ScriptStep.objects.create(
            variant=variant, code="hello", order=1, text="Здравствуйте!", choices=["ok"], next="why"
        )
        ScriptStep.objects.create(
            variant=variant,
            code="why",
            order=2,
            text="Для чего покупаете?",
            purpose_branch=True,
            branches={"investment": "yield"},
            next="rooms",
        )
        ScriptStep.objects.create(variant=variant, code="yield", order=3, text="Доходность?")
        ScriptStep.objects.create(
            variant=variant, code="rooms", order=4, text="Сколько комнат?", choices=["1", "2", "3"]
        )
    return script


def make_call(phone="+79001112233", n=[0]):  # noqa: B006 (a counter)
    n[0] += 1
    return Call.objects.create(
        system=make_system(), external_id=f"x{n[0]}", phone_normalized=phone, phone=phone
    )


def test_assignment_is_stable_and_follows_the_weights():
    script = make_script(weights=(3, 1))
    variants = list(script.variants.order_by("pk"))
    phones = [f"+7900{i:07d}" for i in range(400)]
    first = [choose_variant(script, p, variants) for p in phones]
    assert first == [choose_variant(script, p, variants) for p in phones]  # stable
    share_a = sum(v.name == "A" for v in first) / len(first)
    assert 0.68 < share_a < 0.82  # 3:1 weights → about 75 %


def test_a_zero_weight_variant_gets_no_calls():
    script = make_script(weights=(1, 0))
    assert {choose_variant(script, f"+7900{i:07d}").name for i in range(50)} == {"A"}


def test_walk_branches_by_purpose():
    make_script()
    call = make_call()
    state = walk(call)
    assert state.current.code == "hello"
    answer_save(call=call, by=None, step=state.current.pk, answer="ok")
    state = walk(call)
    assert state.current.code == "why"
    answer_save(call=call, by=None, step=state.current.pk, answer="investment")
    state = walk(call)
    assert state.current.code == "yield"
    # a family buyer skips the yield question
    other = make_call(phone="+79001112244")
    s = walk(other)
    answer_save(call=other, by=None, step=s.current.pk, answer="ok")
    s = walk(other)
    answer_save(call=other, by=None, step=s.current.pk, answer="family")
    assert walk(other).current.code == "rooms"


def test_a_wrong_answer_is_refused_and_saves_nothing():
    make_script()
    call = make_call()
    state = walk(call)
    with pytest.raises(ValidationError):
        answer_save(call=call, by=None, step=state.current.pk, answer="maybe")
    foreign = ScriptStep.objects.exclude(variant=call.variant).first()
    with pytest.raises(ValidationError):
        answer_save(call=call, by=None, step=foreign.pk, answer="ok")
    assert not CallAnswer.objects.exists()


def test_the_operator_answers_on_the_panel(client):
    make_script()
    operator = make_operator("101")
    call = make_call()
    call.operator = operator
    call.started_at = timezone.now()
    call.save()
    client.force_login(operator)
    page = client.get(reverse("callcentre:call", args=[call.pk]), headers={"HX-Request": "true"})
    step = page.context["script"].current
    response = client.post(
        reverse("callcentre:answer", args=[call.pk]),
        {"step": step.pk, "answer": "ok"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response.context["script"].current.code == "why"


def test_chi_squared_against_known_values():
    # 2×2: 30/70 vs 50/50 → χ² = 8.3333, df 1, p = 0.00389 (by hand: Σ (O−E)²/E)
    chi2, df, p = chi2_independence([(30, 70), (50, 50)])
    assert df == 1 and chi2 == pytest.approx(8.3333, abs=1e-4)
    assert p == pytest.approx(0.003892, abs=1e-5)
    # the survival function at textbook points
    assert chi2_sf(3.841459, 1) == pytest.approx(0.05, abs=1e-6)
    assert chi2_sf(5.991465, 2) == pytest.approx(0.05, abs=1e-6)
    assert chi2_sf(11.0705, 5) == pytest.approx(0.05, abs=1e-5)
    assert chi2_independence([(5, 5)]) is None  # one variant: nothing to compare
    assert chi2_independence([(0, 5), (0, 7)]) is None  # no success anywhere
