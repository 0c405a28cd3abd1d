"""Partners' privacy budgets, for admins: every organisation's spending, and its allowance.

The organisation is named in the body, not the path: it is free text on partner accounts
and may hold a slash, which a path cannot carry safely (proxies and Werkzeug decode
``%2F`` before routing)."""

from __future__ import annotations

from typing import Any

from flask import current_app

from registry.api.blueprint import RegistryBlueprint
from registry.auth.permissions import Permission
from registry.auth.session import acting_as, requires
from registry.config import Settings
from registry.privacy.actions import set_allowance
from registry.privacy.queries import organisation_budget, organisation_budgets
from registry.privacy.schemas import AllowanceArgs, BudgetListSchema, OrganisationBudgetSchema

blp = RegistryBlueprint(
    "privacy", __name__, url_prefix="/privacy", description="Partners' privacy budgets"
)


@blp.route("/budgets", methods=["GET"])
@requires(Permission.MANAGE_PRIVACY_BUDGETS)
@blp.response(200, BudgetListSchema)
def list_budgets() -> dict[str, Any]:
    """Admins: every partner organisation's allowance, what it spent in the rolling period,
    what is left, and when budget next returns; in zCDP rho, in questions, and as epsilon."""
    settings: Settings = current_app.config["SETTINGS"]
    return {
        "items": [budget.as_dict() for budget in organisation_budgets()],
        "default_allowance": settings.privacy_allowance,
        "question_cost": settings.privacy_query_cost,
        "period_days": settings.privacy_period_days,
        "delta": settings.privacy_delta,
    }


@blp.route("/allowance", methods=["PUT"])
@requires(Permission.MANAGE_PRIVACY_BUDGETS)
@blp.arguments(AllowanceArgs)
@blp.response(200, OrganisationBudgetSchema)
def put_allowance(args: dict[str, Any]) -> dict[str, Any]:
    """Admins: set an organisation's allowance per rolling period (zCDP rho), or null for
    the registry's default. Audited with the old and new values."""
    set_allowance(args["organisation"], args["allowance"], by=acting_as())
    return organisation_budget(args["organisation"]).as_dict()
