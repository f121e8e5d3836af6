"""A stage's label in each language: a bilingual shipped name ("认购 · Subscription") never
reads as the same word twice, whatever its second part translates to."""

import pytest
from django.utils import translation

from kvartal.sales.models import Stage, StageScheme

CN = ["认筹", "认购", "签约", "回款", "退房"]


def labels(language: str) -> list[str]:
    scheme = StageScheme.objects.get(code="cn")
    with translation.override(language):
        return [stage.label for stage in scheme.stages.order_by("order", "pk")]


@pytest.mark.django_db
def test_the_chinese_flow_reads_each_stage_once_in_chinese():
    shown = labels("zh-hans")
    assert shown == CN
    assert not any(" · " in label for label in shown)


@pytest.mark.django_db
def test_the_chinese_flow_keeps_both_parts_in_other_languages():
    assert labels("en") == [
        "认筹 · Pledge",
        "认购 · Subscription",
        "签约 · Contract",
        "回款 · Collected",
        "退房 · Refunded",
    ]
    russian = labels("ru")
    assert russian[1] == "认购 · Предварительный договор"
    assert all(label.count(" · ") == 1 for label in russian)


@pytest.mark.parametrize(
    ("language", "name", "shown"),
    [
        # the second part translates to the first: the first alone
        ("ru", "Договор · Contract", "Договор"),
        ("zh-hans", "认购 · Subscription", "认购"),
        # the same word, case and punctuation aside
        ("en", "Contract · contract.", "Contract"),
        # different words stay both; a custom name without " · " stays as typed
        ("ru", "Сделка · Contract", "Сделка · Договор"),
        ("zh-hans", "My stage", "My stage"),
    ],
)
def test_a_composed_label_never_repeats_itself(language, name, shown):
    with translation.override(language):
        assert Stage(name=name).label == shown
