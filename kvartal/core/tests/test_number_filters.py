"""Big figures read alike everywhere: grouped by thousands as money is (the start page's
tiles wrote 2159 where the dashboard wrote 1 278)."""

import pytest
from django.utils import translation

from kvartal.core.templatetags.kvartal import count, money


@pytest.mark.parametrize(
    ("language", "expected"), [("ru", "2\xa0159"), ("en", "2,159"), ("zh-hans", "2,159")]
)
def test_a_count_is_grouped_as_money_is(language, expected):
    with translation.override(language):
        assert count(2159) == expected
        assert money(2159) == expected
        assert count(7) == "7" and count(None) == "—"
