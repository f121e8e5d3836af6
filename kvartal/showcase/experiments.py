"""A/B experiments of the showcase: a stable split by the visitor's id, and the report with
a significance test (two proportions, a z-test, two-sided).
"""

import hashlib
import math
from dataclasses import dataclass

from django.db.models import Count, Q

from .models import Experiment, Exposure, OnlineBooking, RequestKind, VisitorRequest

VARIANTS = ("A", "B")


def variant_for(token: str, experiment: Experiment) -> str:
    """The visitor's variant: a hash of their id and the experiment's, so it never changes
    for them and splits visitors evenly."""
    digest = hashlib.sha256(f"{experiment.pk}:{token}".encode()).digest()
    return VARIANTS[digest[0] % len(VARIANTS)]


def running(kind: str) -> Experiment | None:
    return Experiment.objects.filter(kind=kind, is_active=True).first()


def assign(visitor, kind: str) -> str:
    """The visitor's variant of the running experiment of ``kind`` ("A" when none runs),
    recording the exposure once."""
    return assign_to(visitor, running(kind))


def assign_to(visitor, experiment: Experiment | None) -> str:
    """``assign`` with the running experiment already read (the unit page keeps it cached)."""
    if experiment is None or visitor is None:
        return "A"
    variant = variant_for(visitor.token, experiment)
    Exposure.objects.get_or_create(
        experiment=experiment, visitor=visitor, defaults={"variant": variant}
    )
    return variant


def variants_of(visitor) -> dict:
    """``{experiment id: variant}`` the visitor was exposed to (stored with their requests)."""
    if visitor is None:
        return {}
    return {
        str(e): v
        for e, v in Exposure.objects.filter(
            visitor=visitor, experiment__is_active=True
        ).values_list("experiment_id", "variant")
    }


@dataclass
class VariantRow:
    variant: str
    visitors: int
    requests: int
    bookings: int

    @property
    def converted(self) -> int:
        return self.requests + self.bookings

    @property
    def rate(self) -> float:
        return self.converted / self.visitors if self.visitors else 0.0


@dataclass
class ExperimentReport:
    experiment: Experiment
    rows: list[VariantRow]
    z: float | None
    p_value: float | None

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < 0.05


def two_proportion_test(x1: int, n1: int, x2: int, n2: int) -> tuple[float | None, float | None]:
    """z and the two-sided p-value of "the two rates are equal" (pooled standard error).
    ``None`` when either group is empty or nobody (or everybody) converted."""
    if not n1 or not n2:
        return None, None
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return None, None
    z = (x2 / n2 - x1 / n1) / se
    return z, math.erfc(abs(z) / math.sqrt(2))


def report(experiment: Experiment) -> ExperimentReport:
    """Visitors exposed, requests and bookings per variant (a visitor's requests after the
    start), and the test of B against A on visitors who sent at least one."""
    exposures = Exposure.objects.filter(experiment=experiment)
    visitors = dict(
        exposures.values_list("variant").annotate(n=Count("pk")).values_list("variant", "n")
    )
    requests = VisitorRequest.objects.filter(
        visitor__in=exposures.values("visitor"), created_at__gte=experiment.started_at
    )
    by_variant = dict(exposures.values_list("visitor_id", "variant"))
    counts = {v: [0, 0] for v in VARIANTS}
    converted = {v: set() for v in VARIANTS}
    for visitor_id, kind in requests.values_list("visitor_id", "kind"):
        variant = by_variant[visitor_id]
        counts[variant][1 if kind == RequestKind.BOOKING else 0] += 1
        converted[variant].add(visitor_id)
    rows = [VariantRow(v, visitors.get(v, 0), *counts[v]) for v in VARIANTS]
    z, p = two_proportion_test(
        len(converted["A"]), rows[0].visitors, len(converted["B"]), rows[1].visitors
    )
    return ExperimentReport(experiment, rows, z, p)


__all__ = ["OnlineBooking", "Q", "assign", "report", "variant_for", "variants_of"]
