"""Running eligibility queries: count (with an optional breakdown) and, for researchers
under a data-access grant, list, each audited.

The audience decides what comes back, not the request: researchers get exact figures,
partners noisy ones charged to their organisation's privacy budget (``registry.privacy``),
and every query is audited with its true count so a governance review can see what was
asked and what the answer really was.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from registry.audit.actions import Actor, record_event
from registry.auth.models import Site, User
from registry.auth.permissions import Permission, Role
from registry.db import session
from registry.eligibility.catalogue import (
    CATALOGUE_VERSION,
    Derivation,
    Field,
    FieldType,
    catalogue,
)
from registry.eligibility.commands import CountEligible
from registry.eligibility.compiler import (
    Audience,
    count_statement,
    criteria_condition,
    eligibility_condition,
)
from registry.eligibility.criteria import Criteria, normalised, parse_criteria
from registry.eligibility.disclosure import (
    exact_breakdown,
    exact_count_payload,
    noisy_breakdown,
)
from registry.errors import ValidationFailed
from registry.exports.actions import list_participant_rows
from registry.exports.models import DataAccessGrant
from registry.exports.rows import RowPage, withheld_from
from registry.participants.models import ParticipantFacts
from registry.privacy.actions import BudgetState, budget_holder, release
from registry.privacy.mechanism import published

MAX_BREAKDOWN_FIELDS = 2


def audience_of(user: User) -> Audience:
    return "researcher" if user.can(Permission.QUERY_EXACT_COUNTS) else "partner"


def count_eligible(command: CountEligible, *, user: User, by: Actor) -> dict[str, Any]:
    """The count (and breakdown) of contactable participants who meet the criteria: exact
    for researchers; for partners released through their organisation's privacy budget,
    with a ``privacy`` block saying what it cost and what is left."""
    criteria = parse_criteria(command.criteria, role=user.role)
    audience = audience_of(user)
    fields = breakdown_fields(command.breakdown, user)
    question = _question_digest(criteria, fields)
    true_count = int(session().scalar(count_statement(criteria, audience=audience)) or 0)
    details: dict[str, Any] = {
        "criteria": normalised(criteria),
        "breakdown": list(fields),
        "true_count": true_count,
        "catalogue": CATALOGUE_VERSION,
    }
    if audience == "researcher":
        result = _exact(criteria, fields, true_count)
    else:
        result, budget = _released(criteria, fields, true_count, question, user=user, by=by)
        result["privacy"] = budget.as_block()
        details["privacy_cost"] = budget.cost
    record_event(
        "eligibility.count",
        by=by,
        purpose=audience,
        target_type="question",
        target_id=question,
        details=details,
    )
    return result


def _exact(criteria: Criteria, fields: Sequence[str], true_count: int) -> dict[str, Any]:
    if not fields:
        return dict(exact_count_payload(true_count))
    cells, categories = _cells(criteria, fields, "researcher")
    _refuse_thin_breakdown(fields, categories)
    result = dict(exact_breakdown(cells, fields=fields, categories=categories))
    result["count"] = true_count  # people of unknown category count in the total only
    return result


def _released(
    criteria: Criteria,
    fields: Sequence[str],
    true_count: int,
    question: str,
    *,
    user: User,
    by: Actor,
) -> tuple[dict[str, Any], BudgetState]:
    """A partner's answer through the privacy mechanism: one count, or a breakdown's cells
    (in catalogue order) and those of unknown category, each person in exactly one of them."""
    holder = budget_holder(user)
    if not fields:
        return release(
            holder,
            question,
            [true_count],
            lambda noisy: {"count": published(noisy[0])},
            purpose="eligibility",
            by=by,
        )
    cells, categories = _cells(criteria, fields, "partner")
    _refuse_thin_breakdown(fields, categories)
    in_order = [cells.get(key, 0) for key in itertools.product(*categories)]
    unknown = true_count - sum(in_order)

    def present(noisy: Sequence[int]) -> dict[str, Any]:
        return dict(
            noisy_breakdown(
                noisy[:-1], fields=fields, categories=categories, noisy_unknown=noisy[-1]
            )
        )

    return release(holder, question, [*in_order, unknown], present, purpose="eligibility", by=by)


def matching_participant_rows(
    document: object,
    grant: DataAccessGrant,
    *,
    page: int,
    per_page: int,
    user: User,
    by: Actor,
) -> RowPage:
    """Researchers on ``grant``: the grant's rows (keyed by its study pseudonym, its
    variables alone) of the participants who meet the criteria, a page at a time; audited
    with the criteria. Only the rows an extract under the grant holds, and chosen only by
    what they already show: the criteria may use no field the grant's variables do not
    show, and whether someone may be approached is not asked (the grant's consent items
    decide who is in it). Anything else would show more, pseudonym by pseudonym."""
    criteria = parse_criteria(
        document, role=user.role, refuse=lambda field: withheld_from(grant, field)
    )
    matching = select(ParticipantFacts.participant_pk).where(criteria_condition(criteria))
    return list_participant_rows(
        grant,
        page=page,
        per_page=per_page,
        within=matching,
        via="eligibility",
        asked={"criteria": normalised(criteria), "catalogue": CATALOGUE_VERSION},
        by=by,
    )


def _question_digest(criteria: Criteria, fields: Sequence[str]) -> str:
    """One id per question, however it is spelt: the normalised criteria and breakdown."""
    text = normalised(criteria) + "|" + ",".join(fields)
    return hashlib.sha256(text.encode()).hexdigest()


def breakdown_fields(names: Sequence[str], user: User) -> tuple[str, ...]:
    fields = catalogue()
    problems: dict[str, list[str]] = {}
    if len(names) > MAX_BREAKDOWN_FIELDS:
        problems["breakdown"] = [f"Break down by at most {MAX_BREAKDOWN_FIELDS} fields."]
    if len(set(names)) != len(names):
        problems["breakdown"] = ["Name each field once."]
    for i, name in enumerate(names):
        field = fields.get(name)
        if field is None or user.role not in field.roles:
            problems[f"breakdown[{i}]"] = ["Not a field you can break down by."]
        elif not _has_categories(field):
            problems[f"breakdown[{i}]"] = ["Break down by a coded field, such as sex or site."]
    if problems:
        raise ValidationFailed(problems)
    return tuple(names)


def breakdown_choices(role: Role) -> list[str]:
    """The fields a role may break a count down by, in catalogue order (for a form)."""
    return [
        name
        for name, field in catalogue().items()
        if role in field.roles and _has_categories(field)
    ]


def _has_categories(field: Field) -> bool:
    """A coded field whose every category can be listed: a fixed list, or the sites."""
    return field.type is FieldType.CODE and (
        field.values is not None or field.derivation is Derivation.SITE_CODE
    )


def _refuse_thin_breakdown(fields: Sequence[str], categories: Sequence[Sequence[str]]) -> None:
    """A field needs categories to break down by, and two of them to cross with another
    (the registry may have one site, or none yet)."""
    needed = 2 if len(fields) == 2 else 1
    for i, (name, names) in enumerate(zip(fields, categories, strict=True)):
        if len(names) < needed:
            raise ValidationFailed(
                {f"breakdown[{i}]": [f"There are too few {name} categories here to break down by."]}
            )


def _cells(
    criteria: Criteria, names: Sequence[str], audience: Audience
) -> tuple[dict[tuple[str, ...], int], list[list[str]]]:
    """True counts per combination of categories, with every category of each field."""
    fields = [catalogue()[name] for name in names]
    db = session()
    columns = []
    categories: list[list[str]] = []
    statement = select().select_from(ParticipantFacts)
    for field in fields:
        if field.derivation is Derivation.SITE_CODE:
            statement = statement.join(Site, Site.id == ParticipantFacts.site_id)
            columns.append(Site.code)
            categories.append(list(db.scalars(select(Site.code).order_by(Site.code))))
        else:
            columns.append(getattr(ParticipantFacts, field.column))
            categories.append(list(field.values or ()))
    rows = db.execute(
        statement.add_columns(*columns, func.count())
        .where(eligibility_condition(criteria, audience=audience))
        .group_by(*columns)
    )
    cells: dict[tuple[str, ...], int] = {}
    for *key, count in rows:
        if any(part is None for part in key):
            continue  # unknown values belong to no category; they are in the total only
        cells[tuple(str(part) for part in key)] = int(count)
    return cells, categories
