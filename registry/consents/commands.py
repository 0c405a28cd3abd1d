"""What the consent schemas load into: the actions' input, typed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from registry.consents.items import CONSENT_ITEMS


@dataclass(frozen=True, slots=True)
class ConsentAnswers:
    """Every consent item answered, in form order (``data/items.toml``; a test keeps the
    two the same)."""

    registry_storage: bool
    contact_for_research: bool
    record_access: bool
    record_linkage: bool
    commercial_partners: bool
    samples: bool
    future_research: bool
    inform_gp: bool

    def by_item(self) -> dict[str, bool]:
        return {item: getattr(self, item) for item in CONSENT_ITEMS}

    @classmethod
    def of(cls, answers: Mapping[str, bool]) -> ConsentAnswers:
        """From answers by item, every item given."""
        return cls(**{item: answers[item] for item in CONSENT_ITEMS})


@dataclass(frozen=True, slots=True)
class NamedConsultee:
    """Who declared for a person lacking capacity."""

    type: str  # personal or nominated
    name: str = field(repr=False)  # it identifies someone


@dataclass(frozen=True, slots=True)
class EnrolmentConsent:
    """The consent an enrolment records: on a form version, every item answered."""

    form_version: str
    signed_on: dt.date
    items: ConsentAnswers
    capacity: str
    consultee: NamedConsultee | None  # given exactly when a consultee declared


@dataclass(frozen=True, slots=True)
class RecordConsent:
    """Consent after enrolment: every item on a newer form version, some for a change."""

    form_version: str
    signed_on: dt.date
    items: Mapping[str, bool]
    capacity: str
    consultee: NamedConsultee | None


@dataclass(frozen=True, slots=True)
class Withdraw:
    level: str
    reason_code: str
    reason: str | None
    requested_by: str
    consultee_type: str | None


@dataclass(frozen=True, slots=True)
class WithdrawWithStepUp(Withdraw):
    """A withdrawal through the API, with the step-up a full one needs (one or the other)."""

    # Never in a repr: a command may end up in a log.
    security_code: str | None = field(repr=False)
    password: str | None = field(repr=False)


@dataclass(frozen=True, slots=True)
class ConsentFormFilter:
    cohort: str | None = None  # not given: every cohort
