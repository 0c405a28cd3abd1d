"""Criteria to one SQL statement over ``participant_facts``.

Everything is decided in SQL: no row is filtered in Python. Ages and months are turned
into cut-off dates here, from today, so the database compares plain dates and SQLite and
PostgreSQL agree. Each clause is two-valued: an unknown (NULL) value makes it false, never
NULL, so ``none`` (NOT …) cannot turn an unknown into a match or a miss by accident.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, false, func, not_, or_, select, true

from registry import clock
from registry.auth.models import Site
from registry.consents.items import COMMERCIAL_ITEM
from registry.eligibility.catalogue import Derivation
from registry.eligibility.criteria import Clause, Conjunction, Criteria, Group, Node
from registry.participants.models import ParticipantFacts

Audience = Literal["researcher", "partner"]
AUDIENCES: tuple[Audience, ...] = ("researcher", "partner")

_facts = ParticipantFacts.__table__.c


def count_statement(
    criteria: Criteria, *, audience: Audience, today: dt.date | None = None
) -> Select[Any]:
    """SELECT count(*) of the contactable participants who meet the criteria."""
    return (
        select(func.count())
        .select_from(ParticipantFacts)
        .where(eligibility_condition(criteria, audience=audience, today=today))
    )


def matching_statement(
    criteria: Criteria, *, audience: Audience, today: dt.date | None = None
) -> Select[Any]:
    """SELECT the participant_pk of each contactable participant who meets the criteria."""
    return (
        select(ParticipantFacts.participant_pk)
        .where(eligibility_condition(criteria, audience=audience, today=today))
        .order_by(ParticipantFacts.participant_pk)
    )


def eligibility_condition(
    criteria: Criteria, *, audience: Audience, today: dt.date | None = None
) -> ColumnElement[bool]:
    """The WHERE clause: contactability (always) AND the cohort AND the criteria."""
    if audience not in AUDIENCES:
        raise ValueError("audience must be researcher or partner")
    # Whatever the caller sent: only those who may be approached, and for partners only
    # those who agreed to commercial partners.
    conditions: list[ColumnElement[bool]] = [_facts.contactable == true()]
    if audience == "partner":
        conditions.append(_facts[f"consent_{COMMERCIAL_ITEM}"] == true())
    conditions.append(criteria_condition(criteria, today=today))
    return and_(*conditions)


def criteria_condition(criteria: Criteria, *, today: dt.date | None = None) -> ColumnElement[bool]:
    """The cohort AND the criteria alone, over ``participant_facts``: who meets them,
    whether or not they may be approached (a data-access grant's rows that match)."""
    compiler = _Compiler(today or clock.today())
    conditions: list[ColumnElement[bool]] = [true()]
    if criteria.cohort is not None:
        conditions.append(_facts.cohort == criteria.cohort)
    conditions.extend(compiler.group(group) for group in criteria.groups)
    return and_(*conditions)


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` earlier, or that month's last day if it is shorter."""
    year, month_index = divmod(day.year * 12 + day.month - 1 - months, 12)
    month = month_index + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


class _Compiler:
    def __init__(self, today: dt.date) -> None:
        self.today = today

    def group(self, group: Group) -> ColumnElement[bool]:
        members = [self.node(member) for member in group.members]
        if group.kind == "all":
            return and_(true(), *members)
        if group.kind == "any":
            return or_(false(), *members)
        return not_(or_(false(), *members))

    def node(self, node: Node) -> ColumnElement[bool]:
        if isinstance(node, Conjunction):
            return and_(true(), *(self.group(group) for group in node.groups))
        return self.clause(node)

    def clause(self, clause: Clause) -> ColumnElement[bool]:
        column = _facts[clause.field.column]
        known = column.is_not(None)
        if clause.op == "exists":
            return known
        derivation = clause.field.derivation
        if derivation is Derivation.SITE_CODE:
            condition = self.site(column, clause)
        elif derivation is Derivation.COLUMN:
            condition = _compare(column, clause.op, clause.value)
        else:
            unit = 12 if derivation is Derivation.WHOLE_YEARS_SINCE else 1
            condition = self.elapsed(column, clause.op, clause.value, unit)
        return and_(known, condition)

    def site(self, site_id: Any, clause: Clause) -> ColumnElement[bool]:
        # A subquery rather than a join: one statement, and the join is only paid for here.
        codes = clause.value if isinstance(clause.value, tuple) else (clause.value,)
        ids = select(Site.id).where(Site.code.in_(codes)).scalar_subquery()
        named: ColumnElement[bool] = site_id.in_(ids)
        return not_(named) if clause.op in ("!=", "not_in") else named

    def elapsed(self, start: Any, op: str, value: Any, unit: int) -> ColumnElement[bool]:
        """Whole units (years or months) from a date column to today, as date comparisons.

        Having lived at least n units on ``today`` means starting on or before the day n
        units before today; so at most n means starting after the day n + 1 units before.
        """

        def at_least(n: int) -> ColumnElement[bool]:
            return start <= months_before(self.today, n * unit)  # type: ignore[no-any-return]

        def at_most(n: int) -> ColumnElement[bool]:
            return start > months_before(self.today, (n + 1) * unit)  # type: ignore[no-any-return]

        def equal(n: int) -> ColumnElement[bool]:
            return and_(at_least(n), at_most(n))

        if op == "=":
            return equal(value)
        if op == "!=":
            return not_(equal(value))
        if op == ">=":
            return at_least(value)
        if op == ">":
            return at_least(value + 1)
        if op == "<=":
            return at_most(value)
        if op == "<":
            return at_most(value - 1)
        if op == "between":
            low, high = value
            return and_(at_least(low), at_most(high))
        if op == "in":
            return or_(*(equal(n) for n in value))
        if op == "not_in":
            return not_(or_(*(equal(n) for n in value)))
        raise ValueError(f"operator {op} does not apply to elapsed time")


def _compare(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    if op == "=":
        return column == value  # type: ignore[no-any-return]
    if op == "!=":
        return column != value  # type: ignore[no-any-return]
    if op == "<":
        return column < value  # type: ignore[no-any-return]
    if op == "<=":
        return column <= value  # type: ignore[no-any-return]
    if op == ">":
        return column > value  # type: ignore[no-any-return]
    if op == ">=":
        return column >= value  # type: ignore[no-any-return]
    if op == "between":
        return column.between(*value)  # type: ignore[no-any-return]
    if op == "in":
        return column.in_(value)  # type: ignore[no-any-return]
    if op == "not_in":
        return column.not_in(value)  # type: ignore[no-any-return]
    if op == "startswith":
        # LIKE ignores case on SQLite but not on PostgreSQL; both sides are upper-case
        # (codes are stored so, and the parser upper-cases values and admits only letters,
        # digits and dots, so no wildcard either), so they agree. LIKE is markedly cheaper
        # than substr() over a million rows (scripts/bench/eligibility.py).
        return column.like(f"{value}%")  # type: ignore[no-any-return]
    raise ValueError(f"unknown operator {op}")
