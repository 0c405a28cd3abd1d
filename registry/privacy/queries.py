"""What admins see of partners' privacy budgets: every organisation's spending in the rolling
period, and what a new allowance would change before it is set."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import opendp.prelude as dp
from flask import current_app

from registry.config import Settings
from registry.privacy.actions import (
    BudgetState,
    budget_state,
    partner_organisations,
    stored_budget,
)
from registry.privacy.mechanism import epsilon


@dataclass(frozen=True, slots=True)
class OrganisationBudget:
    """One organisation's budget as admins see it: in zCDP rho, in questions at the current
    cost, and as epsilon at the configured delta (what rho means to someone who reads
    epsilons)."""

    organisation: str
    allowance: float
    allowance_is_default: bool
    spent: float
    remaining: float
    questions_per_period: int  # what the whole allowance pays for at the current cost
    questions_left: int
    period_ends: dt.datetime | None  # when budget next starts to return; None: nothing spent
    # None: a rho so large OpenDP cannot state it as epsilon (no guarantee worth the name)
    epsilon_spent: float | None
    epsilon_allowance: float | None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class AllowanceChange:
    """An organisation's budget now and as it would be under a proposed allowance."""

    before: OrganisationBudget
    after: OrganisationBudget


def organisation_budgets() -> list[OrganisationBudget]:
    """Every partner organisation's budget, in name order."""
    return [organisation_budget(name) for name in partner_organisations()]


def organisation_budget(organisation: str) -> OrganisationBudget:
    """One organisation's budget as it stands."""
    stored = stored_budget(organisation)
    is_default = stored is None or stored.allowance is None
    return _seen(organisation, budget_state(organisation), is_default)


def allowance_change(organisation: str, allowance: float | None) -> AllowanceChange:
    """What setting ``allowance`` (None: back to the default) would change, for the check
    page: read-only, nothing is locked or written."""
    settings = _settings()
    after = allowance if allowance is not None else settings.privacy_allowance
    return AllowanceChange(
        before=organisation_budget(organisation),
        after=_seen(organisation, budget_state(organisation, allowance=after), allowance is None),
    )


def _seen(organisation: str, state: BudgetState, is_default: bool) -> OrganisationBudget:
    delta = _settings().privacy_delta
    return OrganisationBudget(
        organisation=organisation,
        allowance=state.allowance,
        allowance_is_default=is_default,
        spent=state.spent,
        remaining=state.remaining,
        questions_per_period=state.questions_per_period,
        questions_left=state.questions_left,
        period_ends=state.period_ends,
        epsilon_spent=_epsilon(state.spent, delta),
        epsilon_allowance=_epsilon(state.allowance, delta),
    )


def _epsilon(rho: float, delta: float) -> float | None:
    """``rho`` as epsilon, or None when OpenDP cannot convert it: its noise scale underflows
    for allowances far beyond any the API accepts (a test or demo setting of millions)."""
    try:
        return epsilon(rho, delta)
    except dp.OpenDPException:
        return None


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings
