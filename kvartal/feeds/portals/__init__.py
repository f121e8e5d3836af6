"""The portals Kvartal writes feeds for, by code."""

from . import avito, cian, domclick, yandex

SPECS = {spec.code: spec for spec in (yandex.SPEC, avito.SPEC, cian.SPEC, domclick.SPEC)}
