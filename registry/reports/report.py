"""The representativeness report for one cohort: composition by attribute at each stage
(enrolled, contactable, approached, consented to a study, withdrawn), missingness with
"not stated" and "not known" apart, and representation against a reference population.

Everything is counted in SQL over ``participant_facts`` (one GROUP BY per attribute);
nothing identifiable is read. Figures are exact: the report is for researchers and admins.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, case, func, literal, or_, select

from registry import clock
from registry.db import session
from registry.eligibility.compiler import months_before
from registry.errors import NotFound
from registry.participants import age_bands
from registry.participants.models import (
    STATUS_SHREDDED,
    Participant,
    ParticipantFacts,
)
from registry.participants.reference import reference
from registry.recruitment.models import RecruitmentContact
from registry.reports.references import (
    AGE_BANDS,
    IMD_DECILE_ATTRIBUTES,
    IMD_DECILES,
    IMD_QUINTILE_ATTRIBUTES,
    IMD_QUINTILES,
    ReferencePopulation,
)
from registry.reports.retention import retention_counts, retention_figures, retention_summary
from registry.reports.stats import UNDER_REPRESENTED, representation, wilson_interval

NOT_STATED = "not_stated"  # asked, and the person declined
NOT_KNOWN = "not_known"  # never asked, or not recorded
MISSING = (NOT_STATED, NOT_KNOWN)
MISSING_LABELS = {
    NOT_STATED: "Not stated (asked, declined)",
    NOT_KNOWN: "Not known (never recorded)",
}
STAGES = (
    "enrolled",
    "contactable",
    "approached",
    "consented_to_study",
    "withdrawn_no_further_contact",
    "withdrawn_no_further_data",
)
# The attributes whose drop-out from stage to stage the report and datasheet show.
ATTRITION_ATTRIBUTES = (
    "ethnicity_group", "sex", "age_band", "imd_quintile_iod2019", "imd_quintile_iod2025"
)  # fmt: skip
# Each edition of the Indices of Deprivation is reported on its own, never pooled.
IMD_VERSION_OF = {**IMD_DECILE_ATTRIBUTES, **IMD_QUINTILE_ATTRIBUTES}
# An open-ended top band is taken to span this many years when pro-rating a reference.
OPEN_BAND_YEARS = 15


@dataclass(frozen=True)
class Attribute:
    name: str
    label: str
    obtained: str  # how the value is obtained, for the datasheet
    classification: str


def attributes() -> tuple[Attribute, ...]:
    versions = reference().versions
    return (
        Attribute("ethnicity_group", "Ethnic group (ONS 2021, 5 groups)",
                  "Derived from the ethnic category", versions["ethnicity"]),
        Attribute("ethnicity", "Ethnic category (detailed)",
                  "Recorded by the clinical team from the person's own answer (self-reported)",
                  versions["ethnicity"]),
        Attribute("sex", "Sex", "Recorded by the clinical team", versions["sex"]),
        Attribute("gender_identity", "Gender identity",
                  "Self-reported, recorded by the clinical team", versions["gender_identity"]),
        Attribute("age_band", "Age band", "Derived from the month of birth, on the report date",
                  "years, at the report date"),
        *(
            Attribute(
                f"imd_{size}_{version.lower()}",
                f"IMD {size} ({version}, 1 most deprived)",
                "The IMD decile the source system gives (from the postcode's LSOA)"
                + ("" if size == "decile" else ", two deciles to a quintile")
                + f"; only people whose decile is recorded in {version}",
                f"English Indices of Deprivation ({version}), national {size}s",
            )
            for version in dict.fromkeys(IMD_VERSION_OF.values())
            for size in ("decile", "quintile")
        ),
    )  # fmt: skip


def intended_ages(cohort: str) -> tuple[int, int | None]:
    settings = current_app.config["SETTINGS"]
    if cohort == "EP":
        return settings.ep_min_age, settings.ep_max_age
    return settings.trd_min_age, None


def representativeness(
    cohort: str,
    ref: ReferencePopulation,
    today: dt.date | None = None,
    second: ReferencePopulation | None = None,
) -> dict[str, Any]:
    """The report against ``ref`` (its figures under the report's original keys) and,
    beside it, against ``second`` (under each group's ``second``)."""
    if cohort not in reference().cohorts:
        raise NotFound("There is no such cohort.")
    today = today or clock.today()
    min_age, max_age = intended_ages(cohort)
    threshold = current_app.config["SETTINGS"].representation_threshold
    retention = retention_summary(cohort, today)
    report_attributes = []
    for attribute in attributes():
        counts = _counts(cohort, attribute.name, today)
        described = _describe(
            attribute,
            counts,
            [
                (r, _reference_shares(r, attribute.name, min_age, max_age))
                for r in (ref, second)
                if r is not None
            ],
            threshold,
        )
        if attribute.name in ATTRITION_ATTRIBUTES:
            _add_retention(described, cohort, today, retention)
        report_attributes.append(described)
    return {
        "cohort": cohort,
        "cohort_name": reference().cohorts[cohort].name,
        "report_date": today,
        "intended_use": {"min_age": min_age, "max_age": max_age},
        "reference": _reference_summary(ref),
        "second_reference": None if second is None else _reference_summary(second),
        "threshold": threshold,
        "stages": list(STAGES),
        "withdrawn_fully": _fully_withdrawn(cohort),
        "attributes": report_attributes,
        "retention": retention,
    }


def _add_retention(
    described: dict[str, Any], cohort: str, today: dt.date, retention: dict[str, Any]
) -> None:
    """Each group's (and each kind of missing value's) retention at every visit, judged
    against the cohort's retention at that visit."""
    name = described["name"]
    counts = retention_counts(cohort, attribute_value(name, today), attribute_filter(name), today)
    overall = {v["visit"]: v["rate"] for v in retention["visits"]}
    empty = {"eligible": 0, "complete": 0, "partial": 0}
    for entry, group in [
        *((g, g["group"]) for g in described["groups"]),
        *((m, kind) for kind, m in described["missing"].items()),
    ]:
        entry["retention"] = {
            visit: retention_figures(counts.get(group, {}).get(visit, empty), rate)
            for visit, rate in overall.items()
        }


def _reference_summary(ref: ReferencePopulation) -> dict[str, Any]:
    return {
        "id": ref.id,
        "name": ref.name,
        "kind": ref.kind,
        "kind_label": ref.kind_label,
        "cohorts": list(ref.cohorts),
        "geography": ref.geography,
        "geography_code": ref.geography_code,
        "year": ref.year,
        "source": ref.source,
        "method": ref.method,
        "url": ref.url,
        "loaded": ref.loaded,
    }


def _comparison(
    k: int,
    known: int,
    ref: ReferencePopulation,
    shares: dict[str, float] | None,
    name: str,
    group: str,
    threshold: float,
) -> dict[str, Any]:
    """One group against one reference: its share, the ratio with its interval, and the
    status the interval gives."""
    rep = representation(k, known, shares.get(group) if shares else None)
    status = rep.status(threshold)
    return {
        "reference_share": rep.reference_share,
        "reference_to_confirm": (name, group) in ref.to_confirm,
        "ratio": rep.ratio,
        "ratio_ci": None if rep.ratio is None else [rep.ratio_low, rep.ratio_high],
        "status": status,
        "flagged": status == UNDER_REPRESENTED,
    }


def _describe(
    attribute: Attribute,
    counts: dict[str, dict[str, int]],
    against: list[tuple[ReferencePopulation, dict[str, float] | None]],
    threshold: float,
) -> dict[str, Any]:
    enrolled = {group: by_stage["enrolled"] for group, by_stage in counts.items()}
    total = sum(enrolled.values())
    known = total - sum(enrolled.get(m, 0) for m in MISSING)
    (ref, ref_shares), *rest = against
    second, second_shares = rest[0] if rest else (None, None)
    groups = []
    for group in _group_order(attribute.name, counts, ref_shares):
        k = enrolled.get(group, 0)
        low, high = wilson_interval(k, known)
        groups.append(
            {
                "group": group,
                "label": _label(attribute.name, group),
                "counts": {stage: counts.get(group, {}).get(stage, 0) for stage in STAGES},
                "share": k / known if known else 0.0,
                "share_ci": [low, high],
                **_comparison(k, known, ref, ref_shares, attribute.name, group, threshold),
                "second": None
                if second is None or not second_shares
                else _comparison(k, known, second, second_shares, attribute.name, group, threshold),
            }
        )
    missing = {}
    for kind in MISSING:
        n = enrolled.get(kind, 0)
        low, high = wilson_interval(n, total)
        missing[kind] = {
            "count": n,
            "share": n / total if total else 0.0,
            "share_ci": [low, high],
            "by_stage": {s: counts.get(kind, {}).get(s, 0) for s in STAGES},
        }
    return {
        "name": attribute.name,
        "label": attribute.label,
        "obtained": attribute.obtained,
        "classification": attribute.classification,
        "total": total,
        "known": known,
        "has_reference": bool(ref_shares),
        "reference_source": ref.source_of(attribute.name) if ref_shares else None,
        "has_second_reference": bool(second_shares),
        "second_reference_source": second.source_of(attribute.name)
        if second is not None and second_shares
        else None,
        "missing": missing,
        "groups": groups,
    }


def _group_order(
    name: str, counts: dict[str, dict[str, int]], ref_shares: dict[str, float] | None
) -> list[str]:
    codes = reference()
    fixed: tuple[str, ...] = {
        "ethnicity_group": tuple(
            dict.fromkeys(g for _, g in codes.ethnicity.values() if g not in MISSING)
        ),
        "ethnicity": tuple(c for c, (_, g) in codes.ethnicity.items() if g not in MISSING),
        "sex": tuple(s for s in codes.sex if s != NOT_STATED),
        "gender_identity": tuple(g for g in codes.gender_identity if g not in ("Z", "X")),
        "age_band": AGE_BANDS,
        **{n: IMD_DECILES for n in IMD_DECILE_ATTRIBUTES},
        **{n: IMD_QUINTILES for n in IMD_QUINTILE_ATTRIBUTES},
    }[name]
    extra = [g for g in counts if g not in fixed and g not in MISSING]
    return [*fixed, *sorted(extra)]


def _label(name: str, group: str) -> str:
    codes = reference()
    if name == "ethnicity":
        return codes.ethnicity[group][0] if group in codes.ethnicity else group
    if name == "gender_identity":
        return codes.gender_identity.get(group, group)
    if name == "sex":
        return codes.sex.get(group, group)
    if name in IMD_VERSION_OF:
        last = IMD_DECILES[-1] if name in IMD_DECILE_ATTRIBUTES else IMD_QUINTILES[-1]
        return {"1": "1 (most deprived)", last: f"{last} (least deprived)"}.get(group, group)
    return group.capitalize() if name == "ethnicity_group" else group


def _reference_shares(
    ref: ReferencePopulation, name: str, min_age: int, max_age: int | None
) -> dict[str, float] | None:
    shares = ref.shares.get(name)
    if shares is None or name != "age_band":
        return shares
    return intended_age_shares(shares, min_age, max_age)


def intended_age_shares(
    shares: dict[str, float], min_age: int, max_age: int | None
) -> dict[str, float]:
    """Compare like with like: the reference's age bands restricted to the intended-use
    ages and renormalised to 100, a partly covered band pro rata by years (assuming ages
    spread evenly within a band)."""
    kept: dict[str, float] = {}
    for label, share in shares.items():
        band = age_bands.band_by_census_label(label)
        low = band.low
        high = band.high if band.high is not None else low + OPEN_BAND_YEARS - 1
        top = max_age if max_age is not None else high
        overlap = max(0, min(high, top) - max(low, min_age) + 1)
        kept[label] = share * overlap / (high - low + 1)
    total = sum(kept.values())
    return {label: 100 * share / total for label, share in kept.items()} if total else kept


# -- counting in SQL ---------------------------------------------------------------------------


def _counts(cohort: str, name: str, today: dt.date) -> dict[str, dict[str, int]]:
    """group -> stage -> count, for one attribute, in one GROUP BY."""
    facts = ParticipantFacts.__table__.c
    contact = RecruitmentContact.__table__.c
    value = attribute_value(name, today)
    approached = (
        select(contact.id)
        .where(contact.participant_pk == facts.participant_pk, contact.approached_at.is_not(None))
        .exists()
    )
    consented = (
        select(contact.id)
        .where(
            contact.participant_pk == facts.participant_pk, contact.status == "enrolled_in_study"
        )
        .exists()
    )
    level = Participant.withdrawal_level

    def flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return case((condition, 1), else_=0)

    # Grouped in an outer query: PostgreSQL will not match a GROUP BY expression whose
    # literals are bound parameters against the same expression in the SELECT list.
    per_person = (
        select(
            value.label("grp"),
            flag(facts.contactable.is_(True)).label("contactable"),
            flag(approached).label("approached"),
            flag(consented).label("consented"),
            flag(level == "no_further_contact").label("w1"),
            flag(level == "no_further_data").label("w2"),
        )
        .select_from(ParticipantFacts)
        .join(Participant, Participant.id == facts.participant_pk)
        .where(facts.cohort == cohort, *attribute_filter(name))
        .subquery()
    )
    c = per_person.c
    rows = session().execute(
        select(
            c.grp,
            func.count(),
            *(
                func.sum(column)
                for column in (c.contactable, c.approached, c.consented, c.w1, c.w2)
            ),
        ).group_by(c.grp)
    )
    counts: dict[str, dict[str, int]] = {}
    for group, *numbers in rows:
        counts[str(group)] = {stage: int(n or 0) for stage, n in zip(STAGES, numbers, strict=True)}
    return counts


def attribute_filter(name: str) -> tuple[ColumnElement[bool], ...]:
    """Who an attribute describes: a deprivation edition's table holds the people whose
    decile is recorded in that edition, and those with none (as not known), so deciles of
    two editions are never counted together."""
    version = IMD_VERSION_OF.get(name)
    if version is None:
        return ()
    facts = ParticipantFacts.__table__.c
    return (or_(facts.imd_version == version, facts.imd_decile.is_(None)),)


def attribute_value(name: str, today: dt.date) -> ColumnElement[str]:
    """The attribute's group for each facts row, with missing values named."""
    facts = ParticipantFacts.__table__.c
    if name == "age_band":
        born = facts.birth_month_start
        whens = []
        for band in reversed(age_bands.BANDS):
            # At least `band.low` whole years old today: born on or before that many years ago.
            born_by = months_before(today, 12 * band.low)
            whens.append((born <= born_by, literal(band.census_label)))
        return case((born.is_(None), literal(NOT_KNOWN)), *whens, else_=literal(NOT_KNOWN))
    if name in IMD_DECILE_ATTRIBUTES:
        return case(
            *((facts.imd_decile == int(d), literal(d)) for d in IMD_DECILES),
            else_=literal(NOT_KNOWN),
        )
    if name in IMD_QUINTILE_ATTRIBUTES:
        decile = facts.imd_decile
        # Quintile = ceil(decile / 2): deciles 1-2 are quintile 1, and so on.
        return case(
            *((decile.in_((2 * int(q) - 1, 2 * int(q))), literal(q)) for q in IMD_QUINTILES),
            else_=literal(NOT_KNOWN),
        )
    column = facts[name]
    if name == "gender_identity":
        return case(
            (column == "Z", literal(NOT_STATED)),
            (column == "X", literal(NOT_KNOWN)),
            (column.is_(None), literal(NOT_KNOWN)),
            else_=column,
        )
    if name == "ethnicity":
        return case(
            (column == "Z", literal(NOT_STATED)),
            (column == "99", literal(NOT_KNOWN)),
            (column.is_(None), literal(NOT_KNOWN)),
            else_=column,
        )
    return func.coalesce(column, literal(NOT_KNOWN))


def _fully_withdrawn(cohort: str) -> int:
    """Full withdrawals leave only a tombstone: they are counted, never described."""
    return int(
        session().scalar(
            select(func.count())
            .select_from(Participant)
            .where(Participant.cohort == cohort, Participant.status == STATUS_SHREDDED)
        )
        or 0
    )
