"""The refusals of the deal rules (``DomainError``s): raised by the services and returned, as
the reason, by the deal's predicates (``Deal.swap_blocker`` …) that the pages show."""

from kvartal.core.errors import DomainError


class DealError(DomainError):
    """A deal rule refused the action."""


class DealHoldNotLive(DealError):
    """The hold a deal was to be opened from has ended (a deal refusal, not a hold one)."""

    field = "hold"


class BuyersInvalid(DealError):
    field = "buyers"


class PromotionNotApplicable(DealError):
    field = "promotion"


class DiscountNeedsApproval(DealError):
    field = "manual_discount"


class PriceBelowMinimum(DealError):
    field = "manual_discount"


class StageMoveRefused(DealError):
    field = "stage"


class StageRequirementMissing(DealError):
    """The target stage asks for data that was not given (registration, act date, payment…)."""


class StageDateInFuture(StageRequirementMissing):
    """A date of something that has happened (registration, the handover act) is later than
    today."""


class ApprovalRequired(DealError):
    """Only a sales head or an administrator may do this (terminations)."""


class DealClosed(DealError):
    """The deal is terminated: nothing changes on it any more."""


class BtiRefused(DealError):
    field = "bti_area"
