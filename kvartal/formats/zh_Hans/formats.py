"""Simplified Chinese as mainland China writes numbers and money: commas every three digits
(12,345,679 ₽), a point for decimals. Django's own zh_Hans module groups by four with no
separator, which prints a price as 12345679. Dates stay Django's: 2026年12月5日."""

from django.conf.locale.zh_Hans.formats import *  # noqa: F403

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3

# A date is typed as it is shown (2026-12-05): that form first, Django's others after it.
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y年%n月%j日"]
