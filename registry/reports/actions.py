"""Reports' writes: load a reference population, and write a datasheet section. Both are
new versions (the tables are append-only) and both are audited."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from registry.audit.actions import Actor, record_event
from registry.db import session
from registry.errors import ValidationFailed
from registry.participants.reference import reference
from registry.reports.commands import LoadReference
from registry.reports.models import DatasheetSection, LoadedReference
from registry.reports.references import ReferenceProblem, parse_shares, shipped_references

REFERENCE_ID = re.compile(r"\A[a-z0-9][a-z0-9-]{2,63}\Z")
SECTION_MAX = 10_000

# The datasheet's sections that people write (the rest is computed), in order.
WRITTEN_SECTIONS: dict[str, str] = {
    "summary": "Summary",
    "motivation": "Motivation",
    "intended_uses": "Intended uses",
    "uses_to_avoid": "Uses to avoid",
    "curators_assumptions": "Curators' assumptions",
    "contextualised_groups": "Groups at risk of disparate outcomes",
    "limitations": "Limitations",
    "governance": "Governance: ethics, consent basis and disclosure rules",
}


def load_reference(command: LoadReference, *, by: Actor) -> LoadedReference:
    """A new version of an admin's reference population, checked whole first."""
    problems: dict[str, list[str]] = {}
    ref_id = command.reference_id
    if not REFERENCE_ID.match(ref_id):
        problems["reference_id"] = ["Use 3 to 64 lower-case letters, digits and hyphens."]
    elif ref_id in shipped_references():
        problems["reference_id"] = ["That id is a shipped reference; choose another."]
    try:
        parse_shares(command.shares_csv)
    except ReferenceProblem as exc:
        problems["shares_csv"] = exc.problems
    if problems:
        raise ValidationFailed(problems)
    db = session()
    latest = db.scalar(
        select(func.max(LoadedReference.version)).where(LoadedReference.reference_id == ref_id)
    )
    loaded = LoadedReference(
        reference_id=ref_id,
        version=(latest or 0) + 1,
        name=command.name,
        geography=command.geography,
        geography_code=command.geography_code,
        year=command.year,
        source=command.source,
        shares_csv=command.shares_csv,
        kind=command.kind,
        cohort=command.cohort,
        loaded_by_id=by.user_id,
    )
    db.add(loaded)
    db.flush()
    record_event(
        "reference.load",
        by=by,
        target_type="reference_population",
        target_id=f"{ref_id}@{loaded.version}",
        details={
            "geography_code": loaded.geography_code,
            "year": loaded.year,
            "kind": loaded.kind,
            "cohort": loaded.cohort,
        },
    )
    return loaded


def write_datasheet_section(cohort: str, section: str, text: str, *, by: Actor) -> DatasheetSection:
    """A new version of one written section of a cohort's datasheet."""
    problems: dict[str, list[str]] = {}
    if cohort not in reference().cohorts:
        problems["cohort"] = [f"Choose one of {', '.join(reference().cohorts)}."]
    if section not in WRITTEN_SECTIONS:
        problems["section"] = [f"Choose one of {', '.join(WRITTEN_SECTIONS)}."]
    text = text.strip()
    if not 1 <= len(text) <= SECTION_MAX:
        problems["text"] = [f"Write 1 to {SECTION_MAX} characters."]
    if problems:
        raise ValidationFailed(problems)
    db = session()
    latest = db.scalar(
        select(func.max(DatasheetSection.version)).where(
            DatasheetSection.cohort == cohort, DatasheetSection.section == section
        )
    )
    written = DatasheetSection(
        cohort=cohort, section=section, version=(latest or 0) + 1, text=text, author_id=by.user_id
    )
    db.add(written)
    db.flush()
    record_event(
        "datasheet.write",
        by=by,
        target_type="datasheet_section",
        target_id=f"{cohort}/{section}@{written.version}",
    )
    return written
