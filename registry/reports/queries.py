"""Reports' reads: the reference populations on offer, the datasheet's written sections,
and the counts the datasheet adds to the report (intersections, missingness by group,
collection and selection)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from registry.auth.models import Site
from registry.consents.items import CONSENT_ITEMS
from registry.db import session
from registry.errors import NotFound
from registry.participants.models import Participant, ParticipantFacts
from registry.reports.actions import WRITTEN_SECTIONS
from registry.reports.models import DatasheetSection, LoadedReference
from registry.reports.references import ReferencePopulation, parse_shares, shipped_references
from registry.reports.report import MISSING, attribute_filter, attribute_value

# The general population; a cohort with a need-based reference compares with that first.
DEFAULT_REFERENCE = "census-2021-birmingham"


def available_references() -> dict[str, ReferencePopulation]:
    """Shipped references, then each admin-loaded one at its latest version."""
    found = dict(shipped_references())
    db = session()
    latest = (
        select(LoadedReference.reference_id, func.max(LoadedReference.version).label("v"))
        .group_by(LoadedReference.reference_id)
        .subquery()
    )
    rows = db.scalars(
        select(LoadedReference)
        .join(
            latest,
            (LoadedReference.reference_id == latest.c.reference_id)
            & (LoadedReference.version == latest.c.v),
        )
        .order_by(LoadedReference.reference_id)
    )
    for row in rows:
        shares, to_confirm = parse_shares(row.shares_csv)
        found[row.reference_id] = ReferencePopulation(
            id=row.reference_id,
            name=f"{row.name} (version {row.version})",
            geography=row.geography,
            year=row.year,
            source=row.source,
            shares=shares,
            to_confirm=to_confirm,
            geography_code=row.geography_code,
            loaded=True,
            kind=row.kind,
            cohorts=(row.cohort,) if row.cohort else (),
        )
    return found


def default_reference_id(cohort: str | None) -> str:
    """The cohort's intended-use comparator: its shipped need-based reference if it has
    one (for EP, because first-episode psychosis incidence differs several-fold by ethnic
    group), otherwise the general population."""
    for ref in shipped_references().values():
        if ref.kind == "need-based" and cohort in ref.cohorts:
            return ref.id
    return DEFAULT_REFERENCE


def reference_population(ref_id: str | None, cohort: str | None = None) -> ReferencePopulation:
    found = available_references().get(ref_id or default_reference_id(cohort))
    if found is None:
        raise NotFound("There is no reference population with this id.")
    return found


def comparators(
    cohort: str, ref_id: str | None
) -> tuple[ReferencePopulation, ReferencePopulation | None]:
    """The chosen reference (or the cohort's default) and the one shown beside it: the
    cohort's default when another was chosen, otherwise the general population."""
    primary = reference_population(ref_id, cohort)
    default = default_reference_id(cohort)
    beside = default if primary.id != default else DEFAULT_REFERENCE
    return primary, (None if beside == primary.id else shipped_references()[beside])


def written_sections(cohort: str) -> dict[str, dict[str, Any]]:
    """The latest version of each written section of a cohort's datasheet."""
    rows = session().scalars(
        select(DatasheetSection)
        .where(DatasheetSection.cohort == cohort)
        .order_by(DatasheetSection.section, DatasheetSection.version)
    )
    latest = {row.section: row for row in rows}
    return {
        section: {
            "title": title,
            "text": latest[section].text if section in latest else None,
            "version": latest[section].version if section in latest else 0,
            "written_at": latest[section].created_at if section in latest else None,
        }
        for section, title in WRITTEN_SECTIONS.items()
    }


def crosstab(cohort: str, rows: str, columns: str, today: dt.date) -> dict[str, dict[str, int]]:
    """Counts of enrolled participants by two attributes (missing values named)."""
    per_person = (
        select(attribute_value(rows, today).label("r"), attribute_value(columns, today).label("c"))
        .where(
            ParticipantFacts.cohort == cohort, *attribute_filter(rows), *attribute_filter(columns)
        )
        .subquery()
    )
    table: dict[str, dict[str, int]] = {}
    for r, c, n in session().execute(
        select(per_person.c.r, per_person.c.c, func.count()).group_by(
            per_person.c.r, per_person.c.c
        )
    ):
        table.setdefault(str(r), {})[str(c)] = int(n)
    return table


def missing_by_ethnic_group(
    cohort: str, names: tuple[str, ...], today: dt.date
) -> dict[str, dict[str, dict[str, int]]]:
    """For each attribute: ethnic group -> {not_stated, not_known, total}, so missingness
    that falls on one group shows."""
    result = {}
    for name in names:
        table = crosstab(cohort, "ethnicity_group", name, today)
        result[name] = {
            group: {
                **{kind: by_value.get(kind, 0) for kind in MISSING},
                "total": sum(by_value.values()),
            }
            for group, by_value in sorted(table.items())
        }
    return result


def collection(cohort: str) -> dict[str, Any]:
    """Sites, the enrolment window, consent uptake and withdrawals by level."""
    db = session()
    facts = ParticipantFacts.__table__.c
    sites = [
        {"site": code, "name": name, "participants": int(n)}
        for code, name, n in db.execute(
            select(Site.code, Site.name, func.count())
            .join(ParticipantFacts, ParticipantFacts.site_id == Site.id)
            .where(facts.cohort == cohort)
            .group_by(Site.code, Site.name)
            .order_by(Site.code)
        )
    ]
    first, last, total = db.execute(
        select(func.min(facts.enrolled_on), func.max(facts.enrolled_on), func.count()).where(
            facts.cohort == cohort
        )
    ).one()
    uptake = {
        item: int(
            db.scalar(
                select(func.count()).where(
                    facts.cohort == cohort, facts[f"consent_{item}"].is_(True)
                )
            )
            or 0
        )
        for item in CONSENT_ITEMS
    }
    withdrawals = {
        level: int(n)
        for level, n in db.execute(
            select(Participant.withdrawal_level, func.count())
            .where(Participant.cohort == cohort, Participant.withdrawal_level.is_not(None))
            .group_by(Participant.withdrawal_level)
        )
    }
    return {
        "sites": sites,
        "first_enrolled": first,
        "last_enrolled": last,
        "described": int(total),
        "consent_uptake": uptake,
        "withdrawals": withdrawals,
    }
